"""Ledgers on the batch paths (issue #16): the cohort stream driver over a file, the cohort stage, Dask refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ledger_fixture as lf
import pytest

from kaohe_rules.cohort.stream import assess_rows, evaluate_cohort_file
from kaohe_rules.unitio import read_units

LEDGER = lf.LEDGER


@pytest.fixture(scope="module")
def cohort_policy() -> Any:
    return lf.load_ledger_policy(lf.COHORT_POLICY_TEXT)


@pytest.fixture(scope="module")
def policy() -> Any:
    return lf.load_ledger_policy()


def summary(items: Any) -> list[tuple[Any, ...]]:
    return [(i.unit_id, i.result.score, i.result.rating,
             None if i.result.standing is None else i.result.standing.rank) if i.ok else (i.unit_id, str(i.error))
            for i in items]


def test_a_cohort_ranks_the_scores_the_ledger_events_cost(cohort_policy: Any) -> None:
    items = cohort_policy.evaluate_cohort(lf.units(), ledgers={LEDGER: lf.ledger()})
    got = {i.unit_id: i.result for i in items}
    assert [got[u].standing.rank for u in ("SY", "XS", "TS", "TT")] == [1, 1, 3, 4]  # 100, 100, 81, 76
    assert got["TS"].from_ledger and [c.event.key for c in got["TS"].charged] == ["A-1", "A-6"]
    # the same units with their own copies of the same events: the same scores, ranks and ratings
    attribution = cohort_policy.attribute(lf.units(), {LEDGER: lf.ledger()})
    own = cohort_policy.evaluate_cohort(lf.with_own_lists(lf.units(), lf.ledger(), attribution))
    assert summary(own) == summary(items)
    assert not any(i.result.from_ledger for i in own)


def test_evaluate_many_of_a_cohort_policy_with_ledgers_ranks_too(cohort_policy: Any) -> None:
    assert summary(cohort_policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()})) == summary(
        cohort_policy.evaluate_cohort(lf.units(), ledgers={LEDGER: lf.ledger()}))


def test_the_file_driver_reads_the_units_once_more_and_gives_the_same_items(cohort_policy: Any, policy: Any,
                                                                             tmp_path: Path) -> None:
    path = tmp_path / "units.json"
    path.write_text(json.dumps(lf.units(), ensure_ascii=False), encoding="utf-8")
    for p in (cohort_policy, policy):
        from_file = list(evaluate_cohort_file(p, path, ledgers={LEDGER: lf.ledger()}))
        held = list(p.evaluate_cohort(lf.units(), ledgers={LEDGER: lf.ledger()}))
        assert summary(from_file) == summary(held)
        assert [c.to_dict() for c in from_file[3].result.charged] == [c.to_dict() for c in held[3].result.charged]
    reads = 0

    def read() -> Any:
        nonlocal reads
        reads += 1
        return read_units(path)

    rows = list(assess_rows(policy, read, ledgers={LEDGER: lf.ledger()}))
    assert reads == 2 and len(rows) == 7  # the attribution pass, then the assessment
    reads = 0
    list(assess_rows(cohort_policy, read, ledgers={LEDGER: lf.ledger()}))
    assert reads == 4  # attribution, rank, quotas, final


def test_unit_errors_on_the_stream_path_are_error_rows_and_no_row_is_lost(cohort_policy: Any, tmp_path: Path) -> None:
    events = lf.ledger()
    events[4] = {**events[4], "死亡人数": -1}  # out of range; charged to TT and E1
    path = tmp_path / "units.json"
    path.write_text(json.dumps(lf.units(), ensure_ascii=False), encoding="utf-8")
    items = list(evaluate_cohort_file(cohort_policy, path, ledgers={LEDGER: events}))
    assert len(items) == 7
    bad = {i.unit_id: i for i in items if not i.ok}
    assert set(bad) == {"TT", "E1"}
    assert bad["TT"].problems[0].fact == "事故台账[5].死亡人数"
    ok = {i.unit_id: i.result for i in items if i.ok}
    assert ok["TS"].provisional is not None  # a 区县 could not be assessed: the ranks may change


def test_dask_refuses_a_ledger_policy_naming_what_to_use(policy: Any) -> None:
    pytest.importorskip("dask")
    import dask.bag as db

    from kaohe_rules.dask import evaluate_bag, evaluate_bag_cohort

    bag = db.from_sequence(lf.units(), npartitions=2)
    for function in (evaluate_bag, evaluate_bag_cohort):
        with pytest.raises(TypeError, match=r"evaluate_many\(units, ledgers=...\)"):
            function(policy, bag)


def test_a_cohort_unit_alone_without_its_list_is_refused_too(cohort_policy: Any) -> None:
    from kaohe_rules.cohort import rank_rows
    from kaohe_rules.errors import LedgerRequired

    unit = {"id": "TS", "category": "区县", "facts": {"辖区": "天山区"}}
    with pytest.raises(LedgerRequired):
        cohort_policy.evaluate(unit, provisional=True)
    standings = rank_rows([], cohort_policy.cohort)
    with pytest.raises(LedgerRequired):
        cohort_policy.evaluate_in_cohort(unit, standings.get("TS") or _no_standing())
    own = {**unit, "facts": {**unit["facts"], "事故": []}}
    assert cohort_policy.evaluate(own, provisional=True).score == 100


def _no_standing() -> Any:
    from kaohe_rules.runtime.cohort import NO_STANDING

    return NO_STANDING


def test_the_serial_batch_path_takes_ledgers(policy: Any) -> None:
    from kaohe_rules.batch import serial

    assert summary(serial.evaluate_many(policy, lf.units(), ledgers={LEDGER: lf.ledger()})) == summary(
        policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}))


DOCS = Path(__file__).resolve().parents[2] / "docs" / "ledgers"


def test_a_files_own_ledger_is_read_by_the_file_driver(tmp_path: Path) -> None:
    """Review of #16: ``evaluate_cohort_file(policy, "units.json")`` ignored the document's ``"ledgers"``
    (and JSON Lines event lines): a unit that also gave its own list was assessed from it — 100 points
    where the ledger charges it 5 deaths — while ``kaohe eval`` on the same file refuses that unit (one
    source only). The driver reads the file's ledgers as ``kaohe eval`` does; given twice, it refuses."""
    from kaohe_rules import load
    from kaohe_rules.errors import UnitInputError

    policy = load(DOCS / "policy.kh")
    event = {"编号": "A-1", "日期": "2013-03-02", "类型": "道路交通", "发生地": "天山区", "死亡人数": 5}
    unit = {"id": "TS", "category": "区县", "facts": {"辖区": "天山区"}}
    own = {"id": "TS", "category": "区县", "facts": {"辖区": "天山区", "事故": []}}
    document = tmp_path / "units.json"
    document.write_text(json.dumps({"units": [own], "ledgers": {"事故台账": [event]}}, ensure_ascii=False), "utf-8")
    [item] = list(evaluate_cohort_file(policy, document))
    assert item.result is None and "只能有一个来源" not in str(item.error) and "one source" in str(item.error)
    document.write_text(json.dumps({"units": [unit], "ledgers": {"事故台账": [event]}}, ensure_ascii=False), "utf-8")
    [item] = list(evaluate_cohort_file(policy, document))
    assert item.result is not None and item.result.score == 50 and item.result.from_ledger
    lines = tmp_path / "units.jsonl"
    lines.write_text(json.dumps(unit, ensure_ascii=False) + "\n"
                     + json.dumps({"ledger": "事故台账", "event": event}, ensure_ascii=False) + "\n", "utf-8")
    items = list(evaluate_cohort_file(policy, lines))
    assert [(i.unit_id, i.result.score if i.result else None) for i in items] == [("TS", 50)]  # no error row
    with pytest.raises(UnitInputError, match="twice"):
        list(evaluate_cohort_file(policy, document, ledgers={"事故台账": [event]}))
