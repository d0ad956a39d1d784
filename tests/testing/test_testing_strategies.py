"""The unit strategies themselves: they respect the declarations, produce only valid units, shrink small."""

from __future__ import annotations

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.errors import FactError
from kaohe_rules.testing.domains import ABSENT, Domains
from kaohe_rules.testing.landmarks import ladder, landmarks, simplest_unit
from kaohe_rules.testing.strategies import Unit, facts, unit_type, units

ROOT = Path(__file__).resolve().parents[2]
LONG = os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long"
EXAMPLES = 1000 if LONG else 60
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])

MINI = """
policy 测试 "strategy test policy" {
  period 2020-01-01 .. 2020-12-31
}
checkpoint 报告 "report due" due 2020-06-30
category 单位 "unit" total 100 {
  section 甲 "section" 100
}
enum 级别 "grade" ordered { 低 "low", 中 "mid", 高 "high" }
record 记录 "record" {
  日期: date "date"
  数量: int in 1..5 "count"
  比例: percent = 50% "share"
  金额: money? "amount"
}
fact 正数: decimal > 0 "positive"
fact 上限: money <= 100万元 "capped"
fact 区间: int in -3..7 "range"
fact 率: percent in 0%..100% "rate"
fact 可选: int? >= 10 "optional"
fact 默认: bool = true "default"
fact 等级: 级别 "grade"
fact 日期: date >= 2020-03-01 "date"
fact 说明: text "text"
fact 记录: list of 记录 = [] "records"
target 全 "all" in 单位.甲 points 100 {
  deduct 10 when 正数 < 1
  deduct 10 when 上限 > 50万元
  deduct 5 per 区间
  deduct 10 when 率 < 60%
  deduct 10 when (可选 ?? 0) > 20
  deduct 10 unless 默认
  deduct 10 when 等级 >= 高
  deduct 10 when 日期 > 报告
  deduct 5 per count(记录 where 数量 > 3)
  deduct 1 when 说明 == "甲"
}
ratings { 好 "good" 差 "bad" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
veto 高级 "high grade and many records" when 等级 == 高 and count(记录) >= 2
"""


@pytest.fixture(scope="module")
def mini() -> kaohe_rules.Policy:
    return kaohe_rules.load(MINI)


@pytest.fixture(scope="module")
def karamay() -> kaohe_rules.Policy:
    return kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")


def _number(value: object) -> Decimal:
    if isinstance(value, str) and value.endswith("%"):  # a percentage in [-1, 1] is written with its % (to_percent)
        return Decimal(value[:-1])
    assert isinstance(value, (int, Decimal)) and not isinstance(value, bool), value
    return Decimal(value)


def test_mini_units_respect_every_declaration(mini: kaohe_rules.Policy) -> None:
    @FAST
    @given(units(mini))
    def check(unit: dict) -> None:
        f = unit["facts"]
        assert unit["category"] == "单位"
        assert _number(f["正数"]) > 0
        assert 0 <= _number(f["上限"]) <= 1_000_000
        assert isinstance(f["区间"], int) and -3 <= f["区间"] <= 7
        assert 0 <= _number(f["率"]) <= 100
        assert "可选" not in f or (isinstance(f["可选"], int) and f["可选"] >= 10)
        assert "默认" not in f or isinstance(f["默认"], bool)
        assert f["等级"] in ("低", "中", "高")
        assert isinstance(f["日期"], datetime.date) and f["日期"] >= datetime.date(2020, 3, 1)
        assert isinstance(f["说明"], str)
        for record in f.get("记录", []):
            assert set(record) <= {"日期", "数量", "比例", "金额"}
            assert {"日期", "数量"} <= set(record)  # required fields are always there
            assert 1 <= record["数量"] <= 5
            assert "等级" not in record  # derived fields are never supplied
        assert len(f.get("记录", [])) <= 3
        mini.evaluate(unit)  # never a FactError

    check()


def test_only_valid_karamay_units_in_every_category(karamay: kaohe_rules.Policy) -> None:
    allowed = {c: set(karamay.facts_for(c)) for c in karamay.categories}

    @FAST
    @given(units(karamay))
    def check(unit: dict) -> None:
        assert set(unit["facts"]) <= allowed[unit["category"]]
        try:
            karamay.evaluate(unit)
        except FactError as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"generated an invalid unit: {exc}")

    check()


