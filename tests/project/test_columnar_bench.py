"""The columnar benchmark runs (issue #13): a smoke run of ``bash dev.sh bench columnar explain`` on 200 units.

No timing is asserted (CI machines vary); what is checked is that the suite generates the Parquet
files, streams them through ``evaluate_table`` in a fresh process (checking its first rows against the
per-unit evaluator and the hand-written baseline), and reports every figure the issue asks for: the
per-unit contenders, the columnar time and its ratios, the peak RSS, and explain() throughput.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_the_columnar_benchmark_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import run
    import zen_seed_core

    figures = tmp_path / "figures.json"
    assert run.main(["columnar", "explain", "--units", "200", "--columnar-sample", "30", "--columnar-rounds", "1",
                     "--explain-report", "10", "--batch-rows", "64", "--cache-dir", str(tmp_path),
                     "--json", str(figures)]) == 0
    out = capsys.readouterr().out
    for policy in ("seed-core", "Karamay 2013"):
        assert f"Columnar engine — {policy}: 200 generated units in Parquet" in out
    for line in ("hand-written baseline", "evaluate + full read", "evaluate_many + full read",
                 "evaluate_table (Parquet, streamed)", "× the hand-written baseline's", "peak RSS",
                 "explain() for a 10-unit report", "units/s"):
        assert line in out, line
    assert ("zen-engine's (goal ≥ 10×)" in out) == zen_seed_core.available()
    data = json.loads(figures.read_text(encoding="utf-8"))
    for label in ("seed-core", "Karamay 2013"):
        row = data["columnar"][label]
        assert row["units"] == 200 and sum(row["engines"].values()) == 200  # every row assessed, none lost
        assert row["statuses"] == {"assessed": 200} and row["peak_rss_mb"] > 0
    assert len(list(tmp_path.glob("*.parquet"))) == 2  # the generated files are kept for the next run
