"""``evaluate_many``'s own serial loop (issue #13) gives exactly the items of the general per-row path.

``Policy.evaluate_many`` runs the fast path itself, a chunk of rows under one switch to the
engine's decimal context; ``batch.serial.evaluate_many`` assesses each row through
``assess_row`` (the reference).  Every row — good, another spelling, unknown facts, a wrong
category, not a mapping, an arithmetic failure — must give the same item, in order, from a
list (chunked, across chunk boundaries) and from a stream alike, and the caller's decimal
context must be the caller's while it handles each item.
"""

from __future__ import annotations

import decimal
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.batch import serial

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"

DIVIDING = """
policy 测试 "测试政策" { period 2013-01-01 .. 2013-12-31 }
category 单位 "测试单位" total 100 {
  section 甲 "甲项" 100
}
ratings { 好 "好" 中 "中" 差 "差" } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
fact a: int
fact b: int
target t "比例" in 单位.甲 points 100 { deduct 1 when a > 0 score a / b * 100 }
"""


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(POLICY)


def rows(count: int) -> list[Any]:
    good = json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]
    out: list[Any] = []
    for i in range(count):
        unit = dict(good[i % len(good)], id=f"u{i}")
        if i % 13 == 3:  # another spelling of a fact: the generic coercer reads it (the fast path refuses it)
            facts = dict(unit["facts"])
            name = next((k for k, v in facts.items() if isinstance(v, int) and not isinstance(v, bool)), None)
            if name is not None:
                facts[name] = str(facts[name])
            unit = dict(unit, facts=facts)
        elif i % 17 == 5:
            unit = dict(unit, facts=dict(unit["facts"], 未知事实=1))
        elif i % 23 == 7:
            unit = dict(unit, category="火星")
        elif i % 31 == 11:
            unit = ["not", "a", "unit"]
        elif i % 37 == 13:
            unit = dict(unit, id="  ")  # a blank id: the generic envelope reports it
        out.append(unit)
    return out


def summary(items: Any) -> list[tuple[Any, ...]]:
    out = []
    for item in items:
        if item.result is not None:
            out.append((item.index, item.unit_id, item.location, item.result.to_dict()))
        else:
            problems = [p.to_dict() for p in getattr(item.error, "problems", ())]
            out.append((item.index, item.unit_id, item.location, type(item.error).__name__, str(item.error), problems))
    return out


def test_the_batch_loop_gives_the_items_of_the_per_row_path(policy: Any) -> None:
    units = rows(200)  # more than three chunks of 64
    reference = summary(serial.evaluate_many(policy, units))
    assert summary(policy.evaluate_many(units)) == reference
    assert summary(policy.evaluate_many(iter(units))) == reference  # a stream: one unit read per item
    assert summary(policy.evaluate_many(tuple(units))) == reference
    kinds = {row[3] if isinstance(row[3], str) else "ok" for row in reference}
    assert kinds == {"ok", "FactError"}  # the sample holds good rows and refused ones
    assert [row[0] for row in reference] == list(range(200))


def test_an_arithmetic_failure_is_the_general_paths_error_in_a_batch() -> None:
    dividing = kaohe_rules.load(DIVIDING)
    units = [{"id": f"d{i}", "category": "单位", "facts": {"a": 1, "b": i % 3}} for i in range(70)]
    reference = summary(serial.evaluate_many(dividing, units))
    assert summary(dividing.evaluate_many(units)) == reference
    errors = [row for row in reference if len(row) > 4]
    assert errors and all(row[3] == "EvaluationError" and "division by zero" in row[4] for row in errors)


def test_the_callers_context_is_in_place_for_every_item(policy: Any) -> None:
    units = rows(100)
    mine = decimal.Context(prec=5, rounding=decimal.ROUND_DOWN)
    with decimal.localcontext(mine) as current:
        for item in policy.evaluate_many(units):
            assert decimal.getcontext() is current, item.index
            if item.result is not None:
                item.result.score  # noqa: B018


def test_a_subclass_that_assesses_rows_itself_is_asked(policy: Any) -> None:
    class Counting(type(policy)):  # type: ignore[misc]
        seen: list[int] = []

        def assess_row(self, index: int, unit: object, *, trace: bool = False) -> Any:
            self.seen.append(index)
            return super().assess_row(index, unit, trace=trace)

    counting = Counting(policy.checked)
    list(counting.evaluate_many(rows(5)))
    assert Counting.seen == [0, 1, 2, 3, 4]
