"""``kaohe eval`` shows reported lets (issue #10) as columns of the 通报 table and the CSV,
and the outcomes for every rating that applied in the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import ROOT, run

POLICY = ROOT / "tests" / "data" / "interpreter" / "consequences.kh"
UNITS = [{"id": "a", "category": "部门", "facts": {"限额": {"次数": 1}, "扣分": 5, "奖励基数": "10000",
                                                  "季度考核": [{"等次": "差"}, {"等次": "差"}]}},
         {"id": "b", "category": "县区", "facts": {"限额": {"次数": 5}, "通报": True}}]


@pytest.fixture
def units(tmp_path: Path) -> Path:
    path = tmp_path / "units.json"
    path.write_text(json.dumps(UNITS, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_table_has_reported_and_further_columns(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "eval", POLICY, units)
    assert code == 0, err
    assert "移交  不满意次数  有满意季度  其他奖惩" in out
    assert "通报批评" in out and "季度连续两次不满意的，警示约谈；超过限额；扣减奖金" in out


def test_the_csv_has_a_column_per_reported_let(capsys: pytest.CaptureFixture[str], units: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, _, err = run(capsys, "eval", POLICY, units, "--format", "csv", "-o", target)
    assert code == 0, err
    header, *rows = target.read_text(encoding="utf-8-sig").splitlines()
    assert header.split(",")[12:15] == ["金额（元）", "不满意次数", "有满意季度"]
    unit_a = next(row.split(",") for row in rows if row.split(",")[3] == "a")
    assert unit_a[12:15] == ["7800.00", "2", "否"]


def test_json_lines_carry_them(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "eval", POLICY, units, "--format", "jsonl")
    assert code == 0, err
    first = json.loads(out.splitlines()[0])
    assert first["reported"]["不满意次数"]["value"] == 2
    assert [i["name"] for c in first["general_consequences"] for i in c["items"]] == ["警示约谈", "超限", "扣减"]
