"""The columnar compiler against the per-unit evaluator (issue #13): the same results, cell by cell.

Units are drawn by hypothesis from what each policy declares (``kaohe_rules.testing.strategies``), read into
canonical columns by the reference reader, assessed by the compiled expressions, and compared with
``ResultColumns.row(policy.evaluate(unit))`` — every row the compiler answers must equal it exactly
(``differences == []``), and every row the per-unit evaluator refuses must be one the compiler sends per
unit.  Which policies are fully vectorised is asserted too, so a construct that silently regresses to the
per-unit fallback fails here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.columnar import differences, result_columns
from kaohe_rules.columnar.canonical import reference_canonical
from kaohe_rules.columnar.compiler import compile_checked
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parents[2]
SEED_CORE = ROOT / "benchmarks" / "seed-core.kh"
KARAMAY = ROOT / "policies" / "karamay-2013.kh"

#: policy file -> whether the compiler vectorises every category of it (a regression to fallback fails)
VECTORISED = {
    "benchmarks/seed-core.kh": True,
    "policies/karamay-2013.kh": True,
    "policies/karamay-2014.kh": True,
    "policies/bijie-2011.kh": True,
}

_POLICIES: dict[str, kaohe_rules.Policy] = {}


def _policy(path: str) -> kaohe_rules.Policy:
    if path not in _POLICIES:
        _POLICIES[path] = kaohe_rules.load(ROOT / path)
    return _POLICIES[path]


def compare(policy: kaohe_rules.Policy, batch: list[Mapping[str, Any]]) -> None:
    """Assess ``batch`` both ways; the compiled rows equal the reference rows, refused units go per unit."""
    program = policy.columnar_program()
    columns = result_columns(policy.checked)
    units_ = [dict(u, id=f"u{i}") for i, u in enumerate(batch)]
    canonical = reference_canonical(policy.checked, policy.assess_row, units_)
    results, per_unit = program.assess(canonical)
    assert results.columns == list(columns.names) and results.height == len(units_)
    assert results.schema == pl.Schema(columns.schema())
    answered: list[int] = []
    expected_rows = []
    for index, unit in enumerate(units_):
        try:
            result = policy.evaluate(unit)
        except kaohe_rules.KaoheError:
            assert per_unit[index] or not canonical.clean[index], f"refused unit {unit} answered columnar"
            continue
        if per_unit[index] or not canonical.clean[index]:
            continue
        answered.append(index)
        expected_rows.append(columns.row(result, engine="columnar"))
    expected = columns.frame(expected_rows)
    actual = results[answered] if answered else results.clear()
    assert differences(expected, actual) == []


def _check_vectorised(path: str) -> kaohe_rules.Policy:
    policy = _policy(path)
    support = policy.columnar_program().support
    assert support.vectorised is VECTORISED[path], support.message()
    return policy


@pytest.mark.parametrize("path", sorted(VECTORISED))
def test_which_policies_are_fully_vectorised(path: str) -> None:
    _check_vectorised(path)


_FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                 phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.parametrize(("path", "batches"), [("benchmarks/seed-core.kh", 25), ("policies/karamay-2013.kh", 10),
                                               ("policies/karamay-2014.kh", 6), ("policies/bijie-2011.kh", 15)])
def test_generated_units_agree(path: str, batches: int) -> None:
    """Batches of generated units (each batch one query: planning a big policy's query is the cost)."""
    policy = _check_vectorised(path)

    @settings(_FAST, max_examples=batches)
    @given(st.lists(units(policy), min_size=1, max_size=24))
    def run(batch: list[dict[str, Any]]) -> None:
        compare(policy, batch)

    run()


def test_evaluate_table_is_columnar_for_seed_core_and_equals_evaluate() -> None:
    policy = _policy("benchmarks/seed-core.kh")
    accident = {"简况": "x", "类型": "道路交通", "死亡人数": 3, "异地车辆": True, "瞒报": False, "谎报": False,
                "重大社会影响": True}
    table = pl.DataFrame({
        "id": ["a", "b", "c", "d"],
        "category": ["区政府", "部门企业", "区政府", "部门企业"],
        "考核细则扣分": [Decimal("12.5"), Decimal("0"), Decimal("450"), Decimal("0.0001")],
        "日常督查扣分": [Decimal("0"), Decimal("3"), Decimal("0"), Decimal("0")],
        "控制指标扣分": [Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0")],
        "奖励金额": [Decimal("10000.05"), Decimal("5000.03"), Decimal("1.01"), Decimal("0.07")],
        "死亡人数控制指标": [None, 0, 5, None],
        "事故": [[accident], [], [dict(accident, 异地车辆=False, 死亡人数=1)], []],
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error", kaohe_rules.ColumnarFallbackWarning)
        out = policy.evaluate_table(table)
    assert out["engine"].to_list() == ["columnar"] * 4
    columns = result_columns(policy.checked)
    from kaohe_rules.columnar.frames import units_of

    expected = columns.frame(columns.row(policy.evaluate(u), engine="columnar") for u in units_of(table))
    assert differences(expected, out) == []
    assert out["deferred:异地车辆较大事故"][0] == 1 and out["veto:重大社会影响"][0] is True


def test_rounding_to_the_fen_half_up_and_rest_shares() -> None:
    """六(三): 30% and 20% of amounts that land on half a fen, rounded half up; the rest share is the rest."""
    policy = _policy("benchmarks/seed-core.kh")
    batch = [{"category": "部门企业", "facts": {"考核细则扣分": 0, "日常督查扣分": 0, "控制指标扣分": 0,
                                            "奖励金额": Decimal(amount)}}
             for amount in ("0.05", "0.15", "0.25", "1.35", "99999.95", "0.0001", "12345678901.2345")]
    compare(policy, batch)


def test_band_edges_inclusive_and_exclusive() -> None:
    policy = _policy("benchmarks/seed-core.kh")
    batch = [{"category": "区政府", "facts": {"考核细则扣分": Decimal(loss), "日常督查扣分": 0, "控制指标扣分": 0,
                                           "奖励金额": 100}}
             for loss in ("100", "99.9999", "100.0001", "150", "200", "199.9999", "400", "0", "600", "1000")]
    compare(policy, batch)


def test_a_fact_beyond_the_limit_goes_per_unit_and_never_fails_the_batch() -> None:
    policy = _policy("benchmarks/seed-core.kh")
    facts = {"考核细则扣分": 0, "日常督查扣分": 0, "控制指标扣分": 0, "奖励金额": 100}
    units_ = [{"id": "big", "category": "区政府", "facts": dict(facts, 考核细则扣分=Decimal(10) ** 16)},
              {"id": "huge", "category": "区政府", "facts": dict(facts, 奖励金额=Decimal(10) ** 17)},  # the reader's limit is 10^18
              {"id": "ok", "category": "区政府", "facts": facts}]
    canonical = reference_canonical(policy.checked, policy.assess_row, units_)
    _, per_unit = policy.columnar_program().assess(canonical)
    assert per_unit.to_list() == [True, True, False]
    out = policy.evaluate_table(pl.DataFrame({"id": ["huge"], "category": ["区政府"], "考核细则扣分": [Decimal(0)],
                                              "日常督查扣分": [Decimal(0)], "控制指标扣分": [Decimal(0)],
                                              "奖励金额": [Decimal(10) ** 17]}))
    assert out["engine"].to_list() == ["per-unit"]
    assert out["outcome:优秀.追加奖励"][0] == Decimal(3) * Decimal(10) ** 16


def test_unsupported_constructs_are_named_with_place_and_categories() -> None:
    policy = kaohe_rules.load(ROOT / "policies" / "zunyi-2010.kh")
    support = compile_checked(policy.checked).support
    assert not support.vectorised
    assert any("zunyi-2010.kh:" in str(f) for f in support.fallbacks), support.message()


# ----------------------------------------------- generated policies (kaohe_rules/testing/policygen.py)
# Bonus sections and caps, scores as values, rating effects, conditional outcome items, outcomes for
# every rating, named items, group-by …: whatever the compiler vectorises of each must equal the per-unit
# result; what it does not must be a named fallback (never an exception, never a wrong row).
GENERATED = 10


@pytest.mark.parametrize("index", range(GENERATED))
def test_generated_policies_agree_where_vectorised(index: int) -> None:
    from kaohe_rules.testing.fuzz import RandomChooser
    from kaohe_rules.testing.policygen import generate_rich_policy

    text = generate_rich_policy(RandomChooser(f"columnar:{index}"), risky=index % 3 == 2).text
    policy = kaohe_rules.load(text, name=f"generated-{index}.kh")
    program = policy.columnar_program()
    for fallback in program.support.fallbacks:
        assert fallback.construct and fallback.where.startswith(f"generated-{index}.kh:"), str(fallback)
    if not program.vectorises:
        return

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.lists(units(policy, max_list=4), min_size=1, max_size=10))
    def run(batch: list[dict[str, Any]]) -> None:
        compare(policy, batch)

    run()


# ----------------------------------------------- a policy of the other constructs the compiler vectorises
CONSTRUCTS = '''policy 构造 "columnar constructs" { period 2020-01-01 .. 2020-12-31 }
category 县区 "县区" total 100 bonus cap 10 {
  section 工作目标 "工作目标" 70
  section 其他 "其他" 30
  section 加分 "加分项目" bonus cap 5
  section 奖分 "奖分" bonus
}
category 部门 "部门" total 100 {
  section 工作目标 "工作目标" 70
  section 其他 "其他" 30
}
enum 级别 "级别" { 甲 "甲", 乙 "乙", 丙 "丙" }
record 记录 "记录" {
  分: decimal >= 0 "分"
  级: 级别 "级"
  日期: date? "日期"
}
fact 完成率: percent in 0%..100% "目标完成率"
fact 国家级表彰: bool = false "获国家级表彰"
fact 省级表彰次数: int >= 0 = 0 "获省级表彰次数"
fact 表彰加分: decimal >= 0 = 0 "其他表彰加分"
fact 创新: bool = false "工作创新"
fact 得分: decimal in 0..30 "得分"
fact 可选数: int? >= 0 "可选数"
fact 等级: 级别 = 乙 "等级"
fact 金额: money >= 0 = 0元 "金额"
fact 记录: list of 记录 = [] "记录"
param 上限 = 2.5 "上限"
let 记录分 = sum(记录 of 分 where 级 == 甲 or 日期 is set) "记录分"
let 最高 = max(记录 of 分) "最高"
target 工作目标 "完成工作目标" in 县区.工作目标 points 70, 部门.工作目标 points 70 {
  proportional 完成率
  deduct 0.5 per 省级表彰次数 - 1 cap 上限
  deduct round(记录分 * 15%, 1) unless 等级 in [甲, 丙]
}
target 杂项 "杂项" in 县区.其他 points 30, 部门.其他 points 30 {
  score 得分
  deduct 1.25 when (可选数 ?? 0) > 2 and not all(记录 where 分 <= 3)
  deduct (if 等级 == 甲 then 2 else min(floor(最高 ?? 0), 3)) when count(记录) >= 2
}
target 表彰 "表彰" in 县区.加分 cap 3 {
  add 3 when 国家级表彰
  add 1 per 省级表彰次数 cap 2
  add 表彰加分
}
target 创新 "创新" in 县区.奖分 {
  add 2 when 创新
  add 1.5 when any(记录 where 级 == 丙)
}
veto 低分 "低分" when score(其他) < 10 and score < 50 and 等级 != 甲
  unless 国家级表彰 because "表彰"
ratings { 优秀 "优秀" 良好 "良好" 合格 "合格" 不合格 "不合格" } vetoed 不合格
bands 县区 {
  优秀 >= 90
  良好 [80, 90)
  合格 (60, 80)
  不合格 [0, 60]
}
bands 部门 {
  优秀 [90, 100]
  良好 [80, 90)
  合格 [60, 80)
  不合格 [0, 60)
}
outcome 优秀 {
  reward 奖 "奖" = 金额 * 12.5%
  reward 另奖 "另奖" = 金额 * 3% when 创新
  share 甲 "甲" = 奖 * 33%
  share 余 "余" = rest
}
outcome 不合格 {
  fine 罚 "罚" = 金额 * 50% for 县区
  sanction 检查 "检查" when 等级 == 丙
}
'''


def test_a_policy_of_many_constructs_is_vectorised_and_agrees() -> None:
    policy = kaohe_rules.load(CONSTRUCTS, name="constructs.kh")
    support = policy.columnar_program().support
    assert support.vectorised, support.message()
    top = {"完成率": Decimal(100), "得分": Decimal(30), "金额": Decimal("1234.56"), "创新": True, "国家级表彰": True,
           "记录": [{"分": Decimal("2.5"), "级": "丙"}, {"分": Decimal("0.3"), "级": "甲", "日期": "2020-03-01"}]}
    batch = [{"category": category, "facts": dict(top, 金额=Decimal(amount), 等级=level)}
             for category in ("县区", "部门") for amount in ("1234.56", "0.04", "99.99") for level in ("甲", "丙")]
    compare(policy, batch)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.lists(units(policy, max_list=4), min_size=1, max_size=12))
    def run(batch: list[dict[str, Any]]) -> None:
        compare(policy, batch)

    run()


EFFECTS = CONSTRUCTS.replace('''veto 低分 "低分"''', '''veto 零分 "零分" when 等级 == 丙 and 省级表彰次数 > 3 then score 得分 - 5
veto 折半 "折半" when 省级表彰次数 == 2 then score score - 40
veto 降级 "降级" when 创新 and not 国家级表彰 then downgrade 1
veto 再降 "再降" when count(记录) >= 3 then downgrade 2
veto 限优 "限优" when any(记录 where 级 == 乙) then cap 良好
veto 评为 "评为" when 省级表彰次数 == 1 then rating 合格
veto 低分 "低分"''').replace('''  良好 [80, 90)
  合格 (60, 80)''', '''  良好 [80, 90) requires not 创新
  合格 (60, 80) requires 等级 != 乙''')


def test_rating_effects_and_requires_are_vectorised_and_agree() -> None:
    policy = kaohe_rules.load(EFFECTS, name="effects.kh")
    support = policy.columnar_program().support
    assert support.vectorised, support.message()
    top = {"完成率": Decimal(100), "得分": Decimal(30), "金额": Decimal("100.10")}
    records = {"甲": [], "乙": [{"分": Decimal(1), "级": "乙"}], "丙": [{"分": Decimal(1), "级": "丙"}] * 3}
    batch = [{"category": category, "facts": dict(top, 等级=level, 省级表彰次数=count, 创新=new, 国家级表彰=nat,
                                                  记录=records[level])}
             for category in ("县区", "部门") for level in ("甲", "乙", "丙") for count in (0, 1, 2, 4)
             for new in (False, True) for nat in (False, True)]
    kinds = {step.kind for unit in batch for step in policy.evaluate(dict(unit, id="x")).effects}
    assert kinds == {"score", "requires", "cap", "downgrade", "rating"}  # every step is exercised
    compare(policy, batch)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.lists(units(policy, max_list=4), min_size=1, max_size=16))
    def run(batch: list[dict[str, Any]]) -> None:
        compare(policy, batch)

    run()


# ----------------------------------------------- rescaling past Int128 (review13)
MANY_PLACES = '''policy 精度 "x" { period 2020-01-01 .. 2020-12-31 }
category 甲 "甲" total 100 { section 一 "一" 100 }
fact 数: decimal "数"
target 一 "一" in 甲.一 points 100 {
  deduct 1 when 数 > 0.000000000000000000000000000001
  deduct 2 when 数 < -0.000000000000000000000000000001
  deduct 4 when max(数, 0.000000000000000000000000000001) > 1
}
ratings { 好 "好" 差 "差" } vetoed 差
bands 甲 { 好 [50, 100] 差 [0, 50) }
'''


def test_a_comparison_with_a_literal_of_many_places_is_never_wrapped() -> None:
    """``数 > 0.000…1`` (30 places) rescales 数 = 10**15 to 10**49: Int128 wrapped silently and the
    columnar path said 94 where policy.evaluate says 93.  Such a rescaling is now a fallback naming it."""
    policy = kaohe_rules.load(MANY_PLACES, name="places.kh")
    support = policy.columnar_program().support
    assert not support.vectorised and "places.kh:5:17" in support.message(), support.message()
    batch = [{"category": "甲", "facts": {"数": Decimal(v)}}
             for v in ("1000000000000000", "-1000000000000000", "123456789012345.6789", "1", "0")]
    units_ = [dict(u, id=f"u{i}") for i, u in enumerate(batch)]
    with pytest.warns(kaohe_rules.ColumnarFallbackWarning):
        results = policy.evaluate_table(pl.DataFrame([{"id": u["id"], "category": "甲", **u["facts"]} for u in units_]))
    assert results["score"].to_list() == [policy.evaluate(u).score for u in units_]
    assert results["score"][0] == Decimal(95)  # 1 + 4 deducted


# ----------------------------------------------- Int64 where the bound allows, Int128 beyond (colk13)
WIDTHS = '''policy 宽度 "x" { period 2020-01-01 .. 2020-12-31 }
category 甲 "甲" total 100 { section 一 "一" 100 }
record 项 "项" {
  分: decimal "分"
  次: int "次"
}
fact 数: decimal "数"
fact 金额: money "金额"
fact 比例: percent "比例"
fact 次数: int "次数"
fact 项目: list of 项 = [] "项目"
let 和 = sum(项目 of 分) "和"
let 次和 = sum(项目 of 次) "次和"
target 一 "一" in 甲.一 points 100 {
  deduct 1 when 数 * 1000 > 99999999999999999 or 数 * 1000 < -99999999999999999
  deduct 2 when 金额 * 125% > 99999999999999元 or 比例 > 100%
  deduct 4 when 次数 * 100 > 99999999999999999 or 次数 * 100 < -99999999999999999
  deduct 8 when 和 > 99999999999999 or 和 < -99999999999999
  deduct 16 when 次和 + 次数 > 999999999999999999
  deduct 32 when 金额 + 金额 - 金额 * 2 + 数 * 0.0001元 > 1元
  deduct 0.5 per abs(次数) - 999999999999999990 cap 10
}
ratings { 好 "好" 差 "差" } vetoed 差
bands 甲 { 好 [50, 100] 差 [0, 50) }
outcome 好 {
  reward 奖 "奖" = 金额 * 12.5%
  reward 量 "量" = 金额 * 3 + 数 * 1元
  share 甲 "甲" = 奖 * 33%
  share 余 "余" = rest
}
'''

_NEAR = ("99999999999999.9999", "-99999999999999.9999", "100000000000000", "-100000000000000",
         "100000000000000.0001", "-100000000000000.0001", "12345678901234.5678", "0.0001", "0")


def test_values_near_the_int64_bounds_agree_or_go_per_unit() -> None:
    """Facts just below FACT_LIMIT (10**14) are computed columnar and exactly — what may pass 2**62 (a
    fact times a constant, an int fact in arithmetic, sums of list fields) in Int128, the rest in Int64 —
    and a fact beyond it goes per unit: never a wrapped Int64."""
    policy = kaohe_rules.load(WIDTHS, name="widths.kh")
    support = policy.columnar_program().support
    assert support.vectorised, support.message()
    ints = (999999999999999999, -999999999999999999, 999999999999999990, 2 ** 62 // 1000, -7, 7, 0)
    batch: list[dict[str, Any]] = []
    for i, value in enumerate(_NEAR):
        number = Decimal(value)
        batch.append({"category": "甲", "facts": {
            "数": number, "金额": abs(number).quantize(Decimal("0.01")) if abs(number) < 10 ** 14 else Decimal(1),
            "比例": Decimal("99.99") if i % 2 else Decimal("-150.5"), "次数": ints[i % len(ints)],
            "项目": [{"分": number, "次": ints[(i + 1) % len(ints)]}, {"分": number, "次": 1}] * (1 + i % 2)}})
    compare(policy, batch)
    units_ = [dict(u, id=f"u{i}") for i, u in enumerate(batch)]
    canonical = reference_canonical(policy.checked, policy.assess_row, units_)
    _, per_unit = policy.columnar_program().assess(canonical)
    answered = [i for i in range(len(units_)) if canonical.clean[i] and not per_unit[i]]
    # every fact within the limit is answered by the compiled expressions (not sent per unit)
    assert answered == [0, 1, 2, 3, 6, 7, 8], (per_unit.to_list(), canonical.clean.to_list())

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.lists(st.fixed_dictionaries({
        "category": st.just("甲"),
        "facts": st.fixed_dictionaries({
            "数": st.sampled_from([Decimal(v) for v in _NEAR]) | st.decimals(-10 ** 14, 10 ** 14, places=4),
            "金额": st.decimals(0, 10 ** 14, places=2),
            "比例": st.decimals(-200, 200, places=2),
            "次数": st.sampled_from(ints) | st.integers(-10 ** 18 + 1, 10 ** 18 - 1),
            "项目": st.lists(st.fixed_dictionaries({"分": st.decimals(-10 ** 14, 10 ** 14, places=4),
                                                    "次": st.integers(-10 ** 18 + 1, 10 ** 18 - 1)}), max_size=3)})}),
        min_size=1, max_size=8))
    def run(batch: list[dict[str, Any]]) -> None:
        compare(policy, batch)

    run()
