"""Constant folding: params (dated ones too), defaults, bounds, points and band edges.

Points, totals, band edges, bounds and defaults must be known when the policy is
loaded, so that the budget and band proofs can be done then.  :class:`ConstFolder`
is an :class:`~kaohe_rules.language.visitor.ExprVisitor` that folds literals, params,
checkpoints, enum members, negation and arithmetic, and refuses everything else
(:class:`NotConstant`).  :class:`ConstEvaluator` is the service the other passes
use through ``ctx.consts``; :func:`check_params` is the pass over every param.
"""

from __future__ import annotations

import datetime
import decimal
from decimal import Decimal, InvalidOperation

from ...numeric import ENGINE_CONTEXT, arith
from ...source import Span
from .. import ast
from ..model import MISSING, Resolution
from ..types import (
    BOOL,
    DATE,
    DECIMAL,
    ERROR,
    INT,
    MONEY,
    NONE,
    NUMERIC,
    PERCENT,
    TEXT,
    Type,
    arithmetic,
    assignable,
    comparable,
)
from ..visitor import ExprVisitor
from .api import Bounds, Context, is_zero_literal


class NotConstant(Exception):
    """An expression that cannot be folded when the policy is loaded; ``span`` says where."""

    def __init__(self, span: Span | None) -> None:
        super().__init__("not constant")
        self.span = span


def check_params(ctx: Context) -> None:
    """The pass: every param folded and typed (in declaration order)."""
    for name in list(ctx.sym.params):
        ctx.consts.param_value(name)


