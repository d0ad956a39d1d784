"""The compiled program a :class:`~kaohe_rules.runtime.result.Result` belongs to.

A result decodes its raw tuple lazily, and for that it needs the checked model (labels,
citations, plans), the compiled module (section order, the traced twin for a trace on
demand), the rating names and the display rules for values.  It used to hold the
whole :class:`~kaohe_rules.policy.Policy` for these, which made every runtime module
point back up at the facade.  ``Program`` is exactly that much and no more: runtime
modules, batch, reports and audit take a ``Program``; only ``policy`` builds one.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..language.model import CategoryPlan, CheckedPolicy
from ..language.types import Type
from ..numeric import ENGINE_CONTEXT
from .ledger import LedgerSpec

if TYPE_CHECKING:
    from .evaluator import CompiledModule

#: A raw trace event as the traced evaluator appends it (first element: an ``abi`` tag).
RawEvent = tuple[Any, ...]


class Program:
    """A checked policy with its compiled module: what results, traces and reports read."""

    __slots__ = ("checked", "module", "plans", "rating_names", "_shown_fields_cache", "templates", "_record_names",
                 "_value_types", "_shown_by_shape")

    def __init__(self, checked: CheckedPolicy, module: CompiledModule) -> None:
        self.checked = checked
        self.module = module
        self.plans: Mapping[str, CategoryPlan] = checked.plans
        #: rating names by the index the evaluator returns (Result.rating reads it per unit)
        self.rating_names: tuple[str, ...] = tuple(r.name for r in checked.ratings.ratings)
        self._shown_fields_cache: dict[str, dict[str, Type]] = {}
        #: per category, the static parts of its results (runtime.templates, built on first use; issue #13)
        self.templates: dict[str, Any] = {}
        #: a record's field names → the record type they belong to (display_record's lookup, once per shape)
        self._record_names: dict[tuple[str, ...], str | None] = {}
        #: a value's name → (its type or None, whether it is a per-period fact, whether display changes it)
        self._value_types: dict[str, tuple[Type | None, bool, bool]] = {}
        #: a record's key shape → the fields of its record type people read differently (display_record)
        self._shown_by_shape: dict[tuple[str, ...], dict[str, Type]] = {}

    # ------------------------------------------------------------ metadata
    @property
    def name(self) -> str:
        return self.checked.header.name

    @property
    def label(self) -> str | None:
        return self.checked.header.label

    @property
    def content_hash(self) -> str:
        return self.checked.content_hash

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.checked.categories)

    @property
    def ledgers(self) -> tuple[LedgerSpec, ...]:
        """The policy's ledgers with their compiled attribution rules (issue #16); () without ledgers."""
        return self.module.ledgers

    def ledger_of_fact(self, fact: str) -> LedgerSpec | None:
        """The ledger a unit fact is declared ``from``, if any."""
        for spec in self.module.ledgers:
            if spec.fact == fact:
                return spec
        return None

    def facts_for(self, category: str) -> tuple[str, ...]:
        return self.plans[category].facts

    def section_order(self, category: str) -> tuple[tuple[str, ...], ...]:
        """The section paths of ``category`` in the order the raw result lists their scores."""
        return self.module.section_order[category]

    def __repr__(self) -> str:
        return f"<Program {self.name} {self.content_hash[:12]}>"

    # ------------------------------------------------------------- tracing
    def run_traced(self, category: str, facts: dict[str, object], events: list[RawEvent],
                   standing: object = None) -> None:
        """The traced evaluator under the engine's context, recording into ``events`` as it goes.

        ``standing``: a cohort policy's unit standing (issue #11 C), None for none.
        """
        with decimal.localcontext(ENGINE_CONTEXT):
            if standing is None:
                self.module.traced[category](facts, events)
            else:
                self.module.traced[category](facts, events, standing)  # type: ignore[call-arg]

    def traced_events(self, category: str, facts: dict[str, object], standing: object = None) -> list[RawEvent]:
        """The trace events of evaluating ``facts`` again, traced (results computed without a trace)."""
        events: list[RawEvent] = []
        self.run_traced(category, facts, events, standing)
        return events

    # ------------------------------------------------------------- display
    def display_value(self, name: str, value: object) -> object:
        """A fact/let/param value as people read it: enum members by name, records with names."""
        known = self._value_types.get(name)
        if known is None:
            known = self._value_type(name)
        t, per_period, shown = known
        if not shown:  # no type, or a kind people read as it is (numbers, text, dates, booleans)
            return value
        if per_period and isinstance(value, tuple):
            periods = self.checked.periods
            assert periods is not None and t is not None
            # issue #11 P: a per-period fact, keyed by period as a unit gives it
            return {item.name: self._display(t, v) for item, v in zip(periods.items, value)}
        assert t is not None
        return self._display(t, value)

    def display_changes(self, name: str) -> bool:
        """Whether :meth:`display_value` may show a value of ``name`` otherwise than it is (enums, lists,
        per-period facts): a renderer may print any other value as it is."""
        known = self._value_types.get(name)
        return (known if known is not None else self._value_type(name))[2]

    def _value_type(self, name: str) -> tuple[Type | None, bool, bool]:
        """What :meth:`display_value` needs of a name, found once (bounded: names come from the policy)."""
        checked = self.checked
        t = checked.fact_types.get(name) or checked.let_types.get(name) or checked.param_types.get(name)
        if t is None:
            alias = next((d for d in checked.defers if d.alias == name), None)
            while alias is not None and t is None:  # issue #16: a chain of defers ends at a fact or a let
                t = checked.fact_types.get(alias.source_list) or checked.let_types.get(alias.source_list)
                alias = next((d for d in checked.defers if d.alias == alias.source_list), None)
        per_period = checked.periods is not None and name in checked.facts and checked.facts[name].per_period
        shown = t is not None and (per_period or t.kind in ("enum", "list"))
        known = (t, per_period, shown)
        if len(self._value_types) < 4096:
            self._value_types[name] = known
        return known

    def _display(self, t: Type, value: object) -> object:
        if value is None:
            return None
        if t.kind == "enum" and isinstance(value, int):
            assert t.name is not None
            members = self.checked.enums[t.name].members
            return members[value].name if 0 <= value < len(members) else value
        if t.kind == "list" and isinstance(value, (list, tuple)):
            if t.elem is not None and t.elem.kind == "record":
                assert t.elem.name is not None
                shown_fields = self._shown_fields(t.elem.name)
                return [self._display_fields(v, shown_fields) if isinstance(v, dict) else self.display_record(v)
                        for v in value]
            elem = t.elem
            return [self._display(elem, v) if elem is not None else v for v in value]
        return value

    def _shown_fields(self, rname: str) -> dict[str, Type]:
        """The fields of record ``rname`` whose values people read differently (enums, lists), with types."""
        fields = self._shown_fields_cache.get(rname)
        if fields is None:
            fields = self._shown_fields_cache[rname] = {
                name: t for name, t in self.checked.record_fields.get(rname, {}).items() if t.kind in ("enum", "list")}
        return fields

    def _display_fields(self, record: dict[str, object], shown_fields: dict[str, Type]) -> dict[str, object]:
        """A record of a known type as people read it (linear in its fields; one call per record)."""
        if not shown_fields:
            return dict(record)
        return {key: self._display(shown_fields[key], value) if key in shown_fields else value
                for key, value in record.items()}

    def display_record(self, record: object) -> dict[str, object]:
        """A record (an item of a list fact) as people read it: field values by their types."""
        if record.__class__ is dict:  # the records the engine read: their shape's shown fields, found once
            shown = self._shown_by_shape.get(tuple(record))
            if shown is not None:
                return self._display_fields(record, shown)
        if not isinstance(record, Mapping):
            return {"value": record}
        fields = self.checked.record_fields.get(self._record_name_of(record) or "", {})
        if record.__class__ is dict and len(self._shown_by_shape) < 4096:  # bounded: a hostile batch has many shapes
            # what the loop below does for a key: _display of its type, which changes enums and lists only
            self._shown_by_shape[tuple(record)] = {key: t for key, t in fields.items()
                                                   if key in record and t.kind in ("enum", "list")}
        out: dict[str, object] = {}
        for key, value in record.items():
            t = fields.get(key)
            out[key] = self._display(t, value) if t is not None else value
        return out

    def _record_name_of(self, record: Mapping[str, object]) -> str | None:
        """The record type whose fields hold every key of ``record`` (the first declared), once per key shape."""
        shape = tuple(record)
        known = self._record_names
        if shape in known:
            return known[shape]
        name = self._record_name_of_keys(shape)
        if len(known) < 4096:  # bounded: a batch has a few shapes, a hostile one many
            known[shape] = name
        return name

    def _record_name_of_keys(self, shape: tuple[str, ...]) -> str | None:
        keys = set(shape)
        for rname, fields in self.checked.record_fields.items():
            if keys <= set(fields):
                return rname
        return None
