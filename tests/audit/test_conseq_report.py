"""Reports show reported lets and the outcomes for every rating (issue #10), and only for
policies that have them."""

from __future__ import annotations

from pathlib import Path

import kaohe_rules
from kaohe_rules.audit.report import batch_report, unit_report

ROOT = Path(__file__).resolve().parents[2]
POLICY = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "consequences.kh")
UNIT = {"id": "u", "category": "部门",
        "facts": {"限额": {"次数": 1}, "扣分": 50, "奖励基数": "10000", "季度考核": [{"等次": "差"}, {"等次": "差"}]}}


def test_the_unit_report_lists_further_consequences_and_reported_values() -> None:
    text = unit_report(POLICY.evaluate(UNIT))
    assert "## 其他奖惩（不论等次）" in text and "| 季度连续两次不满意的，警示约谈〔十二(一)〕 | — |" in text
    assert "| 扣减奖金 | 1,000.00 |" in text
    assert "## 报告数值" in text and "| 不满意次数 | 2 |" in text


def test_the_batch_report_has_a_column_per_reported_let() -> None:
    text = batch_report(POLICY, [POLICY.evaluate(UNIT)], [])
    assert "| 移交 | 不满意次数 | 有满意季度 |" in text and "| — | 2 | 否 |" in text


def test_a_policy_without_them_shows_neither() -> None:
    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    assert not karamay.checked.reported and not karamay.checked.general_outcomes
