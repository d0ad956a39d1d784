"""Data from real offices (issue #12, input side): templates that guard, encodings, headers, ids, order.

Each test is one everyday spreadsheet habit that used to give a wrong result or an
unhelpful error with today's code.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from cli_runner import POLICY, UNITS, run

import kaohe_rules


@pytest.fixture(scope="module")
def policy() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICY)


def bundled_units() -> list[dict[str, object]]:
    document = json.loads(UNITS.read_text(encoding="utf-8"), parse_float=Decimal)
    return list(document["units"])



# ------------------------------------------------------------------ JSON template
def test_json_template_is_read_as_it_is_and_refused_unfilled_naming_every_required_fact(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: kaohe_rules.Policy) -> None:
    path = tmp_path / "t.json"
    code, _, _ = run(capsys, "facts", POLICY, "--category", "区政府", "--template", "-o", path)
    assert code == 0
    document = json.loads(path.read_text(encoding="utf-8"))
    [unit] = document["units"]  # the envelope eval reads
    facts = unit["facts"]
    assert facts["落实一岗双责"] is None and facts["从业人员培训合格率"] is None  # no true, no 100%
    code, out, err = run(capsys, "eval", POLICY, path, "--format", "json")
    assert code == 3 and json.loads(out)["results"] == []
    named = {line.split(":")[0].strip(" -") for line in err.splitlines() if line.startswith("  - ")}
    empty = {name for name, value in facts.items() if value is None}
    required_facts = {name for name in empty if not policy.checked.fact_types[name].optional}
    assert required_facts and required_facts | {"id"} <= named, required_facts - named


def test_json_template_filled_in_is_assessed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    run(capsys, "facts", POLICY, "--template", "-o", path)
    template = json.loads(path.read_text(encoding="utf-8"))
    given = {u["category"]: u for u in bundled_units()}
    for unit in template["units"]:
        source = given[unit["category"]]
        unit.update(id=source["id"], name=source["name"])
        unit["facts"] = {k: source["facts"].get(k, v) for k, v in unit["facts"].items()}  # type: ignore[union-attr]
    path.write_text(json.dumps(template, ensure_ascii=False, default=str), encoding="utf-8")
    code, out, err = run(capsys, "eval", POLICY, path, "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)["results"]) == 3


# ------------------------------------------------------------------ XLSX template
def _fill(sheet: openpyxl.worksheet.worksheet.Worksheet, row: int, unit: dict[str, object],
          policy: kaohe_rules.Policy) -> None:
    """Fill one row as a clerk does in Excel: 是/否, percentages in %-formatted cells, 元, dates, JSON for lists."""
    headers = [c.value for c in sheet[1]]
    sheet.cell(row, 1).value = unit["id"]
    sheet.cell(row, 2).value = unit["name"]
    facts: dict[str, object] = unit["facts"]  # type: ignore[assignment]
    for col, header in enumerate(headers[2:], start=3):
        name = str(header).split("（")[0]
        if name not in facts or facts[name] is None:
            continue
        value = facts[name]
        kind = policy.checked.fact_types[name].kind
        cell = sheet.cell(row, col)
        if kind == "bool":
            cell.value = "是" if value else "否"
        elif kind == "percent":
            assert cell.number_format.endswith("%")  # the template formatted it: Excel stores the fraction
            cell.value = float(Decimal(str(value).rstrip("%")) / 100)
        elif kind == "money":
            text = str(value)
            cell.value = float(Decimal(text[:-2]) * 10000) if text.endswith("万元") else float(Decimal(text.rstrip("元")))
        elif kind == "date":
            cell.value = datetime.date.fromisoformat(str(value))
        elif isinstance(value, list):
            cell.value = json.dumps(value, ensure_ascii=False, default=str)
        else:
            cell.value = value if not isinstance(value, Decimal) else float(value)


def test_xlsx_template_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                  policy: kaohe_rules.Policy) -> None:
    path = tmp_path / "t.xlsx"
    code, _, err = run(capsys, "facts", POLICY, "--template", "--format", "xlsx", "-o", path)
    assert code == 0, err
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["区政府", "部门", "企业", "说明"]
    sheet = book["区政府"]
    headers = [c.value for c in sheet[1]]
    assert headers[:2] == ["单位编号", "单位名称"]
    assert "落实一岗双责（是/否）" in headers and "从业人员培训合格率（%）" in headers and "奖励金额（元）" in headers
    rate = headers.index("从业人员培训合格率（%）") + 1
    assert sheet.cell(2, rate).number_format == "0.00%"
    lists = [dv for dv in sheet.data_validations.dataValidation if dv.formula1 == '"是,否"']
    assert lists, "是/否 columns have a drop-down list"
    notes = book["说明"]
    cited = {row[2]: row[7] for row in notes.iter_rows(values_only=True) if row and len(row) > 7}
    assert cited["落实一岗双责"] == policy.checked.facts["落实一岗双责"].cite

    # unfilled: refused, not an empty 通报
    code, _, err = run(capsys, "eval", POLICY, path)
    assert code == 2 and "no unit filled in" in err

    # filled as a clerk would: scores equal those of the bundled JSON units
    rows = {name: 2 for name in book.sheetnames}
    for unit in bundled_units():
        category = str(unit["category"])
        _fill(book[category], rows[category], unit, policy)
        rows[category] += 1
    book.save(path)
    code, out, err = run(capsys, "eval", POLICY, path, "--format", "json")
    assert code == 0, err
    from_xlsx = {r["unit"]["id"]: (r["score"], r["rating"]) for r in json.loads(out)["results"]}
    code, out, _ = run(capsys, "eval", POLICY, UNITS, "--format", "json")
    from_json = {r["unit"]["id"]: (r["score"], r["rating"]) for r in json.loads(out)["results"]}
    assert from_xlsx == from_json and len(from_xlsx) == len(bundled_units())


def test_xlsx_template_partly_filled_names_every_empty_cell(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                             policy: kaohe_rules.Policy) -> None:
    path = tmp_path / "t.xlsx"
    run(capsys, "facts", POLICY, "--template", "--format", "xlsx", "-o", path, "--category", "企业")
    book = openpyxl.load_workbook(path)
    sheet = book["企业"]
    sheet.cell(2, 2).value = "只填了名称的企业"
    book.save(path)
    code, _, err = run(capsys, "eval", POLICY, path)
    assert code == 3
    named = {line.split(":")[0].strip(" -") for line in err.splitlines() if line.startswith("  - ")}
    checked = policy.checked
    want = {n for n in policy.facts_for("企业") if n not in checked.fact_defaults and not checked.fact_types[n].optional}
    want |= {n for n in policy.facts_for("企业") if checked.fact_defaults.get(n, 0) is None
             and not checked.fact_types[n].optional}
    assert "id" in named and want <= named, want - named
    assert "t.xlsx:企业!row 2" in err


# ------------------------------------------------------------------ encodings and headers
EXCEL_CSV = ("序号,单位编号,单位名称,单位类别,n（是/否）,率（%）,资金（万元）\n"
             "1,a,甲单位,单位,是,98,120\n"
             "2,b,乙单位,测试单位,否,0.5,0.5\n")

SMALL = """
policy 小 "小政策" { }
category 单位 "测试单位" total 100 { section 甲 "甲" 100 }
ratings { 好 "好单位" 差 "差单位" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
fact n: bool
fact 率: percent in 0%..100%
fact 资金: money >= 0
target t "达标" cite "一" in 单位.甲 points 100 { proportional 率 }
"""


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.kh"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig"])
def test_excel_csv_in_any_encoding_with_excel_headers(capsys: pytest.CaptureFixture[str], small: Path,
                                                      tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(EXCEL_CSV.encode(encoding))
    code, out, err = run(capsys, "eval", small, path, "--format", "json")
    assert code == 0, err
    results = {r["unit"]["id"]: r for r in json.loads(out)["results"]}
    assert results["a"]["unit"]["name"] == "甲单位" and results["a"]["score"] == "98"
    assert results["b"]["unit"]["category"] == "单位"  # given by its label
    assert results["b"]["score"] == "0.5"  # the header says %: 0.5 is 0.5%


def test_encoding_can_be_stated(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(EXCEL_CSV.encode("gb18030"))
    code, _, err = run(capsys, "eval", small, path, "--encoding", "utf-8")
    assert code == 2 and "--encoding" in err and "Traceback" not in err
    code, _, err = run(capsys, "eval", small, path, "--encoding", "gb18030")
    assert code == 0, err


def test_a_header_problem_is_one_error_not_one_per_row(capsys: pytest.CaptureFixture[str], small: Path,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("id,category,n,率,资金,备注\n" + "".join(f"u{i},单位,是,98%,0,x\n" for i in range(50)),
                    encoding="utf-8")
    code, out, err = run(capsys, "eval", small, path)
    assert code == 2 and err.count("\n") == 1 and "column '备注' is no fact of the policy" in err


def test_duplicate_unit_ids_are_refused_naming_both_rows(capsys: pytest.CaptureFixture[str], small: Path,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("id,category,n,率,资金\na,单位,是,98%,0\nb,单位,是,50%,0\na,单位,否,10%,0\n", encoding="utf-8")
    code, out, err = run(capsys, "eval", small, path, "--format", "json")
    doc = json.loads(out)
    assert code == 3 and [r["unit"]["id"] for r in doc["results"]] == ["a", "b"]
    assert "duplicate unit id 'a'" in err and f"{path}:2" in err and f"{path}:4" in err


def test_facts_accepts_a_category_by_its_label_as_eval_does(capsys: pytest.CaptureFixture[str]) -> None:
    code_label, out_label, err = run(capsys, "facts", POLICY, "--category", "区人民政府")
    assert code_label == 0, err
    code_name, out_name, _ = run(capsys, "facts", POLICY, "--category", "区政府")
    assert out_label == out_name
    code, _, err = run(capsys, "facts", POLICY, "--category", "乡政府")
    assert code == 2 and "区政府 (区人民政府)" in err


def test_swapped_policy_and_units_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "eval", UNITS, POLICY)
    assert code == 2 and "did you swap them?" in err
    code, _, err = run(capsys, "explain", UNITS, POLICY)
    assert code == 2 and "did you swap them?" in err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_policy_files_saved_by_windows_editors_are_read(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        encoding: str) -> None:
    path = tmp_path / "p.kh"
    path.write_bytes(SMALL.encode(encoding))
    code, out, err = run(capsys, "check", path)
    assert code == 0, err


def test_wan_in_a_unit_file_gets_the_hint(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    path = tmp_path / "units.json"
    path.write_text('[{"id": "a", "category": "单位", "facts": {"n": true, "率": "98%", "资金": "120万"}}]',
                    encoding="utf-8")
    code, _, err = run(capsys, "eval", small, path)
    assert code == 3 and "120万元" in err and "资金" in err and "'a'" in err


def test_percent_given_as_a_fraction_is_refused_naming_both_readings(capsys: pytest.CaptureFixture[str],
                                                                      small: Path, tmp_path: Path) -> None:
    path = tmp_path / "units.json"
    path.write_text('[{"id": "a", "category": "单位", "facts": {"n": true, "率": 0.98, "资金": 0}}]', encoding="utf-8")
    code, out, err = run(capsys, "eval", small, path)
    assert code == 3 and "0.98%" in err and "98%" in err and "率" in err


def test_a_fact_label_with_its_unit_is_a_column_title(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Sheets made from the policy's text title columns with the fact's label: read as the fact."""
    text = SMALL.replace("fact n: bool", 'fact n: bool "落实一岗双责（全年）"').replace(
        "fact 率: percent in 0%..100%", 'fact 率: percent in 0%..100% "培训合格率"')
    policy = tmp_path / "p.kh"
    policy.write_text(text, encoding="utf-8")
    path = tmp_path / "units.csv"
    path.write_text("单位编号,单位类别,落实一岗双责（全年）（是/否）,培训合格率（%）,资金\na,单位,是,98,0\n",
                    encoding="utf-8")
    code, out, err = run(capsys, "eval", policy, path, "--format", "json")
    assert code == 0, err
    [result] = json.loads(out)["results"]
    assert result["score"] == "98"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_duplicate_unit_ids_are_refused_on_the_jsonl_workers_path(capsys: pytest.CaptureFixture[str], small: Path,
                                                                  tmp_path: Path, workers: str) -> None:
    """The workers parse JSON Lines themselves; the parent still refuses the second row of a unit."""
    path = tmp_path / "units.jsonl"
    rows = [{"id": "a", "category": "单位", "facts": {"n": True, "率": "98%", "资金": 0}},
            {"id": "b", "category": "单位", "facts": {"n": True, "率": "50%", "资金": 0}},
            {"id": "a", "category": "单位", "facts": {"n": False, "率": "10%", "资金": 0}},
            {"id": "a", "category": "单位", "facts": {"n": "maybe"}}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    code, out, err = run(capsys, "eval", small, path, "--format", "jsonl", "--workers", workers)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 3 and [line.get("unit", {}).get("id") for line in lines[:2]] == ["a", "b"]
    assert [line["error"]["location"] for line in lines[2:]] == [f"{path}:3", f"{path}:4"]
    assert all("duplicate unit id 'a'" in line["error"]["problems"][0]["message"] for line in lines[2:])
    assert err.count(f"first given at {path}:1") == 2
