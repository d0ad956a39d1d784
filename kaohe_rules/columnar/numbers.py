"""Exact numbers in columns: every number is an Int128 scaled integer whose scale the compiler tracks.

Why not polars ``Decimal`` arithmetic: it rounds silently to the column's scale (2.25 cast to scale 1
gives 2.2, a product keeps its operands' scale), where the per-unit evaluator is exact.  So a number here
is a :class:`Num`: a polars expression holding ``value × 10**scale`` as a whole number (Int128, 38 digits),
its static ``scale``, and ``bound``, a static bound on the scaled integer's magnitude.  Adding rescales both sides to the larger scale (× 10**k, exact); multiplying adds the scales; a
percentage of an amount adds 2 (÷ 100); rounding half up (``to_fen``, ``round``) is integer arithmetic on
the magnitude, exactly :func:`kaohe_rules.numeric.to_fen` / ``round_half_up``.

``bound`` keeps the arithmetic exact: the per-unit evaluator computes Decimals to 34 significant digits,
so anything that could need more (and Int128 holds 38) is refused at compile time (:class:`Unsupported`,
the units go per unit), never rounded.  Facts are bounded at run time (:data:`FACT_LIMIT`): a row with a
larger number is assessed per unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import polars as pl

#: the largest magnitude of a numeric fact (or record field) the compiled expressions assume; a row with
#: a larger one goes per unit (so no intermediate can pass 34 significant digits unnoticed)
FACT_LIMIT = 10 ** 14
#: an int fact or field (an Int64 column) needs no guard: its type bounds it
INT64_BOUND = 2 ** 63
#: a bound on the number of items of one list (what a count can reach)
LIST_LIMIT = 10 ** 10
#: the largest scaled intermediate: the per-unit evaluator's 34 significant digits
MAX_BOUND = 10 ** 34
#: the magnitude below which a scaled integer is computed in Int64 (2**62: an Int64 holds up to 2**63 - 1,
#: and an Int64 operation that passes it wraps silently, so every operation whose result bound reaches this
#: is computed in Int128 — see :func:`lit`, :func:`wide`, :func:`narrow`)
INT64_SAFE = 2 ** 62
#: what an Int128 holds for certain (2**127 - 1 is about 1.7 × 10**38); beyond it the arithmetic wraps silently
INT128_BOUND = 10 ** 38


class Unsupported(Exception):
    """A construct the columnar compiler does not vectorise: ``construct`` as the author writes it, ``where``."""

    def __init__(self, construct: str, where: str) -> None:
        super().__init__(f"{construct} at {where}")
        self.construct = construct
        self.where = where


def int128(value: int) -> pl.Expr:
    import polars as pl

    return pl.lit(value, dtype=pl.Int128)


def lit(value: int) -> pl.Expr:
    """A whole-number literal: Int64 when it is below :data:`INT64_SAFE`, else Int128.

    Mixed with an Int128 expression it becomes Int128 (polars' supertype); with an Int64 one it stays
    Int64, which is only safe because every arithmetic operation here checks its result's bound first.
    """
    import polars as pl

    return pl.lit(value, dtype=pl.Int64 if abs(value) < INT64_SAFE else pl.Int128)


def wide(expr: pl.Expr) -> pl.Expr:
    """``expr`` in Int128 (before an operation whose result may pass :data:`INT64_SAFE`)."""
    import polars as pl

    return expr.cast(pl.Int128)


def operand(num: Num, bound: int) -> pl.Expr:
    """``num``'s expression as the operand of an operation whose result is bounded by ``bound``: widened
    to Int128 when that bound reaches :data:`INT64_SAFE` (an Int64 operation would wrap silently)."""
    return wide(num.expr) if bound >= INT64_SAFE else num.expr


def narrow(num: Num) -> Num:
    """``num`` in Int64 when its bound allows it (exact: every value fits), else unchanged."""
    import polars as pl

    if num.bound >= INT64_SAFE:
        return num
    return Num(num.expr.cast(pl.Int64), num.scale, num.bound)


def non_negative(expr: pl.Expr) -> pl.Expr:
    """``max(expr, 0)`` — ``when(expr >= 0).then(expr).otherwise(0)`` (null is 0 in both) reading ``expr`` once."""
    import polars as pl

    return pl.max_horizontal(expr, lit(0))


def negate(num: Num) -> Num:
    """``-num``."""
    return Num(lit(0) - operand(num, num.bound + 1), num.scale, num.bound)


@attrs.frozen
class Num:
    """A scaled integer expression: ``expr`` = value × 10**scale (Int128), |expr| <= ``bound``."""

    expr: pl.Expr
    scale: int
    bound: int

    def at(self, scale: int) -> Num:
        """The same value at a larger (or equal) scale: exact."""
        if scale < self.scale:
            raise ValueError("a Num is only rescaled up")
        if scale == self.scale:
            return self
        factor = 10 ** (scale - self.scale)
        if self.bound * factor >= INT128_BOUND:
            # Int128 would wrap (a fact compared with a literal of 30 places, say): not compiled; the
            # expression compiler names the construct and its place (``where`` is filled in there)
            raise Unsupported(f"a number rescaled to {scale} places (its exact value may need more than 34 digits)",
                              "")
        return Num(operand(self, self.bound * factor) * lit(factor), scale, self.bound * factor)


def constant(value: Decimal | int) -> Num:
    """A constant as a scaled integer (its own scale: the places it is written with, trailing zeros dropped)."""
    exact = Decimal(value)
    if exact == exact.to_integral_value():
        whole = int(exact)
        return Num(lit(whole), 0, abs(whole))
    normal = exact.normalize()
    scale = -int(normal.as_tuple().exponent)
    scaled = int(normal.scaleb(scale))
    return Num(lit(scaled), scale, abs(scaled))


def checked(num: Num, construct: str, where: str) -> Num:
    """``num`` when its bound fits the per-unit precision, else :class:`Unsupported` naming the construct."""
    if num.bound >= MAX_BOUND:
        raise Unsupported(f"{construct} (its exact value may need more than 34 digits)", where)
    return num


def align(a: Num, b: Num) -> tuple[Num, Num]:
    scale = max(a.scale, b.scale)
    return a.at(scale), b.at(scale)


def add(a: Num, b: Num, op: str) -> Num:
    if op == "+" and a.bound == 0 and a.scale <= b.scale:  # 0 + b (the start of a sum): b itself
        return b
    a, b = align(a, b)
    bound = a.bound + b.bound
    left, right = operand(a, bound), operand(b, bound)
    return Num(left + right if op == "+" else left - right, a.scale, bound)


def mul(a: Num, b: Num, by_percent: bool) -> Num:
    """``a * b``; ``by_percent``: one side is a percentage of the other (÷ 100: two more places)."""
    bound = a.bound * b.bound
    return Num(operand(a, bound) * operand(b, bound), a.scale + b.scale + (2 if by_percent else 0), bound)


def half_up(num: Num, places: int) -> Num:
    """``num`` rounded half up (away from zero on a tie) to ``places``: ``numeric.round_half_up``/``to_fen``."""
    import polars as pl

    if num.scale <= places:
        return num.at(places)
    quantum = 10 ** (num.scale - places)
    value = operand(num, num.bound + quantum)
    magnitude = (value.abs() + lit(quantum // 2)) // lit(quantum)
    expr = pl.when(value < lit(0)).then(lit(0) - magnitude).otherwise(magnitude)
    return Num(expr, places, num.bound // quantum + 1)


def floor_div(num: Num) -> Num:
    """The largest whole number not above ``num`` (``floor``)."""
    if num.scale == 0:
        return num
    return Num(num.expr // lit(10 ** num.scale), 0, num.bound // 10 ** num.scale + 1)


def ceil_div(num: Num) -> Num:
    """The smallest whole number not below ``num`` (``ceil``): -floor(-x)."""
    if num.scale == 0:
        return num
    value = operand(num, num.bound + 1)
    return Num(lit(0) - ((lit(0) - value) // lit(10 ** num.scale)), 0, num.bound // 10 ** num.scale + 1)


def to_decimal(num: Num, scale: int) -> tuple[pl.Expr, pl.Expr | None]:
    """The polars ``Decimal(38, scale)`` column of ``num``, built exactly (never through a float), and a
    Boolean expression that is True where the value has more places than ``scale`` (None: never).

    The scaled integer is brought to ``scale`` by integer arithmetic and reinterpreted as the decimal's
    unscaled integer (``Expr.reinterpret``: an Int128 holding 123 is 1.23 as a ``Decimal(38, 2)``; no
    arithmetic, nothing rounded).
    """
    import polars as pl

    unfit: pl.Expr | None = None
    if num.scale > scale:
        quantum = lit(10 ** (num.scale - scale))
        unfit = (num.expr % quantum) != lit(0)
        whole = num.expr // quantum
        bound = num.bound // 10 ** (num.scale - scale) + 1
    else:
        whole = num.at(scale).expr
        bound = num.bound * 10 ** (scale - num.scale)
    # a row whose facts pass FACT_LIMIT is flagged per unit and its value here is garbage (an Int64 operation
    # may wrap); it must not fail the batch (reinterpret raises on a value of more than 38 digits), so such
    # a value becomes null: a value within the static bound is never touched
    if bound < INT64_SAFE:
        whole = whole.cast(pl.Int64, strict=False).cast(pl.Int128)
    else:
        wide_whole = whole.cast(pl.Int128)
        limit = int128(INT128_BOUND - 1)
        whole = pl.when((wide_whole <= limit) & (wide_whole >= int128(0) - limit)).then(wide_whole)
    return whole.reinterpret(dtype=pl.Decimal(38, scale)), unfit
