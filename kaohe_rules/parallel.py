"""Process-parallel batches: ``evaluate_many(units, workers=N)``, ordered and streamed.

Units are read from the input iterator in chunks; at most a few chunks per worker
are in flight at any time, so a batch of a million units streamed from a file is
never held in memory, and results come back in input order however the workers
finish.  A list of units given where ``fork`` is available is not sent at all: the
forked workers inherit it and each takes every N-th chunk.  Every unit yields one
:class:`~kaohe_rules.policy.BatchItem` — with its result, or with the
:class:`~kaohe_rules.errors.FactError` /
:class:`~kaohe_rules.errors.EvaluationError` that kept it from being assessed — so
no row is lost.  A failure of the engine itself in a worker, or a worker that dies,
raises :class:`~kaohe_rules.errors.KaoheError` in the parent.

Workers need the compiled policy.  Where the platform can ``fork`` a process with a
single thread, the workers inherit the parent's policy as it is (nothing is sent
or compiled again); otherwise each worker loads the policy from its source text
(``forkserver``/``spawn``) and checks that the content hash matches.  A worker
sends back the raw result tuple (plain data: Decimals, dates, tuples, dicts); the
parent wraps it in a :class:`~kaohe_rules.Result` bound to its own policy, and
produces the coerced facts itself only if someone asks for them, so results are
indistinguishable from serial ones.

``map_units`` is the general form: it applies a picklable function to every unit in
the workers and yields the function's values in order (the CLI uses it to render
JSON Lines in the workers).  Shipping a result costs the parent about a third of
evaluating it, so on few cores parallelism pays only when the per-unit work done in
the workers is larger than the assessment (see docs/performance.md).
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .errors import EvaluationError, FactError, FactProblem, KaoheError

if TYPE_CHECKING:
    from .policy import BatchItem, Policy

T = TypeVar("T")
UnitFunction = Callable[["Policy", int, Any], T]

DEFAULT_CHUNK = 64
IN_FLIGHT_PER_WORKER = 4
PARENT_SHARES_UP_TO = 4  # map_units(local=...): the parent computes a share with at most this many workers

# The policy a worker evaluates with; set in the parent before forking (inherited)
# or by the initializer from the policy's source text.
_WORKER_POLICY: Policy | None = None
_INHERITED: dict[str, Policy] = {}


@attrs.frozen
class PolicySpec:
    """What a fresh worker process needs to rebuild the policy: its text and where it came from."""

    name: str
    text: str
    base_dir: str | None
    content_hash: str


def policy_spec(policy: Policy) -> PolicySpec:
    source = policy.checked.header.span.source
    path = Path(source.name)
    base_dir = str(path.parent) if source.name != "<policy>" and path.is_file() else None
    return PolicySpec(source.name, source.text, base_dir, policy.content_hash)


def _init_worker(spec: PolicySpec) -> None:
    global _WORKER_POLICY
    inherited = _INHERITED.get(spec.content_hash)
    if inherited is not None:
        _WORKER_POLICY = inherited
        return
    from .policy import load_source
    from .source import SourceFile

    policy = load_source(SourceFile(spec.name, spec.text), Path(spec.base_dir) if spec.base_dir else None)
    if policy.content_hash != spec.content_hash:
        raise KaoheError(f"worker loaded policy {policy.content_hash[:12]}, expected {spec.content_hash[:12]} "
                         "(did a file it extends change?)")
    _WORKER_POLICY = policy


def _run_chunk(function: UnitFunction[T], start: int, units: list[Any]) -> bytes:
    """The values of a chunk, pickled here: the parent unpickles them where it yields them, not in
    the executor's bookkeeping thread (one pickle per chunk either way, less contention)."""
    policy = _WORKER_POLICY
    assert policy is not None, "worker not initialised"
    values = [function(policy, start + offset, unit) for offset, unit in enumerate(units)]
    return pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)


