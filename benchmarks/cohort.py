"""The cohort stage on many units: ``bash dev.sh bench cohort [--cohort-units N]`` or ``python benchmarks/cohort.py``.

1,000,000 generated rows (by default) go through the cohort engine exactly as
``Policy.evaluate_cohort`` and the streaming driver send them: a generator of
:class:`RankRow` into :func:`rank_rows`, then a generator of :class:`QuotaRow` into
:func:`apply_quotas`, then every standing read once.  The rows are made on the fly from
small pools of Decimals (as a real pass 1 makes them from results), so the engine's
own state is what memory measures.  Three categories (县区 10%, 部门 30%, 企业 60%),
two keys (final score with one decimal place, then an accident count lower first),
10% of the units unranked (they fail ``among``), four bands (42% of the units
score 优秀 before quotas, 33% 良好), quotas
``优秀 at most 30%`` and ``良好 at most 40% of ranked``.

Printed (and returned for ``--json``): seconds per step, units per second, the peak
RSS of the process (``ru_maxrss``, a fresh interpreter per run so nothing else is in
it), and with tracemalloc (a second run: it slows Python allocation) the peak bytes
the engine allocated per unit and the bytes per unit the finished standings hold.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's kaohe_rules, not an installed one

from kaohe_rules.cohort import apply_quotas, rank_rows  # noqa: E402
from kaohe_rules.runtime.standing import CategoryCohort, CohortSpec, QuotaRow, QuotaRule, RankRow  # noqa: E402

CATEGORIES = (("县区", 1), ("部门", 3), ("企业", 6))  # weights out of 10
SPEC = CohortSpec("综合排名", tuple(
    CategoryCohort(name, 4, (QuotaRule(0, None, Decimal("0.3"), False, 0), QuotaRule(1, None, Decimal("0.4"), True, 1)))
    for name, _ in CATEGORIES), 2)
SCORES = [Decimal(s) / 10 for s in range(400, 1001)]  # 40.0 … 100.0
DEATHS = [Decimal(-d) for d in range(6)]


def _category(i: int) -> str:
    slot = i % 10
    return "县区" if slot == 0 else "部门" if slot < 4 else "企业"


def _score(i: int) -> Decimal:
    return SCORES[(i * 7919) % len(SCORES)]


def rank_rows_of(n: int) -> Iterator[RankRow]:
    for i in range(n):
        score = _score(i)
        yield RankRow(f"unit-{i:07d}", _category(i), (i // 10) % 10 != 7, (score, DEATHS[(i * 31) % 6]), score)


def quota_rows_of(n: int) -> Iterator[QuotaRow]:
    for i in range(n):
        score = _score(i)
        band = 0 if score >= 75 else 1 if score >= 55 else 2 if score >= 45 else 3  # 42% hold 优秀, 33% 良好
        yield QuotaRow(f"unit-{i:07d}", _category(i), band)


def run(n: int, trace_memory: bool) -> dict[str, Any]:
    """One measured run in this process."""
    out: dict[str, Any] = {"units": n}
    if trace_memory:
        import tracemalloc

        tracemalloc.start()
    start = time.perf_counter()
    for _ in rank_rows_of(n):
        pass
    for _ in quota_rows_of(n):
        pass
    out["generate_s"] = time.perf_counter() - start
    if trace_memory:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    standings = rank_rows(rank_rows_of(n), SPEC)
    out["rank_s"] = time.perf_counter() - start
    if trace_memory:
        current, peak = tracemalloc.get_traced_memory()
        out["rank_peak_bytes_per_unit"] = (peak - base) / n
        out["standings_bytes_per_unit"] = (current - base) / n
        tracemalloc.reset_peak()
    start = time.perf_counter()
    final = apply_quotas(quota_rows_of(n), standings, SPEC)
    out["quota_s"] = time.perf_counter() - start
    if trace_memory:
        current, peak = tracemalloc.get_traced_memory()
        out["quota_peak_bytes_per_unit"] = (peak - base) / n
        out["both_standings_bytes_per_unit"] = (current - base) / n
    del standings
    start = time.perf_counter()
    demoted = sum(1 for unit in final if final[unit].demoted_to is not None)
    out["read_s"] = time.perf_counter() - start
    out["demoted"] = demoted
    out["categories"] = {name: [c.unit_count, c.ranked_count, str(c.best), str(c.average)]
                         for name, c in final.categories.items()}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


POLICY = """policy 排名基准 { }
category 县区 total 100 { section 甲 100 }
category 部门 total 100 { section 甲 100 }
ratings { 优秀 良好 合格 不合格 } vetoed 不合格
bands 县区 { 优秀 [90, 100] 良好 [80, 90) 合格 [60, 80) 不合格 [0, 60) }
bands 部门 { 优秀 [90, 100] 良好 [80, 90) 合格 [60, 80) 不合格 [0, 60) }
fact 扣分: decimal in 0..100 "扣分"
fact 死亡人数: int >= 0 = 0 "死亡人数"
target t "得分" in 县区.甲 points 100, 部门.甲 points 100 { deduct 扣分 }
cohort 综合排名 "年度考核排名" {
  by score, 死亡人数 lower first
  ties share
  quota 优秀 at most 30%
}
"""


def stream_child(path: str, how: str) -> dict[str, Any]:
    """One whole file through the streaming driver (``stream``) or ``evaluate_cohort`` (``list``)."""
    import kaohe_rules
    from kaohe_rules.cohort.stream import evaluate_cohort_file
    from kaohe_rules.unitio import read_units

    policy = kaohe_rules.load(POLICY)
    start = time.perf_counter()
    count = ok = 0
    if how == "stream":
        items: Any = evaluate_cohort_file(policy, path)
    else:
        items = policy.evaluate_cohort([row.unit for row in read_units(path) if row.unit is not None])
    for item in items:
        count += 1
        ok += item.result is not None and item.result.standing.rank is not None
    return {"seconds": time.perf_counter() - start, "units": count, "ranked": ok,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_stream(n: int) -> dict[str, Any]:
    """Peak RSS of a whole file assessed in its cohort: the streaming driver against evaluate_cohort."""
    import tempfile

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(n):
                category = "县区" if i % 4 == 0 else "部门"
                fh.write(json.dumps({"id": f"u{i}", "category": category,
                                     "facts": {"扣分": f"{(i * 7919) % 600 / 10:.1f}", "死亡人数": i % 3}},
                                    ensure_ascii=False) + "\n")
        print(f"\nA cohort policy's file of {n:,} units (JSON Lines, {path.stat().st_size / 1e6:,.0f} MB), "
              "each in a fresh process:")
        for how in ("stream", "list"):
            done = subprocess.run([sys.executable, __file__, "--stream-child", how, str(path)],
                                  capture_output=True, text=True, check=True)
            row = figures[how] = json.loads(done.stdout)
            label = "streaming driver (cohort/stream.py)" if how == "stream" else "policy.evaluate_cohort(list)"
            print(f"  {label:38} {row['seconds']:7.1f} s  ({n / row['seconds']:,.0f} units/s), "
                  f"peak RSS {row['peak_rss_mb']:,.0f} MB")
    return figures


def measure(n: int) -> dict[str, Any]:
    """Both runs, each in a fresh interpreter; printed as it goes."""
    figures: dict[str, Any] = {}
    for label, traced in (("timed", False), ("tracemalloc", True)):
        done = subprocess.run([sys.executable, __file__, "--child", str(n)] + (["--trace-memory"] if traced else []),
                              capture_output=True, text=True, check=True)
        figures[label] = json.loads(done.stdout)
    t, m = figures["timed"], figures["tracemalloc"]
    print(f"\nCohort stage, {n:,} units (3 categories, 2 keys, 10% unranked, 2 quotas):")
    print(f"  making the rows (generators, not the engine): {t['generate_s']:6.2f} s")
    print(f"  rank_rows:    {t['rank_s']:6.2f} s  ({n / t['rank_s']:,.0f} units/s, row generation included)")
    print(f"  apply_quotas: {t['quota_s']:6.2f} s  ({n / t['quota_s']:,.0f} units/s); {t['demoted']:,} units demoted")
    print(f"  reading every standing once: {t['read_s']:6.2f} s")
    print(f"  peak RSS of the process: {t['peak_rss_mb']:,.0f} MB")
    print(f"  tracemalloc: rank_rows peak {m['rank_peak_bytes_per_unit']:.0f} B/unit, standings held "
          f"{m['standings_bytes_per_unit']:.0f} B/unit; apply_quotas peak {m['quota_peak_bytes_per_unit']:.0f} B/unit "
          f"(both standings held {m['both_standings_bytes_per_unit']:.0f} B/unit)")
    for name, (units, ranked, best, average) in t["categories"].items():
        print(f"    {name}: {units:,} units, {ranked:,} ranked, best {best}, average {average}")
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("units", nargs="?", type=int, default=1_000_000)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--trace-memory", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--stream", type=int, metavar="N", help="instead: a file of N units through the streaming driver")
    p.add_argument("--stream-child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.stream_child:
        print(json.dumps(stream_child(args.stream_child[1], args.stream_child[0])))
    elif args.stream:
        measure_stream(args.stream)
    elif args.child:
        print(json.dumps(run(args.units, args.trace_memory)))
    else:
        measure(args.units)
    return 0


if __name__ == "__main__":
    sys.exit(main())
