"""Assess units beyond one machine with Dask (``pip install kaohe_rules[dask]``).

A compiled policy holds generated functions and is not sent over the wire; what is
shipped to the Dask workers is its *source* (:class:`~kaohe_rules.batch.spec.PolicySpec`:
the policy text, where it came from, its content hash).  Each worker process loads
the policy once, checks the hash and keeps it for every partition it is given.

Two entry points, one per Dask collection:

* :func:`evaluate_bag` — a ``dask.bag.Bag`` of units (mappings as ``evaluate``
  takes them); returns ``(results, errors)``, two bags of plain dictionaries:
  ``result.to_dict()`` per assessed unit, and one error row per unit that could
  not be assessed.
* :func:`evaluate_dataframe` — a ``dask.dataframe.DataFrame`` with one unit per
  row (``id``, ``name``, ``category`` columns and one column per fact, as in a CSV
  unit file: an empty cell omits the fact, a cell starting with ``[``/``{`` is
  JSON, floats are read as the decimal they print as); returns
  ``(results, errors)``, two Dask DataFrames: one summary row per assessed unit
  (:data:`RESULT_COLUMNS`, numbers as exact ``Decimal`` objects) and one row per
  unit that could not be assessed (:data:`ERROR_COLUMNS`).

For a policy with a cohort block (ranks and quotas across the batch, issue #11),
:func:`evaluate_bag_cohort` and :func:`evaluate_dataframe_cohort` run the per-unit
passes per partition and the ranking here, on the gathered rank rows (see the section
at the end).

Both outputs of one call share the evaluation step of the graph: compute them
together (``dask_compute(results, errors)``) and every partition is assessed once.
Nothing here is imported by ``import kaohe_rules``.
"""

from __future__ import annotations

import datetime
import json
import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

try:
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd
    from dask.base import compute as dask_compute
    from dask.delayed import delayed
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("kaohe_rules.dask needs Dask: pip install 'kaohe_rules[dask]'") from exc

from .batch.items import unit_id_of
from .batch.spec import PolicySpec, policy_spec
from .cohort import CohortError, Standings, apply_quotas, rank_rows
from .cohort.stream import provisional_reasons, repeated_id_message
from .columnar.frames import DEFAULT_BATCH_ROWS
from .errors import EvaluationError, FactError
from .runtime.standing import QuotaRow, RankRow

if TYPE_CHECKING:
    from .policy import Policy

RESULT_COLUMNS = ("unit", "name", "category", "score", "total", "band", "rating", "vetoed", "vetoes", "deferred",
                  "consequence", "amount")
ERROR_COLUMNS = ("row", "unit", "error", "problems")
_RESERVED = {"id": "id", "name": "name", "category": "category"}

_POLICIES: dict[str, Policy] = {}
_LOCK = threading.Lock()


def worker_policy(spec: PolicySpec) -> Policy:
    """The policy ``spec`` describes, loaded once per worker process (and checked against its hash)."""
    policy = _POLICIES.get(spec.content_hash)
    if policy is not None:
        return policy
    with _LOCK:
        policy = _POLICIES.get(spec.content_hash)
        if policy is None:
            from .policy import load_source
            from .source import SourceFile

            policy = load_source(SourceFile(spec.name, spec.text), Path(spec.base_dir) if spec.base_dir else None)
            if policy.content_hash != spec.content_hash:
                raise RuntimeError(f"worker loaded policy {policy.content_hash[:12]}, expected {spec.content_hash[:12]}")
            _POLICIES[spec.content_hash] = policy
    return policy


def refuse_ledgers(policy: Policy) -> None:
    """Refuse a policy whose units take events from a shared ledger (issue #16), naming what to use instead.

    A ledger's events are attributed over the whole batch before any unit is assessed, and
    Dask assesses partitions apart: a documented limit (docs/api.md), not a silent empty list.
    """
    if policy.ledgers:
        names = ", ".join(spec.name for spec in policy.ledgers)
        raise TypeError(f"policy {policy.name} takes events from shared ledgers ({names}), attributed over the "
                        "whole batch: Dask cannot assess it partition by partition; use "
                        "policy.evaluate_many(units, ledgers=...) or kaohe_rules.cohort.stream.evaluate_cohort_file("
                        "policy, path, ledgers=...) (one process, the units streamed from the file)")


def _error_row(row: object, exc: FactError | EvaluationError) -> dict[str, Any]:
    problems = [p.to_dict() for p in exc.problems] if isinstance(exc, FactError) else []
    return {"row": row, "unit": exc.unit, "error": str(exc), "problems": json.dumps(problems, ensure_ascii=False)}


