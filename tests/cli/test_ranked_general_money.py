"""The 通报's money totals count the outcomes for every rating (issue #10's `outcome { … }`).

A unit paid by such an outcome while the table says 奖励合计 0.00 would be a silent wrong
total; and a clause without a citation is shown by its name, not as 〔None〕.
"""

from __future__ import annotations

import kaohe_rules
from kaohe_rules.reports.ranked import ranked_report, summary_dict

POLICY = """
policy 通报示例 "通报示例" { period 2024-01-01 .. 2024-12-31 }
category 县区 "县区" total 100 { section 工作 "工作目标" 100 }
ratings { 优秀 合格 不合格 } vetoed 不合格
bands 县区 { 优秀 [90, 100] 合格 [60, 90) 不合格 [0, 60) }
fact 扣分: decimal in 0..100 = 0 "扣分"
fact 事故: bool = false "发生事故"
target 工作 "工作目标" in 县区.工作 points 100 { deduct 扣分 }
veto 事故否决 "发生事故" when 事故
outcome 优秀 { reward 奖金 "优秀奖金" = 2000元 }
outcome { reward 单项奖 "单项奖" = 500元 when 扣分 == 0 }
outcome { fine 罚款 "事故罚款" = 300元 when 事故 }
"""

UNITS = [
    {"id": "A", "category": "县区", "facts": {"扣分": 0}},  # 优秀 2000 + 单项奖 500
    {"id": "B", "category": "县区", "facts": {"扣分": 20}},  # 合格, nothing
    {"id": "C", "category": "县区", "facts": {"扣分": 0, "事故": True}},  # vetoed: 单项奖 500, 罚款 300
]


def test_totals_count_outcomes_for_every_rating() -> None:
    policy = kaohe_rules.load(POLICY)
    results = [policy.evaluate(u) for u in UNITS]
    text = ranked_report(policy.program, results, [])
    assert "奖励合计 3,000.00 元；罚款合计 300.00 元" in text  # 2000 + 500 + 500; 300
    assert "单项奖 +500.00" in text and "罚款 -300.00" in text
    summary = summary_dict(policy.program, results, [])
    assert summary["rewards_total"] == "3000.00" and summary["fines_total"] == "300.00"


def test_a_clause_without_citation_is_shown_by_name() -> None:
    policy = kaohe_rules.load(POLICY)
    text = ranked_report(policy.program, [policy.evaluate(UNITS[2])], [])
    assert "事故否决" in text and "None" not in text
