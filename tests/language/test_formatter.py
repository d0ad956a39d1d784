"""parse ∘ format is the identity (up to spans), and format is idempotent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe_rules.language import ast
from kaohe_rules.language.formatter import format_policy
from kaohe_rules.language.linker import parse_source
from kaohe_rules.source import SourceFile, Span

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILES = (sorted((ROOT / "policies").glob("*.kh")) + sorted((ROOT / "tests" / "data" / "checker").glob("K1*.kh"))
                + sorted((ROOT / "tests" / "data" / "interpreter").glob("*.kh"))
                + sorted((ROOT / "tests" / "data" / "ledgers").glob("*.kh"))  # issue #16: ledgers, maps, chains
                + sorted((ROOT / "tests" / "data" / "checker").glob("K2[67]*.kh")))


def strip(node: Any) -> Any:
    """The node without source spans, as nested tuples (what the law compares)."""
    return ast.shape(node, ignore=frozenset({"span", "vetoed_span", "record_span", "key_span", "shown_span", "path", "text"}))


def parse(text: str) -> ast.PolicyFile:
    result = parse_source(SourceFile("x.kh", text))
    assert isinstance(result, ast.PolicyFile), result.render()  # type: ignore[union-attr]
    return result


@pytest.mark.parametrize("path", POLICY_FILES, ids=[p.name for p in POLICY_FILES])
def test_format_round_trips_real_policies(path: Path) -> None:
    original = parse_source(SourceFile(path.name, path.read_text(encoding="utf-8")))
    if not isinstance(original, ast.PolicyFile):
        pytest.skip("a syntax-error fixture")
    text = format_policy(original)
    again = parse(text)
    assert strip(again) == strip(original)
    assert format_policy(again) == text  # idempotent


# ------------------------------------------------------------ generated ASTs
SPAN = Span(SourceFile("g", ""), 1, 1, 1, 2)
NAMES = st.sampled_from(["a", "b", "资金", "死亡人数", "x_1", "指标"])


def leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(0, 10**6).map(lambda n: ast.Number(value=Decimal(n), is_int=True, span=SPAN)),
        st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False).map(
            lambda d: ast.Number(value=d, is_int=False, span=SPAN) if d != d.to_integral_value() else
            ast.Number(value=Decimal(int(d)), is_int=True, span=SPAN)),
        st.integers(0, 500).map(lambda n: ast.MoneyLit(value=Decimal(n) * 10000, text=f"{n}万元", span=SPAN)),
        st.integers(0, 100).map(lambda n: ast.PercentLit(value=Decimal(n), span=SPAN)),
        st.booleans().map(lambda b: ast.BoolLit(value=b, span=SPAN)),
        st.text(alphabet="甲乙 \"\\ab\n", max_size=5).map(lambda s: ast.TextLit(value=s, span=SPAN)),
        NAMES.map(lambda n: ast.Name(ident=n, span=SPAN)),
        st.just(ast.NoneLit(span=SPAN)),
    )


def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    two = st.tuples(children, children)
    return st.one_of(
        st.tuples(st.sampled_from("+-*/"), children, children).map(
            lambda t: ast.Binary(op=t[0], left=t[1], right=t[2], span=SPAN)),
        st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), children, children).map(
            lambda t: ast.Compare(op=t[0], left=t[1], right=t[2], span=SPAN)),
        two.map(lambda t: ast.And(left=t[0], right=t[1], span=SPAN)),
        two.map(lambda t: ast.Or(left=t[0], right=t[1], span=SPAN)),
        two.map(lambda t: ast.Coalesce(left=t[0], right=t[1], span=SPAN)),
        children.map(lambda c: ast.Not(operand=c, span=SPAN)),
        children.map(lambda c: ast.Neg(operand=c, span=SPAN)),
        st.tuples(children, st.booleans()).map(lambda t: ast.IsSet(operand=t[0], expect_set=t[1], span=SPAN)),
        st.tuples(children, children, children).map(lambda t: ast.If(cond=t[0], then=t[1], otherwise=t[2], span=SPAN)),
        st.tuples(children, children, children).map(lambda t: ast.InRange(value=t[0], low=t[1], high=t[2], span=SPAN)),
        st.tuples(children, NAMES).map(lambda t: ast.Member(obj=t[0], field=t[1], span=SPAN)),
        st.tuples(st.sampled_from(["count", "sum", "any", "all", "min", "max"]), NAMES,
                  st.none() | children, st.none() | children).map(
            lambda t: ast.Aggregate(func=t[0], source=ast.Name(ident=t[1], span=SPAN), of=t[2], where=t[3], span=SPAN)),
        st.tuples(st.sampled_from(["min", "max"]), children, children).map(
            lambda t: ast.Extremum(func=t[0], args=(t[1], t[2]), span=SPAN)),
        st.tuples(st.sampled_from(["round", "abs"]), children).map(lambda t: ast.Call(func=t[0], args=(t[1],), span=SPAN)),
        # issue #16: membership and list literals
        two.map(lambda t: ast.InList(value=t[0], container=t[1], span=SPAN)),
        st.lists(children, min_size=1, max_size=3).map(lambda items: ast.ListLit(items=tuple(items), span=SPAN)),
    )


def expressions(depth: int) -> st.SearchStrategy[Any]:
    """Expressions nested up to ``depth`` operators deep (explicit depth keeps every operator likely)."""
    if depth == 0:
        return leaf()
    return st.one_of(leaf(), extend(expressions(depth - 1)))


EXPRESSIONS = expressions(4)


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS)
def test_parse_of_format_is_identity_on_expressions(e: Any) -> None:
    from kaohe_rules.language.formatter import expr

    text = f"policy p {{ }}\nlet v = {expr(e)}\n"
    parsed = parse(text)
    let = parsed.items[0]
    assert isinstance(let, ast.LetDecl)
    assert strip(let.value) == strip(e), text


def test_format_round_trips_dated_params_and_every_rule_kind() -> None:
    text = """policy p "标题" extends "base.kh" { document "文号" period 2014-01-01 .. 2014-12-31 note "说明" }
