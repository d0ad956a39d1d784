"""Named items, ``index``, group-by, order tests and item positions, evaluated (issue #10 C).

The numbers are derived by hand from the example of docs/language.md ("Iteration"), which
this module loads from the document itself, so the documented example is also run.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.audit.replay import replay
from kaohe_rules.audit.trace_json import check_trace, trace_document
from kaohe_rules.numeric import engine_context
from kaohe_rules.runtime.interpreter import interpret

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
EXAMPLE = re.search(r"```kaohe\n(policy 命名示例.*?)```", DOC, flags=re.S)
assert EXAMPLE is not None, "the iteration example of docs/language.md"
ITERATION = ROOT / "tests" / "data" / "interpreter" / "iteration.kh"


def accident(day: str, deaths: int, level: str, kind: str, **more: object) -> dict[str, object]:
    return {"日期": day, "死亡人数": deaths, "等级": level, "类型": kind, **more}


# Hand derivation (docs/language.md, "Iteration"):
#   截止前死亡 = 1 + 3 + 3 = 7 (the fourth accident is after 2013-12-31) → deduct 10 × 7, cap 40 → 40
#   事故类型数 = distinct 类型 of the 较大 accidents (2, 3, 4) = {火灾, 交通} = 2 → deduct 5 × 2 = 10
#   连续下降: 5, 4, 4 is not strictly decreasing → deduct 5;   控制指标 = 60 − 55 = 5
#   加分合计 = max(A: 2, 3) + max(B: 1.5) = 4.5 → deduct 8 × (5 − 4.5) = 4;   加分 = 36;   score 41
#   第三起: the 较大 accidents are items 2, 3, 4; the running count reaches 3 at item 4 only
UNIT = {"id": "u1", "category": "单位", "facts": {
    "事故": [accident("2013-03-01", 1, "一般", "交通"), accident("2013-05-01", 3, "较大", "火灾"),
           accident("2013-05-01", 3, "较大", "火灾"), accident("2014-01-05", 4, "较大", "交通")],
    "加分项": [{"项目": "A", "分值": 2}, {"项目": "A", "分值": 3}, {"项目": "B", "分值": "1.5"}],
    "历年死亡人数": [5, 4, 4],
}}


@pytest.fixture(scope="module")
def example() -> kaohe_rules.Policy:
    return kaohe_rules.load(EXAMPLE.group(1), name="language.md")  # type: ignore[union-attr]


def test_the_documented_example_gives_the_hand_derived_result(example: kaohe_rules.Policy) -> None:
    r = example.evaluate(UNIT)
    lets = {e.id: e.value for e in r.trace.events if e.kind == "let"}
    assert lets == {"截止前死亡": 7, "加分合计": Decimal("4.5"), "事故类型数": 2, "连续下降": False}
    assert {t.name: t.score for t in r.targets} == {"控制指标": 5, "加分": 36}
    assert r.score == 41
    assert [v.name for v in r.vetoes] == ["第三起"]
    assert r.vetoes[0].positions == (4,)
    assert r.rating == "差"


def test_strictly_means_strictly() -> None:
    policy = kaohe_rules.load(EXAMPLE.group(1), name="language.md")  # type: ignore[union-attr]
    for years, down in (([5, 4, 3], True), ([5, 4, 4], False), ([3], True), ([], True), ([3, 4], False)):
        unit = copy.deepcopy(UNIT)
        unit["facts"]["历年死亡人数"] = years  # type: ignore[index]
        lets = {e.id: e.value for e in policy.evaluate(unit).trace.events if e.kind == "let"}
        assert lets["连续下降"] is down, years


def test_group_by_keeps_the_highest_of_each_key_and_counts_distinct_keys(example: kaohe_rules.Policy) -> None:
    unit = copy.deepcopy(UNIT)
    unit["facts"]["加分项"] = [{"项目": "B", "分值": 1}, {"项目": "A", "分值": 3}, {"项目": "B", "分值": 2},  # type: ignore[index]
                            {"项目": "A", "分值": 3}]
    lets = {e.id: e.value for e in example.evaluate(unit).trace.events if e.kind == "let"}
    assert lets["加分合计"] == 5  # A: 3 (twice, counted once) + B: 2
    unit["facts"]["事故"] = [accident("2013-01-01", 0, "一般", "火灾")]  # type: ignore[index]
    lets = {e.id: e.value for e in example.evaluate(unit).trace.events if e.kind == "let"}
    assert lets["事故类型数"] == 0  # a 一般 accident does not match the where


@pytest.fixture(scope="module")
def iteration() -> kaohe_rules.Policy:
    return kaohe_rules.load(ITERATION)


def two_same_day() -> dict[str, Any]:
    same = accident("2013-05-01", 3, "较大", "火灾")
    return {"id": "u2", "category": "单位", "facts": {
        "事故": [accident("2013-02-01", 1, "一般", "交通"), same, dict(same),
               accident("2013-06-01", 11, "重大", "交通", 异地=True)]}}


def test_identical_items_are_told_apart_by_their_position(iteration: kaohe_rules.Policy) -> None:
    r = iteration.evaluate(two_same_day())
    hit = next(v for v in r.vetoes if v.name == "同日两起")
    assert hit.evidence[0] == hit.evidence[1] and hit.positions == (2, 3)
    assert r.to_dict()["vetoes"][0]["positions"] == [2, 3]  # type: ignore[index]
    # the deferred accident is item 4 of 事故; the veto on the kept list names places in 事故 too
    assert [(d.name, d.positions) for d in r.deferred] == [("异地重大", (4,))]
    assert r.to_dict()["deferred"][0]["positions"] == [4]  # type: ignore[index]


def test_positions_in_the_trace_document_and_the_explanation(iteration: kaohe_rules.Policy) -> None:
    r = iteration.evaluate(two_same_day())
    doc = trace_document(r)
    check_trace(doc)  # valid against the (version 1) schema
    vetoes = {v["name"]: v for v in doc["result"]["vetoes"]}
    assert vetoes["同日两起"]["positions"] == [2, 3]
    assert doc["result"]["deferred"][0]["positions"] == [4]
    events = {e["id"]: e for e in doc["events"]}
    assert events["同日两起"]["detail"]["positions"] == ["2", "3"]  # event details hold canonical values
    zh, en = r.explain(), r.explain(lang="en")
    assert "证据（第2项）" in zh and "证据（第3项）" in zh and "第4项：" in zh
    assert "evidence (item 2)" in en and "item 4: " in en


def test_a_version_1_trace_without_positions_still_replays_clean(iteration: kaohe_rules.Policy) -> None:
    doc = trace_document(iteration.evaluate(two_same_day()))
    assert replay(iteration, doc).ok
    old = copy.deepcopy(doc)
    for entry in old["result"]["vetoes"] + old["result"]["deferred"]:
        del entry["positions"]
    for event in old["events"]:
        event.get("detail", {}).pop("positions", None)
    check_trace(old)
    assert replay(iteration, old).ok
    wrong = copy.deepcopy(doc)
    wrong["result"]["vetoes"][0]["positions"] = [1, 2]  # a stored position that disagrees is still found
    assert not replay(iteration, wrong).ok


def test_the_interpreter_agrees_on_repeated_items(iteration: kaohe_rules.Policy) -> None:
    unit = two_same_day()
    _, _, category, raw = iteration.coercer.envelope(unit)
    facts = iteration.coercer.coerce(unit["id"], category, raw)
    with engine_context():
        expected = interpret(iteration.checked, category, facts)
    assert iteration.evaluate(unit)._raw == expected
    assert iteration.evaluate(unit, trace=True)._raw == expected


def test_a_policy_without_the_new_constructs_gets_no_new_code() -> None:
    source = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh").generated_source
    for fragment in ("enumerate(", "_ix", "_sum_by", "_increasing", "_decreasing"):
        assert fragment not in source, fragment


def test_evidence_from_a_deferred_list_names_the_place_in_the_fact(iteration: kaohe_rules.Policy) -> None:
    # 本地事故 = 事故 without item 2 (异地, 重大, not the first): items 1, 3, 4 of 事故.  The third
    # 较大以上 accident of 本地事故 is its third item, which is item 4 of the list the unit supplied.
    unit = {"id": "u3", "category": "单位", "facts": {"事故": [
        accident("2013-01-01", 3, "较大", "火灾"), accident("2013-02-01", 11, "重大", "交通", 异地=True),
        accident("2013-03-01", 3, "较大", "交通"), accident("2013-04-01", 4, "较大", "火灾")]}}
    r = iteration.evaluate(unit)
    assert [(d.name, d.positions) for d in r.deferred] == [("异地重大", (2,))]
    hit = next(v for v in r.vetoes if v.name == "第三起")
    assert hit.positions == (4,) and str(hit.evidence[0]["日期"]) == "2013-04-01"
