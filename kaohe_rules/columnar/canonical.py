"""Canonical fact columns: the facts of a table as the columnar compiler reads them.

The compiler never sees a clerk's table.  It reads a :class:`Canonical` frame: ``__id``, ``__name``,
``__category`` (text), then one column per fact of the policy holding exactly the value the per-unit fact
reader would have produced (defaults filled in), in a fixed representation:

=====================  ==========================================================================
fact type              canonical column
=====================  ==========================================================================
bool                   Boolean
int                    Int64
decimal, money,        Int128, the value × 10**FACT_SCALE (a scaled integer: exact, no float);
percent                percent in percentage points (98% is 98, as the per-unit reader holds it)
enum                   Int32, the member's index in its declaration (as the per-unit reader holds it)
text                   String
date                   Date
T? (optional)          the column of T; null is none
list of RECORD         List(Struct) of the record's fields, each field by the rules above
=====================  ==========================================================================

``clean`` is True for each row the reader certifies: every fact read exactly as the per-unit reader reads
it (no error, no value with more than FACT_SCALE places, nothing it is unsure of).  Every other row is
assessed per unit, which gives its exact result or its error.  :func:`reference_canonical` builds the
frame by running the per-unit reader itself (slow, and the reference the vectorised reader is tested
against); :func:`read_canonical` is what the engine calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..language.model import CheckedPolicy
from ..language.types import Type
from .layout import DECIMAL_KINDS, FACT_SCALE, Canonical, canonical_dtype, canonical_schema

__all__ = ["FACT_SCALE", "Canonical", "canonical_dtype", "canonical_schema", "canonical_value", "read_canonical",
           "reference_canonical"]

if TYPE_CHECKING:
    import polars as pl

    from ..batch.items import BatchItem


def canonical_value(checked: CheckedPolicy, type_: Type, value: object) -> tuple[object, bool]:
    """A value the per-unit reader produced, in its canonical form, and whether it fits (places, kind)."""
    if value is None:
        return None, True
    kind = type_.kind
    if kind in DECIMAL_KINDS:
        scaled = Decimal(value).scaleb(FACT_SCALE)  # type: ignore[arg-type]
        if scaled != scaled.to_integral_value():
            return None, False
        return int(scaled), True
    if kind == "list" and type_.elem is not None and type_.elem.name:
        fields = checked.record_fields[type_.elem.name]
        items = []
        for item in value:  # type: ignore[attr-defined]
            record: dict[str, object] = {}
            for name, field_type in fields.items():
                if name not in item:
                    return None, False  # a record let or a field the reader left out: not held columnar
                record[name], fits = canonical_value(checked, field_type, item[name])
                if not fits:
                    return None, False
            items.append(record)
        return items, True
    return value, True


def reference_canonical(checked: CheckedPolicy, assess_row: Callable[[int, object], BatchItem],
                        units: list[Mapping[str, object]]) -> Canonical:
    """The canonical frame built by the per-unit reader itself (every row assessed per unit): the reference."""
    import polars as pl

    schema = canonical_schema(checked)
    if schema is None:
        raise ValueError("this policy has a fact the columnar path does not hold")
    rows: list[dict[str, Any]] = []
    clean: list[bool] = []
    for index, unit in enumerate(units):
        item = assess_row(index, unit)
        row: dict[str, Any] = dict.fromkeys(schema)
        ok = item.result is not None
        if item.result is not None:
            result = item.result
            row.update(__id=result.unit_id, __name=result.name, __category=result.category)
            for name, value in result.facts.items():
                row[name], fits = canonical_value(checked, checked.fact_types[name], value)
                ok = ok and fits
        rows.append(row if ok else dict.fromkeys(schema))
        clean.append(ok)
    return Canonical(pl.DataFrame(rows, schema=schema), pl.Series("clean", clean, dtype=pl.Boolean))


def read_canonical(checked: CheckedPolicy, frame: pl.DataFrame) -> Canonical:
    """The engine's reader: the vectorised reader (:mod:`.reader`); rows it does not certify go per unit
    (it never decides an error, it only declines a row)."""
    from .reader import read_table

    return read_table(checked, frame)
