"""The symbol index (issue #14): definitions and the checker's resolutions as references, with spans.

Positions are found by searching the text, never written as numbers, so reformatting the
bundled policies (``kaohe fmt``) does not break these tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textpos import locate

from kaohe_rules.language.index import PolicyIndex, build_index, span_text

ROOT = Path(__file__).resolve().parents[2]
KARAMAY = ROOT / "policies" / "karamay-2013.kh"
KARAMAY_2014 = ROOT / "policies" / "karamay-2014.kh"


def position(text: str, needle: str, occurrence: int = 0, offset: int = 0) -> tuple[int, int]:
    """The 1-based line and column of the ``occurrence``-th ``needle`` in ``text`` (plus ``offset`` characters)."""
    start = locate(text, needle, offset, occurrence)
    line = text.count("\n", 0, start) + 1
    return line, start - (text.rfind("\n", 0, start) + 1) + 1


def at(index: PolicyIndex, text: str, needle: str, occurrence: int = 0, offset: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    line, column = position(text, needle, occurrence, offset)
    return [(d.kind, d.key) for d in index.at(index.source.name, line, column)]


@pytest.fixture(scope="module")
def karamay() -> tuple[PolicyIndex, str]:
    text = KARAMAY.read_text(encoding="utf-8")
    return build_index(text, str(KARAMAY)), text


def test_every_declaration_of_karamay_is_defined_once_with_its_name_span(karamay: tuple[PolicyIndex, str]) -> None:
    index, _ = karamay
    assert index.diagnostics == []
    defs = list(index.all_definitions())
    kinds = {d.kind for d in defs}
    assert {"category", "section", "target", "fact", "param", "let", "enum", "member", "record", "field",
            "veto", "rating", "band", "outcome", "outcome item", "checkpoint"} <= kinds
    for d in defs:
        if d.kind not in ("outcome", "ratings", "bands", "periods", "item"):
            assert span_text(d.name_span) == d.name, (d.kind, d.name, d.name_span)
    keys = [d.key for d in defs]
    assert len(keys) == len(set(keys))


def test_a_chinese_let_is_read_where_the_checker_says(karamay: tuple[PolicyIndex, str]) -> None:
    index, text = karamay
    let = index.lookup("let", "死亡人数合计")
    assert let is not None and let.type_text == "int" and let.label == "本市考核的事故死亡人数合计"
    uses = index.references_to(let)
    # every occurrence as a whole word but the declaration is a read (the label holds it inside a word)
    assert len(uses) == len(re.findall(r"(?<!\w)死亡人数合计(?!\w)", text)) - 1 == 5
    assert all(span_text(r.span) == "死亡人数合计" for r in uses)
    assert at(index, text, "deduct 区_每死亡一人扣分 per 死亡人数合计", offset=len("deduct 区_每死亡一人扣分 per ")) \
        == [("let", ("let", "死亡人数合计"))]
    # 死亡人数 in ``sum(本市考核事故 of 死亡人数)`` is the field of the kept list's records
    assert at(index, text, "of 死亡人数)", offset=3) == [("field", ("field", "事故", "死亡人数"))]


def test_item_fields_and_record_lets_resolve_to_the_record(karamay: tuple[PolicyIndex, str]) -> None:
    index, text = karamay
    # ``count(事故 where 迟报)``: 迟报 is the field of the record the list holds
    assert at(index, text, "count(事故 where 迟报)", offset=len("count(事故 where ")) == [("field", ("field", "事故", "迟报"))]
    # and 事故 there is the fact (a list of 事故 records), not the record type of the same name
    assert at(index, text, "count(事故 where 迟报)", offset=len("count(")) == [("fact", ("fact", "事故"))]
    # inside the record's own let, 死亡人数 is the record's field
    assert at(index, text, "if 死亡人数 >= 10", offset=3) == [("field", ("field", "事故", "死亡人数"))]
    # the type of the fact 事故 names the record
    assert at(index, text, "fact 事故: list of 事故", offset=len("fact 事故: list of ")) == [("record", ("record", "事故"))]


def test_placements_name_the_category_and_each_section(karamay: tuple[PolicyIndex, str]) -> None:
    index, text = karamay
    needle = "in 区政府.管理目标.日常督查 points 区_检查督查分"
    assert at(index, text, needle, offset=3) == [("category", ("category", "区政府"))]
    assert at(index, text, needle, offset=len("in 区政府.")) == [("section", ("section", "区政府", "管理目标"))]
    assert at(index, text, needle, offset=len("in 区政府.管理目标.")) == [
        ("section", ("section", "区政府", "管理目标", "日常督查"))]
    assert at(index, text, needle, offset=len("in 区政府.管理目标.日常督查 points ")) == [
        ("param", ("param", "区_检查督查分"))]


def test_extends_definitions_are_found_in_the_parent_file() -> None:
    text = KARAMAY_2014.read_text(encoding="utf-8")
    index = build_index(text, str(KARAMAY_2014))
    assert index.diagnostics == []
    fact = index.lookup("fact", "事故")
    assert fact is not None and Path(fact.file) == KARAMAY
    files = {Path(r.span.source.name) for r in index.references_to(fact)}
    assert KARAMAY in files
    # an override in the child is the child's definition
    checkpoint = index.lookup("checkpoint", "半年考核督查")
    assert checkpoint is not None and Path(checkpoint.file) == KARAMAY_2014


def test_named_items_and_enum_members_by_context() -> None:
    text = """policy p {}
