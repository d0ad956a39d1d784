"""Hypothesis strategies for shared event ledgers, and the laws every attribution must obey (issue #16, L5).

Strategies, derived from what the policy declares:

* :func:`ledgers` — the events of one ledger for a given batch of units: each field drawn
  from its declared type (:mod:`kaohe_rules.testing.strategies`), and, more often than
  chance would, from the join values of the batch's own units (the 辖区 a district has, the
  sectors a department supervises, a unit's id), so that events reach some units, while
  others are excluded or handed over by the rules, or match nobody.  With a ``key``
  field, keys are unique (a repeated key is a problem, tested on its own);
* :func:`ledger_batches` — units of every category (unique ids, the ledger-fed facts left
  to the ledger) with such a ledger: ``(units, {ledger name: events})``.

The laws (each returns the violations found, empty when it holds); ``attribute`` is the
attribution under test (default ``policy.attribute``), so a test can show each law catching
a wrong one:

* :func:`removed_never_charged` — an event an ``exclude`` / ``hand over`` rule removes (its
  condition holds on the event) reaches no unit; checked against the rules themselves,
  not against what the attribution reports;
* :func:`removing_an_event_never_lowers_a_score` — one event taken out of the ledger, no
  unit's score goes down (for policies where the events only cost points — the Karamay and
  Ürümqi schemes; a policy that rewards an event does not obey it, and need not);
* :func:`attribution_order_independent` — the events and the units in another order give
  every unit the same events, by the same rules, and remove, leave unattributed and
  refuse the same events (and every unit's list stays in ledger order).

Everything shrinks to few units and few events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from ..ledger.assess import LedgerBound
from ..runtime.ledger import UNIT_ID, UNIT_NAME, Attribution, LedgerSpec
from .domains import Domain
from .strategies import domains, units, value_strategy

if TYPE_CHECKING:
    from ..ledger.engine import LedgerInput
    from ..policy import Policy

__all__ = ["Attribute", "attribution_order_independent", "ledger_batches", "ledgers", "removed_never_charged",
           "removing_an_event_never_lowers_a_score"]

#: An attribution under test: ``(units, ledgers) -> Attribution`` (``policy.attribute`` by default).
Attribute = Callable[[Sequence[Mapping[str, object]], "LedgerInput"], Attribution]


def _spec(policy: Policy, ledger: str) -> LedgerSpec:
    for spec in policy.ledgers:
        if spec.name == ledger:
            return spec
    known = ", ".join(s.name for s in policy.ledgers) or "none"
    raise ValueError(f"policy {policy.name} has no ledger {ledger!r}; it declares {known}")


def _record_domain(policy: Policy, spec: LedgerSpec) -> Domain:
    """The domain of one event: the record's fields as a list item of the ledger-fed fact holds them."""
    all_domains = domains(policy)
    if spec.fact is not None and spec.fact in policy.checked.facts:
        elem = all_domains.fact(spec.fact).elem
        if elem is not None and elem.record == spec.record:
            return elem
    raise ValueError(f"ledger {spec.name}: no list fact of {spec.record} records to draw its events from")


def _fits(domain: Domain, value: object) -> bool:
    """Whether a unit's join value is also a value this event field may hold (else it is not offered)."""
    kind = domain.kind
    if kind == "enum":
        return isinstance(value, str) and value in domain.members
    if kind == "text":
        return isinstance(value, str)
    if kind == "int" and domain.number is not None:
        return isinstance(value, int) and not isinstance(value, bool) and domain.number.low <= value <= domain.number.high
    return False


def _join_pools(spec: LedgerSpec, record: Domain, batch: Sequence[Mapping[str, Any]]) -> dict[str, list[object]]:
    """Per event field a join expression reads: the values the batch's units join on (raw, as units give them)."""
    fields = dict(record.fields)
    pools: dict[str, list[object]] = {}
    for rule in spec.rules:
        for term in rule.joins:
            values: list[object] = []
            for unit in batch:
                if term.unit_fact == UNIT_ID:
                    values.append(unit.get("id"))
                elif term.unit_fact == UNIT_NAME:
                    values.append(unit.get("name"))
                else:
                    facts = unit.get("facts")
                    value = facts.get(term.unit_fact) if isinstance(facts, Mapping) else None
                    values.extend(value if isinstance(value, list) else [value])
            for field in term.reads:
                domain = fields.get(field)
                if domain is None:
                    continue
                pool = pools.setdefault(field, [])
                pool.extend(v for v in values if v is not None and _fits(domain, v) and v not in pool)
    return pools


