"""Boundary coverage sees the cohort values a cohort case's results were assessed with (issue #11).

A condition on ``rank`` is decided by the unit's standing in its batch.  Boundary coverage
replays each result through the reference interpreter; replayed without the standing, ``rank``
is unset and every edge on it looks untried although the cases tried it (the 2008 scheme's
"rank <= 6" with a 6th and a 7th place).
"""

from __future__ import annotations

import kaohe_rules
from kaohe_rules.testing.boundary import boundary_coverage

POLICY = """
policy 名次 "名次" { }
category 县 "县" total 100 { section 考评 "考评" 100 }
fact 得分: decimal in 0..100 "得分"
target 考评 "考评" in 县.考评 points 100 { deduct 100 - 得分 }
cohort 排名 "排名" { by score  ties share }
veto 前2名 "前2名为先进" when rank is set and rank <= 2 then rating 先进
ratings { 先进 "先进" 达标 "达标" } vetoed 达标
bands 县 { 达标 [0, 100] }
"""


def test_an_edge_on_rank_counts_as_tried_when_the_batch_tried_it() -> None:
    policy = kaohe_rules.load(POLICY)
    units = [{"id": f"u{i}", "category": "县", "facts": {"得分": s}} for i, s in enumerate((90, 80, 70))]
    results = [item.result for item in policy.evaluate_cohort(units)]
    assert [r.rating for r in results] == ["先进", "先进", "达标"]
    edges = {e.text: e for e in boundary_coverage(policy, results).items("edges")}
    assert edges["rank <= 2"].covered
