"""DataFrames in and out (issue #15): units read from a frame as the CSV/XLSX readers read a sheet, results
as a frame of the columnar results table (Decimal, never float), bad rows kept."""

from __future__ import annotations

import json
import math
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.columnar.results import differences, result_columns
from kaohe_rules.errors import UnitInputError
from kaohe_rules.unitio import Expect, read_units

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

ROOT = Path(__file__).resolve().parents[2]
KARAMAY = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
KARAMAY_CSV = ROOT / "policies" / "karamay-2013" / "units.csv"

SMALL = kaohe_rules.load("""
policy 小 { }
category 单位 "基层单位" total 100 { section 甲 60 section 乙 40 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
record 事 { 人: int >= 0 }
fact 事: list of 事 = []
fact 钱: money >= 0 "奖励资金"
fact 率: percent? in 0%..100%
fact 达标: bool = false
let 合计 = sum(事 of 人)
target 甲 in 单位.甲 points 60 { full when 钱 >= 100万元 and 达标 }
target 乙 in 单位.乙 points 40 { proportional 率 ?? 0% deduct 1 per 合计 }
""")


def csv_rows(policy: kaohe_rules.Policy, path: Path) -> list[Any]:
    return list(read_units(path, expect=Expect.of(policy.checked, policy.program.ledgers)))


def reference_table(policy: kaohe_rules.Policy, rows: list[Any]) -> Any:
    """The results table the per-unit path gives for rows read by kaohe's own readers."""
    columns = result_columns(policy.checked)
    out = []
    for row in rows:
        item = policy.assess_row(row.index, row.unit)
        out.append(columns.row(item.result) if item.result is not None else
                   columns.error_row(item.unit_id, None, None, str(item.error)))
    return columns.frame(out)


# ----------------------------------------------------------------------------- units from a frame
def test_a_frame_of_the_sheets_text_reads_exactly_as_the_csv_file() -> None:
    frame = pd.read_csv(KARAMAY_CSV, dtype=str)
    rows = KARAMAY.units_from_frame(frame)
    expected = csv_rows(KARAMAY, KARAMAY_CSV)
    assert len(rows) == len(expected) == 17
    assert [(r.unit, r.error) for r in rows] == [(r.unit, r.error) for r in expected]
    assert rows[2].location == "DataFrame:row 3"


def test_pandas_typed_columns_give_the_csv_files_results() -> None:
    typed = pd.read_csv(KARAMAY_CSV)  # pandas' own types: int64, bool, float64 (a column with gaps), text
    assert "float64" in {str(t) for t in typed.dtypes}  # the case this test is about
    results = KARAMAY.evaluate_frame(typed, backend="polars")
    expected = reference_table(KARAMAY, csv_rows(KARAMAY, KARAMAY_CSV))
    assert differences(expected, results) == []
    assert results.get_column("status").to_list().count("assessed") == 17


def test_a_polars_frame_gives_a_polars_table_with_the_same_results() -> None:
    frame = pl.read_csv(KARAMAY_CSV, infer_schema=False)
    results = KARAMAY.evaluate_frame(frame)
    assert isinstance(results, pl.DataFrame)
    assert results.schema == pl.Schema(result_columns(KARAMAY.checked).schema())
    assert differences(reference_table(KARAMAY, csv_rows(KARAMAY, KARAMAY_CSV)), results) == []


def unit_of(frame: Any, policy: kaohe_rules.Policy = SMALL, **options: Any) -> Any:
    rows = policy.units_from_frame(frame, **options)
    assert len(rows) == 1
    return rows[0]


def test_floats_are_read_as_the_xlsx_reader_reads_a_cell() -> None:
    row = unit_of(pd.DataFrame({"id": ["a"], "category": ["单位"], "钱": [1250000.5], "率": ["98%"]}))
    assert row.unit["facts"] == {"钱": Decimal("1250000.5"), "率": "98%"}
    whole = unit_of(pd.DataFrame({"id": ["a"], "category": ["单位"], "钱": [3.0]}))
    assert whole.unit["facts"]["钱"] == 3 and type(whole.unit["facts"]["钱"]) is int


def test_a_computed_float_is_refused_naming_both_readings() -> None:
    row = unit_of(pd.DataFrame({"id": ["a"], "category": ["单位"], "钱": [0.1 + 0.2]}))
    assert row.unit is None and row.error is not None
    assert "钱" in row.error and "0.30000000000000004" in row.error and "or as 0.3" in row.error
    result = SMALL.evaluate_frame(pd.DataFrame({"id": ["a", "b"], "category": "单位", "钱": [0.1 + 0.2, 5.0]}))
    assert result["status"].tolist() == ["error", "assessed"]
    assert result["unit_id"].tolist() == ["a", "b"]  # a row that could not be read is named by its id cell
    assert result["error"][0].startswith("DataFrame:row 1: ") and "0.30000000000000004" in result["error"][0]


