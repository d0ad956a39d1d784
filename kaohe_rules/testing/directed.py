"""Directed search for ``kaohe diff``: units built on and beside every edge that moved.

Random units rarely land on an edge: when a band's lower edge moves from 900 to
901, only units scoring in [900, 901) change rating, and a few hundred units
drawn at random almost never score exactly 900.  So for every structural change
the diff builds units that sit *on* the old and the new edge and one step
*beside* each, and reports what happens to them under both policies:

* **bands** — the effect is computed exactly from the two band tables (scores
  in ``[900, 901)`` change band 优秀 → 良好, and nothing else does); units are
  then constructed at the exact scores of each moved edge and one step either
  side, by solving the linear cases exactly: from a landmark or ladder unit
  (:mod:`.landmarks`), one fact or one added list record whose value moves the
  score linearly (a 预扣分记录 of ``扣分`` x costs x points) is set to the value
  that gives the wanted score, and checked by evaluating;
* **everything else** (a threshold in a rule condition, a parameter, a veto
  condition, a deduction amount, a cap, a default) — the facts the changed
  declaration reads (through lets and, for a parameter, through every
  declaration that reads it) are set, one at a time on the best, worst and
  simplest unit, to the old and the new constants of the change and one step
  either side (dates one day, numbers one grid step), to quotients of its
  constants (a cap of 20 at 5 points each is reached by 4 items), and to their
  domains' telling values.  List facts get one record with that field value,
  or several copies of it.

Where nothing changes the report says "none found among N generated and M
directed units", never that no unit changes — unless it can say exactly why
none can (only a label, a citation or a note differs).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import KaoheError
from ..language import ast
from .domains import ABSENT, Domain, Domains
from .laws import assess_alone

if TYPE_CHECKING:
    from ..policy import Policy

#: Directed units built for one structural change at most (each costs two evaluations).
MAX_UNITS_PER_CHANGE = 1500
#: Copies of one record tried in a list (to reach caps and counts).
MAX_COPIES = 60
#: Distinct one-record lists tried per list fact.
MAX_RECORDS = 80
#: Fields whose change cannot alter a result: only explanations show them.
WORDING = frozenset({"span", "vetoed_span", "label", "cite", "note", "because", "source"})


# ================================================================ exact bands
@attrs.frozen
class BandPiece:
    """A score interval of one category that two band tables put in different bands."""

    category: str
    low: Decimal
    low_closed: bool
    high: Decimal
    high_closed: bool
    old: str | None
    new: str | None

    def interval(self) -> str:
        if self.low == self.high:
            return f"{{{_num(self.low)}}}"
        return (f"{'[' if self.low_closed else '('}{_num(self.low)}, {_num(self.high)}"
                f"{']' if self.high_closed else ')'}")

    def to_dict(self) -> dict[str, object]:
        return {"category": self.category, "interval": self.interval(), "old": self.old, "new": self.new}


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return text


def band_pieces(old: Policy, new: Policy, category: str) -> list[BandPiece]:
    """The exact score intervals whose band differs between the two policies' tables (merged, ascending).

    Exact: a band table is a function of the score alone, so the pieces between
    consecutive edges of both tables (each edge a point of its own) are each in
    one band under each table; adjacent pieces with the same pair are merged.
    """
    a, b = old.checked.plans[category].bands, new.checked.plans[category].bands
    # an open top band (优秀 >= 90, bonus points) has an infinite upper edge: not a score to probe
    points = sorted({x for band in (*a, *b) for x in (band.low, band.high) if x.is_finite()})
    pieces: list[tuple[Decimal, bool, Decimal, bool, str | None, str | None]] = []
    for index, point in enumerate(points):
        pieces.append((point, True, point, True, _band_at(a, point), _band_at(b, point)))
        if index + 1 < len(points):
            upper = points[index + 1]
            middle = (point + upper) / 2
            pieces.append((point, False, upper, False, _band_at(a, middle), _band_at(b, middle)))
    merged: list[list[Any]] = []
    for low, low_closed, high, high_closed, band_a, band_b in pieces:
        if band_a == band_b:
            continue
        last = merged[-1] if merged else None
        if last is not None and last[4:] == [band_a, band_b] and last[2] == low and (last[3] or low_closed):
            last[2], last[3] = high, high_closed
        else:
            merged.append([low, low_closed, high, high_closed, band_a, band_b])
    return [BandPiece(category, m[0], m[1], m[2], m[3], m[4], m[5]) for m in merged]


def _band_at(bands: Sequence[Any], score: Decimal) -> str | None:
    return next((band.rating for band in bands if band.contains(score)), None)


# ================================================================== the builder
@attrs.frozen
class Probe:
    """A unit built to score exactly ``score`` under the new policy (on or one step beside an edge)."""

    category: str
    score: Decimal
    where: str  # "on 900 (old edge)" / "beside 900 (old edge)"
    unit: dict[str, Any]
    base: dict[str, Any]  # the landmark it was built from


@attrs.frozen
class BandsPlan:
    """What directed search knows and builds for a change of one category's bands."""

    exact: tuple[str, ...]
    pieces: tuple[BandPiece, ...]
    probes: tuple[Probe, ...]


