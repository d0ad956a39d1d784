"""New-year differential testing: ``kaohe diff OLD NEW``.

Two views of what changed between last year's policy and this year's:

* **structural** — every declaration added, removed or changed (compared as
  canonical text, so layout and comments do not count), with its citation;
  parameters and thresholds as ``old → new``; bands edge by edge; targets whose
  effective points moved because a parameter did;
* **behavioural** — the same units assessed under both policies: units
  generated from the new policy's declarations (independently, and near the
  best and worst units each policy allows and near real units), and a supplied
  set of real units.  How many change band, rating or score, and for each kind
  of change (``band 优秀 → 良好``, ``rating 良好 → 不合格``, …) the smallest
  example, explained under both policies.

The smallest example is found by a greedy shrink: facts are reset, one at a
time, to their value in a reference unit (the simplest unit, or a landmark) as
long as the change stays of the same kind, so what remains are the facts that
matter.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import FactError, KaoheError
from ..language import ast, formatter
from ..language.linker import link
from ..runtime.result import jsonable, plain
from .directed import BandPiece, Builder, Probe
from .domains import ABSENT
from .laws import assess_alone

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result

_KIND_ORDER = ("header", "category", "ratings", "bands", "param", "fact", "record", "enum", "let", "defer",
               "target", "veto", "outcome", "checkpoint")


# ================================================================= structural
@attrs.frozen
class Change:
    kind: str  # param | target | veto | bands | category | fact | ...
    name: str
    change: str  # added | removed | changed
    citation: str | None
    summary: str
    old: str | None = None  # canonical text
    new: str | None = None

    def lines(self) -> list[str]:
        """The changed lines of the canonical text, as a unified diff without headers."""
        if self.old is None or self.new is None:
            text = self.new if self.new is not None else self.old or ""
            sign = "+" if self.new is not None else "-"
            return [f"{sign} {line}" for line in text.splitlines()]
        out = []
        for line in difflib.ndiff(self.old.splitlines(), self.new.splitlines()):
            if line.startswith(("- ", "+ ")):
                out.append(line)
        return out

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "citation": self.citation,
                "summary": self.summary, "old": self.old, "new": self.new}


def linked_decls(policy: Policy) -> dict[tuple[str, str], ast.Decl]:
    source = policy.checked.header.span.source
    base = Path(source.name).parent if source.name and not source.name.startswith("<") else None
    linked = link(source, base)
    if isinstance(linked, list):  # pragma: no cover - the policy loaded, so it links
        raise KaoheError("cannot re-read the policy text for the diff")
    out: dict[tuple[str, str], ast.Decl] = {}
    general = 0
    for d in linked.decls:
        if isinstance(d, ast.OutcomeDecl) and d.for_every_rating:  # no name: compared by position (*1, *2 …)
            general += 1
            out[("outcome", f"*{general}")] = d
        else:
            out[ast.decl_key(d)] = d
    return out


def structural_changes(old: Policy, new: Policy,
                       decls: tuple[Mapping[tuple[str, str], ast.Decl], Mapping[tuple[str, str], ast.Decl]] | None = None,
                       ) -> list[Change]:
    """Every declaration that differs between the two policies, in a stable order
    (``decls``: both policies' :func:`linked_decls`, when the caller has them)."""
    changes: list[Change] = []
    changes.extend(_header_changes(old, new))
    old_decls, new_decls = decls if decls is not None else (linked_decls(old), linked_decls(new))
    for key in sorted(set(old_decls) | set(new_decls), key=_key_order):
        a, b = old_decls.get(key), new_decls.get(key)
        text_a = formatter.decl(a) if a is not None else None
        text_b = formatter.decl(b) if b is not None else None
        if text_a == text_b:
            continue
        kind, name = key
        cite = _cite(b) or _cite(a)
        if a is None:
            changes.append(Change(kind, name or kind, "added", cite, f"{kind} {name} added".strip(), None, text_b))
        elif b is None:
            changes.append(Change(kind, name or kind, "removed", cite, f"{kind} {name} removed".strip(), text_a, None))
        else:
            changes.append(Change(kind, name or kind, "changed", cite, _summary(kind, name, a, b), text_a, text_b))
    changes.extend(_points_moved(old, new, {(c.kind, c.name) for c in changes}))
    return changes


def _key_order(key: tuple[str, str]) -> tuple[int, str]:
    kind = key[0]
    return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), key[1])