def test_floats_refuse_refuses_every_float_and_nan_is_a_fact_not_given() -> None:
    row = unit_of(pd.DataFrame({"id": ["a"], "category": ["单位"], "钱": [12.5]}), floats="refuse")
    assert row.unit is None and "is a float, which is not exact" in row.error
    gap = SMALL.units_from_frame(pd.DataFrame({"id": ["a", "b"], "category": "单位", "钱": [float("nan"), 7.0], "率": [None, "50%"]}))
    assert gap[0].unit["facts"] == {} and gap[1].unit["facts"] == {"钱": 7, "率": "50%"}
    inf = unit_of(pd.DataFrame({"id": ["a"], "category": ["单位"], "钱": [math.inf]}))
    assert inf.unit is None and "not a finite number" in inf.error
    with pytest.raises(ValueError, match="floats must be one of"):
        SMALL.units_from_frame(pd.DataFrame({"id": ["a"]}), floats="round")


def test_the_clerks_headers_and_spellings_are_read_as_in_a_sheet() -> None:
    frame = pd.DataFrame({"序号": [1], "编号": ["u1"], "单位名称": ["一号单位"], "类别": ["基层单位"],
                          "奖励资金（万元）": [120], "率（%）": [90], "达标（是/否）": ["是"]})
    row = unit_of(frame)
    assert row.unit == {"id": "u1", "name": "一号单位", "category": "基层单位",
                        "facts": {"钱": "120万元", "率": "90%", "达标": "是"}}
    result = SMALL.evaluate_frame(frame)
    assert result["score"][0] == Decimal("96") and result["rating"][0] == "好"


def test_records_as_json_text_or_as_lists_of_mappings() -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "category": "单位", "事": ['[{"人": 2}]', [{"人": 3, "x": float("nan")}]]})
    rows = SMALL.units_from_frame(frame)
    assert rows[0].unit["facts"]["事"] == [{"人": 2}]
    assert rows[1].unit["facts"]["事"] == [{"人": 3}]  # a missing field is left out, as in a JSON unit


def test_header_problems_are_one_error_and_a_repeated_id_is_refused_on_its_second_row() -> None:
    with pytest.raises(UnitInputError, match="no fact of the policy"):
        SMALL.units_from_frame(pd.DataFrame({"id": ["a"], "category": ["单位"], "钱钱钱": [1]}))
    with pytest.raises(UnitInputError, match="no id column"):
        SMALL.units_from_frame(pd.DataFrame({"钱": [1]}))
    with pytest.raises(UnitInputError, match="not text"):
        SMALL.units_from_frame(pd.DataFrame({("id", "x"): ["a"]}))
    rows = SMALL.units_from_frame(pd.DataFrame({"id": ["a", "a"], "category": "单位", "钱": [1, 2]}))
    assert rows[0].unit is not None and rows[1].unit is None
    assert "duplicate unit id 'a'" in rows[1].error and "DataFrame:row 1" in rows[1].error


def test_a_named_index_is_a_column_and_blank_rows_are_no_units() -> None:
    frame = pd.DataFrame({"编号": ["a", "b", None], "类别": ["单位", "单位", None], "钱": [5, 6, None]}).set_index("编号")
    rows = SMALL.units_from_frame(frame)
    assert [r.unit["id"] for r in rows] == ["a", "b"]
    clash = pd.DataFrame({"id": ["a"], "类别": ["单位"]}, index=pd.Index(["b"], name="id"))
    with pytest.raises(UnitInputError, match="both named 'id'"):
        SMALL.units_from_frame(clash)
    with pytest.raises(TypeError, match="pandas or polars DataFrame"):
        SMALL.units_from_frame([{"id": "a"}])


# ----------------------------------------------------------------------------- results to a frame
def test_results_frame_in_pandas_holds_decimals_and_keeps_error_rows() -> None:
    units = [{"id": "a", "category": "单位", "facts": {"钱": "1000000", "达标": True, "率": "80%"}},
             {"id": "b", "category": "单位", "facts": {"钱": "-5"}}]
    frame = SMALL.results_frame(SMALL.evaluate_many(units))
    assert list(frame.columns) == list(result_columns(SMALL.checked).names)
    assert not any(str(t).startswith("float") for t in frame.dtypes)
    assert frame["score"][0] == Decimal("92") and isinstance(frame["score"][0], Decimal)
    assert isinstance(frame["target:甲"][0], Decimal)
    assert str(frame["vetoed"].dtype) == "boolean"
    assert frame["status"].tolist() == ["assessed", "error"]
    assert "钱" in frame["error"][1] and "b" in frame["error"][1]
    assert frame["score"][1] is None


