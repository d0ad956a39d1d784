"""The ledger, map and membership syntax (issue #16): what the builder reads, what stays a name.

Keywords are contextual: the new words (ledger, key, shown, exclude, hand, over, charge, map)
are keywords only where a declaration or a ledger rule starts, so existing policies that use
them as names keep working.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.language import ast
from kaohe_rules.language.formatter import format_policy
from kaohe_rules.language.linker import parse_source
from kaohe_rules.source import SourceFile

DATA = Path(__file__).resolve().parents[1] / "data" / "ledgers"


def parse(text: str) -> ast.PolicyFile:
    result = parse_source(SourceFile("x.kh", text))
    assert isinstance(result, ast.PolicyFile), result
    return result


def ledger_of(text: str) -> ast.LedgerDecl:
    return next(i for i in parse(text).items if isinstance(i, ast.LedgerDecl))


def test_the_builder_reads_a_ledger() -> None:
    decl = ledger_of((DATA / "accidents.kh").read_text(encoding="utf-8"))
    assert (decl.name, decl.label, decl.record, decl.key) == ("事故台账", "生产安全事故台账", "事故", "编号")
    assert decl.shown == "{日期} {类型} {死亡人数}人死亡" and decl.source == "市安监局" and decl.cite == "第二条"
    kinds = [type(r).__name__ for r in decl.rules]
    assert kinds == ["LedgerExclude", "LedgerExclude", "LedgerCharge", "LedgerCharge", "LedgerCharge"]
    local = decl.rules[2]
    assert isinstance(local, ast.LedgerCharge) and local.categories == ("区县",) and local.condition is not None
    (join,) = local.joins
    assert (join.unit_fact, join.mode) == ("辖区", "eq") and isinstance(join.value, ast.Name)
    sector = decl.rules[4]
    assert isinstance(sector, ast.LedgerCharge) and sector.condition is None
    assert (sector.joins[0].unit_fact, sector.joins[0].mode) == ("主管行业", "in")


@pytest.mark.parametrize(("where", "reading"), [
    ("unit.辖区 == 发生地", ("辖区", "eq")),
    ("发生地 == unit.辖区", ("辖区", "eq")),
    ("类型 in unit.行业", ("行业", "in")),
    ("unit.id == 单位", ("id", "eq")),
    ("unit.辖区 != 发生地", (None, "eq")),  # another shape: the checker names it (K262)
    ("unit.辖区 in [甲, 乙]", (None, "eq")),
    ("unit.a == unit.b", (None, "eq")),
])
def test_join_terms_are_read_by_shape(where: str, reading: tuple[str | None, str]) -> None:
    decl = ledger_of(f"policy p {{ }}\nledger L of R {{ charge c to units where {where} and unit.x == y }}\n")
    rule = decl.rules[0]
    assert isinstance(rule, ast.LedgerCharge) and len(rule.joins) == 2
    assert (rule.joins[0].unit_fact, rule.joins[0].mode) == reading
    assert rule.joins[1].unit_fact == "x"


def test_hand_over_and_because() -> None:
    decl = ledger_of('policy p { }\nledger L of R {\n  exclude a "甲" when x because "因为" cite "一" note "注"\n'
                     '  hand over b when y to "自治区" cite "二"\n}\n')
    exclude, hand = decl.rules
    assert isinstance(exclude, ast.LedgerExclude) and (exclude.because, exclude.cite, exclude.note) == ("因为", "一", "注")
    assert isinstance(hand, ast.LedgerHandOver) and (hand.to, hand.cite) == ("自治区", "二")


def test_a_map_and_a_fact_from_a_ledger() -> None:
    policy = parse("policy p { }\nmap M \"对口\" from A to B cite \"三\" { x -> y  z -> w }\n"
                   "fact f: list of R from L \"计入\" for C\n")
    m, f = policy.items
    assert isinstance(m, ast.MapDecl) and (m.source, m.target, m.cite) == ("A", "B", "三")
    assert [(e.key, e.value.ident) for e in m.entries if isinstance(e.value, ast.Name)] == [("x", "y"), ("z", "w")]
    assert isinstance(f, ast.FactDecl) and (f.ledger, f.label, f.categories) == ("L", "计入", ("C",))


def test_the_new_words_are_still_names_elsewhere() -> None:
    text = ("policy p { }\nfact key: int = 0\nfact charge: int = 0\nfact map: int = 0\nfact ledger: int = 0\n"
            "fact shown: int = 0\nfact exclude: bool = false\nfact hand: int = 0\nfact over: int = 0\n"
            "category c total 10 { section s 10 }\nratings { a b } vetoed b\nbands c { a [5, 10] b [0, 5) }\n"
            "target t in c.s points 10 { deduct key + charge + map + ledger + shown + hand + over when exclude }\n")
    policy = kaohe_rules.load(text)
    assert policy.evaluate({"id": "u", "category": "c", "facts": {"key": 1, "exclude": True}}).score == 9


def test_membership_in_a_list_literal_and_a_list_fact() -> None:
    text = ("policy p { }\nenum E { a, b, c }\nfact x: E?\nfact xs: list of E = []\n"
            "category c total 10 { section s 10 }\nratings { ok no } vetoed no\nbands c { ok [5, 10] no [0, 5) }\n"
            "target t in c.s points 10 { deduct 3 when x in [a, b]\n deduct 4 when b in xs }\n")
    policy = kaohe_rules.load(text)

    def score(**facts: object) -> object:
        return policy.evaluate({"id": "u", "category": "c", "facts": facts}).score

    assert score(x="a") == 7 and score(x="c") == 10 and score() == 10  # none is in no list
    assert score(xs=["c", "b"]) == 6 and score(x="b", xs=["b"]) == 3


def test_a_total_map_gives_a_required_value_and_a_partial_one_an_optional_value() -> None:
    base = ("policy p { }\nenum E { a, b }\nfact x: E\ncategory c total 10 { section s 10 }\n"
            "ratings { ok no } vetoed no\nbands c { ok [5, 10] no [0, 5) }\n")
    total = kaohe_rules.load(base + "map M from E to int { a -> 1  b -> -2 }\n"
                             "target t in c.s points 10 { deduct 5 when M(x) < 0 }\n")
    assert total.evaluate({"id": "u", "category": "c", "facts": {"x": "b"}}).score == 5
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(base + "map M from E to text { a -> \"甲\" }\ntarget t in c.s points 10 { deduct 5 when M(x) == \"甲\" }\n")
    assert "K105" in [d.code for d in info.value.diagnostics]
    partial = kaohe_rules.load(base + "map M from E to text { a -> \"甲\" }\n"
                               "target t in c.s points 10 { deduct 5 when (M(x) ?? \"无\") == \"甲\" }\n")
    assert [partial.evaluate({"id": "u", "category": "c", "facts": {"x": m}}).score for m in "ab"] == [5, 10]


def test_format_prints_every_new_construct() -> None:
    text = format_policy(parse((DATA / "composed.kh").read_text(encoding="utf-8")))
    assert 'hand over 直属火灾 "直属企业生产经营火灾" when 类型 == 火灾 and 生产经营 and 直属 to "自治区有关规定"' in text
    assert "fact 事故: list of 事故 from 台账" in text
    assert 'exclude 军警 "军队、武警车辆的道路交通事故" when 类型 == 道路交通 and 车辆 in [军队, 武警] because "不计入地方考核"' in text
    assert "    where unit.name == 单位\n    when 重大" in text
