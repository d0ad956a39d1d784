"""The CLI on a cohort policy (issue #11 C): ``kaohe eval`` assesses the file together and its 名次 column is
the cohort rank; ``explain``, ``whynot``, ``report`` and ``whatif`` see each unit within its batch.

The batch is the first cohort case of tests/data/interpreter/cohort.tests.toml (derived there by hand):
A 100 优秀 rank 1, B 97 良好 2, C 97 良好 3, D 95 合格 4, E 80 合格 5; F (企业) not ranked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import ROOT, run

POLICY = ROOT / "tests" / "data" / "interpreter" / "cohort.kh"
UNITS = [{"id": "A", "name": "甲县", "category": "县区", "facts": {"扣分": 0}},
         {"id": "B", "name": "乙县", "category": "县区", "facts": {"扣分": 3}},
         {"id": "C", "name": "丙县", "category": "县区", "facts": {"扣分": 3, "死亡人数": 1}},
         {"id": "D", "name": "丁县", "category": "县区", "facts": {"扣分": 5}},
         {"id": "E", "name": "戊县", "category": "县区", "facts": {"扣分": 20}},
         {"id": "F", "name": "某企业", "category": "企业", "facts": {"扣分": 0}}]


@pytest.fixture
def units(tmp_path: Path) -> Path:
    path = tmp_path / "units.json"
    path.write_text(json.dumps(UNITS, ensure_ascii=False), encoding="utf-8")
    return path


def test_eval_ranks_the_file_and_shows_the_cohort_rank(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "eval", POLICY, units)
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.strip()[:1] in "12345—" and "县" in line or "企业" in line]
    assert ["4", "D", "丁县", "95", "合格"] == next(r for r in rows if "D" in r)[:5]
    assert ["—", "F", "某企业", "100", "优秀"] == next(r for r in rows if "F" in r)[:5]


def test_eval_json_lines_carry_the_standing(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "eval", POLICY, units, "--format", "jsonl")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    by_id = {line["unit"]["id"]: line for line in lines}
    assert by_id["C"]["standing"]["rank"] == 3 and by_id["C"]["rating"] == "良好"
    assert by_id["F"]["standing"]["rank"] is None and by_id["A"]["provisional"] is None


def test_explain_and_whynot_name_rank_and_quota(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "explain", POLICY, units, "--id", "D")
    assert code == 0, err
    assert "名次：4/5" in out and "名额限制：良好不超过50%（参加排名的5个单位中2个），本单位名次4，降为合格（良好→合格）" in out
    code, out, err = run(capsys, "whynot", POLICY, units, "--id", "D")
    assert code == 0, err
    assert "名额限制" in out


def test_whatif_names_the_other_units_that_change(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "whatif", POLICY, units, "--id", "D", "--set", "扣分=2")
    assert code == 0, err
    # D 98 moves to rank 2 (B and C fall to 3 and 4); 优秀 keeps A only; the 良好 quota keeps D and B, so C falls
    # to 合格; B at rank 3 is no longer in the first half (3 × 2 > 5): its 先进 goes
    assert "评定等次：合格 → 良好" in out and "名次：4 → 2" in out
    assert "奖惩合计：0.00 → 1,000.00" in out  # D's own 先进 (an outcome for every rating) counts, as the others' do
    assert "丙县 (C)：良好 → 合格（名次 3 → 4）" in out
    assert "乙县 (B)：良好（名次 2 → 3），奖惩 1,000.00 → 0.00" in out
    assert "甲县 (A)" not in out and "戊县 (E)" not in out


def test_report_ranks_by_the_cohort(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "report", POLICY, units)
    assert code == 0, err
    assert "| 4 | D | 丁县 | 95 |" in out and "| — | F | 某企业 | 100 |" in out


def test_workers_do_not_split_a_cohort(capsys: pytest.CaptureFixture[str], units: Path) -> None:
    code, out, err = run(capsys, "eval", POLICY, units, "--format", "jsonl", "--workers", "2")
    assert code == 0, err
    by_id = {line["unit"]["id"]: line for line in map(json.loads, out.splitlines())}
    assert by_id["D"]["standing"]["rank"] == 4 and by_id["D"]["rating"] == "合格"
