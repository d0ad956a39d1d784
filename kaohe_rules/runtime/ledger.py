"""Shared event ledgers: the data the attribution stage passes between its steps (issue #16).

A ledger is a list of events (accidents, 预扣分, supervised items) supplied once per batch,
beside the units.  The policy's attribution rules decide, for each event, whether it is
excluded, handed over to another authority, or charged to units (possibly several: 属地
and 行业).  A unit fact declared ``from LEDGER`` is then, for each unit, the list of
events charged to it, and the unit is assessed exactly as if it had supplied that list.

The split between the steps:

1. the compiler turns a ``ledger`` declaration into a :class:`LedgerSpec` whose rules
   carry compiled predicates over one validated event (a record ``dict``) — no policy
   text is read after checking;
2. the attribution engine (batch layer) validates the events, reads each unit's join
   facts, and produces an :class:`Attribution`;
3. each unit is assessed with its charged events; its result carries its
   :class:`ChargedEvent` records (what was charged, by which rule, citing which clause).

Attribution to a unit depends only on the event and that unit's own join facts, so a
bad unit affects only itself and the result does not depend on input order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import attrs

from ..errors import FactProblem

Event = Mapping[str, object]  # a validated event: the record's fields and record lets, as a list item holds them

UNIT_ID = ":id"  # JoinTerm.unit_fact for ``unit.id``
UNIT_NAME = ":name"  # JoinTerm.unit_fact for ``unit.name``


@attrs.frozen
class JoinTerm:
    """One term of a charge rule's ``where``: ``unit.F == E`` (``eq``) or ``E in unit.F`` (``in``)."""

    unit_fact: str  # a unit fact's name, or UNIT_ID / UNIT_NAME
    mode: Literal["eq", "in"]
    key: Callable[[Event], object]  # the event expression E, compiled
    reads: tuple[str, ...] = ()  # the event fields E reads


@attrs.frozen
class LedgerRule:
    """One attribution rule of a ledger, compiled."""

    kind: Literal["exclude", "hand_over", "charge"]
    name: str
    label: str | None
    cite: str | None
    when: Callable[[Event], bool] | None  # None: the rule applies to every event
    reason: str | None = None  # exclude: ``because`` text, else the label
    to: str | None = None  # hand_over: the authority the event goes to
    categories: tuple[str, ...] = ()  # charge: the categories whose units may be charged
    joins: tuple[JoinTerm, ...] = ()  # charge: every term must hold for a unit to be charged
    reads: tuple[str, ...] = ()  # event fields read by ``when`` and the join expressions

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "label": self.label, "citation": self.cite,
                "reason": self.reason, "to": self.to, "categories": list(self.categories)}


@attrs.frozen
class LedgerSpec:
    """What the attribution engine needs of a ``ledger`` declaration; built from the checked policy."""

    name: str
    label: str | None
    cite: str | None
    record: str  # the record type of its events
    fact: str | None  # the unit fact declared ``from`` this ledger (None: no fact reads it, a warning)
    key_field: str | None  # the ``key`` field naming each event, if declared
    shown: tuple[tuple[str, str | None], ...]  # ``shown as``: (literal text, field or None) pairs; () = default
    rules: tuple[LedgerRule, ...]  # in declaration order
    unit_facts: tuple[str, ...]  # every unit fact a join term reads (what the engine reads of each unit)
    source: str | None = None


@attrs.frozen
class RuleRef:
    """A rule named in a result: enough to cite it without the policy at hand."""

    name: str
    label: str | None
    cite: str | None

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "citation": self.cite}


@attrs.frozen
class EventRef:
    """An event of a ledger, as results and reports name it."""

    ledger: str
    row: int  # 1-based position in the ledger as supplied
    key: str | None  # the ``key`` field's value, shown as text
    shown: str  # the ``shown as`` text (or the default rendering)

    def to_dict(self) -> dict[str, object]:
        return {"ledger": self.ledger, "row": self.row, "key": self.key, "shown": self.shown}


