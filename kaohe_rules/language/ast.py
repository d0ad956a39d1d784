"""The typed abstract syntax tree of a kaohe policy.

Plain declarative, frozen ``attrs`` classes: one class per construct, every
node with the :class:`~kaohe_rules.source.Span` it came from.  Nodes compare and
hash by identity (``eq=False``, as Jinja2's and mypy's nodes do), so the checker's
side tables can be keyed by the node itself; :func:`shape` gives the span-free
structural value for the few places that want equality by content (the K160
duplicate-rule check, the formatter's round-trip law).  The AST is what
the checker, the compiler, the formatter and the explainer read; nothing after
the builder looks at source text or at Lark trees.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import ClassVar, NamedTuple, assert_never

import attrs

from ..source import Span

# --------------------------------------------------------------- expressions


@attrs.frozen(kw_only=True, eq=False)
class Number:
    value: Decimal
    is_int: bool
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class MoneyLit:
    value: Decimal  # in yuan
    text: str  # as written, e.g. "100万元"
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class PercentLit:
    value: Decimal  # 30 for 30%
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class DateLit:
    value: datetime.date
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class TextLit:
    value: str
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class BoolLit:
    value: bool
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class NoneLit:
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class EmptyList:
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class It:
    """The current item inside ``where`` / ``of`` of an aggregate."""

    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Name:
    ident: str
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Member:
    obj: Expr
    field: str
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Neg:
    operand: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Binary:
    op: str  # + - * /
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class InRange:
    value: Expr
    low: Expr
    high: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class And:
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Or:
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Not:
    operand: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class If:
    cond: Expr
    then: Expr
    otherwise: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class IsSet:
    """``x is set`` (``expect_set`` true) or ``x is none`` (false)."""

    operand: Expr
    expect_set: bool
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Coalesce:
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Aggregate:
    """``count/sum/any/all/min/max(LIST [as NAME] [of EXPR] [where COND] [by KEY])``."""

    func: str
    source: Expr
    of: Expr | None
    where: Expr | None
    span: Span
    # issue #10 C: the item's own name (``as a``; ``it`` and bare fields still work) and the
    # group-by key (``by 项目``: sum takes the highest value per key, count the distinct keys)
    name: str | None = None
    by: Expr | None = None


@attrs.frozen(kw_only=True, eq=False)
class Extremum:
    """``min(a, b, ...)`` / ``max(a, b, ...)`` over values."""

    func: str
    args: tuple[Expr, ...]
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class ListLit:
    """``[a, b, …]`` (issue #16): a list literal, mostly the right side of ``x in [a, b]``."""

    items: tuple[Expr, ...]
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class InList:
    """``x in L`` (issue #16): whether ``x`` is an element of the list ``L`` (a literal or a list value)."""

    value: Expr
    container: Expr
    span: Span


Expr = (
    Number
    | MoneyLit
    | PercentLit
    | DateLit
    | TextLit
    | BoolLit
    | NoneLit
    | EmptyList
    | It
    | Name
    | Member
    | Neg
    | Binary
    | Compare
    | InRange
    | And
    | Or
    | Not
    | If
    | IsSet
    | Coalesce
    | Call
    | Aggregate
    | Extremum
    | ListLit
    | InList
)

# ------------------------------------------------------------------- types


@attrs.frozen(kw_only=True, eq=False)
class TypeRef:
    name: str
    is_list: bool
    optional: bool
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Constraint:
    """``>= x`` style bound (op set, low = the bound) or ``in low..high`` (op None)."""

    op: str | None
    low: Expr
    high: Expr | None
    span: Span


# ------------------------------------------------------------ declarations


@attrs.frozen(kw_only=True, eq=False)
class Header:
    name: str
    label: str | None
    extends: str | None
    document: str | None
    issuer: str | None
    adopted: datetime.date | None
    issued: datetime.date | None
    period: tuple[datetime.date, datetime.date] | None
    notes: tuple[str, ...]
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Checkpoint:
    name: str
    label: str | None
    start: datetime.date | None  # None for a due date
    end: datetime.date
    categories: tuple[str, ...]
    cite: str | None
    note: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Section:
    name: str
    label: str | None
    points: Expr  # a bonus section: a synthetic 0 (it is outside the total)
    cite: str | None
    children: tuple[Section, ...]
    span: Span
    bonus: bool = False  # ``section NAME bonus [cap N]``: bonus points (加分), not counted in the total
    cap: Expr | None = None  # the bonus section's cap (group cap); None: uncapped
    periods: tuple[str, ...] = ()  # ``only in P, Q`` (issue #11 P): assessed only in those periods; (): every one


@attrs.frozen(kw_only=True, eq=False)
class Category:
    name: str
    label: str | None
    total: Expr
    cite: str | None
    sections: tuple[Section, ...]
    span: Span
    bonus_cap: Expr | None = None  # ``total N bonus cap M``: the cap of all bonus sections together


@attrs.frozen(kw_only=True, eq=False)
class EnumMember:
    name: str
    label: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class EnumDecl:
    name: str
    label: str | None
    ordered: bool
    members: tuple[EnumMember, ...]
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class FieldDecl:
    name: str
    type: TypeRef
    constraint: Constraint | None
    default: Expr | None
    label: str | None
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class LetDecl:
    name: str
    type: TypeRef | None
    value: Expr
    label: str | None
    cite: str | None
    span: Span
    report: bool = False  # ``report``: the value is a result of its own (result.reported), issue #10


@attrs.frozen(kw_only=True, eq=False)
class RecordDecl:
    name: str
    label: str | None
    fields: tuple[FieldDecl, ...]
    lets: tuple[LetDecl, ...]
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class FactDecl:
    name: str
    type: TypeRef
    constraint: Constraint | None
    default: Expr | None
    label: str | None
    categories: tuple[str, ...]
    cite: str | None
    source: str | None
    note: str | None
    span: Span
    per_period: bool = False  # ``per period`` (issue #11 P): one value per declared period
    ledger: str | None = None  # ``from LEDGER`` (issue #16): the events the ledger charges to the unit


@attrs.frozen(kw_only=True, eq=False)
class ParamDecl:
    """``param NAME = value``, or a dated param whose value depends on the policy's period.

    For a dated param ``periods`` lists ``(from_date, value)`` in the written order and
    ``value`` is the first of them; the checker picks the one in force on the first day
    of the policy's ``period`` (OpenFisca-style parameters that change by date).
    """

    name: str
    type: TypeRef | None
    value: Expr
    label: str | None
    cite: str | None
    note: str | None
    span: Span
    periods: tuple[tuple[datetime.date, Expr], ...] = ()


@attrs.frozen(kw_only=True, eq=False)
class DeferDecl:
    name: str
    label: str | None
    source_list: str
    where: Expr
    alias: str
    to: str | None
    categories: tuple[str, ...]
    cite: str | None
    note: str | None
    span: Span
    item_name: str | None = None  # ``from L as NAME where …``: the item named in the condition (issue #10 C)


@attrs.frozen(kw_only=True, eq=False)
class Placement:
    path: tuple[str, ...]  # category, section, subsection...
    points: Expr  # a bonus placement: a synthetic 0
    span: Span
    bonus: bool = False  # ``in PATH [cap N]`` (no points): a placement in a bonus section
    cap: Expr | None = None  # the item cap of a bonus placement


# One class per kind of scoring rule, each with only the parts its kind has.  Consumers
# switch on the class; ``KIND`` is the rule's name in outputs (trace JSON, explanations,
# coverage reports) and never drives behaviour.  Kinds without a ``cite`` clause in the
# grammar carry ``cite = None`` as a class constant, so every rule answers ``.cite``.


@attrs.frozen(kw_only=True, eq=False)
class Full:
    """``full when C``: the target keeps its points only when C holds."""

    KIND: ClassVar[str] = "full"
    cite: ClassVar[None] = None
    condition: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class DeductWhen:
    """``deduct N when C``."""

    KIND: ClassVar[str] = "deduct_when"
    amount: Expr
    condition: Expr
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class DeductUnless:
    """``deduct N unless C``."""

    KIND: ClassVar[str] = "deduct_unless"
    amount: Expr
    condition: Expr
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class DeductPer:
    """``deduct N per COUNT [cap M]``."""

    KIND: ClassVar[str] = "deduct_per"
    amount: Expr
    per: Expr
    cap: Expr | None
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Deduct:
    """``deduct N [cap M]`` (N usually an aggregate)."""

    KIND: ClassVar[str] = "deduct"
    amount: Expr
    cap: Expr | None
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Proportional:
    """``proportional R``: the points scaled by a ratio or percentage."""

    KIND: ClassVar[str] = "proportional"
    cite: ClassVar[None] = None
    amount: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Score:
    """``score S``: the target scores S, clamped to [0, points]."""

    KIND: ClassVar[str] = "score"
    cite: ClassVar[None] = None
    amount: Expr
    span: Span


# Bonus rules (加分): they add to a bonus target, which starts at 0 and is placed only in bonus sections.


@attrs.frozen(kw_only=True, eq=False)
class AddWhen:
    """``add N when C``."""

    KIND: ClassVar[str] = "add_when"
    amount: Expr
    condition: Expr
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class AddUnless:
    """``add N unless C``."""

    KIND: ClassVar[str] = "add_unless"
    amount: Expr
    condition: Expr
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class AddPer:
    """``add N per COUNT [cap M]``."""

    KIND: ClassVar[str] = "add_per"
    amount: Expr
    per: Expr
    cap: Expr | None
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Add:
    """``add E [cap M]``: an amount of bonus points."""

    KIND: ClassVar[str] = "add"
    amount: Expr
    cap: Expr | None
    cite: str | None
    span: Span


Rule = Full | DeductWhen | DeductUnless | DeductPer | Deduct | Proportional | Score | AddWhen | AddUnless | AddPer | Add
BonusRule = AddWhen | AddUnless | AddPer | Add

RULE_CLASSES: tuple[type[Rule], ...] = (Full, DeductWhen, DeductUnless, DeductPer, Deduct, Proportional, Score,
                                        AddWhen, AddUnless, AddPer, Add)
BONUS_RULE_CLASSES: tuple[type[Rule], ...] = (AddWhen, AddUnless, AddPer, Add)
RULE_KINDS = tuple(c.KIND for c in RULE_CLASSES)


class RuleParts(NamedTuple):
    """A rule's expressions by role, ``None`` where its kind has no such part."""

    amount: Expr | None
    condition: Expr | None
    per: Expr | None
    cap: Expr | None


def rule_parts(rule: Rule) -> RuleParts:
    """The parts of any rule, for stages that treat every expression of a rule alike
    (type checking, reads, hoisting); what a rule *means* is decided on its class."""
    if isinstance(rule, Full):
        return RuleParts(None, rule.condition, None, None)
    if isinstance(rule, (DeductWhen, DeductUnless, AddWhen, AddUnless)):
        return RuleParts(rule.amount, rule.condition, None, None)
    if isinstance(rule, (DeductPer, AddPer)):
        return RuleParts(rule.amount, None, rule.per, rule.cap)
    if isinstance(rule, (Deduct, Add)):
        return RuleParts(rule.amount, None, None, rule.cap)
    if isinstance(rule, (Proportional, Score)):
        return RuleParts(rule.amount, None, None, None)
    assert_never(rule)  # a new rule class: mypy names this line until its parts are listed


@attrs.frozen(kw_only=True, eq=False)
class TargetDecl:
    name: str
    label: str | None
    cite: str | None
    note: str | None
    placements: tuple[Placement, ...]
    rules: tuple[Rule, ...]
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class VetoException:
    condition: Expr
    because: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class VetoEffect:
    """What a fired veto does (``then …``, issue #10 A3), applied in the documented order.

    kind: ``rating`` (force ``rating``), ``downgrade`` (by ``amount`` bands), ``cap`` (at most
    ``rating``) or ``score`` (set the score to ``amount``).  A veto without one forces the
    ``vetoed`` rating (一票否决).
    """

    kind: str
    rating: str | None
    amount: Expr | None
    span: Span


#: The effect kinds in the order they are applied after the vetoes are evaluated.
EFFECT_KINDS = ("score", "cap", "downgrade", "rating")


@attrs.frozen(kw_only=True, eq=False)
class VetoDecl:
    name: str
    label: str | None
    cite: str | None
    note: str | None
    categories: tuple[str, ...]
    on_list: Expr | None  # the list for ``on LIST where C``; None for ``when C``
    condition: Expr
    exceptions: tuple[VetoException, ...]
    span: Span
    on_name: str | None = None  # ``on LIST as NAME where C``: the item named in C (issue #10 C)
    effect: VetoEffect | None = None  # None: force the ``vetoed`` rating (一票否决)


@attrs.frozen(kw_only=True, eq=False)
class Rating:
    name: str
    label: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class RatingsDecl:
    ratings: tuple[Rating, ...]
    vetoed: str
    vetoed_span: Span
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Band:
    rating: str
    low: Expr
    low_closed: bool
    high: Expr  # an open top band: the same expression as ``low`` (never read as an edge)
    high_closed: bool
    cite: str | None
    span: Span
    requires: Expr | None = None  # ``requires COND``: a unit failing it falls to the next lower band
    open_top: bool = False  # ``优秀 >= 90`` / ``优秀 > 90``: no upper edge (bonus points)


@attrs.frozen(kw_only=True, eq=False)
class PeriodItem:
    """One period of a ``periods`` block (issue #11 P): ``一季度 "第一季度" weight 25%``."""

    name: str
    label: str | None
    weight: Decimal  # the percent as written (25 for 25%)
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class PeriodsDecl:
    """``periods cite "…" { … }`` (issue #11 P): the checkpoints within one assessment, in order."""

    items: tuple[PeriodItem, ...]
    cite: str | None
    span: Span
    name: str = "periods"  # one block per policy: the name it is overridden and removed by


@attrs.frozen(kw_only=True, eq=False)
class BandsDecl:
    category: str
    cite: str | None
    bands: tuple[Band, ...]
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class OutcomeItem:
    """``reward``/``fine``/``share``/``sanction`` line; amount None means ``rest`` for shares.

    ``condition`` (``when C``) and ``categories`` (``for CATS``) make the item conditional:
    an item that does not apply is absent from the result (issue #10, item 4).
    """

    kind: str
    name: str
    label: str | None
    amount: Expr | None
    cite: str | None
    span: Span
    condition: Expr | None = None
    categories: tuple[str, ...] = ()

    @property
    def conditional(self) -> bool:
        return self.condition is not None or bool(self.categories)


@attrs.frozen(kw_only=True, eq=False)
class OutcomeDecl:
    """``outcome RATING { … }``; ``rating`` is "" for ``outcome { … }``, which applies whatever the rating."""

    rating: str
    cite: str | None
    items: tuple[OutcomeItem, ...]
    notes: tuple[str, ...]
    span: Span

    @property
    def for_every_rating(self) -> bool:
        return not self.rating


# ------------------------------------------------------------------ cohorts (issue #11 C)


@attrs.frozen(kw_only=True, eq=False)
class CohortKey:
    """One ranking key of ``by``: an expression, ``higher first`` (the default) or ``lower first``.

    The bare key ``score`` (the whole key) is the unit's final score, after score effects.
    """

    value: Expr
    lower_first: bool
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Quota:
    """``quota BAND at most N`` | ``at most P%`` [``of ranked``] [``for CATS``] [``cite``]."""

    band: str
    limit: Expr  # an int constant (a count) or a percent constant (a share of the base, rounded down)
    of_ranked: bool  # the base is the ranked units, not every unit of the category assessed (参评单位)
    categories: tuple[str, ...]
    cite: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class CohortDecl:
    """``cohort NAME "label" cite … { for …; among …; by …; ties share; quota … }`` (issue #11 C).

    ``keys`` empty: no ``by`` was written (the checker reports it); ``ties`` None: no ``ties``
    (the checker reports it; ``share`` is the only tie rule).
    """

    name: str
    label: str | None
    cite: str | None
    categories: tuple[str, ...]  # ``for``: the categories ranked; empty = every category
    among: Expr | None
    keys: tuple[CohortKey, ...]
    ties: str | None
    quotas: tuple[Quota, ...]
    span: Span


# ------------------------------------------------------------------ ledgers and maps (issue #16)


@attrs.frozen(kw_only=True, eq=False)
class JoinTerm:
    """One term of a charge rule's ``where``, as written (``expr``), and its reading.

    ``unit.F == E`` / ``E == unit.F`` (mode ``eq``) and ``E in unit.F`` (mode ``in``) are read
    by the builder into ``unit_fact`` (F, or ``id`` / ``name`` for the unit's identity) and
    ``value`` (E); any other shape keeps ``unit_fact`` None and the checker names it (K262).
    """

    expr: Expr
    span: Span
    unit_fact: str | None = None
    mode: str = "eq"  # "eq" | "in"
    value: Expr | None = None


@attrs.frozen(kw_only=True, eq=False)
class LedgerExclude:
    """``exclude NAME [LABEL] when COND [because "TEXT"]``: the event reaches no unit."""

    KIND: ClassVar[str] = "exclude"
    name: str
    label: str | None
    condition: Expr
    because: str | None
    cite: str | None
    note: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class LedgerHandOver:
    """``hand over NAME [LABEL] when COND to "AUTHORITY"``: the event goes to another authority."""

    KIND: ClassVar[str] = "hand_over"
    name: str
    label: str | None
    condition: Expr
    to: str
    cite: str | None
    note: str | None
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class LedgerCharge:
    """``charge NAME [LABEL] to CATS [where JOIN] [when COND]``: the event is an item of each matching unit.

    ``categories`` as written (``unit``/``units`` = every category); ``joins`` the ``and``-terms of
    ``where`` (empty: every unit of the categories); ``condition`` None: every event that is left.
    """

    KIND: ClassVar[str] = "charge"
    name: str
    label: str | None
    categories: tuple[str, ...]
    joins: tuple[JoinTerm, ...]
    condition: Expr | None
    cite: str | None
    note: str | None
    span: Span
    where: Expr | None = None  # the ``where`` expression as written (the formatter prints it)


LedgerRule = LedgerExclude | LedgerHandOver | LedgerCharge


@attrs.frozen(kw_only=True, eq=False)
class LedgerDecl:
    """``ledger NAME [LABEL] of RECORD [key F] [shown as "T"] [cite/source/note] { rules }`` (issue #16)."""

    name: str
    label: str | None
    record: str
    key: str | None
    shown: str | None
    cite: str | None
    source: str | None
    note: str | None
    rules: tuple[LedgerRule, ...]
    span: Span
    record_span: Span | None = None
    key_span: Span | None = None
    shown_span: Span | None = None


@attrs.frozen(kw_only=True, eq=False)
class MapEntry:
    """``A -> B`` of a map: the key (an enum member's name) and the value expression (a constant)."""

    key: str
    value: Expr
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class MapDecl:
    """``map NAME [LABEL] from ENUM to TYPE [cite] { A -> B … }`` (issue #16): a constant function."""

    name: str
    label: str | None
    source: str  # the enum of the keys
    target: str  # an enum, ``text`` or ``int``
    cite: str | None
    entries: tuple[MapEntry, ...]
    span: Span


Decl = (
    Checkpoint
    | Category
    | EnumDecl
    | RecordDecl
    | FactDecl
    | ParamDecl
    | LetDecl
    | DeferDecl
    | TargetDecl
    | VetoDecl
    | RatingsDecl
    | BandsDecl
    | OutcomeDecl
    | PeriodsDecl
    | CohortDecl
    | LedgerDecl
    | MapDecl
)


@attrs.frozen(kw_only=True, eq=False)
class Override:
    decl: Decl
    span: Span


@attrs.frozen(kw_only=True, eq=False)
class Remove:
    kind: str
    name: str
    span: Span


Item = (
    Decl | Override | Remove
)


@attrs.frozen(kw_only=True, eq=False)
class PolicyFile:
    """One parsed file, before ``extends`` is resolved."""

    header: Header
    items: tuple[Item, ...]
    path: str


def shape(node: object, ignore: frozenset[str] = frozenset({"span", "vetoed_span", "record_span", "key_span", "shown_span"})) -> object:
    """The structural value of a node: nested tuples of class name and fields, without spans.

    Two nodes have equal shapes when they were written the same way, wherever they stand.
    ``ignore`` names the fields left out (the spans by default).
    """
    if isinstance(node, tuple):
        return tuple(shape(x, ignore) for x in node)
    if attrs.has(type(node)) and not isinstance(node, Span):
        fields: list[object] = [type(node).__name__]
        for f in attrs.fields(type(node)):  # type: ignore[arg-type]
            if f.name not in ignore:
                fields.append((f.name, shape(getattr(node, f.name), ignore)))
        return tuple(fields)
    return node


def walk(*roots: object) -> Iterator[object]:
    """Every node, tuple item and field value below ``roots`` (spans left out), each object once.

    For stages that gather from a whole subtree (the constants a change touches, the names
    it reads) and so need no visitor; the order is unspecified.
    """
    stack = list(roots)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, (tuple, list)):
            stack.extend(node)
        elif attrs.has(type(node)) and not isinstance(node, Span):
            for f in attrs.fields(type(node)):  # type: ignore[arg-type]
                if f.name != "span":
                    stack.append(getattr(node, f.name))


