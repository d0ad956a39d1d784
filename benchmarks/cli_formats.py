"""Throughput and peak memory of ``kaohe eval`` per output format, against ``evaluate_many``.

    python benchmarks/cli_formats.py --units 20000 [--formats jsonl table csv xlsx json]

Generates ``--units`` units (benchmarks/synthetic.py) into a JSON Lines file, then runs,
each in a fresh process (peak RSS from ``getrusage``), the baseline — the file read with
``unitio.read_units`` and streamed through ``Policy.evaluate_many``, each rating read —
and ``kaohe eval FILE --format F`` with the output discarded.  The figures go in
docs/performance.md ("The command line per output format"); never in a timed unit test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import kaohe_rules  # noqa: E402
import synthetic  # noqa: E402

POLICY = ROOT / "policies" / "karamay-2013.kh"

BASELINE = """
import resource, sys, time
import kaohe_rules
from kaohe_rules.unitio import read_units
policy = kaohe_rules.load(sys.argv[1])
start = time.perf_counter()
n = 0
for item in policy.evaluate_many(row.unit for row in read_units(sys.argv[2]) if row.unit is not None):
    n += 1
    if item.result is not None:
        item.result.rating
print(n, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

WRAPPED = """
import resource, sys, time
from kaohe_rules.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - start
sys.stdout.flush()
print(code, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def run(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of ``kaohe`` in a fresh process, output discarded (it reports its own figures)."""
    done = subprocess.run([sys.executable, "-c", WRAPPED, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=False, cwd=ROOT)
    _, elapsed, rss = done.stderr.strip().splitlines()[-1].split()
    return float(elapsed), int(rss) / 1024


def baseline(policy: Path, units: Path) -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", BASELINE, str(policy), str(units)], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    _, elapsed, rss = done.stdout.split()
    return float(elapsed), int(rss) / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--units", type=int, default=20000)
    p.add_argument("--formats", nargs="*", default=["jsonl", "table", "csv", "xlsx", "json"])
    args = p.parse_args()
    policy = kaohe_rules.load(str(POLICY))
    pool = [json.dumps(u, ensure_ascii=False, default=str) for u in synthetic.units(policy, 2000, seed=11)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.jsonl"
        with path.open("w", encoding="utf-8") as fh:  # generated units, cycled, each with its own id
            for index in range(args.units):
                line = pool[index % len(pool)]
                fh.write(f'{{"id": "b{index}", ' + line[line.index('"name"'):] + "\n")
        base_s, base_mb = baseline(POLICY, path)
        print(f"{args.units:,} units; evaluate_many (read + assess): {base_s:6.2f} s  "
              f"{args.units / base_s:8,.0f} units/s  peak {base_mb:7.1f} MB")
        for fmt in args.formats:
            out = Path(tmp) / f"out.{fmt}"
            extra = ["-o", str(out), "--force"] if fmt in ("xlsx", "csv") else []
            start = time.perf_counter()
            seconds, mb = run(["eval", str(POLICY), str(path), "--format", fmt, "--quiet", *extra])
            wall = time.perf_counter() - start
            print(f"  kaohe eval --format {fmt:<5}: {seconds:6.2f} s  {args.units / seconds:8,.0f} units/s  "
                  f"{seconds / base_s:4.2f}× evaluate_many  peak {mb:7.1f} MB  (process {wall:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
