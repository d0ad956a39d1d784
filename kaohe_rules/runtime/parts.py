"""The parts of a result, and the view of a result that traces and explanations read.

:class:`~kaohe_rules.runtime.result.Result` builds these parts lazily from the raw
tuple.  ``trace`` and ``explain`` read a result through :class:`ResultView`, so they
never import ``result`` (which imports them, lazily, to build a trace on demand):
the imports run one way, ``result → explain → trace → parts``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..language import ast
from ..language.abi import NOT_APPLICABLE
from ..numeric import ENGINE_CONTEXT, normalize
from .standing import RankRow, Standing

if TYPE_CHECKING:
    from ..language.model import CheckedPolicy
    from .program import Program

@attrs.frozen(slots=False)  # an instance dict: runtime.templates makes one from a template
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


@attrs.frozen(slots=False)  # an instance dict: runtime.templates makes one from a template
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


@attrs.frozen(slots=False)  # an instance dict: runtime.templates makes one from a template
class VetoHit:
    """A veto that fired (or, in ``Result.excepted``, that an exception stopped)."""

    name: str
    label: str | None
    citation: str | None
    evidence: tuple[dict[str, object], ...]  # the matching items for 'on' vetoes
    facts: dict[str, object]  # the facts/params/lets the veto read
    exception: str | None = None  # the exception's reason, for excepted vetoes
    # the 1-based position of each evidence item in the list fact the unit supplied (issue #10 C):
    # two identical accidents are told apart without an index field of the caller's
    positions: tuple[int | None, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "label": self.label, "citation": self.citation,
                                  "evidence": [jsonable(e) for e in self.evidence], "facts": jsonable(self.facts)}
        if self.evidence:
            out["positions"] = list(self.positions)
        if self.exception is not None:
            out["exception"] = self.exception
        return out


@attrs.frozen
class EffectStep:
    """One rating effect that applied (issue #10 A3), in the documented order of application.

    kind: ``score`` (a veto's ``then score E``: before/after are scores), ``requires`` (a band's
    requirement failed: the unit fell to the next lower band), ``cap``, ``downgrade``, ``rating``
    (``then rating R``) or ``vetoed`` (a veto without effect: 一票否决); for these, before/after are
    ratings.  ``clause`` names the veto (or, for ``requires``, the band's rating).  ``quota`` (issue
    #11 C, step 10): a cohort quota demoted the unit; ``clause`` is the cohort, ``label`` the quota as
    written, ``value`` a mapping (band, to, percent, limit, base, of_ranked, rank).
    """

    kind: str
    clause: str
    label: str | None
    citation: str | None
    value: object  # the score set, the cap/forced rating, the number of bands, None for requires
    before: object
    after: object

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "clause": self.clause, "label": self.label, "citation": self.citation,
                "value": jsonable(self.value), "before": jsonable(self.before), "after": jsonable(self.after)}


@attrs.frozen(slots=False)  # an instance dict: runtime.templates makes one from a template
class Deferral:
    """Items handed to another authority (e.g. 异地车辆较大道路交通事故 → 自治区有关规定)."""

    name: str
    label: str | None
    citation: str | None
    to: str | None
    items: tuple[dict[str, object], ...]
    positions: tuple[int | None, ...] = ()  # each item's 1-based position in the list fact (issue #10 C)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "citation": self.citation, "to": self.to,
                "items": [jsonable(i) for i in self.items], "positions": list(self.positions)}


@attrs.frozen(slots=False)  # an instance dict: runtime.templates makes one from a template
class MoneyItem:
    kind: str  # reward | fine | share | sanction
    name: str
    label: str | None
    amount: Decimal | None
    citation: str | None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "label": self.label,
                "amount": None if self.amount is None else str(self.amount), "citation": self.citation}


@attrs.frozen(slots=False)  # an instance dict: runtime.templates makes one from a template
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


#: the classes jsonable returns as they are (exactly these classes: a subclass takes the tests below)
_AS_IS = frozenset({str, int, bool, float, type(None)})


def jsonable(value: object) -> object:
    """Turn engine values into JSON-safe ones: Decimal/date → str, tuples → lists."""
    cls = value.__class__
    if cls in _AS_IS:  # most values of a record or a veto's facts: what the tests below return unchanged
        return value
    if cls is dict:
        return {str(k): jsonable(v) for k, v in value.items()}  # type: ignore[attr-defined]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.date,)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def item_positions(facts: Mapping[str, object], items: Any) -> tuple[int | None, ...]:
    """The 1-based position of each of ``items`` in the list fact it came from (None: in none).

    Why by identity: evidence and deferred items are the very records of the unit's list
    facts (the evaluators never copy them), so two equal accidents are still two objects,
    and the evaluators need not count positions for every unit — only a result that shows
    evidence asks, once.

    Records only: a plain value (an int of a ``list of int``) is no object of its own — two
    equal small ints are one object — so its position is None rather than a wrong number.
    """
    return positions_among(facts.values(), items)


def positions_among(values: Iterable[object], items: Any) -> tuple[int | None, ...]:
    """:func:`item_positions` over the fact values themselves (a result holding them as a tuple, in
    ``plan.facts`` order, need not build the dict of its facts for this)."""
    wanted = {id(item) for item in items if isinstance(item, dict)}
    found: dict[int, int] = {}
    if wanted:
        for value in values:
            if isinstance(value, (list, tuple)):
                for position, item in enumerate(value, 1):
                    if id(item) in wanted and isinstance(item, dict):
                        found[id(item)] = position
    return tuple(found.get(id(item)) if isinstance(item, dict) else None for item in items)


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
    def effects(self) -> tuple[EffectStep, ...]: ...

    @property
    def raw_score(self) -> Decimal: ...

    # issue #11 C: a cohort policy's standing (None otherwise), its rank row, why it is provisional
    @property
    def standing(self) -> Standing | None: ...
    @property
    def rank_row(self) -> RankRow: ...
    @property
    def provisional(self) -> str | None: ...
    @property
    def consequences(self) -> Consequences: ...
    @property
    def general_consequences(self) -> tuple[Consequences, ...]: ...
    @property
    def reported(self) -> dict[str, Reported]: ...

    @property
    def periods(self) -> tuple[PeriodResult, ...]: ...  # issue #11 P (empty without periods)


@attrs.frozen
class Reported:
    """A ``let … report`` value (issue #10): a result the scheme names, e.g. a quarter's 等次."""

    name: str
    label: str | None
    citation: str | None
    value: object  # as people read it (enum members by name)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "citation": self.citation, "value": jsonable(self.value)}


#: One evaluated outcome: the declaration, its raw total, and each item with its amount
#: (``NOT_APPLICABLE`` for an item whose ``for`` or ``when`` left it out).
OutcomeLines = tuple[ast.OutcomeDecl, Any, tuple[tuple[ast.OutcomeItem, Any], ...]]


def outcome_lines(checked: CheckedPolicy, rating: str, raw: Any) -> tuple[OutcomeLines, ...]:
    """The rating's own outcome (if any), then each outcome for every rating, from the raw outcome."""
    own_raw, general_raw = raw if checked.general_outcomes else (raw, ())
    out: list[OutcomeLines] = []
    own = checked.outcomes.get(rating)
    if own is not None:
        total, amounts = own_raw if own_raw is not None else (Decimal(0), ())
        out.append((own, total, tuple(zip(own.items, amounts))))
    for decl, (total, amounts) in zip(checked.general_outcomes, general_raw):
        out.append((decl, total, tuple(zip(decl.items, amounts))))
    return tuple(out)


def applies(amount: object) -> bool:
    """Whether an item's raw amount says it applies."""
    return not (amount.__class__ is str and amount == NOT_APPLICABLE)


def consequences_of(rating: str, lines: OutcomeLines | None) -> Consequences:
    """The :class:`Consequences` of one evaluated outcome; items that do not apply are left out."""
    from ..numeric import to_fen

    if lines is None:
        return Consequences(rating, None, "none", Decimal("0.00"), (), ())
    decl, total, pairs = lines
    items = tuple(MoneyItem(item.kind, item.name, item.label, amount, item.cite or decl.cite)
                  for item, amount in pairs if applies(amount))
    kinds = {i.kind for i in items}
    kind = "reward" if "reward" in kinds else "fine" if "fine" in kinds else "none"
    return Consequences(rating, decl.cite, kind, to_fen(total), items, decl.notes)


@attrs.frozen
class PeriodResult:
    """One period of a policy with periods (issue #11 P): its own score, band rating and sections.

    ``weighted`` is ``weight × score`` (the weight a fraction: 25% is 0.25), what the period adds
    to the assessment's score; a period of weight 0 is assessed and shown but adds nothing.
    ``rating`` is the band of the unit's category the period's score falls in (bands only:
    ``requires`` and rating effects belong to the assessment).
    """

    name: str
    label: str | None
    weight: Decimal  # the percent as written (25 for 25%)
    score: Decimal
    rating: str
    rating_label: str
    sections: dict[str, SectionResult]
    weighted: Decimal
    targets: tuple[TargetResult, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "weight": plain(self.weight), "score": plain(self.score),
                "rating": self.rating, "rating_label": self.rating_label, "weighted": plain(self.weighted),
                "sections": {k: v.to_dict() for k, v in self.sections.items()},
                "targets": [t.to_dict() for t in self.targets if t.section in self.sections]}