def test_units_near_real_units_stay_valid_and_keep_their_category(karamay: kaohe_rules.Policy) -> None:
    from kaohe_rules.unitio import read_units

    real = [row.unit for row in read_units(ROOT / "policies" / "karamay-2013" / "units.json") if row.unit]
    enterprises = [u for u in real if u["category"] == "企业"]

    @FAST
    @given(units(karamay, "企业", near=enterprises, max_changes=4))
    def check(unit: dict) -> None:
        assert unit["category"] == "企业"
        base = next(u for u in enterprises if u["id"] == unit["id"])
        changed = {k for k in set(base["facts"]) | set(unit["facts"]) if base["facts"].get(k) != unit["facts"].get(k)}
        assert len(changed) <= 4
        karamay.evaluate(unit)

    check()


def test_from_type_finds_the_registered_strategy(karamay: kaohe_rules.Policy) -> None:
    seen = set()

    @settings(max_examples=20, deadline=None)
    @given(st.from_type(Unit[karamay, "部门"]), st.from_type(unit_type(karamay)))
    def check(one: dict, any_category: dict) -> None:
        assert isinstance(one, dict) and one["category"] == "部门"
        seen.add(any_category["category"])
        karamay.evaluate(one)

    check()
    assert seen <= set(karamay.categories)


def test_from_type_without_a_policy_says_what_to_write() -> None:
    with pytest.raises(TypeError, match=r"Unit\[policy\]"):
        find(st.from_type(Unit), lambda u: True)


def test_unknown_category_is_refused(karamay: kaohe_rules.Policy) -> None:
    with pytest.raises(ValueError, match="no category '乡镇'"):
        units(karamay, "乡镇")
    with pytest.raises(ValueError, match="no category"):
        facts(karamay, "乡镇")


def test_shrinks_to_a_small_readable_unit(mini: kaohe_rules.Policy) -> None:
    # the smallest unit whose deductions reach 15 points: only what it takes, the rest left out or empty
    smallest = find(units(mini), lambda u: mini.evaluate(u).score <= 85, settings=settings(database=None))
    f = smallest["facts"]
    assert "可选" not in f and "默认" not in f and f.get("记录", []) == []  # optional and defaulted facts left out
    assert f["说明"] == ""
    assert mini.evaluate(smallest).score <= 85


def test_a_vetoed_unit_shrinks_to_just_what_the_veto_needs(mini: kaohe_rules.Policy) -> None:
    vetoed = find(units(mini), lambda u: mini.evaluate(u).vetoed, settings=settings(database=None, max_examples=2000))
    f = vetoed["facts"]
    assert f["等级"] == "高" and len(f["记录"]) == 2
    for record in f["记录"]:
        assert set(record) == {"日期", "数量"}  # the optional fields of the records are gone


def test_thresholds_are_drawn_more_often_than_chance(mini: kaohe_rules.Policy) -> None:
    domain = Domains(mini.checked).fact("上限")
    assert domain.number is not None
    # 50万元 is compared against: it and the fen on either side are candidates and drawn on purpose
    assert {Decimal("499999.99"), Decimal("500000"), Decimal("500000.01")} <= set(domain.number.interesting)
    dates = Domains(mini.checked).fact("日期")
    assert datetime.date(2020, 6, 30) in dates.interesting_dates and datetime.date(2020, 7, 1) in dates.interesting_dates


def test_open_bounds_and_grids(mini: kaohe_rules.Policy) -> None:
    space = Domains(mini.checked)
    positive = space.fact("正数").number
    assert positive is not None and positive.low == Decimal("0.1")  # '> 0' excludes 0 on the tenths grid
    assert space.fact("可选").candidates()[0] is ABSENT
    assert space.fact("默认").may_be_absent and not space.fact("等级").may_be_absent


def test_landmarks_reach_full_marks_and_the_ladder_crosses_every_band(karamay: kaohe_rules.Policy) -> None:
    for category in karamay.categories:
        best, worst, simplest = landmarks(karamay, category)
        top = karamay.evaluate(best)
        assert top.score == karamay.checked.categories[category].total and not top.vetoed
        assert karamay.evaluate(worst).score < karamay.evaluate(simplest).score or worst == simplest
        bands = {karamay.evaluate(u).band for u in ladder(karamay, category, best)}
        assert bands == {b.rating for b in karamay.checked.plans[category].bands}, category


def test_simplest_unit_is_valid(karamay: kaohe_rules.Policy) -> None:
    for category in karamay.categories:
        karamay.evaluate(simplest_unit(karamay, category))
