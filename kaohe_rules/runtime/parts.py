"""The parts of a result, and the view of a result that traces and explanations read.

:class:`~kaohe_rules.runtime.result.Result` builds these parts lazily from the raw
tuple.  ``trace`` and ``explain`` read a result through :class:`ResultView`, so they
never import ``result`` (which imports them, lazily, to build a trace on demand):
the imports run one way, ``result → explain → trace → parts``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..numeric import ENGINE_CONTEXT, normalize

if TYPE_CHECKING:
    from .program import Program

@attrs.frozen
class TargetResult:
    name: str
    label: str | None
    citation: str | None
    section: str
    points: Decimal
    score: Decimal
    bonus: bool = False  # a bonus target (加分): starts at 0, its score is what it adds (after its cap)
    cap: Decimal | None = None  # a bonus target's item cap

    @property
    def lost(self) -> Decimal:
        # in the engine's context, not the caller's: 50 - 0.05 is 49.95 under any ambient precision
        return Decimal(0) if self.bonus else ENGINE_CONTEXT.subtract(self.points, self.score)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "label": self.label, "citation": self.citation,
                                  "section": self.section, "points": plain(self.points), "score": plain(self.score),
                                  "lost": plain(self.lost)}
        if self.bonus:  # only then: results of policies without bonus points keep their shape
            out["bonus"] = True
            out["cap"] = None if self.cap is None else plain(self.cap)
        return out


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
    bonus: bool = False  # a bonus section (加分): outside the total; its score is after its cap
    cap: Decimal | None = None  # a bonus section's cap

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "label": self.label, "citation": self.citation,
                                  "points": plain(self.points), "score": plain(self.score),
                                  "targets": [t.name for t in self.targets]}
        if self.bonus:
            out["bonus"] = True
            out["cap"] = None if self.cap is None else plain(self.cap)
        return out


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


class ResultView(Protocol):
    """What a trace and an explanation read of a result (:class:`~kaohe_rules.runtime.result.Result` is one)."""

    unit_id: str
    name: str | None
    category: str

    @property
    def program(self) -> Program: ...
    @property
    def raw(self) -> tuple[Any, ...]: ...
    @property
    def facts(self) -> dict[str, object]: ...
    @property
    def score(self) -> Decimal: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def rating(self) -> str: ...
    @property
    def rating_label(self) -> str: ...
    @property
    def band(self) -> str | None: ...
    @property
    def band_citation(self) -> str | None: ...
    @property
    def vetoed(self) -> bool: ...
    @property
    def targets(self) -> tuple[TargetResult, ...]: ...
    @property
    def sections(self) -> dict[str, SectionResult]: ...
    @property
    def vetoes(self) -> tuple[VetoHit, ...]: ...
    @property
    def deferred(self) -> tuple[Deferral, ...]: ...
    @property
    def consequences(self) -> Consequences: ...
