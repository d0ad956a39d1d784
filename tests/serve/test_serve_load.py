"""50 concurrent clients against a real server for 10 s (30 s on demand: benchmarks/serve_load.py).

Every answer must be 200, decided by the served policy's hash, and carry exactly the unit ids its
request sent, in order: no error, no lost, duplicated or mixed-up answer.  The seconds can be raised
with ``KAOHE_SERVE_LOAD_SECONDS`` (the 30-second run of the issue is ``bash dev.sh serve-load``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from serve_runner import POLICIES, ROOT, karamay_units, running

sys.path.insert(0, str(ROOT / "benchmarks"))
from serve_load import drive  # noqa: E402

import kaohe_rules  # noqa: E402


def test_fifty_clients_get_their_own_answers(tmp_path: Path) -> None:
    seconds = float(os.environ.get("KAOHE_SERVE_LOAD_SECONDS", "10"))
    expected = "sha256:" + kaohe_rules.load(POLICIES / "karamay-2013.kh").content_hash
    with running([POLICIES / "karamay-2013.kh"], "--reload-interval", "0", tmp=tmp_path) as server:
        figures = drive(server.base, "/policies/karamay-2013/evaluate", karamay_units(), seconds=seconds,
                        clients=50, expected_hash=expected)
    print(figures)
    assert figures["errors"] == 0 and figures["mismatches"] == 0, figures
    assert figures["requests"] >= 50, figures  # every client was answered at least once