def _cite(decl: object) -> str | None:
    cite = getattr(decl, "cite", None)
    return cite if isinstance(cite, str) else None


def _header_changes(old: Policy, new: Policy) -> list[Change]:
    a, b = old.checked.header, new.checked.header
    out = []
    for field in ("name", "label", "document", "issuer", "adopted", "issued", "period"):
        va, vb = getattr(a, field), getattr(b, field)
        if va != vb:
            out.append(Change("header", field, "changed", b.cite or a.cite, f"{field}: {_show(va)} → {_show(vb)}",
                              _show(va), _show(vb)))
    return out


def _show(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2:
        return f"{_show(value[0])} .. {_show(value[1])}"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return "none" if value is None else str(value)


def _summary(kind: str, name: str, a: ast.Decl, b: ast.Decl) -> str:
    if isinstance(a, ast.ParamDecl) and isinstance(b, ast.ParamDecl) and not a.periods and not b.periods:
        va, vb = formatter.expr(a.value), formatter.expr(b.value)
        if va != vb:
            return f"param {name}: {va} → {vb}"
    if isinstance(a, ast.BandsDecl) and isinstance(b, ast.BandsDecl):
        moved = _per_rating(a, b, _interval)
        if moved:
            return f"bands {name}: " + "; ".join(moved)
        moved = _per_rating(a, b, _requires)  # band requirements (issue #10 A3)
        if moved:
            return f"bands {name}: requires " + "; ".join(moved)
    if isinstance(a, ast.VetoDecl) and isinstance(b, ast.VetoDecl) and _effect(a) != _effect(b):
        return f"veto {name}: effect {_effect(a)} → {_effect(b)}"
    if isinstance(a, ast.Category) and isinstance(b, ast.Category):  # bonus points (加分): the caps that bound the score
        caps_a = [_cap_text(a.bonus_cap)] + [f"{s.name} {_cap_text(s.cap)}" for s in a.sections if s.bonus]
        caps_b = [_cap_text(b.bonus_cap)] + [f"{s.name} {_cap_text(s.cap)}" for s in b.sections if s.bonus]
        if caps_a != caps_b:
            return f"category {name}: bonus caps {'; '.join(caps_a)} → {'; '.join(caps_b)}"
    if isinstance(a, ast.VetoDecl) and isinstance(b, ast.VetoDecl) and len(b.exceptions) > len(a.exceptions):
        added = [x.because or "exception" for x in b.exceptions[len(a.exceptions):]]
        return f"veto {name}: exception added ({'; '.join(added)})"
    if isinstance(a, ast.TargetDecl) and isinstance(b, ast.TargetDecl):
        parts = []
        if len(a.rules) != len(b.rules):
            parts.append(f"{len(a.rules)} → {len(b.rules)} rules")
        if [formatter.expr(p.points) for p in a.placements] != [formatter.expr(p.points) for p in b.placements]:
            parts.append("points changed")
        if [_cap_text(p.cap) for p in a.placements] != [_cap_text(p.cap) for p in b.placements]:
            parts.append("bonus caps " + ", ".join(_cap_text(p.cap) for p in a.placements) + " → "
                         + ", ".join(_cap_text(p.cap) for p in b.placements))
        if [r.KIND for r in a.rules] != [r.KIND for r in b.rules] and len(a.rules) == len(b.rules):
            parts.append("rule kinds changed")
        return f"target {name} changed" + (f" ({', '.join(parts)})" if parts else "")
    return f"{kind} {name} changed".replace("  ", " ")


def _per_rating(a: ast.BandsDecl, b: ast.BandsDecl, part: Callable[[ast.Band], str | None]) -> list[str]:
    """``"R old → new"`` for each rating whose band ``part`` differs ('—' where a side has none)."""
    old = {band.rating: part(band) for band in a.bands}
    new = {band.rating: part(band) for band in b.bands}
    return [f"{r} {old.get(r) or '—'} → {new.get(r) or '—'}" for r in dict.fromkeys([*old, *new])
            if old.get(r) != new.get(r)]


def _requires(band: ast.Band) -> str | None:
    return formatter.expr(band.requires) if band.requires is not None else None


def _effect(veto: ast.VetoDecl) -> str:
    """A veto's rating effect as written after ``then`` (一票否决 for none)."""
    effect = veto.effect
    if effect is None:
        return "一票否决"
    return f"{effect.kind} {effect.rating if effect.rating is not None else formatter.expr(effect.amount)}"  # type: ignore[arg-type]


def _cap_text(cap: ast.Expr | None) -> str:
    return "uncapped" if cap is None else f"cap {formatter.expr(cap)}"


def _interval(band: ast.Band) -> str:
    if band.open_top:  # 优秀 >= 90
        return f"{'>=' if band.low_closed else '>'} {formatter.expr(band.low)}"
    return f"{'[' if band.low_closed else '('}{formatter.expr(band.low)}, {formatter.expr(band.high)}{']' if band.high_closed else ')'}"


def _points_moved(old: Policy, new: Policy, seen: set[tuple[str, str]]) -> list[Change]:
    """Targets whose text is unchanged but whose points moved (a parameter they use changed)."""
    out = []
    for category, plan in new.checked.plans.items():
        old_plan = old.checked.plans.get(category)
        if old_plan is None:
            continue
        before = {p.target.name: p.points for p in old_plan.targets}
        for placed in plan.targets:
            name = placed.target.name
            if name in before and before[name] != placed.points and ("target", name) not in seen:
                out.append(Change("target", name, "changed", placed.target.cite,
                                  f"target {name} in {category}: {plain(before[name])} → {plain(placed.points)} points"))
    return out


# ================================================================ behavioural
@attrs.frozen
class Example:
    unit: dict[str, Any]
    reference: str  # id of the unit the example differs from
    differences: tuple[tuple[str, object], ...]  # facts that differ from the reference (value, or None if absent)
    old: Result
    new: Result


@attrs.frozen
class Transition:
    kind: str  # e.g. "band 优秀 → 良好"
    count: int
    example: Example


@attrs.frozen
class Behaviour:
    source: str  # "generated" or a file name
    compared: int
    skipped: int  # units one of the policies refuses
    band_changed: int
    rating_changed: int
    score_changed: int
    transitions: tuple[Transition, ...]

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "compared": self.compared, "skipped": self.skipped,
                "band_changed": self.band_changed, "rating_changed": self.rating_changed,
                "score_changed": self.score_changed,
                "transitions": [transition_dict(t) for t in self.transitions]}


