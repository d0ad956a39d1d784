"""Golden files for the Karamay samples: explanations (zh/en, full/short), why-not answers,
a JSON trace and the Markdown reports.  Reviewed by hand; ``pytest --update-goldens`` rewrites
them from the current output (then read the diff before committing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.audit.report import batch_report, unit_report
from kaohe_rules.audit.trace_json import dumps, trace_document
from kaohe_rules.audit.whynot import render, why_not

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
UNITS = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="module")
def results() -> list[Any]:
    from kaohe_rules.unitio import read_units

    policy = kaohe_rules.load(POLICY)
    return [policy.evaluate(row.unit) for row in read_units(UNITS)]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("form", ["full", "short"])
def test_explanations(results: list[Any], golden: Any, lang: str, form: str) -> None:
    text = "\n\n".join(r.explain(lang=lang, full=form == "full") for r in results)
    golden(f"explain/karamay-{lang}-{form}.txt", text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_why_not(results: list[Any], golden: Any, lang: str) -> None:
    golden(f"whynot/karamay-{lang}.txt", "\n".join(render(why_not(r), r, lang) for r in results))


def test_trace_document(results: list[Any], golden: Any) -> None:
    result = next(r for r in results if r.unit_id == "karamay-district")
    golden("trace/karamay-district.json", dumps(trace_document(result)))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reports(results: list[Any], golden: Any, lang: str) -> None:
    policy = results[0].program
    golden(f"report/karamay-batch-{lang}.md", batch_report(policy, results, [], "md", lang))
    unit = next(r for r in results if r.unit_id == "wuerhe")
    golden(f"report/karamay-wuerhe-{lang}.md", unit_report(unit, "md", lang))


def test_explanations_say_the_decisive_things(results: list[Any]) -> None:
    """Independent of the goldens: the short form names the band, the vetoes and the largest deduction."""
    vetoed = next(r for r in results if r.vetoed)
    short = vetoed.explain(full=False)
    assert vetoed.vetoes[0].label in short and vetoed.vetoes[0].citation in short
    assert "因一票否决评为" in short
    english = vetoed.explain(lang="en", full=False)
    assert "vetoed" in english and "是" not in english.split("evidence")[0]
    plain = next(r for r in results if not r.vetoed and any(t.lost > 0 for t in r.targets))
    biggest = max(plain.targets, key=lambda t: t.lost)
    assert f"-{biggest.lost.normalize():f}" in plain.explain(full=False) or str(biggest.lost) in plain.explain(full=False)
    full = plain.explain()
    for target in plain.targets:  # the full form lists every target
        assert (target.label or target.name) in full
    with pytest.raises(ValueError):
        plain.explain(lang="fr")
