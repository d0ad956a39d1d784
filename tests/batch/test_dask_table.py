"""kaohe_rules.dask.evaluate_table_dataframe (issue #13): evaluate_table per partition, the same table."""

from __future__ import annotations

import json
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

dask = pytest.importorskip("dask")
pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

import dask.dataframe as dd  # noqa: E402

import kaohe_rules  # noqa: E402
from kaohe_rules import dask as kdask  # noqa: E402
from kaohe_rules.columnar import differences, result_columns  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(POLICY)


def _frame() -> Any:
    units = json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]
    rows = [{"id": u["id"], "name": u.get("name"), "category": u["category"], **u["facts"]} for u in units]
    rows.append({"id": "bad", "category": "企业", "开会季度数": 9})  # refused: out of range, facts missing
    table = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    return table.to_pandas(use_pyarrow_extension_array=True)


def test_the_partitions_give_the_table_of_the_whole(policy: Any) -> None:
    frame = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kaohe_rules.ColumnarFallbackWarning)
        expected = policy.evaluate_table(pl.from_pandas(frame))
        lazy = kdask.evaluate_table_dataframe(policy, dd.from_pandas(frame, npartitions=3))
    with dask.config.set(scheduler="sync"):
        got = lazy.compute()
    assert list(got.columns) == list(result_columns(policy.checked).names)
    assert list(got.index) == list(frame.index)  # each results row beside its input row
    table = pl.from_pandas(got.reset_index(drop=True))
    assert table.schema == expected.schema  # decimals stay Decimal(38, 6) / (38, 2): never a float
    assert differences(expected, table) == []
    assert table["status"].to_list()[-1] == "error" and table["status"].to_list().count("assessed") == len(frame) - 1
    row = next(u for u in json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"])
    assert table["score"][0] == policy.evaluate(row).score


def test_the_fallback_warning_is_given_once_by_the_caller(policy: Any) -> None:
    if not policy.columnar_program().support.fallbacks:
        pytest.skip("the policy is fully vectorised: nothing to warn about")
    with pytest.warns(kaohe_rules.ColumnarFallbackWarning, match="per unit"):
        kdask.evaluate_table_dataframe(policy, dd.from_pandas(_frame(), npartitions=2))


def test_a_policy_decided_over_the_whole_batch_is_refused_naming_the_alternative() -> None:
    cohort = next((p for p in sorted((ROOT / "policies").glob("*.kh")) if "cohort" in p.read_text(encoding="utf-8")
                   and kaohe_rules.load(p).cohort is not None), None)
    if cohort is None:
        pytest.skip("no bundled cohort policy")
    with pytest.raises(TypeError, match="evaluate_dataframe_cohort"):
        kdask.evaluate_table_dataframe(kaohe_rules.load(cohort), dd.from_pandas(pd.DataFrame({"id": ["a"]}),
                                                                               npartitions=1))