class ConstEvaluator:
    """Folds constants for every pass; params are folded once, on first use."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.folder = ConstFolder(self)
        self._param_state: dict[str, str] = {}  # "busy" while folding (a cycle), then "done"

    def const(self, expr: ast.Expr, what: str) -> object:
        """Evaluate a constant expression (literals, params, arithmetic); report if not constant."""
        try:
            return self.evaluate(expr)
        except NotConstant as exc:
            self.ctx.diag.error("K114", f"{what} must be a constant (numbers and params only)", exc.span or expr.span,
                                hint="move the computation into a param, or use a literal")
            return None
        except (InvalidOperation, ZeroDivisionError, ArithmeticError):
            self.ctx.diag.error("K115", f"{what} cannot be computed (division by zero or overflow)", expr.span)
            return None

    def try_const(self, expr: ast.Expr) -> object:
        """The value of ``expr`` if it is a constant, else None, reporting nothing (the bonus pass
        asks whether an amount is a constant negative number, K194)."""
        try:
            return self.evaluate(expr)
        except (NotConstant, InvalidOperation, ZeroDivisionError, ArithmeticError):
            return None

    def evaluate(self, expr: ast.Expr) -> object:
        """The folded value in the engine's decimal context; raises NotConstant."""
        with decimal.localcontext(ENGINE_CONTEXT):
            return self.folder.visit(expr)

    def type_of(self, expr: ast.Expr, value: object) -> Type:
        """The type of a folded constant (money and percent literals keep their unit)."""
        if isinstance(expr, ast.MoneyLit):
            return MONEY
        if isinstance(expr, ast.PercentLit):
            return PERCENT
        if expr in self.ctx.types:
            return self.ctx.types[expr]
        if isinstance(value, bool):
            return BOOL
        if isinstance(value, int):
            return INT
        if isinstance(value, Decimal):
            return DECIMAL
        if isinstance(value, datetime.date):
            return DATE
        if isinstance(value, str):
            return TEXT
        return ERROR

    def param_value(self, name: str) -> object:
        ctx = self.ctx
        state = self._param_state.get(name)
        if state == "done":
            return ctx.param_values.get(name)
        decl = ctx.sym.params[name]
        if state == "busy":
            ctx.diag.error("K131", f"param '{name}' is defined in terms of itself", decl.span)
            self._param_state[name] = "done"
            return None
        self._param_state[name] = "busy"
        declared = ctx.resolve_type(decl.type) if decl.type else None
        value_expr = self._value_in_force(decl) if decl.periods else decl.value
        for _, other in decl.periods:  # every dated value must be well typed, not only the one in force
            if other is not value_expr:
                self._check_dated_value(name, other, declared)
        try:
            value = self.evaluate(value_expr)
        except NotConstant as exc:
            ctx.diag.error("K131", f"param '{name}' must be a constant", exc.span or value_expr.span,
                           hint="params hold numbers, amounts, percentages, dates or text; use let for derived values")
            value, vtype = None, ERROR
        except (InvalidOperation, ArithmeticError):
            ctx.diag.error("K115", f"param '{name}' cannot be computed", value_expr.span)
            value, vtype = None, ERROR
        else:
            vtype = self.type_of(value_expr, value)
        if declared is not None and not vtype.is_error:
            if not assignable(vtype, declared):
                ctx.diag.type_mismatch(f"param '{name}'", vtype, declared, value_expr)
            elif declared.kind == "decimal" and isinstance(value, int):
                value = Decimal(value)
            vtype = declared
        ctx.param_values[name] = value
        ctx.param_types[name] = vtype
        self._param_state[name] = "done"
        return value

    def _value_in_force(self, decl: ast.ParamDecl) -> ast.Expr:
        """The value of a dated param on the first day of the policy's period."""
        diag = self.ctx.diag
        period = self.ctx.linked.header.period
        dates = [d for d, _ in decl.periods]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            diag.error("K133", f"the dates of param '{decl.name}' must be in increasing order", decl.span)
        if period is None:
            diag.error("K132", f"param '{decl.name}' has dated values but the policy declares no period",
                       decl.span, hint="add to the policy header: period 2013-01-01 .. 2013-12-31")
            return decl.periods[-1][1]
        in_force = [value for start, value in decl.periods if start <= period[0]]
        if not in_force:
            diag.error("K133", f"no value of param '{decl.name}' is in force on {period[0].isoformat()}",
                       decl.span, hint=f"the earliest value starts on {min(dates).isoformat()}")
            return decl.periods[0][1]
        return in_force[-1]

    def _check_dated_value(self, name: str, expr: ast.Expr, declared: Type | None) -> None:
        try:
            value = self.evaluate(expr)
        except (NotConstant, InvalidOperation, ArithmeticError):
            self.ctx.diag.error("K131", f"param '{name}' must be a constant", expr.span)
            return
        vtype = self.type_of(expr, value)
        if declared is not None and not vtype.is_error and not assignable(vtype, declared):
            self.ctx.diag.type_mismatch(f"param '{name}'", vtype, declared, expr)

    def default_value(self, expr: ast.Expr | None, ftype: Type, name: str) -> object:
        if expr is None:
            return MISSING
        if isinstance(expr, ast.EmptyList):
            if ftype.kind != "list" and not ftype.is_error:
                self.ctx.diag.error("K103", f"default of '{name}' is an empty list but the type is {ftype.describe()}",
                                    expr.span)
            return ()
        value = self.const(expr, f"the default of '{name}'")
        if value is None and not isinstance(expr, ast.NoneLit):
            return MISSING
        if is_zero_literal(expr) and ftype.kind in ("money", "percent"):
            return Decimal(0)  # a bare 0 is zero of any unit, as in comparisons (issue #10, item 7)
        vtype = self.type_of(expr, value) if value is not None else NONE
        if not ftype.is_error and not assignable(vtype, ftype):
            self.ctx.diag.type_mismatch(f"the default of '{name}'", vtype, ftype, expr)
        if ftype.kind == "decimal" and isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        return value

    def bounds(self, constraint: ast.Constraint | None, ftype: Type, name: str) -> Bounds | None:
        if constraint is None:
            return None
        if ftype.kind not in (*NUMERIC, "money", "percent", "date") and not ftype.is_error:
            self.ctx.diag.error("K103", f"'{name}' is {ftype.describe()}; only numbers, amounts, percentages and dates take bounds",
                                constraint.span)
            return None
        low = self.const(constraint.low, f"the bound of '{name}'")
        high = self.const(constraint.high, f"the bound of '{name}'") if constraint.high is not None else None
        for expr, value in ((constraint.low, low), (constraint.high, high)):
            if expr is None or value is None:
                continue
            vtype = self.type_of(expr, value)
            if is_zero_literal(expr):
                continue
            if not ftype.is_error and not comparable(vtype, ftype.required(), "<"):
                self.ctx.diag.type_mismatch(f"the bound of '{name}'", vtype, ftype.required(), expr)
        if constraint.op is None:
            return (low, high, True, True)
        if constraint.op in (">=", ">"):
            return (low, None, constraint.op == ">=", True)
        return (None, low, True, constraint.op == "<=")