def transition_dict(t: Transition) -> dict[str, object]:
    return {"kind": t.kind, "count": t.count, "example": _example_dict(t.example)}


def _example_dict(e: Example) -> dict[str, object]:
    return {"reference": e.reference, "differences": {k: jsonable(v) for k, v in e.differences},
            "unit": jsonable(e.unit), "old": _headline(e.old), "new": _headline(e.new)}


def _headline(r: Result) -> dict[str, object]:
    return {"score": plain(r.score), "band": r.band, "rating": r.rating, "vetoes": [v.name for v in r.vetoes]}


def kind_of(old: Result, new: Result) -> str | None:
    """The kind of change between two results of one unit; None when nothing a reader cares about changed."""
    vetoes_old, vetoes_new = {v.name for v in old.vetoes}, {v.name for v in new.vetoes}
    causes = [f"veto {v} now fires" for v in sorted(vetoes_new - vetoes_old)]
    causes += [f"veto {v} no longer fires" for v in sorted(vetoes_old - vetoes_new)]
    effects_old = {(e.kind, e.clause) for e in old.effects}
    effects_new = {(e.kind, e.clause) for e in new.effects}
    causes += [f"{k} {c} now applies" for k, c in sorted(effects_new - effects_old)]
    causes += [f"{k} {c} no longer applies" for k, c in sorted(effects_old - effects_new)]
    if old.band != new.band:
        return f"band {old.band} → {new.band}"
    if old.rating != new.rating:
        return f"rating {old.rating} → {new.rating}" + (f" ({'; '.join(causes)})" if causes else "")
    if causes:
        return "; ".join(causes)
    if old.score != new.score:
        return f"score {'down' if new.score < old.score else 'up'}, same band"
    a, b = old.consequences, new.consequences
    if (a.total, [(i.name, i.amount) for i in a.items]) != (b.total, [(i.name, i.amount) for i in b.items]):
        what = a.kind if a.kind == b.kind and a.kind != "none" else "consequences"
        direction = "up" if b.total > a.total else "down" if b.total < a.total else "shared differently"
        return f"{what} {direction}, same rating"  # an outcome (reward, fine, share) changed, nothing else
    general_a = [(i.kind, i.name, i.amount) for c in old.general_consequences for i in c.items]
    general_b = [(i.kind, i.name, i.amount) for c in new.general_consequences for i in c.items]
    if general_a != general_b:  # issue #10: a conditional sanction now (or no longer) imposed
        names_a, names_b = {i[1] for i in general_a}, {i[1] for i in general_b}
        moved = [f"+{n}" for n in sorted(names_b - names_a)] + [f"-{n}" for n in sorted(names_a - names_b)]
        return f"consequences for every rating {' '.join(moved) if moved else 'changed'}, same rating"
    reported_a = {n: r.value for n, r in old.reported.items()}
    reported_b = {n: r.value for n, r in new.reported.items()}
    if reported_a != reported_b:
        changed = sorted(n for n in set(reported_a) | set(reported_b) if reported_a.get(n) != reported_b.get(n))
        return f"reported {', '.join(changed)} changed, same rating"
    return None


