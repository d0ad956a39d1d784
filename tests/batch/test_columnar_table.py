"""policy.evaluate_table (issue #13): one results row per input row, equal to policy.evaluate, none lost."""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import kaohe_rules
from kaohe_rules.columnar import differences, result_columns
from kaohe_rules.columnar.frames import TableError

SEED_CORE = Path(__file__).resolve().parents[2] / "benchmarks" / "seed-core.kh"


@pytest.fixture(scope="module")
def policy() -> kaohe_rules.Policy:
    return kaohe_rules.load(SEED_CORE)


def _table() -> pl.DataFrame:
    accident = {"简况": "x", "类型": "道路交通", "死亡人数": 3, "异地车辆": False, "瞒报": False, "谎报": False,
                "重大社会影响": False}
    return pl.DataFrame({
        "id": ["a", "b", "c"],
        "category": ["区政府", "部门企业", "区政府"],
        "考核细则扣分": [Decimal("12.5"), Decimal("0"), Decimal("-1")],
        "日常督查扣分": [Decimal("0"), Decimal("3"), Decimal("0")],
        "控制指标扣分": [Decimal("0"), Decimal("0"), Decimal("0")],
        "奖励金额": [Decimal("10000"), Decimal("5000"), Decimal("1")],
        "事故": [[accident], [], []],
    })


def _quiet(policy: kaohe_rules.Policy, table: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kaohe_rules.ColumnarFallbackWarning)
        return policy.evaluate_table(table)  # type: ignore[no-any-return]


def test_every_row_equals_evaluate_and_a_bad_row_is_an_error_row(policy: kaohe_rules.Policy) -> None:
    out = _quiet(policy, _table())
    assert out.height == 3 and out["unit_id"].to_list() == ["a", "b", "c"]
    assert out["status"].to_list() == ["assessed", "assessed", "error"]
    assert "考核细则扣分" in out["error"][2] and out["category"][2] == "区政府"
    first = policy.evaluate({"id": "a", "category": "区政府", "facts": {k: v for k, v in _table().row(0, named=True).items()
                                                                     if k not in ("id", "category")}})
    assert out["score"][0] == first.score and out["rating"][0] == first.rating == "不合格"
    assert out["veto:较大以上事故"][0] is True and out["outcome:不合格.罚款"][0] == Decimal("5000.00")
    assert out["section:管理目标.考核细则"][0] == Decimal("387.5")
    assert out["target:管理目标"][1] == Decimal("240") and out["section:控制指标"][1] == Decimal("240")
    assert out["outcome:不合格.罚款"][1] is None  # 部门企业 b is 优秀: no fine


def test_pandas_and_arrow_tables_give_the_same_results(policy: kaohe_rules.Policy) -> None:
    table = _table()
    expected = _quiet(policy, table)
    assert differences(expected, _quiet(policy, table.to_arrow())) == []
    frame = pd.DataFrame({"id": ["a"], "category": ["部门企业"], "考核细则扣分": [Decimal("1")]})
    out = _quiet(policy, frame)
    assert out["status"][0] == "error" and "日常督查扣分" in out["error"][0]  # a missing fact, named


def test_a_fallback_is_announced_by_a_warning_naming_what() -> None:
    # seed-core is fully vectorised (no warning); zunyi-2010's `count(事故 as a …)` is not (issue #13)
    zunyi = kaohe_rules.load(SEED_CORE.parents[1] / "policies" / "zunyi-2010.kh")
    with pytest.warns(kaohe_rules.ColumnarFallbackWarning, match=r"per unit.*count\(事故 as a.*zunyi-2010.kh:"):
        out = zunyi.evaluate_table(pl.DataFrame({"id": ["a"], "category": [zunyi.categories[0]]}))
    assert out["engine"].to_list() == ["per-unit"]


def test_seed_core_is_assessed_columnar_without_a_warning(policy: kaohe_rules.Policy) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", kaohe_rules.ColumnarFallbackWarning)
        out = policy.evaluate_table(_table())
    assert out["engine"].to_list() == ["columnar", "columnar", "per-unit"]  # c's negative loss: per unit


def test_not_a_table_is_refused_by_name(policy: kaohe_rules.Policy) -> None:
    with pytest.raises(TableError, match="list"):
        policy.evaluate_table([{"id": "a"}])