@attrs.frozen
class ChargedEvent:
    """An event charged to one unit, and every rule that charged it there."""

    event: EventRef
    fact: str  # the unit fact the event is an item of
    rules: tuple[RuleRef, ...]

    def to_dict(self) -> dict[str, object]:
        return {**self.event.to_dict(), "fact": self.fact, "rules": [r.to_dict() for r in self.rules]}


@attrs.frozen
class RemovedEvent:
    """An event an ``exclude`` or ``hand over`` rule took out before any unit saw it."""

    event: EventRef
    kind: Literal["excluded", "handed_over"]
    rule: RuleRef
    reason: str | None  # exclude: why
    to: str | None  # hand over: to whom

    def to_dict(self) -> dict[str, object]:
        return {**self.event.to_dict(), "kind": self.kind, "rule": self.rule.to_dict(),
                "reason": self.reason, "to": self.to}


@attrs.frozen
class UnattributedEvent:
    """An event no rule removed and no unit of the batch was charged: reported, never lost."""

    event: EventRef
    why: str  # zh, e.g. "没有适用的归属规则" / "按属地规则应计入 辖区=白碱滩区 的单位，但本批没有该单位"
    why_en: str
    rules: tuple[RuleRef, ...] = ()  # charge rules whose condition held but matched no unit

    def to_dict(self) -> dict[str, object]:
        return {**self.event.to_dict(), "why": self.why, "why_en": self.why_en,
                "rules": [r.to_dict() for r in self.rules]}


@attrs.frozen
class LedgerProblem:
    """A bad event: the ledger, its row (and key), the field, what is wrong."""

    ledger: str
    row: int
    key: str | None
    field: str | None  # the field's path within the event, None for the whole event
    message: str
    expected: str | None = None
    hint: str | None = None
    attributable: bool = True  # False: a field the rules read is bad, so nobody knows whose event it is

    def to_dict(self) -> dict[str, object]:
        return {"ledger": self.ledger, "row": self.row, "key": self.key, "field": self.field,
                "message": self.message, "expected": self.expected, "hint": self.hint,
                "attributable": self.attributable}


@attrs.frozen
class Attribution:
    """Everything the attribution stage decided for one batch."""

    items: Mapping[str, Mapping[str, tuple[Event, ...]]]  # unit id -> fact -> the events charged, ledger order
    charged: Mapping[str, tuple[ChargedEvent, ...]]  # unit id -> the charged events with their rules
    removed: tuple[RemovedEvent, ...]
    unattributed: tuple[UnattributedEvent, ...]
    problems: tuple[LedgerProblem, ...]
    unit_errors: Mapping[str, tuple[str, ...]]  # unit id -> why the ledger makes it impossible to assess
    #: unit id -> the same, as the problems of the unit's error row (a FactError's): each names the unit,
    #: and in ``fact`` the ledger row and field (``事故台账[3].死亡人数``) or the unit's own join fact
    unit_problems: Mapping[str, tuple[FactProblem, ...]] = attrs.field(factory=dict)
    #: the ledgers supplied (by name), so a unit assessed with this attribution knows which facts it feeds
    supplied: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"charged": {u: [c.to_dict() for c in cs] for u, cs in self.charged.items()},
                "removed": [r.to_dict() for r in self.removed],
                "unattributed": [u.to_dict() for u in self.unattributed],
                "problems": [p.to_dict() for p in self.problems],
                "unit_errors": {u: list(e) for u, e in self.unit_errors.items()}}

    def charged_to(self, unit_id: str) -> tuple[ChargedEvent, ...]:
        """The events charged to ``unit_id`` (``()`` for a unit charged nothing)."""
        return tuple(self.charged.get(unit_id, ()))

    def items_of(self, unit_id: str, fact: str) -> list[Event]:
        """The events charged to ``unit_id`` as the items of its list ``fact``, in ledger order (a new list)."""
        return list(self.items.get(unit_id, {}).get(fact, ()))
