"""Process-parallel batches give the serial results, in order, streamed, with every error row kept."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.batch import pool as parallel
from kaohe_rules.cli import main
from kaohe_rules.errors import EvaluationError, FactError

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(POLICY)


def sample_units() -> list[dict[str, Any]]:
    return json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]  # type: ignore[no-any-return]


def mixed_units(count: int) -> list[Any]:
    """Sample units repeated, with bad rows sprinkled in: unknown facts, a wrong category, not a mapping."""
    good = sample_units()
    out: list[Any] = []
    for i in range(count):
        unit = dict(good[i % len(good)], id=f"u{i}")
        if i % 17 == 5:
            unit = dict(unit, facts=dict(unit["facts"], 未知事实=1))
        elif i % 23 == 7:
            unit = dict(unit, category="火星")
        elif i % 31 == 11:
            unit = ["not", "a", "unit"]  # type: ignore[assignment]
        out.append(unit)
    return out


def summary(items: Any) -> list[tuple[Any, ...]]:
    out = []
    for item in items:
        if item.result is not None:
            r = item.result
            out.append((item.index, item.unit_id, "ok", str(r.score), r.rating, r.band, r.vetoed,
                        [v.name for v in r.vetoes], [d.name for d in r.deferred], str(r.consequences.total)))
        else:
            problems = [p.to_dict() for p in getattr(item.error, "problems", ())]
            out.append((item.index, item.unit_id, type(item.error).__name__, str(item.error), problems))
    return out


def test_same_items_in_the_same_order_as_serial(policy: Any) -> None:
    units = mixed_units(300)
    serial = summary(policy.evaluate_many(units))
    parallel_items = summary(policy.evaluate_many(units, workers=2))
    assert parallel_items == serial
    assert [row[0] for row in parallel_items] == list(range(300))
    assert {row[2] for row in serial} == {"ok", "FactError"}


def test_small_chunks_and_more_workers_than_chunks(policy: Any) -> None:
    units = mixed_units(40)
    expected = summary(policy.evaluate_many(units))
    assert summary(parallel.evaluate_many(policy, units, workers=3, chunk_size=1)) == expected
    assert summary(parallel.evaluate_many(policy, units[:5], workers=2, chunk_size=64)) == expected[:5]
    assert list(parallel.evaluate_many(policy, [], workers=2)) == []


def test_results_are_full_results(policy: Any) -> None:
    """Facts, explanation, dict and trace of a parallel result equal the serial ones."""
    units = sample_units()
    for serial, remote in zip(policy.evaluate_many(units), policy.evaluate_many(units, workers=2), strict=True):
        assert remote.result.facts == serial.result.facts
        assert remote.result.to_dict() == serial.result.to_dict()
        assert remote.result.explain() == serial.result.explain()
        assert remote.result.trace.to_dict() == serial.result.trace.to_dict()


def test_traced_batches_carry_the_events(policy: Any) -> None:
    units = sample_units()[:4]
    items = list(policy.evaluate_many(units, workers=2, trace=True))
    assert all(item.result._trace_events for item in items)
    assert [i.result.trace.to_dict() for i in items] == [policy.evaluate(u).trace.to_dict() for u in units]


def test_errors_keep_their_detail(policy: Any) -> None:
    units = mixed_units(40)
    serial = {i.index: i.error for i in policy.evaluate_many(units) if i.error is not None}
    remote = {i.index: i.error for i in policy.evaluate_many(units, workers=2) if i.error is not None}
    assert serial.keys() == remote.keys() and serial
    for index, error in remote.items():
        assert type(error) is type(serial[index])
        assert isinstance(error, FactError)
        assert error.unit == serial[index].unit and error.problems == serial[index].problems


def test_evaluation_errors_cross_the_process_boundary() -> None:
    policy = kaohe_rules.load("""
