"""kaohe_rules.dask for a cohort policy: per-unit passes per partition, ranking on the gathered rows.

Every figure is compared with ``policy.evaluate_cohort`` on the same units in one process:
the partitioning (and the chunking of partitions, ``parallel``) must change nothing.
"""

from __future__ import annotations

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

POLICY = Path(__file__).resolve().parents[1] / "data" / "cohort" / "ranked.kh"


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
    out: list[dict[str, Any]] = [
        {"id": f"u{i}", "category": "县区" if i % 3 else "部门", "facts": {"扣分": Decimal(i % 9) / 2, "死亡人数": i % 2}}
        for i in range(40)]
    out[7] = {"id": "u7", "category": "县区", "facts": {"扣分": "很多"}}  # a bad fact: an error row, 县区 provisional
    return out


@pytest.mark.parametrize("parallel", [1, 8])
def test_bag_gives_evaluate_cohort_results(policy: Any, thread_client: Any, parallel: int) -> None:
    batch = units()
    results, errors = kdask.evaluate_bag_cohort(policy, db.from_sequence(batch, npartitions=5), parallel=parallel)
    got, bad = dask.compute(results, errors)
    expected = [i.result.to_dict() for i in policy.evaluate_cohort(batch) if i.ok]
    assert sorted(got, key=lambda d: d["unit"]["id"]) == sorted(expected, key=lambda d: d["unit"]["id"])
    assert [e["unit"] for e in bad] == ["u7"]
    standings = [d["standing"] for d in got]
    assert 1 in {s["rank"] for s in standings} and any(s["demoted_to"] == 1 for s in standings)
    assert all(("row 8" in (d["provisional"] or "")) == (d["unit"]["category"] == "县区") for d in got)


def test_bag_refuses_both_rows_of_a_repeated_id(policy: Any, thread_client: Any) -> None:
    batch = units()[:12]
    batch[10] = dict(batch[10], id="u1")
    results, errors = kdask.evaluate_bag_cohort(policy, db.from_sequence(batch, npartitions=3))
    got, bad = dask.compute(results, errors)
    assert sorted(e["unit"] for e in bad) == ["u1", "u1", "u7"]
    assert all("given twice in one cohort (rows 2 and 11)" in e["error"] for e in bad if e["unit"] == "u1")
    assert "u1" not in {d["unit"]["id"] for d in got} and len(got) == 9


def test_dataframe_gives_ranks_in_its_summaries(policy: Any, thread_client: Any) -> None:
    batch = units()
    rows = [{"id": u["id"], "category": u["category"], **u["facts"]} for u in batch]
    frame = dd.from_pandas(pd.DataFrame(rows).astype("object"), npartitions=4)
    results, errors = kdask.evaluate_dataframe_cohort(policy, frame, parallel=2)
    assert list(results.columns) == list(kdask.COHORT_RESULT_COLUMNS)
    got, bad = dask.compute(results, errors)
    expected = {i.result.unit_id: i.result for i in policy.evaluate_cohort(batch) if i.ok}
    assert set(got["unit"]) == set(expected)
    for row in got.itertuples():
        r = expected[row.unit]
        assert (row.score, row.rating, row.rank, row.ranked_count, row.unit_count, row.provisional) == \
            (r.score, r.rating, r.standing.rank, r.standing.ranked_count, r.standing.unit_count, r.provisional)
    assert list(bad["row"]) == [7]


def test_a_policy_without_a_cohort_takes_the_plain_path(thread_client: Any) -> None:
    plain = kaohe_rules.load(Path(__file__).resolve().parents[2] / "policies" / "karamay-2013.kh")
    results, errors = kdask.evaluate_bag_cohort(plain, db.from_sequence([], npartitions=1))
    assert dask.compute(results, errors) == ([], [])


def test_standings_are_shipped_to_worker_processes(policy: Any) -> None:
    """On a cluster of processes the workers load the policy from its source and read the shipped standings."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        with distributed.Client(cluster):
            batch = units()
            results, errors = kdask.evaluate_bag_cohort(policy, db.from_sequence(batch, npartitions=4))
            got, bad = dask.compute(results, errors)
    finally:
        cluster.close()
    assert len(got) == len(batch) - 1 and len(bad) == 1
    assert {r["unit"]["id"]: r["standing"] for r in got} == \
        {i.result.unit_id: i.result.to_dict()["standing"] for i in policy.evaluate_cohort(batch) if i.ok}
