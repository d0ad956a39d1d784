"""Expressions of the policy language compiled to polars expressions over canonical fact columns.

A value is a :class:`~.numbers.Num` (numbers: exact scaled integers), a :class:`Plain` (bool, enum
member index, text, date) or a :class:`ListOf` (a list of records: a List(Struct) column).  The semantics
are the reference interpreter's (:mod:`kaohe_rules.runtime.interpreter`):

* none is null; ``??`` is a coalesce and ``is set`` a null test.  The checker refuses an optional value
  anywhere else, so ``and``/``or`` in polars' three-valued logic give what Python's short circuit gives
  (``x is set and x > 3``: false & null is false), and a condition that is null where a decision is taken
  reads as false, as ``bool(None)`` does in the per-unit code.
* an aggregate over a list of records runs its ``where``/``of`` per item inside ``list.eval`` (the item is
  ``pl.element()``, a record's ``let`` fields are computed from its own fields, as the interpreter
  recomputes them); an item expression may read the item, constants and parameters.
* anything else raises :class:`~.numbers.Unsupported` naming the construct as written and where, and the
  category's units go per unit.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..language import ast
from ..language.model import CheckedPolicy
from ..language.types import Type
from ..numeric import scales_by_percent
from .numbers import (
    FACT_LIMIT,
    INT64_BOUND,
    LIST_LIMIT,
    Num,
    Unsupported,
    add,
    align,
    ceil_div,
    checked,
    constant,
    floor_div,
    half_up,
    lit,
    mul,
    negate,
    operand,
)

if TYPE_CHECKING:
    import polars as pl

_NUMERIC = ("int", "decimal", "money", "percent")
_DECIMAL = ("decimal", "money", "percent")


@attrs.frozen
class Plain:
    """A bool, enum (member index, Int32), text or date expression."""

    expr: pl.Expr
    kind: str


@attrs.frozen
class ListOf:
    """A list of records (List(Struct)); ``record`` names the record type.

    ``keep`` (a Boolean over ``pl.element()``, or None for every item): the items of ``expr`` this list
    holds — a deferral's kept list is its source with the moved items masked out, never a filtered copy
    (copying every record of every unit costs more than all the scoring).
    """

    expr: pl.Expr
    record: str
    keep: pl.Expr | None = None

    def kept(self, cond: pl.Expr | None) -> pl.Expr | None:
        """``cond`` for the items this list holds (None: every item)."""
        if self.keep is None:
            return cond
        return self.keep if cond is None else self.keep & cond


Value = Num | Plain | ListOf


def where(node: Any) -> str:
    span = getattr(node, "span", None)
    return span.location() if span is not None else "?"


def text(node: Any) -> str:
    """The construct as the author wrote it (its source text, first line), for a fallback's message."""
    span = getattr(node, "span", None)
    if span is None:
        return type(node).__name__
    try:
        lines: list[str] = span.source.text.splitlines()
        line: str = lines[span.line - 1]
        if span.line == span.end_line:
            return line[span.column - 1:span.end_column].strip()
        return line[span.column - 1:].strip() + " …"
    except (AttributeError, IndexError):
        return type(node).__name__


def fact_value(checked_policy: CheckedPolicy, name: str, type_: Type, expr: pl.Expr) -> Value:
    """A canonical fact column (or record field) as a value."""
    import polars as pl

    kind = type_.kind
    if kind == "int":
        return Num(expr, 0, INT64_BOUND)  # an Int64 column: bounded by its type, no guard
    if kind in _DECIMAL:
        # an Int128 column; a row holding a value beyond FACT_LIMIT is assessed per unit (the compiler's
        # guard), so every value that counts fits Int64 (not strict: a guarded row's value becomes null)
        return Num(expr.cast(pl.Int64, strict=False), 4, FACT_LIMIT * 10 ** 4)
    if kind in ("bool", "enum", "text", "date"):
        return Plain(expr, kind)
    if kind == "list" and type_.elem is not None and type_.elem.kind == "record" and type_.elem.name:
        return ListOf(expr, type_.elem.name)
    raise Unsupported(f"a fact of type {type_.describe()} ({name})", name)


