"""One columnar run in a fresh process: a Parquet file of units through ``policy.evaluate_table``, streamed.

``python benchmarks/columnar_run.py POLICY UNITS.parquet [--batch-rows N]`` prints one JSON object:
the unit count, the wall time of the run (Parquet read + evaluate_table per record batch + one read of
the results) and its CPU time (every thread of the process: what the run costs on a shared machine,
where the wall time also counts waiting for a core), the time of a read-only pass over the same file,
the compile time of the columnar program, the peak RSS of the process (``ru_maxrss``, which counts polars' and Arrow's native memory that
tracemalloc cannot see) and the RSS it had before the run, how many rows each engine assessed, the
ratings' counts (a checksum the benchmark compares across runs) and the fallback warnings, if any.

It runs in its own process so that the peak memory is the columnar run's alone (the benchmark's own
process holds the per-unit contenders' units).  benchmarks/run.py's ``columnar`` suite calls it; run it by
hand on any file (``--units 1000000`` files are kept in the benchmark's cache directory).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from collections import Counter
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run(policy_path: str, parquet: str, batch_rows: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    import kaohe_rules

    policy = kaohe_rules.load(policy_path)
    start = time.perf_counter()
    policy.columnar_program()
    compile_s = time.perf_counter() - start

    start = time.perf_counter()  # a read-only pass: what reading the file costs (and the page cache warmed alike)
    rows = sum(batch.num_rows for batch in pq.ParquetFile(parquet).iter_batches(batch_size=batch_rows))
    read_s = time.perf_counter() - start

    rss_before = _rss_mb()
    engines: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    ratings: Counter[str] = Counter()
    count = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", kaohe_rules.ColumnarFallbackWarning)
        start, cpu = time.perf_counter(), time.process_time()
        for batch in pq.ParquetFile(parquet).iter_batches(batch_size=batch_rows):
            out = policy.evaluate_table(batch, batch_rows=batch_rows)
            count += out.height
            for column, counter in (("engine", engines), ("status", statuses), ("rating", ratings)):
                for value, n in out[column].value_counts().iter_rows():
                    counter[str(value)] += n
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert count == rows, (count, rows)
    fallbacks = sorted({str(w.message) for w in caught if issubclass(w.category, kaohe_rules.ColumnarFallbackWarning)})
    return {"units": count, "seconds": elapsed, "cpu_seconds": cpu, "read_seconds": read_s, "compile_seconds": compile_s,
            "rss_before_mb": rss_before, "peak_rss_mb": _rss_mb(), "engines": dict(engines),
            "statuses": dict(statuses), "ratings": dict(ratings), "fallbacks": fallbacks,
            "vectorised": bool(getattr(policy.columnar_program().support, "vectorised", False))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("policy")
    p.add_argument("parquet")
    p.add_argument("--batch-rows", type=int, default=131_072)
    args = p.parse_args(argv)
    print(json.dumps(run(args.policy, args.parquet, args.batch_rows), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
