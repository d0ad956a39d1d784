"""The three published schemes of issue #11 bundled in policies/: clean, fully covered, lawful.

A 厅's quarterly staff assessment (periods), 椒江's 市级实事项目 ranking (椒政办发〔2018〕27号:
rank points with shared ties) and a 市's 2008 为民办实事 places (达标单位中县前6名、市直前9名为先进)
were encoded from their document text with cases derived by hand before any run
(docs/schemes/).  They are kept at the bar of the issue #10 schemes (tests/testing/
test_scheme_policies.py) — no warning under ``--strict``, every case passing (the cohort
policies' batches included), 100% rule and boundary coverage — with one stated exception: the
quarterly policy divides by the number of peer raters (二、7) and the language cannot declare a
list non-empty, so the ``evaluates`` law finds the unit with no rater, which the policy refuses
by design (docs/schemes/ting-quarterly.md, R3); the test pins that this is the only law that
fails and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.errors import KaoheError
from kaohe_rules.testing.boundary import boundary_coverage
from kaohe_rules.testing.casefile import run_casefile
from kaohe_rules.testing.coverage import coverage
from kaohe_rules.testing.verifier import verify

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SCHEMES = ["ting-quarterly", "jiaojiang-2018", "weimin-2008"]


@pytest.mark.parametrize("slug", SCHEMES)
def test_the_scheme_checks_clean_and_its_cases_cover_every_rule_and_edge(slug: str) -> None:
    policy = kaohe_rules.load(POLICIES / f"{slug}.kh")
    assert policy.warnings == ()
    report = run_casefile(POLICIES / f"{slug}.tests.toml")
    assert report.ok and report.policy is not None, report.render()
    results = [o.result for o in report.outcomes if o.result is not None]
    assert coverage(report.policy, results).percent() == 100
    cov = boundary_coverage(report.policy, results)
    assert cov.percent() == 100, cov.render()


@pytest.mark.parametrize("slug", ["jiaojiang-2018", "weimin-2008"])
def test_every_law_holds_on_the_cohort_scheme(slug: str) -> None:
    report = verify(kaohe_rules.load(POLICIES / f"{slug}.kh"), examples=10)
    assert report.ok, report.render()


def test_the_quarterly_scheme_breaks_only_evaluates_and_only_for_want_of_a_peer_rater() -> None:
    report = verify(kaohe_rules.load(POLICIES / "ting-quarterly.kh"), examples=10)
    assert {f.law for f in report.failures} <= {"evaluates"}, report.render()
    assert all("division by zero" in f.message and "被考核人评价得分" in f.message for f in report.failures), \
        report.render()


def test_a_quarter_without_a_peer_rater_is_refused_never_scored() -> None:
    """R3: 二、7 averages the peer marks; a quarter with no rater cannot be scored (never as 0)."""
    policy = kaohe_rules.load(POLICIES / "ting-quarterly.kh")
    mark = {k: 80 for k in "德能勤绩廉"}
    quarters = ("一季度", "二季度", "三季度", "四季度")
    facts: dict[str, object] = {
        "考核人评价": dict.fromkeys(quarters, mark), "自我评价": dict.fromkeys(quarters, mark),
        "处室互评": {q: [mark] for q in quarters}, "全厅互评": {q: [mark] for q in quarters},
        "领导小组评价分": 4}
    assert policy.evaluate({"id": "s", "category": "工作人员", "facts": facts}).score == 80
    facts["处室互评"] = {**{q: [mark] for q in quarters}, "三季度": []}
    with pytest.raises(KaoheError, match="division by zero"):
        policy.evaluate({"id": "s", "category": "工作人员", "facts": facts})