category 单位 total 100 { section 甲 100 }
enum 等级 { 高 "高", 低 "低" }
record 事件 { 级别: 等级  分: int }
fact 事件表: list of 事件 = []
let 高分 = sum(事件表 as e of e.分 where e.级别 == 高)
target 目标 in 单位.甲 points 100 { deduct 高分 }
ratings { 好 差 } vetoed 差
bands 单位 { 好 [60, 100]  差 [0, 60) }
"""
    index = build_index(text, None)
    assert index.diagnostics == []
    assert at(index, text, "of e.分", offset=3) == [("item", ("item", "e", "<policy>:6:10", "<policy>:6:14"))]
    assert at(index, text, "e.分", offset=2) == [("field", ("field", "事件", "分"))]
    assert at(index, text, "e.级别", offset=2) == [("field", ("field", "事件", "级别"))]
    assert at(index, text, "== 高", offset=3) == [("member", ("member", "等级", "高"))]
    item = index.lookup("item", "e")
    assert item is not None and item.type_text == "事件"
    assert len(index.references_to(item)) == 2


def test_a_policy_with_checker_errors_still_has_its_names() -> None:
    text = """policy p {}
category 单位 total 100 { section 甲 100 }
fact 数量: int = 0
target 目标 in 单位.甲 points 100 { deduct 5 per 数量 + 不存在 }
ratings { 好 差 } vetoed 差
bands 单位 { 好 [60, 100]  差 [0, 60) }
"""
    index = build_index(text, None)
    assert [d.code for d in index.diagnostics] == ["K101"]
    assert at(index, text, "per 数量", offset=4) == [("fact", ("fact", "数量"))]
    assert at(index, text, "不存在") == []


def test_text_that_does_not_parse_gives_its_diagnostic_and_no_names() -> None:
    index = build_index("policy p {}\nfact 数量: int = = 0\n", None)
    assert [d.code for d in index.diagnostics] == ["K002"]
    assert index.definitions == [] and index.references == []


def test_a_child_whose_parent_is_missing_is_indexed_alone(tmp_path: Path) -> None:
    child = tmp_path / "child.kh"
    text = 'policy c extends "missing.kh" {}\nfact 数量: int = 0\n'
    child.write_text(text, encoding="utf-8")
    index = build_index(text, str(child))
    assert [d.code for d in index.diagnostics] == ["K151"]
    assert index.lookup("fact", "数量") is not None


#: Resolutions that name no declaration (the unit's score, cohort values, periods, ``it``, an index).
UNDECLARED = {"score", "score_of", "cohort", "periods", "period", "it", "index", "period_record", "enum_type"}


def repository_policies() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.kh") if ".venv" not in p.parts and "node_modules" not in p.parts)


def assert_consistent(index: PolicyIndex) -> None:
    """Every reference covers its target's name; every name the checker resolved to a declaration is a reference."""
    for r in index.references:
        assert span_text(r.span) == r.target.name, (r.span.location(), r.target.key)
    for d in index.all_definitions():
        if d.kind not in ("outcome", "ratings", "bands", "periods"):
            assert span_text(d.name_span) == d.name, (d.name_span.location(), d.key)
    if index.analysis is None or index.analysis.context is None:
        return
    starts = {(r.span.source.name, r.span.line) for r in index.references}
    for node, res in index.analysis.context.res.items():
        if res.kind in UNDECLARED or (res.kind == "it" and not res.name):
            continue
        if res.kind in ("field", "member") and index.lookup("fact", res.name) is None and not any(
                d.kind == "field" and d.name == res.name for d in index.all_definitions()):
            continue  # a period's own value (``score``, ``rating``), declared by no one
        span = node.span
        assert any((span.source.name, line) in starts for line in range(span.line, span.end_line + 1)), \
            (span.location(), res)


@pytest.mark.parametrize("path", repository_policies(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_policy_indexes_consistently(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    assert_consistent(build_index(text, str(path)))


def test_generated_policies_index_consistently() -> None:
    from kaohe_rules.testing.policygen import sample

    for generated in sample("index", 12):
        index = build_index(generated.text, None)
        assert not [d for d in index.diagnostics if d.severity == "error"]
        assert index.references
        assert_consistent(index)


@pytest.mark.parametrize("nested", ["-" * 3000 + "1", "1" + " + 1" * 3000])
def test_an_expression_nested_too_deeply_is_k009_not_an_exception(nested: str) -> None:
    index = build_index(f"policy p {{}}\nlet x = {nested}\n", None)
    assert [d.code for d in index.diagnostics] == ["K009"]
    assert index.references == []
