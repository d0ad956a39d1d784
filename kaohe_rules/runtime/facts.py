"""Fact coercion: a unit's raw input (JSON-like mapping) → typed values, or every problem.

Accepted spellings (documented in docs/api.md):

* numbers as ``int``, ``Decimal`` or strings (``"12.5"``, ``"1,000,000"``);
  Python ``float`` is refused because it is not exact;
* money also as ``"100万元"`` / ``"1000000元"``; percentages also as ``"98.5%"``;
* booleans as ``true/false``, ``"是"/"否"``, ``"yes"/"no"``, ``1/0``;
* dates as ``datetime.date`` or ``"YYYY-MM-DD"``; enum members by name or label.

Every problem of a unit is collected (not just the first) and raised together
as one :class:`~kaohe_rules.errors.FactError`.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import FactError, FactProblem
from ..model import CheckedPolicy
from ..numeric import ENGINE_CONTEXT
from ..types import Type

RESERVED_KEYS = ("id", "name", "category", "facts")
_TRUE = {"true", "yes", "y", "1", "是", "对", "有", "t"}
_FALSE = {"false", "no", "n", "0", "否", "无", "没有", "f"}
_NUMBER = re.compile(r"^[+-]?(\d[\d,_]*)(\.\d+)?$")


class _Bad(Exception):
    def __init__(self, message: str, expected: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.hint = hint


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise _Bad(f"{value!r} is a boolean", what)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Bad(f"{value} is not a finite number", what)
        return value
    if isinstance(value, float):
        raise _Bad(f"{value!r} is a float, which is not exact", what,
                   f"pass it as a string ('{value!r}') or a Decimal")
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            try:
                return Decimal(text.replace(",", "").replace("_", ""))
            except InvalidOperation:  # pragma: no cover - the pattern admits only digits
                pass
        raise _Bad(f"{value!r} is not a number", what)
    raise _Bad(f"{type(value).__name__} {value!r} is not a number", what)


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _decimal(value, "a whole number")
    if number != number.to_integral_value():
        raise _Bad(f"{value!r} is not a whole number", "a whole number")
    return int(number)


def _money(value: object) -> Decimal:
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        factor = Decimal(1)
        if text.endswith("万元"):
            text, factor = text[:-2], Decimal(10000)
        elif text.endswith("元"):
            text = text[:-1]
        elif text.startswith("¥") or text.startswith("￥"):
            text = text[1:]
        # the engine's context, not the caller's: a caller's low precision must not round an amount
        return ENGINE_CONTEXT.multiply(_decimal(text, "an amount of money (元)"), factor)
    return _decimal(value, "an amount of money (元)")


def _percent(value: object) -> Decimal:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%") or text.endswith("％"):
            text = text[:-1]
        return _decimal(text, "a percentage")
    return _decimal(value, "a percentage")


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Bad(f"{value!r} is not true or false", "true/false (是/否)")


def _date(value: object) -> datetime.date:
    if isinstance(value, datetime.datetime):
        raise _Bad(f"{value!r} has a time of day", "a date YYYY-MM-DD")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Bad(f"{value!r} is not a date", "a date YYYY-MM-DD")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _Bad(f"{type(value).__name__} {value!r} is not text", "text")


Scalar = Callable[[object], object]


class FactCoercer:
    """Coerces the facts of units of every category of one policy."""

    def __init__(self, policy: CheckedPolicy, derive: Mapping[str, Callable[[dict[str, object]], object]]) -> None:
        self.policy = policy
        self.derive = derive
        self.categories = {name: frozenset(plan.facts) for name, plan in policy.plans.items()}
        self.category_labels = {info.label: name for name, info in policy.categories.items() if info.label}
        self._order = {name: tuple(plan.facts) for name, plan in policy.plans.items()}

    # ------------------------------------------------------------- envelope
    def envelope(self, unit: object, position: str | None = None) -> tuple[str, str | None, str, Mapping[str, object]]:
        """Validate the unit envelope: (id, name, category, raw facts); FactError if malformed."""
        label = position or "?"
        if not isinstance(unit, Mapping):
            raise FactError(label, [FactProblem(label, "(unit)", f"a unit must be a mapping, got {type(unit).__name__}")])
        raw_id = unit.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        problems: list[FactProblem] = []
        if not isinstance(raw_id, str) or not raw_id.strip():
            unit_id = str(unit.get("name") or label)
            problems.append(FactProblem(unit_id, "id", "the unit has no id", "a non-empty text id"))
        else:
            unit_id = raw_id
        name = unit.get("name")
        if name is not None and not isinstance(name, str):
            problems.append(FactProblem(unit_id, "name", f"{name!r} is not text", "text"))
            name = None
        category = unit.get("category")
        if isinstance(category, str) and category not in self.categories and category in self.category_labels:
            category = self.category_labels[category]
        if not isinstance(category, str) or category not in self.categories:
            options = list(self.categories)
            hint = _suggest(str(category), options + list(self.category_labels))
            problems.append(FactProblem(unit_id, "category", f"unknown category {category!r}",
                                        "one of " + ", ".join(options), hint))
        if "facts" in unit:
            facts = unit["facts"]
            if not isinstance(facts, Mapping):
                problems.append(FactProblem(unit_id, "facts", "'facts' must be a mapping of fact names to values"))
                facts = {}
        else:
            facts = {k: v for k, v in unit.items() if k not in RESERVED_KEYS}
        if problems:
            raise FactError(unit_id, problems)
        return unit_id, name, category, facts  # type: ignore[return-value]

    # ---------------------------------------------------------------- facts
    def coerce(self, unit_id: str, category: str, raw: Mapping[str, object]) -> dict[str, object]:
        policy = self.policy
        allowed = self.categories[category]
        problems: list[FactProblem] = []
        out: dict[str, object] = {}
        for key in raw:
            if key not in allowed:
                if not isinstance(key, str):
                    problems.append(FactProblem(unit_id, repr(key), "fact names are text"))
                elif key in policy.facts:
                    cats = ", ".join(policy.facts[key].categories)
                    problems.append(FactProblem(unit_id, key, f"fact is only supplied by {cats}, not by {category}",
                                                hint="remove it from this unit"))
                else:
                    problems.append(FactProblem(unit_id, key, "unknown fact", None, _suggest(key, allowed)))
        for name in self._order[category]:
            ftype = policy.fact_types[name]
            value = raw.get(name, _ABSENT) if name in raw else _ABSENT
            if value is _ABSENT or value is None or (isinstance(value, str) and value == "" and ftype.kind != "text"):
                default = policy.fact_defaults.get(name)
                if _has_default(default):
                    out[name] = list(default) if isinstance(default, tuple) else default
                    continue
                if ftype.optional:
                    out[name] = None
                    continue
                problems.append(FactProblem(unit_id, name, "missing" if value is _ABSENT else "is empty (none)",
                                            _describe(policy, ftype), _label_hint(policy, name)))
                continue
            try:
                out[name] = self._value(value, ftype, name, unit_id, problems, policy.fact_bounds.get(name))
            except _Bad as bad:
                problems.append(FactProblem(unit_id, name, bad.message, bad.expected or _describe(policy, ftype), bad.hint))
        if problems:
            raise FactError(unit_id, problems)
        return out

    def _value(self, value: object, t: Type, where: str, unit_id: str, problems: list[FactProblem],
               bounds: tuple[object, object, bool, bool] | None) -> object:
        kind = t.kind
        if kind == "list":
            return self._list(value, t, where, unit_id, problems)
        result = self._scalar(value, t)
        if bounds is not None:
            _check_bounds(result, bounds)
        return result

    def _scalar(self, value: object, t: Type) -> object:
        kind = t.kind
        if kind == "int":
            return _int(value)
        if kind == "decimal":
            return _decimal(value, "a number")
        if kind == "money":
            return _money(value)
        if kind == "percent":
            return _percent(value)
        if kind == "bool":
            return _bool(value)
        if kind == "date":
            return _date(value)
        if kind == "text":
            return _text(value)
        if kind == "enum":
            enum = self.policy.enums[t.name or ""]
            names = [m.name for m in enum.members]
            if isinstance(value, str):
                if value in names:
                    return names.index(value)
                labels = [m.label for m in enum.members]
                if value in labels:
                    return labels.index(value)
            raise _Bad(f"{value!r} is not a member of {enum.name}", "one of " + ", ".join(names),
                       _suggest(str(value), names))
        raise _Bad(f"cannot read a value of type {t.describe()}")  # pragma: no cover

    def _list(self, value: object, t: Type, where: str, unit_id: str, problems: list[FactProblem]) -> list[object]:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise _Bad(f"{type(value).__name__} is not a list", f"a list of {t.elem.describe() if t.elem else '?'}")
        elem = t.elem
        assert elem is not None
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
                except _Bad as bad:
                    problems.append(FactProblem(unit_id, path, bad.message, bad.expected, bad.hint))
        return items

    def _record(self, item: object, rname: str, path: str, unit_id: str, problems: list[FactProblem]) -> dict[str, object] | None:
        policy = self.policy
        decl = policy.records[rname]
        if not isinstance(item, Mapping):
            problems.append(FactProblem(unit_id, path, f"{type(item).__name__} is not a record", f"a {rname} record"))
            return None
        field_names = [f.name for f in decl.fields]
        before = len(problems)
        for key in item:
            if key not in field_names:
                hint = _suggest(str(key), field_names)
                if key in policy.record_fields.get(rname, {}):
                    hint = f"'{key}' is computed by the policy; do not supply it"
                problems.append(FactProblem(unit_id, f"{path}.{key}", f"unknown field of {rname}", None, hint))
        out: dict[str, object] = {}
        for field in decl.fields:
            ftype = policy.record_fields[rname][field.name]
            fpath = f"{path}.{field.name}"
            value = item.get(field.name, _ABSENT)
            if value is _ABSENT or value is None or (isinstance(value, str) and value == "" and ftype.kind != "text"):
                default = policy.field_defaults.get((rname, field.name))
                if _has_default(default):
                    out[field.name] = default
                elif ftype.optional:
                    out[field.name] = None
                else:
                    problems.append(FactProblem(unit_id, fpath, "missing", _describe(policy, ftype), None))
                continue
            try:
                result = self._scalar(value, ftype)
                bounds = policy.field_bounds.get((rname, field.name))
                if bounds is not None:
                    _check_bounds(result, bounds)
                out[field.name] = result
            except _Bad as bad:
                problems.append(FactProblem(unit_id, fpath, bad.message, bad.expected or _describe(policy, ftype), bad.hint))
        if len(problems) != before:
            return None
        derive = self.derive.get(rname)
        if derive is not None:
            derive(out)
        return out


class _Absent:
    pass


_ABSENT: Any = _Absent()


def _has_default(default: object) -> bool:
    from ..checker import MISSING

    return default is not MISSING and default is not None


def _check_bounds(value: object, bounds: tuple[object, object, bool, bool]) -> None:
    low, high, low_closed, high_closed = bounds
    if value is None:
        return
    if low is not None:
        ok = value >= low if low_closed else value > low  # type: ignore[operator]
        if not ok:
            raise _Bad(f"{value} is out of range", _range_text(bounds))
    if high is not None:
        ok = value <= high if high_closed else value < high  # type: ignore[operator]
        if not ok:
            raise _Bad(f"{value} is out of range", _range_text(bounds))


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


def _describe(policy: CheckedPolicy, t: Type) -> str:
    base = {
        "int": "a whole number", "decimal": "a number", "money": "an amount of money (元)",
        "percent": "a percentage", "bool": "true/false (是/否)", "date": "a date YYYY-MM-DD", "text": "text",
    }.get(t.kind)
    if base is None:
        if t.kind == "enum" and t.name in policy.enums:
            base = "one of " + ", ".join(m.name for m in policy.enums[t.name].members)
        elif t.kind == "list" and t.elem is not None:
            base = f"a list of {t.elem.describe()}"
        else:
            base = t.describe()
    return base


def _label_hint(policy: CheckedPolicy, name: str) -> str | None:
    decl = policy.facts.get(name)
    if decl is not None and decl.label:
        return f"{decl.label}" + (f" ({decl.cite})" if decl.cite else "")
    return None


def _suggest(name: str, options: Sequence[str] | frozenset[str]) -> str | None:
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"did you mean '{match[0]}'?" if match else None
