"""The conversions of fact values: any accepted spelling → the canonical Python value, or :class:`Bad`.

Why apart: both coercion paths read values by these functions — the generic coercer
(:mod:`kaohe_rules.runtime.facts`) directly, the generated fast readers for any value
not already canonical (through :mod:`kaohe_rules.runtime.fastfacts`, which turns
:class:`Bad` into "take the slow path").  :mod:`.kinds` names the one for each kind.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal

from ...limits import MAX_NUMBER_TEXT, MAX_TEXT_CHARS, has_lone_surrogate, int_problem, number_problem, shown
from ...numeric import ENGINE_CONTEXT

_TRUE = {"true", "yes", "y", "1", "是", "对", "有", "t"}
_FALSE = {"false", "no", "n", "0", "否", "无", "没有", "f"}
# ASCII digits only; ',' only between groups of three ("1,000,000"), never as a decimal comma
_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?", re.ASCII)
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９．，＋－", "0123456789.,+-")
_TEN_THOUSAND = Decimal(10000)
_COMMA_ONLY = re.compile(r"[+-]?[0-9][0-9,]*(?:\.[0-9]+)?", re.ASCII)


class Bad(Exception):
    """A value this kind does not accept: the message, what was expected, a hint."""

    def __init__(self, message: str, expected: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.hint = hint


def in_range(number: Decimal, what: str) -> Decimal:
    """``number`` if kaohe represents it exactly (limits.number_problem), else Bad; -0 reads as 0."""
    problem = number_problem(number)
    if problem is not None:
        raise Bad(problem, what)
    if not number and number.is_signed():  # "-0" is zero: never "-0.00" in a result
        return number.copy_negate()
    return number


def to_decimal(value: object, what: str, unit: str = "") -> Decimal:
    """A number of any accepted spelling, in range; ``unit`` is the suffix a caller cut off ("万元")."""
    if isinstance(value, bool):
        raise Bad(f"{value!r} is a boolean", what)
    if isinstance(value, int):
        problem = int_problem(value)
        if problem is not None:
            raise Bad(problem, what)
        return Decimal(value)
    if isinstance(value, Decimal):
        return in_range(value if value.__class__ is Decimal else Decimal(value), what)
    if isinstance(value, float):
        raise Bad(f"{shown(value)} is a float, which is not exact", what,
                   f"pass it as a string ('{value!r}') or a Decimal")
    if isinstance(value, str):
        return in_range(number_text(value, what, unit), what)
    raise Bad(f"{type(value).__name__} {shown(value)} is not a number", what)


def number_text(value: str, what: str, unit: str = "") -> Decimal:
    """A number written as text: ASCII digits, an optional sign, ',' between groups of three.

    Refuses (with the reason) what a reader could take two ways: a decimal comma
    ("1,0" is 1.0 in much of the world, 10 with a misplaced separator), stray
    separators ("1,,20"), and digits that only look like 0-9 (full-width "１２０",
    Arabic-Indic "١٢٠") in a file meant for human review.
    """
    text = value.strip()
    value += unit  # messages show the value as it was written
    if len(text) > MAX_NUMBER_TEXT:
        raise Bad(f"{shown(value)} is not a number (longer than {MAX_NUMBER_TEXT} characters)", what)
    if _NUMBER.fullmatch(text):
        return Decimal(text.replace(",", ""))
    ascii_text = text.translate(_FULL_WIDTH_DIGITS)
    if ascii_text != text and _NUMBER.fullmatch(ascii_text):
        raise Bad(f"{shown(value)} is written with full-width digits", what,
                   f"write it with ASCII digits: {ascii_text + unit!r}")
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in text):
        raise Bad(f"{shown(value)} is written with digits other than 0-9", what,
                   "write numbers with the ASCII digits 0-9")
    if _COMMA_ONLY.fullmatch(text) and "," in text:
        as_decimal = text.replace(",", ".", 1) if text.count(",") == 1 and "." not in text else None
        if as_decimal is not None:
            raise Bad(f"{shown(value)} is ambiguous: a decimal comma ({as_decimal}) or a misplaced "
                       f"thousands separator ({text.replace(',', '')})", what,
                       "write the decimal point as '.', and ',' only between groups of three digits")
        raise Bad(f"{shown(value)} is not a number: ',' may only separate groups of three digits", what,
                   "write it without separators, or as 1,000,000")
    raise Bad(f"{shown(value)} is not a number", what)


def to_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        problem = int_problem(value)
        if problem is not None:
            raise Bad(problem, "a whole number")
        return value if value.__class__ is int else int.__int__(value)  # a subclass's methods never reach the engine
    number = to_decimal(value, "a whole number")
    if number != number.to_integral_value():
        raise Bad(f"{shown(value)} is not a whole number", "a whole number")
    return int(number)


def to_money(value: object) -> Decimal:
    """An amount in 元: a number, "1,000元", "¥5", "120万元" (×10,000); "120万" is refused with its hint.

    "万" alone is refused rather than read as 万元: a clerk's "120万" most likely means
    120万元, but a unit written by halves ("120万" of what?) is a misreading waiting to
    happen in a file that pays and fines people — the hint names the accepted spelling.
    """
    what = "an amount of money (元)"
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text.endswith("万") and len(text) > 1:
            raise Bad(f"{shown(value)} has no currency unit (万 of what?)", what,
                      f"write it as {text + '元'!r} (10,000 元 each) or in 元")
        if text.endswith("万元"):
            # the engine's context, not the caller's: a caller's low precision must not round an amount;
            # the range is checked again after the multiplication (99999999999999999万元 is too large)
            return in_range(ENGINE_CONTEXT.multiply(to_decimal(text[:-2], what, "万元"), _TEN_THOUSAND), what)
        if text.endswith("元"):
            return to_decimal(text[:-1], what, "元")
        if text.startswith("¥") or text.startswith("￥"):
            return to_decimal(text[1:], what)
    return to_decimal(value, what)


def to_percent(value: object) -> Decimal:
    """A percentage in percentage points: "98%" and "98" are 98%; a bare number in [-1, 1] but 0 is refused.

    A bare number ``x`` with ``0 < |x| <= 1`` (``0.98``, ``1``) has two readings — ``x``
    percent, or the fraction ``x`` (``0.98`` = 98%, ``1`` = 100%, as Excel stores a cell
    formatted as percent) — and reading the wrong one moves a unit down a rating with exit
    status 0.  So it is refused naming both; written with ``%`` it is unambiguous.  A bare
    number beyond 1 is read as percentage points (``98`` is 98%; as a fraction it would be
    9,800%), and 0 is 0% either way.  docs/cli.md states this rule.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%") or text.endswith("％"):
            return to_decimal(text[:-1], "a percentage", text[-1])
    number = to_decimal(value, "a percentage")
    if number and -1 <= number <= 1:
        raise Bad(ambiguous_percent(number), "a percentage such as '98%'",
                  f"write {_percent_text(number)!r} for {number}% or {_percent_text(number.scaleb(2))!r}"
                  f" for the fraction {number}")
    return number