def ledgers(policy: Policy, ledger: str, batch: Sequence[Mapping[str, Any]], *, max_events: int = 8,
            ) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Events of ``ledger`` for the units ``batch``: valid records, many joining some unit of the batch."""
    spec = _spec(policy, ledger)
    record = _record_domain(policy, spec)
    pools = _join_pools(spec, record, batch)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, domain in record.fields:
        values = value_strategy(domain)
        pool = pools.get(name)
        if pool:  # mostly a value some unit joins on (events that reach units), else one no unit has
            outside = [m for m in domain.members if m not in pool]
            values = st.one_of(st.sampled_from(pool), st.sampled_from(pool),
                               st.sampled_from(outside) if outside else values, values)
        (optional if domain.may_be_absent else required)[name] = values
    events = st.lists(st.fixed_dictionaries(required, optional=optional), max_size=max_events)
    key = spec.key_field
    if key is None:
        return events
    key_domain = dict(record.fields).get(key)

    def unique_keys(drawn: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, event in enumerate(drawn):
            if key_domain is not None and key_domain.kind == "text":
                event[key] = f"E{index + 1}"
            elif key_domain is not None and key_domain.kind == "int":
                event[key] = index + 1
        return drawn

    return events.map(unique_keys)


@st.composite
def ledger_batches(draw: st.DrawFn, policy: Policy, ledger: str, *, max_units: int = 6,
                   max_events: int = 8) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Units of every category (ids u0, u1, …; the ledger-fed facts left to the ledger) and a ledger for them."""
    spec = _spec(policy, ledger)
    drawn = draw(st.lists(units(policy), max_size=max_units))
    batch: list[dict[str, Any]] = []
    for index, unit in enumerate(drawn):
        facts = dict(unit["facts"])
        facts.pop(spec.fact or "", None)
        batch.append({**unit, "id": f"u{index}", "facts": facts})
    events = draw(ledgers(policy, ledger, batch, max_events=max_events))
    return batch, {ledger: events}


# ------------------------------------------------------------------ laws
def _attribute(policy: Policy, attribute: Attribute | None) -> Attribute:
    return attribute if attribute is not None else policy.attribute


def removed_never_charged(policy: Policy, batch: Sequence[Mapping[str, object]], given: LedgerInput,
                          attribute: Attribute | None = None) -> list[str]:
    """No unit is charged an event that an ``exclude`` or ``hand over`` rule of its ledger removes.

    Judged by the rules themselves on each charged item (the validated event), not by what the
    attribution says it removed, so an attribution that forgets its exclusions is caught.
    """
    attribution = _attribute(policy, attribute)(batch, given)
    problems: list[str] = []
    specs = {spec.name: spec for spec in policy.ledgers}
    for unit_id, charged in attribution.charged.items():
        by_fact: dict[str, int] = {}
        for c in charged:
            position = by_fact.get(c.fact, 0)
            by_fact[c.fact] = position + 1
            items = attribution.items.get(unit_id, {}).get(c.fact, ())
            spec = specs.get(c.event.ledger)
            if spec is None or position >= len(items):
                problems.append(f"{unit_id}: charged {c.event.ledger}[{c.event.row}] without its item")
                continue
            item = items[position]
            for rule in spec.rules:
                if rule.kind in ("exclude", "hand_over") and (rule.when is None or _holds(rule.when, item)):
                    problems.append(f"{unit_id}: charged {c.event.ledger}[{c.event.row}], which rule {rule.name} "
                                    f"({rule.kind}) removes")
                    break
    return problems


def _holds(when: Callable[[Any], bool], item: Any) -> bool:
    try:
        return bool(when(item))
    except Exception:  # noqa: BLE001 - a rule that cannot be evaluated on the item removes nothing here
        return False


