"""``kaohe diff`` on cohort policies (issue #11): units are compared as each is assessed alone.

Per-unit ``evaluate`` refuses a cohort policy (CohortRequired), so before this every unit was
"refused by one of the policies" and the diff compared none of them while saying no change was found.
"""

from __future__ import annotations

import json
from pathlib import Path

import kaohe_rules
from kaohe_rules.testing.diff import diff_policies
from kaohe_rules.testing.diffreport import render_text

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_a_cohort_policy_s_units_are_compared_and_the_report_says_how() -> None:
    policy = kaohe_rules.load(POLICIES / "jiaojiang-2018.kh")
    units = json.loads((POLICIES / "jiaojiang-2018" / "units.json").read_text(encoding="utf-8"))["units"]
    report = diff_policies(policy, policy, units=units, examples=20)
    real = [b for b in report.behaviour if not b.source.endswith("generated units")]
    assert real and real[0].compared == len(units)
    assert report.generated > 0
    assert "every unit is compared as assessed alone" in render_text(report)