def _names(names: Iterable[str]) -> str:
    items = sorted(names)
    return "{" + ", ".join(items) + "}" if items else "{}"


class Pair:
    """Evaluates a unit under both policies, adapting it to what each one declares.

    When the policies' periods differ by whole years (2013 → 2014), a unit's
    dates are moved by that many years for the policy whose year it is not from,
    so a report sent on 10 July is on time in both years and the diff shows what
    the rules changed, not that the calendar moved.
    """

    def __init__(self, old: Policy, new: Policy, home: str | None = None) -> None:
        self.old, self.new = old, new
        self.years = _year_shift(old, new)
        self.fixed_home = home

    def evaluate(self, unit: Mapping[str, Any]) -> tuple[Result, Result] | None:
        home = self.home(unit)
        results = []
        for policy, which in ((self.old, "old"), (self.new, "new")):
            years = 0 if home in (None, which) else (self.years if which == "new" else -self.years)
            adapted = _adapt(policy, unit, years)
            if adapted is None:
                return None
            try:
                results.append(assess_alone(policy, adapted))
            except KaoheError:
                return None
        return results[0], results[1]

    def home(self, unit: Mapping[str, Any]) -> str | None:
        """Which policy's period the unit's dates fall in ("old", "new"), or None."""
        if not self.years:
            return None
        if self.fixed_home is not None:
            return self.fixed_home
        dates = list(_dates(unit.get("facts", {})))
        periods = {"old": self.old.checked.header.period, "new": self.new.checked.header.period}
        counts = {k: sum(1 for d in dates if p is not None and p[0] <= d <= p[1]) for k, p in periods.items()}
        if counts["old"] == counts["new"]:
            return None
        return "old" if counts["old"] > counts["new"] else "new"


def _year_shift(old: Policy, new: Policy) -> int:
    a, b = old.checked.header.period, new.checked.header.period
    if a is None or b is None or (a[0].month, a[0].day) != (b[0].month, b[0].day):
        return 0
    return b[0].year - a[0].year


def _as_date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _dates(value: object) -> Iterable[datetime.date]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _dates(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dates(v)
    else:
        d = _as_date(value)
        if d is not None:
            yield d


def _shift(value: object, years: int) -> object:
    if isinstance(value, Mapping):
        return {k: _shift(v, years) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, years) for v in value]
    d = _as_date(value)
    if d is None:
        return value
    try:
        moved = d.replace(year=d.year + years)
    except ValueError:  # 29 February
        moved = d.replace(year=d.year + years, day=28)
    return moved.isoformat() if isinstance(value, str) else moved


def _adapt(policy: Policy, unit: Mapping[str, Any], years: int = 0) -> dict[str, Any] | None:
    """The unit as this policy reads it: facts it does not know dropped, dates moved by ``years``."""
    category = unit.get("category")
    if category not in policy.checked.plans:
        return None
    allowed = set(policy.facts_for(str(category)))
    facts = unit.get("facts", {})
    if not isinstance(facts, Mapping):
        return None
    kept = {k: v for k, v in facts.items() if k in allowed}
    return {**unit, "facts": _shift(kept, years) if years else kept}


