"""Each construct of the policy language, evaluated on small policies a reader can check by hand."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

import kaohe_rules
from kaohe_rules import FactError

HEAD = """
policy 测试 "测试政策" { period 2013-01-01 .. 2013-12-31 }
category 单位 "测试单位" total 100 {
  section 甲 "甲项" 100
}
ratings { 好 "好" 中 "中" 差 "差" } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
"""


def make(body: str, points: int = 100) -> kaohe_rules.Policy:
    return kaohe_rules.load(HEAD + body)


def score(policy: kaohe_rules.Policy, **facts: object) -> Decimal:
    return policy.evaluate({"id": "u", "category": "单位", "facts": facts}).score


# ------------------------------------------------------------------- rules
def test_full_when_gives_all_or_nothing() -> None:
    p = make("fact x: int\ntarget t in 单位.甲 points 100 { full when x >= 3 }")
    assert score(p, x=3) == 100
    assert score(p, x=2) == 0


def test_deduct_when_and_unless() -> None:
    p = make("fact a: bool\nfact b: bool\ntarget t in 单位.甲 points 100 { deduct 10 when a deduct 5 unless b }")
    assert score(p, a=False, b=True) == 100
    assert score(p, a=True, b=True) == 90
    assert score(p, a=True, b=False) == 85


def test_deduct_per_occurrence_with_cap() -> None:
    p = make("fact n: int >= 0\ntarget t in 单位.甲 points 100 { deduct 15 per n cap 40 }")
    assert score(p, n=0) == 100
    assert score(p, n=2) == 70
    assert score(p, n=3) == 60
    assert score(p, n=10) == 60


def test_deduct_per_shortfall_ignores_surplus() -> None:
    p = make("fact hydrants: int >= 0\ntarget t in 单位.甲 points 100 { deduct 2 per 50 - hydrants }")
    assert score(p, hydrants=45) == 90
    assert score(p, hydrants=80) == 100  # a surplus never adds points


def test_deduct_amount_is_pre_deduction() -> None:
    p = make("record 扣分 { 分值: decimal >= 0 }\nfact 记录: list of 扣分 = []\n"
             "target t in 单位.甲 points 100 { deduct sum(记录 of 分值) cap 100 }")
    assert score(p, 记录=[{"分值": "2.5"}, {"分值": "7"}]) == Decimal("90.5")
    assert score(p, 记录=[{"分值": "150"}]) == 0
    assert score(p) == 100


def test_target_never_below_zero() -> None:
    p = make("fact n: int >= 0\ntarget t in 单位.甲 points 100 { deduct 60 per n deduct 70 when n > 0 }")
    assert score(p, n=5) == 0


def test_proportional_with_percent_and_ratio() -> None:
    p = make("fact rate: percent in 0%..100%\ntarget t in 单位.甲 points 100 { proportional rate }")
    assert score(p, rate="95%") == 95
    assert score(p, rate="100") == 100
    q = make("fact done: int >= 0\nfact planned: int > 0\n"
             "target t in 单位.甲 points 100 { proportional done / planned }")
    assert score(q, done=1, planned=3).quantize(Decimal("0.0001")) == Decimal("33.3333")
    assert score(q, done=5, planned=3) == 100  # clamped to 100%


def test_score_rule_clamps_to_points() -> None:
    p = make("fact raw: decimal\ntarget t in 单位.甲 points 100 { score raw }")
    assert score(p, raw="72.5") == Decimal("72.5")
    assert score(p, raw="-3") == 0
    assert score(p, raw="130") == 100


# -------------------------------------------------------------- expressions
def test_arithmetic_comparisons_and_logic() -> None:
    p = make("fact a: int\nfact b: int\n"
             "target t in 单位.甲 points 100 { full when (a + b * 2 - 1) / 3 == 3 and not (a > b) or a == 99 }")
    assert score(p, a=4, b=3) == 0  # (4+6-1)/3 = 3, but not 4>3 is false, and a != 99
    assert score(p, a=2, b=4) == 100  # (2+8-1)/3 = 3 and not 2>4
    assert score(p, a=2, b=5) == 0  # 11/3 is exact decimal division, not 3
    assert score(p, a=99, b=0) == 100


def test_in_range_is_inclusive() -> None:
    p = make("fact staff: int\ntarget t in 单位.甲 points 100 { full when staff in 2..3 }")
    assert [score(p, staff=n) for n in (1, 2, 3, 4)] == [0, 100, 100, 0]


def test_if_then_else_and_let() -> None:
    p = make("fact n: int\nlet doubled = if n > 5 then n * 2 else n\n"
             "target t in 单位.甲 points 100 { deduct doubled }")
    assert score(p, n=3) == 97
    assert score(p, n=6) == 88


def test_lets_are_ordered_by_dependency_not_by_text() -> None:
    p = make("fact n: int\nlet b = a + 1\nlet a = n * 10\ntarget t in 单位.甲 points 100 { deduct b }")
    assert score(p, n=2) == 79


def test_optional_fact_needs_a_test_and_narrows() -> None:
    p = make("fact limit: int? >= 0\nfact deaths: int >= 0\n"
             "target t in 单位.甲 points 100 { deduct 50 when limit is set and deaths > limit deduct 1 per limit ?? 0 }")
    assert score(p, deaths=3) == 100  # no limit: no deduction
    assert score(p, deaths=3, limit=2) == 48
    assert score(p, deaths=1, limit=2) == 98


def test_aggregates_count_sum_any_all_min_max() -> None:
    body = """
