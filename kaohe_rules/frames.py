"""DataFrames in and out (issue #15): units from a pandas/polars DataFrame, results to one.

Why a module of its own: analysts hold their units in pandas or polars, and want the results back there.
Nothing here is a second engine or a second reader — it joins pieces the library already has:

* **units from a frame** (:func:`units_from_frame`) are read by the CSV/XLSX readers' own rules
  (:func:`kaohe_rules.unitio.read_frame_rows`): the same header aliases (``编号``, ``名称``, ``类别``, a fact's
  label, ``资金（万元）``), the same cells (是/否 and ``98%`` left to the fact layer, a float read as the XLSX
  reader reads it — its shortest repr, refused beyond 15 significant digits — NaN/None/NaT a fact not given),
  one :class:`~kaohe_rules.unitio.UnitRow` per row, a bad row kept with its error.  A unit id given twice is
  refused on its second row, as ``kaohe eval`` refuses it.  (``policy.evaluate_table`` is the other door: a
  *typed* table, its columns named exactly after the facts, floats refused; it is the fast path for big
  tables.)
* **results to a frame** (:func:`results_frame`) are the columnar results table
  (:mod:`kaohe_rules.columnar.results`): one row per unit, the same column names and types, error rows kept
  with their error.  polars gets exactly that table; pandas gets the same columns with Decimal values in
  ``object`` columns (never a float), ``Int64`` for counts and ``boolean`` for flags (nullable: a column that
  does not apply to a unit is missing), text as ``object`` (None where missing).
* :func:`evaluate_frame` is the two together: every row read as a clerk's sheet is read, assessed as
  ``kaohe eval`` assesses a file (a cohort ranked across the frame, ledgers attributed over it), one results
  row per unit.  It assesses per unit (``evaluate_many``; a cohort or ledgers through ``cohort.stream.assess_rows``,
  the CLI's driver, which keeps an unreadable row in every pass): the clerk's cells
  (text, 是/否, records as JSON text) are what the columnar engine's vectorised reader does not certify, so
  trying the columnar engine first (``kaohe eval --format parquet``'s way) sent 78% of seed-core's synthetic
  rows and 96% of Karamay's per unit anyway and made the whole 1.5–2.7× slower (measured, 2,000 rows each).

The module sits at the batch layer; pandas and polars are imported only when used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .batch.items import BatchItem
from .cohort.stream import CohortAssessor, assess_rows
from .columnar.results import ResultColumns, result_columns
from .errors import UnitInputError
from .runtime.result import Result
from .unitio import Expect, UnitIds, frame_rows_with_ids
from .unitio import UnitRow as UnitRow

if TYPE_CHECKING:
    import polars as pl

    from .language.model import CheckedPolicy
    from .ledger.engine import LedgerInput
    from .runtime.ledger import LedgerSpec
    from .runtime.program import Program

BACKENDS = ("pandas", "polars")

#: the pandas dtype of each kind of results column (see the module doc)
PANDAS_DTYPES = {"text": "object", "points": "object", "money": "object", "int": "Int64", "bool": "boolean"}


class FramePolicy(CohortAssessor, Protocol):
    """What this module needs of a policy (``kaohe_rules.Policy`` is one)."""

    @property
    def checked(self) -> CheckedPolicy: ...

    @property
    def program(self) -> Program: ...

    def evaluate_many(self, units: Iterable[Mapping[str, object]]) -> Iterator[BatchItem]: ...


def units_from_frame(policy: FramePolicy, frame: object, *, floats: str = "shortest") -> list[UnitRow]:
    """Every row of a pandas/polars DataFrame as a unit row, read as ``kaohe eval`` reads a CSV/XLSX file.

    One :class:`~kaohe_rules.unitio.UnitRow` per non-blank row, in order (``row.unit`` the unit, or
    ``row.error`` why the row could not be read); a header problem (no id column, a column that is no fact
    of the policy, a column given twice) raises :class:`~kaohe_rules.errors.UnitInputError` naming it.
    ``floats="refuse"`` refuses every float cell instead of reading it as the XLSX reader does.
    """
    return [row for row, _ in _read(policy, frame, floats)]


def _read(policy: FramePolicy, frame: object, floats: str) -> list[tuple[UnitRow, str | None]]:
    """The frame's unit rows, each with its id cell's id (for the error row of a row that could not be read)."""
    names, rows = _names_and_rows(frame)
    ledgers: tuple[LedgerSpec, ...] = policy.program.ledgers
    expect = Expect.of(policy.checked, ledgers)
    seen = UnitIds()
    out: list[tuple[UnitRow, str | None]] = []
    for row, unit_id in frame_rows_with_ids(names, rows, expect=expect, floats=floats):
        repeat = seen.repeat(row.unit.get("id"), row.location) if row.unit is not None else None
        out.append((row if repeat is None else UnitRow(row.index, row.location, None, repeat), unit_id))
    return out


def evaluate_frame(policy: FramePolicy, frame: object, *, backend: str | None = None, floats: str = "shortest",
                   ledgers: LedgerInput | None = None) -> Any:
    """The results table of every unit of a DataFrame (read by :func:`units_from_frame`), as a DataFrame.

    ``backend`` is ``"pandas"`` or ``"polars"``; by default the input's own.  One row per unit, in order; a
    row that could not be read or assessed is an error row with its message (a row that could not be read is
    named by its place, ``DataFrame:row 3``, and keeps the id its id cell holds).  A cohort policy ranks the frame's units together, and
    ``ledgers`` (issue #16) are attributed over them, as ``kaohe eval`` does with a file.
    """
    chosen = backend or _backend_of(frame)
    _check_backend(chosen)
    read = _read(policy, frame, floats)
    rows = [row for row, _ in read]
    ids = {row.index: unit_id for row, unit_id in read}
    columns = result_columns(policy.checked)
    if ledgers is None and policy.cohort is None:  # units assessed one by one: evaluate_many's fast serial path
        items = iter(policy.evaluate_many([row.unit for row in rows if row.unit is not None]))
        pairs: Iterable[tuple[UnitRow, BatchItem | None]] = (
            (row, None if row.unit is None else next(items)) for row in rows)
    else:  # ranked or attributed across the frame: the command line's driver (every pass, unreadable rows too)
        pairs = assess_rows(policy, lambda: rows, ledgers=ledgers)
    table = [_pair_row(columns, row, item, ids.get(row.index)) for row, item in pairs]
    return convert(columns, columns.frame(table), chosen)


def results_frame(policy: FramePolicy, results: object, *, backend: str = "pandas") -> Any:
    """Results as a DataFrame of the results table: one row per unit, error rows kept with their error.

    ``results`` is an iterable of :class:`~kaohe_rules.Result` and/or
    :class:`~kaohe_rules.policy.BatchItem` (what ``evaluate_many`` yields: a result or the error that kept the
    row from being assessed), or the polars results table ``policy.evaluate_table`` returns (converted to
    ``backend``).
    """
    _check_backend(backend)
    columns = result_columns(policy.checked)
    if type(results).__module__.split(".")[0] == "polars":
        import polars as pl

        if not isinstance(results, pl.DataFrame) or list(results.columns) != list(columns.names):
            raise TypeError("results_frame takes the results table of this policy (policy.evaluate_table), or "
                            "results and batch items; this polars value is not that table")
        return convert(columns, results, backend)
    if type(results).__module__.split(".")[0] == "pandas":  # iterating a frame gives its column names
        raise TypeError("results_frame takes results, batch items or evaluate_table's polars table, not a pandas "
                        f"{type(results).__name__}")
    if isinstance(results, (str, bytes, Mapping)) or not isinstance(results, Iterable):
        raise TypeError(f"results_frame takes results or batch items (an iterable), not {type(results).__name__}")
    return convert(columns, columns.frame(_rows(columns, results)), backend)


def convert(columns: ResultColumns, table: pl.DataFrame, backend: str) -> Any:
    """The results table in ``backend``: polars as it is; pandas column by column (see the module doc)."""
    if backend == "polars":
        return table
    import pandas as pd

    data = {}
    for column in columns.columns:
        values = table.get_column(column.name).to_list()
        data[column.name] = pd.Series(values, dtype=PANDAS_DTYPES[column.kind], name=column.name)
    return pd.DataFrame(data, columns=list(columns.names), index=pd.RangeIndex(table.height))


def _rows(columns: ResultColumns, results: Iterable[object]) -> Iterator[dict[str, object]]:
    for value in results:
        if isinstance(value, Result):
            yield columns.row(value)
        elif isinstance(value, BatchItem):
            if value.result is not None:
                yield columns.row(value.result)
            else:
                yield columns.error_row(value.unit_id, None, None, str(value.error))
        else:
            raise TypeError(f"results_frame takes results and batch items, not {type(value).__name__}")


def _pair_row(columns: ResultColumns, row: UnitRow, item: BatchItem | None,
              id_cell: str | None = None) -> dict[str, object]:
    """The results row of one read row: its result, or an error row with the row's id (for a row that could not
    be read: its id cell's), name and category."""
    if item is not None and item.result is not None:
        return columns.row(item.result)
    unit = row.unit or {}
    name, category = unit.get("name"), unit.get("category")
    unit_id = item.unit_id if item is not None else id_cell
    message = str(item.error) if item is not None else f"{row.location}: {row.error}"
    return columns.error_row(unit_id, name if isinstance(name, str) else None,
                             category if isinstance(category, str) else None, message)


def _names_and_rows(frame: object) -> tuple[list[object], Iterable[tuple[object, ...]]]:
    """A DataFrame's column names and rows (Python values, numpy scalars left to the cell reader).

    A pandas frame's named index is a column (as ``df.reset_index()`` makes it): ``df.set_index("编号")``
    keeps its ids; an unnamed index is only positions and is not read.
    """
    module = type(frame).__module__.split(".")[0]
    if module == "pandas" and type(frame).__name__ == "DataFrame":
        table: Any = frame
        named = [name for name in table.index.names if name is not None]
        twice = [name for name in named if name in table.columns]
        if twice:  # pandas would refuse to reset the index; which of the two holds the values would be a guess
            raise UnitInputError(f"the DataFrame's index and one of its columns are both named {twice[0]!r}: "
                                 "drop one (df.reset_index(drop=True) keeps the column) / 索引与列同名")
        if named:
            table = table.reset_index()
        return list(table.columns), table.to_numpy(dtype=object)  # Python values, row by row, in one step
    if module == "polars" and type(frame).__name__ in ("DataFrame", "LazyFrame"):
        import polars as pl

        data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        assert isinstance(data, pl.DataFrame)
        return list(data.columns), data.iter_rows()
    raise TypeError(f"units_from_frame reads a pandas or polars DataFrame, not {type(frame).__name__}; "
                    "for a list of units use policy.evaluate_many, for a file kaohe eval")


def _backend_of(frame: object) -> str:
    return "polars" if type(frame).__module__.split(".")[0] == "polars" else "pandas"


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
