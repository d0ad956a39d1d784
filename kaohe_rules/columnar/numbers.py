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
FACT_LIMIT = 10 ** 15
#: an int fact or field (an Int64 column) needs no guard: its type bounds it
INT64_BOUND = 2 ** 63
#: a bound on the number of items of one list (what a count can reach)
LIST_LIMIT = 10 ** 10
#: the largest scaled intermediate: the per-unit evaluator's 34 significant digits
MAX_BOUND = 10 ** 34
#: what an Int128 holds for certain (2**127 - 1 is about 1.7 × 10**38); beyond it the arithmetic wraps silently
INT128_BOUND = 10 ** 38


class Unsupported(Exception):
    """A construct the columnar compiler does not vectorise: ``construct`` as the author writes it, ``where``."""

    def __init__(self, construct: str, where: str) -> None:
        super().__init__(f"{construct} at {where}")
        self.construct = construct
        self.where = where


def negate(expr: pl.Expr) -> pl.Expr:
    """``-expr`` (polars has no negation of Int128: 0 - expr)."""
    return int128(0) - expr


def int128(value: int) -> pl.Expr:
    import polars as pl

    return pl.lit(value, dtype=pl.Int128)


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
        return Num(self.expr * int128(factor), scale, self.bound * factor)


def constant(value: Decimal | int) -> Num:
    """A constant as a scaled integer (its own scale: the places it is written with, trailing zeros dropped)."""
    exact = Decimal(value)
    if exact == exact.to_integral_value():
        whole = int(exact)
        return Num(int128(whole), 0, abs(whole))
    normal = exact.normalize()
    scale = -int(normal.as_tuple().exponent)
    scaled = int(normal.scaleb(scale))
    return Num(int128(scaled), scale, abs(scaled))


def checked(num: Num, construct: str, where: str) -> Num:
    """``num`` when its bound fits the per-unit precision, else :class:`Unsupported` naming the construct."""
    if num.bound >= MAX_BOUND:
        raise Unsupported(f"{construct} (its exact value may need more than 34 digits)", where)
    return num


def align(a: Num, b: Num) -> tuple[Num, Num]:
    scale = max(a.scale, b.scale)
    return a.at(scale), b.at(scale)


def add(a: Num, b: Num, op: str) -> Num:
    a, b = align(a, b)
    expr = a.expr + b.expr if op == "+" else a.expr - b.expr
    return Num(expr, a.scale, a.bound + b.bound)


def mul(a: Num, b: Num, by_percent: bool) -> Num:
    """``a * b``; ``by_percent``: one side is a percentage of the other (÷ 100: two more places)."""
    return Num(a.expr * b.expr, a.scale + b.scale + (2 if by_percent else 0), a.bound * b.bound)


def half_up(num: Num, places: int) -> Num:
    """``num`` rounded half up (away from zero on a tie) to ``places``: ``numeric.round_half_up``/``to_fen``."""
    import polars as pl

    if num.scale <= places:
        return num.at(places)
    quantum = 10 ** (num.scale - places)
    magnitude = (num.expr.abs() + int128(quantum // 2)) // int128(quantum)
    expr = pl.when(num.expr < int128(0)).then(int128(0) - magnitude).otherwise(magnitude)
    return Num(expr, places, num.bound // quantum + 1)


def floor_div(num: Num) -> Num:
    """The largest whole number not above ``num`` (``floor``)."""
    if num.scale == 0:
        return num
    return Num(num.expr // int128(10 ** num.scale), 0, num.bound // 10 ** num.scale + 1)


def ceil_div(num: Num) -> Num:
    """The smallest whole number not below ``num`` (``ceil``): -floor(-x)."""
    if num.scale == 0:
        return num
    return Num(int128(0) - ((int128(0) - num.expr) // int128(10 ** num.scale)), 0, num.bound // 10 ** num.scale + 1)


def to_decimal(num: Num, scale: int) -> tuple[pl.Expr, pl.Expr | None]:
    """The polars ``Decimal(38, scale)`` column of ``num``, built exactly (never through a float), and a
    Boolean expression that is True where the value has more places than ``scale`` (None: never).

    The scaled integer is brought to ``scale`` by integer arithmetic and reinterpreted as a decimal by an
    exact product: ``Decimal(38, 0) × 10**-scale`` at scale ``scale`` (scales add, nothing is rounded).
    """
    import polars as pl

    unfit: pl.Expr | None = None
    if num.scale > scale:
        quantum = int128(10 ** (num.scale - scale))
        unfit = (num.expr % quantum) != int128(0)
        whole = num.expr // quantum
    else:
        whole = num.at(scale).expr
    unit = pl.lit(Decimal(1).scaleb(-scale), dtype=pl.Decimal(38, scale))
    # not strict: a row whose facts pass FACT_LIMIT is flagged per unit and its value here is garbage (Int128
    # arithmetic wraps); it must not fail the batch, so a value beyond 38 digits becomes null
    return whole.cast(pl.Decimal(38, 0), strict=False) * unit, unfit