policy 除法 "除法" { period 2013-01-01 .. 2013-12-31 }
category 单位 "单位" total 100 { section 甲 "甲" 100 }
fact a: int
fact b: int
target t in 单位.甲 points 100 { score a / b * 100 }
ratings { 好 "好" 差 "差" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
""")
    units = [{"id": f"u{b}", "category": "单位", "facts": {"a": 1, "b": b}} for b in (1, 0, 2)]
    serial = list(policy.evaluate_many(units))
    remote = list(policy.evaluate_many(units, workers=2))
    assert isinstance(remote[1].error, EvaluationError) and remote[1].result is None
    assert (str(remote[1].error), remote[1].error.unit, remote[1].error.where) == \
        (str(serial[1].error), serial[1].error.unit, serial[1].error.where)
    assert remote[0].result.score == serial[0].result.score and remote[2].result.score == serial[2].result.score


def test_input_is_streamed_not_read_ahead(policy: Any) -> None:
    """The parent reads only a bounded number of units ahead of what it has yielded."""
    consumed = 0
    good = sample_units()

    def endless() -> Any:
        nonlocal consumed
        for i in itertools.count():
            consumed += 1
            yield dict(good[i % len(good)], id=f"u{i}")

    stream = parallel.evaluate_many(policy, endless(), workers=2, chunk_size=8)
    first = list(itertools.islice(stream, 50))
    stream.close()
    assert [item.index for item in first] == list(range(50))
    bound = 50 + 2 * parallel.IN_FLIGHT_PER_WORKER * 8 + 8
    assert consumed <= bound


def test_stopping_early_leaves_no_worker_behind(policy: Any) -> None:
    units = mixed_units(2000)  # a list: the forked workers share it and are stopped when the consumer stops
    stream = policy.evaluate_many(units, workers=2)
    first = list(itertools.islice(stream, 10))
    stream.close()
    assert [i.index for i in first] == list(range(10))
    assert multiprocessing.active_children() == []


def _explode(policy: Any, index: int, unit: Any) -> None:
    raise RuntimeError("boom")


def test_an_unexpected_failure_in_a_worker_is_reported(policy: Any) -> None:
    from kaohe_rules.errors import KaoheError

    with pytest.raises(KaoheError, match="boom"):
        list(parallel.map_units(policy, sample_units(), _explode, workers=2))


def test_workers_argument_is_checked(policy: Any) -> None:
    with pytest.raises(ValueError):
        list(policy.evaluate_many(sample_units(), workers=0))
    with pytest.raises(ValueError):
        list(parallel.map_units(policy, [], parallel.assess_payload, workers=2, chunk_size=0))
    assert summary(policy.evaluate_many(sample_units(), workers=1)) == summary(policy.evaluate_many(sample_units()))


def test_workers_started_without_fork_load_the_policy_from_its_text(policy: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("spawn"))
    units = sample_units()[:6]
    assert summary(parallel.evaluate_many(policy, units, workers=2)) == summary(policy.evaluate_many(units))


def test_policy_spec_names_the_file_it_came_from(policy: Any) -> None:
    spec = parallel.policy_spec(policy)
    assert spec.content_hash == policy.content_hash and spec.base_dir == str(POLICY.parent)
    assert spec.text == POLICY.read_text(encoding="utf-8")
    text_spec = parallel.policy_spec(kaohe_rules.load(POLICY.read_text(encoding="utf-8")))
    assert text_spec.base_dir is None


@pytest.mark.parametrize("fmt", ["jsonl", "json", "table"])
def test_cli_workers_gives_the_serial_output(tmp_path: Path, capsys: Any, fmt: str) -> None:
    units = mixed_units(60)
    path = tmp_path / "units.jsonl"
    lines = [json.dumps(u, ensure_ascii=False, default=str) + "\n" for u in units]
    lines[10:10] = ["\n", "# a comment line\n", "\u3000\n"]  # skipped, and not counted as records
    path.write_bytes("".join(lines).encode("utf-8") + b"{not json\n" + b"\xff\xfe broken utf-8\n")
    outputs = []
    for workers in ("1", "2"):
        code = main(["eval", str(POLICY), str(path), "--format", fmt, "--workers", workers])
        captured = capsys.readouterr()
        outputs.append((code, captured.out, captured.err))
    assert outputs[0][0] == outputs[1][0] == 3
    assert outputs[1] == outputs[0]
    if fmt == "jsonl":  # workers parse the lines themselves: same indexes, locations and errors
        lines = outputs[1][1].splitlines()
        assert len(lines) == 62
        assert "units.jsonl:64" in lines[-2] and "units.jsonl:65" in lines[-1]
        assert [json.loads(line).get("unit", {}).get("id") for line in lines[:3]] == ["u0", "u1", "u2"]


def test_cli_rejects_a_bad_worker_count(capsys: Any) -> None:
    assert main(["eval", str(POLICY), str(SAMPLES), "--workers", "0"]) == 2
    assert "workers" in capsys.readouterr().err


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("process tests are exercised on POSIX CI")


def test_the_fork_path_in_a_fresh_single_threaded_process() -> None:
    """Other tests may leave threads behind (then workers are started with forkserver): check fork itself."""
    import subprocess

    script = f"""
import json, multiprocessing, sys
from decimal import Decimal
import kaohe_rules
from kaohe_rules.batch import pool as parallel
assert parallel._context().get_start_method() == "fork"
policy = kaohe_rules.load({str(POLICY)!r})
units = json.load(open({str(SAMPLES)!r}, encoding="utf-8"), parse_float=Decimal)["units"] * 5
serial = [(i.index, str(i.result.score), i.result.rating) for i in policy.evaluate_many(units)]
forked = [(i.index, str(i.result.score), i.result.rating) for i in policy.evaluate_many(units, workers=2)]
facts = [i.result.facts for i in policy.evaluate_many(units[:3], workers=2)] == [policy.evaluate(u).facts for u in units[:3]]
print(serial == forked and facts and multiprocessing.active_children() == [])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
