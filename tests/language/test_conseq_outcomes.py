"""Issue #10 B in the front half: the syntax and checks of conditional outcome items,
outcomes for every rating, shares without ``rest`` and reported lets."""

from __future__ import annotations

import pytest

import kaohe_rules
from kaohe_rules.errors import PolicyError
from kaohe_rules.language import ast
from kaohe_rules.language.formatter import format_policy
from kaohe_rules.language.linker import parse_source
from kaohe_rules.source import SourceFile

HEAD = """policy p { }
category 县区 total 100 { section 甲 100 }
category 部门 total 100 { section 甲 100 }
ratings { 好 中 差 } vetoed 差
bands 县区 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
bands 部门 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
fact n: int = 0 "n"
fact 基数: money = 0 "基数"
fact 县区数: int = 0 "县区才有" for 县区
target t in 县区.甲 points 100, 部门.甲 points 100 { deduct n }
"""

SYNTAX = HEAD + """let 合计 = n * 2 "合计" cite "十二" report
outcome cite "十二" {
  sanction 约谈 "约谈" when n >= 2 cite "十二(一)"
  fine 扣减 "扣减" = 基数 * 10% for 部门 when n > 0
}
outcome 好 cite "六" {
  reward 奖金 "县区" = 5万元 for 县区 cite "六(一)"
  reward 奖金 "部门" = 3万元 for 部门
  reward 追加 = 奖金 * 30% when n == 0
  share 签订人 = 奖金 * 20%
  share 其余 = rest when n == 0
}
"""


def parse(text: str) -> ast.PolicyFile:
    result = parse_source(SourceFile("x.kh", text))
    assert isinstance(result, ast.PolicyFile), result
    return result


def diagnostics(text: str) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as info:
        kaohe_rules.load(text)
    return [(d.code, d.message) for d in info.value.diagnostics if d.severity == "error"]


def test_the_new_syntax_builds_and_round_trips() -> None:
    policy = parse(SYNTAX)
    outcomes = [d for d in policy.items if isinstance(d, ast.OutcomeDecl)]
    general, good = outcomes
    assert general.for_every_rating and general.rating == "" and not good.for_every_rating
    assert isinstance(general.items[0].condition, ast.Compare) and general.items[0].cite == "十二(一)"
    assert general.items[1].categories == ("部门",) and general.items[1].condition is not None
    assert [i.categories for i in good.items[:2]] == [("县区",), ("部门",)]
    assert good.items[4].amount is None and good.items[4].condition is not None
    let = next(d for d in policy.items if isinstance(d, ast.LetDecl))
    assert let.report and let.cite == "十二"
    text = format_policy(policy)
    assert "outcome cite \"十二\" {" in text and "report" in text
    assert ast.shape(parse(text).items) == ast.shape(policy.items)
    assert format_policy(parse(text)) == text
    kaohe_rules.load(SYNTAX)  # and it checks


def test_two_general_outcomes_are_two_declarations() -> None:
    policy = kaohe_rules.load(HEAD + 'outcome { sanction a "a" when n > 1 }\noutcome { sanction b "b" when n > 2 }\n')
    assert [o.items[0].name for o in policy.checked.general_outcomes] == ["a", "b"]


def test_same_name_needs_disjoint_for_lists() -> None:
    assert diagnostics(HEAD + "outcome 好 { reward a = 1元 reward a = 2元 for 县区 }") == [
        ("K100", "outcome '好' names 'a' twice")]
    assert diagnostics(HEAD + "outcome 好 { reward a = 1元 for 县区, 部门 reward a = 2元 for 县区 }") == [
        ("K143", "outcome '好' has two items 'a' for 县区")]
    kaohe_rules.load(HEAD + "outcome 好 { reward a = 1元 for 部门 reward a = 2元 for 县区 }")


def test_shares_need_not_exhaust_the_pot_but_one_rest_at_most() -> None:
    kaohe_rules.load(HEAD + "outcome 好 { reward a = 100元 share b = a * 20% }")
    assert [c for c, _ in diagnostics(HEAD + "outcome 好 { reward a = 100元 share b = rest share c = rest }")] == ["K142"]


def test_an_item_condition_is_checked_like_a_rule_condition() -> None:
    assert [c for c, _ in diagnostics(HEAD + "outcome 好 { sanction s when n }")] == ["K106"]
    assert [c for c, _ in diagnostics(HEAD + "outcome 好 { sanction s when 未知 > 1 }")] == ["K101"]
    # a fact only 县区 supplies: readable in an item for 县区, not in one for every category
    kaohe_rules.load(HEAD + "outcome 好 { sanction s for 县区 when 县区数 > 1 }")
    assert "K108" in [c for c, _ in diagnostics(HEAD + "outcome { sanction s when 县区数 > 1 }")]
    assert [c for c, _ in diagnostics(HEAD + "outcome 好 { sanction s for 乡镇 }")] == ["K112"]


def test_unused_let_warns_unless_reported_or_read() -> None:
    warned = kaohe_rules.load(HEAD + 'let x = n + 1 "x"\n').checked.warnings
    assert [(w.code, w.message) for w in warned if w.code == "K181"] == [
        ("K181", "let 'x' is declared but nothing reads it")]
    for text in ('let x = n + 1 "x" report\n', 'let x = n + 1 "x"\noutcome { sanction s when x > 3 }\n'):
        assert not [w for w in kaohe_rules.load(HEAD + text).checked.warnings if w.code == "K181"]


def test_bundled_policies_have_no_unused_let() -> None:
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[2] / "policies").glob("*.kh")):
        assert not [w for w in kaohe_rules.load(path).checked.warnings if w.code == "K181"], path.name


def test_a_bare_zero_is_a_money_and_percent_default() -> None:
    policy = kaohe_rules.load(HEAD + 'fact r: percent = 0 "r"\noutcome 好 { reward a = 基数 when r >= 0% }\n')
    assert policy.checked.fact_defaults["基数"] == 0 and policy.checked.fact_defaults["r"] == 0


def test_a_number_times_a_percentage_is_a_number() -> None:
    policy = kaohe_rules.load(HEAD.replace("{ deduct n }", "{ deduct 100 - n * 25% - 50% * n }"))
    assert policy.evaluate({"id": "u", "category": "县区", "facts": {"n": 40}}).score == 30  # 100 - (100 - 10 - 20)
    [(code, message)] = diagnostics(HEAD.replace("{ deduct n }", "{ deduct n + 25% }"))
    assert (code, message) == ("K104", "cannot apply '+' to int and percent")