def compare_units(old: Policy, new: Policy, units: Iterable[Mapping[str, Any]], source: str,
                  references: Sequence[Mapping[str, Any]] = (), home: str | None = None,
                  shrink: bool = True) -> Behaviour:
    """Assess ``units`` under both policies; count the changes and shrink an example of each kind.

    ``home`` ("old" or "new") says which policy's year the units' dates belong to;
    None detects it per unit from the dates themselves.  With ``shrink`` False (real
    units), the example of a kind is the smallest unit of that kind as it is.
    """
    pair = Pair(old, new, home)
    compared = skipped = band_changed = rating_changed = score_changed = 0
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    for unit in units:
        results = pair.evaluate(unit)
        if results is None:
            skipped += 1
            continue
        compared += 1
        r_old, r_new = results
        band_changed += r_old.band != r_new.band
        rating_changed += r_old.rating != r_new.rating
        score_changed += r_old.score != r_new.score
        kind = kind_of(r_old, r_new)
        if kind is None:
            continue
        counts[kind] = counts.get(kind, 0) + 1
        size = len(str(jsonable(unit)))
        if kind not in first or size < first[kind][0]:
            first[kind] = (size, dict(unit))
    transitions = []
    for kind in sorted(counts, key=lambda k: (-counts[k], k)):
        unit = first[kind][1]
        if shrink:
            example = smallest_example(pair, unit, kind, references)
        else:
            results = pair.evaluate(unit)
            assert results is not None
            example = Example(unit, str(unit.get("id", "unit")), (), results[0], results[1])
        transitions.append(Transition(kind, counts[kind], example))
    return Behaviour(source, compared, skipped, band_changed, rating_changed, score_changed, tuple(transitions))


def smallest_example(pair: Pair, unit: Mapping[str, Any], kind: str, references: Sequence[Mapping[str, Any]]) -> Example:
    """Shrink ``unit`` towards each reference (same category) while the change stays of ``kind``; keep the smallest."""

    def same_kind(candidate: Mapping[str, Any]) -> bool:
        results = pair.evaluate(candidate)
        return results is not None and kind_of(*results) == kind

    from .strategies import domains

    space = domains(pair.new)
    category = unit.get("category")
    best: tuple[int, Mapping[str, Any], dict[str, Any]] | None = None
    for reference in [r for r in references if r.get("category") == category] or [{"id": "(none)", "facts": {}}]:
        shrunk = _shrink(unit, reference, same_kind, space)
        size = len(differences(shrunk, reference))
        if best is None or size < best[0]:
            best = (size, reference, shrunk)
    assert best is not None
    _, reference, shrunk = best
    results = pair.evaluate(shrunk)
    assert results is not None
    return Example(shrunk, str(reference.get("id", "reference")), differences(shrunk, reference), results[0], results[1])


def differences(unit: Mapping[str, Any], reference: Mapping[str, Any]) -> tuple[tuple[str, object], ...]:
    facts = dict(unit.get("facts", {}))
    ref = dict(reference.get("facts", {}))
    out = []
    for name in sorted(set(facts) | set(ref)):
        if facts.get(name, _GONE) != ref.get(name, _GONE):
            out.append((name, facts.get(name)))
    return tuple(out)


_GONE = object()


def _shrink(unit: Mapping[str, Any], reference: Mapping[str, Any], keep: Callable[[Mapping[str, Any]], bool],
            space: Any) -> dict[str, Any]:
    """Greedy: reset each differing fact to the reference's value (or drop it); trim lists item by item;
    then simplify what is left (list items' fields and numbers) towards their simplest values."""
    current: dict[str, Any] = {**unit, "facts": dict(unit.get("facts", {}))}
    if not keep(current):
        return current
    ref = dict(reference.get("facts", {}))

    def attempt(facts: dict[str, Any]) -> bool:
        nonlocal current
        trial = {**current, "facts": facts}
        if keep(trial):
            current = trial
            return True
        return False

    for _ in range(3):
        changed = False
        for name in sorted(set(current["facts"]) | set(ref)):
            facts = current["facts"]
            if facts.get(name, _GONE) == ref.get(name, _GONE):
                continue
            reset = dict(facts)
            if name in ref:
                reset[name] = ref[name]
            else:
                reset.pop(name, None)
            if attempt(reset):
                changed = True
                continue
            value = facts.get(name)
            if isinstance(value, list):
                for index in range(len(value) - 1, -1, -1):
                    items = list(current["facts"][name])
                    del items[index]
                    changed |= attempt({**current["facts"], name: items})
            changed |= _simplify(name, current["facts"], space, attempt)
        if not changed:
            break
    return current


