"""What DataFrames cost (issue #15): reading a clerk-shaped frame against reading the same sheet as CSV, and
``evaluate_frame`` against ``evaluate_many`` + ``results_frame`` and the columnar ``evaluate_table``.

    python benchmarks/frames.py [--units 2000] [--rounds 2]

Synthetic units (benchmarks/synthetic.py) of seed-core and Karamay, written as a sheet would hold them: every
fact as text, lists of records as JSON text.  Each figure is microseconds per unit, the contenders of a round
measured one after another in the same process (the machine is shared: compare within a round).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
import synthetic  # noqa: E402

import kaohe_rules  # noqa: E402
from kaohe_rules.columnar.stream import exact_frame  # noqa: E402
from kaohe_rules.unitio import Expect, read_units  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def sheet_row(unit: dict[str, object]) -> dict[str, object]:
    facts = unit["facts"]
    assert isinstance(facts, dict)
    row: dict[str, object] = {"id": unit["id"], "category": unit.get("category")}
    for key, value in facts.items():
        row[key] = (json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, dict))
                    else None if value is None else str(value))
    return row


def timed(work: object) -> float:
    start = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - start


def measure(name: str, policy: kaohe_rules.Policy, units: list[dict[str, object]], rounds: int) -> None:
    frame = pd.DataFrame([sheet_row(u) for u in units])
    typed, _ = exact_frame(units)  # the units as an exact typed table (what kaohe eval --format parquet builds)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "units.csv"
        frame.to_csv(path, index=False)
        expect = Expect.of(policy.checked, policy.program.ledgers)
        n = len(units)
        for index in range(rounds):
            figures = {
                "read CSV file": timed(lambda: list(read_units(path, expect=expect))),
                "units_from_frame": timed(lambda: policy.units_from_frame(frame)),
                "evaluate_frame": timed(lambda: policy.evaluate_frame(frame)),
                "evaluate_many+results_frame": timed(lambda: policy.results_frame(policy.evaluate_many(units))),
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                figures["evaluate_table (typed)"] = timed(lambda: policy.evaluate_table(typed))
            shown = ", ".join(f"{key} {value / n * 1e6:,.0f}" for key, value in figures.items())
            print(f"{name} round {index + 1} ({n} units, µs/unit): {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    seed = kaohe_rules.load(ROOT / "benchmarks" / "seed-core.kh")
    measure("seed-core", seed, list(synthetic.seed_core_units(seed, args.units)), args.rounds)
    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    measure("karamay-2013", karamay, list(synthetic.units(karamay, args.units)), args.rounds)


if __name__ == "__main__":
    main()