def decl_kind(decl: Decl) -> str:
    """The keyword a declaration starts with (used in messages and override keys)."""
    return _KIND_NAMES[type(decl)]


def decl_key(decl: Decl) -> tuple[str, str]:
    """The identity of a declaration for overriding: (namespace, name)."""
    if isinstance(decl, RatingsDecl):
        return ("ratings", "")
    if isinstance(decl, BandsDecl):
        return ("bands", decl.category)
    if isinstance(decl, CohortDecl):  # at most one per policy: a child's replaces its parent's
        return ("cohort", "")
    if isinstance(decl, OutcomeDecl):
        if decl.for_every_rating:  # no name to override or remove: each one is its own declaration
            return ("outcome", f"\0{decl.span.file}:{decl.span.line}:{decl.span.column}")
        return ("outcome", decl.rating)
    return (_KIND_NAMES[type(decl)], decl.name)


_KIND_NAMES: dict[type, str] = {
    Checkpoint: "checkpoint",
    Category: "category",
    EnumDecl: "enum",
    RecordDecl: "record",
    FactDecl: "fact",
    ParamDecl: "param",
    LetDecl: "let",
    DeferDecl: "defer",
    TargetDecl: "target",
    VetoDecl: "veto",
    RatingsDecl: "ratings",
    BandsDecl: "bands",
    OutcomeDecl: "outcome",
    PeriodsDecl: "periods",
    CohortDecl: "cohort",
    LedgerDecl: "ledger",
    MapDecl: "map",
}