def _simplify(name: str, facts: dict[str, Any], space: Any, attempt: Callable[[dict[str, Any]], bool]) -> bool:
    """Try simpler values for one fact: each candidate of its domain, and for list items each field's."""
    if name not in space.checked.fact_types:
        return False
    domain = space.fact(name)
    value = facts.get(name)
    changed = False
    if isinstance(value, list) and domain.elem is not None and domain.elem.record is not None:
        fields = dict(domain.elem.fields)
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                continue
            for field_name in sorted(item):
                field = fields.get(field_name)
                if field is None:
                    continue
                for candidate in field.candidates():
                    current_item = dict(facts[name][index]) if isinstance(facts[name][index], Mapping) else {}
                    if candidate is ABSENT:
                        if field_name not in current_item:
                            break
                        current_item.pop(field_name)
                    elif current_item.get(field_name) == candidate:
                        break
                    else:
                        current_item[field_name] = candidate
                    items = list(facts[name])
                    items[index] = current_item
                    if attempt({**facts, name: items}):
                        changed = True
                        break
    elif not isinstance(value, list):
        for candidate in domain.candidates():
            if candidate is ABSENT:
                trial = dict(facts)
                trial.pop(name, None)
            elif candidate == value:
                break
            else:
                trial = {**facts, name: candidate}
            if attempt(trial):
                changed = True
                break
    return changed


# =================================================================== directed
@attrs.frozen
class Finding:
    """What directed search (:mod:`.directed`) found for one structural change."""

    change: Change
    built: int  # directed units built for this change
    compared: int  # of them, assessed under both policies (one policy may refuse the others)
    transitions: tuple[Transition, ...]
    exact: tuple[str, ...] = ()  # statements that hold for every unit, not only the ones built
    pieces: tuple[BandPiece, ...] = ()  # bands: the exact score intervals that change band
    probes: tuple[tuple[Probe, Result, Result], ...] = ()  # bands: units on and beside each moved edge
    reason: str | None = None  # exactly why no unit can change, when that is known

    def to_dict(self) -> dict[str, object]:
        return {"change": {"kind": self.change.kind, "name": self.change.name, "summary": self.change.summary},
                "built": self.built, "compared": self.compared, "exact": list(self.exact),
                "band_intervals": [p.to_dict() for p in self.pieces],
                "edge_units": [_probe_dict(p, a, b) for p, a, b in self.probes],
                "reason": self.reason, "transitions": [transition_dict(t) for t in self.transitions]}


def _probe_dict(probe: Probe, old: Result, new: Result) -> dict[str, object]:
    return {"category": probe.category, "score": plain(probe.score), "where": probe.where,
            "reference": str(probe.base.get("id")),
            "differences": {k: jsonable(v) for k, v in differences(probe.unit, probe.base)},
            "old": _headline(old), "new": _headline(new)}


def directed_findings(old: Policy, new: Policy, changes: Sequence[Change],
                      decls: tuple[Mapping[tuple[str, str], ast.Decl], Mapping[tuple[str, str], ast.Decl]] | None = None,
                      references: Sequence[dict[str, Any]] = ()) -> list[Finding]:
    """For each structural change but the header's: units built on and beside its edges, assessed under both.

    ``decls`` are both policies' :func:`linked_decls` and ``references`` the new
    policy's landmarks (:func:`_references`), when the caller has them already.
    """
    pair = Pair(old, new, "new")
    old_decls, new_decls = decls if decls is not None else (linked_decls(old), linked_decls(new))
    builder = Builder(old, new, pair, old_decls, new_decls, [c.kind for c in changes], references)
    out = []
    for change in changes:
        if change.kind == "header":
            continue
        a, b = builder.decls(change.kind, change.name)
        if change.old is not None and builder.wording_only(a, b):
            out.append(Finding(change, 0, 0, (), reason="only its wording changed (a label, a citation or a note): "
                                                        "no score, band, rating or veto can change"))
            continue
        if builder.moved_with_period(a, b):
            out.append(Finding(change, 0, 0, (), reason=f"its dates moved by the {pair.years} year(s) between the two "
                                                        "periods, as every unit's dates do in this diff: it judges "
                                                        "each unit the same way under both"))
            continue
        if change.kind == "bands" and a is not None and b is not None:
            plan = builder.bands(change.name)
            if plan is not None:
                probes = []
                for probe in plan.probes:
                    results = pair.evaluate(probe.unit)
                    if results is not None:
                        probes.append((probe, results[0], results[1]))
                on_edge = sorted(plan.probes, key=lambda p: not p.where.startswith("on "))  # examples on an edge first
                transitions, compared = _assess(pair, [(p.unit, p.base) for p in on_edge], attribute=False)
                out.append(Finding(change, len(plan.probes), compared, transitions, plan.exact, plan.pieces,
                                   tuple(probes), None if plan.pieces else
                                   "the two band tables put every score in the same band"))
                continue
        units = builder.fact_units(change.kind, change.name)
        transitions, compared = _assess(pair, units)
        out.append(Finding(change, len(units), compared, transitions))
    return out


