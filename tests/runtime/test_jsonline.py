"""The JSON Lines row from a template is byte for byte ``json.dumps(result.to_dict())``, and the
ranked row of the 通报 outputs holds what the result's decoded parts hold.

Over generated units of both bundled policies (benchmarks/synthetic.py: every branch —
vetoes, deferrals, rewards, fines, absent optional facts) and a zero spelled ``-0``.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kaohe_rules import load
from kaohe_rules.reports.rows import ranked_row, top_sections
from kaohe_rules.runtime.jsonline import LineTemplate, json_line

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import synthetic  # noqa: E402


@pytest.fixture(scope="module", params=["karamay-2013.kh", "karamay-2014.kh"])
def results(request: pytest.FixtureRequest) -> list[Any]:
    policy = load(str(ROOT / "policies" / request.param))
    items = policy.evaluate_many(synthetic.units(policy, 600, seed=13))
    return [item.result for item in items if item.result is not None]


def test_template_rows_are_the_bytes_of_json_dumps(results: list[Any]) -> None:
    assert len(results) > 500
    assert any(r.vetoes for r in results) and any(r.deferred for r in results)
    for result in results:
        assert json_line(result) == json.dumps(result.to_dict(), ensure_ascii=False)


def test_a_negative_zero_is_not_served_from_the_chunk_of_zero(results: list[Any]) -> None:
    result = results[0]
    template = LineTemplate(result)
    zero, negative = template._target(0, Decimal("0")), template._target(0, Decimal("-0"))  # noqa: SLF001
    assert zero.startswith('"0"') and negative.startswith('"-0"')


def test_the_ranked_row_holds_what_the_result_shows(results: list[Any]) -> None:
    program = results[0].program
    for result in results:
        row = ranked_row(program, result)
        keys = top_sections(program.checked.categories[result.category])
        assert row.sections == tuple(result.sections[k].score for k in keys)
        assert row.vetoes == tuple((v.name, v.label, v.citation) for v in result.vetoes)
        assert row.deferred == tuple((d.name, len(d.items), d.to) for d in result.deferred)
        assert (row.score, row.rating, row.money_total) == (result.score, result.rating, result.consequences.total)
