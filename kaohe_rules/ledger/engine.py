"""The attribution engine (issue #16, L2): a batch's ledgers and units → an :class:`Attribution`.

For each ledger the policy declares and the batch supplies, in ledger order, every event is

1. validated as a record of the ledger's type (the same rules as an item of a unit's list:
   :meth:`~kaohe_rules.runtime.facts.FactCoercer.read_record`), numbered from 1 (its row);
2. removed by the FIRST ``exclude`` / ``hand over`` rule whose condition holds (later rules
   are not consulted), or else
3. charged, by every ``charge`` rule whose condition holds, to every unit of the rule's
   categories whose join terms all hold; a unit charged by two rules gets the event once,
   with both rules.  The join terms are looked up in hash indexes built once per rule
   (``unit.F == E``: the unit's value of F → units; ``E in unit.F``: each element of the
   unit's list F → units), so a batch costs one pass over its units and one over its
   events, not their product.  ``None`` never matches.
4. An event no rule removed and no unit was charged is *unattributed*, with why (no rule
   applied; or a rule applied and named the join values no unit of the batch has).

Attribution to a unit depends only on the event and that unit's own join facts: a bad
unit affects only itself, the outcome does not depend on the order of events or units,
and removing an event can only remove items from lists (the laws of
:mod:`kaohe_rules.testing.ledgers`).

Bad data is never lost and never silently wrong:

* a bad event (a missing, wrong or unknown field, a value out of range) is a
  :class:`LedgerProblem` naming the ledger, the row (and key) and the field.  When every
  field the rules read (``LedgerRule.reads``, ``JoinTerm.reads``) is good, the event is
  still attributed, and every unit it is charged to becomes an error naming the event
  (its list would hold a bad item); other units are fine.  When a field the rules read is
  bad, nobody can tell whose event it is: every unit some charge rule could reach (the
  units of every charge rule's categories) becomes an error naming the event;
* a repeated ``key`` makes every copy a problem, and every unit charged a copy an error;
* a unit whose join facts are bad, or whose id is given twice, is an error itself (its
  charged list cannot be known); the other units are unaffected.

Ledgers are held in memory (a list of events per ledger: they are small beside the units);
the units are read once here (their envelope and join facts only).
"""

from __future__ import annotations

import datetime
import decimal
import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..errors import FactError, FactProblem, UnitInputError
from ..language.model import CheckedPolicy
from ..limits import shown
from ..messages import fact_message_zh
from ..numeric import ENGINE_CONTEXT
from ..runtime.coerce.envelope import canonical_envelope
from ..runtime.facts import FactCoercer
from ..runtime.ledger import (
    UNIT_ID,
    UNIT_NAME,
    Attribution,
    ChargedEvent,
    Event,
    EventRef,
    LedgerProblem,
    LedgerRule,
    LedgerSpec,
    RemovedEvent,
    RuleRef,
    UnattributedEvent,
)
from ..runtime.program import Program

__all__ = ["LedgerInput", "attribute", "check_ledger_names", "ledger_facts", "event_name", "render_shown",
           "rule_ref"]

#: What a batch supplies: raw events per ledger name, as read from the input.
LedgerInput = Mapping[str, Sequence[Mapping[str, object]]]

NO_RULE_ZH = "没有适用的归属规则"
NO_RULE_EN = "no attribution rule applies"


def rule_ref(rule: LedgerRule) -> RuleRef:
    return RuleRef(rule.name, rule.label, rule.cite)


def ledger_facts(program: Program) -> dict[str, tuple[LedgerSpec, ...]]:
    """Per category, the ledgers feeding one of its facts (categories without one are absent)."""
    out: dict[str, tuple[LedgerSpec, ...]] = {}
    for spec in program.ledgers:
        if spec.fact is None:
            continue
        for category, plan in program.plans.items():
            if spec.fact in plan.facts:
                out[category] = (*out.get(category, ()), spec)
    return out