def _signature(old: Result, new: Result) -> tuple[object, ...]:
    """How a unit changes: its kind, and how far its score and its money moved."""
    return (kind_of(old, new), new.score - old.score, new.consequences.total - old.consequences.total)


def _assess(pair: Pair, units: Sequence[tuple[dict[str, Any], dict[str, Any]]],
            attribute: bool = True) -> tuple[tuple[Transition, ...], int]:
    """Each directed unit under both policies; per kind of change, the count and the smallest example
    (fewest facts differing from the landmark it was built from, then the shortest).

    With ``attribute``, a unit that changes exactly as the landmark it was built
    from does (same kind, same score and money moved by the same amounts) is not
    counted: that change is the landmark's — possibly another structural change's
    doing — and the fact moved for this change made no difference to it.  Units built at a score
    (band edges) are all counted: the score is what they were built for.
    """
    counts: dict[str, int] = {}
    best: dict[str, tuple[tuple[int, int], Example]] = {}
    base_kinds: dict[int, tuple[object, ...] | None] = {}
    compared = 0
    for unit, base in units:
        results = pair.evaluate(unit)
        if results is None:
            continue
        compared += 1
        kind = kind_of(*results)
        if kind is None:
            continue
        if attribute:
            if id(base) not in base_kinds:
                base_results = pair.evaluate(base)
                base_kinds[id(base)] = _signature(*base_results) if base_results is not None else None
            if _signature(*results) == base_kinds[id(base)]:
                continue  # changes exactly as the landmark does: not what this unit was built to show
        counts[kind] = counts.get(kind, 0) + 1
        diff = differences(unit, base)
        size = (len(diff), len(str(jsonable(dict(diff)))) if attribute else 0)
        if kind not in best or size < best[kind][0]:
            best[kind] = (size, Example(unit, str(base.get("id", "unit")), diff, results[0], results[1]))
    ordered = sorted(counts, key=lambda k: (-counts[k], k))
    return tuple(Transition(k, counts[k], best[k][1]) for k in ordered), compared


# ===================================================================== report
@attrs.frozen
class DiffReport:
    old: Policy
    new: Policy
    changes: tuple[Change, ...]
    behaviour: tuple[Behaviour, ...]
    directed: tuple[Finding, ...] = ()
    directed_run: bool = False  # False: directed search was not asked for (``directed=False``)

    @property
    def generated(self) -> int:
        """Generated units assessed under both policies."""
        return sum(b.compared for b in self.behaviour if b.source.endswith("generated units"))

    @property
    def directed_units(self) -> int:
        return sum(f.compared for f in self.directed)

    def verdict(self) -> str:
        """One sentence a reader can rely on: units that change, an exact reason none can, or what was tried.

        Never "no unit changes" unless it is proved: a search that finds nothing
        says how many units it searched.
        """
        changed = sum(len(b.transitions) for b in self.behaviour) + sum(len(f.transitions) for f in self.directed)
        if not self.changes:
            return "no structural change: both policies declare the same rules, so no unit can change"
        exact = [line for f in self.directed for line in f.exact if f.pieces]
        if changed:
            return "units change: see the kinds of change above" + ("; exactly: " + "; ".join(exact) if exact else "")
        reasons = [f.reason for f in self.directed if f.reason]
        if self.directed_run and len(reasons) == len(self.directed) == len([c for c in self.changes if c.kind != "header"]) \
                and all(f.reason and "wording" in f.reason for f in self.directed):
            return "no unit can change: every change is to wording only (labels, citations, notes)"
        searched = f"none found among {self.generated} generated and {self.directed_units} directed units"
        ledgers = sorted({c.name for c in self.changes if c.kind == "ledger"})
        if ledgers:  # issue #16: units assessed one by one supply their own lists; no attribution ran
            searched += (f"; but ledger {', '.join(ledgers)} changed, and its rules act only on a batch with the"
                         " ledger, which these units were not: compare a real batch with kaohe eval or"
                         " kaohe whatif under each policy")
        if exact:  # the band tables differ, but no unit was found or built in the interval
            return ("no changed unit found — " + searched + "; yet by the band tables alone: " + "; ".join(exact)
                    + " (whether any unit can score there was not established)")
        return "no changed unit found — " + searched

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"old": _policy_dict(self.old), "new": _policy_dict(self.new),
                                  "structural": [c.to_dict() for c in self.changes],
                                  "behavioural": [b.to_dict() for b in self.behaviour]}
        if self.directed_run:
            out["directed"] = [f.to_dict() for f in self.directed]
        out["verdict"] = self.verdict()
        return out


