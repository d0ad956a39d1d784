"""The ledger laws (issue #16, L5) on generated ledgers, and each law catching a deliberately wrong attribution."""

from __future__ import annotations

from typing import Any

import attrs
import ledger_fixture as lf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe_rules.runtime.ledger import Attribution, ChargedEvent, RuleRef
from kaohe_rules.testing.ledgers import (
    attribution_order_independent,
    ledger_batches,
    ledgers,
    removed_never_charged,
    removing_an_event_never_lowers_a_score,
)

LEDGER = lf.LEDGER
EXAMPLES = settings(max_examples=40, deadline=None)
POLICY = lf.load_ledger_policy()


@EXAMPLES
@given(ledger_batches(POLICY, LEDGER))
def test_an_event_a_rule_removes_never_reaches_a_unit(batch: Any) -> None:
    units, given_ledgers = batch
    assert removed_never_charged(POLICY, units, given_ledgers) == []


@EXAMPLES
@given(ledger_batches(POLICY, LEDGER), st.integers(1, 20))
def test_removing_an_event_never_lowers_a_score(batch: Any, row: int) -> None:
    units, given_ledgers = batch
    assert removing_an_event_never_lowers_a_score(POLICY, units, given_ledgers, LEDGER, row) == []


@EXAMPLES
@given(st.data())
def test_attribution_does_not_depend_on_the_order_of_events_or_units(data: st.DataObject) -> None:
    units, given_ledgers = data.draw(ledger_batches(POLICY, LEDGER))
    unit_order = data.draw(st.permutations(range(len(units))))
    event_order = data.draw(st.permutations(range(len(given_ledgers[LEDGER]))))
    assert attribution_order_independent(POLICY, units, given_ledgers, unit_order, {LEDGER: event_order}) == []


@settings(max_examples=30, deadline=None)
@given(st.data())
def _draw_outcomes(data: st.DataObject) -> None:
    events = data.draw(ledgers(POLICY, LEDGER, lf.units(), max_events=8))
    attribution = POLICY.attribute(lf.units(), {LEDGER: events})
    assert attribution.problems == ()  # valid records with unique keys
    OUTCOMES.update({"charged"} if attribution.charged else set())
    OUTCOMES.update({"removed"} if attribution.removed else set())
    OUTCOMES.update({"unattributed"} if attribution.unattributed else set())


OUTCOMES: set[str] = set()


def test_the_strategy_reaches_units_removes_and_leaves_events_unattributed() -> None:
    """Over a few draws on the sample units every outcome occurs (the strategy is not all one kind)."""
    _draw_outcomes()
    assert OUTCOMES == {"charged", "removed", "unattributed"}


# ------------------------------------------------------------------ each law catches a wrong attribution
def _rebuilt(attribution: Attribution, keep: Any) -> Attribution:
    """``attribution`` with each unit's charged events filtered by ``keep(unit, index)`` (items alike)."""
    items: dict[str, dict[str, tuple[Any, ...]]] = {}
    charged: dict[str, tuple[Any, ...]] = {}
    for unit, events in attribution.charged.items():
        kept = [i for i in range(len(events)) if keep(unit, i)]
        charged[unit] = tuple(events[i] for i in kept)
        facts = attribution.items.get(unit, {})
        items[unit] = {fact: tuple(v for i, v in enumerate(values) if i in kept) for fact, values in facts.items()}
    return attrs.evolve(attribution, items=items, charged=charged)


def test_law_1_catches_an_attribution_that_forgets_its_exclusions() -> None:
    def forgetful(units: Any, given_ledgers: Any) -> Attribution:
        real = POLICY.attribute(units, given_ledgers)
        # the excluded road accident of 武警 (A-3, 新市区) charged to 新市区 anyway
        [removed] = [r for r in real.removed if r.event.key == "A-3"]

        validated = lf.load_validated(POLICY, lf.ledger()[2])
        charged = dict(real.charged)
        charged["XS"] = (*charged.get("XS", ()), ChargedEvent(removed.event, "事故", (RuleRef("属地", None, None),)))
        items = {u: dict(f) for u, f in real.items.items()}
        items.setdefault("XS", {})["事故"] = (*items.get("XS", {}).get("事故", ()), validated)
        return attrs.evolve(real, charged=charged, items=items)

    assert removed_never_charged(POLICY, lf.units(), {LEDGER: lf.ledger()}) == []
    problems = removed_never_charged(POLICY, lf.units(), {LEDGER: lf.ledger()}, forgetful)
    assert problems == ["XS: charged 事故台账[3], which rule 军警车辆 (exclude) removes"]


def test_law_2_catches_an_attribution_that_charges_everyone_the_last_event() -> None:
    def last_to_everyone(units: Any, given_ledgers: Any) -> Attribution:
        real = POLICY.attribute(units, given_ledgers)
        events = given_ledgers[LEDGER]
        if not events:
            return real
        last = lf.load_validated(POLICY, events[-1])
        items = {u["id"]: {"事故": (*real.items.get(u["id"], {}).get("事故", ()), last)} for u in units}
        return attrs.evolve(real, items=items)

    events = [lf.accident("W-1", "工矿商贸", "天山区", 3), lf.accident("W-2", "工矿商贸", "天山区", 0)]
    assert removing_an_event_never_lowers_a_score(POLICY, lf.units(), {LEDGER: events}, LEDGER, 2) == []
    problems = removing_an_event_never_lowers_a_score(POLICY, lf.units(), {LEDGER: events}, LEDGER, 2,
                                                      last_to_everyone)
    assert "SY: 98 with 事故台账[2], 83 without it" in problems  # W-1 (3 deaths) charged to all once W-2 is gone


def test_law_3_catches_an_attribution_that_charges_only_the_first_matching_unit() -> None:
    def first_only(units: Any, given_ledgers: Any) -> Attribution:
        real = POLICY.attribute(units, given_ledgers)
        order = [u["id"] for u in units]
        taken: set[tuple[str, int]] = set()
        keep: dict[tuple[str, int], bool] = {}
        for unit in order:
            for index, c in enumerate(real.charged.get(unit, ())):
                key = (c.event.ledger, c.event.row)
                keep[(unit, index)] = key not in taken
                taken.add(key)
        return _rebuilt(real, lambda unit, index: keep[(unit, index)])

    units = [*lf.units(), {"id": "JT2", "category": "部门", "facts": {"主管行业": ["道路交通"]}}]
    identity = list(range(len(units)))
    reverse = identity[::-1]
    events = {LEDGER: lf.ledger()}
    order = {LEDGER: list(range(len(lf.ledger())))}
    assert attribution_order_independent(POLICY, units, events, reverse, order) == []
    assert attribution_order_independent(POLICY, units, events, identity, order, first_only) == []
    problems = attribution_order_independent(POLICY, units, events, reverse, order, first_only)
    assert problems and problems[0].startswith("charged:")


def test_the_laws_refuse_an_unknown_ledger() -> None:
    with pytest.raises(ValueError, match="no ledger"):
        ledgers(POLICY, "台账", [])