def check_ledger_names(program: Program, ledgers: Mapping[str, object]) -> None:
    """Refuse a ledger name the policy does not declare (did-you-mean), and a ledger that is not a list."""
    if not isinstance(ledgers, Mapping):
        raise UnitInputError(f"ledgers must be a mapping of ledger names to lists of events, not "
                             f"{type(ledgers).__name__}")
    declared = [spec.name for spec in program.ledgers]
    for name, events in ledgers.items():
        if name not in declared:
            match = difflib.get_close_matches(str(name), declared, n=1, cutoff=0.5)
            known = ", ".join(declared) if declared else "none"
            hint = f"; did you mean '{match[0]}'?" if match else ""
            raise UnitInputError(f"unknown ledger {shown(name)}: policy {program.name} declares {known}{hint}")
        if isinstance(events, (str, bytes, Mapping)) or not isinstance(events, Sequence):
            raise UnitInputError(f"ledger {name}: the events must be a list of records, not {type(events).__name__}")


# ------------------------------------------------------------------ display
def _display(checked: CheckedPolicy, t: Any, value: object) -> str:
    """A value as explanations write it: enum labels (else names), dates ISO, Decimals exact, 是/否."""
    if value is None:
        return "—"
    if t is not None and t.kind == "enum" and isinstance(value, int) and not isinstance(value, bool):
        members = checked.enums[t.name].members
        if 0 <= value < len(members):
            return members[value].label or members[value].name
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        elem = getattr(t, "elem", None)
        return "、".join(_display(checked, elem, v) for v in value)
    return str(value)


def render_shown(program: Program, spec: LedgerSpec, event: Mapping[str, object]) -> str:
    """An event as ``shown as`` writes it, else ``字段=值，…`` over the record's declared fields."""
    checked = program.checked
    types = checked.record_fields.get(spec.record, {})
    if spec.shown:
        return "".join(text + (_display(checked, types.get(name), event.get(name)) if name is not None else "")
                       for text, name in spec.shown)
    fields = [f.name for f in checked.records[spec.record].fields] if spec.record in checked.records else list(event)
    return "，".join(f"{name}={_display(checked, types.get(name), event.get(name))}" for name in fields
                    if name in event)


def event_name(ledger: str, row: int, key_field: str | None, key: str | None) -> str:
    """How messages name an event: ``事故台账第3条（编号 A-17）``."""
    return f"{ledger}第{row}条" + (f"（{key_field} {key}）" if key_field and key is not None else "")


# ------------------------------------------------------------------ the engine
@attrs.define
class _Event:
    row: int
    value: dict[str, object]  # the validated record (or its good fields, for a bad event)
    ref: EventRef
    problems: list[LedgerProblem]
    attributable: bool


@attrs.define
class _Unit:
    unit_id: str
    category: str
    values: dict[str, object]  # join facts by name (UNIT_ID, UNIT_NAME too)


