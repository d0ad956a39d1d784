"""The attribution engine (issue #16, L2): every event charged, removed, unattributed or a problem, by hand."""

from __future__ import annotations

from typing import Any

import ledger_fixture as lf
import pytest

from kaohe_rules.errors import UnitInputError
from kaohe_rules.ledger import attribute

LEDGER = lf.LEDGER


@pytest.fixture(scope="module")
def policy() -> Any:
    return lf.load_ledger_policy()


def keys(attribution: Any, unit_id: str) -> list[str | None]:
    return [c.event.key for c in attribution.charged.get(unit_id, ())]


def test_each_event_of_the_sample_goes_where_the_rules_say(policy: Any) -> None:
    a = attribute(policy.program, lf.units(), {LEDGER: lf.ledger()})
    assert keys(a, "TS") == ["A-1", "A-6"]  # 属地 (road, fire)
    assert keys(a, "TT") == ["A-2", "A-5"]  # 对口区 (经开区 road accident), 属地
    assert keys(a, "JT") == ["A-1", "A-2"]  # 行业 道路交通
    assert keys(a, "XF") == ["A-6"]  # 行业 火灾
    assert keys(a, "E1") == ["A-5"]  # 本企业 (unit.id)
    assert keys(a, "SY") == [] and keys(a, "XS") == []
    assert [(r.event.key, r.kind, r.rule.name) for r in a.removed] == [
        ("A-3", "excluded", "军警车辆"), ("A-4", "handed_over", "直属企业火灾")]
    assert a.removed[0].reason == "军队、武警车辆发生的道路交通事故" and a.removed[1].to == "自治区有关规定"
    [lost] = a.unattributed
    assert lost.event.key == "A-7"
    assert lost.why == ("按属地规则应计入 辖区=经济技术开发区 的单位，但本批没有该单位；"
                        "按行业规则应计入 主管行业包含工矿商贸事故 的单位，但本批没有该单位；"
                        "按本企业规则，事件的 发生单位编号 为空，不计入任何单位")
    assert [r.name for r in lost.rules] == ["属地", "行业", "本企业"]
    assert "属地" in lost.why_en and "经济技术开发区" in lost.why_en
    assert a.problems == () and a.unit_errors == {}


def test_charged_items_are_the_validated_events_shared_by_every_unit(policy: Any) -> None:
    a = attribute(policy.program, lf.units(), {LEDGER: lf.ledger()})
    [ts_first, _] = a.items["TS"]["事故"]
    [jt_first, _] = a.items["JT"]["事故"]
    assert ts_first is jt_first  # one dict: positions by identity keep working
    assert ts_first["类型"] == lf.道路交通 and ts_first["车辆属性"] == lf.地方  # coerced, defaults filled
    assert a.charged["TS"][0].event.row == 1 and a.charged["TS"][0].event.shown == "2013-05-03 道路交通事故 2人死亡"


def test_two_rules_charging_one_unit_give_the_event_once_with_both_rules(policy: Any) -> None:
    spec = lf.ledger_spec()
    import attrs

    twice = attrs.evolve(spec.rules[4], name="行业二", label="再计入")
    spec = attrs.evolve(spec, rules=(*spec.rules, twice))
    policy2 = lf.load_ledger_policy(lf.POLICY_TEXT, spec)
    a = attribute(policy2.program, lf.units(), {LEDGER: lf.ledger()})
    [first, second] = a.charged["JT"]
    assert [r.name for r in first.rules] == ["行业", "行业二"]
    assert len(a.items["JT"]["事故"]) == 2


def test_no_rule_applies_is_said_so(policy: Any) -> None:
    spec = lf.ledger_spec()
    import attrs

    only_road = tuple(attrs.evolve(r, when=lambda e: e["类型"] == lf.道路交通) if r.kind == "charge" else r
                      for r in spec.rules)
    policy2 = lf.load_ledger_policy(lf.POLICY_TEXT, attrs.evolve(spec, rules=only_road))
    a = attribute(policy2.program, lf.units(), {LEDGER: [lf.accident("F-1", "火灾", "天山区")]})
    [lost] = a.unattributed
    assert (lost.why, lost.why_en, lost.rules) == ("没有适用的归属规则", "no attribution rule applies", ())


def test_none_never_matches(policy: Any) -> None:
    units = [*lf.units(), {"id": "E2", "category": "企业", "facts": {}}]
    a = attribute(policy.program, units, {LEDGER: [lf.accident("N-1", "工矿商贸", "经济技术开发区")]})
    assert "E1" not in a.charged and "E2" not in a.charged  # 发生单位编号 None matches no unit id
    assert len(a.unattributed) == 1


def test_a_bad_field_the_rules_do_not_read_charges_and_makes_the_units_charged_errors(policy: Any) -> None:
    events = [lf.accident("B-1", "道路交通", "天山区", "abc"), lf.accident("B-2", "火灾", "新市区", 1)]
    a = attribute(policy.program, lf.units(), {LEDGER: events})
    [problem] = a.problems
    assert (problem.ledger, problem.row, problem.key, problem.field, problem.attributable) == (
        LEDGER, 1, "B-1", "死亡人数", True)
    assert set(a.unit_errors) == {"TS", "JT"}  # charged B-1 (属地, 行业)
    [p] = a.unit_problems["TS"]
    assert p.unit == "TS" and p.fact == "事故台账[1].死亡人数" and "事故台账第1条（编号 B-1）" in p.message
    assert a.unit_errors["TS"] == ("事故台账[1].死亡人数：计入本单位的台账事件事故台账第1条（编号 B-1）有误：'abc' 不是数",)
    assert keys(a, "XS") == ["B-2"] and "XS" not in a.unit_errors and "XF" not in a.unit_errors


