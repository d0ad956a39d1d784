"""Fact coercion: a unit's raw input (JSON-like mapping) → typed values, or every problem.

Accepted spellings (documented in docs/api.md):

* numbers as ``int``, ``Decimal`` or strings (``"12.5"``, ``"1,000,000"``);
  Python ``float`` is refused because it is not exact;
* money also as ``"100万元"`` / ``"1000000元"`` (``"100万"`` is refused with that hint);
  percentages also as ``"98.5%"``, and a bare number ``x`` with ``0 < |x| <= 1`` is
  refused as ambiguous (``x``% or the fraction ``x``: docs/cli.md, "Inputs");
* booleans as ``true/false``, ``"是"/"否"``, ``"yes"/"no"``, ``1/0``;
* dates as ``datetime.date`` or ``"YYYY-MM-DD"``; enum members by name or label.

Every problem of a unit is collected (not just the first) and raised together
as one :class:`~kaohe_rules.errors.FactError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import FactError, FactProblem
from ..language.ast import EnumDecl
from ..language.kinds import describe, enum_lookup, has_default
from ..language.model import CheckedPolicy
from ..language.types import Type
from ..limits import (
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    has_lone_surrogate,
    int_problem,
    shown,
)
from .coerce.convert import CONVERTERS, Bad

RESERVED_KEYS = ("id", "name", "category", "facts")
def _key_text(key: object) -> str:
    """A key as a message shows it: itself if short, printable text; else bounded and escaped."""
    if isinstance(key, str) and len(key) <= MAX_ID_CHARS and not has_lone_surrogate(key):
        return str.__str__(key)
    return shown(key)


def _plain_text(value: object) -> object:
    """A str subclass as the plain str it holds (its own __repr__/__eq__ never reach the engine); else as is."""
    return str.__str__(value) if isinstance(value, str) and value.__class__ is not str else value


Scalar = Callable[[object], object]


class FactCoercer:
    """Coerces the facts of units of every category of one policy."""

    def __init__(self, policy: CheckedPolicy, derive: Mapping[str, Callable[[dict[str, object]], object]]) -> None:
        self.policy = policy
        self.derive = derive
        self.categories = {name: frozenset(plan.facts) for name, plan in policy.plans.items()}
        self.category_labels = {info.label: name for name, info in policy.categories.items() if info.label}
        self._order = {name: tuple(plan.facts) for name, plan in policy.plans.items()}
        self._enum_tables: dict[str, dict[str, int]] = {}  # enum name → member index by name or label
        self._per_period = frozenset(policy.period_facts)  # issue #11 P

    # ------------------------------------------------------------- envelope
    def envelope(self, unit: object, position: str | None = None) -> tuple[str, str | None, str, Mapping[str, object]]:
        """Validate the unit envelope: (id, name, category, raw facts); FactError if malformed."""
        label = position or "?"
        if not isinstance(unit, Mapping):
            raise FactError(label, [FactProblem(label, "(unit)", f"a unit must be a mapping, got {type(unit).__name__}")])
        raw_id = _plain_text(unit.get("id"))
        problems: list[FactProblem] = []
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id) if int_problem(raw_id) is None else shown(raw_id)
        if isinstance(raw_id, str) and has_lone_surrogate(raw_id):
            unit_id = shown(raw_id)  # escaped: a message can be printed
            problems.append(FactProblem(unit_id, "id", "the id is not valid Unicode text (a lone surrogate)",
                                        "a short text id"))
        elif not isinstance(raw_id, str) or not raw_id.strip():
            fallback = unit.get("name")
            unit_id = fallback if isinstance(fallback, str) and fallback and len(fallback) <= MAX_ID_CHARS else label
            what = "the unit has no id" if raw_id is None else f"the id {shown(raw_id)} is not text"
            problems.append(FactProblem(unit_id, "id", what, "a non-empty text id"))
        elif len(raw_id) > MAX_ID_CHARS:
            unit_id = shown(raw_id)
            problems.append(FactProblem(unit_id, "id", f"the id is longer than {MAX_ID_CHARS} characters",
                                        "a short text id"))
        else:
            unit_id = raw_id
        name = _plain_text(unit.get("name"))
        if name is not None and not isinstance(name, str):
            problems.append(FactProblem(unit_id, "name", f"{shown(name)} is not text", "text"))
            name = None
        elif name is not None and (len(name) > MAX_TEXT_CHARS or has_lone_surrogate(name)):
            problems.append(FactProblem(unit_id, "name", f"the name {shown(name)} is longer than {MAX_TEXT_CHARS} "
                                        "characters or not valid Unicode text", "text"))
            name = None
        category = _plain_text(unit.get("category"))
        if isinstance(category, str) and category not in self.categories and category in self.category_labels:
            category = self.category_labels[category]
        if not isinstance(category, str) or category not in self.categories:
            options = list(self.categories)
            hint = _suggest(category, options + list(self.category_labels)) if isinstance(category, str) else None
            problems.append(FactProblem(unit_id, "category", f"unknown category {shown(category)}",
                                        "one of " + ", ".join(options), hint))
        if "facts" in unit:
            facts = unit["facts"]
            if not isinstance(facts, Mapping):
                problems.append(FactProblem(unit_id, "facts", "'facts' must be a mapping of fact names to values"))
                facts = {}
            for key in unit:  # ignored, a fact written beside "facts" changed the answer silently (as unitio refuses)
                if key not in RESERVED_KEYS:
                    problems.append(FactProblem(unit_id, _key_text(key), 'a key beside "facts" (facts belong inside '
                                                '"facts")', "id, name, category or facts"))
        else:
            facts = {k: v for k, v in unit.items() if k not in RESERVED_KEYS}
        if problems:
            if isinstance(category, str) and category in self.categories and isinstance(facts, Mapping):
                # every problem at once: a row without an id (a template not filled in) also names
                # each empty fact, so a clerk fixes the row in one pass
                try:
                    self.coerce(unit_id, category, facts)
                except FactError as more:
                    problems.extend(more.problems)
                except Exception:  # noqa: S110 - the unit is refused for its envelope anyway
                    pass
            raise FactError(unit_id, problems)
        return unit_id, name, category, facts  # type: ignore[return-value]

    # ---------------------------------------------------------------- facts
    def coerce(self, unit_id: str, category: str, raw: Mapping[str, object]) -> dict[str, object]:
        policy = self.policy
        allowed = self.categories[category]
        problems: list[FactProblem] = []
        out: dict[str, object] = {}
        if self._per_period:  # issue #11 P: flat columns 季度扣分.一季度 … into the object keyed by period
            raw = self._fold_period_columns(unit_id, raw, problems)
        for key in raw:
            if key not in allowed:
                if not isinstance(key, str):
                    problems.append(FactProblem(unit_id, shown(key), "fact names are text"))
                elif key in policy.facts:
                    cats = ", ".join(policy.facts[key].categories)
                    problems.append(FactProblem(unit_id, key, f"fact is only supplied by {cats}, not by {category}",
                                                hint="remove it from this unit"))
                else:
                    key_text = _key_text(key)
                    problems.append(FactProblem(unit_id, key_text, "unknown fact", None, _suggest(key_text, allowed)))
        for name in self._order[category]:
            self._read_fact(name, raw, unit_id, problems, out)
        if problems:
            raise FactError(unit_id, problems)
        return out

    def _read_fact(self, name: str, raw: Mapping[str, object], unit_id: str, problems: list[FactProblem],
                   out: dict[str, object]) -> None:
        """One fact of ``raw`` into ``out`` (its default when absent), or its problems into ``problems``."""
        policy = self.policy
        ftype = policy.fact_types[name]
        value = raw.get(name, _ABSENT) if name in raw else _ABSENT
        if name in self._per_period:  # issue #11 P: one value per period
            out[name] = self._per_period_value(value, name, ftype, unit_id, problems)
            return
        if value is _ABSENT or value is None or (isinstance(value, str) and value == "" and ftype.kind != "text"):
            default = policy.fact_defaults.get(name)
            if has_default(default):
                out[name] = list(default) if isinstance(default, tuple) else default
                return
            if ftype.optional:
                out[name] = None
                return
            problems.append(FactProblem(unit_id, name, "missing" if value is _ABSENT else "is empty (none)",
                                        describe(policy, ftype), _label_hint(policy, name)))
            return
        try:
            out[name] = self._value(value, ftype, name, unit_id, problems, policy.fact_bounds.get(name))
        except Bad as bad:
            problems.append(FactProblem(unit_id, name, bad.message, bad.expected or describe(policy, ftype), bad.hint))

    def _fold_period_columns(self, unit_id: str, raw: Mapping[str, object],
                             problems: list[FactProblem]) -> Mapping[str, object]:
        """``{"季度扣分.一季度": 3, …}`` (the flat columns of a table) as ``{"季度扣分": {"一季度": 3, …}}``.

        An empty cell is left out (the period takes the fact's default).  A fact given both whole and
        by column is refused naming both: which of the two values is meant cannot be told.
        """
        dotted = [key for key in raw if isinstance(key, str) and "." in key and key.split(".", 1)[0] in self._per_period]
        if not dotted:
            return raw
        out = {key: value for key, value in raw.items() if key not in dotted}
        for key in dotted:
            fact, period = key.split(".", 1)
            value = raw[key]
            if fact in out and not isinstance(out[fact], dict):
                if out[fact] is not None:
                    problems.append(FactProblem(unit_id, key, f"is given both as '{fact}' and as '{key}'",
                                                f"either {fact} (an object keyed by period) or its columns {fact}.<period>"))
                    continue
                out[fact] = {}
            bucket = out.get(fact)
            bucket = dict(bucket) if isinstance(bucket, dict) else {}  # a copy: the caller's object stays as given
            out[fact] = bucket
            if value is None or (isinstance(value, str) and value == ""):
                continue
            if period in bucket:
                problems.append(FactProblem(unit_id, key, f"is given twice: in '{fact}' and as the column '{key}'",
                                            "one value per period"))
                continue
            bucket[period] = value
        return out

    def _per_period_value(self, value: object, name: str, ftype: Type, unit_id: str,
                          problems: list[FactProblem]) -> tuple[object, ...]:
        """A ``per period`` fact (issue #11 P): an object keyed by period name → one value per period, in
        the declared order.  A missing period takes the fact's default (else it is a problem naming the
        period); an unknown key is a problem with the nearest period name."""
        policy = self.policy
        assert policy.periods is not None
        periods = [item.name for item in policy.periods.items]
        default = policy.fact_defaults.get(name)
        expected = "an object keyed by period: {" + ", ".join(f'"{p}": …' for p in periods) + "}"

        def fallback(where: str, what: str) -> object:
            if has_default(default):
                return list(default) if isinstance(default, tuple) else default
            if ftype.optional:
                return None
            problems.append(FactProblem(unit_id, where, what, describe(policy, ftype), _label_hint(policy, name)))
            return None

        if value is _ABSENT or value is None:
            return tuple(fallback(f"{name}.{p}", "missing") for p in periods)
        if not isinstance(value, Mapping):
            problems.append(FactProblem(unit_id, name, f"has one value per period, and {shown(value)} is one value",
                                        expected, f"for example {{\"{periods[0]}\": {shown(value)}, …}}"))
            return (None,) * len(periods)
        for key in value:
            if key not in periods:
                key_text = _key_text(key)
                problems.append(FactProblem(unit_id, f"{name}.{key_text}", "unknown period", ", ".join(periods),
                                            _suggest(key_text, periods)))
        values: list[object] = []
        for period in periods:
            item = value.get(period, _ABSENT)
            where = f"{name}.{period}"
            if item is _ABSENT or item is None or (isinstance(item, str) and item == "" and ftype.kind != "text"):
                values.append(fallback(where, "missing" if item is _ABSENT else "is empty (none)"))
                continue
            try:
                values.append(self._value(item, ftype, where, unit_id, problems, policy.fact_bounds.get(name)))
            except Bad as bad:
                problems.append(FactProblem(unit_id, where, bad.message, bad.expected or describe(policy, ftype), bad.hint))
                values.append(None)
        return tuple(values)

    def _value(self, value: object, t: Type, where: str, unit_id: str, problems: list[FactProblem],
               bounds: tuple[object, object, bool, bool] | None) -> object:
        kind = t.kind
        if kind == "list":
            return self._list(value, t, where, unit_id, problems)
        if kind == "record":  # a record-valued fact (issue #10): its fields checked as a list item's are
            return self._record(value, t.name or "", where, unit_id, problems)
        result = self._scalar(value, t)
        if bounds is not None:
            _check_bounds(result, bounds)
        return result

    def _scalar(self, value: object, t: Type) -> object:
        convert = CONVERTERS.get(t.kind)
        if convert is not None:
            return convert(value)
        if t.kind == "enum":
            enum = self.policy.enums[t.name or ""]
            if isinstance(value, str):
                value = value if value.__class__ is str else str.__str__(value)
                index = self._enum_lookup(enum).get(value)
                if index is not None:
                    return index
            names = [m.name for m in enum.members]
            raise Bad(f"{shown(value)} is not a member of {enum.name}", "one of " + ", ".join(names),
                      _suggest(value, names) if isinstance(value, str) and len(value) <= MAX_ID_CHARS else None)
        raise Bad(f"cannot read a value of type {t.describe()}")  # pragma: no cover

    def _enum_lookup(self, enum: EnumDecl) -> dict[str, int]:
        table = self._enum_tables.get(enum.name)
        if table is None:
            table = self._enum_tables[enum.name] = enum_lookup(enum)
        return table

    def _list(self, value: object, t: Type, where: str, unit_id: str, problems: list[FactProblem]) -> list[object]:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise Bad(f"{type(value).__name__} is not a list", f"a list of {t.elem.describe() if t.elem else '?'}")
        elem = t.elem
        assert elem is not None
        if len(value) > MAX_LIST_ITEMS:
            raise Bad(f"a list of {len(value)} items (at most {MAX_LIST_ITEMS})", f"a list of {elem.describe()}")
        items: list[object] = []
        for index, item in enumerate(value):
            path = f"{where}[{index}]"
            if elem.kind == "record":
                record = self._record(item, elem.name or "", path, unit_id, problems)
                if record is not None:
                    items.append(record)
            else:
                try:
                    items.append(self._scalar(item, elem))
                except Bad as bad:
                    problems.append(FactProblem(unit_id, path, bad.message, bad.expected, bad.hint))
        return items

    def _record(self, item: object, rname: str, path: str, unit_id: str, problems: list[FactProblem]) -> dict[str, object] | None:
        out, complete = self._record_fields(item, rname, path, unit_id, problems)
        if not complete:
            return None
        derive = self.derive.get(rname)
        if derive is not None:
            derive(out)
        return out

    def _record_fields(self, item: object, rname: str, path: str, unit_id: str,
                       problems: list[FactProblem]) -> tuple[dict[str, object], bool]:
        """The fields of a record that read well, and whether all did (every problem into ``problems``)."""
        policy = self.policy
        decl = policy.records[rname]
        if not isinstance(item, Mapping):
            problems.append(FactProblem(unit_id, path, f"{type(item).__name__} is not a record", f"a {rname} record"))
            return {}, False
        field_names = [f.name for f in decl.fields]
        before = len(problems)
        for key in item:
            if key not in field_names:
                key_text = _key_text(key)
                hint = _suggest(key_text, field_names)
                if key in policy.record_fields.get(rname, {}):
                    hint = f"'{key}' is computed by the policy; do not supply it"
                problems.append(FactProblem(unit_id, f"{path}.{key_text}", f"unknown field of {rname}", None, hint))
        out: dict[str, object] = {}
        for field in decl.fields:
            ftype = policy.record_fields[rname][field.name]
            fpath = f"{path}.{field.name}"
            value = item.get(field.name, _ABSENT)
            if value is _ABSENT or value is None or (isinstance(value, str) and value == "" and ftype.kind != "text"):
                default = policy.field_defaults.get((rname, field.name))
                if has_default(default):
                    out[field.name] = default
                elif ftype.optional:
                    out[field.name] = None
                else:
                    problems.append(FactProblem(unit_id, fpath, "missing", describe(policy, ftype), None))
                continue
            try:
                result = self._scalar(value, ftype)
                bounds = policy.field_bounds.get((rname, field.name))
                if bounds is not None:
                    _check_bounds(result, bounds)
                out[field.name] = result
            except Bad as bad:
                problems.append(FactProblem(unit_id, fpath, bad.message, bad.expected or describe(policy, ftype), bad.hint))
        return out, len(problems) == before

    # ------------------------------------------------------------ ledgers (issue #16)
    def read_facts(self, unit_id: str, category: str, raw: Mapping[str, object],
                   names: Sequence[str]) -> dict[str, object]:
        """Only the facts ``names`` of a unit (those of its category), read and checked as :meth:`coerce` does.

        The attribution engine reads each unit's join facts (辖区, 主管行业) before any unit is
        assessed; the same rules as the unit's own assessment, so the two never disagree.
        """
        allowed = self.categories[category]
        problems: list[FactProblem] = []
        out: dict[str, object] = {}
        for name in names:
            if name in allowed:
                self._read_fact(name, raw, unit_id, problems, out)
        if problems:
            raise FactError(unit_id, problems)
        return out

    def read_record(self, item: object, rname: str) -> tuple[dict[str, object] | None, dict[str, object],
                                                              tuple[FactProblem, ...]]:
        """One record (an event of a ledger) checked as a list item is: ``(record, valid fields, problems)``.

        ``record`` is the complete record with its derived fields (None when any field is bad);
        ``valid fields`` are the fields that read well even when others did not (the attribution
        engine still attributes an event whose rules read only good fields).  Each problem's
        ``fact`` is the field's name (``""`` for the event as a whole); its ``unit`` is empty.
        """
        problems: list[FactProblem] = []
        fields, complete = self._record_fields(item, rname, "", "", problems)
        problems = [_renamed(p, p.fact[1:] if p.fact.startswith(".") else p.fact) for p in problems]
        if not complete:
            return None, fields, tuple(problems)
        record = dict(fields)
        derive = self.derive.get(rname)
        if derive is not None:
            derive(record)
        return record, fields, ()


def _renamed(problem: FactProblem, fact: str) -> FactProblem:
    """``problem`` naming ``fact`` instead."""
    return FactProblem(problem.unit, fact, problem.message, problem.expected, problem.hint)


class _Absent:
    pass


_ABSENT: Any = _Absent()


def _check_bounds(value: object, bounds: tuple[object, object, bool, bool]) -> None:
    low, high, low_closed, high_closed = bounds
    if value is None:
        return
    if low is not None:
        ok = value >= low if low_closed else value > low  # type: ignore[operator]
        if not ok:
            raise Bad(f"{value} is out of range", _range_text(bounds))
    if high is not None:
        ok = value <= high if high_closed else value < high  # type: ignore[operator]
        if not ok:
            raise Bad(f"{value} is out of range", _range_text(bounds))


def range_text(bounds: tuple[object, object, bool, bool]) -> str:
    """A bound as the policy writes it: ``0..100``, ``>= 0``, ``< 5``."""
    low, high, low_closed, high_closed = bounds
    if low is not None and high is not None:
        return f"{low}..{high}"
    if low is not None:
        return f"{'>=' if low_closed else '>'} {low}"
    return f"{'<=' if high_closed else '<'} {high}"


def _range_text(bounds: tuple[object, object, bool, bool]) -> str:
    text = range_text(bounds)
    return f"a value in {text}" if ".." in text else f"a value {text}"


def _label_hint(policy: CheckedPolicy, name: str) -> str | None:
    decl = policy.facts.get(name)
    if decl is not None and decl.label:
        return f"{decl.label}" + (f" ({decl.cite})" if decl.cite else "")
    return None


def _suggest(name: str, options: Sequence[str] | frozenset[str]) -> str | None:
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"did you mean '{match[0]}'?" if match else None
