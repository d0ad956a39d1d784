"""Generated units as a typed Arrow table / Parquet file — the columnar benchmark's input (issue #13).

The layout is the one ``policy.evaluate_table`` reads (kaohe_rules/columnar/frames.py): one row per unit,
``id``, ``name``, ``category``, then one column per fact of the policy, a null cell being a fact not given.
Columns are typed from the policy's fact declarations, as a data team's Parquet export would be:

=================  ===================================================================================
fact type          Arrow column
=================  ===================================================================================
bool               bool
int                int64
decimal, percent   decimal128(38, 4) — the generator's values have at most 2 places; Arrow refuses any
                   value that would lose a digit, so the table holds exactly the unit's numbers
money              decimal128(38, 2) (to the fen); the generator's "120万元" spellings written as 1200000
enum, text         string (enum: the member's name)
date               date32
list of RECORD     list<struct<field: …>> with each field typed by the rules above
=================  ===================================================================================

The units come from benchmarks/synthetic.py (``units`` for Karamay, ``seed_core_units`` for seed-core),
so the per-unit contenders of the benchmark evaluate the very same units as dicts.  ``write_parquet``
streams: it generates, converts and writes ``chunk`` units at a time, so a file of 1,000,000 units never
holds more than one chunk in memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from seed_core_baseline import read_money as _money  # the generator's money spellings, read as the baseline reads them

UNIT_FIELDS = ("id", "name", "category")
NUMBER_SCALE = 4  # kaohe_rules.columnar.canonical.FACT_SCALE: what the columnar path holds exactly
MONEY_SCALE = 2


def _converter(checked: Any, type_: Any) -> tuple[pa.DataType, Callable[[Any], Any]]:
    """The Arrow type of a fact or field type and the function turning a unit's value into its cell."""
    kind = type_.kind
    if kind == "bool":
        return pa.bool_(), bool
    if kind == "int":
        return pa.int64(), int
    if kind in ("decimal", "percent"):
        return pa.decimal128(38, NUMBER_SCALE), Decimal
    if kind == "money":
        return pa.decimal128(38, MONEY_SCALE), _money
    if kind in ("enum", "text"):
        return pa.string(), str
    if kind == "date":
        return pa.date32(), lambda v: v if isinstance(v, datetime.date) else datetime.date.fromisoformat(v)
    if kind == "list" and type_.elem is not None:
        elem = type_.elem
        if elem.kind == "record":
            fields = []
            converters = {}
            for name, field_type in checked.record_fields[elem.name].items():
                dtype, convert = _converter(checked, field_type)
                fields.append(pa.field(name, dtype))
                converters[name] = convert

            def record(item: dict[str, Any]) -> dict[str, Any]:
                return {name: None if item.get(name) is None else convert(item[name])
                        for name, convert in converters.items()}

            return pa.list_(pa.struct(fields)), lambda items: [record(i) for i in items]
        dtype, convert = _converter(checked, elem)
        return pa.list_(dtype), lambda items: [convert(i) for i in items]
    raise ValueError(f"no Arrow column for a fact of type {type_}")


class TableLayout:
    """The Arrow schema of a policy's units and the conversion of unit dicts into record batches."""

    def __init__(self, checked: Any) -> None:
        fields = [pa.field(name, pa.string()) for name in UNIT_FIELDS]
        self.converters: dict[str, Callable[[Any], Any]] = {}
        for name, type_ in checked.fact_types.items():
            dtype, convert = _converter(checked, type_.required() if type_.optional else type_)
            fields.append(pa.field(name, dtype))
            self.converters[name] = convert
        self.schema = pa.schema(fields)

    def batch(self, units: Iterable[dict[str, Any]]) -> pa.RecordBatch:
        columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for unit in units:
            for name in UNIT_FIELDS:
                columns[name].append(unit.get(name))
            facts = unit["facts"]
            for name, convert in self.converters.items():
                value = facts.get(name)
                columns[name].append(None if value is None else convert(value))
        return pa.RecordBatch.from_pydict(columns, schema=self.schema)


def chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_parquet(checked: Any, units: Iterable[dict[str, Any]], path: Path, *, chunk: int = 20_000,
                  keep: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """Write ``units`` to ``path`` as Parquet, ``chunk`` units per row group; the count and the first
    ``keep`` units (the sample the per-unit contenders evaluate)."""
    layout = TableLayout(checked)
    count = 0
    kept: list[dict[str, Any]] = []
    with pq.ParquetWriter(path, layout.schema) as writer:
        for part in chunks(units, chunk):
            if len(kept) < keep:
                kept.extend(part[: keep - len(kept)])
            writer.write_batch(layout.batch(part))
            count += len(part)
    return count, kept