# ----------------------------------------------------------------------- bag
def _assess_bag_partition(units: Iterable[Any], spec: PolicySpec, trace: bool) -> list[tuple[bool, dict[str, Any]]]:
    policy = worker_policy(spec)
    out: list[tuple[bool, dict[str, Any]]] = []
    for position, unit in enumerate(units):
        try:
            result = policy.evaluate(unit, trace=trace)
        except (FactError, EvaluationError) as exc:
            out.append((False, _error_row(position, exc)))
        else:
            document = result.to_dict()
            if trace:
                document["trace"] = result.trace.to_dict()
            out.append((True, document))
    return out


def evaluate_bag(policy: Policy, units: db.Bag, *, trace: bool = False) -> tuple[db.Bag, db.Bag]:
    """``(results, errors)`` of a bag of units: ``result.to_dict()`` per unit (with its ``trace`` when
    ``trace=True``), and ``{"row", "unit", "error", "problems"}`` per unit that could not be assessed
    (``row`` is the unit's position in its partition)."""
    refuse_ledgers(policy)
    bag: Any = units  # Dask's own annotations are partial; keep the checker out of them
    tagged = bag.map_partitions(_assess_bag_partition, policy_spec(policy), trace)
    results = tagged.filter(lambda item: item[0]).map(lambda item: item[1])
    errors = tagged.filter(lambda item: not item[0]).map(lambda item: item[1])
    return results, errors


