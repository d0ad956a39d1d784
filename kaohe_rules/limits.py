"""The engine's limits, in one place: what kaohe reads, and what happens beyond each limit.

A system that pays and fines people must survive any file it is handed.  Every
reader and every stage checks its input against the limits below *before* doing
work whose cost grows with the input (``int(Decimal('9E+999999'))`` takes 40 s,
``repr`` of a 5,000-deep list overflows the stack, a 1.5 MB workbook can inflate
to 1.5 GB).  Beyond a limit the input is refused with a kaohe error naming the
limit — a fact error for that unit only, an error row for that row only, a
policy diagnostic for a policy — never an internal exception and never a stall.

``docs/limits.md`` documents each value and its consequence; change both together.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `import kaohe_rules` stays light: decimal is imported by whoever makes a Decimal
    from decimal import Decimal

# ------------------------------------------------------------------ numbers
#: A number fact holds at most this many digits before the decimal point (|x| < 10**18):
#: 10**18 元 is beyond any budget, and every count of people or events fits.
MAX_INTEGER_DIGITS = 18
#: ... and at most this many after it (trailing zeros do not count).  18 + 16 = 34, the
#: engine's precision, so every accepted number is held exactly.
MAX_FRACTION_DIGITS = 16
NUMBER_LIMIT = 10**MAX_INTEGER_DIGITS
#: A number written as text is at most this many characters (digits, separators, sign, unit).
MAX_NUMBER_TEXT = 64

NUMBER_RANGE_TEXT = (f"a number below 10^{MAX_INTEGER_DIGITS} in size with at most "
                     f"{MAX_FRACTION_DIGITS} decimal places")

# --------------------------------------------------------------- structure
#: Lists and records inside one unit nest at most this deep (a policy's deepest type is
#: a list of records holding a list: depth 4); readers refuse deeper documents outright.
MAX_NESTING = 32
#: A trace document nests deeper than a unit: each level of sections in the policy adds two,
#: so the limit for traces (kaohe replay) leaves room for sections nested 40 deep.
MAX_TRACE_NESTING = 96
#: Items in one fact's list (accidents, deduction records); beyond it the unit is refused.  A
#: district records dozens of accidents a year; a trace repeats a list in every event that reads it
#: (13 times in Karamay), so 10,000 items already make a 46 MB trace document.
MAX_LIST_ITEMS = 10_000
#: Characters in one text value (a name, an accident's 简况) or one spreadsheet cell.
MAX_TEXT_CHARS = 100_000
#: Characters in a unit's id (ids name rows in every report and error).
MAX_ID_CHARS = 200

# ------------------------------------------------------------------- files
#: A policy file (and every file it extends).
MAX_POLICY_BYTES = 4 * 1024 * 1024
#: One JSON Lines line, one JSON document of units, one trace document.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
#: What an .xlsx may inflate to in all, and the highest compression ratio of one member.
MAX_XLSX_INFLATED_BYTES = 256 * 1024 * 1024
MAX_XLSX_RATIO = 200


def number_problem(value: Decimal) -> str | None:
    """Why a finite Decimal is outside the range kaohe represents exactly, or None.

    Cheap for any input: reads the exponent and the digit count, never converts.
    """
    if not value.is_finite():
        return f"{shown(value)} is not a finite number"
    if not -NUMBER_LIMIT < value < NUMBER_LIMIT:  # Decimal against int compares exactly
        return f"{shown(value)} is too large (numbers must be below 10^{MAX_INTEGER_DIGITS} in size)"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS:  # most numbers stop here
        _significant, places = _digits(value)
        if places > MAX_FRACTION_DIGITS:
            return f"{shown(value)} has {places} decimal places (at most {MAX_FRACTION_DIGITS})"
    return None


def _digits(value: Decimal) -> tuple[int, int]:
    """(significant digits, decimal places) of a finite Decimal; trailing zeros of the coefficient
    do not count ("1.50000…0" is as exact as "1.5")."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    zeros = 0
    while zeros < len(digits) - 1 and digits[len(digits) - 1 - zeros] == 0:
        zeros += 1
    return len(digits) - zeros, -exponent - zeros


#: A number written in policy text may be more precise than a fact (a band edge of
#: 91.66666666666666666666666666666667 meets a computed score exactly): at most the engine's
#: 34 significant digits and 34 decimal places, below 10^18 in size like every number.
MAX_LITERAL_DIGITS = 34
LITERAL_RANGE_TEXT = (f"below 10^{MAX_INTEGER_DIGITS} in size, with at most {MAX_LITERAL_DIGITS} significant "
                      f"digits and {MAX_LITERAL_DIGITS} decimal places")


def literal_problem(value: Decimal) -> str | None:
    """Why a number written in policy text is beyond what the engine holds exactly, or None."""
    if not -NUMBER_LIMIT < value < NUMBER_LIMIT:
        return f"{shown(value)} is too large (numbers must be below 10^{MAX_INTEGER_DIGITS} in size)"
    significant, places = _digits(value)
    if significant > MAX_LITERAL_DIGITS or places > MAX_LITERAL_DIGITS:
        return (f"{shown(value)} has {max(significant, places)} digits; the engine computes with "
                f"{MAX_LITERAL_DIGITS} (it would be rounded)")
    return None


