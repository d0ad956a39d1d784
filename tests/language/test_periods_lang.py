"""Periods (issue #11 P) in the language: syntax, formatting, what names mean where (the checker)."""

from __future__ import annotations

import pytest

import kaohe_rules
from kaohe_rules.errors import PolicyError
from kaohe_rules.language import ast
from kaohe_rules.language.formatter import format_policy
from kaohe_rules.language.linker import parse_source
from kaohe_rules.source import SourceFile

HEAD = '''policy p { }
category 单位 total 100 { section 甲 100 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
'''
PERIODS = 'periods cite "第十五条" { 上半年 "上半年" weight 40%  下半年 "下半年" weight 60% cite "第三条" }\n'


def codes(text: str) -> list[str]:
    try:
        kaohe_rules.load(text, name="t.kh")
    except PolicyError as exc:
        return [d.code for d in exc.diagnostics if d.severity == "error"]
    return []


def test_the_periods_block_and_per_period_facts_parse_and_format_back() -> None:
    text = HEAD + PERIODS + 'fact 扣分: int >= 0 = 0 "扣分" per period cite "第五条"\n' + \
        "target t in 单位.甲 points 100 { deduct 扣分 }\n"
    parsed = parse_source(SourceFile("t.kh", text))
    assert isinstance(parsed, ast.PolicyFile)
    periods = next(d for d in parsed.items if isinstance(d, ast.PeriodsDecl))
    assert [(p.name, p.label, p.weight, p.cite) for p in periods.items] == [
        ("上半年", "上半年", 40, None), ("下半年", "下半年", 60, "第三条")]
    fact = next(d for d in parsed.items if isinstance(d, ast.FactDecl))
    assert fact.per_period and fact.cite == "第五条"
    formatted = format_policy(parsed)
    assert 'fact 扣分: int >= 0 = 0 "扣分" per period cite "第五条"' in formatted
    again = parse_source(SourceFile("t.kh", formatted))
    assert isinstance(again, ast.PolicyFile) and format_policy(again) == formatted


def test_period_names_period_and_ratings_are_values_only_where_they_mean_one_thing() -> None:
    base = HEAD + PERIODS + "fact 扣分: int >= 0 = 0 per period\n"
    ok = base + '''let 下期 = period == 下半年
target t in 单位.甲 points 100 { deduct 扣分  deduct 5 when 下期 }
veto v when streak(periods where rating == 差) >= 2 or 上半年.score < 60 or sum(periods of 扣分) > 30
  or count(periods as p where p.rating != 好 and p.weight > 50%) > 0
'''
    assert codes(ok) == []
    assert codes(base + "target t in 单位.甲 points 100 { deduct 扣分 }\nveto v when 扣分 > 3\n") == ["K243"]
    assert codes(base + "target t in 单位.甲 points 100 { deduct 扣分 when 上半年.score > 3 }\n") == ["K244"]
    assert codes(base + "target t in 单位.甲 points 100 { deduct 扣分 }\nveto v when 上半年.rating < 好\n") == ["K245"]
    assert codes(base + "target t in 单位.甲 points 100 { deduct 扣分 }\nveto v when 上半年.rating == 优\n") == ["K101"]


def test_without_periods_the_names_stay_ordinary() -> None:
    # no periods block: a rating's name is no value, and `periods` is an unknown name with a hint (K242)
    assert codes(HEAD + "target t in 单位.甲 points 100 { full when true }\nveto v when 好 == 好\n") == ["K101", "K101"]
    assert codes(HEAD + "fact periods: int = 0\ntarget t in 单位.甲 points 100 { deduct periods }\n") == []
    assert codes(HEAD + "target t in 单位.甲 points 100 { full when true }\nveto v when count(periods) > 1\n") == ["K242"]


@pytest.mark.parametrize("weights,ok", [("50% 50%", True), ("0% 100%", True), ("50% 49%", False), ("60% 50%", False)])
def test_the_weights_add_up_to_exactly_100(weights: str, ok: bool) -> None:
    first, second = weights.split()
    text = HEAD + f"periods {{ 甲期 weight {first}  乙期 weight {second} }}\n" + \
        "target t in 单位.甲 points 100 { full when true }\n"
    assert codes(text) == ([] if ok else ["K241"])


def test_a_per_period_fact_read_through_the_period_records_is_read() -> None:
    """No K180 for a per-period fact read only as ``periods of X`` or ``一季度.X``; a deferred list made from a
    per-period fact is per period too (K243 after the combination)."""
    text = HEAD + PERIODS + '''fact 扣分: int >= 0 = 0 per period
fact 罚: int >= 0 = 0 per period
target t in 单位.甲 points 100 { full when true }
veto v when sum(periods of 扣分) > 10 or 上半年.罚 > 1
'''
    assert [w.code for w in kaohe_rules.load(text, name="t.kh").warnings] == []
    listed = HEAD + PERIODS + '''record 事故 { 死亡人数: int >= 0 }
fact 事故: list of 事故 = [] per period
defer 轻微 from 事故 where 死亡人数 == 0 as 计入
target t in 单位.甲 points 100 { deduct 5 per count(计入) cap 100 }
veto v when count(计入) > 3
'''
    assert codes(listed) == ["K243"]