def ambiguous_percent(number: Decimal) -> str:
    """The message for a bare number that reads two ways as a percentage (both readings named)."""
    return (f"{number} is ambiguous for a percentage: {_percent_text(number)} or, as a fraction,"
            f" {_percent_text(number.scaleb(2))}")


def _percent_text(number: Decimal) -> str:
    return format(number.normalize(), "f") + "%"


def to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise Bad(f"{shown(value)} is not true or false", "true/false (是/否)")


def to_date(value: object) -> datetime.date:
    if isinstance(value, datetime.datetime):
        raise Bad(f"{shown(value)} has a time of day", "a date YYYY-MM-DD")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Bad(f"{shown(value)} is not a date", "a date YYYY-MM-DD")


def to_text(value: object) -> str:
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise Bad(f"{shown(value)} is longer than {MAX_TEXT_CHARS} characters", "text")
        if has_lone_surrogate(value):
            raise Bad(f"{shown(value)} is not valid Unicode text (it holds a lone surrogate)", "text")
        return value if value.__class__ is str else str.__str__(value)  # a subclass's __eq__ never reaches the engine
    raise Bad(f"{type(value).__name__} {shown(value)} is not text", "text")


def _number(value: object) -> Decimal:
    return to_decimal(value, "a number")


#: the conversion of each scalar kind of :data:`kaohe_rules.language.kinds.KINDS` (a test checks both agree)
CONVERTERS: dict[str, Callable[[object], object]] = {
    "int": to_int, "decimal": _number, "money": to_money, "percent": to_percent,
    "bool": to_bool, "date": to_date, "text": to_text,
}
