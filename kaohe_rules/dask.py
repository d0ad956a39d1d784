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

Both outputs of one call share the evaluation step of the graph: compute them
together (``dask.compute(results, errors)``) and every partition is assessed once.
Nothing here is imported by ``import kaohe_rules``.
"""

from __future__ import annotations

import datetime
import json
import math
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("kaohe_rules.dask needs Dask: pip install 'kaohe_rules[dask]'") from exc

from .batch.spec import PolicySpec, policy_spec
from .errors import EvaluationError, FactError

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
    meta = _empty_tagged()
    collection: Any = frame
    tagged = collection.map_partitions(_assess_frame_partition, policy_spec(policy),
                                  list(facts) if facts is not None else None, meta=meta)
    results = tagged[tagged["ok"]][list(RESULT_COLUMNS)]
    errors = tagged[~tagged["ok"]][list(ERROR_COLUMNS)]
    return results, errors
