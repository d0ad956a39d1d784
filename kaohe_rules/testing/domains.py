"""Value domains of a checked policy's facts: what values a unit may supply, and which are interesting.

A domain is derived only from what the policy declares — the fact's type, its
constraint (bounds), whether it is optional or has a default, the members of an
enum, the fields of a record — plus the constants the policy's rules compare
against (parameters, literals, checkpoint dates), because thresholds are where
policies go wrong.  Hypothesis strategies (:mod:`.strategies`) and the greedy
landmark search (:mod:`.landmarks`) are both built on these domains, so they
agree on what a valid unit is.

This module does not import hypothesis: ``kaohe test`` works without it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import attrs

from ..language import ast
from ..language.kinds import has_default
from ..language.model import CheckedPolicy
from ..language.types import Type

# The policy of a value that may be left out of a unit (optional fact, or a default).
ABSENT: object = type("Absent", (), {"__repr__": lambda self: "<absent>"})()

_PLACES = {"int": 0, "decimal": 1, "money": 2, "percent": 1}
_TEXTS = ("甲", "乙", "丙")
_DEFAULT_SPAN = {"int": Decimal(20), "decimal": Decimal(20), "money": Decimal(100000), "percent": Decimal(100)}
_DATE_MARGIN = datetime.timedelta(days=60)


@attrs.frozen
class NumberDomain:
    """A closed range of exact numbers on a grid (whole numbers, tenths or fen)."""

    kind: str  # int | decimal | money | percent
    low: Decimal
    high: Decimal
    places: int
    interesting: tuple[Decimal, ...]

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)

    @property
    def simplest(self) -> Decimal:
        if self.low <= 0 <= self.high:
            return Decimal(0)
        return self.low if self.low > 0 else self.high

    def value(self, number: Decimal) -> object:
        """The number as a unit would supply it (``int`` for whole-number facts).

        A percentage with ``0 < |x| <= 1`` is written with its ``%`` ("0.5%"): bare, it reads
        two ways (0.5% or 50%) and the fact layer refuses it (runtime/coerce/convert.to_percent).
        """
        if self.kind == "int":
            return int(number)
        value = number.quantize(self.step) if self.places else number
        if self.kind == "percent" and value and -1 <= value <= 1:
            return f"{value}%"
        return value


@attrs.frozen
class Domain:
    """What one fact or record field may hold, as unit input values."""

    type: Type
    may_be_absent: bool
    number: NumberDomain | None = None
    dates: tuple[datetime.date, datetime.date] | None = None
    interesting_dates: tuple[datetime.date, ...] = ()
    simplest_date: datetime.date | None = None  # the start of the policy's period, when in range
    members: tuple[str, ...] = ()
    record: str | None = None
    fields: tuple[tuple[str, Domain], ...] = ()
    elem: Domain | None = None
    # a per-period fact (issue #11 P): the periods' names; its value is an object keyed by them
    periods: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.type.kind

    def one_period(self) -> Domain:
        """The domain of one period's value of a per-period fact (this domain itself otherwise)."""
        return attrs.evolve(self, periods=()) if self.periods else self

    def simplest(self) -> object:
        """The value hypothesis shrinks towards; ABSENT when the fact may be left out."""
        if self.may_be_absent:
            return ABSENT
        return self.simplest_present()

    def simplest_present(self) -> object:
        if self.periods:  # issue #11 P: every period its simplest value
            one = self.one_period().simplest_present()
            return {name: one for name in self.periods}
        kind = self.kind
        if kind == "bool":
            return False
        if self.number is not None:
            return self.number.value(self.number.simplest)
        if kind == "date" and self.dates is not None:
            return self.simplest_date or self.dates[0]
        if kind == "text":
            return ""
        if kind == "enum":
            return self.members[0]
        if kind == "list":
            return []
        if kind == "record":  # a record-valued fact (issue #10)
            return self.simplest_record()
        raise ValueError(f"no simplest value for {self.type.describe()}")  # pragma: no cover

    def simplest_record(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, field in self.fields:
            value = field.simplest()
            if value is not ABSENT:
                out[name] = value
        return out

    def candidates(self) -> list[object]:
        """A few telling values, simplest first: bounds, thresholds, every enum member, both booleans."""
        out: list[object] = [ABSENT] if self.may_be_absent else []
        if self.periods:  # issue #11 P: each candidate in every period (one period apart: the random units)
            out += [{name: value for name in self.periods}
                    for value in self.one_period().candidates() if value is not ABSENT]
            return _dedupe(out)
        kind = self.kind
        if kind == "bool":
            out += [False, True]
        elif self.number is not None:
            n = self.number
            for value in (n.simplest, *n.interesting, n.low, n.high):
                out.append(n.value(value))
        elif kind == "date" and self.dates is not None:
            out += [self.simplest_present(), *self.interesting_dates, self.dates[0], self.dates[1]]
        elif kind == "text":
            out += ["", _TEXTS[0]]
        elif kind == "enum":
            out += list(self.members)
        elif kind == "list":
            out.append([])
        elif kind == "record":
            out.append(self.simplest_record())
        return _dedupe(out)

    def record_variants(self) -> list[dict[str, object]]:
        """Records that differ from the simplest record in one field (for building lists greedily)."""
        assert self.elem is not None
        elem = self.elem
        if elem.record is None:
            return [{"value": v} for v in elem.candidates() if v is not ABSENT]
        base = elem.simplest_record()
        variants = [base]
        for name, field in elem.fields:
            for value in field.candidates():
                variant = dict(base)
                if value is ABSENT:
                    variant.pop(name, None)
                else:
                    variant[name] = value
                if variant not in variants:
                    variants.append(variant)
        return variants


def _dedupe(values: list[object]) -> list[object]:
    out: list[object] = []
    for value in values:
        if not any(value is v or (type(value) is type(v) and value == v) for v in out):
            out.append(value)
    return out


class Domains:
    """The domains of every fact of one checked policy, built once."""

    def __init__(self, checked: CheckedPolicy) -> None:
        self.checked = checked
        self.constants = _collect_constants(checked)
        self._facts: dict[str, Domain] = {}

    def fact(self, name: str) -> Domain:
        if name not in self._facts:
            checked = self.checked
            ftype = checked.fact_types[name]
            default = checked.fact_defaults.get(name)
            domain = self._domain(ftype, checked.fact_bounds.get(name), has_default(default) or ftype.optional)
            if checked.periods is not None and checked.facts[name].per_period:  # issue #11 P
                domain = attrs.evolve(domain, periods=tuple(item.name for item in checked.periods.items))
            self._facts[name] = domain
        return self._facts[name]

    def facts_for(self, category: str) -> list[tuple[str, Domain]]:
        return [(name, self.fact(name)) for name in self.checked.plans[category].facts]

    def _domain(self, t: Type, bounds: tuple[object, object, bool, bool] | None, may_be_absent: bool) -> Domain:
        kind = t.kind
        if kind in _PLACES:
            return Domain(t, may_be_absent, number=self._number(kind, bounds))
        if kind == "date":
            low, high, interesting = self._dates(bounds)
            period = self.checked.header.period
            start = period[0] if period is not None and low <= period[0] <= high else None
            return Domain(t, may_be_absent, dates=(low, high), interesting_dates=interesting, simplest_date=start)
        if kind == "enum":
            members = tuple(m.name for m in self.checked.enums[t.name or ""].members)
            return Domain(t, may_be_absent, members=members)
        if kind == "list":
            assert t.elem is not None
            return Domain(t, may_be_absent, elem=self._domain(t.elem, None, False))
        if kind == "record":
            decl = self.checked.records[t.name or ""]
            fields = []
            for field in decl.fields:
                ftype = self.checked.record_fields[decl.name][field.name]
                default = self.checked.field_defaults.get((decl.name, field.name))
                fb = self.checked.field_bounds.get((decl.name, field.name))
                fields.append((field.name, self._domain(ftype, fb, has_default(default) or ftype.optional)))
            return Domain(t, may_be_absent, record=decl.name, fields=tuple(fields))
        return Domain(t, may_be_absent)  # bool, text

    def _number(self, kind: str, bounds: tuple[object, object, bool, bool] | None) -> NumberDomain:
        places = _PLACES[kind]
        step = Decimal(1).scaleb(-places)
        constants = sorted(self.constants.numbers.get("number" if kind in ("int", "decimal") else kind, set()))
        low: Decimal | None = None
        high: Decimal | None = None
        if bounds is not None:
            lo, hi, lo_closed, hi_closed = bounds
            if isinstance(lo, (int, Decimal)):
                low = _ceil_to(Decimal(lo), step) if lo_closed else _floor_to(Decimal(lo), step) + step
            if isinstance(hi, (int, Decimal)):
                high = _floor_to(Decimal(hi), step) if hi_closed else _ceil_to(Decimal(hi), step) - step
        span = max([_DEFAULT_SPAN[kind], *(abs(c) * 2 for c in constants)])
        if kind == "int":
            span = min(span, Decimal(200))
        if low is None:
            if high is not None:
                low = min(Decimal(0), high - span)
            elif bounds is None and kind in ("int", "decimal"):
                low = -min(span, Decimal(10))  # an unconstrained number may be negative: try it
            else:
                low = Decimal(0)
        if high is None:
            high = low + span if low >= 0 else span
        high = max(high, low)
        interesting: set[Decimal] = set()
        for c in constants:
            for v in (c - step, c, c + step):
                q = _floor_to(v, step)
                if low <= q <= high:
                    interesting.add(q)
        return NumberDomain(kind, low, high, places, tuple(sorted(interesting)))

    def _dates(self, bounds: tuple[object, object, bool, bool] | None) -> tuple[datetime.date, datetime.date, tuple[datetime.date, ...]]:
        period = self.checked.header.period
        start, end = period if period is not None else (datetime.date(2000, 1, 1), datetime.date(2030, 12, 31))
        low, high = start - _DATE_MARGIN, end + _DATE_MARGIN
        if bounds is not None:
            lo, hi, lo_closed, hi_closed = bounds
            if isinstance(lo, datetime.date):
                low = lo if lo_closed else lo + datetime.timedelta(days=1)
            if isinstance(hi, datetime.date):
                high = hi if hi_closed else hi - datetime.timedelta(days=1)
        day = datetime.timedelta(days=1)
        interesting = sorted({d for c in self.constants.dates for d in (c - day, c, c + day) if low <= d <= high})
        return low, max(low, high), tuple(interesting)


def _floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding="ROUND_FLOOR") * step