def int_problem(value: int) -> str | None:
    """Why an int is outside the representable range, or None (never converts it to text)."""
    if -NUMBER_LIMIT < value < NUMBER_LIMIT:
        return None
    return f"{shown(value)} is too large (numbers must be below 10^{MAX_INTEGER_DIGITS} in size)"


# --------------------------------------------------------------------- text
#: (shared with the generated fact checks, which call it inline): a regex search is 4x faster than a
#: set test over the characters of a Chinese text
SURROGATE_PATTERN = re.compile("[\ud800-\udfff]")
SURROGATE = SURROGATE_PATTERN.search


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate: not Unicode text, so it cannot be written as UTF-8
    (a trace digest, a JSON report, a terminal would fail on it).  ASCII text is answered at once."""
    return not text.isascii() and SURROGATE(text) is not None


# ----------------------------------------------------------------- messages
_SHOWN_CHARS = 60


def shown(value: object, depth: int = 2) -> str:
    """A short, bounded ``repr`` for messages: safe for any value kaohe can be handed.

    ``repr`` itself overflows the stack on a deeply nested list, refuses ints over
    4,300 digits, and prints a million-character string in full; this never
    recurses more than ``depth`` levels and never returns more than about 60
    characters.
    """
    if value.__class__ is bool or value is None:
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if -(10**40) < value < 10**40:
            return repr(value)
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        if len(value.as_tuple().digits) <= 40:
            return str(value)
        return f"<a number of {len(value.as_tuple().digits)} digits, exponent {value.adjusted()}>"
    if isinstance(value, str):
        text = str.__str__(value)  # a subclass's own __repr__ is never called
        if len(text) <= _SHOWN_CHARS:
            return repr(text)
        return repr(text[:_SHOWN_CHARS]) + f"… ({len(text)} characters)"
    if isinstance(value, (list, tuple)):
        if depth <= 0:
            return f"<a {type(value).__name__} of {len(value)} items>"
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        return _bounded(open_ + ", ".join(shown(v, depth - 1) for v in value[:4])
                        + (", …" if len(value) > 4 else "") + close)
    if isinstance(value, dict):
        if depth <= 0:
            return f"<a mapping of {len(value)} entries>"
        items = list(value.items())[:3]
        return _bounded("{" + ", ".join(f"{shown(k, 0)}: {shown(v, depth - 1)}" for k, v in items)
                        + (", …" if len(value) > 3 else "") + "}")
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__: say what it is, not what it claims
        return f"<a {type(value).__name__}>"
    return _bounded(text)


def _bounded(text: str) -> str:
    return text if len(text) <= 2 * _SHOWN_CHARS else text[: 2 * _SHOWN_CHARS] + "…"

# -------------------------------------------------- on-disk cache (robust-cache)
#: One entry of the on-disk cache (kaohe_rules.cache): parser tables, a parse tree or a code
#: object, tag included.  Larger entries are neither written nor read (a file beyond it is
#: ignored unread and the entry rebuilt in memory).  Karamay's tree is ~0.5 MB for a 100 kB
#: policy, so a policy at MAX_POLICY_BYTES stays well inside it.
MAX_CACHE_ENTRY_BYTES = 64 * 1024 * 1024

# ------------------------------------------------- unit file readers (robust-readers)
#: MAX_XLSX_RATIO applies to .xlsx members inflating beyond this size: small XML parts
#: (styles, a short sheet) legitimately compress far better than 200 to 1.
XLSX_RATIO_FLOOR_BYTES = 1024 * 1024

# ------------------------------------------- parallel batches (slice: robust-workers)
#: Worker processes that may die in one ``workers=N`` batch.  Each death costs only the
#: unit that caused it (the rest of its chunk is assessed again, one unit at a time, in
#: a fresh worker), but starting a worker costs milliseconds to seconds: past this many
#: deaths the input is taken to be hostile, or the machine unable to run workers, and
#: the batch stops with a KaoheError instead of forking once per remaining row.
MAX_WORKER_DEATHS = 100


# ------------------------------------------------------------------ the stack of the static stages
#: Loading, formatting and indexing a policy recurse once per level of a nested expression in every stage:
#: they run with at least this recursion limit, and what is still too deep is the diagnostic K009.
POLICY_RECURSION_LIMIT = 8000

_stack_lock = threading.Lock()
_stack_users = 0
_stack_saved = 0


@contextmanager
def deep_policy_stack() -> Iterator[None]:
    """Run a static stage with the recursion limit raised to :data:`POLICY_RECURSION_LIMIT`, then restore it.

    Why a shared count and not save-and-restore around each call: the limit is one per interpreter, and
    ``kaohe serve`` or the language server load policies on several threads.  With a plain save and restore,
    a load that ends first would put back the low limit under another one still running (a false K009), and
    a load that started inside another would put back the raised limit for good.  The first user raises it,
    the last one restores what was there before.
    """
    global _stack_users, _stack_saved
    with _stack_lock:
        if _stack_users == 0:
            _stack_saved = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_stack_saved, POLICY_RECURSION_LIMIT))
        _stack_users += 1
    try:
        yield
    finally:
        with _stack_lock:
            _stack_users -= 1
            if _stack_users == 0:
                sys.setrecursionlimit(_stack_saved)
