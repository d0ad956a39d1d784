"""The expression checker: the type of every expression, name resolution, flow narrowing.

:class:`ExpressionChecker` is an :class:`~kaohe_rules.language.visitor.ExprVisitor`
of :class:`~kaohe_rules.language.types.Type`, so a new expression node is a mypy
error here until it is typed.  It records, keyed by the node, the type of every
expression (``ctx.types``) and what each name means (``ctx.resolutions``), notes
the names read (for ``reads`` and let dependencies) and narrows optional names
after ``x is set`` tests (:func:`asserted`).  Passes reach it as ``ctx.exprs``.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ...source import Span
from .. import ast
from ..keywords import NAMES_READ_AS_KEYWORDS
from ..model import COHORT_VALUES, Resolution
from ..types import (
    BOOL,
    DATE,
    DECIMAL,
    EMPTY,
    ERROR,
    INT,
    MONEY,
    NONE,
    NUMERIC,
    PERCENT,
    PERIOD_RECORD,
    TEXT,
    Type,
    arithmetic,
    comparable,
)
from ..visitor import ExprVisitor
from .api import Context, Scope, is_zero_literal
from .diagnostics import did_you_mean, name_of

FUNCTIONS = ("round", "floor", "ceil", "abs", "year", "month", "day")
#: aggregates that test the order of a list (strictly), issue #10 C
ORDER_TESTS = ("increasing", "decreasing")
#: the kinds a group-by key may have: values that compare for equality exactly
GROUP_KEY_KINDS = ("int", "decimal", "money", "percent", "date", "text", "bool", "enum")


def asserted(e: ast.Expr, truth: bool) -> Iterator[str]:
    """Names known to be set when ``e`` evaluates to ``truth`` (flow typing for optionals)."""
    if isinstance(e, ast.IsSet) and isinstance(e.operand, ast.Name):
        if e.expect_set == truth:
            yield e.operand.ident
    elif isinstance(e, ast.Not):
        yield from asserted(e.operand, not truth)
    elif isinstance(e, ast.And) and truth:
        yield from asserted(e.left, True)
        yield from asserted(e.right, True)
    elif isinstance(e, ast.Or) and not truth:
        yield from asserted(e.left, False)
        yield from asserted(e.right, False)


class ExpressionChecker(ExprVisitor[Type]):
    """Types expressions in a :class:`Scope`; ``expr(e, scope)`` is the entry point."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.diag = ctx.diag
        self.sym = ctx.sym
        self.scope = Scope()

    def expr(self, e: ast.Expr, scope: Scope) -> Type:
        outer, self.scope = self.scope, scope
        try:
            t = self.visit(e)
        finally:
            self.scope = outer
        self.ctx.types[e] = t
        return t

    def asserted(self, e: ast.Expr, truth: bool) -> tuple[str, ...]:
        """The names ``e`` being ``truth`` proves set (for a pass that runs code only under a condition)."""
        return tuple(asserted(e, truth))

    # -------------------------------------------------------------- literals
    def visit_Number(self, e: ast.Number) -> Type:
        return INT if e.is_int else DECIMAL

    def visit_MoneyLit(self, e: ast.MoneyLit) -> Type:
        return MONEY

    def visit_PercentLit(self, e: ast.PercentLit) -> Type:
        return PERCENT

    def visit_DateLit(self, e: ast.DateLit) -> Type:
        return DATE

    def visit_TextLit(self, e: ast.TextLit) -> Type:
        return TEXT

    def visit_BoolLit(self, e: ast.BoolLit) -> Type:
        return BOOL

    def visit_NoneLit(self, e: ast.NoneLit) -> Type:
        return NONE

    def visit_EmptyList(self, e: ast.EmptyList) -> Type:
        return EMPTY

    # ----------------------------------------------------------------- names
    def visit_It(self, e: ast.It) -> Type:
        scope = self.scope
        if not scope.items:
            return self.diag.error("K101", "'it' is only meaningful inside where/of of an aggregate or a veto 'on'", e.span)
        self.ctx.res[e] = Resolution("it", "", depth=len(scope.items) - 1)
        return scope.items[-1]

    def visit_Name(self, e: ast.Name) -> Type:
        ctx, sym, scope = self.ctx, self.sym, self.scope
        ident = e.ident
        # 0. a named item (``L as a``), innermost first
        for named, depth in reversed(scope.named):
            if named == ident:
                ctx.res[e] = Resolution("it", ident, depth=depth)
                return scope.items[depth]
        if ident == "score" and scope.items and scope.items[-1] == Type("record", PERIOD_RECORD):
            # inside an aggregate over periods (issue #11 P), ``score`` is the period's: periods of score
            ctx.res[e] = Resolution("field", ident, depth=len(scope.items) - 1)
            return DECIMAL
        if ident == "score" and scope.record is None:  # the unit's score (issue #10 A2; check/scores.py)
            score_type = ctx.scores.name(e, scope)
            if score_type is not None:
                return score_type
        if ident in COHORT_VALUES and self.sym.cohorts:  # a cohort value (issue #11 C; check/cohort.py)
            cohort_type = ctx.cohort.name(e, scope)
            if cohort_type is not None:
                return cohort_type
        # 1. fields of the items in scope, innermost first
        for depth in range(len(scope.items) - 1, -1, -1):
            item = scope.items[depth]
            if item.kind == "record" and item.name is not None and ident in ctx.record_fields.get(item.name, {}):
                ctx.res[e] = Resolution("field", ident, depth=depth)
                if item.name == PERIOD_RECORD and ident in sym.facts:  # a per-period fact, read (issue #11 P)
                    ctx.facts_read.add(ident)
                return self._narrowed(ident, ctx.record_fields[item.name][ident], scope)
        # 2. a record's own fields (inside its let)
        if scope.record is not None:
            fields = ctx.record_fields.get(scope.record, {})
            if ident in fields:
                ctx.res[e] = Resolution("record_field", ident)
                return self._narrowed(ident, fields[ident], scope)
        if ident in scope.outcome_items:
            ctx.res[e] = Resolution("outcome_item", ident)
            return MONEY
        if sym.periods is not None and scope.record is None:  # issue #11 P: periods, period, a period's name
            period_type = ctx.periods.name(e, scope)
            if period_type is not None:
                return period_type
        if scope.record is None:
            if ident in sym.facts:
                return self._fact_ref(e, scope)
            if ident in sym.lets:
                return self._let_ref(e, scope)
            if ident in sym.aliases:
                ctx.note_read(ident)
                d = sym.aliases[ident]
                ctx.note_read(d.source_list)
                ctx.res[e] = Resolution("alias", ident)
                if sym.periods is not None:
                    ctx.periods.let(e, scope)
                return self._alias_type(ident, frozenset())
        if ident in sym.params:
            ctx.note_read(ident)
            ctx.consts.param_value(ident)
            ctx.res[e] = Resolution("param", ident)
            return ctx.param_types.get(ident, ERROR)
        if ident in sym.checkpoints:
            ctx.note_read(ident)
            ctx.res[e] = Resolution("checkpoint", ident)
            return DATE
        matches = [enum for enum in sym.enums.values() if any(m.name == ident for m in enum.members)]
        if len(matches) == 1:
            enum = matches[0]
            index = [m.name for m in enum.members].index(ident)
            ctx.res[e] = Resolution("enum", enum.name, index)
            return Type("enum", enum.name)
        if len(matches) > 1:
            return self.diag.error("K101", f"'{ident}' is a member of several enums: {', '.join(m.name for m in matches)}",
                                   e.span, hint=f"qualify it, e.g. {matches[0].name}.{ident}")
        if scope.ledger is not None and (ident in sym.facts or ident in sym.lets or ident in sym.aliases):
            return self.diag.error("K263", f"a rule of ledger '{scope.ledger}' reads the event, not the unit's "
                                   f"'{ident}'", e.span,
                                   hint="a unit fact is read only in a charge rule's join term: where unit."
                                   f"{ident} == …")
        if scope.record is not None and (ident in sym.facts or ident in sym.lets):
            return self.diag.error("K101", f"a record's let can only read its own fields and params, not '{ident}'", e.span)
        if sym.periods is not None:  # a rating's name is a value where periods have ratings (issue #11 P)
            rating_type = ctx.periods.rating(e)
            if rating_type is not None:
                return rating_type
        return self._unknown_name(e, scope)

    def _unknown_name(self, e: ast.Name, scope: Scope) -> Type:
        ctx, sym, ident = self.ctx, self.sym, e.ident
        options: list[str] = list(sym.facts) + list(sym.lets) + list(sym.params) + list(sym.aliases) + list(sym.checkpoints)
        for item in scope.items:
            if item.kind == "record" and item.name:
                options += list(ctx.record_fields.get(item.name, {}))
        if scope.record:
            options += list(ctx.record_fields.get(scope.record, {}))
        for enum in sym.enums.values():
            options += [m.name for m in enum.members]
        options += ctx.periods.rating_options() + ctx.periods.names()  # issue #11 P (none without periods)
        hint = did_you_mean(ident, options)
        if ident in ("periods", "period") and sym.periods is None:  # issue #11 P
            return self.diag.error("K242", f"'{ident}' reads the periods of a policy that declares none", e.span,
                                   hint='declare them: periods { 上半年 weight 50%  下半年 weight 50% }')
        if ident in NAMES_READ_AS_KEYWORDS:
            hint = f"'{ident}' is a keyword in expressions and cannot be used as a name"
        elif ident in COHORT_VALUES and not hint:
            hint = f"'{ident}' is a cohort value: it is readable in a policy with a cohort block (docs/language.md, Cohorts)"
        return self.diag.error("K101", f"unknown name '{ident}'", e.span, hint=hint)

    def _alias_type(self, alias: str, seen: frozenset[str]) -> Type:
        """The type of a deferral's kept list: its source's, a fact, another kept list or a let (issue #16)."""
        ctx, sym = self.ctx, self.sym
        source = sym.aliases[alias].source_list
        t: Type | None = None
        if source in sym.facts:
            ctx.facts_read.add(source)
            t = ctx.fact_types.get(source)
        elif source in sym.aliases and source not in seen:  # a cycle is reported by the defer pass (K130)
            t = self._alias_type(source, seen | {alias})
        elif source in sym.lets:
            t = ctx.lets.check_let(source)
        return t.required() if t is not None and not t.is_error else ERROR

    def _let_ref(self, e: ast.Name, scope: Scope) -> Type:
        ctx, ident = self.ctx, e.ident
        ctx.note_read(ident)
        t = ctx.lets.check_let(ident)
        avail = ctx.let_avail.get(ident)
        if avail is not None and scope.categories is not None and not scope.categories <= avail:
            missing = ", ".join(sorted(scope.categories - avail))
            self.diag.error("K108", f"'{ident}' reads facts that units of {missing} do not supply", e.span)
        if avail is not None and ctx.fact_restrictions:
            ctx.fact_restrictions[-1].update(avail)
        ctx.res[e] = Resolution("let", ident)
        if ident in ctx.post_lets:
            ctx.scores.post_let(e, scope)
        if self.sym.periods is not None:
            ctx.periods.let(e, scope)
        return self._narrowed(ident, t, scope)

    def _fact_ref(self, e: ast.Name, scope: Scope) -> Type:
        ctx, ident = self.ctx, e.ident
        decl = self.sym.facts[ident]
        ctx.facts_read.add(ident)
        ctx.note_read(ident)
        ctx.res[e] = Resolution("fact", ident)
        if decl.per_period:
            ctx.periods.fact(e, scope)
        if decl.categories:
            allowed = frozenset(decl.categories)
            if ctx.fact_restrictions:
                ctx.fact_restrictions[-1].update(allowed)
                restriction = ctx.fact_restrictions[-1]
                restriction &= allowed
            elif scope.categories is None or not scope.categories <= allowed:
                where = "every category" if scope.categories is None else ", ".join(sorted(scope.categories - allowed))
                self.diag.error("K108", f"fact '{ident}' is only supplied by {', '.join(decl.categories)}, but is read for {where}",
                                e.span, hint="place the target only in those categories (a veto or defer: add 'for "
                                f"{', '.join(decl.categories)}'), or widen the fact's 'for' list")
        t = ctx.fact_types.get(ident, ERROR)
        return self._narrowed(ident, t, scope)

    def _narrowed(self, ident: str, t: Type, scope: Scope) -> Type:
        if t.optional and ident in scope.narrowed:
            return t.required()
        return t

    def visit_Member(self, e: ast.Member) -> Type:
        ctx, scope = self.ctx, self.scope
        if isinstance(e.obj, ast.Name) and e.obj.ident == "unit" and not self._is_value_name("unit", scope):
            return self.diag.error("K263", f"'unit.{e.field}' is read only in a charge rule's join term", e.span,
                                   hint=f"write it in a ledger's charge rule: charge … to … where unit.{e.field} == …")
        if isinstance(e.obj, ast.Name) and e.obj.ident in self.sym.enums and not self._is_value_name(e.obj.ident, scope):
            enum = self.sym.enums[e.obj.ident]
            names = [m.name for m in enum.members]
            if e.field not in names:
                return self.diag.error("K101", f"enum '{enum.name}' has no member '{e.field}'", e.span,
                                       hint=did_you_mean(e.field, names))
            ctx.res[e] = Resolution("enum", enum.name, names.index(e.field))
            return Type("enum", enum.name)
        if self.sym.periods is not None and not any(named == getattr(e.obj, "ident", None) for named, _ in scope.named):
            record_type = ctx.periods.record(e, scope)  # ``一季度.score`` (issue #11 P)
            if record_type is not None:
                t = record_type
                return self._member_of(e, t) if not t.is_error else t
        t = self.expr(e.obj, scope)
        if t.is_error:
            return t
        if t.kind != "record" or t.name is None:
            return self.diag.error("K107", f"'.{e.field}' needs a record, and this is {t.describe()}", e.span)
        self.diag.expect_required(t, e.obj)
        return self._member_of(e, t)

    def _member_of(self, e: ast.Member, t: Type) -> Type:
        """The field ``e.field`` of a record of type ``t``."""
        ctx = self.ctx
        assert t.name is not None
        fields = ctx.record_fields.get(t.name, {})
        if e.field not in fields:
            return self.diag.error("K107", f"record '{t.name}' has no field '{e.field}'", e.span,
                                   hint=did_you_mean(e.field, fields))
        ctx.res[e] = Resolution("member", e.field)
        if t.name == PERIOD_RECORD and e.field in self.sym.facts:  # a per-period fact, read (issue #11 P)
            ctx.facts_read.add(e.field)
        return fields[e.field]

    def _is_value_name(self, ident: str, scope: Scope) -> bool:
        sym = self.sym
        return ident in sym.facts or ident in sym.lets or ident in sym.params or any(
            i.kind == "record" and i.name and ident in self.ctx.record_fields.get(i.name, {}) for i in scope.items)

    # ------------------------------------------------------------- operators
    def visit_Neg(self, e: ast.Neg) -> Type:
        t = self.expr(e.operand, self.scope)
        if t.is_error:
            return t
        self.diag.expect_required(t, e.operand)
        if t.kind not in (*NUMERIC, "money", "percent"):
            return self.diag.error("K103", f"cannot negate {t.describe()}", e.span)
        return t.required()

    def visit_Binary(self, e: ast.Binary) -> Type:
        a = self.expr(e.left, self.scope)
        b = self.expr(e.right, self.scope)
        if a.is_error or b.is_error:
            return ERROR
        self.diag.expect_required(a, e.left)
        self.diag.expect_required(b, e.right)
        result = arithmetic(e.op, a.required(), b.required())
        if result is None:
            return self._unit_error(e, a, b, e.right if a.kind in ("money", "percent") else e.left, op=e.op)
        return result

    def _unit_error(self, e: ast.Expr, a: Type, b: Type, culprit: ast.Expr, op: str | None = None) -> Type:
        hint = None
        kinds = {a.kind, b.kind}
        if "money" in kinds and kinds & set(NUMERIC) and isinstance(culprit, ast.Number):
            hint = f"write {culprit.value}元 to mean an amount of money"
        elif "percent" in kinds and kinds & set(NUMERIC) and isinstance(culprit, ast.Number):
            hint = f"write {culprit.value}% to mean a percentage" + (
                ", or take the percentage of a number first (q * 25% is a number)" if op else "")
        elif "percent" in kinds and kinds & set(NUMERIC):
            hint = "a percentage and a number do not add or compare; q * 25% (25% of q) is a number"
        elif "money" in kinds and kinds & set(NUMERIC):
            hint = "amounts of money only combine with amounts (元) or scale by plain numbers"
        what = f"'{op}'" if op else "compare"
        verb = f"cannot apply {what} to" if op else "cannot compare"
        return self.diag.error("K104", f"{verb} {a.describe()} and {b.describe()}", e.span, hint=hint)

    def visit_Compare(self, e: ast.Compare) -> Type:
        a = self.expr(e.left, self.scope)
        b = self.expr(e.right, self.scope)
        if a.is_error or b.is_error:
            return BOOL
        self._self_comparison(e)
        if a.kind == "none" or b.kind == "none":
            return self.diag.error("K103", "compare with none using 'is none' / 'is set'", e.span)
        self.diag.expect_required(a, e.left)
        self.diag.expect_required(b, e.right)
        if self.sym.periods is not None and self.ctx.periods.compare(e, a, b, self.scope):  # ratings, periods (#11 P)
            return BOOL
        if not comparable(a.required(), b.required(), e.op):
            zero_ok = {a.kind, b.kind} & {"money", "percent"} and (is_zero_literal(e.left) or is_zero_literal(e.right))
            if not zero_ok:
                culprit = e.right if isinstance(e.right, ast.Number) else e.left
                self._unit_error(e, a, b, culprit)
                return BOOL
        if e.op not in ("==", "!=") and a.kind == "enum":
            enum = self.sym.enums.get(a.name or "")
            if enum is not None and not enum.ordered:
                self.diag.error("K103", f"enum '{enum.name}' is not ordered, so '{e.op}' means nothing", e.span,
                                hint=f"declare it 'enum {enum.name} ordered {{ ... }}' or use == / !=")
        if e.op not in ("==", "!=") and a.kind == "bool":
            self.diag.error("K103", f"cannot order true/false with '{e.op}'", e.span)
        return BOOL

    def visit_InRange(self, e: ast.InRange) -> Type:
        v = self.expr(e.value, self.scope)
        lo = self.expr(e.low, self.scope)
        hi = self.expr(e.high, self.scope)
        for part, t in ((e.value, v), (e.low, lo), (e.high, hi)):
            self.diag.expect_required(t, part)
        if not (v.is_error or lo.is_error or hi.is_error):
            for bound_type, bound in ((lo, e.low), (hi, e.high)):
                if not comparable(v.required(), bound_type.required(), "<"):
                    return self._unit_error(e, v, bound_type, bound)
        return BOOL

    def _logical(self, e: ast.And | ast.Or, word: str, left_truth: bool) -> Type:
        # the right side runs only when the left was true (and) / false (or): narrow by that
        scope = self.scope
        lt = self.expr(e.left, scope)
        self.diag.expect_bool(lt, e.left, f"the left side of '{word}'")
        rt = self.expr(e.right, scope.narrow(asserted(e.left, left_truth)))
        self.diag.expect_bool(rt, e.right, f"the right side of '{word}'")
        return BOOL

    def visit_And(self, e: ast.And) -> Type:
        return self._logical(e, "and", True)

    def visit_Or(self, e: ast.Or) -> Type:
        return self._logical(e, "or", False)

    def visit_Not(self, e: ast.Not) -> Type:
        t = self.expr(e.operand, self.scope)
        self.diag.expect_bool(t, e.operand, "the operand of 'not'")
        return BOOL

    def visit_If(self, e: ast.If) -> Type:
        scope = self.scope
        ct = self.expr(e.cond, scope)
        self.diag.expect_bool(ct, e.cond, "the condition of 'if'")
        a = self.expr(e.then, scope.narrow(asserted(e.cond, True)))
        b = self.expr(e.otherwise, scope.narrow(asserted(e.cond, False)))
        return self._join(a, b, e)

    def visit_IsSet(self, e: ast.IsSet) -> Type:
        t = self.expr(e.operand, self.scope)
        if not t.is_error and not t.optional:
            self.diag.warn("K162", f"'{name_of(e.operand)}' is never none, so this test is always "
                           f"{'true' if e.expect_set else 'false'}", e.span)
        return BOOL

    def visit_Coalesce(self, e: ast.Coalesce) -> Type:
        a = self.expr(e.left, self.scope)
        b = self.expr(e.right, self.scope)
        if a.is_error or b.is_error:
            return ERROR
        if not a.optional:
            self.diag.warn("K162", f"'{name_of(e.left)}' is never none, so '?? ...' is never used", e.span)
        return self._join(a.required(), b, e)

    def _join(self, a: Type, b: Type, e: ast.Expr) -> Type:
        if a.is_error or b.is_error:
            return ERROR
        if a.kind == "none":
            return b.as_optional()
        if b.kind == "none":
            return a.as_optional()
        optional = a.optional or b.optional
        if a.kind in NUMERIC and b.kind in NUMERIC:
            joined = INT if a.kind == b.kind == "int" else DECIMAL
            return joined.as_optional() if optional else joined
        if a.kind == "empty" and b.kind == "list":
            return b
        if b.kind == "empty" and a.kind == "list":
            return a
        if a.required() == b.required():
            return a.as_optional() if optional else a.required()
        return self.diag.error("K103", f"the two branches give {a.describe()} and {b.describe()}", e.span,
                               hint="both branches must give the same kind of value")

    # ------------------------------------------------------------- functions
    def visit_Call(self, e: ast.Call) -> Type:
        if e.func in self.sym.maps:  # a map (issue #16): a constant function on an enum's members
            return self._map_call(e)
        if e.func == "index":
            return self._index(e)
        if e.func == "score" and self.scope.record is None:  # a target's or section's score (check/scores.py)
            return self.ctx.scores.call(e, self.scope)
        if e.func not in FUNCTIONS:
            return self.diag.error("K101", f"unknown function '{e.func}'", e.span,
                                   hint=did_you_mean(e.func, FUNCTIONS + ("index", "count", "sum", "any", "all", "min", "max")
                                                      + ORDER_TESTS))
        types = [self.expr(a, self.scope) for a in e.args]
        for arg, t in zip(e.args, types):
            self.diag.expect_required(t, arg)
        want = 2 if e.func == "round" else 1
        if len(e.args) != want and not (e.func == "round" and len(e.args) == 1):
            return self.diag.error("K103", f"{e.func} takes {want} argument(s), got {len(e.args)}", e.span)
        t = types[0]
        if t.is_error:
            return t
        if e.func in ("year", "month", "day"):
            if t.kind != "date":
                return self.diag.error("K103", f"{e.func} needs a date, not {t.describe()}", e.span)
            return INT
        if t.kind not in (*NUMERIC, "money", "percent"):
            return self.diag.error("K103", f"{e.func} needs a number, not {t.describe()}", e.span)
        if e.func == "round" and len(e.args) == 2:
            if not isinstance(e.args[1], ast.Number) or not e.args[1].is_int:
                self.diag.error("K103", "round's second argument is a whole number of decimal places", e.args[1].span)
        if e.func in ("floor", "ceil") and t.kind in NUMERIC:
            return INT
        if e.func == "round" and t.kind in NUMERIC:
            return INT if len(e.args) == 1 else DECIMAL
        return t.required()

    def visit_Aggregate(self, e: ast.Aggregate) -> Type:
        scope = self.scope
        lt = self.expr(e.source, scope)
        if lt.is_error:
            return ERROR
        if lt.kind == "empty":
            return self.diag.error("K103", f"{e.func} over an empty list literal is constant", e.span)
        if lt.kind != "list" or lt.elem is None:
            return self.diag.error("K103", f"{e.func} needs a list, and '{name_of(e.source)}' is {lt.describe()}",
                                   e.source.span)
        self.diag.expect_required(lt, e.source)
        inner = self.item_scope(scope, lt.elem, e.name, e.span)
        if e.where is not None:
            wt = self.expr(e.where, inner)
            self.diag.expect_bool(wt, e.where, f"the 'where' of {e.func}")
        of_type = self.expr(e.of, inner) if e.of is not None else None
        if e.by is not None and e.func != "streak" and not self._group_key(e, inner):
            return ERROR
        if e.func == "streak":  # issue #11 P: the longest run of consecutive items meeting the condition
            return self.ctx.periods.streak(e)
        if e.func == "count":
            if e.of is not None:
                self.diag.error("K103", "count takes no 'of'", e.of.span, hint="count(L where condition)")
            return INT
        if e.func in ("any", "all"):
            if e.where is None and of_type is None:
                return self.diag.error("K103", f"{e.func} needs a condition", e.span, hint=f"{e.func}(L where condition)")
            if of_type is not None and e.of is not None:
                self.diag.expect_bool(of_type, e.of, f"the 'of' of {e.func}")
            return BOOL
        if of_type is None:
            if lt.elem.kind in (*NUMERIC, "money", "percent", "date"):
                of_type = lt.elem
            else:
                return self.diag.error("K103", f"{e.func} needs 'of' to say which value to take", e.span,
                                       hint=f"{e.func}(L of field)")
        if of_type.is_error:
            return ERROR
        self.diag.expect_required(of_type, e.of or e.source)
        if e.func == "sum":
            if of_type.kind not in (*NUMERIC, "money", "percent"):
                return self.diag.error("K103", f"cannot sum {of_type.describe()}", e.span)
            return of_type.required()
        if of_type.kind not in (*NUMERIC, "money", "percent", "date"):
            return self.diag.error("K103", f"{e.func} needs numbers, amounts, percentages or dates", e.span)
        if e.func in ORDER_TESTS:
            return BOOL
        return of_type.required().as_optional()

    def visit_Extremum(self, e: ast.Extremum) -> Type:
        types = [self.expr(a, self.scope) for a in e.args]
        result = types[0]
        for arg, t in zip(e.args, types):
            self.diag.expect_required(t, arg)
        for arg, t in zip(e.args[1:], types[1:]):
            result = self._join(result, t, arg)
        if not result.is_error and result.kind not in (*NUMERIC, "money", "percent", "date"):
            return self.diag.error("K103", f"{e.func} needs numbers, amounts, percentages or dates", e.span)
        return result.required()

    # ------------------------------------------ lists and maps (issue #16)
    def visit_ListLit(self, e: ast.ListLit) -> Type:
        """``[a, b]``: items of one type, none of them none."""
        types = [self.expr(item, self.scope) for item in e.items]
        result = types[0]
        for item, t in zip(e.items, types):
            self.diag.expect_required(t, item)
        for item, t in zip(e.items[1:], types[1:]):
            result = self._join(result.required(), t.required(), item)
        if result.is_error:
            return ERROR
        return Type("list", elem=result.required())

    def visit_InList(self, e: ast.InList) -> Type:
        """``x in L``: L a list literal or a list value; x of the elements' type (None is in no list)."""
        v = self.expr(e.value, self.scope)
        lt = self.expr(e.container, self.scope)
        if v.is_error or lt.is_error:
            return BOOL
        if lt.kind == "empty":
            self.diag.error("K103", "'in []' is never true", e.container.span, hint="list the values: x in [a, b]")
            return BOOL
        if lt.kind != "list" or lt.elem is None:
            if lt.kind in (*NUMERIC, "money", "percent", "date"):
                self.diag.error("K103", f"'in' needs a list, and '{name_of(e.container)}' is {lt.describe()}",
                                e.container.span, hint="a range is written x in low..high")
            else:
                self.diag.error("K103", f"'in' needs a list, and '{name_of(e.container)}' is {lt.describe()}",
                                e.container.span, hint="x in [a, b]")
            return BOOL
        self.diag.expect_required(lt, e.container)
        if not comparable(v.required(), lt.elem.required(), "=="):
            self._unit_error(e, v, lt.elem, e.value)
        return BOOL

    def _map_call(self, e: ast.Call) -> Type:
        """``M(x)``: the value the map gives x's member; optional unless the map lists every member."""
        decl = self.sym.maps[e.func]
        types = [self.expr(a, self.scope) for a in e.args]
        if len(e.args) != 1:
            return self.diag.error("K269", f"map '{e.func}' takes one argument, got {len(e.args)}", e.span)
        t = types[0]
        result = self.ctx.map_types.get(e.func, ERROR)
        if t.is_error or result.is_error:
            return ERROR
        if t.kind != "enum" or t.name != decl.source:
            return self.diag.error("K269", f"map '{e.func}' takes a member of {decl.source}, not {t.describe()}",
                                   e.args[0].span)
        self.ctx.res[e] = Resolution("map", e.func)
        if t.optional:  # none in, none out
            return result.as_optional()
        return result

    # ------------------------------------------ named items, index, group-by (issue #10 C)
    def item_scope(self, scope: Scope, elem: Type, name: str | None, span: Span) -> Scope:
        """``scope`` with one more item; a named item may not hide any other meaning of its name (K210).

        Why refuse rather than let the innermost win: ``sum(事故 as 死亡人数 of 死亡人数)`` would
        read the item where the author may mean the field, a fact or an outer item — two
        readings, so neither is chosen silently.
        """
        depth = len(scope.items)
        # a name narrowed outside (``X is set and …``) is not narrowed where this item's field X hides it
        hidden = frozenset(self.ctx.record_fields.get(elem.name, {})) if elem.kind == "record" and elem.name else frozenset()
        inner = attrs.evolve(scope, items=scope.items + (elem,), narrowed=scope.narrowed - hidden)
        if name is None:
            return inner
        other = self._meaning_of(name, scope, elem)
        if other is not None:
            self.diag.error("K210", f"the item name '{name}' is already {other}", span,
                            hint=f"name the item something else, e.g. '{name}项'")
        # bound even when refused, so the clause's other uses of the name do not cascade into more errors
        return attrs.evolve(inner, named=scope.named + ((name, depth),))

    def _meaning_of(self, name: str, scope: Scope, elem: Type) -> str | None:
        """What ``name`` already means where a new item would be named so (None: nothing)."""
        ctx, sym = self.ctx, self.sym
        if name in NAMES_READ_AS_KEYWORDS:
            return "a keyword of the language"
        if any(named == name for named, _ in scope.named):
            return "the name of an enclosing item"
        for item in (*scope.items, elem):
            if item.kind == "record" and item.name is not None and name in ctx.record_fields.get(item.name, {}):
                return f"a field of record '{item.name}'"
        if scope.record is not None and name in ctx.record_fields.get(scope.record, {}):
            return f"a field of record '{scope.record}'"
        if name in sym.global_names:
            return f"the {sym.global_names[name][0]} '{name}'"
        if name in scope.outcome_items:
            return f"the outcome item '{name}'"
        for enum in sym.enums.values():
            if any(m.name == name for m in enum.members):
                return f"a member of enum '{enum.name}'"
        if name in sym.enums or name in sym.records:
            return f"the type '{name}'"
        return None

    def _index(self, e: ast.Call) -> Type:
        """``index(a)``: the 1-based position of the named item ``a`` (or ``it``) in the list it ranges over."""
        scope = self.scope
        arg = e.args[0] if len(e.args) == 1 else None
        depth: int | None = None
        if isinstance(arg, ast.Name):
            depth = next((d for named, d in reversed(scope.named) if named == arg.ident), None)
        elif isinstance(arg, ast.It) and scope.items:
            depth = len(scope.items) - 1
        if arg is None or depth is None:
            names = [named for named, _ in scope.named]
            where = f"the items named here are {', '.join(names)}" if names else "no item is named here"
            return self.diag.error("K211", f"index(…) takes the name of an item of an enclosing list ({where})", e.span,
                                   hint="name the item: count(L as a where …), veto … on L as a where …, "
                                        "then index(a)")
        self.ctx.res[e] = Resolution("index", getattr(arg, "ident", "it"), depth=depth)
        self.ctx.types[arg] = scope.items[depth]
        return INT

    def _group_key(self, e: ast.Aggregate, inner: Scope) -> bool:
        """``by KEY`` on sum and count only, with a key that compares exactly (K213)."""
        assert e.by is not None
        if e.func not in ("sum", "count"):
            self.diag.error("K213", f"'by' groups only sum and count, not {e.func}", e.by.span,
                            hint="sum(L of v by k) sums the highest v of each k; count(L by k) counts distinct k")
            return False
        kt = self.expr(e.by, inner)
        if kt.is_error:
            return False
        if kt.optional:
            self.diag.error("K213", "the group key may be none, and an item without a key belongs to no group", e.by.span,
                            hint="group by a value every item has, or give the field a default")
            return False
        if kt.kind not in GROUP_KEY_KINDS:
            self.diag.error("K213", f"cannot group by {kt.describe()}", e.by.span,
                            hint="group by a field that holds a number, text, date, true/false or enum member")
            return False
        return True

    def _self_comparison(self, e: ast.Compare) -> None:
        """Warn (K212) when both sides are the same item's same value: ``pos <= it.pos`` is ``x <= x``."""
        left, right = self._item_key(e.left), self._item_key(e.right)
        if left is not None and left == right:
            self.diag.warn("K212", f"both sides of '{e.op}' are the same item's value, so this compares it with itself",
                           e.span, hint="inside a nested aggregate, bare fields and 'it' mean the inner item: "
                                        "name the outer one with 'as' (on L as a where count(L where x <= a.x) …)")

    def _item_key(self, e: ast.Expr) -> tuple[object, ...] | None:
        """What an item reference reads, as (depth, fields…); None for anything else."""
        res = self.ctx.res.get(e)
        if isinstance(e, ast.It) and res is not None:
            return ("item", res.depth)
        if isinstance(e, ast.Name) and res is not None:
            if res.kind == "it":
                return ("item", res.depth)
            if res.kind == "field":
                return ("item", res.depth, res.name)
            return None
        if isinstance(e, ast.Member):
            inner = self._item_key(e.obj)
            return None if inner is None else (*inner, e.field)
        if isinstance(e, ast.Call) and res is not None and res.kind == "index":
            return ("index", res.depth)
        return None