param 下限: money "下限" cite "二(一)1" {
  from 2013-01-01: 100万元
  from 2014-01-01: 120万元
}
override param 比例 = 30%
remove veto 旧否决
checkpoint 报告 "报告" from 2013-07-01 to 2013-07-15 for 甲, 乙 cite "五(四)" note "x"
target t "标签" cite "一" note "假设" in 甲.子 points 10, 乙.子 points 6 {
  full when a
  deduct 2 when b cite "x"
  deduct 3 unless c
  deduct 1 per n - 2 cap 5 cite "y"
  deduct sum(l of 分 where 类 == 甲类) cap 10
  proportional r
  score -s + 1
}
veto v "否决" for 甲 cite "四(二)4(3)" when x is set and n > x unless ok because "理由"
outcome 不合格 cite "六(三)" { fine 罚款 "罚" = 奖励 * 50% share 签 = 罚款 * 20% share 余 = rest sanction 检查 "检查" note "n" }
"""
    first = parse(text)
    formatted = format_policy(first)
    assert strip(parse(formatted)) == strip(first)
    assert format_policy(parse(formatted)) == formatted


@pytest.mark.parametrize("block", [
    "cohort c { }",
    'cohort c "排名" cite "第十条" { for A, B among x > 1 and y by if x > 1 then x else y lower first, score ties share '
    'quota 优 at most 30% of ranked for A cite "第十一条" quota 优 at most 6 }',
    "cohort c { by score higher first, x lower first ties dense }",
])
def test_format_round_trips_cohort_blocks(block: str) -> None:
    """Every part of a cohort block (issue #11 C), present or missing, survives format → parse."""
    original = parse('policy p { }\n' + block + "\n")
    text = format_policy(original)
    again = parse(text)
    assert strip(again) == strip(original)
    assert format_policy(again) == text
    assert "higher first" not in text  # the default order is not written back