# ----------------------------------------------------------------- dataframe
def cell(value: object) -> object:
    """A DataFrame cell as a raw fact value (None: omit the fact), read like a CSV/XLSX cell."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()  # numpy scalars → Python bool/int/float
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not math.isfinite(value):
            return value  # the engine reports it
        number = Decimal(repr(value))
        return int(number) if number == number.to_integral_value() else number
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0, 0) and value.tzinfo is None:
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[0] in "[{":
            try:
                return json.loads(text, parse_float=Decimal)
            except ValueError:
                return text  # the engine reports a text where a list was expected
        return text
    return value


def row_unit(row: Mapping[str, object], facts: Iterable[str] | None = None) -> dict[str, Any]:
    """The unit one DataFrame row stands for (``id``/``name``/``category`` columns, the rest facts)."""
    unit: dict[str, Any] = {}
    values: dict[str, Any] = {}
    names = set(facts) if facts is not None else None
    for column, raw in row.items():
        value = cell(raw)
        role = _RESERVED.get(str(column).strip().lower())
        if role is not None:
            if value is not None:
                unit[role] = str(value) if role == "id" and isinstance(value, int) else value
            continue
        if value is None or (names is not None and column not in names):
            continue
        values[str(column)] = value
    unit["facts"] = values
    return unit


def _summary(result: Any) -> dict[str, Any]:
    c = result.consequences
    return {"unit": result.unit_id, "name": result.name, "category": result.category, "score": result.score,
            "total": result.total, "band": result.band, "rating": result.rating, "vetoed": result.vetoed,
            "vetoes": ",".join(v.name for v in result.vetoes), "deferred": sum(len(d.items) for d in result.deferred),
            "consequence": c.kind, "amount": c.total}


_TAGGED = tuple(dict.fromkeys(("ok", *RESULT_COLUMNS, *ERROR_COLUMNS)))  # "unit" is in both


def _empty_tagged() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype="object") for name in _TAGGED})
    frame["ok"] = frame["ok"].astype(bool)
    return frame


def _assess_frame_partition(frame: pd.DataFrame, spec: PolicySpec, facts: list[str] | None) -> pd.DataFrame:
    policy = worker_policy(spec)
    rows: list[dict[str, Any]] = []
    records = frame.to_dict("records")
    for index, record in zip(frame.index, records, strict=True):
        unit = row_unit(record, facts)
        try:
            result = policy.evaluate(unit)
        except (FactError, EvaluationError) as exc:
            rows.append({"ok": False, **_error_row(index, exc)})
        else:
            rows.append({"ok": True, **_summary(result)})
    if not rows:
        return _empty_tagged()
    out = pd.DataFrame(rows, columns=list(_TAGGED), index=frame.index).astype("object")
    out["ok"] = out["ok"].astype(bool)
    return out


def evaluate_dataframe(policy: Policy, frame: dd.DataFrame, *,
                       facts: Iterable[str] | None = None) -> tuple[dd.DataFrame, dd.DataFrame]:
    """``(results, errors)`` of a Dask DataFrame of units, partition by partition.

    ``facts`` limits the columns read as facts (default: every column but id, name and
    category).  Results keep the input's index; ``errors.row`` is the index of the row.
    """
    refuse_ledgers(policy)
    meta = _empty_tagged()
    collection: Any = frame
    tagged = collection.map_partitions(_assess_frame_partition, policy_spec(policy),
                                  list(facts) if facts is not None else None, meta=meta)
    results = tagged[tagged["ok"]][list(RESULT_COLUMNS)]
    errors = tagged[~tagged["ok"]][list(ERROR_COLUMNS)]
    return results, errors


# ------------------------------------------------------------------- cohorts
# A policy with a cohort block (issue #11 C) ranks units across the whole batch, so a
# partition cannot be finished alone.  The per-unit passes run per partition, as above;
# between them only the rows the cohort engine needs come back to this process — a
# RankRow per unit, then a QuotaRow when the policy has quotas — and only a few
# partitions at a time (``parallel``), each chunk fed straight into the engine.  The
# compact standings go back to the workers once, as one shared key of the graph.
COHORT_RESULT_COLUMNS = (*RESULT_COLUMNS, "rank", "ranked_count", "unit_count", "provisional")


@attrs.frozen
class _Pass1:
    """What pass 1 of one partition sends back: rank rows, and the rows that are not ranked."""

    count: int
    rank_rows: list[RankRow]
    failed: list[tuple[str | None, int]]  # (category or None, position in the partition)
    duplicates: list[tuple[str, int]]  # (unit id given twice, position in the partition)


def _partition_units(part: Any, facts: list[str] | None, frame: bool) -> list[tuple[object, Any]]:
    """(row label, unit) of a partition: the position in a bag partition, the index of a frame row."""
    if not frame:
        return list(enumerate(part))
    return [(index, row_unit(record, facts)) for index, record in zip(part.index, part.to_dict("records"), strict=True)]


def _category_of(unit: object) -> str | None:
    category = unit.get("category") if isinstance(unit, Mapping) else None
    return category if isinstance(category, str) else None


def _rank_partition(part: Any, spec: PolicySpec, skip: frozenset[str], facts: list[str] | None,
                    frame: bool) -> _Pass1:
    policy = worker_policy(spec)
    out = _Pass1(0, [], [], [])
    units = _partition_units(part, facts, frame)
    for position, (_, unit) in enumerate(units):
        try:
            result = policy.evaluate(unit, provisional=True)
            row = result.rank_row
        except Exception:  # reported by the last pass, which assesses the unit again
            out.failed.append((_category_of(unit), position))
            continue
        if result.unit_id in skip:
            out.duplicates.append((result.unit_id, position))
            out.failed.append((result.category, position))
            continue
        out.rank_rows.append(row)
    return attrs.evolve(out, count=len(units))


def _quota_partition(part: Any, spec: PolicySpec, standings: Standings, skip: frozenset[str],
                     facts: list[str] | None, frame: bool) -> tuple[list[QuotaRow], list[tuple[str | None, int]]]:
    policy = worker_policy(spec)
    rows: list[QuotaRow] = []
    failed: list[tuple[str | None, int]] = []
    for position, (_, unit) in enumerate(_partition_units(part, facts, frame)):
        unit_id = unit_id_of(unit)
        if unit_id in skip or unit_id not in standings:
            continue
        try:
            result = policy.evaluate_in_cohort(unit, standings[unit_id])
            rows.append(QuotaRow(result.unit_id, result.category, result.band_index))
        except Exception:  # fails with its standing: reported by the last pass
            failed.append((_category_of(unit), position))
    return rows, failed


def _chunks(calls: list[Any], parallel: int) -> Iterator[Any]:
    """The computed partitions, ``parallel`` at a time (so only that many are held here at once)."""
    compute: Any = dask_compute  # untyped in Dask
    for start in range(0, len(calls), parallel):
        yield from compute(*calls[start:start + parallel])


def _cohort_standings(policy: Policy, parts: list[Any], facts: list[str] | None, frame: bool,
                      parallel: int) -> tuple[Standings, dict[str, list[int]]]:
    """Passes 1 and 2 over the partitions: the final standings, and every repeated unit id's row numbers."""
    spec = policy.cohort
    assert spec is not None
    source = policy_spec(policy)
    skip: frozenset[str] = frozenset()
    while True:
        failed: dict[str | None, list[int]] = {}
        duplicates: dict[str, list[int]] = {}
        offsets: list[int] = []

        def rank_rows_of(skip: frozenset[str] = skip, failed: dict[str | None, list[int]] = failed,
                         duplicates: dict[str, list[int]] = duplicates,
                         offsets: list[int] = offsets) -> Iterator[RankRow]:
            calls = [delayed(_rank_partition)(part, source, skip, facts, frame) for part in parts]
            offset = 0
            for done in _chunks(calls, parallel):
                offsets.append(offset)
                for category, position in done.failed:
                    failed.setdefault(category, []).append(offset + position + 1)
                for unit_id, position in done.duplicates:
                    duplicates.setdefault(unit_id, []).append(offset + position + 1)
                offset += done.count
                yield from done.rank_rows

        try:
            standings = rank_rows(rank_rows_of(), spec)
            break
        except CohortError as exc:
            if not exc.duplicates or skip:
                raise
            skip = frozenset(exc.duplicates)
    if any(category.quotas for category in spec.categories):
        shared = delayed(standings, pure=True)
        calls = [delayed(_quota_partition)(part, source, shared, skip, facts, frame) for part in parts]

        def quota_rows_of() -> Iterator[QuotaRow]:
            for number, (rows, bad) in enumerate(_chunks(calls, parallel)):
                for category, position in bad:
                    failed.setdefault(category, []).append(offsets[number] + position + 1)
                yield from rows

        standings = apply_quotas(quota_rows_of(), standings, spec)
    reasons = provisional_reasons(failed, standings.categories)
    return (standings.with_provisional(reasons) if reasons else standings), duplicates


