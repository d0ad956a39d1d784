"""The syntax of rating effects and band requirements (issue #10 A3): parsed, built, formatted back."""

from __future__ import annotations

import kaohe_rules
from kaohe_rules.language import ast
from kaohe_rules.language.formatter import format_policy
from kaohe_rules.language.linker import parse_source
from kaohe_rules.source import SourceFile

HEAD = """policy p { }
category 单位 total 100 { section 甲 100 }
ratings { 好 中 差 } vetoed 差
"""


def parse(text: str) -> ast.PolicyFile:
    result = parse_source(SourceFile("x.kh", text))
    assert isinstance(result, ast.PolicyFile), result.render()  # type: ignore[union-attr]
    return result


def test_each_effect_is_built() -> None:
    text = HEAD + """bands 单位 { 好 [80, 100] requires x == 0 cite "一" 中 [60, 80) 差 [0, 60) }
fact x: int = 0
veto a when x > 1 then rating 中
veto b when x > 2 unless x > 9 because "例外" then downgrade 1
veto c when x > 3 then cap 中
veto d when x > 4 then score if x > 5 then 0 else score / 2
veto e when x > 6
"""
    tree = parse(text)
    vetoes = [d for d in tree.items if isinstance(d, ast.VetoDecl)]
    assert [(v.effect.kind, v.effect.rating) if v.effect else None for v in vetoes] == \
        [("rating", "中"), ("downgrade", None), ("cap", "中"), ("score", None), None]
    assert isinstance(vetoes[3].effect.amount, ast.If)  # type: ignore[union-attr]  # `if … then` inside `then score`
    assert len(vetoes[1].exceptions) == 1
    bands = next(d for d in tree.items if isinstance(d, ast.BandsDecl))
    assert isinstance(bands.bands[0].requires, ast.Compare) and bands.bands[0].cite == "一"
    assert [b.requires for b in bands.bands[1:]] == [None, None]
    formatted = format_policy(tree)
    assert ast.shape(parse(formatted).items) == ast.shape(tree.items)  # round trip
    assert "then score if x > 5 then 0 else score / 2" in formatted and "requires x == 0 cite" in formatted


def test_the_new_words_are_names_where_no_effect_can_stand() -> None:
    policy = kaohe_rules.load(HEAD + """fact rating: int = 0
fact downgrade: bool = false
fact requires: int = 0
bands 单位 { 好 [80, 100] requires requires == 0 中 [60, 80) 差 [0, 60) }
target t in 单位.甲 points 100 { deduct rating cap 100 }
veto v when downgrade then downgrade 1
veto w when rating > 50 then rating 中
""")
    rate = [policy.evaluate({"id": "u", "category": "单位", "facts": f}).rating
            for f in ({}, {"downgrade": True}, {"requires": 1}, {"rating": 60})]
    assert rate == ["好", "中", "中", "中"]
