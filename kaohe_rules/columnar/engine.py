"""``policy.evaluate_table``: the columnar compiler where it applies, the per-unit evaluator for the rest.

The engine cuts the table into record batches (``batch_rows``, so memory stays bounded whatever the
table's size), asks the compiled columnar program (:mod:`.compiler`) for the results of the rows it can
assess exactly, assesses every other row per unit (``policy.assess_row``: the same result, or the same
error, ``policy.evaluate`` gives), and returns one results row per input row, in input order.  A construct
the compiler does not vectorise is named once in a :class:`ColumnarFallbackWarning`; the ``engine`` column
says which path assessed each row.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ColumnarFallbackWarning
from .canonical import read_canonical
from .compiler import ColumnarProgram, compile_columnar
from .frames import DEFAULT_BATCH_ROWS, to_frame, unit_of, units_of
from .results import ResultColumns, result_columns
from .support import Fallback, Support

if TYPE_CHECKING:
    import polars as pl

    from ..batch.items import BatchItem
    from ..language.model import CheckedPolicy
    from ..ledger.engine import LedgerInput
    from ..runtime.program import Program


class TablePolicy(Protocol):
    """What the engine runs against: a loaded policy (``kaohe_rules.Policy`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def checked(self) -> CheckedPolicy: ...

    @property
    def program(self) -> Program: ...

    def columnar_program(self) -> Any: ...

    def assess_row(self, index: int, unit: object, *, trace: bool = False) -> BatchItem: ...

    def evaluate_many(self, units: Iterable[Mapping[str, object]], *,
                      ledgers: LedgerInput | None = None) -> Iterator[BatchItem]: ...

    def evaluate_cohort(self, units: Iterable[Mapping[str, object]], *,
                        ledgers: LedgerInput | None = None) -> list[BatchItem]: ...


def compile_table_program(policy: TablePolicy) -> ColumnarProgram:
    """The policy's columnar program (cached on the policy by :meth:`Policy.columnar_program`)."""
    return compile_columnar(policy.program)


def evaluate_table(policy: TablePolicy, table: object, *, ledgers: LedgerInput | None = None,
                   batch_rows: int = DEFAULT_BATCH_ROWS, warn: bool = True) -> pl.DataFrame:
    """The results table of every row of ``table`` (see :mod:`kaohe_rules.columnar`)."""
    import polars as pl

    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        # range(0, n, -1) is empty: a batch size below 1 returned no rows at all, silently
        raise ValueError(f"batch_rows must be a whole number of rows, at least 1, not {batch_rows!r}")
    frame = to_frame(table)
    columns = result_columns(policy.checked)
    program: ColumnarProgram = policy.columnar_program()
    whole_batch = is_whole_batch(policy)
    support = table_support(policy)
    if warn and support.fallbacks:
        warnings.warn(ColumnarFallbackWarning(support.message()), stacklevel=2)
    if whole_batch:
        items = (policy.evaluate_cohort(units_of(frame), ledgers=ledgers) if policy.checked.cohort is not None
                 else list(policy.evaluate_many(units_of(frame), ledgers=ledgers)))
        return columns.frame(_item_row(columns, item) for item in items)
    parts = [_assess_batch(policy, program, columns, frame.slice(start, batch_rows))
             for start in range(0, frame.height, batch_rows)] or [columns.frame([])]
    return pl.concat(parts, how="vertical")


def is_whole_batch(policy: TablePolicy) -> bool:
    """Whether the policy decides over the whole batch (a cohort ranks, ledgers attribute): no record batches."""
    return policy.checked.cohort is not None or bool(policy.checked.ledgers)


def table_support(policy: TablePolicy) -> Support:
    """What of the policy ``evaluate_table`` assesses per unit: the compiler's fallbacks, and a cohort or
    ledgers (decided over the whole batch by the batch engines) — the text of the one fallback warning."""
    support: Support = policy.columnar_program().support
    if is_whole_batch(policy):  # ranks and ledgers are decided over the whole batch: the batch engines, per unit
        construct = "cohort" if policy.checked.cohort is not None else "ledger"
        support = Support((*support.fallbacks, Fallback(f"{construct} (decided over the whole batch)",
                                                        policy.name)))
    return support


def iter_results(policy: TablePolicy, batches: Iterator[pl.DataFrame], *,
                 per_unit: bool = False) -> Iterator[pl.DataFrame]:
    """Results per record batch, for streams (Parquet in, Parquet out): one results frame per batch.

    ``per_unit`` assesses every row per unit (``kaohe eval --engine per-unit``: the same table, the
    reference path).  A policy decided over the whole batch (cohort, ledgers) cannot be streamed by
    record batch: use :func:`evaluate_table`.
    """
    if is_whole_batch(policy):
        raise ValueError("a cohort or ledger policy is assessed over the whole batch: use evaluate_table")
    columns = result_columns(policy.checked)
    program = policy.columnar_program()
    for batch in batches:
        yield _per_unit_frame(policy, columns, batch) if per_unit else _assess_batch(policy, program, columns, batch)


def _assess_batch(policy: TablePolicy, program: ColumnarProgram, columns: ResultColumns,
                  frame: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    if not program.vectorises:
        return _per_unit_frame(policy, columns, frame)
    canonical = read_canonical(policy.checked, frame)
    results, per_unit = program.assess(canonical)
    per_unit = per_unit | ~canonical.clean
    if not per_unit.any():
        return results
    indexes = per_unit.arg_true().to_list()
    fallback = columns.frame(_row(policy, columns, i, row) for i, row in
                             zip(indexes, frame[indexes].iter_rows(named=True), strict=True))
    index = pl.Series("__row", indexes, dtype=pl.UInt32)
    kept = results.with_row_index("__row").filter(~per_unit)
    return (pl.concat([kept, fallback.with_columns(index).select(kept.columns)], how="vertical")
            .sort("__row").drop("__row"))


def _per_unit_frame(policy: TablePolicy, columns: ResultColumns, frame: pl.DataFrame) -> pl.DataFrame:
    """Every row of ``frame`` assessed per unit (the reference path, and the fallback of a policy that
    vectorises nothing)."""
    return columns.frame(_row(policy, columns, index, row) for index, row in enumerate(frame.iter_rows(named=True)))


def _row(policy: TablePolicy, columns: ResultColumns, index: int, row: dict[str, Any]) -> dict[str, object]:
    unit = unit_of(row)
    return _item_row(columns, policy.assess_row(index, unit), unit)


def _item_row(columns: ResultColumns, item: BatchItem, unit: Mapping[str, object] | None = None) -> dict[str, object]:
    """A batch item's results row; an error row keeps the row's own name and category when they are text."""
    if item.result is not None:
        return columns.row(item.result)
    name, category = (unit or {}).get("name"), (unit or {}).get("category")
    return columns.error_row(item.unit_id, name if isinstance(name, str) else None,
                             category if isinstance(category, str) else None, str(item.error))