def _final_units(part: Any, spec: PolicySpec, standings: Standings, duplicates: Mapping[str, list[int]],
                 trace: bool, facts: list[str] | None, frame: bool) -> Iterator[tuple[object, Any, Any]]:
    """(row label, unit, result or error) of the last pass over one partition."""
    policy = worker_policy(spec)
    for label, unit in _partition_units(part, facts, frame):
        unit_id = unit_id_of(unit)
        if unit_id in duplicates:
            yield label, unit, EvaluationError(unit_id, repeated_id_message(unit_id, duplicates[unit_id]))
            continue
        try:
            if unit_id in standings:
                yield label, unit, policy.evaluate_in_cohort(unit, standings[unit_id], trace=trace)
            else:  # it failed alone: assessed alone again, for its error
                yield label, unit, policy.evaluate(unit, trace=trace, provisional=True)
        except (FactError, EvaluationError) as exc:
            yield label, unit, exc


def _final_bag_partition(part: Iterable[Any], spec: PolicySpec, standings: Standings,
                         duplicates: Mapping[str, list[int]], trace: bool) -> list[tuple[bool, dict[str, Any]]]:
    out: list[tuple[bool, dict[str, Any]]] = []
    for label, _, outcome in _final_units(part, spec, standings, duplicates, trace, None, False):
        if isinstance(outcome, (FactError, EvaluationError)):
            out.append((False, _error_row(label, outcome)))
        else:
            document = outcome.to_dict()
            if trace:
                document["trace"] = outcome.trace.to_dict()
            out.append((True, document))
    return out


def evaluate_bag_cohort(policy: Policy, units: db.Bag, *, trace: bool = False,
                        parallel: int = 8) -> tuple[db.Bag, db.Bag]:
    """:func:`evaluate_bag` for a policy with a cohort block: every unit ranked in the whole bag.

    Passes 1 (and 2, with quotas) run now, ``parallel`` partitions at a time, and feed the
    cohort engine here; the bags returned assess each partition a last time with the
    standings (the bag is read once per pass: build it from a re-readable source).  The
    result documents carry ``standing`` and ``provisional``; error rows as
    :func:`evaluate_bag`'s, plus one per row of a unit id given twice.
    """
    refuse_ledgers(policy)
    if policy.cohort is None:
        return evaluate_bag(policy, units, trace=trace)
    bag: Any = units
    standings, duplicates = _cohort_standings(policy, list(bag.to_delayed()), None, False, parallel)
    tagged = bag.map_partitions(_final_bag_partition, policy_spec(policy), delayed(standings, pure=True),
                                duplicates, trace)
    results = tagged.filter(lambda item: item[0]).map(lambda item: item[1])
    errors = tagged.filter(lambda item: not item[0]).map(lambda item: item[1])
    return results, errors


_COHORT_TAGGED = tuple(dict.fromkeys(("ok", *COHORT_RESULT_COLUMNS, *ERROR_COLUMNS)))


def _empty_cohort_tagged() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype="object") for name in _COHORT_TAGGED})
    frame["ok"] = frame["ok"].astype(bool)
    return frame


