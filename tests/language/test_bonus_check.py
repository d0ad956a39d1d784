"""The checker on bonus points (加分, issue #10): the maximum score, bands against it, the refusals.

Each case is a small policy whose maximum or diagnostic is worked out by hand in its comment.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import kaohe_rules
from kaohe_rules.errors import PolicyError
from kaohe_rules.language import ast
from kaohe_rules.language.formatter import format_policy
from kaohe_rules.language.linker import parse_source
from kaohe_rules.source import SourceFile

HEAD = 'policy p { }\nratings { 好 中 差 } vetoed 差\nfact n: int >= 0 = 0\nfact ok: bool = false\n'


def codes(text: str) -> list[str]:
    try:
        kaohe_rules.load(HEAD + text)
    except PolicyError as exc:
        return [d.code for d in exc.diagnostics if d.severity == "error"]
    return []


def maximum(text: str) -> dict[str, Decimal | None]:
    policy = kaohe_rules.load(HEAD + text)
    return {name: plan.maximum for name, plan in policy.checked.plans.items()}


BASE = "target t in 单位.甲 points 100 { full when ok }\n"


def test_without_bonus_the_maximum_is_the_total() -> None:
    text = "category 单位 total 100 { section 甲 100 }\nbands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }\n" + BASE
    assert maximum(text) == {"单位": Decimal(100)}


def test_the_maximum_takes_the_smallest_cap_on_each_level() -> None:
    # 加: items min(3, 2+5)=3 and 4 (add 4 when) → 7, section cap 6 → 6; 奖: add 1 per n cap 2 → 2;
    # 6 + 2 = 8 under the category cap 10 → 100 + 8
    text = ("category 单位 total 100 bonus cap 10 { section 甲 100 section 加 bonus cap 6 section 奖 bonus }\n"
            "bands 单位 { 好 [80, 108] 中 [60, 80) 差 [0, 60) }\n" + BASE +
            "target a in 单位.加 cap 3 { add 2 when ok add 5 unless ok }\n"
            "target b in 单位.加 { add 4 when n > 1 }\n"
            "target c in 单位.奖 { add 1 per n cap 2 }\n")
    assert maximum(text) == {"单位": Decimal(108)}


def test_an_uncapped_bonus_leaves_the_maximum_unbounded_and_needs_an_open_band() -> None:
    sections = "category 单位 total 100 { section 甲 100 section 奖 bonus }\n"
    rules = BASE + "target c in 单位.奖 { add 1 per n }\n"
    assert codes(sections + "bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }\n" + rules) == ["K196"]
    assert maximum(sections + "bands 单位 { 好 >= 80 中 [60, 80) 差 [0, 60) }\n" + rules) == {"单位": None}
    # the category cap bounds it again: 100 + 5
    capped = sections.replace("total 100", "total 100 bonus cap 5")
    assert maximum(capped + "bands 单位 { 好 [80, 105] 中 [60, 80) 差 [0, 60) }\n" + rules) == {"单位": Decimal(105)}


def test_bands_must_reach_the_maximum_not_only_the_total() -> None:
    text = ("category 单位 total 100 { section 甲 100 section 加 bonus cap 5 }\n"
            "bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }\n" + BASE +
            "target a in 单位.加 { add 5 when ok }\n")
    assert codes(text) == ["K120"]
    assert codes(text.replace("[80, 100]", "[80, 105]")) == []
    assert codes(text.replace("[80, 100]", ">= 80")) == []
    assert codes(text.replace("[80, 100]", "> 80").replace("[60, 80)", "[60, 80]")) == []


def test_placements_and_rules_must_match_the_section_kind() -> None:
    cat = "category 单位 total 100 { section 甲 100 section 加 bonus }\nbands 单位 { 好 >= 80 中 [60, 80) 差 [0, 60) }\n"
    assert codes(cat + BASE + "target a in 单位.加 points 5 { add 1 when ok }\n") == ["K191"]
    assert codes(cat + BASE + "target a in 单位.加 { add 1 when ok deduct 1 when ok }\n") == ["K193"]
    assert codes(cat + "target t in 单位.甲 points 100 { add 1 when ok }\n") == ["K193"]
    assert "K192" in codes(cat + "target t in 单位.甲 cap 3 { full when ok }\n")


@pytest.mark.parametrize("rule", ["deduct -3", "deduct -n", "deduct -1 when ok", "deduct 0 - 2 per n",
                                  "deduct -n cap 5", "deduct -2 unless ok"])
def test_a_negative_deduction_is_refused(rule: str) -> None:
    text = "category 单位 total 100 { section 甲 100 }\nbands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }\n"
    assert codes(text + f"target t in 单位.甲 points 100 {{ {rule} }}\n") == ["K194"]


def test_a_negative_bonus_is_refused() -> None:
    cat = "category 单位 total 100 { section 甲 100 section 加 bonus }\nbands 单位 { 好 >= 80 中 [60, 80) 差 [0, 60) }\n"
    assert codes(cat + BASE + "target a in 单位.加 { add -1 when ok }\n") == ["K194"]
    assert codes(cat + BASE + "target a in 单位.加 { add n }\n") == []


def test_caps_are_constants_and_not_negative() -> None:
    cat = "category 单位 total 100 { section 甲 100 section 加 bonus cap -1 }\nbands 单位 { 好 >= 80 中 [60, 80) 差 [0, 60) }\n"
    assert codes(cat + BASE) == ["K116"]
    cat = "category 单位 total 100 { section 甲 100 section 加 bonus }\nbands 单位 { 好 >= 80 中 [60, 80) 差 [0, 60) }\n"
    assert codes(cat + BASE + "target a in 单位.加 cap n { add 1 when ok }\n") == ["K114"]


def test_the_bonus_syntax_round_trips_through_the_formatter() -> None:
    text = (HEAD + "category 单位 \"单位\" total 100 bonus cap 10 cite \"第八条\" {\n"
            "  section 甲 100\n  section 加 \"加分\" bonus cap 5 cite \"第九条\"\n  section 奖 bonus\n}\n"
            "bands 单位 { 好 >= 80 中 [60, 80) 差 [0, 60) }\n" + BASE +
            "target a in 单位.加 cap 3, 单位.奖 { add 3 when ok cite \"九(一)\" add 1 unless ok add 1 per n cap 2 "
            "add n cap 4 }\n")
    tree = parse_source(SourceFile("x.kh", text))
    assert isinstance(tree, ast.PolicyFile)
    formatted = format_policy(tree)
    assert "section 加 \"加分\" bonus cap 5 cite \"第九条\"" in formatted
    assert "total 100 bonus cap 10" in formatted and "好 >= 80" in formatted
    assert "in 单位.加 cap 3,\n    单位.奖 {" in formatted and "add 1 per n cap 2" in formatted
    again = parse_source(SourceFile("y.kh", formatted))
    assert isinstance(again, ast.PolicyFile)
    ignore = frozenset({"span", "vetoed_span", "path", "text"})
    assert ast.shape(again, ignore) == ast.shape(tree, ignore)


def test_add_and_bonus_are_keywords_only_where_they_can_stand() -> None:
    # keywords are contextual (issue #10 item 7): `add` only starts a rule, so it may name a fact;
    # `bonus` can follow a section's label where its points (a param, an expression) may stand,
    # so an expression would read it as the keyword: refused (K170), as the parser's states say
    head = "category 单位 total 100 { section 甲 100 }\nbands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }\n"
    assert "K170" not in codes(head + "fact add: int = 0\n" + BASE)
    assert "K170" in codes(head + "fact bonus: int = 0\n" + BASE)
