"""A parallel batch gives every row exactly one item, in order — the serial items — whatever a row holds.

Regressions from the systems test of issue #9: a row holding a value that does not
pickle (a lambda, a lock) failed the whole batch ("a worker process failed") where
one process assesses it; a worker that died cost every row after it.  Now a row
that cannot be sent is assessed in the parent, and a worker that dies costs only
the row that killed it (assessed again alone, in a fresh worker).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import types
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.batch import jsonl
from kaohe_rules.batch import pool as parallel
from kaohe_rules.errors import EvaluationError, KaoheError

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("process tests are exercised on POSIX", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"
PARENT = os.getpid()

DIVIDE = """
policy 除法 "除法" { period 2013-01-01 .. 2013-12-31 }
category 单位 "单位" total 100 { section 甲 "甲" 100 }
fact a: int
fact b: int
target t in 单位.甲 points 100 { score a / b * 100 }
ratings { 好 "好" 差 "差" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
"""


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(POLICY)


@pytest.fixture(autouse=True)
def fork_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork even if another test left a thread behind: the hostile units below are defined in this module."""
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        pytest.skip("needs fork")
    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("fork"))


def sample_units() -> list[dict[str, Any]]:
    return json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]  # type: ignore[no-any-return]


def _exit_now(code: int) -> None:
    os._exit(code)


class KillsItsWorker:
    """A fact value whose unpickling ends the process: a hostile ``__reduce__``."""

    def __reduce__(self) -> Any:
        return (_exit_now, (7,))


def _refuse() -> None:
    raise ValueError("this value only unpickles in its own process")


class WontUnpickle:
    """Pickles, but raises when a worker unpickles it."""

    def __reduce__(self) -> Any:
        return (_refuse, ())


class DiesOutsideParent(dict):  # type: ignore[type-arg]
    """A unit (a dict subclass: the general path) that kills any process but the test's own that reads it."""

    def get(self, key: Any, default: Any = None) -> Any:
        if os.getpid() != PARENT:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().get(key, default)


def mixed(count: int) -> list[Any]:
    """Good rows and bad ones of every kind a batch meets, in a fixed pattern."""
    good = sample_units()
    first_fact = next(iter(good[0]["facts"]))
    out: list[Any] = []
    for i in range(count):
        unit: Any = dict(good[i % len(good)], id=f"u{i}")
        kind = i % 9
        if kind == 1:
            unit = dict(unit, facts=dict(unit["facts"], 未知事实=1))  # a fact error
        elif kind == 2:
            unit = ["not", "a", "unit"]
        elif kind == 3:
            unit = dict(unit, facts=dict(unit["facts"], **{first_fact: lambda: 1}))  # does not pickle
        elif kind == 4:
            unit = dict(unit, facts=dict(unit["facts"], **{first_fact: threading.Lock()}))  # does not pickle
        elif kind == 5:
            unit = types.MappingProxyType(dict(unit))  # a valid unit that does not pickle
        elif kind == 6:
            unit = dict(unit, id=lambda: 1)  # no usable id, and does not pickle
        elif kind == 7:
            unit = 42
        out.append(unit)
    return out


