"""The checked policy: what the checker proves and the compiler consumes.

Everything here is resolved and constant-folded: section points, band edges and
parameter values are exact ``Decimal`` values, every expression has a type and
every name a resolution.  The compiler and the runtime read this model and the
AST nodes it references, never the source text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Union

import attrs

from ..errors import Diagnostic
from ..source import Span
from . import abi, ast
from .types import Type

Const = Union[Decimal, int, bool, str, "object", None]


@attrs.frozen
class Resolution:
    """What a name in an expression refers to.

    kind: fact | param | let | alias (a deferral's kept list) | checkpoint | enum (value = member
    index) | field (depth = item nesting level, counted from the outermost aggregate) |
    record_field (inside a record's own ``let``) | outcome_item | enum_type | score (the unit's
    score before score effects) | score_of (name ``target`` or ``section``, value the path written
    in ``score(X)``; a section path is looked up with :meth:`CategoryInfo.section_named`).
    """

    kind: str
    name: str
    value: object = None
    depth: int = 0


@attrs.frozen
class SectionInfo:
    name: str
    path: tuple[str, ...]  # without the category
    label: str | None
    points: Decimal
    cite: str | None
    children: tuple[SectionInfo, ...]
    span: Span
    bonus: bool = False  # a bonus section (加分): outside the total, its targets add points
    cap: Decimal | None = None  # a bonus section's cap (None: uncapped)
    periods: tuple[str, ...] = ()  # ``only in`` (issue #11 P): the periods it is assessed in; (): every one

    def in_period(self, name: str) -> bool:
        """Whether the section is assessed in period ``name`` (issue #11 P)."""
        return not self.periods or name in self.periods

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> list[SectionInfo]:
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@attrs.frozen
class CategoryInfo:
    name: str
    label: str | None
    total: Decimal
    cite: str | None
    sections: tuple[SectionInfo, ...]
    span: Span
    bonus_cap: Decimal | None = None  # ``total N bonus cap M``: the cap of all bonus sections (None: uncapped)

    @property
    def has_bonus(self) -> bool:
        """Whether the category has bonus sections (加分): then score = base + bonus."""
        return any(s.bonus for s in self.sections)

    def all_sections(self) -> list[SectionInfo]:
        out: list[SectionInfo] = []
        for section in self.sections:
            out.extend(section.walk())
        return out

    def section_named(self, path: tuple[str, ...]) -> SectionInfo | None:
        """The section ``score(X)`` names: its path from the category, or its own name when unique."""
        sections = self.all_sections()
        for s in sections:
            if s.path == path:
                return s
        named = [s for s in sections if len(path) == 1 and s.name == path[0]]
        return named[0] if len(named) == 1 else None


@attrs.frozen
class PlacedTarget:
    """A target as it applies to one category: its leaf section and its points there."""

    target: ast.TargetDecl
    category: str
    section: tuple[str, ...]
    points: Decimal  # a bonus target: 0
    bonus: bool = False  # placed in a bonus section: starts at 0, its ``add`` rules add to it
    cap: Decimal | None = None  # a bonus target's item cap (None: uncapped)


@attrs.frozen
class BandInfo:
    rating: str
    low: Decimal
    low_closed: bool
    high: Decimal
    high_closed: bool
    cite: str | None
    span: Span
    requires: ast.Expr | None = None  # ``requires COND`` (issue #10 A3)

    def contains(self, score: Decimal) -> bool:
        above = score >= self.low if self.low_closed else score > self.low
        below = score <= self.high if self.high_closed else score < self.high
        return above and below

    @property
    def open_top(self) -> bool:
        """An open top band (``优秀 >= 90``): its upper edge is infinite."""
        return self.high.is_infinite()

    def describe(self) -> str:
        if self.open_top:
            return f"{'>=' if self.low_closed else '>'} {self.low}"
        return f"{'[' if self.low_closed else '('}{self.low}, {self.high}{']' if self.high_closed else ')'}"


@attrs.frozen
class CategoryPlan:
    """What evaluating a unit of one category needs, in order."""

    category: CategoryInfo
    lets: tuple[str, ...]  # topologically ordered
    defers: tuple[ast.DeferDecl, ...]
    targets: tuple[PlacedTarget, ...]
    vetoes: tuple[ast.VetoDecl, ...]
    bands: tuple[BandInfo, ...]  # ascending by score
    facts: tuple[str, ...]  # facts a unit of this category may supply
    maximum: Decimal | None = None  # the highest possible score (total + bonus caps); None: unbounded
    post_lets: tuple[str, ...] = ()  # lets that read a score: computed after it (issue #10 A2)
    # issue #16: the lets a defer takes items from (and what they read), computed before the defers
    pre_lets: tuple[str, ...] = ()

    @property
    def staged(self) -> bool:
        """Whether the category has rating effects or band ``requires`` (issue #10 A3): else the
        rating is today's (bands, and the vetoed rating for any veto) and no effect code is generated."""
        return any(v.effect is not None for v in self.vetoes) or any(b.requires is not None for b in self.bands)


@attrs.frozen
class QuotaPlan:
    """One checked ``quota`` clause: its band (a rating name) and its limit, folded."""

    clause: int  # its index in the cohort declaration
    band: str
    limit: int | None  # ``at most N``
    share: Decimal | None  # ``at most P%``: P / 100 (0..1) of the base, rounded down (不超过)
    of_ranked: bool
    categories: tuple[str, ...]  # the ranked categories it applies to
    decl: ast.Quota

    @property
    def percent(self) -> str | None:
        """``30%`` for ``at most 30%`` (plain, without trailing zeros); None for a count."""
        if self.share is None:
            return None
        text = format(self.share * 100, "f")
        return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"

    def describe(self) -> str:
        """``优秀 at most 30% of ranked`` as written (for messages)."""
        amount = self.percent or str(self.limit)
        return f"{self.band} at most {amount}{' of ranked' if self.of_ranked else ''}"


#: The cohort values (issue #11 C): contextual built-in names, only in a policy with a cohort block.
COHORT_VALUES: dict[str, Type] = {
    "rank": Type("int", optional=True),
    "ranked_count": Type("int"),
    "unit_count": Type("int"),
    "best": Type("decimal", optional=True),
    "average": Type("decimal", optional=True),
}


@attrs.frozen
class CohortPlan:
    """The checked cohort block (issue #11 C): what the code generator and the cohort stage need."""

    decl: ast.CohortDecl
    categories: tuple[str, ...]  # the categories ranked (each on its own), in declaration order
    bands: dict[str, tuple[str, ...]]  # every category -> the ratings of its bands, best first
    quotas: tuple[QuotaPlan, ...]  # in declaration order

    @property
    def name(self) -> str:
        return self.decl.name

    def quotas_for(self, category: str) -> tuple[QuotaPlan, ...]:
        return tuple(q for q in self.quotas if category in q.categories)

    def band_index(self, category: str, rating: str) -> int:
        """The rating's index among the category's bands, best first; below all of them when it is no band."""
        bands = self.bands.get(category, ())
        return bands.index(rating) if rating in bands else len(bands)


@attrs.frozen
class JoinPlan:
    """A checked join term (issue #16): ``unit.F == E`` (``eq``) or ``E in unit.F`` (``in``).

    ``unit_fact`` is the fact's name, or ``runtime.ledger.UNIT_ID`` / ``UNIT_NAME`` (``:id`` /
    ``:name``) for the unit's identity; ``value`` is E; ``reads`` the event fields E reads
    (record lets expanded to the fields they read).
    """

    term: ast.JoinTerm
    unit_fact: str
    mode: str
    value: ast.Expr
    reads: tuple[str, ...]


@attrs.frozen
class LedgerRulePlan:
    """A checked attribution rule: its declaration, the categories it charges (every category
    for ``unit``/``units``) and the event fields its condition and join values read."""

    rule: ast.LedgerRule
    categories: tuple[str, ...] = ()
    joins: tuple[JoinPlan, ...] = ()
    reads: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.rule.KIND

    @property
    def condition(self) -> ast.Expr | None:
        return self.rule.condition


@attrs.frozen
class LedgerPlan:
    """A checked ``ledger`` declaration (issue #16), what the compiler turns into a ``LedgerSpec``."""

    decl: ast.LedgerDecl
    fact: str | None  # the unit fact declared ``from`` it (None: no fact reads it, K267)
    rules: tuple[LedgerRulePlan, ...]
    shown: tuple[tuple[str, str | None], ...]  # ``shown as``: (literal text, field or None) pairs; () = default
    unit_facts: tuple[str, ...]  # every unit fact a join term reads, in first-use order

    @property
    def name(self) -> str:
        return self.decl.name


#: The default of a fact or field that has none (``fact_defaults``/``field_defaults``);
#: the one instance lives in :mod:`abi`, the contract generated code and the runtime share.
MISSING = abi.MISSING

#: The nodes whose reads the checker records (side table ``CheckedPolicy.reads``).
Reader = ast.Rule | ast.VetoDecl | ast.DeferDecl | ast.LetDecl | ast.OutcomeItem | ast.Band


@attrs.frozen
class CheckedPolicy:
    header: ast.Header
    lineage: tuple[str, ...]
    categories: dict[str, CategoryInfo]
    enums: dict[str, ast.EnumDecl]
    records: dict[str, ast.RecordDecl]
    record_fields: dict[str, dict[str, Type]]  # includes record lets
    record_let_order: dict[str, tuple[str, ...]]
    facts: dict[str, ast.FactDecl]
    fact_types: dict[str, Type]
    fact_defaults: dict[str, object]
    fact_bounds: dict[str, tuple[object, object, bool, bool] | None]  # low, high, low_closed, high_closed
    field_defaults: dict[tuple[str, str], object]
    field_bounds: dict[tuple[str, str], tuple[object, object, bool, bool] | None]
    params: dict[str, ast.ParamDecl]
    param_values: dict[str, object]
    param_types: dict[str, Type]
    lets: dict[str, ast.LetDecl]
    let_types: dict[str, Type]
    defers: tuple[ast.DeferDecl, ...]
    targets: tuple[ast.TargetDecl, ...]
    vetoes: tuple[ast.VetoDecl, ...]
    ratings: ast.RatingsDecl
    outcomes: dict[str, ast.OutcomeDecl]
    checkpoints: dict[str, ast.Checkpoint]
    plans: dict[str, CategoryPlan]
    types: dict[ast.Expr, Type]  # keyed by the node itself (nodes hash by identity)
    resolutions: dict[ast.Expr, Resolution]
    reads: dict[Reader, tuple[str, ...]]  # node -> names of facts/params/lets it reads
    warnings: tuple[Diagnostic, ...]
    content_hash: str
    # issue #10: outcomes for every rating (applied after the rating's own) and the reported lets
    general_outcomes: tuple[ast.OutcomeDecl, ...] = ()
    reported: tuple[str, ...] = ()
    # issue #11 P: the checkpoints within the assessment (None: scored once, as before)
    periods: ast.PeriodsDecl | None = None

    @property
    def period_facts(self) -> tuple[str, ...]:
        """The ``per period`` facts (issue #11 P), in declaration order."""
        return tuple(name for name, decl in self.facts.items() if decl.per_period)
    cohort: CohortPlan | None = None  # the cohort block (issue #11 C), None without one
    # issue #16: the checked ledgers in declaration order, and the maps with their folded tables
    ledgers: tuple[LedgerPlan, ...] = ()
    maps: dict[str, ast.MapDecl] = attrs.field(factory=dict)
    map_values: dict[str, dict[int, object]] = attrs.field(factory=dict)  # map -> source member index -> value

    def ledger_named(self, name: str) -> LedgerPlan | None:
        """The checked ledger ``name`` (issue #16), or None."""
        return next((plan for plan in self.ledgers if plan.name == name), None)

    def rating_index(self, name: str) -> int:
        return [r.name for r in self.ratings.ratings].index(name)

    def rating_label(self, name: str) -> str:
        for rating in self.ratings.ratings:
            if rating.name == name:
                return rating.label or rating.name
        return name
