"""Bonus points (加分, issue #10) at run time: the score, its parts, the caps, the trace and the explanation.

The policy is tests/data/interpreter/bonus.kh; each expected number is worked out by hand in the test.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.errors import EvaluationError

ROOT = Path(__file__).resolve().parents[2]
POLICY = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "bonus.kh")


def unit(category: str = "甲类", **facts: Any) -> dict[str, Any]:
    return {"id": "u", "category": category, "facts": {"完成率": 85, **facts}}


def test_the_score_is_the_base_plus_the_bonus_after_the_item_cap() -> None:
    # 表彰: 3 (国家级) + min(1*4, 2) + 1 = 6, item cap 5 → 5; 创新项 2: 加分 7 (cap 8);
    # 奖分 0.5 * 4 = 2: bonus 9 under the category cap 12; base 85 → 94
    result = POLICY.evaluate(unit(国家级表彰=True, 省级表彰次数=4, 表彰加分=1, 创新=True))
    assert (result.base_score, result.bonus, result.score) == (85, 9, 94)
    assert result.total == 100 and result.maximum == 112  # 奖分 is uncapped, but the category cap is 12
    assert POLICY.checked.plans["丙类"].maximum is None  # 丙类: 奖分 uncapped, no category cap
    sections = result.sections
    assert sections["加分"].bonus and sections["加分"].score == 7 and sections["加分"].cap == 8
    assert not sections["工作目标"].bonus
    target = next(t for t in result.targets if t.name == "表彰")
    assert target.bonus and target.score == 5 and target.cap == 5 and target.lost == 0
    assert result.band == "优秀"


def test_every_cap_applies() -> None:
    # 奖分 0.5 * 30 = 15; 加分 min(5 + 2, 8) = 7; 22 → the category cap 12; base 60 → 72
    result = POLICY.evaluate(unit(完成率=60, 国家级表彰=True, 省级表彰次数=30, 表彰加分=3, 创新=True))
    assert (result.base_score, result.bonus, result.score) == (60, 12, 72)
    assert result.sections["奖分"].score == 15 and result.sections["加分"].score == 7
    # 乙类: only 表彰, item cap 3 (under the section cap 4): 50 * 90% + 3 = 48
    other = POLICY.evaluate(unit("乙类", 完成率=90, 国家级表彰=True, 省级表彰次数=1))
    assert (other.base_score, other.bonus, other.score) == (45, 3, 48) and other.maximum == 53


def test_a_bonus_lifts_the_unit_to_a_better_band() -> None:
    plain = POLICY.evaluate(unit(完成率=88))
    assert (plain.score, plain.rating) == (88, "良好")
    lifted = POLICY.evaluate(unit(完成率=88, 创新=True))
    assert (lifted.score, lifted.rating) == (90, "优秀")


def test_the_score_may_exceed_the_total() -> None:
    result = POLICY.evaluate(unit(完成率=100, 国家级表彰=True))
    assert result.score == 103 and result.score > result.total and result.rating == "优秀"
    # 丙类: no cap at all — 10 + 0.5 * 1000 = 510, in the open band 优秀 > 9
    unbounded = POLICY.evaluate(unit("丙类", 完成率=100, 省级表彰次数=1000))
    assert (unbounded.score, unbounded.rating, unbounded.maximum) == (510, "优秀", None)
    assert POLICY.evaluate(unit("丙类", 完成率=90)).rating == "良好"  # 9 is not above 9


@pytest.mark.parametrize("trace", [False, True])
def test_a_negative_amount_is_an_evaluation_error_naming_the_rule(trace: bool) -> None:
    with pytest.raises(EvaluationError) as info:
        POLICY.evaluate(unit(表彰加分=-1), trace=trace)
    assert "the amount to add is negative (-1)" in str(info.value)
    assert info.value.where is not None and "target 表彰, rule 3" in info.value.where
    with pytest.raises(EvaluationError, match=r"the amount to deduct is negative \(-2\)") as info:
        POLICY.evaluate(unit(扣分=-2), trace=trace)
    assert info.value.where is not None and "target 完成, rule 2" in info.value.where


def test_a_negative_deduction_in_a_policy_without_bonus_is_an_error_too() -> None:
    policy = kaohe_rules.load('policy p { }\nratings { 好 差 } vetoed 差\ncategory A total 10 { section S 10 }\n'
                              'bands A { 好 [5, 10] 差 [0, 5) }\nfact x: int\nfact ok: bool\n'
                              'target t in A.S points 10 { deduct x when ok }\n')
    assert policy.evaluate({"id": "u", "category": "A", "facts": {"x": 3, "ok": True}}).score == 7
    assert policy.evaluate({"id": "u", "category": "A", "facts": {"x": -3, "ok": False}}).score == 10  # not read
    with pytest.raises(EvaluationError, match="the amount to deduct is negative"):
        policy.evaluate({"id": "u", "category": "A", "facts": {"x": -3, "ok": True}})


def test_the_json_of_a_policy_without_bonus_keeps_its_shape() -> None:
    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    import json

    units = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                       parse_float=Decimal)["units"]
    result = karamay.evaluate(units[0])
    doc = result.to_dict()
    assert "bonus" not in doc and "base_score" not in doc
    assert result.bonus == 0 and result.base_score == result.score
    bonus_doc = POLICY.evaluate(unit(创新=True)).to_dict()
    assert (bonus_doc["base_score"], bonus_doc["bonus"], bonus_doc["maximum"]) == ("85", "2", "112")
    assert bonus_doc["sections"]["加分"]["bonus"] is True  # type: ignore[index]


def test_the_trace_and_the_explanation_show_the_caps() -> None:
    result = POLICY.evaluate(unit(国家级表彰=True, 省级表彰次数=30, 表彰加分=1, 创新=True))
    trace = result.trace
    target = trace.find("target", "表彰")
    assert target is not None and target.detail["added"] == 6 and target.detail["cap"] == 5 and target.value == 5
    score = trace.find("score", "score")
    assert score is not None and score.detail["bonus_added"] == 22 and score.detail["bonus"] == 12
    zh = result.explain()
    assert "综合评分：97 / 100 分（基础分 85 分 + 加分 12 分）" in zh
    assert "加分合计6分，超过上限5分，按5分计" in zh
    assert "加分合计：加分合计22分，超过上限12分，按12分计" in zh
    assert "加 3 分  ← add 国家级 when 国家级表彰" in zh
    en = result.explain(lang="en")
    assert "Score: 97 / 100 pts (base 85 + bonus 12)" in en
    assert "bonus 6 pts in total, above the cap of 5: counted as 5" in en
    assert "+3 pts  ← add 国家级 when 国家级表彰" in en
    bands = trace.find("band_test", "优秀")
    assert bands is not None and bands.detail["interval"] == ">= 90" and bands.detail["high"] is None
    assert trace.to_dict()["format"]  # the document still serialises (no infinite edge)