def test_the_schema_is_the_policy_s_whatever_the_rows(policy: kaohe_rules.Policy) -> None:
    columns = result_columns(policy.checked)
    schema = columns.schema()
    assert schema["score"] == pl.Decimal(38, 6) and schema["outcome:优秀.追加奖励"] == pl.Decimal(38, 2)
    assert not any(dtype in (pl.Float32, pl.Float64) for dtype in schema.values())
    assert _quiet(policy, _table().head(0)).schema == pl.Schema(schema)


# ----------------------------------------------- tables polars cannot take as they are (review13)
def _seed_row(**facts: object) -> dict[str, object]:
    return {"category": "区政府", "考核细则扣分": Decimal(1), "日常督查扣分": Decimal(0), "控制指标扣分": Decimal(0),
            "奖励金额": Decimal(100), **facts}


def test_a_pandas_object_column_mixing_decimal_and_int_is_read_per_unit_not_a_pyarrow_error() -> None:
    """``[Decimal("1.5"), 1000]`` in one pandas object column made pyarrow raise ArrowInvalid out of
    evaluate_table (an internal exception): that column is held as Python objects, its rows assessed per
    unit with their own values, each row as policy.evaluate gives it."""
    policy = kaohe_rules.load(SEED_CORE)
    for money in ([Decimal("1.5"), 1000], [Decimal("0.00"), 100], [Decimal("1.5"), "x"], [Decimal("1.5"), True]):
        frame = pd.DataFrame([dict(_seed_row(奖励金额=m), id=f"u{i}") for i, m in enumerate(money)])
        results = policy.evaluate_table(frame)
        assert results["engine"].to_list() == ["per-unit", "per-unit"]
        for row, unit in zip(results.iter_rows(named=True), frame.to_dict("records"), strict=True):
            facts = {k: v for k, v in unit.items() if k not in ("id", "category")}
            try:
                expected = policy.evaluate({"id": unit["id"], "category": "区政府", "facts": facts})
            except kaohe_rules.KaoheError as error:
                assert row["status"] == "error" and row["error"] == str(error)
            else:
                assert row["status"] == "assessed" and row["score"] == expected.score


def test_arrow_decimal256_columns_are_read_exactly() -> None:
    """polars has no 256-bit decimal and panicked on one (pyarrow makes them for a precision above 38,
    pandas ``ArrowDtype`` too): narrowed to 128 bits, exactly, the rows are columnar."""
    import pyarrow as pa

    policy = kaohe_rules.load(SEED_CORE)
    table = pa.table({"id": ["a", "b"], "category": ["区政府", "部门企业"],
                      "考核细则扣分": pa.array([Decimal("10.5"), Decimal(0)], pa.decimal256(60, 10)),
                      "日常督查扣分": [Decimal(0)] * 2, "控制指标扣分": [Decimal(0)] * 2,
                      "奖励金额": pa.array([Decimal("1000.005"), Decimal(7)], pa.decimal256(50, 3))})
    frames = {"arrow": table, "batch": table.to_batches()[0],
              "pandas": table.to_pandas(types_mapper=pd.ArrowDtype)}
    for label, given in frames.items():
        results = policy.evaluate_table(given)
        assert results["engine"].to_list() == ["columnar", "columnar"], label
        assert results["score"].to_list() == [Decimal("989.5"), Decimal(600)], label
        assert results["outcome:优秀.全额兑现"].to_list() == [Decimal("1000.01"), Decimal("7.00")], label


def test_a_batch_size_below_one_is_refused_not_an_empty_table() -> None:
    """``batch_rows=-1`` sliced nothing (range(0, n, -1) is empty) and returned 0 rows for 1: every row lost."""
    policy = kaohe_rules.load(SEED_CORE)
    frame = pl.DataFrame([dict(_seed_row(), id="a")])
    for wrong in (-1, 1.5, True):
        with pytest.raises(ValueError, match="batch_rows"):
            policy.evaluate_table(frame, batch_rows=wrong)  # type: ignore[arg-type]
    assert policy.evaluate_table(frame, batch_rows=1).height == 1


def test_an_arrow_column_polars_cannot_hold_is_a_table_error() -> None:
    """A union column made polars raise its own ComputeError out of evaluate_table: now a TableError."""
    import pyarrow as pa

    policy = kaohe_rules.load(SEED_CORE)
    union = pa.UnionArray.from_sparse(pa.array([0], pa.int8()), [pa.array([1]), pa.array(["x"])])
    table = pa.Table.from_pylist([dict(_seed_row(), id="a")]).append_column("备注", union)
    with pytest.raises(TableError, match="cannot read this Arrow table"):
        policy.evaluate_table(table)
