"""Stage 2: Lark syntax tree → typed AST (:mod:`kaohe_rules.language.ast`).

One ``Transformer`` per concern would be overkill for a language this size; this
one builder maps each grammar rule to one AST constructor and attaches spans.
Literal decoding (money units, percentages, dates) happens here, so later stages
only ever see exact ``Decimal`` and ``date`` values.
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import lark
from lark import Token
from lark.tree import Meta

from ..errors import Diagnostic
from ..limits import LITERAL_RANGE_TEXT, literal_problem
from ..numeric import ENGINE_CONTEXT
from ..source import SourceFile, Span
from . import ast


class BuildError(Exception):
    """Raised inside the builder for a malformed literal; carries its diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def build_policy(tree: lark.Tree[Token], source: SourceFile) -> ast.PolicyFile | Diagnostic:
    """Turn a syntax tree into a :class:`~kaohe_rules.language.ast.PolicyFile` (or a literal error)."""
    try:
        result = _Builder(source).transform(tree)
    except BuildError as exc:
        return exc.diagnostic
    assert isinstance(result, ast.PolicyFile)
    return result


def _unquote(token: Token | str) -> str:
    text = str(token)
    if text.startswith("“"):
        return text[1:-1]
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)


class _Label(str):
    """Marker for a ``label`` child (distinguishes it from other strings)."""


class _Cite(str):
    pass


class _Note(str):
    pass


class _Source(str):
    pass


class _DeferTo(str):
    pass


class _Cats(tuple):  # type: ignore[type-arg]
    pass


class _BonusCap:
    """Marker for a category's ``bonus cap EXPR`` child."""

    def __init__(self, expr: Any) -> None:
        self.expr = expr


class _ItemWhen:
    """Marker for an outcome item's ``when COND``."""

    def __init__(self, condition: ast.Expr) -> None:
        self.condition = condition


class _Only(tuple):  # type: ignore[type-arg]
    """``only in P, Q`` of a section (issue #11 P): the periods' names."""


class _PerPeriod:
    """The ``per period`` option of a fact (issue #11 P), among the fact's options."""


class _Report:
    """Marker for a let's ``report``."""


class _CohortPart:
    """Marker for a part of a cohort block (``among``, ``by``, ``ties``, a quota's ``of ranked``)."""

    def __init__(self, kind: str, value: Any) -> None:
        self.kind = kind
        self.value = value


class _KeyOrder:
    """Marker for a ranking key's ``higher first`` / ``lower first``."""

    def __init__(self, lower: bool) -> None:
        self.lower = lower


class _Because(str):
    """A ledger exclude's ``because "TEXT"`` (issue #16)."""


class _LedgerPart:
    """Marker for a ledger's ``key F`` / ``shown as "T"`` / a charge's ``where`` / ``when`` (issue #16)."""

    def __init__(self, kind: str, value: Any, span: Span | None = None) -> None:
        self.kind = kind
        self.value = value
        self.span = span


def _join_terms(where: ast.Expr) -> list[ast.Expr]:
    """The ``and``-terms of a charge's ``where``, left to right."""
    if isinstance(where, ast.And):
        return _join_terms(where.left) + _join_terms(where.right)
    return [where]


def _unit_member(e: ast.Expr) -> str | None:
    """``unit.F`` → F (None for anything else)."""
    if isinstance(e, ast.Member) and isinstance(e.obj, ast.Name) and e.obj.ident == "unit":
        return e.field
    return None


def join_term(e: ast.Expr) -> ast.JoinTerm:
    """Read one written term as a join term; a shape that is not one keeps ``unit_fact`` None (K262)."""
    if isinstance(e, ast.Compare) and e.op == "==":
        left, right = _unit_member(e.left), _unit_member(e.right)
        if left is not None and right is None:
            return ast.JoinTerm(expr=e, span=e.span, unit_fact=left, mode="eq", value=e.right)
        if right is not None and left is None:
            return ast.JoinTerm(expr=e, span=e.span, unit_fact=right, mode="eq", value=e.left)
    if isinstance(e, ast.InList):
        fact = _unit_member(e.container)
        if fact is not None and _unit_member(e.value) is None:
            return ast.JoinTerm(expr=e, span=e.span, unit_fact=fact, mode="in", value=e.value)
    return ast.JoinTerm(expr=e, span=e.span)