def _scores(policy: Policy, batch: Sequence[Mapping[str, object]], given: LedgerInput,
            attribute: Attribute) -> dict[str, Any]:
    bound = LedgerBound(policy, attribute(batch, given))
    out: dict[str, Any] = {}
    for index, unit in enumerate(batch):
        item = bound.assess_row(index, unit)
        out[str(unit.get("id"))] = item.result.score if item.result is not None else None
    return out


def removing_an_event_never_lowers_a_score(policy: Policy, batch: Sequence[Mapping[str, object]], given: LedgerInput,
                                           ledger: str, row: int, attribute: Attribute | None = None) -> list[str]:
    """Event ``row`` (1-based; any number, taken modulo the ledger's length) taken out of ``ledger``: no unit
    assessed both times scores less without it, and no unit assessed with it fails without it.

    For policies where every charged event only costs points (the law takes the policy: it is
    the caller who knows).  A policy with a cohort block is assessed unit by unit here.
    """
    events = list(given.get(ledger, ()))
    if not events:
        return []
    drop = (row - 1) % len(events)
    fewer = {**given, ledger: events[:drop] + events[drop + 1:]}
    attribute = _attribute(policy, attribute)
    before = _scores(policy, batch, given, attribute)
    after = _scores(policy, batch, fewer, attribute)
    problems = []
    for unit_id, score in before.items():
        now = after.get(unit_id)
        if score is not None and now is None:
            problems.append(f"{unit_id}: assessed with {ledger}[{drop + 1}], not without it")
        elif score is not None and now is not None and now < score:
            problems.append(f"{unit_id}: {score} with {ledger}[{drop + 1}], {now} without it")
    return problems


def _canonical(attribution: Attribution, rows: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """What an attribution decided, each event named by its ORIGINAL row (``rows[ledger][new row - 1]``)."""
    def original(ledger: str, row: int) -> int:
        order = rows.get(ledger)
        return order[row - 1] + 1 if order is not None and 0 < row <= len(order) else row

    return {
        "charged": {unit: sorted((c.event.ledger, original(c.event.ledger, c.event.row), c.fact,
                                  tuple(sorted(r.name for r in c.rules))) for c in charged)
                    for unit, charged in attribution.charged.items() if charged},
        "removed": sorted((r.event.ledger, original(r.event.ledger, r.event.row), r.kind, r.rule.name)
                          for r in attribution.removed),
        "unattributed": sorted((u.event.ledger, original(u.event.ledger, u.event.row), u.why)
                               for u in attribution.unattributed),
        "problems": sorted({(p.ledger, original(p.ledger, p.row), p.field or "", p.attributable)
                            for p in attribution.problems}),
        "unit_errors": sorted(attribution.unit_errors),
    }


def _in_ledger_order(attribution: Attribution) -> list[str]:
    problems = []
    for unit, charged in attribution.charged.items():
        seen: dict[tuple[str, str], int] = {}
        for c in charged:
            last = seen.get((c.fact, c.event.ledger), 0)
            if c.event.row <= last:
                problems.append(f"{unit}: {c.event.ledger}[{c.event.row}] after row {last} (not in ledger order)")
            seen[(c.fact, c.event.ledger)] = c.event.row
    return problems


def attribution_order_independent(policy: Policy, batch: Sequence[Mapping[str, object]], given: LedgerInput,
                                  unit_order: Sequence[int], event_orders: Mapping[str, Sequence[int]],
                                  attribute: Attribute | None = None) -> list[str]:
    """The units in ``unit_order`` and each ledger's events in ``event_orders[ledger]`` (permutations of their
    positions) give the same attribution as the input order, event by event; each unit's list in ledger order."""
    attribute = _attribute(policy, attribute)
    before = attribute(batch, given)
    moved_units = [batch[i] for i in unit_order]
    moved = {name: [list(events)[i] for i in event_orders.get(name, range(len(events)))]
             for name, events in given.items()}
    after = attribute(moved_units, moved)
    identity = {name: list(range(len(events))) for name, events in given.items()}
    orders = {name: list(event_orders.get(name, identity[name])) for name in given}
    problems = _in_ledger_order(before) + _in_ledger_order(after)
    a, b = _canonical(before, identity), _canonical(after, orders)
    for part in a:
        if a[part] != b[part]:
            problems.append(f"{part}: {a[part]} in input order, {b[part]} reordered")
    return problems

