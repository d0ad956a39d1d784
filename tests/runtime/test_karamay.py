"""The Karamay 2013 policy against the founding document: band edges, vetoes, deferral, money.

Cases are written from the document (克安发〔2013〕7号), not from the engine:
四(三) puts the edges at 900/850/800 (districts) and 550/500/450 (departments and
enterprises), 含本级 = inclusive; 四(二)4 lists four vetoes; 四(二)1 defers
较大 road accidents of out-of-area vehicles; 六(三) fixes the money.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "policies" / "karamay-2013.kh"
UNITS_PATH = ROOT / "policies" / "karamay-2013" / "units.json"

CHECK_KINDS = ("日常检查", "督办事项", "目标抽查")  # the pre-deduction kinds of 四(二)3 (1)/(2)/(3)


@pytest.fixture(scope="module")
def policy() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICY_PATH)


@pytest.fixture(scope="module")
def samples() -> dict[str, dict[str, Any]]:
    doc = json.loads(UNITS_PATH.read_text(encoding="utf-8"), parse_float=Decimal)
    return {u["id"]: u for u in doc["units"]}


def with_pre_deduction(policy: kaohe_rules.Policy, unit: dict[str, Any], amount: Decimal) -> dict[str, Any]:
    """The unit with ``amount`` more points of 预扣分 (四(二)3), spread over the kinds with room left."""
    unit = copy.deepcopy(unit)
    base = policy.evaluate(unit)
    room = {t.name: t.score for t in base.targets if t.name.startswith("督查_")}
    kinds = {"督查_检查督查": "日常检查", "督查_督办事项": "督办事项", "督查_目标抽查": "目标抽查"}
    records = unit["facts"].setdefault("预扣分记录", [])
    left = amount
    for target, kind in kinds.items():
        take = min(left, room[target])
        if take > 0:
            records.append({"日期": "2013-10-01", "类型": kind, "扣分": str(take), "事由": "测试用预扣分"})
            left -= take
    assert left == 0, "not enough room in 日常督查 for this deduction"
    return unit


def rate(policy: kaohe_rules.Policy, unit: dict[str, Any]) -> tuple[Decimal, str]:
    result = policy.evaluate(unit)
    assert not result.vetoed
    return result.score, result.rating


# ------------------------------------------------------------------ 四(三)
DISTRICT_EDGES = [
    # (points deducted from a 900-point district, expected score, expected rating)
    ("0", "900", "优秀"), ("0.01", "899.99", "良好"),
    ("50", "850", "良好"), ("50.01", "849.99", "合格"),
    ("100", "800", "合格"), ("100.01", "799.99", "不合格"),
]


@pytest.mark.parametrize(("deducted", "score", "rating"), DISTRICT_EDGES)
def test_district_band_edges(policy: kaohe_rules.Policy, samples: dict[str, Any], deducted: str, score: str,
                             rating: str) -> None:
    base = samples["dushanzi"]
    assert policy.evaluate(base).score == 900  # the sample sits exactly on the 优秀 edge
    unit = with_pre_deduction(policy, base, Decimal(deducted))
    assert rate(policy, unit) == (Decimal(score), rating)


UNIT_EDGES = [
    # (points deducted from a 550-point unit, expected score, expected rating)
    ("0", "550", "优秀"), ("0.01", "549.99", "良好"),
    ("50", "500", "良好"), ("50.01", "499.99", "合格"),
    ("100", "450", "合格"), ("100.01", "449.99", "不合格"),
]


@pytest.mark.parametrize(("deducted", "score", "rating"), UNIT_EDGES)
def test_department_band_edges(policy: kaohe_rules.Policy, samples: dict[str, Any], deducted: str, score: str,
                               rating: str) -> None:
    base = samples["fire-brigade"]
    assert policy.evaluate(base).score == 550
    assert rate(policy, with_pre_deduction(policy, base, Decimal(deducted))) == (Decimal(score), rating)


@pytest.mark.parametrize(("base_id", "deducted", "score", "rating"), [
    ("hengan-chem", "25", "550", "优秀"), ("hengan-chem", "25.01", "549.99", "良好"),
    ("hongji-build", "0", "500", "良好"), ("hongji-build", "0.01", "499.99", "合格"),
    ("tongda-transport", "0", "450", "合格"), ("tongda-transport", "0.01", "449.99", "不合格"),
])
def test_enterprise_band_edges(policy: kaohe_rules.Policy, samples: dict[str, Any], base_id: str, deducted: str,
                               score: str, rating: str) -> None:
    unit = with_pre_deduction(policy, samples[base_id], Decimal(deducted))
    assert rate(policy, unit) == (Decimal(score), rating)


def test_bands_are_the_documents(policy: kaohe_rules.Policy) -> None:
    edges = {c: [(b.rating, b.describe()) for b in plan.bands] for c, plan in policy.checked.plans.items()}
    assert edges["区政府"] == [("不合格", "[0, 800)"), ("合格", "[800, 850)"), ("良好", "[850, 900)"), ("优秀", "[900, 1000]")]
    for category in ("部门", "企业"):
        assert edges[category] == [("不合格", "[0, 450)"), ("合格", "[450, 500)"), ("良好", "[500, 550)"),
                                   ("优秀", "[550, 600]")]


def test_budgets_are_the_documents(policy: kaohe_rules.Policy) -> None:
    def budget(category: str) -> dict[str, Decimal]:
        return {".".join(s.path): s.points for s in policy.checked.categories[category].all_sections()}

    assert budget("区政府") == {"管理目标": 600, "管理目标.考核细则": 400, "管理目标.日常督查": 200, "控制指标": 400}
    for category in ("部门", "企业"):
        assert budget(category) == {"管理目标": 360, "管理目标.考核细则": 240, "管理目标.日常督查": 120, "控制指标": 240}
    assert {c: policy.checked.categories[c].total for c in ("区政府", "部门", "企业")} == {"区政府": 1000, "部门": 600,
                                                                                       "企业": 600}


# ------------------------------------------------------------------ 四(二)4
@pytest.mark.parametrize(("unit_id", "veto", "citation"), [
    ("housing", "较大以上事故", "四(二)4(1)"),
    ("xinyuan-gas", "瞒报谎报", "四(二)4(2)"),
    ("ruifeng-oilfield", "突破指标", "四(二)4(3)"),
    ("quality", "重大社会影响", "四(二)4(4)"),
])
def test_each_veto_alone_fails_the_unit_and_keeps_its_score(policy: kaohe_rules.Policy, samples: dict[str, Any],
                                                          unit_id: str, veto: str, citation: str) -> None:
    result = policy.evaluate(samples[unit_id])
    assert [v.name for v in result.vetoes] == [veto]
    assert result.vetoes[0].citation == citation
    assert result.rating == "不合格"
    assert result.band in ("优秀", "良好", "合格")  # the score alone would have passed
    assert result.score >= 450
    fine = result.consequences
    assert fine.kind == "fine" and [i.name for i in fine.sanctions] == ["例会检查"]


def test_veto_evidence_names_the_accident(policy: kaohe_rules.Policy, samples: dict[str, Any]) -> None:
    result = policy.evaluate(samples["housing"])
    evidence = result.vetoes[0].evidence
    assert len(evidence) == 1
    assert evidence[0]["等级"] == "较大" and 3 <= int(evidence[0]["死亡人数"]) <= 9  # type: ignore[call-overload]


def test_zero_indicator_unit_is_vetoed_by_one_death(policy: kaohe_rules.Policy, samples: dict[str, Any]) -> None:
    unit = copy.deepcopy(samples["hengan-chem"])
    unit["facts"]["死亡人数控制指标"] = 0
    unit["facts"]["事故"] = [{"日期": "2013-05-01", "简况": "高处坠落", "类型": "工贸", "死亡人数": 1}]
    result = policy.evaluate(unit)
    assert [v.name for v in result.vetoes] == ["突破指标"]
    assert result.vetoes[0].facts["死亡人数控制指标"] == 0


def test_unit_without_indicator_is_not_vetoed_by_a_general_accident(policy: kaohe_rules.Policy,
                                                                   samples: dict[str, Any]) -> None:
    unit = copy.deepcopy(samples["hengan-chem"])
    unit["facts"].pop("死亡人数控制指标", None)
    unit["facts"].pop("事故起数控制指标", None)
    unit["facts"]["事故"] = [{"日期": "2013-05-01", "简况": "高处坠落", "类型": "工贸", "死亡人数": 2}]
    result = policy.evaluate(unit)
    assert not result.vetoed
    assert result.score < 575  # the deaths still cost control-indicator points


@pytest.mark.parametrize(("deaths", "grade"), [(1, "一般"), (2, "一般"), (3, "较大"), (9, "较大"), (10, "重特大")])
def test_accident_grades_follow_the_document(policy: kaohe_rules.Policy, samples: dict[str, Any], deaths: int,
                                             grade: str) -> None:
    unit = copy.deepcopy(samples["hengan-chem"])
    unit["facts"].pop("死亡人数控制指标", None)
    unit["facts"].pop("事故起数控制指标", None)
    unit["facts"]["事故"] = [{"日期": "2013-05-01", "简况": "事故", "类型": "工贸", "死亡人数": deaths}]
    result = policy.evaluate(unit)
    assert result.vetoed == (grade != "一般")
    if result.vetoed:
        assert result.vetoes[0].evidence[0]["等级"] == grade


# ------------------------------------------------------------------ 四(二)1
def test_out_of_area_major_road_accident_is_deferred_not_vetoed(policy: kaohe_rules.Policy,
                                                              samples: dict[str, Any]) -> None:
    for unit_id in ("traffic-police", "karamay-district"):
        result = policy.evaluate(samples[unit_id])
        assert not result.vetoed
        assert len(result.deferred) == 1
        deferral = result.deferred[0]
        assert deferral.citation == "四(二)1" and deferral.to == "自治区有关规定"
        item = deferral.items[0]
        assert item["异地车辆"] is True and item["类型"] == "道路交通" and item["等级"] == "较大"


def test_same_accident_by_a_local_vehicle_vetoes(policy: kaohe_rules.Policy, samples: dict[str, Any]) -> None:
    unit = copy.deepcopy(samples["traffic-police"])
    for accident in unit["facts"]["事故"]:
        accident["异地车辆"] = False
    result = policy.evaluate(unit)
    assert result.vetoed and "较大以上事故" in [v.name for v in result.vetoes]
    assert not result.deferred


def test_deferred_accident_does_not_count_against_indicators(policy: kaohe_rules.Policy,
                                                             samples: dict[str, Any]) -> None:
    unit = copy.deepcopy(samples["traffic-police"])
    with_flag = policy.evaluate(unit).score
    unit["facts"]["事故"] = [a for a in unit["facts"]["事故"] if not a.get("异地车辆")]
    assert policy.evaluate(unit).score == with_flag


# ------------------------------------------------------------------ 六(三)
@pytest.mark.parametrize(("reward", "total", "extra", "signatory", "staff"), [
    ("100000", "130000.00", "30000.00", "20000.00", "110000.00"),
    ("33333.33", "43333.33", "10000.00", "6666.67", "36666.66"),  # 9999.999 → 10000.00, half up
    ("0.05", "0.07", "0.02", "0.01", "0.06"),  # 0.015 → 0.02 and 0.01 → 0.01
])
def test_excellent_money(policy: kaohe_rules.Policy, samples: dict[str, Any], reward: str, total: str, extra: str,
                         signatory: str, staff: str) -> None:
    unit = copy.deepcopy(samples["dushanzi"])
    unit["facts"]["奖励金额"] = reward
    c = policy.evaluate(unit).consequences
    amounts = {i.name: i.amount for i in c.items}
    assert c.kind == "reward"
    assert (c.total, amounts["追加奖励"], amounts["签订人"], amounts["有关人员"]) == (
        Decimal(total), Decimal(extra), Decimal(signatory), Decimal(staff))
    assert amounts["签订人"] + amounts["有关人员"] == c.total  # type: ignore[operator]


def test_good_money_has_no_extra(policy: kaohe_rules.Policy, samples: dict[str, Any]) -> None:
    unit = copy.deepcopy(samples["education"])
    unit["facts"]["奖励金额"] = "12345.67"
    c = policy.evaluate(unit).consequences
    assert policy.evaluate(unit).rating == "良好"
    assert [i.name for i in c.rewards] == ["全额兑现"]
    assert c.total == Decimal("12345.67")
    assert {i.name: i.amount for i in c.shares} == {"签订人": Decimal("2469.13"), "有关人员": Decimal("9876.54")}


def test_pass_has_no_money(policy: kaohe_rules.Policy, samples: dict[str, Any]) -> None:
    result = policy.evaluate(samples["baijiantan"])
    assert result.rating == "合格"
    assert result.consequences.kind == "none" and result.consequences.total == 0
    assert result.consequences.notes == ("不奖不罚",)


@pytest.mark.parametrize(("reward", "fine", "signatory", "staff"), [
    ("60000", "30000.00", "6000.00", "24000.00"),
    ("33333.33", "16666.67", "3333.33", "13333.34"),  # 16666.665 → .67; 20% of 16666.67 = 3333.334 → .33
    ("0.03", "0.02", "0.00", "0.02"),  # 0.015 → 0.02
])
def test_fail_money_and_sanction(policy: kaohe_rules.Policy, samples: dict[str, Any], reward: str, fine: str,
                                 signatory: str, staff: str) -> None:
    unit = copy.deepcopy(samples["wuerhe"])
    unit["facts"]["奖励金额"] = reward
    result = policy.evaluate(unit)
    c = result.consequences
    assert result.rating == "不合格" and c.kind == "fine"
    amounts = {i.name: i.amount for i in c.items}
    assert (amounts["罚款"], amounts["签订人"], amounts["有关人员"]) == (Decimal(fine), Decimal(signatory), Decimal(staff))
    assert c.total == Decimal(fine)
    assert [i.label for i in c.sanctions] == ["单位行政正职须在市安委会例会上作检查"]


# ------------------------------------------------------------------ samples
def test_samples_reach_every_band_of_every_category(policy: kaohe_rules.Policy, samples: dict[str, Any]) -> None:
    reached: dict[str, set[str]] = {}
    for unit in samples.values():
        result = policy.evaluate(unit)
        reached.setdefault(result.category, set()).add(result.rating)
    assert reached == {c: {"优秀", "良好", "合格", "不合格"} for c in ("区政府", "部门", "企业")}


def test_every_target_cites_a_clause(policy: kaohe_rules.Policy) -> None:
    checked = policy.checked
    assert all(t.cite for t in checked.targets)
    assert all(v.cite for v in checked.vetoes)
    assert all(o.cite for o in checked.outcomes.values())
    assert all(b.cite for plan in checked.plans.values() for b in plan.bands)


def test_explanation_cites_clauses(policy: kaohe_rules.Policy, samples: dict[str, Any]) -> None:
    text = policy.evaluate(samples["housing"]).explain()
    assert "四(二)4(1)" in text and "不合格" in text and "六(三)" in text
