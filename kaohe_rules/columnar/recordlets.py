"""Record ``let`` fields for the vectorised reader: the few expressions a record's lets are written in.

Why here and not in the compiler: a record's lets are part of the record as the per-unit reader hands it
over (``事故.等级`` is derived while the accident is read), so the canonical frame holds them.  Only a small,
total, exact subset is compiled — literals, fields, earlier lets, enum members, numeric parameters,
comparisons, ``and``/``or``/``not``, ``if … then … else``, ``+ - *`` on scaled integers — over fields that
are never none.  Anything else raises :class:`Unsupported`, and the reader then declines every row that
holds such records (they go per unit, as before): never a second reading of a let.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..language import ast
from ..language.model import CheckedPolicy
from ..language.types import Type
from ..limits import NUMBER_LIMIT
from .layout import FACT_SCALE
from .numbers import MAX_BOUND

if TYPE_CHECKING:
    import polars as pl

_DECIMAL_KINDS = ("decimal", "money", "percent")
_NUMERIC = ("int", "decimal", "money")  # percent arithmetic (x × 15% = x × 0.15) is left to the per-unit path


class Unsupported(Exception):
    """A let this module does not compile (the rows holding such records go per unit)."""


def let_columns(checked: CheckedPolicy, rname: str, refs: dict[str, pl.Expr]) -> list[tuple[str, pl.Expr]]:
    """Each let of record ``rname`` in order, as an expression over the item's canonical fields.

    ``refs`` holds each field's canonical expression (an int at scale 0, a decimal/money at scale
    FACT_SCALE: :mod:`.canonical`); each let is added to it as it is compiled (a later let reads it).
    """
    compiler = _Compiler(checked, rname, refs)
    out: list[tuple[str, pl.Expr]] = []
    for let in checked.records[rname].lets:
        type_ = checked.record_fields[rname][let.name]
        expr = compiler.value(let.value, type_)
        compiler.known[let.name] = type_
        refs[let.name] = expr
        out.append((let.name, expr))
    return out


class _Compiler:
    def __init__(self, checked: CheckedPolicy, rname: str, refs: dict[str, pl.Expr]) -> None:
        self.checked = checked
        self.refs = refs
        self.known: dict[str, Type] = {f.name: checked.record_fields[rname][f.name]
                                       for f in checked.records[rname].fields}

    def value(self, node: ast.Expr, type_: Type) -> pl.Expr:
        """The let's value in its canonical column form."""
        import polars as pl

        if type_.optional:
            raise Unsupported("an optional let")
        kind = type_.kind
        if kind == "bool":
            return self.boolean(node)
        if kind == "enum":
            return self.enum(node).cast(pl.Int32)
        if kind == "int":
            expr, scale = self.number(node)
            if scale:
                raise Unsupported("an int let with places")
            # beyond Int64 (the canonical int column) the value is null and the reader declines the item
            return expr.cast(pl.Int64, strict=False)
        if kind in ("decimal", "money"):
            expr, scale = self.number(node)
            if scale > FACT_SCALE:
                raise Unsupported("more places than the canonical column holds")
            return (expr * pl.lit(10 ** (FACT_SCALE - scale), dtype=pl.Int128)).cast(pl.Int128)
        raise Unsupported(f"a {kind} let")

    def _field(self, node: ast.Expr, kinds: tuple[str, ...]) -> tuple[pl.Expr, Type] | None:
        resolution = self.checked.resolutions.get(node)
        if isinstance(node, ast.Name) and resolution is not None and resolution.kind == "record_field":
            type_ = self.known.get(node.ident)
            if type_ is None or type_.optional or type_.kind not in kinds or node.ident not in self.refs:
                raise Unsupported(f"the field {node.ident}")
            return self.refs[node.ident], type_
        return None

    def boolean(self, node: ast.Expr) -> pl.Expr:
        import polars as pl

        if isinstance(node, ast.BoolLit):
            return pl.lit(node.value, dtype=pl.Boolean)
        field = self._field(node, ("bool",))
        if field is not None:
            return field[0]
        if isinstance(node, ast.And):
            return self.boolean(node.left) & self.boolean(node.right)
        if isinstance(node, ast.Or):
            return self.boolean(node.left) | self.boolean(node.right)
        if isinstance(node, ast.Not):
            return ~self.boolean(node.operand)
        if isinstance(node, ast.If):
            return pl.when(self.boolean(node.cond)).then(self.boolean(node.then)).otherwise(self.boolean(node.otherwise))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        raise Unsupported(type(node).__name__)

    def compare(self, node: ast.Compare) -> pl.Expr:
        left_type = self.checked.types.get(node.left)
        right_type = self.checked.types.get(node.right)
        if left_type is None or right_type is None or left_type.optional or right_type.optional:
            raise Unsupported("a comparison with none")
        if left_type.kind == "enum" and right_type.kind == "enum":
            left, right = self.enum(node.left), self.enum(node.right)
        elif left_type.kind == "bool" and right_type.kind == "bool" and node.op in ("==", "!="):
            left, right = self.boolean(node.left), self.boolean(node.right)
        elif left_type.kind in _NUMERIC and right_type.kind in _NUMERIC:
            (left, ls), (right, rs) = self.number(node.left), self.number(node.right)
            left, right = _aligned(left, ls, right, rs)
        else:
            raise Unsupported("a comparison of these kinds")
        ops = {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
               ">": left > right, ">=": left >= right}
        return ops[node.op]

    def enum(self, node: ast.Expr) -> pl.Expr:
        import polars as pl

        resolution = self.checked.resolutions.get(node)
        if resolution is not None and resolution.kind == "enum" and isinstance(resolution.value, int):
            return pl.lit(resolution.value, dtype=pl.Int32)
        field = self._field(node, ("enum",))
        if field is not None:
            return field[0]
        if isinstance(node, ast.If):
            return pl.when(self.boolean(node.cond)).then(self.enum(node.then)).otherwise(self.enum(node.otherwise))
        raise Unsupported(type(node).__name__)

    def number(self, node: ast.Expr) -> tuple[pl.Expr, int]:
        """A numeric expression as (Int128 scaled integer, its scale): exact, the scale known statically."""
        expr, scale, _ = self.bounded(node)
        return expr, scale

    def bounded(self, node: ast.Expr) -> tuple[pl.Expr, int, int]:
        """:meth:`number` with a static bound on the scaled integer's magnitude in a clean row.

        Why: Int128 arithmetic wraps silently and the per-unit context rounds past 34 digits, so a let
        whose value could pass :data:`MAX_BOUND` is not compiled (every field of a clean row is below
        ``NUMBER_LIMIT``, which the reader checks as the per-unit reader does).
        """
        expr, scale, bound = self._bounded(node)
        if bound >= MAX_BOUND:
            raise Unsupported("a let whose value may need more than 34 digits")
        return expr, scale, bound

    def _bounded(self, node: ast.Expr) -> tuple[pl.Expr, int, int]:
        import polars as pl

        if isinstance(node, ast.Number | ast.MoneyLit):
            return _literal_bounded(node.value)
        resolution = self.checked.resolutions.get(node)
        if resolution is not None and resolution.kind == "param":
            param_type = self.checked.param_types.get(resolution.name)
            value = self.checked.param_values.get(resolution.name)
            if param_type is None or param_type.kind not in _NUMERIC or not isinstance(value, int | Decimal) \
                    or isinstance(value, bool):
                raise Unsupported("a parameter of this kind")
            return _literal_bounded(Decimal(value))
        field = self._field(node, _NUMERIC)
        if field is not None:
            expr, type_ = field
            scale = 0 if type_.kind == "int" else FACT_SCALE
            return expr.cast(pl.Int128), scale, NUMBER_LIMIT * 10 ** scale
        if isinstance(node, ast.Neg):
            expr, scale, bound = self.bounded(node.operand)
            return pl.lit(0, dtype=pl.Int128) - expr, scale, bound  # polars has no negation of Int128
        if isinstance(node, ast.Binary) and node.op in ("+", "-", "*"):
            (left, ls, lb), (right, rs, rb) = self.bounded(node.left), self.bounded(node.right)
            if node.op == "*":
                # a field times a small literal only: two fields' product could pass 34 digits, where the
                # per-unit context rounds (and Int128 overflows)
                small = [side for side in (node.left, node.right) if isinstance(side, ast.Number)
                         and abs(side.value) < 10 ** 8 and _literal(side.value)[1] <= FACT_SCALE]
                if not small:
                    raise Unsupported("a product of two non-literals")
                return left * right, ls + rs, lb * rb
            scale = max(ls, rs)
            left, right = _aligned(left, ls, right, rs)
            bound = lb * 10 ** (scale - ls) + rb * 10 ** (scale - rs)
            return (left + right if node.op == "+" else left - right), scale, bound
        if isinstance(node, ast.If):
            (then, ts, tb), (other, os_, ob) = self.bounded(node.then), self.bounded(node.otherwise)
            scale = max(ts, os_)
            then, other = _aligned(then, ts, other, os_)
            bound = max(tb * 10 ** (scale - ts), ob * 10 ** (scale - os_))
            return pl.when(self.boolean(node.cond)).then(then).otherwise(other), scale, bound
        raise Unsupported(type(node).__name__)


def _literal_bounded(value: Decimal) -> tuple[pl.Expr, int, int]:
    """A literal as (expr, scale, bound): its bound is its own scaled magnitude."""
    expr, scale = _literal(value)
    return expr, scale, abs(int(value.scaleb(scale)))


def _literal(value: Decimal) -> tuple[pl.Expr, int]:
    import polars as pl

    exponent = value.normalize().as_tuple().exponent
    scale = max(0, -exponent) if isinstance(exponent, int) else 0
    if scale > 2 * FACT_SCALE:
        raise Unsupported("a literal with too many places")
    return pl.lit(int(value.scaleb(scale)), dtype=pl.Int128), scale


def _aligned(left: pl.Expr, ls: int, right: pl.Expr, rs: int) -> tuple[pl.Expr, pl.Expr]:
    import polars as pl

    if ls < rs:
        left = left * pl.lit(10 ** (rs - ls), dtype=pl.Int128)
    elif rs < ls:
        right = right * pl.lit(10 ** (ls - rs), dtype=pl.Int128)
    return left, right
