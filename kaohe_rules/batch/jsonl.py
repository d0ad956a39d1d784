"""JSON Lines rendering in the worker processes (``kaohe eval --format jsonl --workers N``).

Rendering a result is as costly as assessing it, so with workers each row is read,
assessed and rendered where it is assessed: the parent only reads lines and writes
the output.  A row yields ``(line, None)`` or ``(None, error entry)`` — the entry as
:func:`~kaohe_rules.batch.items.error_entry` makes it, so the output is the same as
a serial run's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from ..errors import EvaluationError
from ..runtime.jsonline import json_line
from ..unitio import JsonlRecord, UnitRow, jsonl_row
from .items import Assessor, BatchItem, error_entry, rendered
from .pool import DEFAULT_CHUNK, map_units, unit_label


def render_row_jsonl(policy: Assessor, index: int, row: UnitRow) -> tuple[str | None, dict[str, object] | None]:
    """In a worker: the JSON Lines output of one row — ``(line, None)``, or ``(None, error entry)``."""
    if row.unit is None:
        return None, error_entry(row, None)
    item = attrs.evolve(policy.assess_row(row.index, row.unit), location=row.location)
    if item.result is not None:  # rendered here, per row: a result that cannot be rendered is its error row
        line, item = rendered(item, json_line)
        if item.result is not None:
            return line, None
    return None, error_entry(row, item)


def render_row_lost(policy: Assessor, index: int, row: UnitRow, why: str) -> tuple[str | None, dict[str, object] | None]:
    """The error entry of a row no worker could assess (see :func:`map_units`)."""
    if row.unit is None:
        return None, error_entry(row, None)
    label = unit_label(row.unit)
    error = EvaluationError(label, f"not assessed: {why}")
    return None, error_entry(row, BatchItem(row.index, label, None, error, row.location))


def render_rows_jsonl(policy: Assessor, rows: Iterable[UnitRow], workers: int,
                      chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[str | None, dict[str, object] | None]]:
    """``kaohe eval --format jsonl --workers N``: rows rendered in the workers, yielded in order."""
    return map_units(policy, rows, render_row_jsonl, workers=workers, chunk_size=chunk_size, lost=render_row_lost)


def render_record_jsonl(policy: Assessor, index: int, record: JsonlRecord) -> tuple[str | None, dict[str, object] | None]:
    """In a worker: parse one JSON Lines record (:func:`kaohe_rules.unitio.read_jsonl_texts`), then render it."""
    return render_row_jsonl(policy, index, jsonl_row(record))


def render_record_jsonl_bytes(policy: Assessor, index: int, record: JsonlRecord) -> tuple[bytes | None, dict[str, object] | None]:
    """:func:`render_record_jsonl` with the line already UTF-8 encoded, newline included: the parent
    writes the bytes as they come, instead of decoding them from the pickle and encoding them again."""
    line, entry = render_record_jsonl(policy, index, record)
    return (None if line is None else (line + "\n").encode("utf-8")), entry


def render_record_lost(policy: Assessor, index: int, record: JsonlRecord,
                       why: str) -> tuple[bytes | None, dict[str, object] | None]:
    """:func:`render_row_lost` for a JSON Lines record (parsed here: this is the rare path)."""
    _, entry = render_row_lost(policy, index, jsonl_row(record), why)
    return None, entry


def render_records_jsonl(policy: Assessor, records: Iterable[JsonlRecord], workers: int,
                         chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[bytes | None, dict[str, object] | None]]:
    """``kaohe eval units.jsonl --format jsonl --workers N``: lines parsed, assessed and rendered (as
    UTF-8 bytes) in the workers; this process only reads lines and writes the output, so it never
    holds the workers back."""
    return map_units(policy, records, render_record_jsonl_bytes, workers=workers, chunk_size=chunk_size,
                     lost=render_record_lost)


#: Where a JSON Lines record is and which unit it names: (index, location, the id when it is text).
RecordKey = tuple[int, str, "str | None"]


def _key(index: int, record: JsonlRecord) -> RecordKey:
    row = jsonl_row(record)
    unit_id = row.unit.get("id") if row.unit is not None else None
    return row.index, row.location, unit_id if isinstance(unit_id, str) else None


def render_record_keyed(policy: Assessor, index: int,
                        record: JsonlRecord) -> tuple[bytes | None, dict[str, object] | None, RecordKey]:
    """:func:`render_record_jsonl_bytes` and the record's key: the parent, which does not parse
    the lines, refuses a unit id given twice from the keys (as the serial reading does)."""
    row = jsonl_row(record)
    line, entry = render_row_jsonl(policy, index, row)
    unit_id = row.unit.get("id") if row.unit is not None else None
    key = (row.index, row.location, unit_id if isinstance(unit_id, str) else None)
    return (None if line is None else (line + "\n").encode("utf-8")), entry, key


def render_record_keyed_lost(policy: Assessor, index: int, record: JsonlRecord,
                             why: str) -> tuple[bytes | None, dict[str, object] | None, RecordKey]:
    """:func:`render_record_lost` and the record's key."""
    data, entry = render_record_lost(policy, index, record, why)
    return data, entry, _key(index, record)


def render_records_keyed(policy: Assessor, records: Iterable[JsonlRecord], workers: int, chunk_size: int = DEFAULT_CHUNK,
                         ) -> Iterator[tuple[bytes | None, dict[str, object] | None, RecordKey]]:
    """:func:`render_records_jsonl` with each record's key (what ``kaohe eval`` uses)."""
    return map_units(policy, records, render_record_keyed, workers=workers, chunk_size=chunk_size,
                     lost=render_record_keyed_lost)
