"""What the checker's passes share: the context, the scope of an expression, the services.

The passes (``structure``, ``facts``, ``lets``, ``targets``, ``effects``, ``bands``,
``outcomes``, ``plans``) never import each other.  What one needs from another goes
through the :class:`Context` the driver builds (mypy's ``checker_shared`` shape):

* ``ctx.exprs.expr(e, scope)`` types an expression (``exprs.ExpressionChecker``);
* ``ctx.consts`` folds constants: params, defaults, bounds (``consts.ConstEvaluator``);
* ``ctx.lets.check_let(name)`` types a let on first use (``lets.LetChecker``), because a
  rule may read a let declared further down.

The context also holds the declarations by name (:class:`~.symbols.Symbols`), what
passes derive about them (fact types, defaults, let types ...) and the three side
tables the later stages read: ``types`` and ``resolutions`` of expressions and the
``reads`` of rules, vetoes, defers, lets and outcome items, keyed by the node itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

import attrs

from ...source import Span
from .. import ast
from ..linker import LinkedPolicy
from ..model import Reader, Resolution
from ..types import TYPE_ALIASES, Type
from .diagnostics import Collector, did_you_mean
from .symbols import Symbols

#: A checked bound: low, high, low_closed, high_closed (None for an open side).
Bounds = tuple[object, object, bool, bool]


@attrs.frozen
class Scope:
    """Where an expression is checked: enclosing list items, record, categories, narrowed names."""

    items: tuple[Type, ...] = ()
    record: str | None = None
    categories: frozenset[str] | None = None  # None: every category
    narrowed: frozenset[str] = frozenset()
    outcome_items: tuple[str, ...] = ()
    constants_only: bool = False
    # named items (``L as NAME``, issue #10 C): (name, depth into ``items``), innermost last
    named: tuple[tuple[str, int], ...] = ()
    # when the expression is evaluated (issue #10 A2): "pre" before the score (targets, defers,
    # lets that read no score), "let" a let (reading a score makes it a post-scoring let),
    # "post" after the score (vetoes, their effects, band ``requires``, outcomes)
    stage: str = "pre"
    # issue #16: checking a ledger rule (the ledger's name): bare names are the event's fields
    # (``record`` is the ledger's record), and a unit fact is read only through a join term
    ledger: str | None = None

    def narrow(self, names: Iterable[str]) -> Scope:
        names = frozenset(names)
        return attrs.evolve(self, narrowed=self.narrowed | names) if names else self


class ExprApi(Protocol):
    def expr(self, e: ast.Expr, scope: Scope) -> Type:
        """The type of ``e`` in ``scope``, recorded in ``ctx.types`` (errors reported)."""

    def item_scope(self, scope: Scope, elem: Type, name: str | None, span: Span) -> Scope:
        """``scope`` with one more list item of type ``elem``, named ``name`` when given (K210 shadowing)."""

    def asserted(self, e: ast.Expr, truth: bool) -> tuple[str, ...]:
        """The optional names known to be set when ``e`` is ``truth`` (flow narrowing)."""


class ConstApi(Protocol):
    def const(self, expr: ast.Expr, what: str) -> object:
        """The value of a constant expression, or None after reporting K114/K115."""

    def param_value(self, name: str) -> object:
        """The value of param ``name``, checking it on first use (K131 for a cycle)."""

    def try_const(self, expr: ast.Expr) -> object:
        """The value of ``expr`` if it is a constant, else None (nothing reported)."""

    def default_value(self, expr: ast.Expr | None, ftype: Type, name: str) -> object:
        """The checked default of a fact or field (``MISSING`` when it has none)."""

    def bounds(self, constraint: ast.Constraint | None, ftype: Type, name: str) -> Bounds | None:
        """The checked ``>= x`` / ``in a..b`` bound of a fact or field."""


class LetApi(Protocol):
    def check_let(self, name: str) -> Type:
        """The type of let ``name``, checking it on first use (K130 for a cycle)."""


class ScoreApi(Protocol):
    def name(self, e: ast.Name, scope: Scope) -> Type | None:
        """The bare name ``score`` read in ``scope``: its type, or None when it means a user's declaration."""

    def call(self, e: ast.Call, scope: Scope) -> Type:
        """``score(X)``: a target's or a section's score, resolved in the categories of ``scope``."""

    def post_let(self, e: ast.Name, scope: Scope) -> None:
        """A post-scoring let read in ``scope`` (K200 where the score is not computed yet)."""


class PeriodApi(Protocol):
    """What period names mean where read (issue #11 P; ``check/periods.py``)."""

    def name(self, e: ast.Name, scope: Scope) -> Type | None:
        """``periods``, ``period`` or a period's bare name in ``scope`` (None: none of these, or no periods)."""

    def record(self, e: ast.Member, scope: Scope) -> Type | None:
        """``一季度.field``'s object as a period's record (None: the object is not a period's name)."""

    def rating(self, e: ast.Name) -> Type | None:
        """A rating's name as a value (only in a policy with periods; None otherwise)."""

    def rating_options(self) -> list[str]:
        """The rating names a misspelt name may have meant (none without periods)."""

    def fact(self, e: ast.Name, scope: Scope) -> None:
        """A fact read in ``scope``: a per-period one is refused after the combination (K243)."""

    def let(self, e: ast.Name, scope: Scope) -> None:
        """A let or deferred list read in ``scope``: one computed from a per-period value likewise."""

    def compare(self, e: ast.Compare, a: Type, b: Type, scope: Scope) -> bool:
        """A comparison of ratings or periods, checked here (True), or not one (False)."""

    def streak(self, e: ast.Aggregate) -> Type:
        """The type of ``streak(L where C)`` (K246 for a misuse)."""

    def per_period(self, name: str) -> bool:
        """Whether let or deferred list ``name`` reads a per-period value."""

    def names(self) -> list[str]:
        """The declared periods' names, in order (empty without periods)."""
