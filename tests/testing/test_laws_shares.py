"""The money law and shares without ``rest`` (issue #10 B): parts of an award, not a division of it.

阿坝州's 第十三条 gives 20% / 15% / 10% of an award to named people and says nothing of the rest;
``money-exact`` must accept shares that do not exhaust the pot and still catch shares that exceed it.
"""

from __future__ import annotations

import kaohe_rules
from kaohe_rules.testing.verifier import verify

SHARES = """
policy 钱 "shares without rest" {
  period 2020-01-01 .. 2020-12-31
}
category 单位 "unit" total 10 {
  section 甲 "section" 10
}
fact 奖金: money >= 0 "bonus"
fact 完成: bool "done"
target 任务 "task" in 单位.甲 points 10 {
  full when 完成
}
ratings { 好 "good" 差 "bad" } vetoed 差
bands 单位 { 好 [5, 10] 差 [0, 5) }
outcome 好 {
  reward 奖励 "reward" = 奖金
  share 负责人 "head" = 奖金 * PART
  share 分管 "deputy" = 奖金 * 15%
}
"""


def test_shares_that_leave_part_of_the_award_unnamed_hold_the_money_law() -> None:
    report = verify(kaohe_rules.load(SHARES.replace("PART", "20%")), examples=30)
    assert report.ok, report.render()


def test_shares_without_rest_that_exceed_the_award_fail_the_money_law() -> None:
    report = verify(kaohe_rules.load(SHARES.replace("PART", "90%")), examples=30)
    money = [f for f in report.failures if f.law == "money-exact"]
    assert len(money) == 1 and "more than the whole" in money[0].message, report.render()

