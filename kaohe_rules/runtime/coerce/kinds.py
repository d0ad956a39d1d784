"""The table of fact kinds: one :class:`KindSpec` per ``Type.kind``, read by both coercion paths.

Why one table: the generic coercer (:mod:`kaohe_rules.runtime.facts`, every spelling,
every problem reported) and the generated fast readers (:mod:`kaohe_rules.codegen.facts`,
canonical values only, anything else handed back) used to repeat each kind's rules —
its canonical Python class, how a member of an enum is looked up, what a message calls
it.  Here each rule is written once; the generic coercer converts with
:attr:`KindSpec.convert`, the generated code checks :attr:`KindSpec.canonical` inline
and falls back to the same ``convert`` for any other spelling, and both look enum
members up in the table :func:`enum_lookup` builds (name first, then label).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal

import attrs

from ...language.ast import EnumDecl

#: kinds held as Decimal (an int given for them is made a Decimal)
NUMBER_KINDS = ("decimal", "money", "percent")
#: ints below this are made Decimals by a table lookup in generated code, not a constructor call
SMALL_LIMIT = 1001


@attrs.frozen
class KindSpec:
    """How a fact kind is read: its canonical class, its conversion, how messages name it."""

    kind: str
    canonical: type | None  # the Python class a value of this kind has once read (None: depends on the type)
    description: str | None  # what a message says is expected (None: built from the type)
    convert: Callable[[object], object] | None = None  # any accepted spelling → the canonical value, or _Bad


def _kinds() -> dict[str, KindSpec]:
    return {spec.kind: spec for spec in (
        KindSpec("int", int, "a whole number"),
        KindSpec("decimal", Decimal, "a number"),
        KindSpec("money", Decimal, "an amount of money (元)"),
        KindSpec("percent", Decimal, "a percentage"),
        KindSpec("bool", bool, "true/false (是/否)"),
        KindSpec("date", datetime.date, "a date YYYY-MM-DD"),
        KindSpec("text", str, "text"),
        KindSpec("enum", int, None),
        KindSpec("list", list, None),
        KindSpec("record", dict, None),
    )}


KINDS: dict[str, KindSpec] = _kinds()


def with_converters(converters: Mapping[str, Callable[[object], object]]) -> None:
    """Attach each kind's conversion (the generic coercer registers its own, once, at import)."""
    for kind, convert in converters.items():
        KINDS[kind] = attrs.evolve(KINDS[kind], convert=convert)


def enum_lookup(enum: EnumDecl) -> dict[str, int]:
    """Member index by spelling: a member's name wins over another member's label (name first, then label)."""
    table: dict[str, int] = {}
    for index, member in enumerate(enum.members):
        if member.label is not None and member.label not in table:
            table[member.label] = index
    for index, member in enumerate(enum.members):
        table[member.name] = index
    return table


def has_default(default: object) -> bool:
    """A declared default (not the checker's MISSING marker, not none)."""
    from ...language.checker import MISSING

    return default is not MISSING and default is not None