def test_a_bad_field_the_rules_read_makes_every_reachable_unit_an_error(policy: Any) -> None:
    events = [lf.accident("C-1", "道路交通", "月球"), lf.accident("C-2", "火灾", "新市区", 1)]
    a = attribute(policy.program, lf.units(), {LEDGER: events})
    [problem] = a.problems
    assert problem.field == "发生地" and problem.attributable is False
    assert set(a.unit_errors) == {u["id"] for u in lf.units()}  # every charge rule's categories
    assert all("事故台账第1条（编号 C-1）" in e[0] for e in a.unit_errors.values())
    assert keys(a, "XS") == ["C-2"]  # the good event is still charged


def test_an_unknown_field_is_a_problem_and_the_event_is_still_attributed(policy: Any) -> None:
    a = attribute(policy.program, lf.units(), {LEDGER: [lf.accident("D-1", "火灾", "新市区", 1, 受伤=3)]})
    [problem] = a.problems
    assert problem.field == "受伤" and problem.attributable
    assert keys(a, "XS") == ["D-1"] and set(a.unit_errors) == {"XS", "XF"}


def test_a_repeated_key_is_a_problem_for_every_copy_and_an_error_for_units_charged(policy: Any) -> None:
    events = [lf.accident("K-1", "火灾", "新市区", 1), lf.accident("K-1", "火灾", "天山区", 2),
              lf.accident("K-2", "工矿商贸", "沙依巴克区")]
    a = attribute(policy.program, lf.units(), {LEDGER: events})
    assert [(p.row, p.key, p.field) for p in a.problems] == [(1, "K-1", "编号"), (2, "K-1", "编号")]
    assert set(a.unit_errors) == {"XS", "TS", "XF"}
    assert keys(a, "SY") == ["K-2"]


def test_a_unit_with_bad_join_facts_is_an_error_and_others_are_unaffected(policy: Any) -> None:
    units = lf.units()
    units[0] = {"id": "TS", "category": "区县", "facts": {"辖区": "天山"}}
    a = attribute(policy.program, units, {LEDGER: lf.ledger()})
    assert set(a.unit_errors) == {"TS"} and a.unit_problems["TS"][0].fact == "辖区"
    assert keys(a, "JT") == ["A-1", "A-2"]
    assert "TS" not in a.charged


def test_a_unit_id_given_twice_is_an_error(policy: Any) -> None:
    units = [*lf.units(), {"id": "TS", "category": "区县", "facts": {"辖区": "新市区"}}]
    a = attribute(policy.program, units, {LEDGER: lf.ledger()})
    assert set(a.unit_errors) == {"TS"} and "rows 1、8" in a.unit_problems["TS"][0].message


def test_unknown_ledger_names_are_refused_with_did_you_mean(policy: Any) -> None:
    with pytest.raises(UnitInputError, match="did you mean '事故台账'"):
        attribute(policy.program, lf.units(), {"事故台帐": []})
    with pytest.raises(UnitInputError, match="must be a list"):
        attribute(policy.program, lf.units(), {LEDGER: {"a": 1}})


def test_a_non_mapping_event_is_a_problem_of_its_row(policy: Any) -> None:
    a = attribute(policy.program, lf.units(), {LEDGER: ["not an event", lf.accident("G-1", "火灾", "新市区")]})
    assert [(p.row, p.field, p.attributable) for p in a.problems] == [(1, None, False)]
    assert keys(a, "XS") == ["G-1"]


class Hostile(dict):  # type: ignore[type-arg]
    """A mapping whose reading raises (a caller's own object)."""

    def __iter__(self) -> Any:
        raise RuntimeError("boom")

    def get(self, *args: Any) -> Any:
        raise RuntimeError("boom")


def test_hostile_events_and_units_cost_their_own_row_only(policy: Any) -> None:
    events = [Hostile(), lf.accident("H-1", "火灾", "新市区", 1)]
    units = [Hostile(), *lf.units()]
    a = attribute(policy.program, units, {LEDGER: events})
    assert [(p.row, p.attributable) for p in a.problems] == [(1, False)]
    assert keys(a, "XS") == ["H-1"]
    items = list(policy.evaluate_many(units, ledgers={LEDGER: events}))
    assert len(items) == 8 and not items[0].ok
    assert {i.unit_id for i in items[1:] if i.ok} == set()  # the unreadable event may be anyone's: all errors
    assert all("事故台账[1]" in i.problems[0].fact for i in items[1:])


def test_a_rule_that_fails_on_an_event_makes_it_a_problem_not_an_exception(policy: Any) -> None:
    spec = lf.ledger_spec()
    import attrs

    def failing(e: Any) -> bool:
        return 1 / (e["死亡人数"] - 1) < 0  # type: ignore[no-any-return]

    rules = (attrs.evolve(spec.rules[0], when=failing), *spec.rules[1:])
    policy2 = lf.load_ledger_policy(lf.POLICY_TEXT, attrs.evolve(spec, rules=rules))
    a = attribute(policy2.program, lf.units(), {LEDGER: [lf.accident("Z-1", "火灾", "新市区", 1),
                                                          lf.accident("Z-2", "火灾", "新市区", 2)]})
    assert [(p.row, p.attributable) for p in a.problems] == [(1, False)]
    assert "could not be evaluated" in a.problems[0].message
    assert keys(a, "XS") == ["Z-2"] and "XS" in a.unit_errors  # Z-1 may be XS's: XS cannot be assessed