def test_results_frame_takes_results_and_evaluate_tables_table() -> None:
    results = [SMALL.evaluate({"id": f"u{i}", "category": "单位", "facts": {"钱": str(i), "率": f"{10 * i}%"}})
               for i in range(5)]
    polars_frame = SMALL.results_frame(results, backend="polars")
    assert polars_frame.schema == pl.Schema(result_columns(SMALL.checked).schema())
    with warnings.catch_warnings():  # the columnar engine names what it assesses per unit: not this test's subject
        warnings.simplefilter("ignore")
        table = SMALL.evaluate_table(pl.DataFrame({"id": [f"u{i}" for i in range(5)], "category": ["单位"] * 5,
                                                   "钱": list(range(5)), "率": [Decimal(10 * i) for i in range(5)]}))
    assert differences(polars_frame, table) == []
    as_pandas = SMALL.results_frame(table)
    assert as_pandas["score"].tolist() == polars_frame.get_column("score").to_list()
    with pytest.raises(TypeError, match="results or batch items"):
        SMALL.results_frame("u1")
    with pytest.raises(TypeError, match="not a pandas DataFrame"):
        SMALL.results_frame(as_pandas)
    with pytest.raises(ValueError, match="backend must be one of"):
        SMALL.results_frame(results, backend="arrow")


def test_a_cohort_policy_ranks_the_frames_units_together() -> None:
    policy = kaohe_rules.load(ROOT / "policies" / "weimin-2008.kh")
    document = json.loads((ROOT / "policies" / "weimin-2008" / "units.json").read_text(encoding="utf-8"),
                          parse_float=Decimal)
    units = document["units"]
    flat = pd.DataFrame([{"id": u["id"], "name": u.get("name"), "category": u.get("category"),
                          **{k: (str(v) if isinstance(v, Decimal) else v) for k, v in u["facts"].items()}}
                         for u in units])
    frame = policy.evaluate_frame(flat, backend="polars")
    expected = policy.results_frame(policy.evaluate_cohort(units), backend="polars")
    assert "rank" in frame.columns and frame.get_column("rank").drop_nulls().len() > 0
    assert differences(expected, frame) == []


def test_a_workbook_read_by_pandas_gives_kaohes_results_and_a_lost_percent_format_is_refused(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编号", "类别", "奖励资金（万元）", "率", "达标"])
    sheet.append(["a", "单位", 120.5, 80, True])
    sheet.append(["b", "单位", 99.99, 0.9, False])
    sheet["D3"].number_format = "0%"  # Excel shows 90%; pandas reads the bare 0.9
    path = tmp_path / "units.xlsx"
    book.save(path)
    frame = pd.read_excel(path)
    results = SMALL.evaluate_frame(frame, backend="polars")
    expected = reference_table(SMALL, csv_rows(SMALL, path))
    assert expected.get_column("status").to_list() == ["assessed", "assessed"]
    assert differences(expected[:1], results[:1]) == []  # the same cells, the same result
    # the percent format is lost on the way through pandas: 0.9 could be 90% or 0.9%, so it is refused, never guessed
    assert results.get_column("status").to_list()[1] == "error"
    assert "率" in results.get_column("error")[1]


def test_hostile_cells_are_error_rows_never_exceptions() -> None:
    loop: list[object] = []
    loop.append(loop)
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "category": "单位", "钱": 5,
                          "事": [loop, b"bytes", pd.Timedelta(days=1), [{"人": 1}]]})
    rows = SMALL.units_from_frame(frame)
    assert [row.unit is None for row in rows] == [True, True, True, False]
    assert "nested too deep" in rows[0].error and "unsupported cell value" in rows[1].error
    results = SMALL.evaluate_frame(frame)
    assert results["status"].tolist() == ["error", "error", "error", "assessed"]
    assert results["unit_id"].tolist() == ["a", "b", "c", "d"]
    repeated = SMALL.evaluate_frame(pd.DataFrame({"编号": ["a", "a", None], "类别": "单位", "钱": [1, 2, 3]}))
    assert repeated["status"].tolist() == ["assessed", "error", "error"]
    assert repeated["unit_id"].tolist() == ["a", "a", "?"]  # "?": the library's id of a unit given without one
    assert "duplicate unit id" in repeated["error"][1] and "id" in repeated["error"][2]
    twice = pd.DataFrame([["a", "单位", 1, 2]], columns=["id", "category", "钱", "钱"])
    with pytest.raises(UnitInputError, match="钱"):
        SMALL.units_from_frame(twice)


def test_ledgers_are_attributed_over_the_frames_units() -> None:
    policy = kaohe_rules.load(ROOT / "policies" / "karamay-2013-ledger.kh")
    document = json.loads((ROOT / "policies" / "karamay-2013" / "units-with-ledger.json").read_text(encoding="utf-8"),
                          parse_float=Decimal)
    units = document["units"]
    flat = pd.DataFrame([{"id": u["id"], "name": u.get("name"), "category": u.get("category"), **u["facts"]}
                         for u in units])  # pandas makes float64 of the int columns with gaps, object of the lists
    assert "float64" in {str(t) for t in flat.dtypes}
    frame = policy.evaluate_frame(flat, backend="polars", ledgers=document["ledgers"])
    expected = policy.results_frame(policy.evaluate_many(units, ledgers=document["ledgers"]), backend="polars")
    assert differences(expected, frame) == []
    assert sum(frame.get_column("charged").to_list()) > 0