class Builder:
    """Builds the directed units of each structural change (the diff assesses them).

    ``pair`` evaluates a unit under both policies (``pair.evaluate(unit)`` is None
    when one of them refuses it) with the units' dates in the new policy's year;
    ``pair.years`` is how many years the new period is after the old.
    """

    def __init__(self, old: Policy, new: Policy, pair: Any, decls_old: Mapping[tuple[str, str], ast.Decl],
                 decls_new: Mapping[tuple[str, str], ast.Decl], change_kinds: Iterable[str],
                 references: Sequence[dict[str, Any]] = ()) -> None:
        from .landmarks import space_of

        self.old, self.new, self.pair = old, new, pair
        self.change_kinds = set(change_kinds)
        self.decls_old, self.decls_new = decls_old, decls_new
        self.space = space_of(new)
        self.references = references
        self._bases: dict[str, list[dict[str, Any]]] = {}

    def decls(self, kind: str, name: str) -> tuple[ast.Decl | None, ast.Decl | None]:
        return self.decls_old.get((kind, name)), self.decls_new.get((kind, name))

    def moved_with_period(self, a: ast.Decl | None, b: ast.Decl | None) -> bool:
        """Both are the same checkpoint, its dates moved by exactly the years between the two periods.

        The diff moves every unit's dates by those years too (a report sent on
        10 July is sent on 10 July of the new year), so such a checkpoint judges
        every unit the same way under both policies.
        """
        if not isinstance(a, ast.Checkpoint) or not isinstance(b, ast.Checkpoint) or not self.pair.years:
            return False
        years = self.pair.years
        start = _shift(a.start, years) if a.start is not None else None
        return (start, _shift(a.end, years), a.categories) == (b.start, b.end, b.categories)

    @staticmethod
    def wording_only(a: ast.Decl | None, b: ast.Decl | None) -> bool:
        """Both declarations exist and differ only in labels, citations and notes."""
        return a is not None and b is not None and ast.shape(a, WORDING) == ast.shape(b, WORDING)

    # ------------------------------------------------------------ bands
    def bands(self, category: str) -> BandsPlan | None:
        """The exact effect of a category's bands changing, and units on and beside each moved edge;
        None when the category is not in both policies."""
        if category not in self.old.checked.plans or category not in self.new.checked.plans:
            return None
        pieces = band_pieces(self.old, self.new, category)
        scoring_same = self.change_kinds <= {"bands", "header", "ratings", "outcome"}
        vetoed = self.new.checked.ratings.vetoed
        exact = []
        for piece in pieces:
            text = f"{category}: scores in {piece.interval()} change band {piece.old} → {piece.new}"
            exact.append(text + (" — exactly these units, as no other change moves a score" if scoring_same
                                 else " (of the units whose score is the same under both)")
                         + f"; their rating changes too unless a veto fires ({vetoed} under both)")
        edges = sorted({e for p in pieces for e in (p.low, p.high)})
        probes: list[Probe] = []
        for edge in edges:
            origin = _edge_origin(self.old, self.new, category, edge)
            for score, unit, base, where in self._at_score(category, edge):
                if self.pair.evaluate(unit) is None or any(p.score == score for p in probes):
                    continue
                probes.append(Probe(category, score, f"{where} {_num(edge)} ({origin})", unit, base))
        probes.sort(key=lambda p: p.score)
        return BandsPlan(tuple(exact), tuple(pieces), tuple(probes))

    def bases(self, category: str) -> list[dict[str, Any]]:
        """The landmarks of the new policy (best, worst, simplest, then the ladder) both policies accept."""
        if category not in self._bases:
            from .landmarks import ladder, landmarks

            known = [u for u in self.references if u.get("category") == category]
            found = known + ladder(self.new, category, known[0]) if known else landmarks(self.new, category,
                                                                                         with_ladder=True)
            self._bases[category] = [u for u in found if self.pair.evaluate(u) is not None]
        return self._bases[category]

    def _at_score(self, category: str, edge: Decimal) -> list[tuple[Decimal, dict[str, Any], dict[str, Any], str]]:
        """Units scoring exactly ``edge`` and one knob step below and above it (under the new policy)."""
        scored = []
        for base in self.bases(category):
            score = _score(self.new, base)
            if score is not None:
                scored.append((abs(score - edge), score, base))
        scored.sort(key=lambda s: (s[0], str(s[2].get("id"))))
        for _, score, base in scored[:12]:
            for knob in _knobs(self.space, category):
                solved = knob.solve(self.new, base, score, edge)
                if solved is None:
                    continue
                unit, number, step = solved
                out = [(edge, unit, base, "on")]
                for direction in (-1, 1):
                    beside = knob.at(base, number + direction * step)
                    value = _score(self.new, beside) if beside is not None else None
                    if beside is not None and value is not None and value != edge:
                        out.append((value, beside, base, "beside"))
                return out
        # no linear knob: the landmarks and ladder rungs themselves, on the edge and nearest either side
        fallback = [(edge, base, base, "on") for _, score, base in scored if score == edge][:1]
        below = [(score, base) for _, score, base in scored if score < edge]
        above = [(score, base) for _, score, base in scored if score > edge]
        if below:
            score, base = max(below, key=lambda sb: sb[0])
            fallback.append((score, base, base, "beside"))
        if above:
            score, base = min(above, key=lambda sb: sb[0])
            fallback.append((score, base, base, "beside"))
        return fallback

    # ------------------------------------------------------------ facts
    def fact_units(self, kind: str, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Units on and beside the constants of a changed declaration, in the facts it reads: (unit, base)."""
        a, b = self.decls(kind, name)
        names: set[str] = set()
        constants = Constants()
        for decl, policy in ((a, self.old), (b, self.new)):
            if decl is None:
                continue
            names |= _idents(decl)
            constants.add_from(decl, policy, self.pair.years if policy is self.old else 0)
        vetoes = {name} if kind == "veto" else set()
        read = {name}
        if kind == "record":  # a record is read through the facts that hold it
            read |= {fact for fact, t in self.new.checked.fact_types.items()
                     if t.name == name or (t.elem is not None and t.elem.name == name)}
        if kind in ("param", "fact", "let", "defer", "record"):
            # what it means shows where it is read: the readers' facts and constants, and their vetoes
            for decls, policy in ((self.decls_old, self.old), (self.decls_new, self.new)):
                for (other_kind, other_name), other in decls.items():
                    if read & _idents(other):
                        names |= _idents(other)
                        constants.add_from(other, policy, self.pair.years if policy is self.old else 0)
                        if other_kind == "veto":
                            vetoes.add(other_name)
        names = self._closure(names)
        facts = sorted((names | read) & set(self.new.checked.fact_types))
        if not facts and kind == "checkpoint":
            facts = sorted(n for n, t in self.new.checked.fact_types.items() if t.kind == "date")
        units: list[tuple[dict[str, Any], dict[str, Any]]] = []
        seen: set[str] = set()
        for category in self.new.categories:
            if category not in self.old.checked.plans:
                continue
            allowed = [f for f in facts if f in self.new.checked.plans[category].facts]
            landmarks = [(base, base) for base in self.bases(category)[:3]]  # best, worst, simplest
            level = self._sweep(category, landmarks, allowed, constants, names, seen)
            units += level
            for veto in sorted(vetoes):
                # a veto's exception needs the veto to fire first: sweep again from units where it does
                # (their differences are still shown from the landmark, so both facts are named)
                firing = [(unit, base) for unit, base in level if self._fires(unit, veto)][:4]
                units += self._sweep(category, firing, allowed, constants, names, seen)
        return units[:MAX_UNITS_PER_CHANGE]

    def _sweep(self, category: str, starts: Sequence[tuple[dict[str, Any], dict[str, Any]]], facts: Sequence[str],
               constants: Constants, names: set[str], seen: set[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Each start with one of ``facts`` set to each of its directed values: (unit, the landmark it came from)."""
        units: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for start, landmark in starts:
            for fact in facts:
                for value in _values(self.space.fact(fact), constants, names):
                    facts_now = dict(start["facts"])
                    if value is ABSENT:
                        facts_now.pop(fact, None)
                    else:
                        facts_now[fact] = value
                    signature = category + repr(sorted(facts_now.items(), key=lambda kv: kv[0]))
                    if signature in seen:
                        continue
                    seen.add(signature)
                    units.append(({**start, "facts": facts_now}, landmark))
        return units

    def _fires(self, unit: Mapping[str, Any], veto: str) -> bool:
        """The veto fires on the unit under either policy."""
        results = self.pair.evaluate(unit)
        return results is not None and any(v.name == veto for r in results for v in r.vetoes)

    def _closure(self, names: set[str]) -> set[str]:
        """The names read, followed through lets, defers and params of both policies."""
        lookup: dict[str, list[ast.Decl]] = {}
        for decls in (self.decls_old, self.decls_new):
            for (kind, name), decl in decls.items():
                if kind in ("let", "defer", "param"):
                    lookup.setdefault(name, []).append(decl)
        todo, out = list(names), set(names)
        while todo:
            name = todo.pop()
            for decl in lookup.get(name, []):
                for ident in _idents(decl) - out:
                    out.add(ident)
                    todo.append(ident)
        return out


def _edge_origin(old: Policy, new: Policy, category: str, edge: Decimal) -> str:
    in_old = any(edge in (b.low, b.high) for b in old.checked.plans[category].bands)
    in_new = any(edge in (b.low, b.high) for b in new.checked.plans[category].bands)
    return "old and new edge" if in_old and in_new else "old edge" if in_old else "new edge" if in_new else "edge"


def _score(policy: Policy, unit: Mapping[str, Any]) -> Decimal | None:
    try:
        return assess_alone(policy, unit).score
    except KaoheError:
        return None


# ================================================================ knobs
@attrs.frozen
class _Knob:
    """One number whose value moves a unit's score: a scalar fact, or a field of one record added to a list."""

    fact: str
    domain: Domain  # of the number
    record: dict[str, Any] | None = None  # the record appended (its ``field`` is the knob)
    field: str | None = None

    def value_for(self, unit: Mapping[str, Any]) -> Decimal | None:
        """The knob's number in a unit (0 when left out); None when it is not a plain number."""
        value = unit["facts"].get(self.fact)
        return Decimal(0) if value is None else as_number(value)

    def at(self, base: Mapping[str, Any], number: Decimal) -> dict[str, Any] | None:
        n = self.domain.number
        assert n is not None
        if not n.low <= number <= n.high or number != _floor(number, n.step):
            return None
        value = n.value(number)
        facts = dict(base["facts"])
        if self.record is None:
            facts[self.fact] = value
        else:
            assert self.field is not None
            items = list(facts.get(self.fact, []))
            items.append({**self.record, self.field: value})
            facts[self.fact] = items
        return {**base, "facts": facts}

    def solve(self, policy: Policy, base: Mapping[str, Any], score: Decimal,
              want: Decimal) -> tuple[dict[str, Any], Decimal, Decimal] | None:
        """The unit with this knob set so the score is exactly ``want``, if the score is linear in it there:
        (unit, the knob's number, its grid step)."""
        n = self.domain.number
        assert n is not None
        start = Decimal(0) if self.record is not None else self.value_for(base)
        if start is None:
            return None
        start = min(max(start, n.low), n.high)
        for origin in (start, n.low):
            u0, u1 = self.at(base, origin), self.at(base, origin + n.step)
            if u0 is None or u1 is None:
                continue
            s0, s1 = _score(policy, u0), _score(policy, u1)
            if s0 is None or s1 is None or s0 == s1:
                continue
            slope = s1 - s0
            steps = (want - s0) / slope
            if steps != steps.to_integral_value():
                continue
            number = origin + steps * n.step
            unit = self.at(base, number)
            if unit is not None and _score(policy, unit) == want:
                return unit, number, n.step
        return None


def as_number(value: object) -> Decimal | None:
    """A number as a unit supplies it — an int, a Decimal, or text such as "12.5" or "0.5%" — or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip().removesuffix("%")
        try:
            number = Decimal(text)
        except ArithmeticError:
            return None
        return number if number.is_finite() else None
    return None


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding="ROUND_FLOOR") * step


def _knobs(space: Domains, category: str) -> Iterator[_Knob]:
    for name, domain in space.facts_for(category):
        if domain.number is not None:
            yield _Knob(name, domain)
        elif domain.kind == "list" and domain.elem is not None and domain.elem.record is not None:
            for variant in domain.record_variants():
                for field, field_domain in domain.elem.fields:
                    if field_domain.number is not None:
                        yield _Knob(name, field_domain, dict(variant), field)


# ================================================================ values
class Constants:
    """The constants of a change: numbers by kind, and dates."""

    def __init__(self) -> None:
        self.numbers: set[Decimal] = set()
        self.amounts: set[Decimal] = set()  # plain numbers: deduction amounts, counts
        self.dates: set[datetime.date] = set()

    def add_from(self, decl: ast.Decl, policy: Policy, years: int) -> None:
        for node in ast.walk(decl):
            if isinstance(node, ast.Number):
                self.numbers.add(node.value)
                self.amounts.add(node.value)
            elif isinstance(node, (ast.MoneyLit, ast.PercentLit)):
                self.numbers.add(node.value)
            elif isinstance(node, ast.DateLit):
                self.dates.add(_shift(node.value, years))
            elif isinstance(node, ast.Name) and node.ident in policy.checked.param_values:
                value = policy.checked.param_values[node.ident]
                if isinstance(value, Decimal) and not isinstance(value, bool):
                    self.numbers.add(value)
                elif isinstance(value, datetime.date):
                    self.dates.add(_shift(value, years))
        if isinstance(decl, ast.ParamDecl):
            value = policy.checked.param_values.get(decl.name)
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                self.numbers.add(Decimal(value))
            elif isinstance(value, datetime.date):
                self.dates.add(_shift(value, years))
        if isinstance(decl, ast.Checkpoint):
            self.dates |= {_shift(d, years) for d in (decl.start, decl.end) if d is not None}

    def counts(self) -> set[int]:
        """How many items reach each constant at each amount (a cap of 20 at 5 each: 3, 4, 5)."""
        out = {1, 2, 3}
        for c in self.numbers:
            for a in self.amounts:
                if a > 0 and c > 0:
                    q = int((c / a).to_integral_value(rounding="ROUND_CEILING"))
                    out |= {q - 1, q, q + 1}
        return {n for n in out if 1 <= n <= MAX_COPIES}


def _shift(value: datetime.date, years: int) -> datetime.date:
    if not years:
        return value
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


def _values(domain: Domain, constants: Constants, names: set[str]) -> list[object]:
    """The values to try for one fact: on and beside each constant, quotients, the domain's telling values."""
    if domain.kind == "list" and domain.elem is not None:
        return _list_values(domain, constants, names)
    out: list[object] = list(_scalar_values(domain, constants))
    out += [v for v in domain.candidates() if not any(v is w or (type(v) is type(w) and v == w) for w in out)]
    return out


def _scalar_values(domain: Domain, constants: Constants) -> Iterable[object]:
    """On and one grid step (one day) beside each constant of the change, within the domain."""
    n = domain.number
    if n is not None:
        numbers = set(constants.numbers) | {Decimal(c) for c in constants.counts()}
        for c in sorted(numbers):
            for v in (c - n.step, c, c + n.step):
                q = _floor(v, n.step)
                if n.low <= q <= n.high:
                    yield n.value(q)
    elif domain.kind == "date" and domain.dates is not None:
        low, high = domain.dates
        day = datetime.timedelta(days=1)
        for d0 in sorted(constants.dates):
            for d in (d0 - day, d0, d0 + day):
                if low <= d <= high:
                    yield d


def _list_values(domain: Domain, constants: Constants, names: set[str]) -> list[object]:
    """Lists of one directed record (a field the change reads set on or beside a constant), of several
    copies of it (to reach caps and counts), and of one of the domain's record variants."""
    elem = domain.elem
    assert elem is not None
    directed: list[object] = []
    others: list[object] = []
    if elem.record is None:
        directed = list(_scalar_values(elem, constants))
        others = [v for v in elem.candidates() if v is not ABSENT]
    else:
        base = elem.simplest_record()
        fields = [(name, field) for name, field in elem.fields if name in names] or list(elem.fields)
        for name, field in fields:
            for value in _scalar_values(field, constants):
                record = {**base, name: value}
                if record not in directed:
                    directed.append(record)
        others = [v for v in domain.record_variants() if v not in directed]
    out: list[object] = [[]]
    out += [[item] for item in [*directed, *others][:MAX_RECORDS]]
    for item in directed[:MAX_RECORDS // 4] or others[:MAX_RECORDS // 4]:
        out += [[item] * count for count in sorted(constants.counts() - {1})]
    return out


def _idents(node: object) -> set[str]:
    out = set()
    for item in ast.walk(node):
        if isinstance(item, ast.Name):
            out.add(item.ident)
        elif isinstance(item, ast.Member):
            out.add(item.field)
        elif isinstance(item, ast.VetoDecl | ast.TargetDecl | ast.LetDecl):
            out.add(item.name)
    return out
