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

#: rows per record batch (``evaluate_table``, ``kaohe eval --format parquet``): large enough for vectorised
#: work to pay — each batch's query has a fixed cost of about 0.1 s of CPU (planning, threads), so 131,072 rows
#: halve it per unit against 65,536 — and small enough to bound memory (about 1.1 GB peak for Karamay 2013's
#: 190 result columns, docs/performance.md)
DEFAULT_BATCH_ROWS = 131_072

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
        if "decimal256" in " ".join(str(dtype) for dtype in getattr(table, "dtypes", ())):  # on Arrow: see below
            import pyarrow as pa

            table = pa.Table.from_pandas(table, preserve_index=False)
            module = "pyarrow"
        else:
            try:
                return pl.from_pandas(table)
            except Exception:  # noqa: BLE001 - a column pyarrow cannot type (Decimal beside int, str …)
                return _pandas_by_column(table)
    if module == "pyarrow":
        try:
            frame = pl.from_arrow(polars_decimals(table))
        except pl.exceptions.PolarsError as error:  # an Arrow type polars has no column for (a union …)
            raise TableError(f"evaluate_table cannot read this Arrow table as a polars one: {error}") from None
        if isinstance(frame, pl.DataFrame):
            return frame
    raise TableError(f"evaluate_table reads a polars, pandas or Arrow table, not {type(table).__name__}; "
                     "for a list of units use policy.evaluate_many")


def _pandas_by_column(table: Any) -> pl.DataFrame:
    """A pandas frame whose columns polars cannot all convert (an object column mixing ``Decimal`` with
    ``int``, text or bool makes pyarrow raise): each column converted on its own, and one that fails
    held as Python objects — never certified by the reader, so those rows go per unit with their own
    values (a missing value, NaN or None, is a null cell as ``pl.from_pandas`` makes it)."""
    import polars as pl

    columns = []
    for name in table.columns:
        column = table[name]
        try:
            columns.append(pl.from_pandas(column.to_frame()).to_series().alias(str(name)))
        except Exception:  # noqa: BLE001 - as above: this column as Python objects
            values = [None if _missing(v) else v for v in column.tolist()]
            columns.append(pl.Series(str(name), values, dtype=pl.Object))
    return pl.DataFrame(columns, height=len(table))


def _missing(value: object) -> bool:
    """A pandas missing value (None, NaN, NaT, pd.NA) in an object column."""
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or a mapping: a value
        return False


def polars_decimals(table: Any) -> Any:
    """An Arrow table or record batch polars can read: each ``decimal256`` column as ``decimal128``.

    Why: polars has no 256-bit decimal and panics on one (a ``PanicException``, not even an
    ``Exception``); pyarrow writes ``decimal256`` for any precision above 38 (a Parquet file from another
    tool, a pandas ``ArrowDtype``).  Cast to ``decimal128(38, scale)`` safely: the values are exactly the
    same, and a cast that would lose a digit raises instead — then that column is text (the decimal's
    digits), which the reader converts as it converts any text cell (per unit, exactly, or refused).
    """
    import pyarrow as pa

    def narrow(dtype: pa.DataType, text: bool) -> pa.DataType:
        if isinstance(dtype, pa.Decimal256Type):
            return pa.string() if text or dtype.scale > 38 or dtype.scale < 0 else pa.decimal128(38, dtype.scale)
        if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
            inner = dtype.value_field
            maker = pa.list_ if pa.types.is_list(dtype) else pa.large_list
            return maker(inner.with_type(narrow(inner.type, text)))
        if pa.types.is_struct(dtype):
            return pa.struct([dtype.field(i).with_type(narrow(dtype.field(i).type, text))
                              for i in range(dtype.num_fields)])
        return dtype

    schema = table.schema
    if not any("decimal256" in str(field.type) for field in schema):
        return table
    try:
        return table.cast(pa.schema([field.with_type(narrow(field.type, False)) for field in schema]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a value beyond 38 digits: its text
        return table.cast(pa.schema([field.with_type(narrow(field.type, True)) for field in schema]))


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
