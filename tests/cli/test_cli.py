"""The kaohe command line: exit codes, formats, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import POLICY, UNITS, run

SMALL = """
policy 小 "小政策" { }
category 单位 "单位" total 100 { section 甲 "甲" 100 }
ratings { 好 "好单位" 中 "中单位" 差 "差单位" } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
fact n: int >= 0
target t "扣分" cite "一" in 单位.甲 points 100 { deduct 10 per n }
"""


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.kh"
    path.write_text(SMALL, encoding="utf-8")
    return path




def test_check_ok_and_failing(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "check", small)
    assert code == 0 and "ok — 小政策; 1 categories, 1 targets" in out
    bad = tmp_path / "bad.kh"
    bad.write_text(SMALL.replace("deduct 10 per n", "deduct 10 per m"), encoding="utf-8")
    code, out, _ = run(capsys, "check", bad)
    assert code == 1
    assert "error[K101]: unknown name 'm'" in out and "bad.kh: 1 error(s)" in out
    code, out, _ = run(capsys, "check", "--format", "json", bad)
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["diagnostics"][0]["code"] == "K101"


def test_eval_reports_bad_rows_and_assesses_good_ones(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.jsonl"
    units.write_text("\n".join([
        json.dumps({"id": "a", "name": "甲", "category": "单位", "facts": {"n": 1}}, ensure_ascii=False),
        json.dumps({"id": "b", "category": "单位", "facts": {"n": -1}}),
        "{not json",
        json.dumps({"id": "c", "category": "单位", "facts": {"nn": 3}}),
        json.dumps({"id": "d", "category": "单位", "facts": {"n": 5}}),
    ]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "eval", small, units, "--format", "json")
    assert code == 3
    doc = json.loads(out)
    assert [r["unit"]["id"] for r in doc["results"]] == ["a", "d"]
    assert [r["score"] for r in doc["results"]] == ["90", "50"]
    assert [(e["index"], e["unit"]) for e in doc["errors"]] == [(1, "b"), (2, None), (3, "c")]
    assert doc["errors"][2]["problems"][0]["hint"] == "did you mean 'n'?"
    assert "unit 'b' not assessed" in err and "n: -1 is out of range" in err
    assert doc["summary"]["assessed"] == 2 and doc["summary"]["not_assessed"] == 3


def test_eval_table_ranks_units(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("id,name,category,n\nlow,低分单位,单位,5\nhigh,高分单位,单位,0\n", encoding="utf-8")
    code, out, _ = run(capsys, "eval", small, units)
    assert code == 0
    lines = [line for line in out.splitlines() if "单位  " in line and ("low" in line or "high" in line)]
    assert "high" in lines[0] and "100" in lines[0] and "好单位" in lines[0]
    assert "low" in lines[1] and "50" in lines[1] and "差单位" in lines[1]


def test_explain_selects_a_unit_and_languages(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.json"
    units.write_text(json.dumps([{"id": "a", "category": "单位", "facts": {"n": 2}},
                                 {"id": "b", "category": "单位", "facts": {"n": 0}}]), encoding="utf-8")
    code, out, _ = run(capsys, "explain", small, units, "--id", "a")
    assert code == 0 and "综合评分：80 / 100" in out and "扣 20" in out and "〔一〕" in out
    code, out, _ = run(capsys, "explain", small, units, "--id", "a", "--lang", "en")
    assert code == 0 and "Score: 80 / 100" in out
    code, _, err = run(capsys, "explain", small, units, "--id", "zzz")
    assert code == 2 and "no unit 'zzz'" in err


def test_usage_errors_exit_2_without_traceback(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, "eval", small, tmp_path / "missing.json")
    assert code == 2 and "Traceback" not in err
    code, _, err = run(capsys, "eval", small, tmp_path / "units.txt")
    assert code == 2 and "Traceback" not in err
    code, _, _ = run(capsys, "nosuchcommand")
    assert code == 2


def test_policy_error_in_eval_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.kh"
    bad.write_text("policy x {", encoding="utf-8")
    units = tmp_path / "u.json"
    units.write_text("[]", encoding="utf-8")
    code, _, err = run(capsys, "eval", bad, units)
    assert code == 1 and "error[K001]" in err


@pytest.mark.skipif(not UNITS.exists(), reason="sample units not yet written")
def test_module_entry_point_runs_the_bundled_samples() -> None:
    proc = subprocess.run([sys.executable, "-m", "kaohe_rules", "eval", str(POLICY), str(UNITS)],
                          capture_output=True, text=True, encoding="utf-8", check=False)
    assert proc.returncode == 0, proc.stderr
    for district in ("独山子区", "克拉玛依区", "白碱滩区", "乌尔禾区"):
        assert district in proc.stdout


@pytest.mark.skipif(not UNITS.exists(), reason="sample units not yet written")
def test_csv_samples_give_the_same_results_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    results = []
    for path in (UNITS, UNITS.with_suffix(".csv")):
        code, out, _ = run(capsys, "eval", POLICY, path, "--format", "json")
        assert code == 0
        results.append(json.loads(out)["results"])
    assert results[0] == results[1] and len(results[0]) == 17


def test_xlsx_input(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编号", "单位", "类别", "n"])
    sheet.append(["x1", "甲单位", "单位", 2])
    sheet.append(["x2", "乙单位", "单位", "bad"])
    path = tmp_path / "units.xlsx"
    book.save(path)
    code, out, err = run(capsys, "eval", small, path, "--format", "json")
    doc = json.loads(out)
    assert code == 3
    assert [(r["unit"]["id"], r["score"]) for r in doc["results"]] == [("x1", "80")]
    assert doc["errors"][0]["unit"] == "x2" and "'bad' is not a number" in err


def test_facts_lists_the_contract_and_template_is_assessable(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    code, out, _ = run(capsys, "facts", small)
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("n "))
    assert "int" in row and "是" in row and ">= 0" in row
    code, out, _ = run(capsys, "facts", small, "--template")
    template = json.loads(out)
    # the envelope eval reads; a required fact has no placeholder (issue #12: a template fails until filled in)
    assert template == {"units": [{"id": None, "name": None, "category": "单位", "facts": {"n": None}}]}
    code, _, err = run(capsys, "facts", small, "--category", "企业")
    assert code == 2 and "no category '企业'" in err


@pytest.mark.parametrize("category", ["区政府", "部门", "企业"])
def test_karamay_template_is_refused_until_filled_naming_every_required_fact(
        capsys: pytest.CaptureFixture[str], category: str) -> None:
    import kaohe_rules

    code, out, _ = run(capsys, "facts", POLICY, "--category", category, "--template")
    [unit] = json.loads(out)["units"]
    unit["id"] = "template"
    policy = kaohe_rules.load(POLICY)
    with pytest.raises(kaohe_rules.FactError) as info:
        policy.evaluate(unit)
    required = {name for name, value in unit["facts"].items()
                if value is None and not policy.checked.fact_types[name].optional}
    assert required and {p.fact for p in info.value.problems} == required


def test_stdin_is_read_as_a_json_lines_file_is(small: Path, tmp_path: Path) -> None:
    """``kaohe eval POLICY -`` gives the rows, indexes, locations and errors of the same lines in a file."""
    data = ('{"id": "a", "category": "单位", "facts": {"n": 1}}\n\n# a comment\n'
            '{"id": "b", "category": "单位", "facts": {"n": 1, "n": 2}}\n'
            '{"id": "c", "category": "单位", "name": "\\ud800", "facts": {"n": 0}}\n').encode() + b"\xff\n"
    path = tmp_path / "units.jsonl"
    path.write_bytes(data)
    outputs = []
    for source, stdin in ((str(path), None), ("-", data)):
        proc = subprocess.run([sys.executable, "-m", "kaohe_rules", "eval", str(small), source, "--format", "jsonl"],
                              input=stdin, capture_output=True, check=False)
        outputs.append((proc.returncode, proc.stdout.decode("utf-8").replace(str(path), "<stdin>"),
                        proc.stderr.decode("utf-8").replace(str(path), "<stdin>")))
    assert outputs[0] == outputs[1]
    code, out, err = outputs[1]
    assert code == 3
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["unit"]["id"] == "a"
    assert [entry["error"]["location"] for entry in lines[1:]] == ["<stdin>:4", "<stdin>:5", "<stdin>:6"]
    messages = [entry["error"]["problems"][0]["message"] for entry in lines[1:]]
    assert "duplicate key" in messages[0] and "lone surrogate" in messages[1] and "not UTF-8" in messages[2]
    assert [entry["error"]["index"] for entry in lines[1:]] == [1, 2, 3]
    assert "internal error" not in out + err
