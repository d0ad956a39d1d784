"""Units assessed with their batch's ledgers (issue #16, L2/L3): the facade, errors, results."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import ledger_fixture as lf
import pytest

import kaohe_rules
from kaohe_rules.errors import FactError, LedgerRequired

LEDGER = lf.LEDGER


@pytest.fixture(scope="module")
def policy() -> Any:
    return lf.load_ledger_policy()


def by_id(items: Any) -> dict[str, Any]:
    return {item.unit_id: item for item in items}


def test_each_unit_is_assessed_with_the_events_charged_to_it(policy: Any) -> None:
    items = list(policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}))
    assert [i.index for i in items] == list(range(7)) and all(i.ok for i in items)
    got = {i.unit_id: (i.result.score, i.result.rating) for i in items}
    # TS: A-1 (2 deaths) and A-6 (1): 15 + 4 off; TT: A-2 (1) and A-5 (3 deaths: veto 重大)
    assert got["TS"] == (Decimal(81), "良好")
    assert got["TT"] == (Decimal(76), "不合格")
    assert got["SY"] == (Decimal(100), "优秀") and got["XS"] == (Decimal(100), "优秀")
    assert got["E1"] == (Decimal(83), "不合格")
    ts = by_id(items)["TS"].result
    assert ts.from_ledger and [c.event.key for c in ts.charged] == ["A-1", "A-6"]
    assert ts.charged[0].rules[0].name == "属地" and ts.charged[0].fact == "事故"


def test_the_same_unit_with_its_own_copy_of_the_list_scores_the_same(policy: Any) -> None:
    """The ledger's list and the unit's own (the same events typed in) give the same result."""
    with_ledger = by_id(policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}))
    own = {"id": "TT", "name": "头屯河区", "category": "区县",
           "facts": {"辖区": "头屯河区", "事故": [lf.ledger()[1], lf.ledger()[4]]}}
    alone = policy.evaluate(own)
    assert not alone.from_ledger and alone.charged == ()
    assert alone.to_dict()["score"] == with_ledger["TT"].result.to_dict()["score"]
    assert alone.vetoed == with_ledger["TT"].result.vetoed


def test_a_unit_alone_without_its_list_is_refused_naming_fact_and_ledger(policy: Any) -> None:
    with pytest.raises(LedgerRequired) as info:
        policy.evaluate({"id": "TS", "category": "区县", "facts": {"辖区": "天山区"}})
    assert (info.value.unit, info.value.fact, info.value.ledger) == ("TS", "事故", LEDGER)
    with pytest.raises(TypeError, match="evaluate_many"):
        policy.evaluate({"id": "TS", "category": "区县", "facts": {"辖区": "天山区"}}, ledgers={LEDGER: []})


def test_a_unit_alone_without_ledgers_in_a_batch_is_an_error_row(policy: Any) -> None:
    [item] = policy.evaluate_many([{"id": "TS", "category": "区县", "facts": {"辖区": "天山区"}}])
    assert isinstance(item.error, LedgerRequired) and item.unit_id == "TS"


def test_a_unit_giving_its_own_list_while_a_ledger_is_supplied_is_refused_naming_both_readings(policy: Any) -> None:
    units = lf.units()
    units[1]["facts"]["事故"] = []  # type: ignore[index]
    items = by_id(policy.evaluate_many(units, ledgers={LEDGER: lf.ledger()}))
    error = items["SY"].error
    assert isinstance(error, FactError) and error.problems[0].fact == "事故"
    assert "the unit's own list, or the events the ledger charges to it" in error.problems[0].message
    from kaohe_rules.messages import fact_message_zh, hint_zh

    assert fact_message_zh(error.problems[0].message) == (
        "本单位自报了清单，同时提供了台账 事故台账：本单位自报清单，或台账计入本单位的事件——只能有一个来源")
    assert hint_zh(error.problems[0].hint or "") == "请从单位中删去 事故（由台账决定），或不提供台账"
    assert sum(1 for i in items.values() if i.ok) == 6  # no other row lost


def test_unit_errors_of_the_attribution_are_error_rows_naming_the_ledger_row(policy: Any) -> None:
    events = lf.ledger()
    events[0] = {**events[0], "死亡人数": "abc"}
    items = list(policy.evaluate_many(lf.units(), ledgers={LEDGER: events}))
    assert len(items) == 7
    errors = {i.unit_id: i for i in items if not i.ok}
    assert set(errors) == {"TS", "JT"}
    [problem] = errors["TS"].problems
    assert problem.unit == "TS" and problem.fact == "事故台账[1].死亡人数" and "编号 A-1" in problem.message
    from kaohe_rules.batch.items import ErrorEntry
    from kaohe_rules.unitio import UnitRow

    entry = ErrorEntry.of(UnitRow(0, "row 1", {}, None), errors["TS"])
    assert entry.render("zh").splitlines()[1] == (
        "  - 「事故台账[1].死亡人数」：计入本单位的台账事件事故台账第1条（编号 A-1）有误：'abc' 不是数（应为 整数）")
    assert entry.render("en").splitlines()[1] == (
        "  - 事故台账[1].死亡人数: the ledger event 事故台账第1条（编号 A-1） charged to this unit is bad: 'abc' is not "
        "a number (expected a whole number)")


def test_a_bad_other_fact_is_still_reported_on_the_ledger_path(policy: Any) -> None:
    units = lf.units()
    units[0]["facts"]["瞒报"] = "maybe"  # type: ignore[index]
    items = by_id(policy.evaluate_many(units, ledgers={LEDGER: lf.ledger()}))
    assert items["TS"].problems[0].fact == "瞒报"


def test_items_keep_their_identity_for_positions_of_vetoes(policy: Any) -> None:
    items = by_id(policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}))
    tt = items["TT"].result
    [veto] = tt.vetoes
    assert veto.name == "重大" and veto.positions == (2,)  # A-5 is the 2nd item of TT's list (1-based)
    assert tt.facts["事故"][1] is items["E1"].result.facts["事故"][0]


def test_results_to_dict_carry_charged_events(policy: Any) -> None:
    items = by_id(policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}))
    d = items["TT"].result.to_dict()
    assert d["from_ledger"] is True
    assert d["charged"][0] == {"ledger": LEDGER, "row": 2, "key": "A-2", "shown": "2013-05-03 道路交通事故 1人死亡",
                               "fact": "事故", "rules": [{"name": "对口区", "label": "开发区辖区道路交通事故计入对口区",
                                                        "citation": "第三条第二款"}]}


def test_policies_without_ledgers_keep_their_result_shape() -> None:
    policy = kaohe_rules.load(lf.POLICY_TEXT, cache=False)
    result = policy.evaluate({"id": "TS", "category": "区县", "facts": {"辖区": "天山区"}})
    assert "charged" not in result.to_dict() and result.charged == () and not result.from_ledger
    assert policy.ledgers == ()


def test_the_result_does_not_depend_on_the_order_of_units_or_events(policy: Any) -> None:
    first = {i.unit_id: i.result.to_dict() for i in policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()})}
    again = {i.unit_id: i.result.to_dict()
             for i in policy.evaluate_many(lf.units()[::-1], ledgers={LEDGER: lf.ledger()[::-1]})}
    for unit_id, d in first.items():
        e = again[unit_id]
        assert (d["score"], d["rating"]) == (e["score"], e["rating"])
        assert {c["key"] for c in d["charged"]} == {c["key"] for c in e["charged"]}


def test_the_caller_events_are_not_changed(policy: Any) -> None:
    events = lf.ledger()
    kept = copy.deepcopy(events)
    list(policy.evaluate_many(lf.units(), ledgers={LEDGER: events}))
    assert events == kept


def test_traced_results_carry_charge_events_before_the_deferrals(policy: Any) -> None:
    items = by_id(policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}, trace=True))
    trace = items["TT"].result.trace
    kinds = [e.kind for e in trace.events]
    assert kinds[:3] == ["charge", "charge", "deferral"]
    charge = trace.events[0]
    assert charge.id == "事故台账[2]" and charge.detail["key"] == "A-2"
    assert charge.detail["rules"][0]["name"] == "对口区"
    d = trace.to_dict()
    assert d["events"][0]["kind"] == "charge"
    # the trace made on demand (a result assessed without trace) has them too
    untraced = by_id(policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}))["TT"].result
    assert untraced.trace.to_dict() == d


def test_evaluate_cohort_without_a_cohort_block_takes_ledgers_too(policy: Any) -> None:
    items = policy.evaluate_cohort(lf.units(), ledgers={LEDGER: lf.ledger()})
    assert [i.result.score for i in items] == [i.result.score for i in
                                                policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()})]


def test_a_batch_without_the_ledger_name_the_policy_declares_is_refused(policy: Any) -> None:
    with pytest.raises(kaohe_rules.UnitInputError, match="unknown ledger"):
        list(policy.evaluate_many(lf.units(), ledgers={"事故": []}))


def test_the_hand_built_ledger_decides_as_the_compiled_one() -> None:
    """Once the ledger syntax is merged: LEDGER_TEXT compiled gives the same attribution and results as the
    hand-built spec of tests/ledger_fixture.py (so switching USE_LEDGER_SYNTAX changes no expectation)."""
    try:
        compiled = kaohe_rules.load(lf.ledger_syntax_text(), cache=False)
    except kaohe_rules.PolicyError as exc:
        pytest.skip(f"the ledger syntax is not in this branch yet ({exc.diagnostics[0].code})")
    hand_built = lf.load_ledger_policy(lf.POLICY_TEXT, lf.ledger_spec())
    samples = [lf.ledger(), [lf.accident("X", "火灾", "经济技术开发区", 1),
                             lf.accident("Y", "道路交通", "高新技术产业开发区", 0, 车辆属性="军队"),
                             lf.accident("Z", "火灾", "天山区", 2, 生产经营=True, 隶属="中央")]]
    for events in samples:
        assert compiled.attribute(lf.units(), {LEDGER: events}).to_dict() == \
            hand_built.attribute(lf.units(), {LEDGER: events}).to_dict()
        assert [without_policy(i.result.to_dict()) for i in compiled.evaluate_many(lf.units(), ledgers={LEDGER: events})] \
            == [without_policy(i.result.to_dict()) for i in hand_built.evaluate_many(lf.units(), ledgers={LEDGER: events})]


def without_policy(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "policy"}  # the two texts differ, so do their hashes


def test_json_lines_carry_each_unit_its_own_charged_events(policy: Any) -> None:
    """The JSON Lines row is to_dict() encoded: never another unit's charged list from the category's template."""
    import json

    from kaohe_rules.runtime.jsonline import json_line

    for item in policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}):
        assert json.loads(json_line(item.result)) == json.loads(json.dumps(item.result.to_dict(), ensure_ascii=False))