def _policy_dict(p: Policy) -> dict[str, object]:
    return {"name": p.name, "label": p.label, "document": p.checked.header.document, "hash": p.content_hash}


def diff_policies(old: Policy, new: Policy, *, units: Sequence[Mapping[str, Any]] = (), examples: int = 100,
                  seed: int | None = None, units_source: str = "real units", directed: bool = True) -> DiffReport:
    """The structural and behavioural differences between two policies (``examples`` generated units per category;
    with ``directed``, units built on and beside every changed edge, see :mod:`.directed`)."""
    decls = (linked_decls(old), linked_decls(new))
    changes = structural_changes(old, new, decls)
    references = _references(old, new)
    findings = tuple(directed_findings(old, new, changes, decls, references)) if directed else ()
    behaviour = []
    if examples > 0:
        generated = generate_units(old, new, units, examples, seed)
        behaviour.append(compare_units(old, new, generated, f"{len(generated)} generated units", references, home="new"))
    if units:
        behaviour.append(compare_units(old, new, units, units_source, references, shrink=False))
    return DiffReport(old, new, tuple(changes), tuple(behaviour), findings, directed)


def _references(old: Policy, new: Policy) -> list[dict[str, Any]]:
    """The units examples are shrunk towards: the new policy's landmarks that both policies accept."""
    from .landmarks import landmarks

    pair = Pair(old, new)
    return [u for u in landmarks(new) if pair.evaluate(u) is not None]


def generate_units(old: Policy, new: Policy, near: Sequence[Mapping[str, Any]], examples: int,
                   seed: int | None) -> list[dict[str, Any]]:
    """``examples`` units per category both policies share, drawn by hypothesis from the new policy."""
    from hypothesis import strategies as st

    from .landmarks import landmarks
    from .strategies import units as unit_strategy

    out: list[dict[str, Any]] = []
    for category in new.categories:
        if category not in old.checked.plans:
            continue
        bases = landmarks(new, category, with_ladder=True) + [dict(u) for u in near if u.get("category") == category
                                                               and _valid(new, u)]
        strategy = st.one_of(unit_strategy(new, category), unit_strategy(new, category, near=bases))
        out += _draw(new, strategy, _moved_edges(old, new, category), examples, seed)
    return out


def _draw(policy: Policy, strategy: Any, edges: set[Decimal], examples: int, seed: int | None) -> list[dict[str, Any]]:
    """Every unit hypothesis generates in ``examples`` runs, steered towards ``edges`` (band edges that moved)."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    out: list[dict[str, Any]] = []

    @settings(max_examples=examples, database=None, deadline=None, derandomize=seed is None,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet, phases=(Phase.generate, Phase.target))
    @given(strategy)
    def collect(unit: dict[str, Any]) -> None:
        out.append(unit)
        if edges:
            try:
                score = assess_alone(policy, unit).score
            except KaoheError:
                return
            hypothesis.target(-float(min(abs(score - edge) for edge in edges)), label="distance to a moved band edge")

    (hypothesis.seed(seed)(collect) if seed is not None else collect)()
    return out


def _moved_edges(old: Policy, new: Policy, category: str) -> set[Decimal]:
    """Score edges of bands that are not the same in both policies (e.g. 900 and 920 when 优秀 moved)."""
    def edges(policy: Policy) -> set[tuple[str, Decimal, bool]]:
        plan = policy.checked.plans.get(category)
        return {(b.rating, b.low, b.low_closed) for b in plan.bands} if plan is not None else set()

    return {edge for _, edge, _ in edges(old) ^ edges(new)}


def _valid(policy: Policy, unit: Mapping[str, Any]) -> bool:
    try:
        assess_alone(policy, unit)
    except (FactError, KaoheError):
        return False
    return True