record 站 { 人数: int >= 0 }
fact 站: list of 站
let 合格站 = count(站 where 人数 in 2..3)
let 总人数 = sum(站 of 人数)
let 有空站 = any(站 where 人数 == 0)
let 全达标 = all(站 where 人数 >= 2)
let 最少 = min(站 of 人数) ?? 0
let 最多 = max(站 of it.人数 where 人数 < 10) ?? 0
target t in 单位.甲 points 100 {
  deduct 合格站 deduct 总人数 deduct 10 when 有空站 deduct 20 unless 全达标 deduct 最少 deduct 最多
}
"""
    p = make(body)
    stations = [{"人数": 2}, {"人数": 3}, {"人数": 0}, {"人数": 12}]
    # 合格站 2, 总人数 17, 有空站 10, not all >= 2 -> 20, min 0, max(<10) 3
    assert score(p, 站=stations) == 100 - 2 - 17 - 10 - 20 - 0 - 3
    assert score(p, 站=[]) == 100 - 20 * 0  # empty: all() is true, counts zero


def test_enum_ordered_comparison_and_record_let() -> None:
    body = """
enum 等级 ordered { 无, 一般, 较大, 重大 }
record 事故 { 死亡: int >= 0
  let 级别 = if 死亡 >= 10 then 重大 else if 死亡 >= 3 then 较大 else if 死亡 >= 1 then 一般 else 无 }
fact 事故: list of 事故 = []
target t in 单位.甲 points 100 { deduct 30 per count(事故 where 级别 >= 较大) deduct 5 per count(事故 where 级别 == 等级.一般) }
"""
    p = make(body)
    assert score(p, 事故=[{"死亡": 0}, {"死亡": 2}, {"死亡": 3}, {"死亡": 10}]) == 100 - 60 - 5


def test_dates_and_checkpoints() -> None:
    body = """
checkpoint 履职报告 "书面报告履职情况" due 2013-11-25
fact 报告日期: date?
target t in 单位.甲 points 100 { full when 报告日期 is set and 报告日期 <= 履职报告 }
"""
    p = make(body)
    assert score(p, 报告日期="2013-11-25") == 100
    assert score(p, 报告日期="2013-11-26") == 0
    assert score(p) == 0
    assert score(p, 报告日期=datetime.date(2013, 1, 2)) == 100


def test_money_and_percent_arithmetic() -> None:
    body = """
fact 资金: money >= 0
param 下限: money = 100万元
target t in 单位.甲 points 100 { full when 资金 >= 下限 * 50% + 50万元 }
"""
    p = make(body)
    assert score(p, 资金="1000000") == 100
    assert score(p, 资金="999999.99") == 0
    assert score(p, 资金="100万元") == 100


def test_defer_removes_items_and_reports_them() -> None:
    body = """
record 事故 { 死亡: int >= 0  异地: bool = false }
fact 事故: list of 事故 = []
defer 异地事故 "异地车辆事故按自治区规定考核" from 事故 where 异地 and 死亡 >= 3 as 本地事故 to "自治区" cite "四(二)1"
veto 重大 "较大以上事故" cite "四(二)4(1)" on 本地事故 where 死亡 >= 3
target t in 单位.甲 points 100 { deduct 10 per count(本地事故) }
"""
    p = make(body)
    r = p.evaluate({"id": "u", "category": "单位", "facts": {"事故": [{"死亡": 4, "异地": True}, {"死亡": 1}]}})
    assert r.score == 90 and not r.vetoed and r.rating == "好"
    assert len(r.deferred) == 1
    d = r.deferred[0]
    assert (d.name, d.to, d.citation) == ("异地事故", "自治区", "四(二)1")
    assert d.items[0]["死亡"] == 4
    r2 = p.evaluate({"id": "u", "category": "单位", "facts": {"事故": [{"死亡": 4}]}})
    assert r2.vetoed and r2.rating == "差" and r2.score == 90 and r2.band == "好"


def test_veto_with_exception_records_the_reason() -> None:
    body = """
