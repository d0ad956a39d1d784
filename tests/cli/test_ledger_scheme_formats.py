"""The Ürümqi sample ledger in three input forms gives the same results (issue #16, "the docs show a
ledger in each input format"; docs/schemes/urumqi-2005.md shows these files).

``policies/urumqi-2005/``: ``units.json`` (a document with ``"ledgers"``), ``units.jsonl`` (event lines
``{"ledger": …, "event": …}`` before the unit lines) and ``units.csv`` with ``--ledger 事故台账=事故台账.csv``
(booleans as 是, blanks for the defaults) — one batch, three spellings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import ROOT, run

POLICY = ROOT / "policies" / "urumqi-2005.kh"
SAMPLE = ROOT / "policies" / "urumqi-2005"


def _eval(capsys: pytest.CaptureFixture[str], *args: object) -> dict[str, Any]:
    code, out, err = run(capsys, "eval", POLICY, *args, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["errors"] == []
    return {r["unit"]["id"]: (r["score"], r["rating"], [c["key"] for c in r["charged"]], r["reported"])
            for r in doc["results"]}


def test_the_sample_reads_the_same_from_json_json_lines_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    from_json = _eval(capsys, SAMPLE / "units.json")
    assert from_json["tianshan"][2] == ["U-01", "U-14"] and from_json["toutunhe"][2] == ["U-02"]
    assert _eval(capsys, SAMPLE / "units.jsonl") == from_json
    assert _eval(capsys, SAMPLE / "units.csv", "--ledger", f"事故台账={SAMPLE / '事故台账.csv'}") == from_json


def test_the_csv_ledger_holds_the_json_ledger_row_for_row() -> None:
    import csv

    events = json.loads((SAMPLE / "units.json").read_text(encoding="utf-8"))["ledgers"]["事故台账"]
    with (SAMPLE / "事故台账.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["编号"] for r in rows] == [e["编号"] for e in events]
    lines = [json.loads(line) for line in (SAMPLE / "units.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["event"] for line in lines if "ledger" in line] == events
    assert Path(SAMPLE / "units.csv").read_text(encoding="utf-8").count("\n") == 1 + len(
        json.loads((SAMPLE / "units.json").read_text(encoding="utf-8"))["units"])
