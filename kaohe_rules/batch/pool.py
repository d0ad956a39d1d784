"""Process-parallel batches: ``evaluate_many(units, workers=N)``, ordered and streamed.

Units are read from the input iterator in chunks; at most a few chunks per worker
are in flight at any time, so a batch of a million units streamed from a file is
never held in memory, and results come back in input order however the workers
finish.  A list of units given where ``fork`` is available is not sent at all: the
forked workers inherit it, each is told once which chunks are its own (every N-th),
and each runs ahead on its own until its result pipe is full.

**Every unit yields exactly one value, in input order** — for ``evaluate_many`` one
:class:`~kaohe_rules.batch.items.BatchItem`, the same as one process gives: its result,
or the :class:`~kaohe_rules.errors.FactError` /
:class:`~kaohe_rules.errors.EvaluationError` that kept it from being assessed.  What
can go wrong with processes costs one row at most, never the batch:

* a unit that cannot be pickled (a lambda, a lock as a fact value), or that a worker
  cannot unpickle, or whose result cannot be pickled back, is assessed here, in the
  parent, exactly as one process assesses it;
* a worker that dies (killed, out of memory, ``os._exit`` from a hostile
  ``__reduce__``) is replaced; the chunk it was assessing is assessed again one unit
  at a time in a fresh worker, so only a unit that kills its worker again — or runs
  out of memory — becomes an error row (an EvaluationError saying so), and the chunks
  it held but had not started go to the fresh worker untouched.

A failure of the engine itself in a worker (an exception other than a kaohe error or
MemoryError) still stops the batch with a :class:`~kaohe_rules.errors.KaoheError`.

**Workers never outlive the batch or the parent.**  When the consumer stops early
(``break``, ``close()``), or anything raises — KeyboardInterrupt included — the
workers are terminated at once (SIGTERM, then SIGKILL), not waited for: a worker
deep in a slow unit does not hold the parent back.  A parent that is killed takes
its workers with it: on Linux a worker asks the kernel for SIGTERM when its parent
dies (``PR_SET_PDEATHSIG``), and everywhere a thread in the worker exits the process
when the pipe its tasks come through reaches end-of-file, which happens when the
parent is gone.  Workers ignore SIGINT: Ctrl-C interrupts the parent, which stops
them.

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
import queue
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as _wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import EvaluationError, FactError, KaoheError
from ..language.model import CategoryPlan
from ..limits import MAX_WORKER_DEATHS
from ..runtime.program import RawEvent
from ..runtime.result import Result
from .items import Assessor, BatchItem, unit_id_of
from .spec import PolicySpec, policy_spec

if TYPE_CHECKING:
    from ..unitio import UnitRow

T = TypeVar("T")
UnitFunction = Callable[[Assessor, int, Any], T]
#: ``lost(policy, index, unit, why)``: the value for a unit no worker could assess (``why`` says what happened).
LostFunction = Callable[[Assessor, int, Any, str], T]

DEFAULT_CHUNK = 64
IN_FLIGHT_PER_WORKER = 4
PARENT_SHARES_UP_TO = 4  # map_units(local=...): the parent computes a share with at most this many workers
#: Seconds workers are given to exit once their batch is over, before they are killed.
STOP_GRACE = 2.0

# Linux: a worker asks for SIGTERM when its parent dies.  A switch so the tests can
# check the portable fallback (end-of-file on the task pipe) on its own.
_PDEATHSIG = sys.platform.startswith("linux")
_PR_SET_PDEATHSIG = 1
_HIGHEST = pickle.HIGHEST_PROTOCOL


def _load_spec(loader: Callable[[PolicySpec], Assessor], spec: PolicySpec) -> Assessor:
    """In a worker: the policy loaded from its source by ``loader`` (the parent's ``policy.from_spec``)."""
    policy = loader(spec)
    if policy.content_hash != spec.content_hash:
        raise KaoheError(f"worker loaded policy {policy.content_hash[:12]}, expected {spec.content_hash[:12]} "
                         "(did a file it extends change?)")
    return policy


def _context() -> multiprocessing.context.BaseContext:
    """fork when it is safe (one thread, POSIX): workers then inherit the compiled policy."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _described(exc: BaseException) -> str:
    """``Type: message`` of an exception from a worker, bounded (its text is not ours to trust)."""
    try:
        text = str(exc)
    except Exception:  # a hostile __str__
        text = "?"
    if len(text) > 500:
        text = text[:500] + "…"
    return f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------- workers
def _die_with_parent(parent: int | None, deathsig: bool) -> None:
    """Make this worker die when the process that started it dies.

    ``parent`` is that process's pid when it is this worker's parent (fork, spawn; with
    forkserver the parent is the server, and the task pipe is the only lifeline).  The
    kernel sends PR_SET_PDEATHSIG's signal when the *thread* that forked the worker
    ends, so it is asked for only when that was the main thread (``deathsig``).
    """
    if parent is None:
        return
    if deathsig and _PDEATHSIG:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl here: the task pipe still ends the worker
            pass
    if os.getppid() != parent:  # the parent died before (or while) this worker started
        os._exit(0)


def _read_tasks(tasks: Connection, inbox: queue.SimpleQueue[bytes]) -> None:
    """In a worker thread: pass on the parent's tasks; at end-of-file, end the worker.

    End-of-file means the parent closed the pipe (the batch is over or stopped) or died;
    either way nothing this worker computes is wanted any more, so it exits at once,
    even in the middle of a unit.  Reading in a thread also keeps the parent from ever
    blocking on a full pipe while the worker blocks on sending its results.
    """
    try:
        while True:
            inbox.put(tasks.recv_bytes())
    except BaseException:  # noqa: BLE001, S110 - EOFError or OSError: the parent is gone or done
        pass
    os._exit(0)


def _worker_main(policy: Assessor | tuple[Callable[[PolicySpec], Assessor], PolicySpec], function: UnitFunction[Any],
                 units: Sequence[Any] | None, tasks: Connection, results: Connection, parent: int | None,
                 deathsig: bool, inherited: Sequence[Connection]) -> None:
    """A worker process: assess the tasks read from ``tasks``, in order, and send each task's values back."""
    for conn in inherited:  # the parent's ends of every pipe (a forked worker holding them would hide an EOF)
        conn.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler inherited from the parent program
    _die_with_parent(parent, deathsig)
    inbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    threading.Thread(target=_read_tasks, args=(tasks, inbox), daemon=True).start()
    try:
        if isinstance(policy, tuple):  # (loader, spec): not inherited, loaded here from its source
            policy = _load_spec(*policy)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        message = str(exc) if isinstance(exc, KaoheError) else f"a worker could not load the policy ({_described(exc)})"
        results.send_bytes(pickle.dumps(("fatal", message)))
        os._exit(1)
    while True:
        try:
            start, rows = pickle.loads(inbox.get())  # noqa: S301 - from our own parent
        except Exception as exc:  # noqa: BLE001 - a unit that does not unpickle here: the parent assesses the task
            _reply(results, pickle.dumps(("unreadable", _described(exc)), _HIGHEST))
            continue
        if start is not None:  # a chunk of units sent by the parent
            _reply(results, _run_task(policy, function, start, rows))
            continue
        assert units is not None
        ranges, stride_from, step, size = rows  # a plan over the inherited list: no message per chunk
        for first, end in ranges:
            _reply(results, _run_task(policy, function, first, units[first:end]))
        for first in range(stride_from, len(units), step):
            _reply(results, _run_task(policy, function, first, units[first:first + size]))


def _reply(results: Connection, data: bytes) -> None:
    try:
        results.send_bytes(data)
    except OSError:  # the parent is gone
        os._exit(0)


def _run_task(policy: Assessor, function: UnitFunction[Any], start: int, rows: Sequence[Any]) -> bytes:
    """The pickled values of units ``start``... (``rows``): ``("ok", values, lost, here)``, or why there are none.

    ``lost`` maps offsets of units that ran out of memory to why; ``here`` lists the
    offsets of values that could not be pickled (the parent computes those itself).
    """
    values: list[Any] = []
    lost: dict[int, str] | None = None
    try:
        for offset, unit in enumerate(rows):
            try:
                values.append(function(policy, start + offset, unit))
            except MemoryError:
                values.append(None)
                lost = lost or {}
                lost[offset] = "the worker process assessing it ran out of memory"
    except Exception as exc:  # noqa: BLE001 - an engine bug: the parent raises it as a KaoheError
        return pickle.dumps(("failed", _described(exc)), _HIGHEST)
    try:
        return pickle.dumps(("ok", values, lost, None), _HIGHEST)
    except Exception:  # noqa: BLE001 - some value does not pickle: those are computed in the parent
        here = []
        for offset, value in enumerate(values):
            try:
                pickle.dumps(value, _HIGHEST)
            except Exception:  # noqa: BLE001
                values[offset] = None
                here.append(offset)
        try:
            return pickle.dumps(("ok", values, lost, here), _HIGHEST)
        except Exception as exc:  # noqa: BLE001 - the values pickle one by one but not together
            return pickle.dumps(("unreadable", _described(exc)), _HIGHEST)


# ------------------------------------------------------------ the parent
class _Task:
    """Units ``start`` to ``end`` of the batch, assessed by ``worker`` (None: by this process)."""

    __slots__ = ("start", "end", "rows", "worker")

    def __init__(self, start: int, end: int, rows: list[Any] | None, worker: _Worker | None = None) -> None:
        self.start = start
        self.end = end
        self.rows = rows  # the units (None where the workers inherited them)
        self.worker = worker


class _Worker:
    """A worker process, the parent's ends of its two pipes, and the tasks it holds, oldest first."""

    __slots__ = ("process", "tasks", "results", "held", "poller")

    def __init__(self, process: BaseProcess, tasks: Connection, results: Connection) -> None:
        self.process = process
        self.tasks = tasks
        self.results = results
        self.held: collections.deque[_Task] = collections.deque()
        # waits for a result or the worker's exit in one system call (a new selector per chunk costs ~20 µs)
        self.poller: Any = None
        if hasattr(select, "poll"):
            self.poller = select.poll()
            self.poller.register(results.fileno(), select.POLLIN)
            self.poller.register(process.sentinel, select.POLLIN)


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "it did not exit"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class _Pool:
    """The worker processes of one batch.

    Invariant that keeps results in order without tagging them: each worker assesses
    its tasks in the order it was given them, and the parent collects tasks in input
    order, so the oldest task a worker holds is always the next message on its pipe.

    Units read from an iterator are sent a chunk at a time to the worker holding
    fewest tasks.  Workers that inherited a list (fork) are sent a *plan* instead —
    "chunks k, k + slots, k + 2 slots, ...", after any ranges left by a dead worker —
    and run ahead on their own until their result pipe is full: no message and no
    wake-up per chunk.  Tasks taken from a dead worker go, in order, to a fresh worker
    that holds nothing else (for a list, the one taking over its slot).
    """

    def __init__(self, policy: Assessor, function: UnitFunction[T], context: Any, size: int,
                 units: Sequence[Any] | None, here: UnitFunction[T], lost: LostFunction[T] | None,
                 slots: int = 1, chunk_size: int = DEFAULT_CHUNK) -> None:
        self.policy = policy
        self.function = function
        self.context = context
        self.size = size
        self.units = units  # the list the (forked) workers inherit, or None: tasks carry their units
        self.slots = slots  # with a list: chunk number n belongs to slot n % slots
        self.chunk_size = chunk_size
        self.by_slot: dict[int, _Worker] = {}
        self.here = here
        self.lost = lost
        self.fork = context.get_start_method() == "fork"
        self.spec: PolicySpec | None = None
        self.workers: list[_Worker] = []
        self.deaths = 0

    # ------------------------------------------------------------ processes
    def _start(self) -> _Worker:
        context = self.context
        task_reader, task_writer = context.Pipe(duplex=False)
        result_reader, result_writer = context.Pipe(duplex=False)
        parent = os.getpid() if context.get_start_method() != "forkserver" else None
        deathsig = threading.current_thread() is threading.main_thread()
        if self.fork:
            target: Assessor | tuple[Callable[[PolicySpec], Assessor], PolicySpec] = self.policy
            inherited = [c for w in self.workers for c in (w.tasks, w.results)] + [task_writer, result_reader]
        else:
            self.spec = self.spec or policy_spec(self.policy.program)
            target, inherited = (self.policy.from_spec, self.spec), []
        process = context.Process(target=_worker_main, daemon=True,
                                  args=(target, self.function, self.units, task_reader, result_writer,
                                        parent, deathsig, inherited))
        try:
            process.start()
        except OSError as exc:
            task_writer.close()
            result_reader.close()
            raise KaoheError(f"could not start a worker process ({_described(exc)})") from exc
        finally:
            task_reader.close()
            result_writer.close()
        worker = _Worker(process, task_writer, result_reader)
        self.workers.append(worker)
        return worker

    def close(self, stop: bool) -> None:
        """End every worker: the idle ones exit when their task pipe closes; with ``stop``
        (an early end or an error) all are terminated at once, whatever they are doing."""
        workers, self.workers = self.workers, []
        for worker in workers:
            worker.tasks.close()
        if stop:
            for worker in workers:
                if worker.process.exitcode is None:
                    worker.process.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
            worker.results.close()

    # ----------------------------------------------------------------- tasks
    def rows(self, task: _Task) -> Sequence[Any]:
        if task.rows is not None:
            return task.rows
        assert self.units is not None
        return self.units[task.start:task.end]

    def submit(self, start: int, rows: list[Any] | None, end: int) -> list[_Task]:
        """Send units ``start``..``end`` to a worker; units that cannot be pickled become tasks of this process."""
        if rows is None:  # the workers have the units: the chunk's slot has it in its plan
            return [self._assign(_Task(start, end, None))]
        try:
            data = pickle.dumps((start, rows), _HIGHEST)
        except Exception:  # noqa: BLE001 - some unit does not pickle: find which
            return self._split(start, rows)
        return [self._send(_Task(start, end, rows), data)]

    def _split(self, start: int, rows: list[Any]) -> list[_Task]:
        """Runs of units that pickle go to the workers; each one that does not is assessed here."""
        sendable = []
        for row in rows:
            try:
                pickle.dumps(row, _HIGHEST)
            except Exception:  # noqa: BLE001
                sendable.append(False)
            else:
                sendable.append(True)
        tasks = []
        offset = 0
        for ok, group in itertools.groupby(sendable):
            count = len(list(group))
            part = rows[offset:offset + count]
            task = _Task(start + offset, start + offset + count, part)
            if ok:
                try:
                    data = pickle.dumps((task.start, part), _HIGHEST)
                except Exception:  # noqa: BLE001 - they pickle one by one but not together
                    ok = False
            tasks.append(self._send(task, data) if ok else task)
            offset += count
        return tasks

    def _send(self, task: _Task, data: bytes, worker: _Worker | None = None) -> _Task:
        if worker is None:
            if len(self.workers) < self.size:
                worker = self._start()
            else:
                worker = min(self.workers, key=lambda w: len(w.held))
        try:
            worker.tasks.send_bytes(data)
        except OSError:  # the worker died: found out, and handled, when its results are read
            pass
        worker.held.append(task)
        task.worker = worker
        return task

    def _assign(self, task: _Task) -> _Task:
        slot = (task.start // self.chunk_size) % self.slots
        worker = self.by_slot.get(slot)
        if worker is None:
            worker = self.by_slot[slot] = self._start()
            self._plan(worker, [], task.start)
        worker.held.append(task)
        task.worker = worker
        return task

    def _plan(self, worker: _Worker, ranges: list[tuple[int, int]], stride_from: int) -> None:
        """Tell a worker on the inherited list what to assess: ``ranges``, then every ``slots``-th chunk."""
        plan = (ranges, stride_from, self.slots * self.chunk_size, self.chunk_size)
        try:
            worker.tasks.send_bytes(pickle.dumps((None, plan), _HIGHEST))
        except OSError:  # the worker died: found out, and handled, when its results are read
            pass

    def _payload(self, task: _Task) -> bytes:
        return pickle.dumps((task.start, task.end if task.rows is None else task.rows), _HIGHEST)

    def compute_here(self, task: _Task) -> list[Any]:
        rows = self.rows(task)
        return [self.here(self.policy, task.start + offset, unit) for offset, unit in enumerate(rows)]

    def collect(self, task: _Task) -> tuple[list[Any], list[_Task]]:
        """The values of a task sent to a worker; or, if the worker died, the tasks that replace it.

        Returns ``(values, [])``, or ``(values of units found lost, tasks to collect first)``.
        """
        worker = task.worker
        assert worker is not None and worker.held and worker.held[0] is task
        data = self._receive(worker)
        if data is None:
            return self._bury(worker)
        worker.held.popleft()
        try:
            message = pickle.loads(data)  # noqa: S301 - from our own worker process
        except Exception:  # noqa: BLE001 - a value that does not unpickle here: assess the task here
            return self.compute_here(task), []
        kind = message[0]
        if kind == "ok":
            _, values, lost, here = message
            if here or lost:
                rows = self.rows(task)
                for offset in here or ():
                    values[offset] = self.here(self.policy, task.start + offset, rows[offset])
                for offset, why in (lost or {}).items():
                    values[offset] = self._lost(task.start + offset, rows[offset], why)
            return values, []
        if kind == "unreadable":
            return self.compute_here(task), []
        if kind == "failed":
            raise KaoheError(f"a worker process failed while assessing units ({message[1]})")
        raise KaoheError(message[1])

    def _receive(self, worker: _Worker) -> bytes | None:
        """The next message from ``worker``, or None if it died before sending it whole."""
        conn = worker.results
        try:
            # the exit sentinel too: end-of-file alone would not come if another process held the pipe
            if worker.poller is not None:
                while not worker.poller.poll():
                    pass
            else:  # pragma: no cover - platforms without poll()
                _wait([conn, worker.process.sentinel])
            return conn.recv_bytes()
        except (EOFError, OSError):
            return None

    def _bury(self, worker: _Worker) -> tuple[list[Any], list[_Task]]:
        """A worker died while holding tasks (the oldest is the one it was assessing).

        That task is assessed again one unit per task, so whatever killed the worker
        costs at most the unit that did it; a one-unit task whose worker dies is lost.
        All of it goes, in order, to a fresh worker that holds nothing else.
        """
        self.workers.remove(worker)
        worker.tasks.close()
        worker.process.join(STOP_GRACE)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
        worker.results.close()
        how = _death(worker.process.exitcode)
        self.deaths += 1
        if self.deaths > MAX_WORKER_DEATHS:
            raise KaoheError(f"more than {MAX_WORKER_DEATHS} worker processes died in this batch (the last one "
                             f"{how}, assessing units #{worker.held[0].start} to #{worker.held[0].end - 1}); "
                             "stopping: is the input hostile, or memory short?")
        why = f"the worker process assessing it died ({how})"
        held = list(worker.held)
        worker.held.clear()
        task = held.pop(0)
        values: list[Any] = []
        retry: list[_Task] = []
        if task.end - task.start == 1:
            values.append(self._lost(task.start, self.rows(task)[0], why))
        else:
            rows = self.rows(task)
            retry = [_Task(task.start + offset, task.start + offset + 1,
                           None if task.rows is None else task.rows[offset:offset + 1])
                     for offset in range(len(rows))]
        moved = retry + held
        if self.units is not None:  # a slot of the list: a fresh worker takes over its plan
            slot = next(k for k, w in self.by_slot.items() if w is worker)
            del self.by_slot[slot]
            if moved:
                fresh = self.by_slot[slot] = self._start()
                last = max(t.start - t.start % self.chunk_size for t in [task, *held])  # the last chunk it held
                self._plan(fresh, [(t.start, t.end) for t in moved], last + self.slots * self.chunk_size)
                for t in moved:
                    fresh.held.append(t)
                    t.worker = fresh
        elif moved:
            fresh = self._start()
            for t in moved:
                self._send(t, self._payload(t), fresh)
        return values, retry

    def _lost(self, index: int, unit: Any, why: str) -> Any:
        if self.lost is None:
            raise KaoheError(f"unit #{index} was not assessed: {why}; no results after this point")
        return self.lost(self.policy, index, unit, why)


def map_units(policy: Assessor, units: Iterable[Any], function: UnitFunction[T], *, workers: int | None = None,
              chunk_size: int = DEFAULT_CHUNK, local: UnitFunction[T] | None = None,
              lost: LostFunction[T] | None = None) -> Iterator[T]:
    """``function(policy, index, unit)`` for every unit, computed in ``workers`` processes, yielded in input order.

    ``function`` must be picklable (a module-level function).  Memory stays bounded:
    at most ``workers * IN_FLIGHT_PER_WORKER`` chunks of ``chunk_size`` units are
    pending at any time.  A unit that cannot be sent to a worker (or whose value
    cannot be sent back) is computed in this process, with ``local`` if given, else
    with ``function``.  A unit no worker could compute — its worker died on it twice,
    or it ran out of memory — yields ``lost(policy, index, unit, why)``; without
    ``lost`` that raises :class:`~kaohe_rules.errors.KaoheError`.  An exception raised
    by ``function`` in a worker raises KaoheError here.  However the iteration ends,
    no worker outlives it.

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
    context = _context()
    shared: Sequence[Any] | None = None
    if isinstance(units, (list, tuple)) and context.get_start_method() == "fork":
        shared = units  # the forked workers inherit the list: tasks are slices of it
        if local is not None and len(units) <= chunk_size:  # one chunk: nothing to share
            yield from (local(policy, index, unit) for index, unit in enumerate(units))
            return
    iterator = iter(units)
    children = workers - 1 if local is not None else workers
    pool = _Pool(policy, function, context, children, shared, local or function, lost, workers, chunk_size)
    # tasks in input order: each sent to a worker, or (worker None) computed here
    pending: collections.deque[_Task] = collections.deque()
    finished = False
    try:
        start = 0
        number = 0
        exhausted = False
        while True:
            while not exhausted and len(pending) < workers * IN_FLIGHT_PER_WORKER:
                rows: list[Any] | None
                if shared is not None:
                    end = min(start + chunk_size, len(shared))
                    rows = None
                else:
                    rows = list(itertools.islice(iterator, chunk_size))
                    end = start + len(rows)
                if end == start:
                    exhausted = True
                    break
                if local is not None and number % workers == 0:
                    pending.append(_Task(start, end, rows))
                else:
                    pending.extend(pool.submit(start, rows, end))
                start = end
                number += 1
            if not pending:
                break
            task = pending.popleft()
            if task.worker is None:
                yield from pool.compute_here(task)
                continue
            values, retry = pool.collect(task)
            pending.extendleft(reversed(retry))
            yield from values
        finished = True
    finally:
        # an early end (break, close(), an error, KeyboardInterrupt) terminates the workers at once
        pool.close(stop=not finished)


# ------------------------------------------------------------- assessing
def assess_here(policy: Assessor, index: int, unit: Any, trace: bool = False) -> tuple[Any, ...]:
    """Evaluate one unit: ``("result", Result)``, or ``("error", FactError or EvaluationError)``.

    Used as it is where this process assesses a unit itself; :func:`assess_payload`
    turns it into what a worker sends back (kaohe errors pickle as they are).
    """
    item = policy.assess_row(index, unit, trace=trace)  # never raises: one error row per bad row
    return ("result", item.result) if item.result is not None else ("error", item.error)


def assess_payload(policy: Assessor, index: int, unit: Any, trace: bool = False) -> tuple[Any, ...]:
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
    return ("ok", result.unit_id, result.name, result.category, facts, result.raw, result.trace_events)


def assess_here_traced(policy: Assessor, index: int, unit: Any) -> tuple[Any, ...]:
    return assess_here(policy, index, unit, trace=True)


def assess_payload_traced(policy: Assessor, index: int, unit: Any) -> tuple[Any, ...]:
    return assess_payload(policy, index, unit, trace=True)


def unit_label(unit: Any) -> str:
    """The id a unit is reported under when it could not be read or assessed ("?" without one)."""
    return unit_id_of(unit)


def assess_lost(policy: Assessor, index: int, unit: Any, why: str) -> tuple[Any, ...]:
    """The payload of a unit no worker could assess (see :func:`map_units`): an error row saying why."""
    return ("lost", unit_label(unit), why)


_PENDING: Any = object()


class RemoteResult(Result):
    """A Result assessed in a worker whose facts are produced here on first use.

    Asking for ``facts`` (directly, or through ``trace``/``explain`` or the audit tools)
    assesses the unit again in this process and adopts that raw result too, so the
    facts and the records the result points to are the same objects, as in a serial
    result.  The values are identical: evaluation is deterministic.
    """

    __slots__ = ("_unit", "_evaluate")

    def __init__(self, policy: Assessor, unit: Any, plan: CategoryPlan, raw: tuple[Any, ...], unit_id: str,
                 name: str | None, category: str, events: list[RawEvent] | None) -> None:
        super().__init__(policy.program, plan, raw, unit_id, name, category, _PENDING, events)
        self._unit: Any = unit
        self._evaluate: Callable[[Any], Result] | None = policy.evaluate

    @property
    def facts(self) -> dict[str, object]:
        if self._facts is _PENDING:
            assert self._evaluate is not None
            local = self._evaluate(self._unit)
            self._raw = local.raw
            self._facts = local.facts
            self._unit = self._evaluate = None
        return Result.facts.fget(self)  # type: ignore[attr-defined,no-any-return]


def batch_item(policy: Assessor, index: int, payload: tuple[Any, ...], unit: Any,
               location: str | None = None) -> BatchItem:
    """The BatchItem a payload from :func:`assess_payload` stands for, bound to ``policy``."""
    kind = payload[0]
    if kind == "result":  # assessed in this process (assess_here)
        return BatchItem(index, payload[1].unit_id, payload[1], None, location)
    if kind == "ok":
        _, unit_id, name, category, facts, raw, events = payload
        plan = policy.program.plans[category]
        result: Result
        if facts is None:
            result = RemoteResult(policy, unit, plan, raw, unit_id, name, category, events)
        else:
            result = Result(policy.program, plan, raw, unit_id, name, category, facts, events)
        return BatchItem(index, unit_id, result, None, location)
    if kind == "error":
        error: FactError | EvaluationError = payload[1]
        return BatchItem(index, error.unit, None, error, location)
    assert kind == "lost", kind
    return BatchItem(index, payload[1], None, EvaluationError(payload[1], f"not assessed: {payload[2]}"), location)


def evaluate_many(policy: Assessor, units: Iterable[Mapping[str, object]], *, workers: int | None = None,
                  trace: bool = False, chunk_size: int = DEFAULT_CHUNK) -> Iterator[BatchItem]:
    """Assess units in ``workers`` processes; one BatchItem per unit, in input order, streamed."""
    function = assess_payload_traced if trace else assess_payload
    here = assess_here_traced if trace else assess_here
    if isinstance(units, (list, tuple)):  # indexable: map_units may share it with forked workers
        for index, payload in enumerate(map_units(policy, units, function, workers=workers, chunk_size=chunk_size,
                                                  local=here, lost=assess_lost)):
            yield batch_item(policy, index, payload, units[index])
        return
    kept: collections.deque[Any] = collections.deque()  # units in flight (bounded), for facts on demand

    def remember(units: Iterable[Any]) -> Iterator[Any]:
        for unit in units:
            kept.append(unit)
            yield unit

    for index, payload in enumerate(map_units(policy, remember(units), function, workers=workers,
                                              chunk_size=chunk_size, local=here, lost=assess_lost)):
        yield batch_item(policy, index, payload, kept.popleft())


# --------------------------------------------------------------- CLI rows
def assess_row_payload(policy: Assessor, index: int, row: UnitRow) -> tuple[Any, ...] | None:
    """:func:`assess_payload` for a row of a unit file (None for an unreadable row)."""
    return None if row.unit is None else assess_payload(policy, index, row.unit)


def assess_row_lost(policy: Assessor, index: int, row: UnitRow, why: str) -> tuple[Any, ...] | None:
    """:func:`assess_lost` for a row of a unit file."""
    return None if row.unit is None else assess_lost(policy, index, row.unit, why)


def assess_rows(policy: Assessor, rows: Iterable[UnitRow], workers: int,
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[UnitRow, BatchItem | None]]:
    """``(row, BatchItem or None)`` for the rows of a unit file, as ``kaohe eval`` assesses them, in order."""
    kept: collections.deque[Any] = collections.deque()

    def remember(rows: Iterable[Any]) -> Iterator[Any]:
        for row in rows:
            kept.append(row)
            yield row

    # the parent reads (parses) the rows and renders the report: work enough, it assesses none itself
    for payload in map_units(policy, remember(rows), assess_row_payload, workers=workers, chunk_size=chunk_size,
                             lost=assess_row_lost):
        row = kept.popleft()
        yield row, (None if payload is None else batch_item(policy, row.index, payload, row.unit, row.location))