class _Builder:
    """One method per grammar rule (or alias): ``rule(meta, children)`` → AST node.

    Walked by :meth:`transform` rather than by Lark's ``Transformer``: its per-node
    ``v_args`` wrapping cost more than building the AST itself (about half of
    this stage).  Same contract: children first, tokens as they are, a rule
    without a method stays a ``Tree`` with its transformed children.
    """

    def __init__(self, source: SourceFile) -> None:
        self._file = source

    def transform(self, tree: lark.Tree[Token]) -> Any:
        children = [self.transform(c) if isinstance(c, lark.Tree) else c for c in tree.children]
        rule = _RULES.get(tree.data)
        if rule is None:
            return lark.Tree(tree.data, children, tree.meta)
        return rule(self, tree.meta, children)

    # ---------------------------------------------------------------- spans
    def _span(self, meta: Meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self._file, 1, 1, 1, 2)
        return Span(self._file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        line = tok.line or 1
        col = tok.column or 1
        return Span(self._file, line, col, tok.end_line or line, tok.end_column or col + len(tok))

    def _error(self, code: str, message: str, span: Span, hint: str | None = None) -> BuildError:
        return BuildError(Diagnostic(code, message, span, hint))

    def _date(self, tok: Token) -> datetime.date:
        try:
            return datetime.date.fromisoformat(str(tok))
        except ValueError:
            raise self._error("K010", f"invalid date {tok}", self._tok_span(tok),
                              "dates are written YYYY-MM-DD with a real month and day") from None

    def _decimal(self, text: str, tok: Token, factor: int = 1) -> Decimal:
        """The literal's exact value (times ``factor``: 万元), in the range facts have (docs/limits.md).

        A literal beyond it could not be compared with any fact exactly, and a
        5,000-digit one stalls every stage that converts it; K011 names the limit.
        """
        try:
            written = Decimal(text.replace("_", "").replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the lexer only admits digits
            raise self._error("K011", f"invalid number {tok}", self._tok_span(tok)) from None
        problem = literal_problem(written)  # as written (exact), then as multiplied
        value = written if factor == 1 or problem is not None else ENGINE_CONTEXT.multiply(written, factor)
        problem = problem or literal_problem(value)
        if problem is not None:
            raise self._error("K011", f"number out of range: {problem}", self._tok_span(tok),
                              f"numbers in a policy are {LITERAL_RANGE_TEXT}")
        return value

    @staticmethod
    def _pick(children: list[Any], kind: type) -> Any:
        for child in children:
            if isinstance(child, kind):
                return child
        return None

    # ------------------------------------------------------------ small parts
    def label(self, meta: Meta, c: list[Any]) -> _Label:
        return _Label(_unquote(c[0]))

    def cite(self, meta: Meta, c: list[Any]) -> _Cite:
        return _Cite(_unquote(c[0]))

    def note(self, meta: Meta, c: list[Any]) -> _Note:
        return _Note(_unquote(c[0]))

    def source(self, meta: Meta, c: list[Any]) -> _Source:
        return _Source(_unquote(c[0]))

    def defer_to(self, meta: Meta, c: list[Any]) -> _DeferTo:
        return _DeferTo(_unquote(c[0]))

    def for_cats(self, meta: Meta, c: list[Any]) -> _Cats:
        return _Cats(str(t) for t in c)

    def extends(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("extends", _unquote(c[0]))

    # ----------------------------------------------------------------- header
    def h_document(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("document", _unquote(c[0]))

    def h_issuer(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("issuer", _unquote(c[0]))

    def h_adopted(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("adopted", self._date(c[0]))

    def h_issued(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("issued", self._date(c[0]))

    def h_period(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        start, end = self._date(c[0]), self._date(c[1])
        if end < start:
            raise self._error("K012", "the assessment period ends before it starts", self._span(meta))
        return ("period", (start, end))

    def h_note(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("note", _unquote(c[0]))

    def h_cite(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("cite", _unquote(c[0]))

    def header(self, meta: Meta, c: list[Any]) -> ast.Header:
        fields: dict[str, Any] = {}
        notes: list[str] = []
        for child in c[1:]:
            if isinstance(child, _Label):
                fields["label"] = str(child)
            elif isinstance(child, tuple):
                key, value = child
                if key == "note":
                    notes.append(value)
                elif key in fields and key != "label":
                    raise self._error("K013", f"'{key}' is given twice in the policy header", self._span(meta))
                else:
                    fields[key] = value
        return ast.Header(
            name=str(c[0]), label=fields.get("label"), extends=fields.get("extends"),
            document=fields.get("document"), issuer=fields.get("issuer"),
            adopted=fields.get("adopted"), issued=fields.get("issued"), period=fields.get("period"),
            notes=tuple(notes), cite=fields.get("cite"), span=self._span(meta),
        )

    def start(self, meta: Meta, c: list[Any]) -> ast.PolicyFile:
        return ast.PolicyFile(header=c[0], items=tuple(c[1:]), path=self._file.name)

    def override_decl(self, meta: Meta, c: list[Any]) -> ast.Override:
        return ast.Override(decl=c[0], span=self._span(meta))

    def remove_decl(self, meta: Meta, c: list[Any]) -> ast.Remove:
        return ast.Remove(kind=str(c[0]), name=str(c[1]), span=self._span(meta))

    # ------------------------------------------------------------ checkpoints
    def due(self, meta: Meta, c: list[Any]) -> tuple[None, datetime.date]:
        return (None, self._date(c[0]))

    def span(self, meta: Meta, c: list[Any]) -> tuple[datetime.date, datetime.date]:
        start, end = self._date(c[0]), self._date(c[1])
        if end < start:
            raise self._error("K012", "the checkpoint ends before it starts", self._span(meta))
        return (start, end)

    def checkpoint(self, meta: Meta, c: list[Any]) -> ast.Checkpoint:
        when = next(x for x in c if isinstance(x, tuple) and not isinstance(x, _Cats))
        return ast.Checkpoint(
            name=str(c[0]), label=self._pick(c, _Label), start=when[0], end=when[1],
            categories=self._pick(c, _Cats) or (), cite=self._pick(c, _Cite), note=self._pick(c, _Note),
            span=self._span(meta),
        )

    # ------------------------------------------------------------- categories
    def section_body(self, meta: Meta, c: list[Any]) -> tuple[ast.Section, ...]:
        return tuple(c)

    def section(self, meta: Meta, c: list[Any]) -> ast.Section:
        rest = [x for x in c[1:] if not isinstance(x, (_Label, _Cite, tuple, _Only))]
        children = next((x for x in c if isinstance(x, tuple) and not isinstance(x, _Only)), ())
        only = self._pick(c, _Only)
        return ast.Section(
            name=str(c[0]), label=self._pick(c, _Label), points=rest[0], cite=self._pick(c, _Cite),
            children=children, span=self._span(meta), periods=tuple(only) if only is not None else (),
        )

    def category(self, meta: Meta, c: list[Any]) -> ast.Category:
        rest = [x for x in c[1:] if not isinstance(x, (_Label, _Cite, ast.Section, _BonusCap))]
        bonus_cap = next((x for x in c if isinstance(x, _BonusCap)), None)
        return ast.Category(
            name=str(c[0]), label=self._pick(c, _Label), total=rest[0], cite=self._pick(c, _Cite),
            sections=tuple(x for x in c if isinstance(x, ast.Section)), span=self._span(meta),
            bonus_cap=bonus_cap.expr if bonus_cap is not None else None,
        )

    def bonus_cap(self, meta: Meta, c: list[Any]) -> _BonusCap:
        return _BonusCap(c[0])

    def bonus_section(self, meta: Meta, c: list[Any]) -> ast.Section:
        """``section NAME [label] bonus [cap N] [cite]``: its points are a synthetic 0 (outside the total)."""
        span = self._span(meta)
        return ast.Section(
            name=str(c[0]), label=self._pick(c, _Label), points=ast.Number(value=Decimal(0), is_int=True, span=span),
            cite=self._pick(c, _Cite), children=(), span=span, bonus=True, cap=self._cap(c[1:]),
        )

    # ---------------------------------------------------------- enums/records
    def enum_member(self, meta: Meta, c: list[Any]) -> ast.EnumMember:
        return ast.EnumMember(name=str(c[0]), label=self._pick(c, _Label), span=self._span(meta))

    def enum_decl(self, meta: Meta, c: list[Any]) -> ast.EnumDecl:
        ordered = any(isinstance(x, Token) and x.type == "ORDERED" for x in c)
        return ast.EnumDecl(
            name=str(c[0]), label=self._pick(c, _Label), ordered=ordered,
            members=tuple(x for x in c if isinstance(x, ast.EnumMember)), span=self._span(meta),
        )

    def named_type(self, meta: Meta, c: list[Any]) -> tuple[str, bool]:
        return (str(c[0]), False)

    def list_type(self, meta: Meta, c: list[Any]) -> tuple[str, bool]:
        return (str(c[0]), True)

    def type(self, meta: Meta, c: list[Any]) -> ast.TypeRef:
        name, is_list = c[0]
        return ast.TypeRef(name=name, is_list=is_list, optional=len(c) > 1, span=self._span(meta))

    def bound(self, meta: Meta, c: list[Any]) -> ast.Constraint:
        op = str(c[0])
        if op in ("==", "!="):
            raise self._error("K014", f"'{op}' is not a constraint", self._span(meta),
                              "use >=, >, <=, < or in a..b")
        return ast.Constraint(op=op, low=c[1], high=None, span=self._span(meta))

    def range_bound(self, meta: Meta, c: list[Any]) -> ast.Constraint:
        return ast.Constraint(op=None, low=c[0], high=c[1], span=self._span(meta))

    def default(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("default", c[0])

    @staticmethod
    def _default(c: list[Any]) -> Any:
        for x in c:
            if isinstance(x, tuple) and len(x) == 2 and x[0] == "default":
                return x[1]
        return None

    def field_decl(self, meta: Meta, c: list[Any]) -> ast.FieldDecl:
        return ast.FieldDecl(
            name=str(c[0]), type=c[1], constraint=self._pick(c, ast.Constraint), default=self._default(c),
            label=self._pick(c, _Label), cite=self._pick(c, _Cite), span=self._span(meta),
        )

    def record_decl(self, meta: Meta, c: list[Any]) -> ast.RecordDecl:
        return ast.RecordDecl(
            name=str(c[0]), label=self._pick(c, _Label),
            fields=tuple(x for x in c if isinstance(x, ast.FieldDecl)),
            lets=tuple(x for x in c if isinstance(x, ast.LetDecl)), span=self._span(meta),
        )

    # ------------------------------------------------------- facts and values
    def fact(self, meta: Meta, c: list[Any]) -> ast.FactDecl:
        return ast.FactDecl(
            name=str(c[0]), type=c[1], constraint=self._pick(c, ast.Constraint), default=self._default(c),
            label=self._pick(c, _Label), categories=self._pick(c, _Cats) or (), cite=self._pick(c, _Cite),
            source=self._pick(c, _Source), note=self._pick(c, _Note), span=self._span(meta),
            per_period=self._pick(c, _PerPeriod) is not None,
            ledger=next((x.value for x in c if isinstance(x, _LedgerPart) and x.kind == "from"), None),
        )

    # ------------------------------------------------------------ ledgers and maps (issue #16)
    def fact_from(self, meta: Meta, c: list[Any]) -> _LedgerPart:
        return _LedgerPart("from", str(c[0]), self._tok_span(c[0]))

    def ledger_key(self, meta: Meta, c: list[Any]) -> _LedgerPart:
        return _LedgerPart("key", str(c[0]), self._tok_span(c[0]))

    def ledger_shown(self, meta: Meta, c: list[Any]) -> _LedgerPart:
        return _LedgerPart("shown", _unquote(c[0]), self._span(meta))

    def because(self, meta: Meta, c: list[Any]) -> _Because:
        return _Because(_unquote(c[0]))

    def charge_where(self, meta: Meta, c: list[Any]) -> _LedgerPart:
        return _LedgerPart("where", c[0])

    def charge_when(self, meta: Meta, c: list[Any]) -> _LedgerPart:
        return _LedgerPart("when", c[0])

    def l_exclude(self, meta: Meta, c: list[Any]) -> ast.LedgerExclude:
        condition = next(x for x in c[1:] if not isinstance(x, (Token, str)))
        return ast.LedgerExclude(name=str(c[0]), label=self._pick(c, _Label), condition=condition,
                                 because=self._pick(c, _Because), cite=self._pick(c, _Cite),
                                 note=self._pick(c, _Note), span=self._span(meta))

    def l_hand_over(self, meta: Meta, c: list[Any]) -> ast.LedgerHandOver:
        condition = next(x for x in c[1:] if not isinstance(x, (Token, str)))
        to = next(x for x in c[1:] if isinstance(x, Token) and x.type == "STRING")
        return ast.LedgerHandOver(name=str(c[0]), label=self._pick(c, _Label), condition=condition, to=_unquote(to),
                                  cite=self._pick(c, _Cite), note=self._pick(c, _Note), span=self._span(meta))

    def l_charge(self, meta: Meta, c: list[Any]) -> ast.LedgerCharge:
        parts = {x.kind: x.value for x in c if isinstance(x, _LedgerPart)}
        where = parts.get("where")
        return ast.LedgerCharge(
            name=str(c[0]), label=self._pick(c, _Label),
            categories=tuple(str(x) for x in c[1:] if isinstance(x, Token) and x.type == "NAME"),
            joins=tuple(join_term(t) for t in _join_terms(where)) if where is not None else (),
            condition=parts.get("when"), cite=self._pick(c, _Cite), note=self._pick(c, _Note),
            span=self._span(meta), where=where)

    def ledger_decl(self, meta: Meta, c: list[Any]) -> ast.LedgerDecl:
        parts = {x.kind: x for x in c if isinstance(x, _LedgerPart)}
        key, shown = parts.get("key"), parts.get("shown")
        return ast.LedgerDecl(
            name=str(c[0]), label=self._pick(c, _Label), record=str(c[2] if isinstance(c[1], _Label) else c[1]),
            key=key.value if key is not None else None, shown=shown.value if shown is not None else None,
            cite=self._pick(c, _Cite), source=self._pick(c, _Source), note=self._pick(c, _Note),
            rules=tuple(x for x in c if isinstance(x, (ast.LedgerExclude, ast.LedgerHandOver, ast.LedgerCharge))),
            span=self._span(meta), record_span=self._tok_span(c[2] if isinstance(c[1], _Label) else c[1]),
            key_span=key.span if key is not None else None, shown_span=shown.span if shown is not None else None)

    def map_entry(self, meta: Meta, c: list[Any]) -> ast.MapEntry:
        return ast.MapEntry(key=str(c[0]), value=c[1], span=self._span(meta))

    def map_decl(self, meta: Meta, c: list[Any]) -> ast.MapDecl:
        names = [x for x in c if isinstance(x, Token) and x.type == "NAME"]
        return ast.MapDecl(name=str(names[0]), label=self._pick(c, _Label), source=str(names[1]),
                           target=str(names[2]), cite=self._pick(c, _Cite),
                           entries=tuple(x for x in c if isinstance(x, ast.MapEntry)), span=self._span(meta))

    def list_lit(self, meta: Meta, c: list[Any]) -> ast.ListLit:
        return ast.ListLit(items=tuple(c), span=self._span(meta))

    def in_list(self, meta: Meta, c: list[Any]) -> ast.InList:
        return ast.InList(value=c[0], container=c[1], span=self._span(meta))

    def param(self, meta: Meta, c: list[Any]) -> ast.ParamDecl:
        type_ref = c[1] if isinstance(c[1], ast.TypeRef) else None
        value = c[2] if type_ref is not None else c[1]
        return ast.ParamDecl(
            name=str(c[0]), type=type_ref, value=value, label=self._pick(c, _Label),
            cite=self._pick(c, _Cite), note=self._pick(c, _Note), span=self._span(meta),
        )

    def period_value(self, meta: Meta, c: list[Any]) -> tuple[str, datetime.date, Any]:
        return ("period", self._date(c[0]), c[1])

    def dated_param(self, meta: Meta, c: list[Any]) -> ast.ParamDecl:
        periods = tuple((x[1], x[2]) for x in c if isinstance(x, tuple) and len(x) == 3 and x[0] == "period")
        return ast.ParamDecl(
            name=str(c[0]), type=c[1], value=periods[0][1], label=self._pick(c, _Label),
            cite=self._pick(c, _Cite), note=self._pick(c, _Note), span=self._span(meta), periods=periods,
        )

    def let_decl(self, meta: Meta, c: list[Any]) -> ast.LetDecl:
        type_ref = c[1] if isinstance(c[1], ast.TypeRef) else None
        value = c[2] if type_ref is not None else c[1]
        return ast.LetDecl(
            name=str(c[0]), type=type_ref, value=value, label=self._pick(c, _Label),
            cite=self._pick(c, _Cite), span=self._span(meta), report=self._pick(c, _Report) is not None,
        )

    def defer(self, meta: Meta, c: list[Any]) -> ast.DeferDecl:
        names = [x for x in c if isinstance(x, Token) and x.type == "NAME"]
        where = next(x for x in c[1:] if not isinstance(x, (Token, str, tuple)))
        item_name = next((x[1] for x in c if isinstance(x, tuple) and len(x) == 2 and x[0] == "as"), None)
        return ast.DeferDecl(
            name=str(names[0]), label=self._pick(c, _Label), source_list=str(names[1]), where=where,
            alias=str(names[2]), to=self._pick(c, _DeferTo), categories=self._pick(c, _Cats) or (),
            cite=self._pick(c, _Cite), note=self._pick(c, _Note), span=self._span(meta), item_name=item_name,
        )

    # ---------------------------------------------------------------- targets
    def path(self, meta: Meta, c: list[Any]) -> tuple[str, ...]:
        return tuple(str(t) for t in c)

    def placement(self, meta: Meta, c: list[Any]) -> ast.Placement:
        return ast.Placement(path=c[0], points=c[1], span=self._span(meta))

    def bonus_placement(self, meta: Meta, c: list[Any]) -> ast.Placement:
        span = self._span(meta)
        return ast.Placement(path=c[0], points=ast.Number(value=Decimal(0), is_int=True, span=span), span=span,
                             bonus=True, cap=self._cap(c[1:]))

    def placements(self, meta: Meta, c: list[Any]) -> list[ast.Placement]:
        return list(c)

    def cap(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("cap", c[0])

    def _cap(self, extra: list[Any]) -> Any:
        return next((x[1] for x in extra if isinstance(x, tuple) and x and x[0] == "cap"), None)

    def r_full(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.Full(condition=c[0], span=self._span(meta))

    def r_deduct_when(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.DeductWhen(amount=c[0], condition=c[1], cite=self._pick(c[2:], _Cite), span=self._span(meta))

    def r_deduct_unless(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.DeductUnless(amount=c[0], condition=c[1], cite=self._pick(c[2:], _Cite), span=self._span(meta))

    def r_deduct_per(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.DeductPer(amount=c[0], per=c[1], cap=self._cap(c[2:]), cite=self._pick(c[2:], _Cite),
                             span=self._span(meta))

    def r_deduct(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.Deduct(amount=c[0], cap=self._cap(c[1:]), cite=self._pick(c[1:], _Cite), span=self._span(meta))

    def r_proportional(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.Proportional(amount=c[0], span=self._span(meta))

    def r_score(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.Score(amount=c[0], span=self._span(meta))

    def r_add_when(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.AddWhen(amount=c[0], condition=c[1], cite=self._pick(c[2:], _Cite), span=self._span(meta))

    def r_add_unless(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.AddUnless(amount=c[0], condition=c[1], cite=self._pick(c[2:], _Cite), span=self._span(meta))

    def r_add_per(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.AddPer(amount=c[0], per=c[1], cap=self._cap(c[2:]), cite=self._pick(c[2:], _Cite),
                          span=self._span(meta))

    def r_add(self, meta: Meta, c: list[Any]) -> ast.Rule:
        return ast.Add(amount=c[0], cap=self._cap(c[1:]), cite=self._pick(c[1:], _Cite), span=self._span(meta))

    def target(self, meta: Meta, c: list[Any]) -> ast.TargetDecl:
        placements: list[ast.Placement] = []
        for x in c:
            if isinstance(x, list):
                placements.extend(x)
        return ast.TargetDecl(
            name=str(c[0]), label=self._pick(c, _Label), cite=self._pick(c, _Cite), note=self._pick(c, _Note),
            placements=tuple(placements), rules=tuple(x for x in c if isinstance(x, ast.RULE_CLASSES)),
            span=self._span(meta),
        )

    # ----------------------------------------------------------------- vetoes
    def veto_on(self, meta: Meta, c: list[Any]) -> tuple[str, Any, Any]:
        on = ast.Name(ident=str(c[0]), span=self._tok_span(c[0]))
        if len(c) == 3:  # ``on L as NAME where C``: the name travels on the list node's side (issue #10 C)
            return ("on", (on, c[1][1]), c[2])
        return ("on", on, c[1])

    def veto_when(self, meta: Meta, c: list[Any]) -> tuple[str, Any, Any]:
        return ("when", None, c[0])

    def exception(self, meta: Meta, c: list[Any]) -> ast.VetoException:
        because = _unquote(c[1]) if len(c) > 1 else None
        return ast.VetoException(condition=c[0], because=because, span=self._span(meta))

    def veto(self, meta: Meta, c: list[Any]) -> ast.VetoDecl:
        test = next(x for x in c if isinstance(x, tuple) and len(x) == 3 and x[0] in ("on", "when"))
        on_list, on_name = test[1] if isinstance(test[1], tuple) else (test[1], None)
        return ast.VetoDecl(
            name=str(c[0]), label=self._pick(c, _Label), cite=self._pick(c, _Cite), note=self._pick(c, _Note),
            categories=self._pick(c, _Cats) or (), on_list=on_list, condition=test[2],
            exceptions=tuple(x for x in c if isinstance(x, ast.VetoException)), span=self._span(meta),
            on_name=on_name,
            effect=next((x for x in c if isinstance(x, ast.VetoEffect)), None),
        )

    # rating effects (issue #10 A3): ``then rating R`` / ``downgrade N`` / ``cap R`` / ``score E``
    def e_rating(self, meta: Meta, c: list[Any]) -> ast.VetoEffect:
        return ast.VetoEffect(kind="rating", rating=str(c[0]), amount=None, span=self._span(meta))

    def e_downgrade(self, meta: Meta, c: list[Any]) -> ast.VetoEffect:
        return ast.VetoEffect(kind="downgrade", rating=None, amount=c[0], span=self._span(meta))

    def e_cap(self, meta: Meta, c: list[Any]) -> ast.VetoEffect:
        return ast.VetoEffect(kind="cap", rating=str(c[0]), amount=None, span=self._span(meta))

    def e_score(self, meta: Meta, c: list[Any]) -> ast.VetoEffect:
        return ast.VetoEffect(kind="score", rating=None, amount=c[0], span=self._span(meta))

    # -------------------------------------------------------- ratings, bands
    def rating(self, meta: Meta, c: list[Any]) -> ast.Rating:
        return ast.Rating(name=str(c[0]), label=self._pick(c, _Label), span=self._span(meta))

    def ratings(self, meta: Meta, c: list[Any]) -> ast.RatingsDecl:
        vetoed = next(x for x in c if isinstance(x, Token))
        return ast.RatingsDecl(
            ratings=tuple(x for x in c if isinstance(x, ast.Rating)), vetoed=str(vetoed),
            vetoed_span=self._tok_span(vetoed), cite=self._pick(c, _Cite), span=self._span(meta),
        )

    def interval(self, meta: Meta, c: list[Any]) -> tuple[Any, ...]:
        exprs = [x for x in c if not isinstance(x, Token) or x.type not in ("LSQB", "RSQB", "LPAR", "RPAR", "COMMA")]
        brackets = [str(x) for x in c if isinstance(x, Token) and x.type in ("LSQB", "RSQB", "LPAR", "RPAR")]
        return ("interval", exprs[0], brackets[0] == "[", exprs[1], brackets[-1] == "]")

    def band(self, meta: Meta, c: list[Any]) -> ast.Band:
        _, low, low_closed, high, high_closed = c[1]
        requires = next((x[1] for x in c if isinstance(x, tuple) and x[0] == "requires"), None)
        return ast.Band(rating=str(c[0]), low=low, low_closed=low_closed, high=high, high_closed=high_closed,
                        cite=self._pick(c, _Cite), span=self._span(meta), requires=requires)

    def band_requires(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("requires", c[0])

    def open_band(self, meta: Meta, c: list[Any]) -> ast.Band:
        """``优秀 >= 90``: the open top band (only ``>=``/``>``; the others are refused here, K190)."""
        op = str(c[1])
        if op not in (">=", ">"):
            raise self._error("K190", f"an open band is written '{c[0]} >= N' or '{c[0]} > N', not with '{op}'",
                              self._span(meta), "only the best band is open, upward: 优秀 >= 90")
        requires = next((x[1] for x in c if isinstance(x, tuple) and x[0] == "requires"), None)
        return ast.Band(rating=str(c[0]), low=c[2], low_closed=op == ">=", high=c[2], high_closed=False,
                        cite=self._pick(c, _Cite), span=self._span(meta), requires=requires, open_top=True)

    def bands(self, meta: Meta, c: list[Any]) -> ast.BandsDecl:
        return ast.BandsDecl(category=str(c[0]), cite=self._pick(c, _Cite),
                             bands=tuple(x for x in c if isinstance(x, ast.Band)), span=self._span(meta))

    # --------------------------------------------------------------- outcomes
    def _outcome_item(self, meta: Meta, kind: str, c: list[Any], has_amount: bool = True) -> ast.OutcomeItem:
        amount = None
        if has_amount:
            rest = [x for x in c[1:] if not isinstance(x, (_Label, _Cite, _Cats, _ItemWhen))]
            amount = rest[0] if rest and rest[0] != "rest" else None
        when = self._pick(c, _ItemWhen)
        return ast.OutcomeItem(kind=kind, name=str(c[0]), label=self._pick(c, _Label), amount=amount,
                               cite=self._pick(c, _Cite), span=self._span(meta),
                               condition=when.condition if when is not None else None,
                               categories=self._pick(c, _Cats) or ())

    def item_when(self, meta: Meta, c: list[Any]) -> _ItemWhen:
        return _ItemWhen(c[0])

    def let_report(self, meta: Meta, c: list[Any]) -> _Report:
        return _Report()

    def o_reward(self, meta: Meta, c: list[Any]) -> ast.OutcomeItem:
        return self._outcome_item(meta, "reward", c)

    def o_fine(self, meta: Meta, c: list[Any]) -> ast.OutcomeItem:
        return self._outcome_item(meta, "fine", c)

    def o_share(self, meta: Meta, c: list[Any]) -> ast.OutcomeItem:
        return self._outcome_item(meta, "share", c)

    def o_sanction(self, meta: Meta, c: list[Any]) -> ast.OutcomeItem:
        return self._outcome_item(meta, "sanction", c, has_amount=False)

    def o_note(self, meta: Meta, c: list[Any]) -> _Note:
        return _Note(_unquote(c[0]))

    def rest(self, meta: Meta, c: list[Any]) -> str:
        return "rest"

    def outcome(self, meta: Meta, c: list[Any]) -> ast.OutcomeDecl:
        named = bool(c) and isinstance(c[0], Token) and c[0].type == "NAME"
        return ast.OutcomeDecl(
            rating=str(c[0]) if named else "", cite=self._pick(c, _Cite),
            items=tuple(x for x in c if isinstance(x, ast.OutcomeItem)),
            notes=tuple(str(x) for x in c if isinstance(x, _Note)), span=self._span(meta),
        )

    # ---------------------------------------------------------------- cohorts
    # cohort (issue #11 C): ``cohort NAME [label] [cite] { [for …] [among …] [by …] [ties …] quota* }``
    def cohort_among(self, meta: Meta, c: list[Any]) -> _CohortPart:
        return _CohortPart("among", c[0])

    def cohort_by(self, meta: Meta, c: list[Any]) -> _CohortPart:
        return _CohortPart("by", tuple(c))

    def cohort_key(self, meta: Meta, c: list[Any]) -> ast.CohortKey:
        lower = len(c) > 1 and isinstance(c[1], _KeyOrder) and c[1].lower
        return ast.CohortKey(value=c[0], lower_first=lower, span=self._span(meta))

    def higher_first(self, meta: Meta, c: list[Any]) -> _KeyOrder:
        return _KeyOrder(False)

    def lower_first(self, meta: Meta, c: list[Any]) -> _KeyOrder:
        return _KeyOrder(True)

    def cohort_ties(self, meta: Meta, c: list[Any]) -> _CohortPart:
        return _CohortPart("ties", str(c[0]))

    def quota_of(self, meta: Meta, c: list[Any]) -> _CohortPart:
        return _CohortPart("of_ranked", True)

    def cohort_quota(self, meta: Meta, c: list[Any]) -> ast.Quota:
        return ast.Quota(band=str(c[0]), limit=c[1],
                         of_ranked=any(isinstance(x, _CohortPart) and x.kind == "of_ranked" for x in c),
                         categories=self._pick(c, _Cats) or (), cite=self._pick(c, _Cite), span=self._span(meta))

    def cohort(self, meta: Meta, c: list[Any]) -> ast.CohortDecl:
        parts = {x.kind: x.value for x in c if isinstance(x, _CohortPart)}
        ties = parts.get("ties")
        return ast.CohortDecl(
            name=str(c[0]), label=self._pick(c, _Label), cite=self._pick(c, _Cite),
            categories=self._pick(c, _Cats) or (), among=parts.get("among"), keys=parts.get("by", ()),
            ties=ties, quotas=tuple(x for x in c if isinstance(x, ast.Quota)), span=self._span(meta),
        )

    # ------------------------------------------------------------ expressions
    def number(self, meta: Meta, c: list[Any]) -> ast.Number:
        text = str(c[0])
        return ast.Number(value=self._decimal(text, c[0]), is_int="." not in text, span=self._span(meta))

    def money(self, meta: Meta, c: list[Any]) -> ast.MoneyLit:
        text = str(c[0])
        factor = 10000 if text.endswith("万元") else 1
        digits = text.replace("万元", "").replace("元", "").strip()
        return ast.MoneyLit(value=self._decimal(digits, c[0], factor), text=text, span=self._span(meta))

    def percent(self, meta: Meta, c: list[Any]) -> ast.PercentLit:
        digits = str(c[0]).rstrip("%").strip()
        return ast.PercentLit(value=self._decimal(digits, c[0]), span=self._span(meta))

    def date(self, meta: Meta, c: list[Any]) -> ast.DateLit:
        return ast.DateLit(value=self._date(c[0]), span=self._span(meta))

    def text(self, meta: Meta, c: list[Any]) -> ast.TextLit:
        return ast.TextLit(value=_unquote(c[0]), span=self._span(meta))

    def true(self, meta: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(value=True, span=self._span(meta))

    def false(self, meta: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(value=False, span=self._span(meta))

    def none(self, meta: Meta, c: list[Any]) -> ast.NoneLit:
        return ast.NoneLit(span=self._span(meta))

    def it(self, meta: Meta, c: list[Any]) -> ast.It:
        return ast.It(span=self._span(meta))

    def empty_list(self, meta: Meta, c: list[Any]) -> ast.EmptyList:
        return ast.EmptyList(span=self._span(meta))

    def name(self, meta: Meta, c: list[Any]) -> ast.Name:
        return ast.Name(ident=str(c[0]), span=self._span(meta))

    def member(self, meta: Meta, c: list[Any]) -> ast.Member:
        return ast.Member(obj=c[0], field=str(c[1]), span=self._span(meta))

    def neg(self, meta: Meta, c: list[Any]) -> ast.Neg:
        return ast.Neg(operand=c[0], span=self._span(meta))

    def binary(self, meta: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(op=str(c[1]), left=c[0], right=c[2], span=self._span(meta))

    def compare(self, meta: Meta, c: list[Any]) -> ast.Compare:
        return ast.Compare(op=str(c[1]), left=c[0], right=c[2], span=self._span(meta))

    def in_range(self, meta: Meta, c: list[Any]) -> ast.InRange:
        return ast.InRange(value=c[0], low=c[1], high=c[2], span=self._span(meta))

    def is_none(self, meta: Meta, c: list[Any]) -> ast.IsSet:
        return ast.IsSet(operand=c[0], expect_set=False, span=self._span(meta))

    def is_set(self, meta: Meta, c: list[Any]) -> ast.IsSet:
        return ast.IsSet(operand=c[0], expect_set=True, span=self._span(meta))

    def coalesce(self, meta: Meta, c: list[Any]) -> ast.Coalesce:
        return ast.Coalesce(left=c[0], right=c[1], span=self._span(meta))

    def and_(self, meta: Meta, c: list[Any]) -> ast.And:
        return ast.And(left=c[0], right=c[1], span=self._span(meta))

    def or_(self, meta: Meta, c: list[Any]) -> ast.Or:
        return ast.Or(left=c[0], right=c[1], span=self._span(meta))

    def not_(self, meta: Meta, c: list[Any]) -> ast.Not:
        return ast.Not(operand=c[0], span=self._span(meta))

    def if_expr(self, meta: Meta, c: list[Any]) -> ast.If:
        return ast.If(cond=c[0], then=c[1], otherwise=c[2], span=self._span(meta))

    def call(self, meta: Meta, c: list[Any]) -> ast.Call:
        return ast.Call(func=str(c[0]), args=tuple(x for x in c[1:] if x is not None), span=self._span(meta))

    def agg_of(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("of", c[0])

    def agg_where(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("where", c[0])

    def agg_as(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("as", str(c[0]))

    def order_test(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def agg_by(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("by", c[0])

    def aggregate(self, meta: Meta, c: list[Any]) -> ast.Aggregate:
        parts = {x[0]: x[1] for x in c[2:] if isinstance(x, tuple)}
        return ast.Aggregate(func=str(c[0]), source=c[1], of=parts.get("of"), where=parts.get("where"),
                             span=self._span(meta), name=parts.get("as"), by=parts.get("by"))

    def extremum(self, meta: Meta, c: list[Any]) -> ast.Extremum:
        return ast.Extremum(func=str(c[0]), args=tuple(c[1:]), span=self._span(meta))

    # ------------------------------------------------------------ periods (issue #11 P)
    def per_period(self, meta: Meta, c: list[Any]) -> _PerPeriod:
        return _PerPeriod()

    def period_item(self, meta: Meta, c: list[Any]) -> ast.PeriodItem:
        percent = next(x for x in c if isinstance(x, Token) and x.type == "PERCENT")
        digits = str(percent).rstrip("%").strip()
        return ast.PeriodItem(name=str(c[0]), label=self._pick(c, _Label), weight=self._decimal(digits, percent),
                              cite=self._pick(c, _Cite), span=self._span(meta))

    def section_only(self, meta: Meta, c: list[Any]) -> _Only:
        return _Only(str(t) for t in c)

    def periods_decl(self, meta: Meta, c: list[Any]) -> ast.PeriodsDecl:
        return ast.PeriodsDecl(items=tuple(x for x in c if isinstance(x, ast.PeriodItem)), cite=self._pick(c, _Cite),
                               span=self._span(meta))


# rule (or alias) name -> the _Builder method that builds it
_RULES: dict[str, Callable[[_Builder, Meta, list[Any]], Any]] = {
    name: member for name, member in vars(_Builder).items()
    if not name.startswith("_") and name != "transform" and inspect.isfunction(member)
}

