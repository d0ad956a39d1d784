"""Evidence and deferred positions survive the worker processes (issue #10 C).

Positions are found by identity between the evidence records and the unit's facts; a result
assessed in a worker gets its facts here, so it must adopt the raw result of those facts before
it reads the evidence — else every position would be None.
"""

from __future__ import annotations

from pathlib import Path

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "tests" / "data" / "interpreter" / "iteration.kh"


def unit(i: int) -> dict[str, object]:
    same = {"日期": "2013-05-01", "死亡人数": 3, "等级": "较大", "类型": "火灾"}
    return {"id": f"u{i}", "category": "单位", "facts": {"事故": [
        {"日期": "2013-02-01", "死亡人数": 1, "等级": "一般", "类型": "交通"}, same, dict(same),
        {"日期": "2013-06-01", "死亡人数": 11, "等级": "重大", "类型": "交通", "异地": True}]}}


def test_positions_are_the_same_with_workers() -> None:
    policy = kaohe_rules.load(POLICY)
    units = [unit(i) for i in range(160)]  # enough for the workers to take some
    serial = [item.result.to_dict() for item in policy.evaluate_many(units)]  # type: ignore[union-attr]
    items = list(policy.evaluate_many(units, workers=2))
    assert any(type(item.result).__name__ == "RemoteResult" for item in items)
    assert [item.result.to_dict() for item in items] == serial  # type: ignore[union-attr]
    first = serial[0]
    assert [v["positions"] for v in first["vetoes"]] == [[2, 3]]  # type: ignore[index]
    assert [d["positions"] for d in first["deferred"]] == [[4]]  # type: ignore[index]
