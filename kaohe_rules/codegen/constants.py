"""The constants table: every value generated code reads, by a generated name.

Why a table: policy text (names, labels, amounts, dates) must never be pasted into
generated source, where a hostile name could become code.  The generators ask the
table for a name (``_c3``, ``_k0``, ``_p1``) and the table becomes the namespace
the generated module runs in.
"""

from __future__ import annotations

from decimal import Decimal


class ConstantTable:
    """The values generated code reads by generated names (``_c3``, ``_k0``, ``_p1``).

    Equal values share a name, except Decimals written differently (``1.0`` and
    ``1`` keep their own exponents).
    """

    def __init__(self, tag: str = "") -> None:
        self.values: dict[str, object] = {}
        self._names: dict[tuple[str, object], str] = {}
        self._tag = tag  # tables whose code shares one namespace need different tags

    def name(self, value: object, prefix: str = "_c") -> str:
        key = constant_key(value)
        name = self._names.get(key)
        if name is None:
            name = f"{prefix}{self._tag}{len(self._names)}"
            self._names[key] = name
            self.values[name] = value
        return name


def constant_key(value: object) -> tuple[str, object]:
    """The identity of a constant in the table: its type and value (Decimals by their text)."""
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    try:
        hash(value)
    except TypeError:  # lists, dicts: shared only by identity
        return (type(value).__name__, id(value))
    return (type(value).__name__, value)


def int_literal(value: object) -> int | None:
    """``value`` as an int literal when it is a non-negative integral Decimal of exponent 0, else None.

    ``int`` arithmetic is several times faster than ``Decimal`` and gives the same
    numbers for such values, so generated code writes them as ints.
    """
    if (isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent == 0
            and value >= 0):
        return int(value)
    return None