fact 突破: bool
fact 获批调整: bool = false
veto 突破指标 "突破指标" cite "四(二)4(3)" when 突破 unless 获批调整 because "指标调整已获批准"
target t in 单位.甲 points 100 { full when true }
"""
    p = make(body)
    vetoed = p.evaluate({"id": "u", "category": "单位", "facts": {"突破": True}})
    assert vetoed.vetoed and vetoed.vetoes[0].citation == "四(二)4(3)"
    assert vetoed.vetoes[0].facts == {"突破": True, "获批调整": False}
    spared = p.evaluate({"id": "u", "category": "单位", "facts": {"突破": True, "获批调整": True}})
    assert not spared.vetoed and spared.rating == "好"
    assert spared.excepted[0].exception == "指标调整已获批准"


def test_outcome_money_rounds_half_up_and_shares_sum() -> None:
    body = """
fact 奖励金额: money >= 0
target t in 单位.甲 points 100 { full when true }
outcome 好 cite "六(三)" {
  reward 兑现 = 奖励金额
  reward 追加 = 奖励金额 * 30%
  share 签订人 = 奖励金额 * 20%
  share 有关人员 = rest
}
"""
    p = make(body)
    r = p.evaluate({"id": "u", "category": "单位", "facts": {"奖励金额": "33333.35"}})
    c = r.consequences
    amounts = {i.name: i.amount for i in c.items}
    assert amounts["追加"] == Decimal("10000.01")  # 10000.005 rounds half up
    assert amounts["签订人"] == Decimal("6666.67")  # 6666.67
    assert c.total == Decimal("43333.36")
    assert amounts["签订人"] + amounts["有关人员"] == c.total


def test_comments_and_chinese_quotes_and_ascii_names() -> None:
    text = HEAD + '# a comment\nfact score_a: int  # trailing comment\ntarget t “中文引号标签” in 单位.甲 points 100 { full when score_a > 0 }\n'
    p = kaohe_rules.load(text)
    assert p.checked.targets[0].label == "中文引号标签"
    assert score(p, score_a=1) == 100


def test_fact_errors_collect_every_problem() -> None:
    p = make("fact a: int >= 0\nfact b: money\nfact c: date\ntarget t in 单位.甲 points 100 { full when a > 0 and b > 0 and c > 2013-01-01 }")
    with pytest.raises(FactError) as info:
        p.evaluate({"id": "甲单位", "category": "单位", "facts": {"a": -1, "b": "abc", "d": 1}})
    problems = {pr.fact: pr for pr in info.value.problems}
    assert set(problems) == {"a", "b", "c", "d"}
    assert problems["a"].message == "-1 is out of range" and problems["a"].expected == "a value >= 0"
    assert problems["c"].message == "missing"
    assert problems["d"].message == "unknown fact"
    assert all(pr.unit == "甲单位" for pr in problems.values())


def test_floats_are_refused_with_a_hint() -> None:
    p = make("fact a: decimal\ntarget t in 单位.甲 points 100 { full when a > 0 }")
    with pytest.raises(FactError) as info:
        p.evaluate({"id": "u", "category": "单位", "facts": {"a": 0.1}})
    assert "float" in info.value.problems[0].message
    assert info.value.problems[0].hint == "pass it as a string ('0.1') or a Decimal"


def test_evaluation_does_not_use_callers_decimal_context() -> None:
    import decimal

    p = make("fact a: int\nfact b: int\ntarget t in 单位.甲 points 100 { score a / b * 100 }")
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        value = score(p, a=2, b=3)
    assert value.quantize(Decimal("0.000001")) == Decimal("66.666667")  # not 3 digits, not rounded down
    assert len(value.as_tuple().digits) > 20


def test_division_by_zero_names_the_unit_and_the_target() -> None:
    p = make("fact a: int\nfact b: int\n"
             "target t \"比例\" cite \"二(一)6\" in 单位.甲 points 100 { deduct 1 when a > 0 score a / b * 100 }")
    with pytest.raises(kaohe_rules.EvaluationError) as info:
        p.evaluate({"id": "甲单位", "category": "单位", "facts": {"a": 1, "b": 0}})
    assert str(info.value) == "unit '甲单位': division by zero (in target t, rule 2〔二(一)6〕)"


def test_lists_of_scalars_and_enums() -> None:
    p = make("enum 季度 { 一季度, 二季度, 三季度, 四季度 }\nfact 开会: list of 季度 = []\nfact 分: list of decimal = []\n"
             "target t in 单位.甲 points 100 { deduct 10 per 4 - count(开会) deduct sum(分) deduct 1 per count(分 where it > 2) }")
    assert score(p, 开会=["一季度", "三季度"], 分=["1.5", "3"]) == 100 - 20 - Decimal("4.5") - 1
    with pytest.raises(FactError) as info:
        p.evaluate({"id": "u", "category": "单位", "facts": {"开会": ["五季度"]}})
    assert info.value.problems[0].fact == "开会[0]"
