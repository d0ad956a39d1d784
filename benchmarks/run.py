"""kaohe_rules benchmarks (on demand, not in CI): ``bash dev.sh bench [SUITE ...] [options]``.

Suites (default: ``speed users load columnar explain``):

* ``speed``   — per-unit evaluation of the Karamay 2013 policy against the hand-written
  baseline (benchmarks/karamay_baseline.py): trace off, trace on, ``to_dict()`` and
  ``explain()``, with the ratios to the baseline;
* ``users``   — what users pay for (issue #13), for the seed-core policy
  (benchmarks/seed-core.kh, baseline benchmarks/seed_core_baseline.py) and the Karamay
  policy: evaluate + score and rating; evaluate + the full read (score, rating, sections,
  vetoes, deferred, consequences); evaluate + ``to_dict()``; evaluate + ``explain()``;
  ``evaluate_many`` against a loop of ``evaluate`` — each with its ratio to the
  hand-written baseline measured in the same rounds;
* ``load``    — parse + check + compile of the policy (warm process, per stage), the
  on-disk cache, ``import kaohe_rules`` in a fresh interpreter;
* ``growth``  — evaluation and compile time for 10 → 10,000 targets, evaluation time for
  1 → 100,000 list items;
* ``workers`` — ``evaluate_many(workers=N)`` speed-up on this machine;
* ``memory``  — compiled policy size and peak memory of a streamed batch
  (``--units 1000000`` for the full run; it takes minutes);
* ``cohort``  — the cohort engine (rank_rows + apply_quotas) on 1,000,000 generated rows:
  time and peak memory (benchmarks/cohort.py; ``--cohort-units N``).
* ``columnar`` — the columnar batch engine (issue #13): for the seed-core and Karamay policies,
  N generated units (``--units``, default 100,000; 1,000,000 for the goal run) written as Parquet
  (benchmarks/tables.py, kept in ``--cache-dir``), streamed in record batches through
  ``policy.evaluate_table`` in a fresh process (benchmarks/columnar_run.py: wall time, peak RSS),
  against the hand-written baseline, zen-engine (benchmarks/zen-graphs/seed-core.json, seed-core only),
  the loop of ``evaluate`` and ``evaluate_many`` (each with the full read) per unit, in one run;
* ``explain`` — ``explain()`` throughput for a report of ``--explain-report`` (10,000) units.

Protocol (speed): units are parsed (JSON, Decimal numbers) and generated before any
timing; the garbage collector is frozen over the loaded input; each round times one
pass of every contender over the same units, contenders interleaved (their order
rotates each round) so drift on a shared machine hits all of them alike; results are
consumed (score and rating read) and dropped at once.  Reported: the median per-unit
time over rounds and the median of the per-round ratios to the baseline.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import karamay_baseline  # noqa: E402
import seed_core_baseline  # noqa: E402
import synthetic  # noqa: E402
import zen_seed_core  # noqa: E402

import kaohe_rules  # noqa: E402

POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"
SEED_CORE = HERE / "seed-core.kh"


# ------------------------------------------------------------------ helpers
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.1f} µs" if us < 10_000 else f"{us / 1000:,.1f} ms"


def interleaved(contenders: dict[str, Callable[[], int]], rounds: int) -> dict[str, list[float]]:
    """Per-round per-unit seconds of each contender; each callable runs one pass and returns its unit count."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            start = time.perf_counter()
            count = contenders[name]()
            times[name].append((time.perf_counter() - start) / count)
    return times


def report(title: str, times: dict[str, list[float]], baseline: str | None) -> dict[str, dict[str, float]]:
    print(f"\n{title}")
    out: dict[str, dict[str, float]] = {}
    for name, values in times.items():
        median = statistics.median(values)
        row = {"median_us": median * 1e6}
        text = f"  {name:<28} {fmt_us(median):>12} per unit"
        if baseline is not None and name != baseline:
            ratios = [v / b for v, b in zip(values, times[baseline], strict=True)]
            row["ratio"] = statistics.median(ratios)
            text += f"   {row['ratio']:5.2f}× baseline"
        print(text)
        out[name] = row
    return out


def sample_units() -> list[dict[str, Any]]:
    return json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]  # type: ignore[no-any-return]


