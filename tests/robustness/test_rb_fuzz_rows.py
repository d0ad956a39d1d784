"""Hostile fact rows (issue #9), bounded for CI: every row gives a Result or a kaohe error, never more.

The generators and checks live in :mod:`kaohe_rules.testing.fuzz`, shared with the long run
(``bash dev.sh fuzz-robustness``); here they run a few dozen hypothesis examples in process
(with the values that stall the unfixed engine left out) and a fixed-seed slice under the
watchdog (with them in: a stall is recorded, not a hang).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kaohe_rules.testing import fuzz

# No shrinking: a failing row can be slow (a 200,000-character value), and shrinking would repeat it
# hundreds of times; the failure message names the case's steps instead.
NO_SHRINK = tuple(Phase[name] for name in fuzz.NO_SHRINK_PHASES)




@settings(phases=NO_SHRINK, max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_rows_give_results_or_kaohe_errors(policies: fuzz.Policies, data: st.DataObject) -> None:
    ch = fuzz.DrawChooser(data)
    name = ch.choice(fuzz.BUNDLED_POLICIES)
    base = policies.base_unit(name, ch)
    row, steps = fuzz.mutate_unit(base, ch, monsters=False, max_list=50)
    tally = fuzz.Tally()
    fuzz.check_row(policies.by_name[name], row, base, ch, tally, fuzz.Case("row", "hypothesis", 0, name,
                                                                         tuple(steps)))
    assert tally.rows == 1
    assert not tally.failures, tally.failures_text()


@pytest.mark.parametrize("make", fuzz.HOSTILE + fuzz.MONSTERS[:0], ids=lambda f: re.sub(" at 0x[0-9a-f]+", "", fuzz.shown(f()))[:30])
def test_each_hostile_value_in_each_kind_of_fact(policies: fuzz.Policies, make: Any) -> None:
    """Every hostile value, once in a scalar fact of each type and once in a record field."""
    policy = policies.by_name["all-types"]
    base = fuzz.valid_unit(policy, policies.domains["all-types"], fuzz.RandomChooser("base"), max_list=1)
    base["facts"]["事"] = [{"日": "2013-05-01", "人": 1}]
    tally = fuzz.Tally()
    for fact in ["人数", "系数", "钱", "率", "达标", "报告日", "名称", "等", "标签", "事"]:
        row = dict(base) | {"facts": dict(base["facts"]) | {fact: make()}}
        fuzz.check_row(policy, row, base, fuzz.RandomChooser(fact), tally,
                       fuzz.Case("value", "ci", 0, "all-types", (f"set {fact}",)), deep=False)
    for field in ["日", "人", "级别", "额", "迟报", "备注", "重"]:
        row = dict(base) | {"facts": dict(base["facts"]) | {"事": [{"日": "2013-05-01", "人": 1, field: make()}]}}
        fuzz.check_row(policy, row, base, fuzz.RandomChooser(field), tally,
                       fuzz.Case("value", "ci", 0, "all-types", (f"set 事[0].{field}",)), deep=False)
    assert not tally.failures, tally.failures_text()


def test_fixed_seed_slice_under_the_watchdog() -> None:
    """150 rows (the stalling values included) and 20 policy mutations in a watched child process."""
    report = fuzz.run(150, 20, seed="ci-rows", stall=2.0, hard_timeout=5.0, max_list=300)
    assert report.tally.rows == 150
    assert report.tally.mutations == 20
    assert report.ok, report.render()
