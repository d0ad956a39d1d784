"""Tables in, units out: what ``evaluate_table`` accepts and how one row becomes a unit.

A table is a polars DataFrame or LazyFrame, a pandas DataFrame or a pyarrow Table/RecordBatch; all become
one polars DataFrame (Arrow memory, no copy where the library allows).  A row is a unit: ``id``, optional
``name`` and ``category``, and one column per fact (a list of records is a list-of-struct column).  A null
cell is a fact not given (its default applies, or the unit is refused for the missing fact), exactly as a
key left out of a unit's ``facts`` in JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

#: the columns that are not facts
UNIT_COLUMNS = ("id", "name", "category")


class TableError(TypeError):
    """What ``evaluate_table`` was given is not a table it reads (the message names what it was)."""


def to_frame(table: object) -> pl.DataFrame:
    """A polars DataFrame of any accepted table (polars, pandas, Arrow); refuses anything else by name."""
    import polars as pl

    if isinstance(table, pl.DataFrame):
        return table
    if isinstance(table, pl.LazyFrame):
        return table.collect()
    module = type(table).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(table)
    if module == "pyarrow":
        frame = pl.from_arrow(table)
        if isinstance(frame, pl.DataFrame):
            return frame
    raise TableError(f"evaluate_table reads a polars, pandas or Arrow table, not {type(table).__name__}; "
                     "for a list of units use policy.evaluate_many")


def unit_of(row: dict[str, Any]) -> dict[str, object]:
    """The unit mapping of one row (null cells left out: a fact not given)."""
    unit: dict[str, object] = {}
    facts: dict[str, object] = {}
    for key, value in row.items():
        if value is None:
            continue
        if key in UNIT_COLUMNS:
            unit[key] = value
        else:
            facts[key] = _plain(value)
    unit["facts"] = facts
    return unit


def _plain(value: object) -> object:
    """A cell as the unit mapping holds it (struct cells are dicts already; nulls inside records left out)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def units_of(frame: pl.DataFrame) -> Iterator[dict[str, object]]:
    """Every row of a frame as a unit mapping, in order."""
    for row in frame.iter_rows(named=True):
        yield unit_of(row)
