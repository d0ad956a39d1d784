"""Results of assessing one unit.

:class:`Result` wraps the raw tuple the compiled evaluator returns and builds
the rich views (sections, vetoes, money, trace) only when asked, so batch
callers who read ``score`` and ``rating`` pay for nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..codegen.compiler import RAW_FIELDS
from ..language.model import CategoryPlan, CheckedPolicy
from ..numeric import normalize, to_fen

if TYPE_CHECKING:
    from ..policy import Policy
    from .trace import Trace


# Positions in the raw tuple the generated evaluator returns (compiler.RAW_FIELDS).
_SCORE, _SECTIONS, _TARGETS, _VETOES, _EXCEPTED, _DEFERRED, _BAND, _RATING, _OUTCOME = range(len(RAW_FIELDS))
assert RAW_FIELDS[_DEFERRED] == "deferred" and RAW_FIELDS[_OUTCOME] == "outcome"

@attrs.frozen
class TargetResult:
    name: str
    label: str | None
    citation: str | None
    section: str
    points: Decimal
    score: Decimal

    @property
    def lost(self) -> Decimal:
        return self.points - self.score

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "citation": self.citation, "section": self.section,
                "points": plain(self.points), "score": plain(self.score), "lost": plain(self.lost)}


@attrs.frozen
class SectionResult:
    path: str
    name: str
    label: str | None
    citation: str | None
    points: Decimal
    score: Decimal
    targets: tuple[TargetResult, ...]
    depth: int

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "label": self.label, "citation": self.citation, "points": plain(self.points),
                "score": plain(self.score), "targets": [t.name for t in self.targets]}


@attrs.frozen
class VetoHit:
    """A veto that fired (or, in ``Result.excepted``, that an exception stopped)."""

    name: str
    label: str | None
    citation: str | None
    evidence: tuple[dict[str, object], ...]  # the matching items for 'on' vetoes
    facts: dict[str, object]  # the facts/params/lets the veto read
    exception: str | None = None  # the exception's reason, for excepted vetoes

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "label": self.label, "citation": self.citation,
                                  "evidence": [jsonable(e) for e in self.evidence], "facts": jsonable(self.facts)}
        if self.exception is not None:
            out["exception"] = self.exception
        return out


@attrs.frozen
class Deferral:
    """Items handed to another authority (e.g. 异地车辆较大道路交通事故 → 自治区有关规定)."""

    name: str
    label: str | None
    citation: str | None
    to: str | None
    items: tuple[dict[str, object], ...]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "citation": self.citation, "to": self.to,
                "items": [jsonable(i) for i in self.items]}


@attrs.frozen
class MoneyItem:
    kind: str  # reward | fine | share | sanction
    name: str
    label: str | None
    amount: Decimal | None
    citation: str | None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "label": self.label,
                "amount": None if self.amount is None else str(self.amount), "citation": self.citation}


@attrs.frozen
class Consequences:
    """What the rating brings (六(三)): money exact to the fen, shares that sum to the whole."""

    rating: str
    citation: str | None
    kind: str  # reward | fine | none
    total: Decimal
    items: tuple[MoneyItem, ...]
    notes: tuple[str, ...]

    @property
    def rewards(self) -> tuple[MoneyItem, ...]:
        return tuple(i for i in self.items if i.kind == "reward")

    @property
    def fines(self) -> tuple[MoneyItem, ...]:
        return tuple(i for i in self.items if i.kind == "fine")

    @property
    def shares(self) -> tuple[MoneyItem, ...]:
        return tuple(i for i in self.items if i.kind == "share")

    @property
    def sanctions(self) -> tuple[MoneyItem, ...]:
        return tuple(i for i in self.items if i.kind == "sanction")

    def to_dict(self) -> dict[str, object]:
        return {"rating": self.rating, "citation": self.citation, "kind": self.kind, "total": str(self.total),
                "items": [i.to_dict() for i in self.items], "notes": list(self.notes)}


class Result:
    """The assessment of one unit: score, sections, rating, vetoes, deferrals, money, trace."""

    __slots__ = ("_policy", "_plan", "_raw", "unit_id", "name", "category", "_facts", "_trace_events", "_cache")

    def __init__(self, policy: Policy, plan: CategoryPlan, raw: tuple[Any, ...], unit_id: str, name: str | None,
                 category: str, facts: dict[str, object] | tuple[object, ...],
                 trace_events: list[tuple[Any, ...]] | None) -> None:
        self._policy = policy
        self._plan = plan
        self._raw = raw
        self.unit_id = unit_id
        self.name = name
        self.category = category
        # the fast path hands over the values in plan.facts order: a dict only if asked
        self._facts: dict[str, object] | tuple[object, ...] = facts
        self._trace_events = trace_events
        self._cache: dict[str, Any] = {}

    @property
    def facts(self) -> dict[str, object]:
        """The unit's facts as the engine read them (coerced, defaults filled in), by name."""
        facts = self._facts
        if isinstance(facts, tuple):
            self._facts = facts = dict(zip(self._plan.facts, facts))
        return facts

    def __repr__(self) -> str:
        return f"<Result {self.unit_id} score={self.score} rating={self.rating}{' vetoed' if self.vetoed else ''}>"

    @property
    def _checked(self) -> CheckedPolicy:
        return self._policy.checked

    # ------------------------------------------------------------- headline
    @property
    def score(self) -> Decimal:
        score = self._raw[_SCORE]
        return score if score.__class__ is Decimal else Decimal(score)

    @property
    def total(self) -> Decimal:
        return self._plan.category.total

    @property
    def rating(self) -> str:
        name: str = self._policy.rating_names[self._raw[_RATING]]
        return name

    @property
    def rating_label(self) -> str:
        rating = self._checked.ratings.ratings[self._raw[_RATING]]
        label: str = rating.label or rating.name
        return label

    @property
    def band(self) -> str | None:
        """The rating the score alone earns (before vetoes)."""
        index = self._raw[_BAND]
        return self._plan.bands[index].rating if index >= 0 else None

    @property
    def band_citation(self) -> str | None:
        index = self._raw[_BAND]
        return self._plan.bands[index].cite if index >= 0 else None

    @property
    def vetoed(self) -> bool:
        return bool(self._raw[_VETOES])

    # -------------------------------------------------------------- details
    @property
    def targets(self) -> tuple[TargetResult, ...]:
        if "targets" not in self._cache:
            out = []
            for placed, score in zip(self._plan.targets, self._raw[_TARGETS]):
                t = placed.target
                out.append(TargetResult(t.name, t.label, t.cite, ".".join(placed.section), placed.points, Decimal(score)))
            self._cache["targets"] = tuple(out)
        return self._cache["targets"]  # type: ignore[no-any-return]

    @property
    def sections(self) -> dict[str, SectionResult]:
        if "sections" not in self._cache:
            order = self._policy.compiled.section_order[self.category]
            infos = {s.path: s for s in self._plan.category.all_sections()}
            out: dict[str, SectionResult] = {}
            for path, score in zip(order, self._raw[_SECTIONS]):
                info = infos[path]
                key = ".".join(path)
                targets = tuple(t for t in self.targets if t.section == key)
                out[key] = SectionResult(key, info.name, info.label, info.cite, info.points, Decimal(score), targets, len(path))
            self._cache["sections"] = out
        return self._cache["sections"]  # type: ignore[no-any-return]

    @property
    def vetoes(self) -> tuple[VetoHit, ...]:
        if "vetoes" not in self._cache:
            self._cache["vetoes"] = tuple(self._veto_hit(entry[0], entry[1], entry[2], None) for entry in self._raw[_VETOES])
        return self._cache["vetoes"]  # type: ignore[no-any-return]

    @property
    def excepted(self) -> tuple[VetoHit, ...]:
        """Vetoes whose condition held but an exception (unless … because …) stopped."""
        if "excepted" not in self._cache:
            out = []
            for index, exc_index, evidence, reads in self._raw[_EXCEPTED]:
                veto = self._plan.vetoes[index]
                reason = veto.exceptions[exc_index].because or "exception"
                out.append(self._veto_hit(index, evidence, reads, reason))
            self._cache["excepted"] = tuple(out)
        return self._cache["excepted"]  # type: ignore[no-any-return]

    def _veto_hit(self, index: int, evidence: Any, reads: tuple[Any, ...], reason: str | None) -> VetoHit:
        veto = self._plan.vetoes[index]
        names = self._checked.reads.get(veto, ())
        items = tuple(self._policy.display_record(item) for item in (evidence or ()))
        facts = {name: self._policy.display_value(name, value) for name, value in zip(names, reads)}
        return VetoHit(veto.name, veto.label, veto.cite, items, facts, reason)

    @property
    def deferred(self) -> tuple[Deferral, ...]:
        if "deferred" not in self._cache:
            out = []
            for index, items in self._raw[_DEFERRED]:
                d = self._plan.defers[index]
                out.append(Deferral(d.name, d.label, d.cite, d.to, tuple(self._policy.display_record(i) for i in items)))
            self._cache["deferred"] = tuple(out)
        return self._cache["deferred"]  # type: ignore[no-any-return]

    @property
    def consequences(self) -> Consequences:
        if "consequences" not in self._cache:
            rating = self.rating
            outcome = self._checked.outcomes.get(rating)
            if outcome is None:
                self._cache["consequences"] = Consequences(rating, None, "none", Decimal("0.00"), (), ())
            else:
                total, amounts = self._raw[_OUTCOME] if self._raw[_OUTCOME] is not None else (Decimal(0), ())
                items = tuple(MoneyItem(item.kind, item.name, item.label, amount, item.cite or outcome.cite)
                              for item, amount in zip(outcome.items, amounts))
                kinds = {i.kind for i in items}
                kind = "reward" if "reward" in kinds else "fine" if "fine" in kinds else "none"
                self._cache["consequences"] = Consequences(rating, outcome.cite, kind, to_fen(total), items, outcome.notes)
        return self._cache["consequences"]  # type: ignore[no-any-return]

    @property
    def trace(self) -> Trace:
        """The full reasoning; evaluated again with tracing on if the result was computed without it."""
        if "trace" not in self._cache:
            from .trace import build_trace

            events = self._trace_events
            if events is None:
                events = self._policy._traced_events(self.category, self.facts)
            self._cache["trace"] = build_trace(self._policy, self._plan, self, events)
        return self._cache["trace"]  # type: ignore[no-any-return]

    # ------------------------------------------------------------ rendering
    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable summary (Decimals as strings, exact)."""
        return {
            "unit": {"id": self.unit_id, "name": self.name, "category": self.category},
            "policy": {"name": self._checked.header.name, "hash": self._checked.content_hash},
            "score": plain(self.score),
            "total": plain(self.total),
            "band": self.band,
            "rating": self.rating,
            "rating_label": self.rating_label,
            "vetoed": self.vetoed,
            "sections": {k: v.to_dict() for k, v in self.sections.items()},
            "targets": [t.to_dict() for t in self.targets],
            "vetoes": [v.to_dict() for v in self.vetoes],
            "excepted": [v.to_dict() for v in self.excepted],
            "deferred": [d.to_dict() for d in self.deferred],
            "consequences": self.consequences.to_dict(),
        }

    def explain(self, lang: str = "zh", full: bool = True) -> str:
        """A readable explanation, clause by clause (``lang`` "zh" or "en"; ``full`` False for the short form)."""
        from .explain import explain

        return explain(self, lang=lang, full=full)


_PLAIN: dict[str, str] = {}  # exact spelling → plain spelling: a result repeats the same few numbers
_PLAIN_LIMIT = 4096


def plain(value: Decimal | int) -> str:
    """A Decimal as a string without exponent or needless trailing zeros (900.00 → "900")."""
    if value.__class__ is int:
        return str(value)
    exact = str(value)  # keyed by the exact spelling, so 0 and -0, 5 and 5.0 each keep their own entry
    text = _PLAIN.get(exact)
    if text is None:
        text = str(normalize(Decimal(value)))
        if len(_PLAIN) < _PLAIN_LIMIT:
            _PLAIN[exact] = text
    return text


def jsonable(value: object) -> object:
    """Turn engine values into JSON-safe ones: Decimal/date → str, tuples → lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.date,)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
