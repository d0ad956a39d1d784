"""``kaohe eval … --format parquet`` and Parquet input (issue #13): real files in, real results tables out.

The results table written must be, row for row, the reference table built from ``policy.evaluate`` of
each unit (``ResultColumns.row``) — whichever engine made it and whatever the input format (Parquet,
JSON Lines, a clerk's GB18030 CSV with 是/否, percent cells and 万元); a row that is not assessed is an
error row of the table, reported on standard error as the other formats report it, with their exit
status.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from cli_runner import POLICY, UNITS, run

import kaohe_rules
from kaohe_rules.columnar import differences, result_columns
from kaohe_rules.unitio import read_units

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

EXCEL_CSV = ("序号,单位编号,单位名称,单位类别,n（是/否）,率（%）,资金（万元）\n"
             "1,a,甲单位,单位,是,98,120\n"
             "2,b,乙单位,测试单位,否,0.5,0.5\n"
             "3,c,丙单位,单位,也许,50,1\n")


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.kh"
    path.write_text(SMALL, encoding="utf-8")
    return path


def _reference(policy: kaohe_rules.Policy, path: Path) -> pl.DataFrame:
    """The results table of ``policy.evaluate`` on every unit the per-unit readers read from ``path``."""
    columns = result_columns(policy.checked)
    rows = []
    for row in read_units(path):
        assert row.unit is not None
        item = policy.assess_row(row.index, row.unit)
        rows.append(columns.row(item.result) if item.result is not None else
                    columns.error_row(item.unit_id, row.unit.get("name"), row.unit.get("category"),  # type: ignore[arg-type]
                                      str(item.error)))
    return columns.frame(rows)


def _karamay_parquet(tmp_path: Path) -> Path:
    """The bundled Karamay units as a typed Parquet file (money and amounts as Decimal, dates as dates)."""
    units = json.loads(UNITS.read_text(encoding="utf-8"), parse_float=Decimal)["units"]
    rows = [{"id": u["id"], "name": u.get("name"), "category": u["category"], **u["facts"]} for u in units]
    path = tmp_path / "units.parquet"
    pl.DataFrame(rows, infer_schema_length=None, strict=False).write_parquet(path)
    return path


@pytest.mark.parametrize("engine", ["auto", "columnar", "per-unit"])
def test_parquet_in_parquet_out_is_the_reference_table(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       engine: str) -> None:
    units = _karamay_parquet(tmp_path)
    out = tmp_path / "results.parquet"
    code, stdout, err = run(capsys, "eval", POLICY, units, "--format", "parquet", "-o", out, "--engine", engine)
    policy = kaohe_rules.load(POLICY)
    expected = _reference(policy, units)
    assert code == (3 if "error" in expected["status"].to_list() else 0), err
    assert stdout == "" and "Traceback" not in err
    table = pl.read_parquet(out)
    assert table.schema == pl.DataFrame(schema=result_columns(policy.checked).schema()).schema
    assert differences(expected, table) == []
    assert table.height == expected.height > 0 and table["status"].to_list().count("assessed") > 0
    fallbacks = policy.columnar_program().support.fallbacks
    assert err.count("warning:") == (1 if fallbacks and engine != "per-unit" else 0)  # once, not per batch
    assert f"{table.height} assessed + 0 not assessed = {table.height} rows read" in err


def test_a_clerk_csv_gives_the_table_of_its_units_with_the_error_rows_reported(
        capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(EXCEL_CSV.encode("gb18030"))  # what Chinese Excel writes: GB18030, 是/否, % and 万元 headers
    out = tmp_path / "results.parquet"
    code, _, err = run(capsys, "eval", small, path, "--format", "parquet", "-o", out)
    assert code == 3  # a unit not assessed: as eval's other formats
    table = pl.read_parquet(out)
    assert table["unit_id"].to_list() == ["a", "b", "c"]
    assert table["status"].to_list() == ["assessed", "assessed", "error"]
    assert table["score"][0] == Decimal("98") and table["score"][1] == Decimal("0.5")  # 0.5 under a % header is 0.5%
    assert "也许" in table["error"][2]
    assert f"{path}:4" in err and "也许" in err  # the row and the value, as the other formats report it
    assert "2 assessed + 1 not assessed = 3 rows read" in err
    code, json_out, _ = run(capsys, "eval", small, path, "--format", "json")
    scores = {r["unit"]["id"]: r["score"] for r in json.loads(json_out)["results"]}
    assert scores == {"a": "98", "b": "0.5"}  # the same readings as the per-unit formats


def test_json_lines_with_an_unreadable_line_and_a_repeated_id(capsys: pytest.CaptureFixture[str], small: Path,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "units.jsonl"
    lines = [{"id": "a", "category": "单位", "facts": {"n": True, "率": "98%", "资金": "120万元"}},
             "{not json",
             {"id": "b", "category": "单位", "facts": {"n": "否", "率": 50, "资金": 0, "多余": None}},
             {"id": "a", "category": "单位", "facts": {"n": True, "率": 10, "资金": 0}}]
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
                              for line in lines) + "\n", encoding="utf-8")
    for engine in ("auto", "per-unit"):
        out = tmp_path / f"results-{engine}.parquet"
        code, _, err = run(capsys, "eval", small, path, "--format", "parquet", "-o", out, "--engine", engine)
        assert code == 3
        table = pl.read_parquet(out)
        assert table["status"].to_list() == ["assessed", "error", "error", "error"], engine
        assert table["unit_id"].to_list() == ["a", None, "b", None], engine
        assert table["score"][0] == Decimal("98")
        assert "多余" in table["error"][2]  # a fact given as null is still an unknown fact, as per unit
        assert f"{path}:2" in err and "duplicate unit id 'a'" in err and f"{path}:4" in err
        assert "1 assessed + 3 not assessed = 4 rows read" in err


def test_parquet_is_read_by_the_per_unit_formats_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    units = _karamay_parquet(tmp_path)
    code, out, err = run(capsys, "eval", POLICY, units, "--format", "json")
    code_ref, out_ref, _ = run(capsys, "eval", POLICY, UNITS, "--format", "json")
    assert code == code_ref, err
    got = {r["unit"]["id"]: (r["score"], r["rating"]) for r in json.loads(out)["results"]}
    want = {r["unit"]["id"]: (r["score"], r["rating"]) for r in json.loads(out_ref)["results"]}
    assert got == want and len(got) > 0


def test_a_repeated_id_in_a_parquet_file_is_an_error_row_naming_both_rows(
        capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.parquet"
    pl.DataFrame({"id": ["a", "b", "a"], "category": ["单位"] * 3, "n": [True, False, True],
                  "率": [Decimal("98"), Decimal("50"), Decimal("10")], "资金": [Decimal(0)] * 3}).write_parquet(units)
    out = tmp_path / "results.parquet"
    code, _, err = run(capsys, "eval", small, units, "--format", "parquet", "-o", out)
    table = pl.read_parquet(out)
    assert code == 3 and table["status"].to_list() == ["assessed", "assessed", "error"]
    assert "duplicate unit id 'a'" in table["error"][2]
    assert f"{units}:row 1" in err and f"{units}:row 3" in err


def test_usage_errors(capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.parquet"
    pl.DataFrame({"id": ["a"], "category": ["单位"], "n": [True], "率": [Decimal(98)], "资金": [Decimal(0)]}
                 ).write_parquet(units)
    code, _, err = run(capsys, "eval", small, units, "--format", "parquet")
    assert code == 2 and "-o FILE" in err  # a binary file is not written to a terminal
    code, _, err = run(capsys, "eval", small, units, "--format", "json", "--engine", "columnar")
    assert code == 2 and "--format parquet" in err
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    code, _, err = run(capsys, "eval", small, broken, "--format", "json")
    assert code != 0 and "broken.parquet" in err and "Traceback" not in err


@pytest.mark.parametrize("engine", ["auto", "per-unit"])
def test_a_parquet_file_with_decimal256_columns_is_read_exactly(capsys: pytest.CaptureFixture[str], small: Path,
                                                                 tmp_path: Path, engine: str) -> None:
    """pyarrow writes ``decimal256`` for a precision above 38 (another tool's file); polars has none and
    panicked (a PanicException through the CLI).  The values are read exactly: narrowed to 128 bits where
    they fit, else read as text by the per-unit reader (here: a value of 40 digits, refused by name)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": ["a", "b", "c"], "category": ["单位"] * 3, "n": [True, False, True],
                      "率": pa.array([Decimal("98.5"), Decimal(50), Decimal(60)], pa.decimal256(60, 10)),
                      "资金": pa.array([Decimal("1.005"), Decimal(0), Decimal(10) ** 39], pa.decimal256(60, 3))})
    units = tmp_path / "wide.parquet"
    pq.write_table(table, units)
    out = tmp_path / "results.parquet"
    code, stdout, err = run(capsys, "eval", small, units, "--format", "parquet", "-o", out, "--engine", engine)
    assert "Traceback" not in err and "panic" not in err.lower(), err
    results = pl.read_parquet(out)
    assert results["score"].to_list()[:2] == [Decimal("98.5"), Decimal(50)]
    assert results["status"].to_list() == ["assessed", "assessed", "error"] and code == 3
    assert "资金" in results["error"][2]
