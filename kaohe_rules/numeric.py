"""Exact arithmetic owned by the engine.

kaohe never uses the caller's decimal context: every evaluation runs inside
``ENGINE_CONTEXT`` (34 significant digits, decimal128's precision; traps on invalid
operations, division by zero and overflow), and money is rounded to the fen half up (四舍五入) only
where the policy says so.  Floats are never produced.
"""

from __future__ import annotations

import decimal
from contextlib import AbstractContextManager
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

ENGINE_CONTEXT = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_divide = ENGINE_CONTEXT.divide
FEN = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
_ZERO_FEN = Decimal("0.00")


def engine_context() -> AbstractContextManager[decimal.Context]:
    """A context manager that makes the engine's context current."""
    return decimal.localcontext(ENGINE_CONTEXT)


# the engine's context rounding half up, for quantize (one positional argument is its fastest call)
_HALF_UP_CONTEXT = ENGINE_CONTEXT.copy()
_HALF_UP_CONTEXT.rounding = ROUND_HALF_UP
_quantize = Decimal.quantize


def to_fen(amount: Decimal | int) -> Decimal:
    """Round an amount of yuan to the fen, half up (四舍五入)."""
    if amount.__class__ is not Decimal:
        amount = Decimal(amount)
    fen = _quantize(amount, FEN, None, _HALF_UP_CONTEXT)
    return fen if fen else _ZERO_FEN  # never "-0.00" (a fine of 50% of nothing is 0.00)


def round_half_up(value: Decimal | int, places: int = 0) -> Decimal:
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=ENGINE_CONTEXT)
    return rounded if rounded or not rounded.is_signed() else rounded.copy_abs()  # -0.4 rounds to 0, not -0


def floor_int(value: Decimal | int) -> int:
    return int(Decimal(value).to_integral_value(rounding=ROUND_FLOOR, context=ENGINE_CONTEXT))


def ceil_int(value: Decimal | int) -> int:
    return int(Decimal(value).to_integral_value(rounding=ROUND_CEILING, context=ENGINE_CONTEXT))


def divide(a: Decimal | int, b: Decimal | int) -> Decimal:
    """Exact-as-possible division; raises ZeroDivisionError for b == 0."""
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return _divide(a, b)  # Context.divide takes ints as they are: no Decimal() of each operand


def scales_by_percent(ka: str, kb: str) -> bool:
    """Whether ``a * b`` of these kinds takes a percentage of an amount or a number (÷ 100).

    ``1000元 * 30%`` is 300元 and ``q * 25%`` is the number q/4 (a weight, issue #10):
    a percentage times anything but another percentage is that much of it.
    """
    if ka == "percent":
        return kb != "percent"
    return kb == "percent"


def arith(op: str, a: int | Decimal, b: int | Decimal, ka: str, kb: str) -> int | Decimal:
    """Typed arithmetic on constants, the same rules the compiled code follows."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        if scales_by_percent(ka, kb):
            return divide(Decimal(a) * Decimal(b), HUNDRED)
        return a * b
    if op == "/":
        if ka == "money" and kb == "percent":
            return divide(Decimal(a) * HUNDRED, b)
        return divide(a, b)
    raise ValueError(op)


def normalize(value: Decimal) -> Decimal:
    """Drop trailing zeros of a decimal without exponent notation (``120.00`` → ``120``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=ENGINE_CONTEXT)
    return value.normalize(ENGINE_CONTEXT)


class NegativeAmount(ArithmeticError):
    """A ``deduct`` or ``add`` amount that is negative at run time (issue #10).

    Why an error and not 0: a negative deduction would add points and a negative bonus
    would take them away, and clamping it to 0 hides a wrong input.  An ArithmeticError,
    so the evaluators report it like a division by zero: an EvaluationError naming the
    rule, never a silent 0.
    """

    def __init__(self, value: object, kind: str) -> None:
        self.value = value
        self.kind = kind
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.kind == "add":
            return f"the amount to add is negative ({self.value}): a bonus never lowers the score"
        return f"the amount to deduct is negative ({self.value}): a deduction never adds points"


def checked_amount(value: Decimal | int, kind: str) -> Decimal | int:
    """``value`` when it is not negative; else :class:`NegativeAmount` (``kind``: "add" or "deduct")."""
    if value < 0:
        raise NegativeAmount(value, kind)
    return value