def _ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding="ROUND_CEILING") * step


@attrs.frozen
class Constants:
    """The numbers (by kind: number, money, percent) and dates a policy compares against."""

    numbers: dict[str, set[Decimal]]
    dates: set[datetime.date]


def _collect_constants(checked: CheckedPolicy) -> Constants:
    numbers: dict[str, set[Decimal]] = {"number": set(), "money": set(), "percent": set()}
    dates: set[datetime.date] = set()
    for name, value in checked.param_values.items():
        kind = checked.param_types[name].kind
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, Decimal)):
            key = "number" if kind in ("int", "decimal") else kind
            if key in numbers:
                numbers[key].add(Decimal(value))
        elif isinstance(value, datetime.date):
            dates.add(value)
    for checkpoint in checked.checkpoints.values():
        dates.add(checkpoint.end)
        if checkpoint.start is not None:
            dates.add(checkpoint.start)
    roots: list[object] = [*checked.lets.values(), *checked.defers, *checked.targets, *checked.vetoes,
                           *checked.records.values()]
    for node in ast.walk(*roots):
        if isinstance(node, ast.Number):
            numbers["number"].add(node.value)
        elif isinstance(node, ast.MoneyLit):
            numbers["money"].add(node.value)
        elif isinstance(node, ast.PercentLit):
            numbers["percent"].add(node.value)
        elif isinstance(node, ast.DateLit):
            dates.add(node.value)
    return Constants(numbers, dates)