class ConstFolder(ExprVisitor[object]):
    """The value of a constant expression; every other form raises :class:`NotConstant`.

    Names it folds get their resolution and type recorded, as the expression checker
    would, so the compiler reads params in bounds and points like anywhere else.
    """

    def __init__(self, consts: ConstEvaluator) -> None:
        self.consts = consts
        self.ctx = consts.ctx

    def visit_Number(self, e: ast.Number) -> object:
        return int(e.value) if e.is_int else e.value

    def visit_MoneyLit(self, e: ast.MoneyLit) -> object:
        return e.value

    def visit_PercentLit(self, e: ast.PercentLit) -> object:
        return e.value

    def visit_DateLit(self, e: ast.DateLit) -> object:
        return e.value

    def visit_TextLit(self, e: ast.TextLit) -> object:
        return e.value

    def visit_BoolLit(self, e: ast.BoolLit) -> object:
        return e.value

    def visit_NoneLit(self, e: ast.NoneLit) -> object:
        return None

    def visit_EmptyList(self, e: ast.EmptyList) -> object:
        return ()

    def visit_Name(self, e: ast.Name) -> object:
        ctx = self.ctx
        if e.ident in ctx.sym.params:
            value = self.consts.param_value(e.ident)
            ctx.res[e] = Resolution("param", e.ident)
            ctx.types[e] = ctx.param_types.get(e.ident, ERROR)
            return value
        if e.ident in ctx.sym.checkpoints:
            ctx.res[e] = Resolution("checkpoint", e.ident)
            ctx.types[e] = DATE
            return ctx.sym.checkpoints[e.ident].end
        for enum in ctx.sym.enums.values():
            names = [m.name for m in enum.members]
            if e.ident in names:
                ctx.res[e] = Resolution("enum", enum.name, names.index(e.ident))
                ctx.types[e] = Type("enum", enum.name)
                return names.index(e.ident)
        raise NotConstant(e.span)

    def visit_Neg(self, e: ast.Neg) -> object:
        value = self.visit(e.operand)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return -value
        raise NotConstant(e.span)

    def visit_Binary(self, e: ast.Binary) -> object:
        left = self.visit(e.left)
        right = self.visit(e.right)
        lt, rt = self.consts.type_of(e.left, left), self.consts.type_of(e.right, right)
        result_type = arithmetic(e.op, lt, rt)
        if result_type is None or not isinstance(left, (int, Decimal)) or not isinstance(right, (int, Decimal)):
            raise NotConstant(e.span)
        self.ctx.types[e] = result_type
        return arith(e.op, left, right, lt.kind, rt.kind)

    # every other form is computed per unit, never when the policy is loaded
    def visit_It(self, e: ast.It) -> object:
        raise NotConstant(e.span)

    def visit_Member(self, e: ast.Member) -> object:
        raise NotConstant(e.span)

    def visit_Compare(self, e: ast.Compare) -> object:
        raise NotConstant(e.span)

    def visit_InRange(self, e: ast.InRange) -> object:
        raise NotConstant(e.span)

    def visit_And(self, e: ast.And) -> object:
        raise NotConstant(e.span)

    def visit_Or(self, e: ast.Or) -> object:
        raise NotConstant(e.span)

    def visit_Not(self, e: ast.Not) -> object:
        raise NotConstant(e.span)

    def visit_If(self, e: ast.If) -> object:
        raise NotConstant(e.span)

    def visit_IsSet(self, e: ast.IsSet) -> object:
        raise NotConstant(e.span)

    def visit_Coalesce(self, e: ast.Coalesce) -> object:
        raise NotConstant(e.span)

    def visit_Call(self, e: ast.Call) -> object:
        raise NotConstant(e.span)

    def visit_Aggregate(self, e: ast.Aggregate) -> object:
        raise NotConstant(e.span)

    def visit_Extremum(self, e: ast.Extremum) -> object:
        raise NotConstant(e.span)

    def visit_ListLit(self, e: ast.ListLit) -> object:  # issue #16
        raise NotConstant(e.span)

    def visit_InList(self, e: ast.InList) -> object:  # issue #16
        raise NotConstant(e.span)
