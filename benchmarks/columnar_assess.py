"""µs per unit of the columnar compiler's ``assess`` on canonical rows (issue #13), for both policies.

    python benchmarks/columnar_assess.py [--units 1000000] [--pool 2000]

The canonical frame is built once, outside the timing: a pool of synthetic units (benchmarks/synthetic.py,
the generator the other benchmarks use) read by the reference reader, then repeated to ``--units`` rows.
What is timed is ``ColumnarProgram.assess`` alone — the compiled expressions over canonical columns, the
results table in its exact schema — not reading a clerk's table (that is ``read_canonical``'s, measured by
``bash dev.sh bench``).  Also the per-unit ``policy.evaluate`` loop on the pool, for a ratio in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import polars as pl  # noqa: E402
import synthetic  # noqa: E402

import kaohe_rules  # noqa: E402
from kaohe_rules.columnar.canonical import Canonical, reference_canonical  # noqa: E402


def canonical_rows(policy: kaohe_rules.Policy, units: list[dict[str, object]], rows: int) -> Canonical:
    pool = reference_canonical(policy.checked, policy.assess_row, units)
    frame = pool.frame.filter(pool.clean)
    repeat = -(-rows // frame.height)
    big = pl.concat([frame] * repeat).head(rows)
    big = big.with_columns(pl.format("u{}", pl.int_range(pl.len())).alias("__id"))
    return Canonical(big, pl.Series("clean", [True] * big.height))


def measure(name: str, path: Path, rows: int, pool: int) -> None:
    policy = kaohe_rules.load(path)
    program = policy.columnar_program()
    if "seed-core" in path.name:
        units = list(synthetic.seed_core_units(policy, pool))
    else:
        units = list(synthetic.units(policy, pool))
    canonical = canonical_rows(policy, units, rows)
    program.assess(canonical.__class__(canonical.frame.head(100), canonical.clean.head(100)))  # warm up
    start, cpu = time.perf_counter(), time.process_time()
    results, per_unit = program.assess(canonical)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    for unit in units:
        policy.evaluate(unit)
    loop = (time.perf_counter() - start) / len(units)
    columnar = elapsed / rows
    print(f"{name}: vectorised={program.support.vectorised} rows={rows} assess {elapsed:.2f} s = "
          f"{columnar * 1e6:.2f} µs/unit (CPU of all threads {cpu / rows * 1e6:.2f} µs/unit); per unit (evaluate loop) {loop * 1e6:.2f} µs/unit; "
          f"ratio {loop / columnar:.1f}x; rows sent per unit {int(per_unit.sum())}; results {results.shape}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--policy", choices=("seed-core", "karamay", "both"), default="both")
    args = parser.parse_args()
    if args.policy in ("seed-core", "both"):
        measure("seed-core", ROOT / "benchmarks" / "seed-core.kh", args.units, args.pool)
    if args.policy in ("karamay", "both"):
        measure("karamay-2013", ROOT / "policies" / "karamay-2013.kh", args.units, args.pool)


if __name__ == "__main__":
    main()
