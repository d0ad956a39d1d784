"""The canonical column layout: the column type of each fact type, and the Canonical frame holder.

Why apart from :mod:`.canonical`: both readers build this layout — the reference (in :mod:`.canonical`)
and the vectorised reader (:mod:`.reader`, which :func:`.canonical.read_canonical` calls) — so it sits
below both (an import of the reader from the module the reader reads its layout from would be a cycle).
:mod:`.canonical` re-exports every name here: import them from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ..language.model import CheckedPolicy
from ..language.types import Type

if TYPE_CHECKING:
    import polars as pl

#: decimal places a decimal/money/percent fact may have in the columnar path (more: the row goes per unit)
FACT_SCALE = 4
#: the fact kinds held as scaled integers
DECIMAL_KINDS = ("decimal", "money", "percent")


@attrs.frozen
class Canonical:
    """A table's facts in canonical columns, and which rows the reader certifies (see the module doc)."""

    frame: pl.DataFrame
    clean: pl.Series


def canonical_dtype(checked: CheckedPolicy, type_: Type) -> pl.DataType | None:
    """The canonical column type of a fact type; None for one the columnar path does not hold."""
    import polars as pl

    kind = type_.kind
    if kind == "bool":
        return pl.Boolean()
    if kind == "int":
        return pl.Int64()
    if kind in DECIMAL_KINDS:
        return pl.Int128()
    if kind == "enum":
        return pl.Int32()
    if kind == "text":
        return pl.String()
    if kind == "date":
        return pl.Date()
    if kind == "list" and type_.elem is not None and type_.elem.kind == "record" and type_.elem.name:
        fields = []
        for name, field_type in checked.record_fields[type_.elem.name].items():
            dtype = canonical_dtype(checked, field_type)
            if dtype is None:
                return None
            fields.append(pl.Field(name, dtype))
        return pl.List(pl.Struct(fields))
    return None


def canonical_schema(checked: CheckedPolicy) -> dict[str, pl.DataType] | None:
    """The canonical frame's schema; None if some fact has no canonical column (the policy goes per unit)."""
    import polars as pl

    schema: dict[str, pl.DataType] = {"__id": pl.String(), "__name": pl.String(), "__category": pl.String()}
    for name, type_ in checked.fact_types.items():
        dtype = canonical_dtype(checked, type_)
        if dtype is None:
            return None
        schema[name] = dtype
    return schema
