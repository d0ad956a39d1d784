"""A cohort policy's trace document (issue #11 C): it validates, carries the standing, and replays with it."""

from __future__ import annotations

import copy
from pathlib import Path

import kaohe_rules
from kaohe_rules.audit.replay import replay
from kaohe_rules.audit.trace_json import check_trace, trace_document

POLICY = Path(__file__).resolve().parents[1] / "data" / "interpreter" / "cohort.kh"
UNITS = [{"id": u, "category": "县区", "facts": {"扣分": d}} for u, d in (("A", 0), ("B", 3), ("D", 5), ("E", 20))]


def test_a_cohort_trace_validates_and_replays_with_its_standing() -> None:
    policy = kaohe_rules.load(POLICY)
    result = policy.evaluate_cohort(UNITS)[2].result
    assert result is not None
    doc = trace_document(result)
    check_trace(doc)
    assert doc["result"]["standing"]["rank"] == "3" and doc["result"]["provisional"] is None
    assert any(e["kind"] == "standing" and e["value"] == "3" for e in doc["events"])
    assert replay(policy, doc).ok
    forged = copy.deepcopy(doc)
    forged["result"]["standing"]["rank"] = "1"  # the rank read by the outcome and band requirement
    assert not replay(policy, forged).ok
