"""Defers compose (issue #16): a defer takes items from another defer's kept list, or from a let.

Hand-derived cases: each item is moved by the first defer of the chain whose condition it
meets, its position is its place in the root list fact, and the per-period stage (issue #11 P)
runs the chain once per period on that period's list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kaohe_rules

DATA = Path(__file__).resolve().parents[1] / "data" / "ledgers"


def test_a_chain_of_defers_moves_each_item_once_and_keeps_its_place() -> None:
    policy = kaohe_rules.load(DATA / "composed.kh")
    unit = {"id": "E1", "category": "企业", "facts": {"事故": [], "自报事故": [
        {"编号": "1", "类型": "道路交通", "车辆": "军队"},  # 军警车辆
        {"编号": "2", "类型": "火灾", "纵火": True},  # 纵火 (from 地方事故)
        {"编号": "3", "类型": "工矿"},  # 工矿 (from the let 全部自报: every item)
        {"编号": "4", "类型": "火灾"},
    ]}}
    result = policy.evaluate(unit)
    assert [(d.name, d.positions, [i["编号"] for i in d.items]) for d in result.deferred] == [
        ("军警车辆", (1,), ["1"]), ("纵火", (2,), ["2"]), ("工矿", (3,), ["3"])]
    # count(计分事故) = 2 (items 3, 4): 10 points; count(非工矿) = 3 (items 1, 2, 4): 15 points
    assert result.score == 75
    traced = policy.evaluate(unit, trace=True)
    assert traced.score == 75 and "全部自报" in traced.explain()


def test_periods_run_the_chain_on_each_period_list() -> None:
    policy = kaohe_rules.load(DATA / "periods_chain.kh")
    unit = {"id": "U", "category": "单位", "facts": {
        "事故": {"上半年": [{"类型": "交通", "死亡人数": 2}, {"类型": "火灾", "纵火": True, "死亡人数": 5}],
                "下半年": [{"类型": "工矿", "死亡人数": 9}, {"类型": "火灾", "死亡人数": 1}]},
        "年度事故": [{"类型": "工矿"}, {"类型": "交通"}, {"类型": "火灾", "纵火": True}]}}
    result = policy.evaluate(unit)
    # 上半年: 计分事故 = [交通 2人] → 20, 年度计分 = [交通] → 5: 75; 下半年: [火灾 1人] → 10, 5: 85
    assert [p["score"] for p in result.to_dict()["periods"]] == ["75", "85"]  # type: ignore[index]
    assert result.score == 81  # 40% × 75 + 60% × 85
    assert policy.evaluate(unit, trace=True).score == 81


@pytest.mark.parametrize(("line", "code"), [
    ("defer 再排除 from 军警车辆 where 纵火 as 余下", "K273"),  # the defer's name, not its kept list
    ("defer 甲 from 乙表 where 纵火 as 甲表\ndefer 乙 from 甲表 where 纵火 as 乙表", "K130"),  # a cycle
    ("let 转抄 = 地方事故\ndefer 再排除 from 转抄 where 纵火 as 余下", "K273"),  # a let that reads a kept list
])
def test_what_a_chain_cannot_be(line: str, code: str) -> None:
    text = (DATA / "composed.kh").read_text(encoding="utf-8") + line + "\n"
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(text)
    assert code in [d.code for d in info.value.diagnostics]


def test_a_defer_without_to_is_explained_without_a_made_up_authority(tmp_path: Path) -> None:
    """Review of #16: the first defer of docs/language.md's "Composed defers" example has no ``to``; its
    explanation read "→ 移交处理：军警车辆事故 ，按?考核" (en: "assessed under ?"). Without ``to`` the line names
    the deferral and its items only."""
    text = """policy 组合 "组合" { }
enum 类型 { 道路, 火灾 }
enum 车辆属性 { 地方, 军队, 武警 }
record 事故 "事故" { 类型: 类型 "类型"  车辆: 车辆属性 = 地方 "车辆"  纵火: bool = false "纵火"  死亡: int >= 0 "死亡" }
fact 自报事故: list of 事故 "自报事故"
defer 军警车辆 "军警车辆事故" from 自报事故 where 类型 == 道路 and 车辆 in [军队, 武警] as 地方事故
defer 纵火 "纵火火灾" from 地方事故 where 类型 == 火灾 and 纵火 as 计分事故 to "公安消防部门"
category 区县 "区县" total 100 { section 控制 "控制" 100 }
target 死亡 "死亡控制" in 区县.控制 points 100 { deduct 10 per sum(计分事故 of 死亡) cap 100 }
ratings { 好 差 } vetoed 差
bands 区县 { 好 [60, 100]  差 [0, 60) }
"""
    path = tmp_path / "d.kh"
    path.write_text(text, "utf-8")
    policy = kaohe_rules.load(path)
    unit = {"id": "A", "category": "区县", "facts": {"自报事故": [
        {"类型": "道路", "车辆": "军队", "死亡": 5}, {"类型": "火灾", "纵火": True, "死亡": 4}]}}
    result = policy.evaluate(unit, trace=True)
    zh, en = result.explain(), result.explain(lang="en")
    assert "?" not in zh and "?" not in en, zh
    assert "移交处理：军警车辆事故" in zh and "按公安消防部门考核" in zh
    assert "assessed under 公安消防部门" in en
