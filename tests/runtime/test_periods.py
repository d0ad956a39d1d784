"""Periods (issue #11 P): scoring per period, the weighted combination, period values, per-period facts.

The policy tests/data/periods/quarterly.kh is small enough to derive each result by hand:
安全管理 60 − 季度扣分 (− 5 more in 四季度 via the per-period let 末季), 质量管理 40 when 质量达标,
each quarter 25%.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.errors import FactError

ROOT = Path(__file__).resolve().parents[2]
QUARTERLY = ROOT / "tests" / "data" / "periods" / "quarterly.kh"


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(QUARTERLY)


def unit(uid: str = "A", **facts: object) -> dict[str, object]:
    return {"id": uid, "category": "单位", "facts": facts}


A = unit(季度扣分={"一季度": 3, "二季度": 0, "三季度": "1.5", "四季度": 0},
         质量达标={"一季度": True, "二季度": False})


@pytest.mark.parametrize("trace", [False, True])
def test_each_period_is_scored_and_the_scores_combine_by_weight(policy: Any, trace: bool) -> None:
    result = policy.evaluate(A, trace=trace)
    # by hand: 一季度 57+40, 二季度 60+0, 三季度 58.5+40 (质量达标 defaults to true), 四季度 60−5+40
    assert [(p.name, p.score, p.rating) for p in result.periods] == [
        ("一季度", Decimal(97), "优秀"), ("二季度", Decimal(60), "满意"),
        ("三季度", Decimal("98.5"), "优秀"), ("四季度", Decimal(95), "优秀")]
    assert result.score == Decimal("87.625")  # (97 + 60 + 98.5 + 95) / 4, exact
    assert result.rating == "良好"
    assert [p.weighted for p in result.periods] == [Decimal("24.25"), Decimal("15"), Decimal("24.625"),
                                                     Decimal("23.75")]
    # the combined sections and targets are the same weighted sums, and still add up to the score
    assert result.sections["安全"].score == Decimal("57.625")  # (57 + 60 + 58.5 + 55) / 4
    assert result.sections["质量"].score == Decimal(30)
    assert sum(s.score for s in result.sections.values()) == result.score
    assert result.periods[1].sections["质量"].score == 0


def test_to_dict_has_periods_only_for_a_policy_with_periods(policy: Any) -> None:
    d = policy.evaluate(A).to_dict()
    assert [p["name"] for p in d["periods"]] == ["一季度", "二季度", "三季度", "四季度"]
    assert d["periods"][0] == {**d["periods"][0], "weight": "25", "score": "97", "rating": "优秀", "weighted": "24.25"}
    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    import json
    sample = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                        parse_float=Decimal)["units"][0]
    assert "periods" not in karamay.evaluate(sample).to_dict()
    assert karamay.evaluate(sample).periods == ()


def test_streak_of_unsatisfactory_quarters_forces_the_rating(policy: Any) -> None:
    # 二季度 and 三季度 below 60 (不满意) in a row: the veto 连续不满意 rates the unit 不满意 whatever the score
    bad = unit(季度扣分={"二季度": 50, "三季度": 50}, 质量达标={"二季度": False, "三季度": False})
    result = policy.evaluate(bad)
    assert [p.rating for p in result.periods] == ["优秀", "不满意", "不满意", "优秀"]
    assert result.rating == "不满意"
    # one unsatisfactory quarter only: no streak of two
    once = unit(季度扣分={"二季度": 50}, 质量达标={"二季度": False})
    assert policy.evaluate(once).rating != "不满意"


def test_a_period_record_is_read_in_the_assessment_stage(policy: Any) -> None:
    # 奖金 when 四季度.rating == 优秀 (outcome of 优秀)
    good = unit(季度扣分={"一季度": 0}, 质量达标={})
    result = policy.evaluate(good)
    assert result.rating == "优秀" and result.consequences.total == Decimal("1000.00")
    worse = unit(季度扣分={"四季度": 20})  # 四季度 60−20−5+40 = 75: 满意, so no 奖金
    assert policy.evaluate(worse).consequences.total == 0


def test_missing_and_unknown_periods_are_fact_errors_naming_fact_and_period(policy: Any) -> None:
    with pytest.raises(FactError) as info:
        policy.evaluate(unit(季度扣分={"一季": 3}))
    message = str(info.value)
    assert "季度扣分.一季" in message and "unknown period" in message and "一季度" in message
    required = kaohe_rules.load(QUARTERLY.read_text(encoding="utf-8").replace(
        'fact 季度扣分: decimal in 0..100 = 0', 'fact 季度扣分: decimal in 0..100'), name="q.kh")
    with pytest.raises(FactError) as info:
        required.evaluate(unit(季度扣分={"一季度": 3, "二季度": 0, "四季度": 0}))
    assert "季度扣分.三季度" in str(info.value) and "missing" in str(info.value)
    with pytest.raises(FactError, match="one value per period"):
        policy.evaluate(unit(季度扣分=3))


def test_flat_columns_read_as_the_object_keyed_by_period(policy: Any) -> None:
    flat = unit(**{"季度扣分.一季度": 3, "季度扣分.三季度": "1.5", "质量达标.二季度": False})
    assert policy.evaluate(flat).score == policy.evaluate(A).score
    with pytest.raises(FactError, match="given twice"):
        policy.evaluate(unit(**{"季度扣分": {"一季度": 1}, "季度扣分.一季度": 3}))


def test_a_weight_of_zero_is_scored_and_shown_but_adds_nothing() -> None:
    text = QUARTERLY.read_text(encoding="utf-8")
    text = text.replace('一季度 "第一季度" weight 25%', '一季度 "第一季度" weight 0%').replace(
        '四季度 "第四季度" weight 25%', '四季度 "第四季度" weight 50%')
    policy = kaohe_rules.load(text, name="z.kh")
    result = policy.evaluate(A)
    assert result.periods[0].score == 97 and result.periods[0].weighted == 0
    assert result.score == Decimal("0.25") * 60 + Decimal("0.25") * Decimal("98.5") + Decimal("0.5") * 95


def test_the_compiled_code_of_a_policy_without_periods_has_no_period_code() -> None:
    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    assert "PR = []" not in karamay.generated_source and "PI" not in karamay.generated_source
    assert "for PI in" in kaohe_rules.load(QUARTERLY).generated_source
