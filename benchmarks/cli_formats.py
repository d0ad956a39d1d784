"""Throughput and peak memory of ``kaohe eval`` per output format, against ``evaluate_many``.

    python benchmarks/cli_formats.py --units 20000 [--formats jsonl table csv xlsx json]

Generates ``--units`` units (benchmarks/synthetic.py) into a JSON Lines file, then runs,
each in a fresh process (CPU time of the work, from ``time.process_time``: the machine is
shared, and wall time follows the other processes' load; peak RSS from ``getrusage``), the baseline — the policy loaded, the file
read with ``unitio.read_units`` and streamed through ``Policy.evaluate_many``, each rating read —
and ``kaohe eval FILE --format F`` with the output discarded.  The figures go in
docs/performance.md ("The command line per output format"); never in a timed unit test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import synthetic  # noqa: E402

import kaohe_rules  # noqa: E402

POLICY = ROOT / "policies" / "karamay-2013.kh"

BASELINE = """
import resource, sys, time
import kaohe_rules
from kaohe_rules.unitio import read_units
start = time.process_time()  # from loading the policy, as kaohe eval's figure is
policy = kaohe_rules.load(sys.argv[1])
n = 0
for item in policy.evaluate_many(row.unit for row in read_units(sys.argv[2]) if row.unit is not None):
    n += 1
    if item.result is not None:
        item.result.rating
print(n, time.process_time() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

WRAPPED = """
import resource, sys, time
from kaohe_rules.cli import main
start = time.process_time()
code = main(sys.argv[1:])
elapsed = time.process_time() - start
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
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    policy = kaohe_rules.load(str(POLICY))
    pool = [json.dumps(u, ensure_ascii=False, default=str) for u in synthetic.units(policy, 2000, seed=11)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.jsonl"
        with path.open("w", encoding="utf-8") as fh:  # generated units, cycled, each with its own id
            for index in range(args.units):
                line = pool[index % len(pool)]
                fh.write(f'{{"id": "b{index}", ' + line[line.index('"name"'):] + "\n")
        # interleaved rounds, medians: the machine is shared, and a load that comes and goes
        # must fall on every contender alike
        times: dict[str, list[float]] = {"evaluate_many": [], **{f: [] for f in args.formats}}
        peaks: dict[str, float] = {}
        for _ in range(args.rounds):
            seconds, mb = baseline(POLICY, path)
            times["evaluate_many"].append(seconds)
            peaks["evaluate_many"] = max(peaks.get("evaluate_many", 0.0), mb)
            for fmt in args.formats:
                out = Path(tmp) / f"out.{fmt}"
                extra = ["-o", str(out), "--force"] if fmt in ("xlsx", "csv") else []
                seconds, mb = run(["eval", str(POLICY), str(path), "--format", fmt, "--quiet", *extra])
                times[fmt].append(seconds)
                peaks[fmt] = max(peaks.get(fmt, 0.0), mb)
        base = statistics.median(times["evaluate_many"])
        print(f"{args.units:,} units, median of {args.rounds} interleaved rounds")
        for name, values in times.items():
            median = statistics.median(values)
            label = "evaluate_many (read + assess)" if name == "evaluate_many" else f"kaohe eval --format {name}"
            print(f"  {label:<30} {median:7.2f} s CPU  {args.units / median:8,.0f} units/s  "
                  f"{median / base:4.2f}× evaluate_many  peak RSS {peaks[name]:7.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