class CohortApi(Protocol):
    def name(self, e: ast.Name, scope: Scope) -> Type | None:
        """A cohort value (``rank``, ``best`` …) read in ``scope``: its type, or None when the name means another thing."""


class Context:
    """The state every pass reads and extends; the driver creates one per check."""

    exprs: ExprApi
    consts: ConstApi
    lets: LetApi
    scores: ScoreApi
    periods: PeriodApi
    cohort: CohortApi  # cohort values (issue #11 C; check/cohort.py)

    def __init__(self, linked: LinkedPolicy, diag: Collector, sym: Symbols) -> None:
        self.linked = linked
        self.diag = diag
        self.sym = sym
        # side tables for the later stages, keyed by the node itself
        self.types: dict[ast.Expr, Type] = {}
        self.res: dict[ast.Expr, Resolution] = {}
        self.reads: dict[Reader, tuple[str, ...]] = {}
        # derived by the passes
        self.record_fields: dict[str, dict[str, Type]] = {}  # includes record lets
        self.record_let_order: dict[str, tuple[str, ...]] = {}
        self.field_defaults: dict[tuple[str, str], object] = {}
        self.field_bounds: dict[tuple[str, str], Bounds | None] = {}
        self.fact_types: dict[str, Type] = {}
        self.fact_defaults: dict[str, object] = {}
        self.fact_bounds: dict[str, Bounds | None] = {}
        self.param_values: dict[str, object] = {}
        self.param_types: dict[str, Type] = {}
        self.let_types: dict[str, Type] = {}
        self.let_deps: dict[str, set[str]] = {}
        self.let_avail: dict[str, frozenset[str] | None] = {}  # categories whose units supply a let's facts
        self.facts_read: set[str] = set()
        # issue #16: each map's result type (optional unless total), set by the maps pass
        self.map_types: dict[str, Type] = {}
        self.map_values: dict[str, dict[int, object]] = {}  # map -> source member index -> value
        self.ledger_plans: list[object] = []  # the checked ledgers (model.LedgerPlan), set by the ledger pass
        # bonus points (加分): each category's highest possible score (None: unbounded), set by the bonus pass
        self.maxima: dict[str, Decimal | None] = {}
        # while checking a let, rule, veto, defer or outcome item: the names it reads, the
        # categories its facts allow (innermost last)
        self.reading: list[set[str]] = []
        self.fact_restrictions: list[set[str]] = []
        # scores as values (issue #10 A2): while checking a let, the scores it reads (innermost
        # last); the post-scoring lets with what makes each one so ("score", "score(X)",
        # "let L"); the score(X) keys a let reads, for the per-category check in the plans
        self.score_reading: list[set[str]] = []
        self.post_lets: dict[str, str] = {}
        self.let_score_keys: dict[str, set[tuple[str, str, Span]]] = {}

    def note_read(self, name: str) -> None:
        for reading in self.reading:
            reading.add(name)

    def resolve_type(self, ref: ast.TypeRef) -> Type:
        """The type a written type names (K102 for an unknown one)."""
        sym = self.sym
        if ref.is_list:
            if ref.name in sym.records:
                elem = Type("record", ref.name)
            elif ref.name in sym.enums:
                elem = Type("enum", ref.name)
            elif ref.name in TYPE_ALIASES:
                elem = Type(TYPE_ALIASES[ref.name])
            else:
                return self.diag.error("K102", f"unknown type '{ref.name}'", ref.span,
                                       hint=did_you_mean(ref.name, list(sym.records) + list(sym.enums)))
            return Type("list", elem=elem, optional=ref.optional)
        if ref.name in TYPE_ALIASES:
            return Type(TYPE_ALIASES[ref.name], optional=ref.optional)
        if ref.name in sym.enums:
            return Type("enum", ref.name, optional=ref.optional)
        if ref.name in sym.records:
            return Type("record", ref.name, optional=ref.optional)
        return self.diag.error("K102", f"unknown type '{ref.name}'", ref.span,
                               hint=did_you_mean(ref.name, list(TYPE_ALIASES) + list(sym.enums) + list(sym.records)))

    def category_refs(self, names: tuple[str, ...], span: Span, what: str) -> frozenset[str] | None:
        """The categories a ``for`` list names (K112 for unknown ones); None when it names none."""
        for name in names:
            if name not in self.sym.categories:
                self.diag.error("K112", f"{what} names unknown category '{name}'", span,
                                hint=did_you_mean(name, self.sym.categories))
        return frozenset(names) if names else None


def as_decimal(value: object) -> Decimal | None:
    """A folded constant as a Decimal, or None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    return None


def is_zero_literal(e: ast.Expr | None) -> bool:
    """A bare ``0`` means zero of any unit (``金额 >= 0`` needs no ``元``)."""
    return isinstance(e, ast.Number) and e.value == 0

