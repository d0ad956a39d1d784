"""Helper functions the generated evaluator calls (its whole vocabulary besides operators).

They are passed to the generated module as its namespace; the generated code
can reach nothing else (no builtins beyond the few it needs).
"""

from __future__ import annotations

import builtins
import decimal
from decimal import Decimal
from typing import Any

from ..numeric import ENGINE_CONTEXT, ceil_int, checked_amount, divide, floor_int, round_half_up, to_fen
from .cohort import NO_STANDING


def _nonneg(value: Decimal | int) -> Decimal | int:
    return value if value > 0 else 0


def _cap(value: Decimal | int, cap: Decimal | int) -> Decimal | int:
    return value if value < cap else (cap if cap > 0 else 0)


def _clamp(value: Decimal | int, low: Decimal | int, high: Decimal | int) -> Decimal | int:
    if value < low:
        return low
    if value > high:
        return high
    return value


def _context_flags() -> Any:
    """The current decimal context's flags (a live view): the generated code asks whether a sum rounded."""
    return decimal.getcontext().flags


def _coalesce(value: object, fallback: object) -> object:
    return fallback if value is None else value


def _round(value: Decimal | int, places: int) -> Decimal:
    return round_half_up(value, places)


def _floor_d(value: Decimal) -> Decimal:
    return Decimal(floor_int(value))


def _ceil_d(value: Decimal) -> Decimal:
    return Decimal(ceil_int(value))


def _sum_by(pairs: Any) -> Decimal | int:
    """``sum(L of v by k)``: per distinct key the highest value, summed (同项按最高计分，只计一次)."""
    best: dict[object, Any] = {}
    for key, value in pairs:
        if key not in best or value > best[key]:
            best[key] = value
    total: Decimal | int = sum(best.values(), 0)
    return total


def _increasing(values: Any) -> bool:
    """``increasing(L)``: each value strictly above the one before (true for fewer than two)."""
    return all(a < b for a, b in zip(values, values[1:]))


def _decreasing(values: Any) -> bool:
    """``decreasing(L)``: each value strictly below the one before (true for fewer than two)."""
    return all(a > b for a, b in zip(values, values[1:]))


def streak(tests: Any) -> int:
    """``streak(L where C)`` (issue #11 P): the length of the longest run of consecutive items meeting C
    (0 when none meets it): 连续两次被确定为不满意 is ``streak(periods where rating == 不满意) >= 2``."""
    best = run = 0
    for test in tests:
        run = run + 1 if test else 0
        if run > best:
            best = run
    return best


SAFE_BUILTINS = {name: getattr(builtins, name)
                 for name in ("len", "sum", "min", "max", "any", "all", "abs", "int", "enumerate")}

HELPERS: dict[str, object] = {
    "_nonneg": _nonneg,
    "_cap": _cap,
    "_clamp": _clamp,
    "_coalesce": _coalesce,
    "_round": _round,
    "_floor": floor_int,
    "_ceil": ceil_int,
    "_floor_d": _floor_d,
    "_ceil_d": _ceil_d,
    "_div": divide,
    # a percentage of a value (÷ 100): numeric.divide without its test for a zero divisor (issue #13)
    "_div100": ENGINE_CONTEXT.divide,
    "_fen": to_fen,
    "_context_flags": _context_flags,
    "_ROUNDED": decimal.Rounded,
    "_sum_by": _sum_by,
    "_increasing": _increasing,
    "_decreasing": _decreasing,
    "_amount": checked_amount,  # a negative deduct/add amount: an EvaluationError (issue #10)
    "_streak": streak,  # issue #11 P
    "_NS": NO_STANDING,  # a cohort policy's evaluators without a standing (issue #11 C)
}