def _context() -> multiprocessing.context.BaseContext:
    """fork when it is safe (one thread, POSIX): workers then inherit the compiled policy."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def map_units(policy: Policy, units: Iterable[Any], function: UnitFunction[T], *, workers: int | None = None,
              chunk_size: int = DEFAULT_CHUNK, local: UnitFunction[T] | None = None) -> Iterator[T]:
    """``function(policy, index, unit)`` for every unit, computed in ``workers`` processes, yielded in input order.

    ``function`` must be picklable (a module-level function).  Memory stays bounded:
    at most ``workers * IN_FLIGHT_PER_WORKER`` chunks of ``chunk_size`` units are
    pending at any time.

    With ``local`` (same meaning as ``function``, but free to return values that could
    not cross a process boundary, such as a Result bound to ``policy``), this process
    is one of the ``workers``: it computes every ``workers``-th chunk itself and
    ``workers - 1`` child processes do the rest.  An assessment costs little more
    than shipping its result, so on few cores a parent that only waits and unpickles
    wastes a core; beyond :data:`PARENT_SHARES_UP_TO` workers, reading the others'
    results in order is work enough for it, and it computes nothing itself.
    """
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if local is not None and workers > PARENT_SHARES_UP_TO:
        local = None
    if local is not None and workers == 1:
        yield from (local(policy, index, unit) for index, unit in enumerate(units))
        return
    spec = policy_spec(policy)
    context = _context()
    if isinstance(units, (list, tuple)) and context.get_start_method() == "fork":
        yield from _map_forked_sequence(policy, units, function, workers, chunk_size, context, local)
        return
    _INHERITED[policy.content_hash] = policy  # seen by forked workers only
    iterator = iter(units)
    # a Future of a child's pickled values, or (start, chunk) that this process computes itself
    pending: collections.deque[Future[bytes] | tuple[int, list[Any]]] = collections.deque()
    children = workers - 1 if local is not None else workers
    pool = ProcessPoolExecutor(max_workers=children, mp_context=context, initializer=_init_worker, initargs=(spec,))
    try:
        start = 0
        number = 0
        exhausted = False
        while True:
            while not exhausted and len(pending) < workers * IN_FLIGHT_PER_WORKER:
                chunk = list(itertools.islice(iterator, chunk_size))
                if not chunk:
                    exhausted = True
                    break
                if local is not None and number % workers == 0:
                    pending.append((start, chunk))
                else:
                    pending.append(pool.submit(_run_chunk, function, start, chunk))
                start += len(chunk)
                number += 1
            if not pending:
                break
            entry = pending.popleft()
            if isinstance(entry, tuple):
                assert local is not None
                first, own = entry
                yield from [local(policy, first + offset, unit) for offset, unit in enumerate(own)]
                continue
            try:
                data = entry.result()
            except BrokenProcessPool as exc:
                raise KaoheError(f"a worker process died while assessing units ({exc}); "
                                 "no results after this point") from None
            except Exception as exc:  # an engine bug in a worker: reported as the fork path reports it
                raise KaoheError(f"a worker process failed while assessing units ({type(exc).__name__}: {exc})") from exc
            values: list[T] = pickle.loads(data)  # noqa: S301 - from our own worker processes
            yield from values
    finally:
        # also when the consumer stops early: drop what is queued, wait only for what runs
        pool.shutdown(wait=True, cancel_futures=True)
        _INHERITED.pop(policy.content_hash, None)


def _forked_worker(policy: Policy, function: UnitFunction[T], units: Sequence[Any], first: int, step: int,
                   chunk_size: int, conn: Any) -> None:
    """In a forked child: chunks first, first+step, ... of the inherited list, each sent back pickled."""
    try:
        for start in range(first * chunk_size, len(units), step * chunk_size):
            end = min(start + chunk_size, len(units))
            values = [function(policy, index, units[index]) for index in range(start, end)]
            conn.send_bytes(pickle.dumps((True, values), protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        conn.send_bytes(pickle.dumps((False, f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def _map_forked_sequence(policy: Policy, units: Sequence[Any], function: UnitFunction[T], workers: int,
                         chunk_size: int, context: Any, local: UnitFunction[T] | None) -> Iterator[T]:
    """The fork fast path for a list: the children inherit the policy and the units, take every
    ``workers``-th chunk and pipe the pickled values back; the parent reads the chunks in order,
    round robin, computing its own share (slot 0, with ``local``) when it reaches it.  Nothing is
    fed to the workers, and a full pipe holds a worker back, so memory stays bounded and no
    bookkeeping thread competes with the consumer."""
    chunks = -(-len(units) // chunk_size)
    count = min(workers, chunks)
    if count < 2 and local is not None:  # one chunk: nothing to share
        yield from (local(policy, index, unit) for index, unit in enumerate(units))
        return
    own = 1 if local is not None else 0  # slots below this one are the parent's
    processes: list[Any] = []
    readers: list[Any] = []
    try:
        for first in range(own, count):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(target=_forked_worker, daemon=True,
                                      args=(policy, function, units, first, count, chunk_size, writer))
            process.start()
            writer.close()
            processes.append(process)
            readers.append(reader)
        for chunk in range(chunks):
            slot = chunk % count
            if slot < own:
                assert local is not None
                begin = chunk * chunk_size
                yield from [local(policy, index, units[index])
                            for index in range(begin, min(begin + chunk_size, len(units)))]
                continue
            try:
                ok, values = pickle.loads(readers[slot - own].recv_bytes())  # noqa: S301 - our own child
            except EOFError:
                raise KaoheError("a worker process died while assessing units; no results after this point") from None
            if not ok:
                raise KaoheError(f"a worker process failed while assessing units ({values})")
            yield from values
    finally:
        for reader in readers:
            reader.close()
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


# ------------------------------------------------------------- assessing
def assess_here(policy: Policy, index: int, unit: Any, trace: bool = False) -> tuple[Any, ...]:
    """Evaluate one unit: ``("result", Result)``, or the error as plain data (``"fact"``/``"evaluation"``).

    Used as it is where this process assesses a unit itself; :func:`assess_payload`
    turns it into what a worker sends back.
    """
    try:
        result = policy.evaluate(unit, trace=trace)
    except FactError as exc:
        return ("fact", exc.unit, exc.problems)
    except EvaluationError as exc:
        return ("evaluation", exc.unit, exc.where, str(exc))
    return ("result", result)


def assess_payload(policy: Policy, index: int, unit: Any, trace: bool = False) -> tuple[Any, ...]:
    """Evaluate one unit in a worker; plain data the parent turns back into a BatchItem.

    Without tracing only the raw result travels (the coerced facts are most of a
    result's size, and the parent can produce them itself if anyone asks); with
    tracing the facts go too, in the same pickle as the events that point into them.
    """
    payload = assess_here(policy, index, unit, trace)
    if payload[0] != "result":
        return payload
    result = payload[1]
    facts = result.facts if trace else None
    return ("ok", result.unit_id, result.name, result.category, facts, result._raw, result._trace_events)


def assess_here_traced(policy: Policy, index: int, unit: Any) -> tuple[Any, ...]:
    return assess_here(policy, index, unit, trace=True)


def assess_payload_traced(policy: Policy, index: int, unit: Any) -> tuple[Any, ...]:
    return assess_payload(policy, index, unit, trace=True)


_PENDING: Any = object()
_REMOTE: list[type[Any]] = []


def _remote_result_class() -> type[Any]:
    """A Result assessed in a worker whose facts are produced here on first use.

    Asking for ``facts`` (directly, or through ``trace``/``explain`` or the audit tools)
    assesses the unit again in this process and adopts that raw result too, so the
    facts and the records the result points to are the same objects, as in a serial
    result.  The values are identical: evaluation is deterministic.
    """
    if _REMOTE:
        return _REMOTE[0]
    from .runtime.result import Result

    class RemoteResult(Result):
        __slots__ = ("_unit",)
        _unit: Any

        @property
        def facts(self) -> dict[str, object]:
            if self._facts is _PENDING:  # type: ignore[has-type]
                local = self._policy.evaluate(self._unit)
                self._raw = local._raw
                self._facts = local.facts
                self._unit = None
            return Result.facts.fget(self)  # type: ignore[attr-defined,no-any-return]

    _REMOTE.append(RemoteResult)
    return RemoteResult


def batch_item(policy: Policy, index: int, payload: tuple[Any, ...], unit: Any,
               location: str | None = None) -> BatchItem:
    """The BatchItem a payload from :func:`assess_payload` stands for, bound to ``policy``."""
    from .policy import BatchItem
    from .runtime.result import Result

    kind = payload[0]
    if kind == "result":  # assessed in this process (assess_here)
        return BatchItem(index, payload[1].unit_id, payload[1], None, location)
    if kind == "ok":
        _, unit_id, name, category, facts, raw, events = payload
        plan = policy.checked.plans[category]
        if facts is None:
            result = _remote_result_class()(policy, plan, raw, unit_id, name, category, _PENDING, events)
            result._unit = unit
        else:
            result = Result(policy, plan, raw, unit_id, name, category, facts, events)
        return BatchItem(index, unit_id, result, None, location)
    if kind == "fact":
        problems: tuple[FactProblem, ...] = payload[2]
        return BatchItem(index, payload[1], None, FactError(payload[1], problems), location)
    error = EvaluationError.__new__(EvaluationError)
    error.unit, error.where = payload[1], payload[2]
    Exception.__init__(error, payload[3])
    return BatchItem(index, payload[1], None, error, location)


def evaluate_many(policy: Policy, units: Iterable[Mapping[str, object]], *, workers: int | None = None,
                  trace: bool = False, chunk_size: int = DEFAULT_CHUNK) -> Iterator[BatchItem]:
    """Assess units in ``workers`` processes; one BatchItem per unit, in input order, streamed."""
    function = assess_payload_traced if trace else assess_payload
    here = assess_here_traced if trace else assess_here
    if isinstance(units, (list, tuple)):  # indexable: map_units may share it with forked workers
        for index, payload in enumerate(map_units(policy, units, function, workers=workers, chunk_size=chunk_size,
                                                  local=here)):
            yield batch_item(policy, index, payload, units[index])
        return
    kept: collections.deque[Any] = collections.deque()  # units in flight (bounded), for facts on demand

    def remember(units: Iterable[Any]) -> Iterator[Any]:
        for unit in units:
            kept.append(unit)
            yield unit

    for index, payload in enumerate(map_units(policy, remember(units), function, workers=workers,
                                              chunk_size=chunk_size, local=here)):
        yield batch_item(policy, index, payload, kept.popleft())


# --------------------------------------------------------------- CLI rows
def assess_row_payload(policy: Policy, index: int, row: Any) -> tuple[Any, ...] | None:
    """:func:`assess_payload` for a row of a unit file (None for an unreadable row)."""
    return None if row.unit is None else assess_payload(policy, index, row.unit)


def assess_rows(policy: Policy, rows: Iterable[Any], workers: int,
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[Any, BatchItem | None]]:
    """``(row, BatchItem or None)`` for the rows of a unit file, as ``kaohe eval`` assesses them, in order."""
    kept: collections.deque[Any] = collections.deque()

    def remember(rows: Iterable[Any]) -> Iterator[Any]:
        for row in rows:
            kept.append(row)
            yield row

    # the parent reads (parses) the rows and renders the report: work enough, it assesses none itself
    for payload in map_units(policy, remember(rows), assess_row_payload, workers=workers, chunk_size=chunk_size):
        row = kept.popleft()
        yield row, (None if payload is None else batch_item(policy, row.index, payload, row.unit, row.location))


def render_row_jsonl(policy: Policy, index: int, row: Any) -> tuple[str | None, dict[str, object] | None]:
    """In a worker: the JSON Lines output of one row — ``(line, None)``, or ``(None, error entry)``."""
    import json

    from .cli import _error_entry
    from .policy import BatchItem

    if row.unit is None:
        return None, _error_entry(row, None)
    try:
        result = policy.evaluate(row.unit)
    except KaoheError as exc:
        return None, _error_entry(row, BatchItem(row.index, getattr(exc, "unit", None), None, exc, row.location))
    return json.dumps(result.to_dict(), ensure_ascii=False), None


def render_rows_jsonl(policy: Policy, rows: Iterable[Any], workers: int,
                      chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[str | None, dict[str, object] | None]]:
    """``kaohe eval --format jsonl --workers N``: rows rendered in the workers, yielded in order."""
    return map_units(policy, rows, render_row_jsonl, workers=workers, chunk_size=chunk_size)


def render_record_jsonl(policy: Policy, index: int, record: Any) -> tuple[str | None, dict[str, object] | None]:
    """In a worker: parse one JSON Lines record (:func:`kaohe_rules.unitio.read_jsonl_texts`), then render it."""
    from .unitio import jsonl_row

    return render_row_jsonl(policy, index, jsonl_row(record))


def render_record_jsonl_bytes(policy: Policy, index: int, record: Any) -> tuple[bytes | None, dict[str, object] | None]:
    """:func:`render_record_jsonl` with the line already UTF-8 encoded, newline included: the parent
    writes the bytes as they come, instead of decoding them from the pickle and encoding them again."""
    line, entry = render_record_jsonl(policy, index, record)
    return (None if line is None else (line + "\n").encode("utf-8")), entry


def render_records_jsonl(policy: Policy, records: Iterable[Any], workers: int,
                         chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[bytes | None, dict[str, object] | None]]:
    """``kaohe eval units.jsonl --format jsonl --workers N``: lines parsed, assessed and rendered (as
    UTF-8 bytes) in the workers; this process only reads lines and writes the output, so it never
    holds the workers back."""
    return map_units(policy, records, render_record_jsonl_bytes, workers=workers, chunk_size=chunk_size)
