"""Examples of docs/language.md whose numbers the text states: they hold.

Every block of every page runs in test_docs_run.py; here the numbers written around three
examples are checked as well.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_bonus_points_example_runs_as_documented() -> None:
    """docs/language.md "Bonus points (加分)": the policy loads, and the numbers the text states hold."""
    import kaohe_rules

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text.split("### Bonus points (加分)", 1)[1]
    example = re.search(r"```kaohe\n(policy 加分示例.*?)```", section, flags=re.S)
    assert example is not None
    policy = kaohe_rules.load(example.group(1))
    assert policy.checked.plans["县区"].maximum == 105
    result = policy.evaluate({"id": "u", "category": "县区",
                              "facts": {"完成率": 85, "国家级表彰": True, "省级表彰次数": 4, "创新": True}})
    assert (result.score, result.base_score, result.bonus, result.rating) == (90, 85, 5, "优秀")
    assert result.sections["加分"].bonus
    assert "加分合计5分，超过上限3分，按3分计" in result.explain()
    assert "bonus 5 pts in total, above the cap of 3: counted as 3" in result.explain(lang="en")


def test_the_periods_example_runs_as_documented() -> None:
    """docs/language.md "Periods" (issue #11 P): the policy loads, and the numbers the text states hold."""
    import json

    import kaohe_rules
    from kaohe_rules.audit.whynot import render, why_not

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text.split("## Periods: several checkpoints in one assessment", 1)[1]
    example = re.search(r"```kaohe\n(policy 季度考核示例.*?)```", section, flags=re.S)
    unit = re.search(r"```json\n(.*?)```", section, flags=re.S)
    assert example is not None and unit is not None
    policy = kaohe_rules.load(example.group(1))
    result = policy.evaluate(json.loads(unit.group(1), parse_float=str))
    assert [str(p.score) for p in result.periods] == ["97", "60", "98.5", "95"]
    assert (str(result.score), result.rating, result.periods[1].rating) == ("87.625", "良好", "满意")
    why = render(why_not(result), result)
    assert "第二季度（权重25%）提高9.5分即可（该期还能提高40分）" in why


def test_the_only_in_example_runs_as_documented() -> None:
    """docs/language.md, sections ``only in`` some periods (issue #11 P): the numbers the text states."""
    import kaohe_rules

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    example = re.search(r"```kaohe\n(policy 日常年终示例.*?)```", text, flags=re.S)
    assert example is not None
    policy = kaohe_rules.load(example.group(1))
    result = policy.evaluate({"id": "u", "category": "单位",
                              "facts": {"检查扣分": {"日常": 10, "年终": 5}, "完成率": "80%"}})
    assert [str(p.score) for p in result.periods] == ["90", "83.0"]
    assert str(result.score) == "85.10"
    assert [(k, str(s.score), str(s.points)) for k, s in result.sections.items()] == [
        ("日常检查", "27.0", "30.0"), ("年终目标", "33.60", "42.0"), ("年终检查", "24.5", "28.0")]
    assert list(result.periods[0].sections) == ["日常检查"]

