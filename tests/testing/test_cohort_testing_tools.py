"""The testing tools see what a cohort policy's batches decide (issue #11).

A condition on ``rank`` is decided by the unit's standing in its batch, so only the
``[[cohort]]`` cases of a test file try it.  Boundary coverage replays each result through the
reference interpreter: replayed without its standing, ``rank`` was unset and every edge on it
looked untried although the cases tried it (the 2008 scheme's "rank <= 6" with a 6th and a 7th
place).  The mutation check ran the plain cases only: a mutant of a rule on ``rank`` survived
every one of them (椒江's rank points, ``0.5 → 0.4``).
"""

from __future__ import annotations

from pathlib import Path

import kaohe_rules
from kaohe_rules.testing.boundary import boundary_coverage
from kaohe_rules.testing.mutate import mutation_reports

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


CASES = """
policy = "名次.kh"

[[case]]
name = "alone: no rank, 达标"
category = "县"
facts = { "得分" = 90 }
expect = { rating = "达标" }

[[cohort]]
name = "the first two are 先进"
units = [ { id = "A", category = "县", facts = { "得分" = 90 } },
          { id = "B", category = "县", facts = { "得分" = 80 } },
          { id = "C", category = "县", facts = { "得分" = 70 } } ]
expect.A = { rank = 1, rating = "先进" }
expect.B = { rank = 2, rating = "先进" }
expect.C = { rank = 3, rating = "达标" }
"""


def test_the_mutation_check_runs_the_cohort_cases_too(tmp_path: Path) -> None:
    (tmp_path / "名次.kh").write_text(POLICY, encoding="utf-8")
    (tmp_path / "名次.tests.toml").write_text(CASES, encoding="utf-8")
    [report] = mutation_reports([tmp_path / "名次.tests.toml"])
    assert report.error is None, report.render()
    assert report.cases == 2
    assert any("rank <= 2" in m.text for m in report.killed), report.render()  # only the batch kills it
    assert not any("rank" in m.text for m in report.survivors), report.render()
