"""The one-unit laws do their sums in the engine's context (34 significant digits).

A score with a repeating decimal (an average over 3 raters, a third of the points) has 34
significant digits.  Summed in Python's default context (28 digits) the law's own arithmetic
rounded, and ``score-bounds`` reported a section "whose parts do not add up" when they did —
found by the 厅 quarterly scheme (policies/ting-quarterly.kh, 二、7 divides by the number of raters).
"""

from __future__ import annotations

import kaohe_rules
from kaohe_rules.testing.laws import check_result

POLICY = """
policy 三分之一 "三分之一" { }
category 单位 "单位" total 100 { section 考评 "考评" 100 }
fact 甲: decimal in 0..150 "甲"
fact 乙: decimal in 0..150 "乙"
target 甲项 "甲项" in 单位.考评 points 50 { deduct 50 - 甲 / 3 }
target 乙项 "乙项" in 单位.考评 points 50 { deduct 50 - 乙 / 3 }
ratings { 好 "好" 差 "差" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
"""


def test_a_section_of_two_thirds_adds_up_in_the_law_as_in_the_engine() -> None:
    policy = kaohe_rules.load(POLICY)
    unit = {"id": "u", "category": "单位", "facts": {"甲": 100, "乙": 100}}
    result = policy.evaluate(unit)
    assert len(result.score.as_tuple().digits) > 28  # 66.666… with more digits than the default context keeps
    check_result(policy, unit, result)  # raised LawViolation (score-bounds) before


def test_score_bounds_holds_for_periods_with_bonus_caps() -> None:
    """A bonus cap applies per period, so the combined bonus sections need not add up to the counted
    bonus (Σ w × min(cap, b) ≤ min(cap, Σ w × b)): the law checks each period's sections, and the
    combined score against Σ weight × each period's counted bonus (it reported a false failure,
    "score 61.0 is not the sum of the top sections (60.0 + bonus 1.2)", before)."""
    from pathlib import Path

    from kaohe_rules.testing.verifier import verify

    policy = kaohe_rules.load(Path(__file__).resolve().parents[1] / "data" / "interpreter" / "periods.kh")
    report = verify(policy, examples=30)
    assert not [f for f in report.failures if f.law == "score-bounds"], report.render()
