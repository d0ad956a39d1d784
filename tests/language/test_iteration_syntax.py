"""Named items (``L as NAME``), ``index``, group-by and the order tests: syntax, checking, formatting (issue #10 C)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import lark
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.errors import PolicyError
from kaohe_rules.grammar_file import grammar_text
from kaohe_rules.language import ast
from kaohe_rules.language.formatter import expr, format_policy
from kaohe_rules.language.linker import parse_source
from kaohe_rules.source import SourceFile, Span

TARGET = "target t in 单位.甲 points 100 { full when true }"
HEAD = """policy p { }
category 单位 total 100 { section 甲 100 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
enum 等级 ordered { 一般, 较大 }
record 事故 { 日期: date  死亡人数: int >= 0  等级: 等级  类型: text }
fact 事故: list of 事故 = []
fact 历年: list of int = []
"""


def parse(text: str) -> ast.PolicyFile:
    result = parse_source(SourceFile("x.kh", text))
    assert isinstance(result, ast.PolicyFile), result.render()  # type: ignore[union-attr]
    return result


def diagnostics(body: str) -> list[tuple[str, str]]:
    """(code, message) of every diagnostic the policy HEAD + body draws (errors and warnings)."""
    try:
        policy = kaohe_rules.load(HEAD + body, name="x.kh")
    except PolicyError as exc:
        return [(d.code, d.message) for d in exc.diagnostics]
    return [(d.code, d.message) for d in policy.warnings]


def codes(body: str) -> list[str]:
    return [c for c, _ in diagnostics(body) if c != "K180"]


def test_the_grammar_gains_no_lalr_conflict() -> None:
    # Lark raises on a reduce/reduce conflict and only logs a shift/reduce one (resolved as shift), so the
    # log is read: `from L as x where … as ALIAS` (defer), `on L as a where …` and `sum(L as a … by k)`
    # add none.  The one conflict the grammar already had (`in` after a comparison operand: `a in lo..hi`
    # against a placement's `in`) is the only one allowed.
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler, level = Keep(), lark.logger.level
    lark.logger.addHandler(handler)
    lark.logger.setLevel(logging.DEBUG)
    try:
        lark.Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False, debug=True)
    finally:
        lark.logger.removeHandler(handler)
        lark.logger.setLevel(level)
    conflicts = [r for r in records if "conflict" in r.lower()]
    assert conflicts == ["Shift/Reduce conflict for terminal IN: (resolving as shift)"], records


def test_the_builder_keeps_names_keys_and_order_tests() -> None:
    text = (HEAD + "let s = sum(事故 as a of a.死亡人数 where a.日期 <= 2013-12-31 by a.类型)\n"
            "let u = increasing(历年)\n"
            "veto v on 事故 as a where count(事故 as b where index(b) <= index(a)) > 3\n"
            "defer d from 事故 as x where x.等级 == 较大 and index(x) > 1 as 本地\n")
    items = {getattr(i, "name", None): i for i in parse(text).items}
    s = items["s"]
    assert isinstance(s, ast.LetDecl) and isinstance(s.value, ast.Aggregate)
    assert s.value.name == "a" and isinstance(s.value.by, ast.Member) and s.value.func == "sum"
    u = items["u"]
    assert isinstance(u, ast.LetDecl) and isinstance(u.value, ast.Aggregate) and u.value.func == "increasing"
    v = items["v"]
    assert isinstance(v, ast.VetoDecl) and v.on_name == "a"
    d = items["d"]
    assert isinstance(d, ast.DeferDecl) and d.item_name == "x" and d.alias == "本地" and d.source_list == "事故"
    # the old forms build as before: no name, no key
    old = parse(HEAD + "let c = count(事故 where 死亡人数 > 0)\nveto w on 事故 where 死亡人数 > 2\n").items
    assert isinstance(old[-2], ast.LetDecl) and isinstance(old[-2].value, ast.Aggregate)
    assert old[-2].value.name is None and old[-2].value.by is None
    assert isinstance(old[-1], ast.VetoDecl) and old[-1].on_name is None


def test_format_round_trips_every_new_form() -> None:
    text = (HEAD + "let s = sum(事故 as a of a.死亡人数 where a.日期 <= 2013-12-31 by a.类型)\n"
            "let c = count(事故 where 等级 >= 较大 by 类型)\n"
            "let u = increasing(历年) and decreasing(事故 as a of a.死亡人数 where index(a) > 1)\n"
            "let i = sum(事故 of index(it))\n"
            "veto v on 事故 as a where count(事故 as b where index(b) <= index(a)) > 3\n"
            "defer d from 事故 as x where x.等级 == 较大 as 本地\n")
    first = parse(text)
    formatted = format_policy(first)
    assert "sum(事故 as a of a.死亡人数 where a.日期 <= 2013-12-31 by a.类型)" in formatted
    assert "on 事故 as a where" in formatted and "from 事故 as x where" in formatted
    again = parse(formatted)
    assert ast.shape(again, ignore=frozenset({"span", "vetoed_span", "path"})) == \
        ast.shape(first, ignore=frozenset({"span", "vetoed_span", "path"}))
    assert format_policy(again) == formatted


def test_a_named_item_is_in_scope_at_every_depth_and_bare_fields_stay_inner() -> None:
    # a.日期 is the outer accident, 日期 the inner one: a running count, no warning
    assert codes("target t in 单位.甲 points 100 { deduct count(事故 as a where count(事故 where 日期 <= a.日期) > 1) }") == []
    # the name is not in scope outside its aggregate
    assert codes("target t in 单位.甲 points 100 { deduct count(事故 as a) + a.死亡人数 }") == ["K101"]
    # a veto's and a defer's named item is in scope in its condition
    assert codes("veto v on 事故 as a where a.死亡人数 > 2\n"
                 "defer d from 事故 as x where x.等级 == 较大 as 本地\n"
                 "target t in 单位.甲 points 100 { deduct count(本地) }") == []


@pytest.mark.parametrize(("body", "reading"), [
    ("let n = count(事故 as 历年 where 历年.死亡人数 > 0)", "the fact '历年'"),
    ("let n = count(事故 as 死亡人数)", "a field of record '事故'"),
    ("let n = count(事故 as a where count(事故 as a) > 1)", "the name of an enclosing item"),
    ("let n = count(事故 as 较大)", "a member of enum '等级'"),
    ("let n = count(事故 as 等级)", "a field of record '事故'"),
    ("let n = count(事故 as sum)", "a keyword of the language"),
])
def test_a_name_that_already_means_something_is_refused(body: str, reading: str) -> None:
    found = [(c, m) for c, m in diagnostics(body + "\ntarget t in 单位.甲 points 100 { deduct n }") if c == "K210"]
    assert found and reading in found[0][1], found


def test_index_takes_an_item_name() -> None:
    assert codes("let n = count(事故 as a where index(a) > 1)\ntarget t in 单位.甲 points 100 { deduct n }") == []
    assert codes("let n = count(事故 where index(it) > 1)\ntarget t in 单位.甲 points 100 { deduct n }") == []
    for bad in ("index(死亡人数) > 1", "index(b) > 1", "index(1) > 1", "index(a, a) > 1"):
        assert codes(f"let n = count(事故 as a where {bad})\ntarget t in 单位.甲 points 100 {{ deduct n }}") == \
            ["K211"], bad
    assert codes("let n = index(x)\ntarget t in 单位.甲 points 100 { deduct n }") == ["K211"]


@pytest.mark.parametrize("condition", [
    "count(事故 where 日期 <= it.日期) > 1",     # the example of the issue: x <= x
    "count(事故 as b where b.日期 <= b.日期) > 1",
    "count(事故 as b where index(b) <= index(b)) > 1",
    "count(历年 where it == it) > 1",
    "a.死亡人数 == a.死亡人数",
])
def test_comparing_an_item_with_itself_warns(condition: str) -> None:
    assert codes(f"veto v on 事故 as a where {condition}\n{TARGET}") == ["K212"]


@pytest.mark.parametrize("condition", [
    "count(事故 where 日期 <= a.日期) > 1",
    "count(事故 as b where index(b) <= index(a)) > 1",
    "count(事故 as b where b.死亡人数 == a.死亡人数) > 1",
    "a.死亡人数 > 1",
])
def test_comparing_two_items_does_not_warn(condition: str) -> None:
    assert codes(f"veto v on 事故 as a where {condition}\n{TARGET}") == []


@pytest.mark.parametrize(("expr", "code"), [
    ("sum(事故 of 死亡人数 by 类型)", None),
    ("count(事故 by 等级)", None),
    ("count(事故 where 死亡人数 > 0 by 日期)", None),
    ("max(事故 of 死亡人数 by 类型) ?? 0", "K213"),
    ("min(事故 of 死亡人数 by 类型) ?? 0", "K213"),
    ("(if any(事故 where 死亡人数 > 0 by 类型) then 1 else 0)", "K213"),
    ("(if all(事故 where 死亡人数 > 0 by 类型) then 1 else 0)", "K213"),
    ("(if increasing(历年 by it) then 1 else 0)", "K213"),
    ("count(事故 by 事故)", "K213"),
    ("count(事故 by if 死亡人数 > 0 then 类型 else none)", "K213"),
])
def test_group_by_only_in_sum_and_count_with_a_plain_key(expr: str, code: str | None) -> None:
    assert codes(f"target t in 单位.甲 points 100 {{ deduct {expr} }}") == ([code] if code else [])


def test_order_tests_need_numbers_and_give_true_or_false() -> None:
    assert codes("target t in 单位.甲 points 100 { deduct 1 unless increasing(历年) and "
                 "decreasing(事故 as a of a.日期 where a.死亡人数 > 0) }") == []
    assert codes("target t in 单位.甲 points 100 { deduct 1 unless increasing(事故 of 类型) }") == ["K103"]
    assert codes("target t in 单位.甲 points 100 { deduct increasing(历年) }") != []


def test_new_words_stay_names_where_no_keyword_can_stand() -> None:
    # `by`, `increasing`, `decreasing` and `index` are read as words only where the construct can stand
    text = HEAD + "record r { by: int }\nfact rs: list of r = []\nlet index = sum(rs of by)\n"
    assert isinstance(parse(text), ast.PolicyFile)


# ------------------------------------------------- generated: parse ∘ format is the identity
SPAN = Span(SourceFile("g", ""), 1, 1, 1, 2)
NAMES = st.sampled_from(["a", "b", "死亡人数", "x_1"])
FUNCS = st.sampled_from(["count", "sum", "any", "all", "min", "max", "increasing", "decreasing"])


def _name(n: str) -> ast.Expr:
    return ast.Name(ident=n, span=SPAN)


def _expressions(depth: int) -> st.SearchStrategy[Any]:
    leaf = st.one_of(NAMES.map(_name), st.integers(0, 9).map(lambda n: ast.Number(value=Decimal(n), is_int=True, span=SPAN)),
                     NAMES.map(lambda n: ast.Call(func="index", args=(_name(n),), span=SPAN)),
                     st.just(ast.It(span=SPAN)))
    if depth == 0:
        return leaf
    inner = _expressions(depth - 1)
    aggregate = st.tuples(FUNCS, NAMES, st.none() | NAMES, st.none() | inner, st.none() | inner, st.none() | inner).map(
        lambda t: ast.Aggregate(func=t[0], source=_name(t[1]), name=t[2], of=t[3], where=t[4], by=t[5], span=SPAN))
    compare = st.tuples(inner, inner).map(lambda t: ast.Compare(op="<=", left=t[0], right=t[1], span=SPAN))
    member = st.tuples(inner, NAMES).map(lambda t: ast.Member(obj=t[0], field=t[1], span=SPAN))
    return st.one_of(leaf, aggregate, compare, member)


@settings(max_examples=200, deadline=None)
@given(_expressions(3))
def test_parse_of_format_is_identity_on_the_new_forms(e: Any) -> None:
    text = f"policy p {{ }}\nlet v = {expr(e)}\n"
    let = parse(text).items[0]
    assert isinstance(let, ast.LetDecl)
    assert ast.shape(let.value) == ast.shape(e), text