class ExprCompiler:
    """Compiles the expressions of one category's plan (``lookup`` gives the unit-level names: facts, lets,
    aliases, scores) to values.  ``record``: the record type of the item in scope (inside ``list.eval``)."""

    def __init__(self, checked_policy: CheckedPolicy, lookup: Callable[[ast.Expr, Any], Value],
                 record: str | None = None, outcome: dict[str, Num] | None = None,
                 guard: Callable[[str, str, int], None] | None = None) -> None:
        self.checked = checked_policy
        self.lookup = lookup
        self.record = record
        self.outcome = outcome
        self.guard = guard

    # ------------------------------------------------------------------ helpers
    def num(self, e: ast.Expr) -> Num:
        value = self.value(e)
        if not isinstance(value, Num):
            raise Unsupported(f"'{text(e)}' as a number", where(e))
        return value

    def boolean(self, e: ast.Expr) -> pl.Expr:
        value = self.value(e)
        if not isinstance(value, Plain) or value.kind != "bool":
            raise Unsupported(f"'{text(e)}' as a condition", where(e))
        return value.expr

    def value(self, e: ast.Expr) -> Value:
        method = getattr(self, "v_" + type(e).__name__, None)
        if method is None:
            raise Unsupported(f"{type(e).__name__.lower()} '{text(e)}'", where(e))
        try:
            result: Value = method(e)
        except Unsupported as unsupported:
            if unsupported.where:
                raise
            # a rescaling Int128 cannot hold (numbers.Num.at): named by the expression that needs it
            raise Unsupported(f"'{text(e)}' (its exact value may need more than 34 digits)", where(e)) from None
        return result

    def const(self, value: object, type_: Type, e: ast.Expr) -> Value:
        import polars as pl

        kind = type_.kind
        if value is None:
            raise Unsupported(f"none in '{text(e)}'", where(e))
        if kind in _NUMERIC:
            return constant(value)  # type: ignore[arg-type]
        if kind == "bool":
            return Plain(pl.lit(bool(value)), "bool")
        if kind == "enum":
            return Plain(pl.lit(int(value), dtype=pl.Int32), "enum")  # type: ignore[call-overload]
        if kind == "text":
            return Plain(pl.lit(str(value), dtype=pl.String), "text")
        if kind == "date" and isinstance(value, datetime.date):
            return Plain(pl.lit(value, dtype=pl.Date), "date")
        raise Unsupported(f"a constant of type {type_.describe()} in '{text(e)}'", where(e))

    def type_of(self, e: ast.Expr) -> Type:
        return self.checked.types[e]

    # ------------------------------------------------------------------ literals
    def v_Number(self, e: ast.Number) -> Value:
        return constant(e.value)

    def v_MoneyLit(self, e: ast.MoneyLit) -> Value:
        return constant(e.value)

    def v_PercentLit(self, e: ast.PercentLit) -> Value:
        return constant(e.value)

    def v_DateLit(self, e: ast.DateLit) -> Value:
        import polars as pl

        return Plain(pl.lit(e.value, dtype=pl.Date), "date")

    def v_TextLit(self, e: ast.TextLit) -> Value:
        import polars as pl

        return Plain(pl.lit(e.value, dtype=pl.String), "text")

    def v_BoolLit(self, e: ast.BoolLit) -> Value:
        import polars as pl

        return Plain(pl.lit(e.value), "bool")

    # ------------------------------------------------------------------ names
    def v_Name(self, e: ast.Name) -> Value:
        res = self.checked.resolutions[e]
        if res.kind == "param":
            if self.checked.params[res.name].periods:
                raise Unsupported(f"parameter {res.name} with values per period", where(e))
            return self.const(self.checked.param_values.get(res.name), self.checked.param_types[res.name], e)
        if res.kind == "checkpoint":
            return self.const(self.checked.checkpoints[res.name].end, Type("date"), e)
        if res.kind == "enum":
            return self.const(res.value, Type("enum"), e)
        if res.kind in ("field", "record_field"):
            if self.record is None or res.depth != 0:
                raise Unsupported(f"'{text(e)}' of an enclosing list's item (nested aggregates)", where(e))
            return self.field(res.name, e)
        if res.kind == "outcome_item":
            if self.outcome is None or res.name not in self.outcome:
                raise Unsupported(f"outcome item '{res.name}' read before it is set", where(e))
            return self.outcome[res.name]
        if self.record is not None:
            raise Unsupported(f"'{text(e)}' (a unit-level value) inside an item's condition", where(e))
        return self.lookup(e, res)

    def field(self, name: str, e: ast.Expr) -> Value:
        """A field of the item in scope, or a ``let`` of its record computed from the item's own fields."""
        import polars as pl

        assert self.record is not None
        decl = self.checked.records[self.record]
        for let in decl.lets:
            if let.name == name:
                return self.value(let.value)
        type_ = self.checked.record_fields[self.record][name]
        value = fact_value(self.checked, name, type_, pl.element().struct.field(name))
        if isinstance(value, ListOf):
            raise Unsupported(f"a list field '{name}' of a record", where(e))
        if isinstance(value, Num) and value.scale > 0 and self.guard is not None:
            self.guard(self.record, name, value.scale)
        return value

    def v_Member(self, e: ast.Member) -> Value:
        res = self.checked.resolutions.get(e)
        if res is not None and res.kind == "enum":
            return self.const(res.value, Type("enum"), e)
        raise Unsupported(f"field access '{text(e)}'", where(e))

    # ------------------------------------------------------------------ arithmetic
    def v_Neg(self, e: ast.Neg) -> Value:
        value = self.num(e.operand)
        return negate(value)

    def v_Binary(self, e: ast.Binary) -> Value:
        ka, kb = self.type_of(e.left).kind, self.type_of(e.right).kind
        if self.type_of(e.left).optional or self.type_of(e.right).optional:
            raise Unsupported(f"arithmetic on an optional value '{text(e)}'", where(e))
        if e.op == "/":
            raise Unsupported("division (/)", where(e))
        if ka == "date" or kb == "date":
            raise Unsupported(f"date arithmetic '{text(e)}'", where(e))
        a, b = self.num(e.left), self.num(e.right)
        if e.op in ("+", "-"):
            return checked(add(a, b, e.op), f"'{text(e)}'", where(e))
        if e.op == "*":
            return checked(mul(a, b, scales_by_percent(ka, kb)), f"'{text(e)}'", where(e))
        raise Unsupported(f"operator {e.op}", where(e))

    def v_Extremum(self, e: ast.Extremum) -> Value:
        import polars as pl

        if any(self.type_of(a).optional for a in e.args):
            raise Unsupported(f"{e.func} of an optional value '{text(e)}'", where(e))
        nums = [self.num(a) for a in e.args]
        scale = max(n.scale for n in nums)
        nums = [n.at(scale) for n in nums]
        exprs = [n.expr for n in nums]
        expr = pl.min_horizontal(exprs) if e.func == "min" else pl.max_horizontal(exprs)
        return Num(expr, scale, max(n.bound for n in nums))

    # ------------------------------------------------------------------ comparisons and logic
    def _pair(self, left: ast.Expr, right: ast.Expr, e: ast.Expr) -> tuple[pl.Expr, pl.Expr]:
        a, b = self.value(left), self.value(right)
        if isinstance(a, Num) and isinstance(b, Num):
            a, b = align(a, b)
            return a.expr, b.expr
        if isinstance(a, Plain) and isinstance(b, Plain) and a.kind == b.kind:
            return a.expr, b.expr
        raise Unsupported(f"comparison '{text(e)}'", where(e))

    def v_Compare(self, e: ast.Compare) -> Value:
        a, b = self._pair(e.left, e.right, e)
        ops: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
            "==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
            "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
        return Plain(ops[e.op](a, b), "bool")

    def v_InRange(self, e: ast.InRange) -> Value:
        low, value = self._pair(e.low, e.value, e)
        value2, high = self._pair(e.value, e.high, e)
        return Plain((low <= value) & (value2 <= high), "bool")

    def v_And(self, e: ast.And) -> Value:
        return Plain(self.boolean(e.left) & self.boolean(e.right), "bool")

    def v_Or(self, e: ast.Or) -> Value:
        return Plain(self.boolean(e.left) | self.boolean(e.right), "bool")

    def v_Not(self, e: ast.Not) -> Value:
        return Plain(~self.boolean(e.operand), "bool")

    def v_IsSet(self, e: ast.IsSet) -> Value:
        value = self.value(e.operand)
        return Plain(value.expr.is_not_null() if e.expect_set else value.expr.is_null(), "bool")

    def v_Coalesce(self, e: ast.Coalesce) -> Value:
        import polars as pl

        a, b = self.value(e.left), self.value(e.right)
        if isinstance(a, Num) and isinstance(b, Num):
            a, b = align(a, b)
            return Num(pl.coalesce(a.expr, b.expr), a.scale, max(a.bound, b.bound))
        if isinstance(a, Plain) and isinstance(b, Plain) and a.kind == b.kind:
            return Plain(pl.coalesce(a.expr, b.expr), a.kind)
        raise Unsupported(f"'{text(e)}'", where(e))

    def v_If(self, e: ast.If) -> Value:
        import polars as pl

        cond = self.boolean(e.cond)
        a, b = self.value(e.then), self.value(e.otherwise)
        if isinstance(a, Num) and isinstance(b, Num):
            a, b = align(a, b)
            return Num(pl.when(cond).then(a.expr).otherwise(b.expr), a.scale, max(a.bound, b.bound))
        if isinstance(a, Plain) and isinstance(b, Plain) and a.kind == b.kind:
            return Plain(pl.when(cond).then(a.expr).otherwise(b.expr), a.kind)
        raise Unsupported(f"'{text(e)}'", where(e))

    def v_InList(self, e: ast.InList) -> Value:
        import polars as pl

        if not isinstance(e.container, ast.ListLit):
            raise Unsupported(f"'in' a list value '{text(e)}'", where(e))
        value = self.value(e.value)
        items = [self.value(item) for item in e.container.items]
        if not items:
            return Plain(pl.lit(False), "bool")
        tests: list[pl.Expr] = []
        for item in items:
            if isinstance(value, Num) and isinstance(item, Num):
                a, b = align(value, item)
                tests.append(a.expr == b.expr)
            elif isinstance(value, Plain) and isinstance(item, Plain) and value.kind == item.kind:
                tests.append(value.expr == item.expr)
            else:
                raise Unsupported(f"'{text(e)}'", where(e))
        return Plain(pl.any_horizontal(tests).fill_null(False), "bool")  # none is in no list

    # ------------------------------------------------------------------ calls
    def v_Call(self, e: ast.Call) -> Value:
        res = self.checked.resolutions.get(e)
        if res is not None and res.kind == "score_of":
            if self.record is not None:
                raise Unsupported(f"'{text(e)}' inside an item's condition", where(e))
            return self.lookup(e, res)
        if res is not None and res.kind == "map":
            raise Unsupported(f"map '{text(e)}'", where(e))
        func = e.func
        if func == "round":
            arg = self.num(e.args[0])
            if len(e.args) > 1:
                places = self.checked_places(e.args[1])
            else:
                places = 0
            return half_up(arg, places)
        if func in ("floor", "ceil"):
            arg = self.num(e.args[0])
            return floor_div(arg) if func == "floor" else ceil_div(arg)
        if func == "abs":
            arg = self.num(e.args[0])
            return Num(operand(arg, arg.bound + 1).abs(), arg.scale, arg.bound)
        if func in ("year", "month", "day"):
            value = self.value(e.args[0])
            if not isinstance(value, Plain) or value.kind != "date":
                raise Unsupported(f"'{text(e)}'", where(e))
            import polars as pl

            part = {"year": value.expr.dt.year(), "month": value.expr.dt.month(), "day": value.expr.dt.day()}[func]
            return Num(part.cast(pl.Int64), 0, 10 ** 5)
        raise Unsupported(f"{func}(…) '{text(e)}'", where(e))

    def checked_places(self, e: ast.Expr) -> int:
        if isinstance(e, ast.Number) and e.is_int and 0 <= int(e.value) <= 10:
            return int(e.value)
        raise Unsupported(f"round to places that are not a small constant '{text(e)}'", where(e))

    # ------------------------------------------------------------------ aggregates
    def v_Aggregate(self, e: ast.Aggregate) -> Value:
        import polars as pl

        if self.record is not None:
            raise Unsupported(f"an aggregate inside an item's condition '{text(e)}'", where(e))
        if e.by is not None or e.name is not None or e.func not in ("count", "sum", "any", "all", "min", "max"):
            raise Unsupported(f"{e.func}(… {'by' if e.by is not None else 'as' if e.name else ''}…) '{text(e)}'",
                              where(e))
        if any(isinstance(node, ast.Call) and node.func == "index" for node in ast.walk(e.of, e.where)):
            raise Unsupported(f"index(…) in '{text(e)}'", where(e))
        source = self.value(e.source)
        if not isinstance(source, ListOf):
            raise Unsupported(f"an aggregate over '{text(e.source)}'", where(e))
        item = ExprCompiler(self.checked, self.lookup, source.record, None, self.guard)
        cond = item.boolean(e.where).fill_null(False) if e.where is not None else None
        chosen = source.kept(cond)
        if e.func == "count":
            if chosen is None:
                return Num(source.expr.list.len().cast(pl.Int64), 0, LIST_LIMIT)
            return Num(source.expr.list.eval(chosen).list.sum().cast(pl.Int64), 0, LIST_LIMIT)
        if e.func in ("any", "all"):
            if e.of is not None:
                raise Unsupported(f"{e.func}(… of …) '{text(e)}'", where(e))
            if cond is None:
                raise Unsupported(f"'{text(e)}'", where(e))
            if e.func == "any":
                some = cond if source.keep is None else (source.keep & cond)
                return Plain(source.expr.list.eval(some).list.any(), "bool")
            every = cond if source.keep is None else (~source.keep | cond)
            return Plain(source.expr.list.eval(every).list.all(), "bool")
        if e.of is None:
            raise Unsupported(f"{e.func} of items '{text(e)}'", where(e))
        if self.type_of(e.of).optional:
            raise Unsupported(f"{e.func} of an optional value '{text(e)}'", where(e))
        value = item.num(e.of)
        if e.func == "sum":
            total = value.bound * LIST_LIMIT  # each item widened to Int128 first when the sum may pass Int64
            each = operand(value, total)
            picked = each if chosen is None else pl.when(chosen).then(each).otherwise(lit(0))
            return checked(Num(source.expr.list.eval(picked).list.sum(), value.scale, total),
                           f"'{text(e)}'", where(e))
        picked = value.expr if chosen is None else pl.when(chosen).then(value.expr).otherwise(None)
        listed = source.expr.list.eval(picked).list.drop_nulls()
        return Num(listed.list.min() if e.func == "min" else listed.list.max(), value.scale, value.bound)

    def condition_of_items(self, source: ListOf, e: ast.Expr) -> pl.Expr:
        """A per-item condition (a defer's or a veto's ``where``) as a Boolean expression over ``pl.element()``."""
        if any(isinstance(node, ast.Call) and node.func == "index" for node in ast.walk(e)):
            raise Unsupported(f"index(…) in '{text(e)}'", where(e))
        item = ExprCompiler(self.checked, self.lookup, source.record, None, self.guard)
        cond = source.kept(item.boolean(e).fill_null(False))
        assert cond is not None
        return cond


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -int(exponent))