def summary(items: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for item in items:
        if item.result is not None:
            r = item.result
            out.append((item.index, item.unit_id, "ok", str(r.score), r.rating, r.band, str(r.consequences.total)))
        else:
            problems = [p.to_dict() for p in getattr(item.error, "problems", ())]
            out.append((item.index, item.unit_id, type(item.error).__name__, str(item.error), problems))
    return out


@pytest.mark.parametrize("shape", ["list", "iterator"])
@pytest.mark.parametrize(("workers", "chunk_size"), [(2, 4), (3, 1), (2, 64)])
def test_mixed_batch_gives_the_serial_items(policy: Any, shape: str, workers: int, chunk_size: int) -> None:
    units = mixed(45)
    serial = summary(policy.evaluate_many(units))
    source = units if shape == "list" else iter(units)
    items = summary(parallel.evaluate_many(policy, source, workers=workers, chunk_size=chunk_size))
    assert items == serial
    assert [row[0] for row in items] == list(range(45))
    assert {row[2] for row in serial} == {"ok", "FactError"}
    assert multiprocessing.active_children() == []


def test_the_public_entry_point_too(policy: Any) -> None:
    units = mixed(30)
    assert summary(policy.evaluate_many(iter(units), workers=2)) == summary(policy.evaluate_many(units))


def test_evaluation_errors_and_the_parents_own_share(policy: Any) -> None:
    divide = kaohe_rules.load(DIVIDE)
    units = [{"id": f"u{b}", "category": "单位", "facts": {"a": 1, "b": b % 3}} for b in range(20)]
    serial = list(divide.evaluate_many(units))
    for source in (units, iter(units)):
        items = list(parallel.evaluate_many(divide, source, workers=2, chunk_size=2))
        assert [(type(i.error), str(i.error), getattr(i.error, "where", None)) for i in items] == \
            [(type(i.error), str(i.error), getattr(i.error, "where", None)) for i in serial]


def test_a_row_a_worker_cannot_unpickle_is_assessed_here(policy: Any) -> None:
    units: list[Any] = sample_units()[:6]
    units[2] = dict(units[2], extra=WontUnpickle())  # envelope keys beyond id/category/facts/name
    serial = summary(policy.evaluate_many(units))
    assert summary(parallel.evaluate_many(policy, iter(units), workers=2, chunk_size=2)) == serial


def test_a_row_that_kills_its_worker_costs_that_row_only(policy: Any) -> None:
    """Sent units: unpickling one ends the worker (exit code 7); the rest of its chunk is assessed again."""
    units: list[Any] = [dict(u, id=f"u{i}") for i, u in enumerate(sample_units() * 3)]
    hostile = [9, 10, 30]  # in chunks the workers assess (the parent takes every other one)
    serial = summary(policy.evaluate_many(units))
    for index in hostile:
        units[index] = dict(units[index], extra=KillsItsWorker())
    items = list(parallel.evaluate_many(policy, iter(units), workers=2, chunk_size=8))
    assert [i.index for i in items] == list(range(len(units)))
    for item, expected in zip(items, serial, strict=True):
        if item.index in hostile:
            assert isinstance(item.error, EvaluationError) and item.result is None
            assert item.unit_id == f"u{item.index}"
            assert str(item.error) == (f"unit 'u{item.index}': not assessed: the worker process assessing it "
                                       "died (exited with code 7)")
        else:
            assert summary([item]) == [expected]
    assert multiprocessing.active_children() == []


def test_a_unit_that_kills_a_forked_worker(policy: Any) -> None:
    """Inherited units (a list, fork): a unit whose reading kills the worker with SIGKILL."""
    units: list[Any] = [dict(u, id=f"u{i}") for i, u in enumerate(sample_units() * 2)]
    serial = summary(policy.evaluate_many(units))
    units[9] = DiesOutsideParent(units[9])  # in the second chunk of 8: a worker's
    items = list(parallel.evaluate_many(policy, units, workers=2, chunk_size=8))
    assert str(items[9].error) == "unit 'u9': not assessed: the worker process assessing it died (killed by signal SIGKILL)"
    assert summary(items[:9] + items[10:]) == serial[:9] + serial[10:]
    assert multiprocessing.active_children() == []


def _slow_unit_kill(policy: Any, index: int, unit: Any) -> Any:
    if index in (3, 4):
        os.kill(os.getpid(), signal.SIGKILL)
    if index == 11:
        raise MemoryError
    return ("value", index, unit)


def _lost(policy: Any, index: int, unit: Any, why: str) -> Any:
    return ("lost", index, why)


def _unpicklable_value(policy: Any, index: int, unit: Any) -> Any:
    if index % 5 == 2:
        return (index, lambda: index) if os.getpid() != PARENT else (index, "computed here")
    return (index, unit)


def test_map_units_kills_and_memory_errors(policy: Any) -> None:
    for source in (list(range(20)), iter(range(20))):
        values = list(parallel.map_units(policy, source, _slow_unit_kill, workers=2, chunk_size=4, lost=_lost))
        died = "the worker process assessing it died (killed by signal SIGKILL)"
        expected = [("value", i, i) for i in range(20)]
        expected[3] = ("lost", 3, died)
        expected[4] = ("lost", 4, died)
        expected[11] = ("lost", 11, "the worker process assessing it ran out of memory")
        assert values == expected


def test_without_a_lost_function_a_dead_worker_raises(policy: Any) -> None:
    with pytest.raises(KaoheError, match="unit #3 was not assessed: the worker process assessing it died"):
        list(parallel.map_units(policy, range(8), _slow_unit_kill, workers=2, chunk_size=4))
    assert multiprocessing.active_children() == []


def test_a_value_that_cannot_come_back_is_computed_here(policy: Any) -> None:
    values = list(parallel.map_units(policy, iter(range(12)), _unpicklable_value, workers=2, chunk_size=3))
    assert values == [(i, "computed here") if i % 5 == 2 else (i, i) for i in range(12)]


def _render_or_die(policy: Any, index: int, record: Any) -> Any:
    if index == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return jsonl.render_record_jsonl_bytes(policy, index, record)


def test_cli_rows_whose_worker_dies_are_error_rows(policy: Any, tmp_path: Path) -> None:
    from kaohe_rules.unitio import read_jsonl_texts

    path = tmp_path / "units.jsonl"
    path.write_text("".join(json.dumps(u, ensure_ascii=False, default=str) + "\n" for u in sample_units()[:5]),
                    encoding="utf-8")
    out = list(parallel.map_units(policy, read_jsonl_texts(path), _render_or_die, workers=2, chunk_size=2,
                                  lost=jsonl.render_record_lost))
    assert len(out) == 5 and all(line is not None for line, _ in out[:2] + out[3:])
    line, entry = out[2]
    assert line is None and entry is not None
    assert entry["index"] == 2 and entry["location"] == f"{path}:3" and entry["unit"] == sample_units()[2]["id"]
    assert "not assessed: the worker process assessing it died (killed by signal SIGKILL)" in \
        entry["problems"][0]["message"]  # type: ignore[index]


def test_rows_of_a_unit_file_whose_worker_dies(policy: Any) -> None:
    from kaohe_rules.unitio import UnitRow

    rows = [UnitRow(i, f"f:{i + 1}", u, None) for i, u in enumerate(sample_units()[:4])]
    rows[1] = UnitRow(1, "f:2", DiesOutsideParent(rows[1].unit), None)
    pairs = list(parallel.assess_rows(policy, iter(rows), workers=2, chunk_size=1))
    assert [row.index for row, _ in pairs] == [0, 1, 2, 3]
    item = pairs[1][1]
    assert item is not None and item.location == "f:2" and isinstance(item.error, EvaluationError)
    assert "died (killed by signal SIGKILL)" in str(item.error)
    assert all(item is not None and item.ok for _, item in pairs[:1] + pairs[2:])


def unit_stream(units: list[Any]) -> Iterator[Any]:
    yield from units


def test_a_policy_the_workers_cannot_load_stops_the_batch(policy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spawned workers load the policy from its text; a hash that does not match is the parent's error."""
    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("spawn"))
    real = parallel.policy_spec(policy)
    monkeypatch.setattr(parallel, "policy_spec", lambda p: parallel.PolicySpec(real.name, real.text, real.base_dir,
                                                                                "0" * 64))
    with pytest.raises(KaoheError, match="worker loaded policy"):
        list(parallel.evaluate_many(policy, unit_stream(sample_units()), workers=2, chunk_size=4))
    assert multiprocessing.active_children() == []


def _always_die(policy: Any, index: int, unit: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_batch_that_keeps_killing_workers_stops(policy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each death costs a fork: past MAX_WORKER_DEATHS the batch stops instead of forking once per row."""
    monkeypatch.setattr(parallel, "MAX_WORKER_DEATHS", 3)
    values = []
    with pytest.raises(KaoheError, match="more than 3 worker processes died in this batch"):
        for value in parallel.map_units(policy, iter(range(100)), _always_die, workers=2, chunk_size=2, lost=_lost):
            values.append(value)
    assert values and all(value[0] == "lost" for value in values)  # rows lost one by one before the stop
    assert multiprocessing.active_children() == []
