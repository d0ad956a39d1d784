"""kaohe_rules.dask on a local Dask cluster: the serial results, as Dask collections, error rows kept."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

dask = pytest.importorskip("dask")
pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402

import kaohe_rules  # noqa: E402
from kaohe_rules import dask as kdask  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(POLICY)


@pytest.fixture(scope="module")
def thread_client() -> Any:
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def units() -> list[dict[str, Any]]:
    good = json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]
    out = [dict(u, id=f"{u['id']}-{i}") for i in range(3) for u in good]
    out[4] = dict(out[4], facts=dict(out[4]["facts"], 未知事实=1))  # a unit with a bad fact
    out[9] = dict(out[9], category="火星")  # and one of no category
    return out


def test_bag_gives_the_serial_results_and_errors(policy: Any, thread_client: Any) -> None:
    batch = units()
    results, errors = kdask.evaluate_bag(policy, db.from_sequence(batch, npartitions=4))
    got_results, got_errors = dask.compute(results, errors)
    expected = [i.result.to_dict() for i in policy.evaluate_many(batch) if i.ok]
    assert sorted(got_results, key=lambda d: d["unit"]["id"]) == sorted(expected, key=lambda d: d["unit"]["id"])
    assert sorted(e["unit"] for e in got_errors) == sorted([batch[4]["id"], batch[9]["id"]])
    fact_error = next(e for e in got_errors if e["unit"] == batch[4]["id"])
    assert json.loads(fact_error["problems"])[0]["fact"] == "未知事实"


def test_bag_with_traces(policy: Any, thread_client: Any) -> None:
    batch = units()[:3]
    (results,) = dask.compute(kdask.evaluate_bag(policy, db.from_sequence(batch, npartitions=2), trace=True)[0])
    assert [r["trace"] for r in results] == [policy.evaluate(u).trace.to_dict() for u in batch]


def frame_of(batch: list[dict[str, Any]]) -> Any:
    rows = []
    for unit in batch:
        row: dict[str, Any] = {"id": unit["id"], "name": unit.get("name"), "category": unit["category"]}
        for name, value in unit["facts"].items():
            row[name] = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, list) else value
        rows.append(row)
    return pd.DataFrame(rows).astype("object")


def test_dataframe_gives_the_serial_summaries(policy: Any, thread_client: Any) -> None:
    batch = units()
    frame = dd.from_pandas(frame_of(batch), npartitions=3)
    results, errors = kdask.evaluate_dataframe(policy, frame)
    assert list(results.columns) == list(kdask.RESULT_COLUMNS) and list(errors.columns) == list(kdask.ERROR_COLUMNS)
    got, bad = dask.compute(results, errors)
    expected = {i.result.unit_id: i.result for i in policy.evaluate_many(batch) if i.ok}
    assert set(got["unit"]) == set(expected)
    for row in got.itertuples():
        r = expected[row.unit]
        assert (row.score, row.rating, row.band, row.vetoed, row.amount) == \
            (r.score, r.rating, r.band, r.vetoed, r.consequences.total)
        assert isinstance(row.score, Decimal)
    assert sorted(bad["row"]) == [4, 9]
    assert set(bad["unit"]) == {batch[4]["id"], batch[9]["id"]}


def test_cells_are_read_like_a_csv_row() -> None:
    import numpy as np

    row = {"ID": 7, "name": " 甲 ", "category": "企业", "a": np.int64(3), "b": np.bool_(True), "c": 98.5, "d": 100.0,
           "e": float("nan"), "f": pd.NA, "g": "  ", "h": '[{"x": 1.5}]', "i": pd.Timestamp("2013-07-01"), "j": "是"}
    unit = kdask.row_unit(row)
    assert unit["id"] == "7" and unit["name"] == "甲" and unit["category"] == "企业"
    assert unit["facts"] == {"a": 3, "b": True, "c": Decimal("98.5"), "d": 100, "h": [{"x": Decimal("1.5")}],
                             "i": __import__("datetime").date(2013, 7, 1), "j": "是"}
    assert type(unit["facts"]["a"]) is int and type(unit["facts"]["b"]) is bool
    assert kdask.row_unit(row, facts=["a"])["facts"] == {"a": 3}


def test_policy_is_shipped_to_worker_processes(policy: Any) -> None:
    """On a cluster of processes the workers load the policy from its shipped source."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        with distributed.Client(cluster):
            batch = units()
            results, errors = kdask.evaluate_bag(policy, db.from_sequence(batch, npartitions=4))
            got, bad = dask.compute(results, errors)
    finally:
        cluster.close()
    assert len(got) == len(batch) - 2 and len(bad) == 2
    assert {r["unit"]["id"]: r["score"] for r in got} == \
        {i.result.unit_id: i.result.to_dict()["score"] for i in policy.evaluate_many(batch) if i.ok}


def test_worker_policy_checks_the_hash(policy: Any) -> None:
    from kaohe_rules.batch.spec import policy_spec

    spec = policy_spec(policy)
    assert kdask.worker_policy(spec) is kdask.worker_policy(spec)
    forged = type(spec)(spec.name, spec.text + "\n# changed\n", spec.base_dir, "0" * 64)
    with pytest.raises(RuntimeError):
        kdask.worker_policy(forged)
