"""Streams of tables: Parquet record batches in, the results table out, and units as an exact table.

Why a module: ``kaohe eval … --format parquet`` (and the Dask integration) never hold a whole batch.
:func:`parquet_frames` reads a Parquet file one record batch at a time; :class:`ResultsWriter` writes
the results table one record batch at a time (pyarrow's ``ParquetWriter``); :func:`exact_frame` turns
units read by the clerk-facing readers (JSON Lines, CSV …, with their habits: GB18030, 是/否, percent
cells, 万元) into a table that holds *exactly* those values, and says which rows it could not hold
exactly (those are assessed per unit from the unit itself, never from a converted cell).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..runtime.facts import RESERVED_KEYS
from ..unitio import parquet_cell, parquet_location
from .frames import UNIT_COLUMNS, polars_decimals, unit_of
from .results import ResultColumns

if TYPE_CHECKING:
    import polars as pl


def parquet_frames(path: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The Parquet file's rows as polars frames of at most ``batch_rows`` rows (one record batch each)."""
    import polars as pl
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as source:
        for batch in source.iter_batches(batch_size=batch_rows):
            frame = pl.from_arrow(polars_decimals(batch))  # no decimal256 in polars
            assert isinstance(frame, pl.DataFrame)
            yield frame


def flat_unit(unit: Mapping[str, object]) -> dict[str, object] | None:
    """A unit mapping as one table row (``id``, ``name``, ``category``, its facts), or None when a table
    cannot say what the unit says (a fact given as null — the per-unit reader refuses an unknown one —,
    a fact named like an envelope column)."""
    facts = unit.get("facts") if "facts" in unit else {k: v for k, v in unit.items()
                                                        if k not in RESERVED_KEYS}
    if not isinstance(facts, Mapping):
        return None
    if "facts" in unit and any(k not in RESERVED_KEYS for k in unit):
        return None  # a key beside "facts": the per-unit reader refuses it
    row: dict[str, object] = {}
    for key in UNIT_COLUMNS:
        value = unit.get(key)
        if value is not None:
            row[key] = value
    for key, value in facts.items():
        if not isinstance(key, str) or key in UNIT_COLUMNS or value is None:
            return None
        row[key] = value
    return row


def _same(a: object, b: object) -> bool:
    """Equal as the per-unit reader sees them: same types and same text (1.50 is not 1.5 in a message)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and str(a) == str(b)


def exact_frame(units: Sequence[Mapping[str, object]]) -> tuple[pl.DataFrame, list[bool]]:
    """A frame of the units (one row each) and, per row, whether the frame holds exactly that unit.

    Each column is built with the type its values have; a column whose values polars would convert
    (mixed types, a Decimal rescaled, a nested value reshaped) is held as Python objects instead, which
    the vectorised reader never certifies, so those rows go per unit with their own values.  A row whose
    unit does not come back unchanged (:func:`kaohe_rules.columnar.frames.unit_of`) is marked False.
    """
    import polars as pl

    rows = [flat_unit(unit) for unit in units]
    names: list[str] = []
    for row in rows:
        for key in row or ():
            if key not in names:
                names.append(key)
    columns = []
    for name in names:
        values = [row.get(name) if row is not None else None for row in rows]
        try:
            series = pl.Series(name, values, strict=True)
            if not all(v is None or _same(parquet_cell(v), parquet_cell(w))
                       for v, w in zip(values, series.to_list(), strict=True)):
                raise ValueError("converted")
        except Exception:  # noqa: BLE001 - any value polars cannot hold as it is: held as Python objects
            series = pl.Series(name, values, dtype=pl.Object)
        columns.append(series)
    frame = pl.DataFrame(columns, height=len(rows)) if columns else pl.DataFrame(height=len(rows))
    exact: list[bool] = []
    for index, row in enumerate(rows):
        if row is None:
            exact.append(False)
            continue
        back = unit_of(frame.row(index, named=True))
        facts = back.pop("facts")
        assert isinstance(facts, dict)
        original = {k: parquet_cell(v) for k, v in row.items()}
        exact.append(_same({**back, **facts}, original))
    return frame, exact


class ResultsWriter:
    """The results table written to a binary stream as Parquet, one record batch per :meth:`write`."""

    def __init__(self, sink: IO[bytes], columns: ResultColumns) -> None:
        import polars as pl
        import pyarrow.parquet as pq

        self.columns = columns
        self.schema = pl.DataFrame(schema=columns.schema()).to_arrow().schema
        self._writer: Any = pq.ParquetWriter(sink, self.schema)
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if table.schema != self.schema:
            table = table.cast(self.schema)  # same names and logical types: only string view ↔ string
        self._writer.write_table(table)
        self.rows += frame.height

    def close(self) -> None:
        self._writer.close()


def error_rows(results: pl.DataFrame) -> list[int]:
    """The indexes of the error rows of a results frame (few: each is reported on standard error)."""
    return results.get_column("status").eq("error").arg_true().to_list()


def location_of(shown: str, index: int) -> str:
    """A Parquet row's location (``units.parquet:row 3``), as the per-unit formats name it."""
    return parquet_location(shown, index)
