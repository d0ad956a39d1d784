"""The table of fact kinds: one :class:`KindSpec` per ``Type.kind``, read by both coercion paths.

Why one table: the generic coercer (:mod:`kaohe_rules.runtime.facts`, every spelling,
every problem reported) and the generated fast readers (:mod:`kaohe_rules.codegen.facts`,
canonical values only, anything else handed back) used to repeat each kind's rules —
its canonical Python class, how a member of an enum is looked up, what a message calls
it, what counts as a default.  Here each is written once.  The conversions of other
spellings are run-time code (:mod:`kaohe_rules.runtime.coerce.convert`, one per scalar
kind of this table, checked by a test); the generated readers call the same ones by
:func:`converter_name`.  The table sits in the language layer because both the code
generator and the runtime read it (codegen imports language and leaves only).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import attrs

from .abi import MISSING
from .ast import EnumDecl
from .model import CheckedPolicy
from .types import Type


@attrs.frozen
class KindSpec:
    """How a fact kind is read: its canonical class, how messages name it, its conversion's name.

    ``canonical`` is the class a value has once read: the generated readers accept a
    value of exactly that class without conversion (an int for a Decimal kind is made
    a Decimal), and hand any other value to the kind's conversion — the generic
    coercer's own (:data:`kaohe_rules.runtime.coerce.convert.CONVERTERS`, keyed by these
    kinds) — so both paths read every spelling alike.
    """

    kind: str
    canonical: type
    description: str | None  # what a message says is expected (None: built from the declared type)
    scalar: bool = True  # read by a conversion alone (enum, list, record need the policy's declarations)


#: one spec per ``Type.kind`` a fact or record field can have
KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in (
    KindSpec("int", int, "a whole number"),
    KindSpec("decimal", Decimal, "a number"),
    KindSpec("money", Decimal, "an amount of money (元)"),  # also "100万元", "1,000元", "¥5"; not "100万"
    KindSpec("percent", Decimal, "a percentage"),  # also "98.5%"; bare 0 < |x| <= 1 refused (ambiguous)
    KindSpec("bool", bool, "true/false (是/否)"),  # also 是/否, yes/no, 1/0
    KindSpec("date", datetime.date, "a date YYYY-MM-DD"),
    KindSpec("text", str, "text"),
    KindSpec("enum", int, None, scalar=False),  # the member's index, looked up in enum_lookup's table
    KindSpec("list", list, None, scalar=False),
    KindSpec("record", dict, None, scalar=False),
)}
#: the kinds read by a conversion function alone
SCALAR_KINDS = tuple(kind for kind, spec in KINDS.items() if spec.scalar)
#: kinds held as Decimal (an int given for them is made a Decimal)
NUMBER_KINDS = tuple(kind for kind, spec in KINDS.items() if spec.canonical is Decimal)


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
    return default is not MISSING and default is not None