class _Batch:
    """One attribution: collects per unit, in ledger order."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, list[Event]]] = {}
        self.charged: dict[str, list[ChargedEvent]] = {}
        self.removed: list[RemovedEvent] = []
        self.unattributed: list[UnattributedEvent] = []
        self.problems: list[LedgerProblem] = []
        self.unit_problems: dict[str, list[FactProblem]] = {}
        self.unit_errors: dict[str, list[str]] = {}

    def unit_error(self, unit_id: str, problem: FactProblem) -> None:
        """``problem`` keeps ``unit_id`` from being assessed; ``unit_errors`` says it in Chinese (the catalogue's)."""
        self.unit_problems.setdefault(unit_id, []).append(problem)
        errors = self.unit_errors.setdefault(unit_id, [])
        text = f"{problem.fact}：{fact_message_zh(problem.message)}"
        if text not in errors:
            errors.append(text)


def attribute(program: Program, units: Iterable[Mapping[str, object]], ledgers: LedgerInput, *,
              coercer: FactCoercer | None = None) -> Attribution:
    """Attribute every event of ``ledgers`` to the ``units`` (L2 of issue #16); never raises for bad data.

    ``units``: unit mappings as ``evaluate_many`` takes them (only their envelope and join facts
    are read here); ``ledgers``: raw events per ledger name.  A ledger name the policy does not
    declare is refused (:class:`UnitInputError`, with did-you-mean).  Ledgers the policy
    declares but the batch does not supply are not attributed (their units keep their own
    lists, or are refused with :class:`~kaohe_rules.errors.LedgerRequired` when assessed).
    """
    check_ledger_names(program, ledgers)
    coercer = coercer or FactCoercer(program.checked, program.module.derive)
    specs = [spec for spec in program.ledgers if spec.name in ledgers]
    batch = _Batch()
    caller = decimal.getcontext()
    decimal.setcontext(ENGINE_CONTEXT.copy())  # derived record fields and rule conditions compute here
    try:
        read = _read_units(program, coercer, units, specs, batch)
        for spec in specs:
            _attribute_ledger(program, coercer, spec, ledgers[spec.name], read, batch)
    finally:
        decimal.setcontext(caller)
    return Attribution(
        items={u: {f: tuple(evs) for f, evs in facts.items()} for u, facts in batch.items.items()},
        charged={u: tuple(c) for u, c in batch.charged.items()},
        removed=tuple(batch.removed),
        unattributed=tuple(batch.unattributed),
        problems=tuple(batch.problems),
        unit_errors={u: tuple(e) for u, e in batch.unit_errors.items()},
        unit_problems={u: tuple(p) for u, p in batch.unit_problems.items()},
        supplied=tuple(spec.name for spec in specs),
    )


def _join_facts(spec: LedgerSpec, category: str, all_categories: Sequence[str]) -> list[str]:
    names: list[str] = []
    for rule in spec.rules:
        if rule.kind != "charge" or category not in (rule.categories or all_categories):
            continue
        for term in rule.joins:
            if term.unit_fact not in (UNIT_ID, UNIT_NAME) and term.unit_fact not in names:
                names.append(term.unit_fact)
    return names


def _read_units(program: Program, coercer: FactCoercer, units: Iterable[Mapping[str, object]],
                specs: Sequence[LedgerSpec], batch: _Batch) -> list[_Unit]:
    """Every unit's envelope and join facts; a unit that cannot be read is left to its assessment (its error
    row), a unit with bad join facts or a repeated id is an error of the attribution."""
    categories = list(program.plans)
    out: list[_Unit] = []
    rows_of: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        try:
            envelope = canonical_envelope(unit, program.plans) or coercer.envelope(unit)
        except Exception:  # noqa: S112 - the unit's own assessment reports its envelope
            continue
        unit_id, name, category, raw = envelope
        rows_of.setdefault(unit_id, []).append(index + 1)
        names = [n for spec in specs for n in _join_facts(spec, category, categories)]
        try:
            values = coercer.read_facts(unit_id, category, raw, list(dict.fromkeys(names))) if names else {}
        except FactError as exc:
            for problem in exc.problems:
                batch.unit_error(unit_id, problem)
            continue
        except Exception:  # noqa: S112 - a hostile unit: its assessment reports it
            continue
        values[UNIT_ID] = unit_id
        values[UNIT_NAME] = name
        out.append(_Unit(unit_id, category, values))
    for unit_id, rows in rows_of.items():
        if len(rows) > 1:
            numbers = "、".join(map(str, rows))
            message = (f"unit id {unit_id} is given twice in one batch with ledgers (rows {numbers}); "
                       "the events charged to it cannot be told apart")
            batch.unit_error(unit_id, FactProblem(unit_id, "id", message))
    return out


def _key_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _validate(program: Program, coercer: FactCoercer, spec: LedgerSpec, events: Sequence[Mapping[str, object]],
              reads: frozenset[str]) -> list[_Event]:
    out: list[_Event] = []
    checked = program.checked
    key_type = checked.record_fields.get(spec.record, {}).get(spec.key_field or "")
    for position, raw in enumerate(events):
        row = position + 1
        try:
            record, fields, fact_problems = coercer.read_record(raw, spec.record)
        except (ArithmeticError, decimal.DecimalException) as exc:  # a derived field (record let) failed
            record, fields = None, {}
            fact_problems = (FactProblem("", "", f"a derived field could not be computed ({type(exc).__name__})"),)
        except Exception as exc:  # a hostile mapping: the event is bad, the batch goes on
            record, fields = None, {}
            fact_problems = (FactProblem("", "", f"the event could not be read ({type(exc).__name__})"),)
        value = record if record is not None else dict(fields)
        key_value = value.get(spec.key_field) if spec.key_field else None
        key = None
        if key_value is not None:
            key = _display(checked, key_type, key_value) if key_type is not None and key_type.kind == "enum" \
                else _key_text(key_value)
        attributable = record is not None or (bool(fields) and reads <= fields.keys())
        try:
            shown_text = render_shown(program, spec, value)
        except Exception:  # noqa: BLE001 - a field shown cannot be displayed: the row names the event
            shown_text = event_name(spec.name, row, spec.key_field, key)
        ref = EventRef(spec.name, row, key, shown_text)
        problems = [LedgerProblem(spec.name, row, key, p.fact or None, p.message, p.expected, p.hint, attributable)
                    for p in fact_problems]
        out.append(_Event(row, value, ref, problems, attributable))
    if spec.key_field:
        by_key: dict[str, list[_Event]] = {}
        for event in out:
            if event.ref.key is not None:
                by_key.setdefault(event.ref.key, []).append(event)
        for key, copies in by_key.items():
            if len(copies) > 1:
                rows = "、".join(str(e.row) for e in copies)
                for event in copies:
                    event.problems.append(LedgerProblem(
                        spec.name, event.row, key, spec.key_field,
                        f"the key {spec.key_field} {key} is given {len(copies)} times (rows {rows}); each event once",
                        f"a {spec.key_field} of its own for every event", None, True))
    return out


def _index(spec: LedgerSpec, units: Sequence[_Unit], categories: Sequence[str]) -> dict[int, Any]:
    """Per charge rule (by position): its units, and one hash index per join term."""
    out: dict[int, Any] = {}
    for position, rule in enumerate(spec.rules):
        if rule.kind != "charge":
            continue
        reach = set(rule.categories or categories)
        members = [u for u in units if u.category in reach]
        indexes: list[dict[object, list[_Unit]]] = []
        for term in rule.joins:
            index: dict[object, list[_Unit]] = {}
            for unit in members:
                value = unit.values.get(term.unit_fact)
                if value is None:
                    continue
                if term.mode == "in":
                    elems = value if isinstance(value, (list, tuple)) else ()
                    for elem in dict.fromkeys(e for e in elems if e is not None):
                        index.setdefault(elem, []).append(unit)
                else:
                    index.setdefault(value, []).append(unit)
            indexes.append(index)
        out[position] = (members, indexes)
    return out


def _attribute_ledger(program: Program, coercer: FactCoercer, spec: LedgerSpec,
                      events: Sequence[Mapping[str, object]], units: Sequence[_Unit], batch: _Batch) -> None:
    categories = list(program.plans)
    reads = frozenset(r for rule in spec.rules for r in (*rule.reads, *(x for t in rule.joins for x in t.reads)))
    indexes = _index(spec, units, categories)
    reachable = sorted({u.unit_id for position in indexes for u in indexes[position][0]})
    fact = spec.fact or spec.name
    checked = program.checked
    rule_refs: dict[tuple[int, ...], tuple[RuleRef, ...]] = {}  # one tuple per combination of rules, shared
    for event in _validate(program, coercer, spec, events, reads):
        batch.problems.extend(event.problems)
        name = event_name(spec.name, event.row, spec.key_field, event.ref.key)
        if not event.attributable:
            bad = ", ".join(sorted({p.field or "(event)" for p in event.problems}))
            _charge_nobody_knows(batch, reachable, f"{spec.name}[{event.row}]", name,
                                 f"a field the attribution rules read is bad ({bad})")
            continue
        value = event.value
        try:
            removed = _removal(spec, value)
            charged, held = ({}, []) if removed is not None else _charges(spec, value, indexes)
        except Exception as exc:  # a rule's condition failed on this event (a division by zero…)
            problem = LedgerProblem(spec.name, event.row, event.ref.key, None,
                                    f"an attribution rule could not be evaluated on this event ({type(exc).__name__})",
                                    None, None, False)
            batch.problems.append(problem)
            _charge_nobody_knows(batch, reachable, f"{spec.name}[{event.row}]", name,
                                 f"an attribution rule could not be evaluated on it ({type(exc).__name__})")
            continue
        if removed is not None:
            rule = removed
            kind = "excluded" if rule.kind == "exclude" else "handed_over"
            batch.removed.append(RemovedEvent(event.ref, kind, rule_ref(rule),  # type: ignore[arg-type]
                                              (rule.reason or rule.label) if kind == "excluded" else None,
                                              rule.to if kind == "handed_over" else None))
            continue
        if not charged:
            batch.unattributed.append(_why(checked, spec, event.ref, held, value))
            continue
        for unit_id, rules in charged.items():
            batch.items.setdefault(unit_id, {}).setdefault(fact, []).append(value)
            ids = tuple(map(id, rules))
            refs = rule_refs.get(ids)
            if refs is None:
                refs = rule_refs[ids] = tuple(rule_ref(r) for r in rules)
            batch.charged.setdefault(unit_id, []).append(ChargedEvent(event.ref, fact, refs))
            for problem in event.problems:
                where = f"{spec.name}[{event.row}]" + (f".{problem.field}" if problem.field else "")
                batch.unit_error(unit_id, FactProblem(
                    unit_id, where, f"the ledger event {name} charged to this unit is bad: {problem.message}",
                    problem.expected, problem.hint))


def _removal(spec: LedgerSpec, event: Event) -> LedgerRule | None:
    for rule in spec.rules:
        if rule.kind in ("exclude", "hand_over") and (rule.when is None or rule.when(event)):
            return rule
    return None


def _charges(spec: LedgerSpec, event: Event,
             indexes: Mapping[int, Any]) -> tuple[dict[str, list[LedgerRule]], list[tuple[LedgerRule, list[object]]]]:
    """The units charged (by id, first-charged order) with their rules; and the rules that held, with join values."""
    charged: dict[str, list[LedgerRule]] = {}
    held: list[tuple[LedgerRule, list[object]]] = []
    for position, rule in enumerate(spec.rules):
        if rule.kind != "charge" or (rule.when is not None and not rule.when(event)):
            continue
        members, term_indexes = indexes[position]
        keys = [term.key(event) for term in rule.joins]
        held.append((rule, keys))
        found: Sequence[_Unit] | None = members if not rule.joins else None
        for key, index in zip(keys, term_indexes):  # each term narrows the units the previous ones matched
            if key is None:  # None never matches
                found = ()
                break
            try:
                matched = index.get(key, ())
            except TypeError:  # an unhashable event value matches no unit
                matched = ()
            if found is None:
                found = matched
            else:
                ids = {id(u) for u in matched}
                found = [u for u in found if id(u) in ids]
            if not found:
                break
        for unit in found or ():
            rules = charged.get(unit.unit_id)
            if rules is None:
                charged[unit.unit_id] = [rule]
            elif all(r is not rule for r in rules):
                rules.append(rule)
    return charged, held


def _why(checked: CheckedPolicy, spec: LedgerSpec, ref: EventRef, held: list[tuple[LedgerRule, list[object]]],
         event: Event) -> UnattributedEvent:
    if not held:
        return UnattributedEvent(ref, NO_RULE_ZH, NO_RULE_EN, ())
    zh: list[str] = []
    en: list[str] = []
    for rule, keys in held:
        terms_zh: list[str] = []
        terms_en: list[str] = []
        empty: list[str] = []
        for term, key in zip(rule.joins, keys):
            name = {UNIT_ID: "id", UNIT_NAME: "name"}.get(term.unit_fact, term.unit_fact)
            if key is None:  # None never matches: the event names no unit
                empty.append("、".join(term.reads) or name)
                continue
            t = checked.fact_types.get(term.unit_fact)
            if term.mode == "in":
                t = getattr(t, "elem", None)
            shown_key = _display(checked, t, key)
            terms_zh.append(f"{name}={shown_key}" if term.mode == "eq" else f"{name}包含{shown_key}")
            terms_en.append(f"{name}={shown_key}" if term.mode == "eq" else f"{name} containing {shown_key}")
        if empty:
            zh.append(f"按{rule.name}规则，事件的 {'、'.join(empty)} 为空，不计入任何单位")
            en.append(f"by rule {rule.name}: the event's {', '.join(empty)} is empty, which names no unit")
        elif terms_zh:
            zh.append(f"按{rule.name}规则应计入 {'、'.join(terms_zh)} 的单位，但本批没有该单位")
            en.append(f"by rule {rule.name} it is charged to the unit with {', '.join(terms_en)}, "
                      "but the batch has no such unit")
        else:
            cats = "、".join(rule.categories) if rule.categories else "单位"
            zh.append(f"按{rule.name}规则应计入每个{cats}，但本批没有该类单位")
            en.append(f"by rule {rule.name} it is charged to every unit of {cats}, but the batch has none")
    return UnattributedEvent(ref, "；".join(zh), "; ".join(en), tuple(rule_ref(r) for r, _ in held))


def _charge_nobody_knows(batch: _Batch, reachable: Iterable[str], where: str, name: str, why: str) -> None:
    """An event whose owner cannot be known: every unit it could reach is an error naming it (never a guess)."""
    for unit_id in reachable:
        batch.unit_error(unit_id, FactProblem(
            unit_id, where, f"the ledger event {name} cannot be attributed, {why}; it may be this unit's"))
