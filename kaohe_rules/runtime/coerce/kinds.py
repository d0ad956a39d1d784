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
from collections.abc import Callable
from decimal import Decimal

import attrs

from ...language.ast import EnumDecl
from ...language.model import CheckedPolicy
from ...language.types import Type
from .convert import to_bool, to_date, to_decimal, to_int, to_money, to_percent, to_text

#: kinds held as Decimal (an int given for them is made a Decimal)
NUMBER_KINDS = ("decimal", "money", "percent")
#: ints below this are made Decimals by a table lookup in generated code, not a constructor call
SMALL_LIMIT = 1001


def _decimal(value: object) -> object:
    return to_decimal(value, "a number")


@attrs.frozen
class KindSpec:
    """How a fact kind is read: its canonical class, its conversion, how messages name it.

    ``canonical`` is the class a value has once read: the generated readers accept a
    value of exactly that class without conversion (an int for a Decimal kind is made
    a Decimal), and hand any other value to ``convert`` — the generic coercer's own
    conversion — so both paths read every spelling alike.
    """

    kind: str
    canonical: type
    description: str | None  # what a message says is expected (None: built from the declared type)
    convert: Callable[[object], object] | None = None  # any accepted spelling → canonical value, or Bad


#: one spec per ``Type.kind`` a fact or record field can have
KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in (
    KindSpec("int", int, "a whole number", to_int),
    KindSpec("decimal", Decimal, "a number", _decimal),
    KindSpec("money", Decimal, "an amount of money (元)", to_money),  # "100万元", "1,000元", "¥5"
    KindSpec("percent", Decimal, "a percentage", to_percent),
    KindSpec("bool", bool, "true/false (是/否)", to_bool),
    KindSpec("date", datetime.date, "a date YYYY-MM-DD", to_date),
    KindSpec("text", str, "text", to_text),
    KindSpec("enum", int, None),  # the member's index, looked up in enum_lookup's table
    KindSpec("list", list, None),
    KindSpec("record", dict, None),
)}
#: the kinds read by a conversion function alone (no policy declaration needed)
SCALAR_KINDS = tuple(kind for kind, spec in KINDS.items() if spec.convert is not None)


def converter_name(kind: str) -> str:
    """The name generated readers call a kind's lenient conversion by (``_money``), in their namespace."""
    return f"_{kind}"


def describe(policy: CheckedPolicy, t: Type) -> str:
    """What a message says a value of type ``t`` should be."""
    spec = KINDS.get(t.kind)
    if spec is not None and spec.description is not None:
        return spec.description
    if t.kind == "enum" and t.name in policy.enums:
        return "one of " + ", ".join(m.name for m in policy.enums[t.name].members)
    if t.kind == "list" and t.elem is not None:
        return f"a list of {t.elem.describe()}"
    return t.describe()


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