# -------------------------------------------------------------------- speed
def bench_speed(args: argparse.Namespace) -> dict[str, Any]:
    policy = kaohe_rules.load(POLICY)
    workloads = {
        "sample units (17, bundled)": sample_units(),
        f"generated units ({args.synthetic})": list(synthetic.units(policy, args.synthetic, seed=2013)),
    }
    for units in workloads.values():  # warm up every path once, and check the baseline agrees
        for unit in units:
            result = policy.evaluate(unit)
            assert karamay_baseline.assess(unit)[0] == result.score, unit["id"]
            policy.evaluate(unit, trace=True).trace  # noqa: B018
    results: dict[str, Any] = {}
    gc.collect()
    gc.freeze()
    try:
        for label, units in workloads.items():
            repeat = max(1, args.min_units // len(units))

            def baseline(units: Sequence[dict[str, Any]] = units, repeat: int = repeat) -> int:
                assess = karamay_baseline.assess
                for _ in range(repeat):
                    for unit in units:
                        raw = assess(unit)
                        raw[0], raw[6]  # noqa: B018 - consumed, not kept
                return repeat * len(units)

            def engine(units: Sequence[dict[str, Any]] = units, repeat: int = repeat, trace: bool = False) -> int:
                evaluate = policy.evaluate
                for _ in range(repeat):
                    for unit in units:
                        result = evaluate(unit, trace=trace)
                        result.score, result.rating  # noqa: B018
                return repeat * len(units)

            def engine_trace(units: Sequence[dict[str, Any]] = units, repeat: int = repeat) -> int:
                return engine(units, repeat, True)

            times = interleaved({"hand-written baseline": baseline, "kaohe, trace off": engine,
                                 "kaohe, trace on": engine_trace}, args.rounds)
            results[label] = report(f"Evaluation, {label}: median of {args.rounds} interleaved rounds", times,
                                    "hand-written baseline")
        units = workloads["sample units (17, bundled)"]
        evaluated = [policy.evaluate(u) for u in units]
        traced = [policy.evaluate(u, trace=True) for u in units]

        def per_result(action: Callable[[Any], object], items: Sequence[Any]) -> Callable[[], int]:
            def run() -> int:
                for item in items:
                    action(item)
                return len(items)
            return run

        def fresh_trace(unit: dict[str, Any]) -> object:
            return policy.evaluate(unit, trace=True).trace

        times = interleaved({
            "result.to_dict()": per_result(lambda r: r.to_dict(), evaluated),
            "evaluate + result.trace": per_result(fresh_trace, units),
            "result.explain() (zh, full)": per_result(lambda r: r.explain(), traced),
            "result.explain(full=False)": per_result(lambda r: r.explain(full=False), traced),
        }, max(3, args.rounds // 3))
        results["rendering"] = report("Rendering (sample units; explain on traced results)", times, None)
    finally:
        gc.unfreeze()
    return results


# -------------------------------------------------------------------- users
def full_read(result: Any) -> None:
    """Read what a user reads to publish the results (通报): score, rating, every section's score, every veto
    with its evidence, the deferred items, and the consequences with every amount."""
    result.score, result.rating  # noqa: B018
    for section in result.sections.values():
        section.score  # noqa: B018
    for veto in result.vetoes:
        veto.name, veto.evidence  # noqa: B018
    for deferral in result.deferred:
        deferral.items  # noqa: B018
    consequences = result.consequences
    consequences.total  # noqa: B018
    for item in consequences.items:
        item.name, item.amount  # noqa: B018


def baseline_read(raw: tuple[Any, ...]) -> None:
    """The same read of a hand-written baseline's raw tuple (it computed everything eagerly)."""
    score, sections, _targets, vetoes, deferred, _band, rating, money = raw
    for _ in sections:
        pass
    for _name, _evidence in vetoes:
        pass
    for _ in deferred:
        pass
    if money is not None:
        for _name, _amount in money[1]:
            pass


def _read_sections(result: Any) -> None:
    for section in result.sections.values():
        section.score  # noqa: B018


def _read_vetoes(result: Any) -> None:
    for veto in result.vetoes:
        veto.name, veto.evidence  # noqa: B018


def _read_deferred(result: Any) -> None:
    for deferral in result.deferred:
        deferral.items  # noqa: B018


def _read_consequences(result: Any) -> None:
    for item in result.consequences.items:
        item.name, item.amount  # noqa: B018


def _read_targets(result: Any) -> None:
    for target in result.targets:
        target.score  # noqa: B018


def _reading(policy: Any, units: list[dict[str, Any]], repeat: int, read: Callable[[Any], None]) -> Callable[[], int]:
    def run() -> int:
        evaluate = policy.evaluate
        for _ in range(repeat):
            for unit in units:
                result = evaluate(unit)
                result.score, result.rating  # noqa: B018
                read(result)
        return repeat * len(units)
    return run


def bench_users(args: argparse.Namespace) -> dict[str, Any]:
    """Per unit, in one run: what users pay for, on both policies, against their hand-written baselines."""
    seed_core = kaohe_rules.load(SEED_CORE)
    karamay = kaohe_rules.load(POLICY)
    policies = {
        "seed-core": (seed_core, seed_core_baseline.assess,
                      list(synthetic.seed_core_units(seed_core, args.synthetic, seed=2013))),
        "Karamay 2013": (karamay, karamay_baseline.assess,
                         list(synthetic.units(karamay, args.synthetic, seed=2013))),
    }
    results: dict[str, Any] = {}
    for label, (policy, assess, units) in policies.items():
        for unit in units:  # warm every path once, and check the baseline agrees on what is read
            result = policy.evaluate(unit)
            raw = assess(unit)
            assert (raw[0], raw[6]) == (result.score, result.rating), unit["id"]
            full_read(result)
            result.to_dict()
        for unit in units[: max(1, args.explain_units)]:
            policy.evaluate(unit).explain()
        results[label] = _users_rounds(label, policy, assess, units, args)
    return results


def _users_rounds(label: str, policy: Any, assess: Callable[[dict[str, Any]], tuple[Any, ...]],
                  units: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    repeat = max(1, args.min_units // len(units))
    step = max(1, len(units) // max(1, args.explain_units))
    explained = units[::step][: max(1, args.explain_units)]  # explain() costs 10-100× more: a spread sample

    def baseline() -> int:
        for _ in range(repeat):
            for unit in units:
                baseline_read(assess(unit))
        return repeat * len(units)

    def score_rating() -> int:
        evaluate = policy.evaluate
        for _ in range(repeat):
            for unit in units:
                result = evaluate(unit)
                result.score, result.rating  # noqa: B018
        return repeat * len(units)

    def full() -> int:
        evaluate = policy.evaluate
        for _ in range(repeat):
            for unit in units:
                full_read(evaluate(unit))
        return repeat * len(units)

    def to_dict() -> int:
        evaluate = policy.evaluate
        for _ in range(repeat):
            for unit in units:
                evaluate(unit).to_dict()
        return repeat * len(units)

    def explain() -> int:
        evaluate = policy.evaluate
        for unit in explained:
            evaluate(unit).explain()
        return len(explained)

    def many() -> int:
        count = 0
        for _ in range(repeat):
            for item in policy.evaluate_many(units):
                result = item.result
                result.score, result.rating  # noqa: B018
                count += 1
        return count

    contenders = {
        "hand-written baseline": baseline,
        "evaluate + score, rating": score_rating,
        "evaluate + full read": full,
        "evaluate + to_dict()": to_dict,
        "evaluate + explain()": explain,
        "evaluate_many + score, rating": many,
    }
    if args.breakdown:  # where the full read goes: each part read alone after score and rating
        for part, read in (("sections", _read_sections), ("vetoes", _read_vetoes), ("deferred", _read_deferred),
                           ("consequences", _read_consequences), ("targets", _read_targets)):
            contenders[f"  + {part} alone"] = _reading(policy, units, repeat, read)
    gc.collect()
    gc.freeze()
    try:
        times = interleaved(contenders, args.rounds)
    finally:
        gc.unfreeze()
    print(f"\nWhat users pay for — {label}: {len(units)} generated units ({len(explained)} for explain()), "
          f"median of {args.rounds} interleaved rounds")
    out: dict[str, Any] = {}
    base = times["hand-written baseline"]
    loop = times["evaluate + score, rating"]
    for name, values in times.items():
        row: dict[str, float] = {"median_us": statistics.median(values) * 1e6}
        text = f"  {name:<30} {fmt_us(statistics.median(values)):>12} per unit"
        if name != "hand-written baseline":
            row["ratio"] = statistics.median(v / b for v, b in zip(values, base, strict=True))
            text += f"   {row['ratio']:6.2f}× baseline"
        if name == "evaluate_many + score, rating":
            row["ratio_to_loop"] = statistics.median(v / b for v, b in zip(values, loop, strict=True))
            text += f"   {row['ratio_to_loop']:5.2f}× loop of evaluate"
        print(text)
        out[name] = row
    return out


# --------------------------------------------------------------------- load
def bench_load(args: argparse.Namespace) -> dict[str, Any]:
    from kaohe_rules.codegen import compiler
    from kaohe_rules.language import checker, linker, parser
    from kaohe_rules.runtime.evaluator import CompiledModule
    from kaohe_rules.source import SourceFile

    text = POLICY.read_text(encoding="utf-8")
    kaohe_rules.load(POLICY)  # warm: grammar and parser built, modules imported
    stages: dict[str, list[float]] = {k: [] for k in ("parse", "build + link", "check", "compile", "python compile+exec",
                                                      "load() total")}
    for _ in range(args.load_rounds):
        source = SourceFile(str(POLICY), text)
        t0 = time.perf_counter()
        parser.parse_tree(source)
        t1 = time.perf_counter()
        linked = linker.link(source, POLICY.parent)
        t2 = time.perf_counter()
        checked = checker.check(linked)  # type: ignore[arg-type]
        t3 = time.perf_counter()
        compiled = compiler.compile_policy(checked)  # type: ignore[arg-type]
        t4 = time.perf_counter()
        CompiledModule(compiled)
        t5 = time.perf_counter()
        kaohe_rules.load(POLICY)
        t6 = time.perf_counter()
        stages["parse"].append(t1 - t0)
        stages["build + link"].append(t2 - t1 - (t1 - t0))  # link parses again: subtract the parse
        stages["check"].append(t3 - t2)
        stages["compile"].append(t4 - t3)
        stages["python compile+exec"].append(t5 - t4)
        stages["load() total"].append(t6 - t5)
    print(f"\nLoad of {POLICY.name} in a warm process (median of {args.load_rounds})")
    out: dict[str, Any] = {}
    for name, values in stages.items():
        out[name] = statistics.median(values) * 1e3
        print(f"  {name:<22} {out[name]:8.1f} ms")
    lark_parse = getattr(parser, "_parse_with_lark", None)  # absent before kaohe_rules.language.fastparse
    if lark_parse is not None:
        times = []
        for _ in range(args.load_rounds):
            source = SourceFile(str(POLICY), text)
            start = time.perf_counter()
            lark_parse(source)
            times.append(time.perf_counter() - start)
        out["parse_lark_ms"] = statistics.median(times) * 1e3
        print(f"  {'parse with Lark alone':<22} {out['parse_lark_ms']:8.1f} ms  (the reference fastparse replaces)")
    out.update(bench_cache(args))
    out["import_ms"] = import_time()
    print(f"  import kaohe_rules     {out['import_ms']:8.1f} ms  (fresh interpreter, median of 5; lark imported: "
          f"{'yes' if lark_imported() else 'no'})")
    return out


def bench_cache(args: argparse.Namespace) -> dict[str, Any]:
    try:
        from kaohe_rules import cache
    except ImportError:
        return {}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KAOHE_CACHE_DIR"] = tmp
        try:
            times = []
            kaohe_rules.load(POLICY, cache=True)  # type: ignore[call-arg]  # fills the cache
            for _ in range(args.load_rounds):
                start = time.perf_counter()
                kaohe_rules.load(POLICY, cache=True)  # type: ignore[call-arg]
                times.append(time.perf_counter() - start)
            out["load_cached_ms"] = statistics.median(times) * 1e3
            print(f"  load(cache=True) hit   {out['load_cached_ms']:8.1f} ms  (compiled code from {cache.__name__})")
        finally:
            del os.environ["KAOHE_CACHE_DIR"]
    return out


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import kaohe_rules; print(time.perf_counter() - t)"
    values = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
              for _ in range(5)]
    return statistics.median(values) * 1e3


def lark_imported() -> bool:
    code = "import sys, kaohe_rules; print('lark' in sys.modules)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "True"


# ------------------------------------------------------------------- growth
def time_per_unit(fn: Callable[[], object], min_seconds: float = 0.2, rounds: int = 5) -> float:
    fn()
    count = 1
    while True:
        start = time.perf_counter()
        for _ in range(count):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds / rounds or count >= 1_000_000:
            break
        count *= 4
    values = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        values.append((time.perf_counter() - start) / count)
    return statistics.median(values)


def bench_growth(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"targets": [], "items": []}
    print("\nGrowth in the number of targets (one category, one bool fact per target)")
    print(f"  {'targets':>8} {'load (parse+check+compile)':>28} {'evaluate':>12} {'per target':>12}")
    for n in args.targets:
        text = synthetic.growth_policy(n)
        start = time.perf_counter()
        policy = kaohe_rules.load(text)
        load_s = time.perf_counter() - start
        if n <= 1000:  # a second, warm load
            start = time.perf_counter()
            kaohe_rules.load(text)
            load_s = min(load_s, time.perf_counter() - start)
        unit = synthetic.growth_unit(n)
        per_unit = time_per_unit(lambda policy=policy, unit=unit: policy.evaluate(unit).score)
        out["targets"].append({"targets": n, "load_ms": load_s * 1e3, "evaluate_us": per_unit * 1e6})
        print(f"  {n:>8,} {load_s * 1e3:>25.1f} ms {fmt_us(per_unit):>12} {per_unit / n * 1e9:>9.0f} ns")
    policy = kaohe_rules.load(POLICY)
    print("\nGrowth in the number of list items (Karamay 企业 unit with N accidents and N pre-deductions)")
    print(f"  {'items':>8} {'evaluate':>12} {'per item':>12}")
    base = next(u for u in sample_units() if u["category"] == "企业")
    for n in args.items:
        unit = list_unit(policy, base, n)
        policy.evaluate(unit)
        per_unit = time_per_unit(lambda unit=unit: policy.evaluate(unit).score, rounds=3 if n >= 10000 else 5)
        out["items"].append({"items": n, "evaluate_us": per_unit * 1e6})
        print(f"  {n:>8,} {fmt_us(per_unit):>12} {per_unit / n * 1e9:>9.0f} ns")
    return out


def list_unit(policy: Any, base: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy of ``base`` with ``n`` accidents and ``n`` pre-deduction records."""
    import random

    rng = random.Random(n)
    facts = dict(base["facts"])
    accidents = []
    for i in range(n):
        accidents.append({"日期": f"2013-{1 + i % 12:02d}-{1 + i % 28:02d}", "简况": f"事故{i}",
                          "类型": rng.choice(("道路交通", "火灾", "工贸")), "死亡人数": rng.choice((0, 0, 1, 2)),
                          "异地车辆": rng.random() < 0.1, "迟报": rng.random() < 0.05})
    facts["事故"] = accidents
    facts["预扣分记录"] = [{"日期": "2013-03-20", "类型": rng.choice(("日常检查", "督办事项", "目标抽查")),
                        "扣分": Decimal(rng.randint(1, 10)) / 10, "事由": f"记录{i}"} for i in range(n)]
    return dict(base, facts=facts)


# ------------------------------------------------------------------ workers
def bench_workers(args: argparse.Namespace) -> dict[str, Any]:
    policy = kaohe_rules.load(POLICY)
    units = list(synthetic.units(policy, args.worker_units, seed=5))
    out: dict[str, Any] = {}
    print(f"\nevaluate_many on {len(units):,} generated units (results consumed in order)")
    base = None
    for workers in args.workers:
        values = []
        for _ in range(3):
            start = time.perf_counter()
            count = 0
            for item in policy.evaluate_many(units, workers=workers):
                if item.result is not None:
                    item.result.score  # noqa: B018
                count += 1
            values.append(time.perf_counter() - start)
            assert count == len(units)
        elapsed = statistics.median(values)
        base = base or elapsed
        out[str(workers)] = {"seconds": elapsed, "speedup": base / elapsed}
        print(f"  workers={workers:<3} {elapsed:7.2f} s   {len(units) / elapsed:9,.0f} units/s   {base / elapsed:4.2f}×")
    print(f"\nkaohe eval --format jsonl on {len(units):,} units from a JSON Lines file (fresh process, output discarded)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.jsonl"
        path.write_text("".join(json.dumps(u, ensure_ascii=False, default=str) + "\n" for u in units), encoding="utf-8")
        kaohe = str(Path(sys.executable).with_name("kaohe"))
        cli_base = None
        for workers in args.workers:
            values = []
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run([kaohe, "eval", str(POLICY), str(path), "--format", "jsonl", "--workers", str(workers)],
                               stdout=subprocess.DEVNULL, check=True)
                values.append(time.perf_counter() - start)
            elapsed = statistics.median(values)
            cli_base = cli_base or elapsed
            out[f"cli_{workers}"] = {"seconds": elapsed, "speedup": cli_base / elapsed}
            print(f"  --workers {workers:<3} {elapsed:7.2f} s   {len(units) / elapsed:9,.0f} units/s   "
                  f"{cli_base / elapsed:4.2f}×")
    return out


# ------------------------------------------------------------------- memory
def bench_memory(args: argparse.Namespace) -> dict[str, Any]:
    import tracemalloc

    out: dict[str, Any] = {}
    kaohe_rules.load(POLICY)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    policy = kaohe_rules.load(POLICY)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    out["policy_bytes"] = held
    out["generated_source_chars"] = len(policy.generated_source)
    print(f"\nCompiled Karamay policy: {held / 1e6:.2f} MB held by the Policy object (checked model + code); "
          f"generated evaluator source {len(policy.generated_source):,} chars")
    counts = sorted({c for c in (args.memory_units // 100, args.memory_units // 10, args.memory_units) if c > 0})
    pool = [json.dumps(unit, ensure_ascii=False, default=str) for unit in synthetic.units(policy, 2000, seed=11)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.jsonl"
        with path.open("w", encoding="utf-8") as fh:  # generated units, cycled, each with its own id
            for index in range(counts[-1]):
                line = pool[index % len(pool)]
                fh.write(f'{{"id": "b{index}", ' + line[line.index('"name"'):] + "\n")
        size = path.stat().st_size
        print(f"  units file: {counts[-1]:,} units, {size / 1e6:,.0f} MB of JSON Lines")
        out["file_mb"] = size / 1e6
        for count in counts:
            out[str(count)] = peak_of_batch(path, count)
            row = out[str(count)]
            print(f"  {count:>10,} units streamed from JSON Lines: peak RSS {row['peak_rss_mb']:7.1f} MB, "
                  f"{row['seconds']:7.1f} s ({count / row['seconds']:,.0f} units/s)")
    return out


def peak_of_batch(path: Path, count: int) -> dict[str, float]:
    """Peak RSS of a fresh process that streams the first ``count`` units of ``path`` through evaluate_many."""
    code = f"""
import itertools, resource, sys, time
import kaohe_rules
from kaohe_rules.unitio import read_units
policy = kaohe_rules.load({str(POLICY)!r})
start = time.perf_counter()
rows = (row.unit for row in read_units({str(path)!r}) if row.unit is not None)
n = 0
for item in policy.evaluate_many(itertools.islice(rows, {count})):
    n += 1
    if item.result is not None:
        item.result.rating
elapsed = time.perf_counter() - start
print(n, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, elapsed, rss_kb = done.stdout.split()
    assert int(n) == count
    return {"seconds": float(elapsed), "peak_rss_mb": int(rss_kb) / 1024}


# ----------------------------------------------------------------- columnar
#: the columnar suite's policies: label → (policy file, unit generator, hand-written baseline)
COLUMNAR_POLICIES: dict[str, tuple[Path, Callable[..., Any], Callable[[dict[str, Any]], tuple[Any, ...]]]] = {
    "seed-core": (SEED_CORE, synthetic.seed_core_units, seed_core_baseline.assess),
    "Karamay 2013": (POLICY, synthetic.units, karamay_baseline.assess),
}


def _cache_dir(args: argparse.Namespace) -> Path:
    path = Path(args.cache_dir) if args.cache_dir else Path(tempfile.gettempdir()) / "kaohe-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def units_parquet(label: str, policy_path: Path, policy: Any, generate: Callable[..., Any], count: int,
                  args: argparse.Namespace) -> tuple[Path, float]:
    """The Parquet file of ``count`` generated units (seed 2013), made once and kept in the cache directory
    under a name that changes with the policy, the generator, the table layout and the count; the seconds
    spent making it (0 when it was cached)."""
    import hashlib

    import tables

    digest = hashlib.sha256()
    for source in (policy_path, HERE / "synthetic.py", HERE / "tables.py"):
        digest.update(source.read_bytes())
    digest.update(f"{count}:2013".encode())
    slug = "seed-core" if label == "seed-core" else "karamay"
    path = _cache_dir(args) / f"{slug}-{count}-{digest.hexdigest()[:12]}.parquet"
    if path.exists() and not args.fresh:
        return path, 0.0
    start = time.perf_counter()
    partial = path.with_suffix(".partial")
    tables.write_parquet(policy.checked, generate(policy, count, seed=2013), partial)
    partial.replace(path)
    return path, time.perf_counter() - start


def columnar_process(policy_path: Path, parquet: Path, batch_rows: int) -> dict[str, Any]:
    """benchmarks/columnar_run.py in a fresh process (its peak RSS is the columnar run's alone)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))))
    done = subprocess.run([sys.executable, str(HERE / "columnar_run.py"), str(policy_path), str(parquet),
                           "--batch-rows", str(batch_rows)], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the columnar run failed:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _check_table(policy: Any, parquet: Path, units: list[dict[str, Any]],
                 assess: Callable[[dict[str, Any]], tuple[Any, ...]]) -> None:
    """The columnar results of the file's first rows equal the per-unit evaluator's and the baseline's, or
    the figures would compare different work."""
    import warnings

    import pyarrow.parquet as pq

    from kaohe_rules.columnar import differences, result_columns

    batch = next(pq.ParquetFile(parquet).iter_batches(batch_size=len(units)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kaohe_rules.ColumnarFallbackWarning)
        actual = policy.evaluate_table(batch)
    columns = result_columns(policy.checked)
    expected = columns.frame(columns.row(policy.evaluate(unit)) for unit in units)
    problems = differences(expected, actual)
    assert problems == [], problems[:5]
    for unit, score, rating in zip(units, actual["score"], actual["rating"], strict=True):
        raw = assess(unit)
        assert (raw[0], raw[6]) == (score, rating), unit["id"]


def bench_columnar(args: argparse.Namespace) -> dict[str, Any]:
    """The columnar engine (issue #13) on N generated units per policy, against the per-unit contenders."""
    zen_ok = zen_seed_core.available()
    if not zen_ok:
        print("\n(zen-engine is not installed: `bash dev.sh bench` installs it; its figures are left out)")
    results: dict[str, Any] = {}
    for label, (path, generate, assess) in COLUMNAR_POLICIES.items():
        policy = kaohe_rules.load(path)
        parquet, made = units_parquet(label, path, policy, generate, args.memory_units, args)
        sample = list(generate(policy, min(args.columnar_sample, args.memory_units), seed=2013))
        _check_table(policy, parquet, sample[: min(len(sample), 500)], assess)
        zen = (zen_seed_core.load_decision(), [zen_seed_core.zen_input(u) for u in sample]) \
            if zen_ok and label == "seed-core" else None
        results[label] = _columnar_rounds(label, policy, path, parquet, made, sample, assess, zen, args)
    return results


def _columnar_rounds(label: str, policy: Any, path: Path, parquet: Path, made: float, units: list[dict[str, Any]],
                     assess: Callable[[dict[str, Any]], tuple[Any, ...]], zen: tuple[Any, list[str]] | None,
                     args: argparse.Namespace) -> dict[str, Any]:
    def baseline() -> int:
        for unit in units:
            baseline_read(assess(unit))
        return len(units)

    def loop() -> int:
        evaluate = policy.evaluate
        for unit in units:
            full_read(evaluate(unit))
        return len(units)

    def many() -> int:
        count = 0
        for item in policy.evaluate_many(units):
            full_read(item.result)
            count += 1
        return count

    contenders: dict[str, Callable[[], int]] = {"hand-written baseline": baseline, "evaluate + full read": loop,
                                                "evaluate_many + full read": many}
    if zen is not None:
        decision, texts = zen

        def zen_engine() -> int:
            evaluate = decision.evaluate
            for text in texts:
                out = evaluate(text)["result"]
                out["score"], out["rating"]  # noqa: B018
            return len(texts)

        contenders["zen-engine"] = zen_engine
    for run in contenders.values():  # warm every path
        run()
    before = (args.columnar_rounds + 1) // 2  # half the rounds before the columnar run, half after: drift hits both
    gc.collect()
    gc.freeze()
    try:
        times = interleaved(contenders, before)
        columnar = columnar_process(path, parquet, args.batch_rows)
        later = interleaved(contenders, args.columnar_rounds - before)
    finally:
        gc.unfreeze()
    for name, values in later.items():
        times[name].extend(values)
    median = {name: statistics.median(values) for name, values in times.items()}
    per_unit = columnar["seconds"] / columnar["units"]
    base = median["hand-written baseline"]
    size = parquet.stat().st_size
    print(f"\nColumnar engine — {label}: {columnar['units']:,} generated units in Parquet ({size / 1e6:,.1f} MB"
          f"{'' if made == 0 else f', made in {made:,.0f} s'}), record batches of {args.batch_rows:,} rows; "
          f"per-unit contenders on the first {len(units):,} units, median of {args.columnar_rounds} interleaved rounds")
    out: dict[str, Any] = {"units": columnar["units"], "parquet_mb": size / 1e6}
    for name in ("hand-written baseline", "zen-engine", "evaluate + full read", "evaluate_many + full read"):
        if name not in median:
            continue
        text = f"  {name:<38} {fmt_us(median[name]):>12} per unit"
        row = {"median_us": median[name] * 1e6}
        if name != "hand-written baseline":
            row["ratio"] = statistics.median(v / b for v, b in zip(times[name], times["hand-written baseline"],
                                                                   strict=True))
            text += f"   {row['ratio']:6.2f}× baseline"
        print(text)
        out[name] = row
    ratio = per_unit / base
    print(f"  {'evaluate_table (Parquet, streamed)':<38} {fmt_us(per_unit):>12} per unit   {ratio:6.2f}× baseline   "
          f"(Parquet read alone {fmt_us(columnar['read_seconds'] / columnar['units'])})")
    out["evaluate_table"] = {"median_us": per_unit * 1e6, "ratio": ratio, "read_us":
                             columnar["read_seconds"] / columnar["units"] * 1e6}
    speedups = [f"{base / per_unit:,.2f}× the hand-written baseline's (goal ≥ 3×)"]
    out["throughput_vs_baseline"] = base / per_unit
    if "zen-engine" in median:
        out["throughput_vs_zen"] = median["zen-engine"] / per_unit
        speedups.append(f"{out['throughput_vs_zen']:,.1f}× zen-engine's (goal ≥ 10×)")
    out["throughput_vs_many"] = median["evaluate_many + full read"] / per_unit
    speedups.append(f"{out['throughput_vs_many']:,.1f}× evaluate_many's")
    print(f"  columnar throughput: {', '.join(speedups)}")
    if zen is not None:  # how much of a zen call is the engine itself (its own clock), how much the Python binding
        internal = zen_seed_core.internal_us(zen[0], zen[1])
        out["zen-engine"]["internal_us"] = internal
        print(f"  zen-engine's own evaluation time (its `performance` field): {internal:,.1f} µs per unit "
              f"({internal / (median['zen-engine'] * 1e6):.0%} of the call; the rest is the Python binding) — "
              f"columnar throughput {internal / 1e6 / per_unit:,.1f}× that")
    engines = ", ".join(f"{n:,} {engine}" for engine, n in sorted(columnar["engines"].items()))
    print(f"  peak RSS of the columnar run: {columnar['peak_rss_mb']:,.0f} MB ({columnar['rss_before_mb']:,.0f} MB "
          f"after import, load and a read-only pass); rows assessed: {engines}; columnar program compiled in "
          f"{columnar['compile_seconds'] * 1e3:,.0f} ms; fully vectorised: {'yes' if columnar['vectorised'] else 'no'}")
    for message in columnar["fallbacks"]:
        print(f"  fallback warning: {message}")
    out.update({key: columnar[key] for key in ("peak_rss_mb", "rss_before_mb", "engines", "statuses", "ratings",
                                                "fallbacks", "vectorised", "compile_seconds")})
    return out


# ------------------------------------------------------------------ explain
def bench_explain(args: argparse.Namespace) -> dict[str, Any]:
    """``explain()`` over a report of N units (issue #13's goal: 10,000 units at ≥ 5,000 units/s)."""
    out: dict[str, Any] = {}
    count = args.explain_report
    print(f"\nexplain() for a {count:,}-unit report (generated units; results evaluated first, then explained)")
    for label, (path, generate, _assess) in COLUMNAR_POLICIES.items():
        policy = kaohe_rules.load(path)
        units = list(generate(policy, count, seed=2013))
        for unit in units[:50]:  # warm the paths
            policy.evaluate(unit).explain()
        gc.collect()
        start = time.perf_counter()
        results = [policy.evaluate(unit) for unit in units]
        evaluated = time.perf_counter() - start
        start = time.perf_counter()
        chars = sum(len(result.explain()) for result in results)
        explained = time.perf_counter() - start
        # the same report by the reference renderer (the event tree explain() read before its fast path), on
        # fresh results: the before/after of issue #13's fast renderer in one run
        results = [policy.evaluate(unit) for unit in units]
        gc.collect()
        start = time.perf_counter()
        reference_chars = sum(len(_reference_explain(result)) for result in results)
        referenced = time.perf_counter() - start
        assert reference_chars == chars, "the fast and reference renderers disagree"
        out[label] = {"units": count, "explain_units_per_s": count / explained,
                      "evaluate_and_explain_units_per_s": count / (evaluated + explained), "chars": chars,
                      "reference_explain_units_per_s": count / referenced}
        print(f"  {label:<14} explain() {count / explained:>9,.0f} units/s   evaluate + explain() "
              f"{count / (evaluated + explained):>9,.0f} units/s   ({chars / count:,.0f} characters per explanation)")
        print(f"  {'':<14} reference renderer (the event tree) {count / referenced:>9,.0f} units/s: the fast path "
              f"{referenced / explained:,.2f}× as fast")
    return out


def _reference_explain(result: Any) -> str:
    """``result.explain()`` by the reference renderer: the partial event tree, then ``explain.explain`` over it."""
    from kaohe_rules.runtime.explain import explain
    from kaohe_rules.runtime.trace import build_trace

    events = result.trace_events
    if events is None:
        events = result.program.traced_events(result.category, result.facts, result._passed_standing)
    return explain(result, trace=build_trace(result.program, result._plan, result, events, explanation=True))


# ------------------------------------------------------------------- cohort
def bench_cohort(args: argparse.Namespace) -> dict[str, Any]:
    import cohort

    figures: dict[str, Any] = cohort.measure(args.cohort_units)
    return figures


# --------------------------------------------------------------------- main
SUITES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "speed": bench_speed, "users": bench_users, "load": bench_load, "growth": bench_growth, "workers": bench_workers, "memory": bench_memory,
    "cohort": bench_cohort, "columnar": bench_columnar, "explain": bench_explain,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bash dev.sh bench", description=__doc__.split("\n\n")[0])
    p.add_argument("suites", nargs="*", default=[], metavar="SUITE",
                   help="speed, users, load, growth, workers, memory, cohort, columnar, explain or all "
                        "(default: speed users load columnar explain)")
    p.add_argument("--rounds", type=int, default=15, help="interleaved rounds (speed)")
    p.add_argument("--min-units", type=int, default=3000, help="units per contender per round (speed)")
    p.add_argument("--synthetic", type=int, default=600, help="generated units in the speed workload")
    p.add_argument("--explain-units", type=int, default=60,
                   help="units explained per contender per round (users; explain() is the slow one)")
    p.add_argument("--breakdown", action="store_true",
                   help="users: also time each part of the full read alone (sections, vetoes, deferred, consequences, "
                        "targets)")
    p.add_argument("--load-rounds", type=int, default=15)
    p.add_argument("--targets", type=_ints, default=[10, 100, 1000, 10000])
    p.add_argument("--items", type=_ints, default=[1, 10, 100, 1000, 10000, 100000])
    p.add_argument("--workers", type=_ints, default=[1, 2])
    p.add_argument("--worker-units", type=int, default=20000)
    p.add_argument("--units", dest="memory_units", type=int, default=100000,
                   help="units in the memory and columnar runs (1000000 for the full figures)")
    p.add_argument("--batch-rows", type=int, default=131_072, help="columnar: rows per record batch")
    p.add_argument("--columnar-sample", type=int, default=2000,
                   help="columnar: units the per-unit contenders (baseline, zen, evaluate, evaluate_many) evaluate")
    p.add_argument("--columnar-rounds", type=int, default=6, help="columnar: interleaved rounds of the per-unit contenders")
    p.add_argument("--explain-report", type=int, default=10_000, help="explain: units in the report")
    p.add_argument("--cache-dir", help="columnar: where the generated Parquet files are kept "
                                       "(default: kaohe-bench in the temporary directory)")
    p.add_argument("--fresh", action="store_true", help="columnar: generate the Parquet files again")
    p.add_argument("--cohort-units", type=int, default=1_000_000, help="units in the cohort run")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    if not args.suites:
        args.suites = ["speed", "users", "load", "columnar", "explain"]
    if "all" in args.suites:
        args.suites = list(SUITES)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        p.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)} or all")
    return args


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"kaohe_rules {kaohe_rules.__version__} benchmarks — {datetime.date.today().isoformat()} — {machine()}")
    figures: dict[str, Any] = {"date": datetime.date.today().isoformat(), "machine": machine()}
    for suite in args.suites:
        figures[suite] = SUITES[suite](args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