def _final_frame_partition(frame: pd.DataFrame, spec: PolicySpec, standings: Standings,
                           duplicates: Mapping[str, list[int]], facts: list[str] | None) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for label, _, outcome in _final_units(frame, spec, standings, duplicates, False, facts, True):
        if isinstance(outcome, (FactError, EvaluationError)):
            rows.append({"ok": False, **_error_row(label, outcome)})
        else:
            standing = outcome.standing
            rows.append({"ok": True, **_summary(outcome), "rank": standing.rank if standing else None,
                         "ranked_count": standing.ranked_count if standing else None,
                         "unit_count": standing.unit_count if standing else None,
                         "provisional": outcome.provisional})
    if not rows:
        return _empty_cohort_tagged()
    out = pd.DataFrame(rows, columns=list(_COHORT_TAGGED), index=frame.index, dtype="object")  # no NaN for None
    out["ok"] = out["ok"].astype(bool)
    return out


def evaluate_dataframe_cohort(policy: Policy, frame: dd.DataFrame, *, facts: Iterable[str] | None = None,
                              parallel: int = 8) -> tuple[dd.DataFrame, dd.DataFrame]:
    """:func:`evaluate_dataframe` for a policy with a cohort block: one summary row per unit with its
    ``rank``, ``ranked_count``, ``unit_count`` and ``provisional`` (:data:`COHORT_RESULT_COLUMNS`).

    Passes as :func:`evaluate_bag_cohort`'s (the frame is read once per pass).
    """
    refuse_ledgers(policy)
    if policy.cohort is None:
        return evaluate_dataframe(policy, frame, facts=facts)
    collection: Any = frame
    names = list(facts) if facts is not None else None
    standings, duplicates = _cohort_standings(policy, list(collection.to_delayed()), names, True, parallel)
    tagged = collection.map_partitions(_final_frame_partition, policy_spec(policy),
                                       delayed(standings, pure=True), duplicates, names,
                                       meta=_empty_cohort_tagged())
    results = tagged[tagged["ok"]][list(COHORT_RESULT_COLUMNS)]
    errors = tagged[~tagged["ok"]][list(ERROR_COLUMNS)]
    return results, errors


# ------------------------------------------------------------- the results table (issue #13)
def _table_meta(policy: Policy) -> pd.DataFrame:
    """The empty results table (pyarrow-backed pandas columns: Decimal(38, 6)/(38, 2), never a float)."""
    import polars as pl

    from .columnar.results import result_columns

    return pl.DataFrame(schema=result_columns(policy.checked).schema()).to_pandas(use_pyarrow_extension_array=True)


def _table_partition(partition: pd.DataFrame, spec: PolicySpec, batch_rows: int) -> pd.DataFrame:
    from .columnar.engine import evaluate_table

    policy = worker_policy(spec)
    results = evaluate_table(policy, partition.reset_index(drop=True), batch_rows=batch_rows, warn=False)
    out = results.to_pandas(use_pyarrow_extension_array=True)
    out.index = partition.index  # each results row beside its input row
    return out


def evaluate_table_dataframe(policy: Policy, frame: dd.DataFrame, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> dd.DataFrame:
    """The results table of a Dask DataFrame of units: ``policy.evaluate_table`` run per partition.

    Each partition (a pandas DataFrame: ``id``, ``name``, ``category``, one column per fact, lists of
    records as lists of dicts) is read exactly as ``policy.evaluate_table(partition)`` reads it — the
    columnar engine where the policy allows, the per-unit evaluator for every other row — and gives
    one results row per input row, on the input row's index; the columns are the results table's
    (:mod:`kaohe_rules.columnar.results`, pyarrow-backed: decimals stay exact).  A construct the
    columnar compiler does not vectorise is named once, here, in a ``ColumnarFallbackWarning``.

    A policy decided over the whole batch cannot be split into partitions: a cohort (use
    :func:`evaluate_dataframe_cohort`) or shared ledgers (refused by :func:`refuse_ledgers`).
    """
    import warnings

    from .columnar.engine import table_support
    from .errors import ColumnarFallbackWarning

    refuse_ledgers(policy)
    if policy.cohort is not None:
        raise TypeError(f"policy {policy.name} ranks its units across the batch (a cohort block): the results "
                        "table cannot be made partition by partition; use evaluate_dataframe_cohort(policy, frame)")
    support = table_support(policy)
    if support.fallbacks:
        warnings.warn(ColumnarFallbackWarning(support.message()), stacklevel=2)
    data: Any = frame  # Dask's own annotations are partial; keep the checker out of them
    result: dd.DataFrame = data.map_partitions(_table_partition, policy_spec(policy), batch_rows,
                                               meta=_table_meta(policy))
    return result
