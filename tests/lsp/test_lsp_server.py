"""The language server as an editor sees it: ``python -m kaohe_rules lsp`` in a real subprocess,
spoken to over its stdin/stdout by pygls's own client (no mocks).

One server serves the whole module (starting one costs an interpreter and the parser tables);
each test opens its own documents.  Positions are found by searching the text, never written
as numbers, so reformatting the bundled policies does not break these tests.  Skipped when
pygls is not installed (the ``lsp`` extra; CI installs it with the dev extras).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textpos import locate

pytest.importorskip("pygls")

from lsprotocol import types as lsp  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

from kaohe_rules.language.fmt import format_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KARAMAY = ROOT / "policies" / "karamay-2013.kh"
KARAMAY_2014 = ROOT / "policies" / "karamay-2014.kh"
TIMEOUT = 30.0

T = TypeVar("T")


class Session:
    """A running server, the client talking to it, and the diagnostics it published."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("kaohe-tests", "1")
        self.diagnostics: dict[str, list[lsp.Diagnostic]] = {}
        self.published: dict[str, asyncio.Event] = {}
        self.version = 0
        self.initialized: lsp.InitializeResult | None = None

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: lsp.PublishDiagnosticsParams) -> None:
            self.diagnostics[params.uri] = list(params.diagnostics)
            self.event(params.uri).set()

    def event(self, uri: str) -> asyncio.Event:
        if uri not in self.published:
            self.published[uri] = asyncio.Event()
        return self.published[uri]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coro, TIMEOUT))

    def start(self, log: Path) -> lsp.InitializeResult:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        # the log goes to a file: a full stderr pipe nobody reads would block the server
        self.run(self.client.start_io(sys.executable, "-m", "kaohe_rules", "lsp", "--log-file", str(log),
                                      env=env, cwd=str(ROOT)))
        result = self.run(self.client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=from_fs_path(str(ROOT)))))
        self.client.initialized(lsp.InitializedParams())
        return result

    def stop(self) -> None:
        try:
            self.run(self.client.shutdown_async(None))
            self.client.exit(None)
            self.run(self.client.stop())
        finally:
            self.loop.close()

    def open(self, path: Path, text: str | None = None) -> tuple[str, str]:
        """Open ``path`` (with ``text``, or its content); wait for its diagnostics; the URI and text."""
        uri = from_fs_path(str(path))
        assert uri is not None
        text = path.read_text(encoding="utf-8") if text is None else text
        self.version += 1
        self.event(uri).clear()
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="kaohe", version=self.version, text=text)))
        self.run(self.event(uri).wait())
        return uri, text

    def change(self, uri: str, text: str) -> list[lsp.Diagnostic]:
        """Replace the whole text of ``uri``; the diagnostics published after the pause."""
        self.version += 1
        self.event(uri).clear()
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        self.run(self.event(uri).wait())
        return self.diagnostics[uri]

    def hover(self, uri: str, pos: lsp.Position) -> str | None:
        found = self.run(self.client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)))
        if found is None:
            return None
        assert isinstance(found.contents, lsp.MarkupContent)
        return found.contents.value

    def definition(self, uri: str, pos: lsp.Position) -> list[lsp.Location]:
        found = self.run(self.client.text_document_definition_async(lsp.DefinitionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)))
        assert isinstance(found, list)
        return [x for x in found if isinstance(x, lsp.Location)]

    def references(self, uri: str, pos: lsp.Position, include: bool) -> list[lsp.Location]:
        found = self.run(self.client.text_document_references_async(lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos,
            context=lsp.ReferenceContext(include_declaration=include))))
        return list(found or [])

    def complete(self, uri: str, pos: lsp.Position) -> list[lsp.CompletionItem]:
        found = self.run(self.client.text_document_completion_async(lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)))
        assert isinstance(found, lsp.CompletionList)
        return list(found.items)

    def symbols(self, uri: str) -> list[lsp.DocumentSymbol]:
        found = self.run(self.client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri))))
        return [x for x in found or [] if isinstance(x, lsp.DocumentSymbol)]

    def format(self, uri: str) -> list[lsp.TextEdit]:
        found = self.run(self.client.text_document_formatting_async(lsp.DocumentFormattingParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))))
        return list(found or [])


def pos(text: str, needle: str, offset: int = 0, occurrence: int = 0) -> lsp.Position:
    """The protocol position of ``needle`` (its ``occurrence``-th) plus ``offset`` characters (UTF-16: BMP text)."""
    start = locate(text, needle, offset, occurrence)
    line = text.count("\n", 0, start)
    return lsp.Position(line=line, character=start - (text.rfind("\n", 0, start) + 1))


def line_of(loc: lsp.Location, text: str) -> str:
    return text.split("\n")[loc.range.start.line]


def covered(loc: lsp.Location, text: str) -> str:
    assert loc.range.start.line == loc.range.end.line
    return line_of(loc, text)[loc.range.start.character:loc.range.end.character]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    log = tmp_path_factory.mktemp("lsp") / "server.log"
    s = Session()
    s.initialized = s.start(log)
    yield s
    s.stop()
    # no feature failed on any request of the module (a failure is logged, and answered empty)
    logged = log.read_text(encoding="utf-8") if log.exists() else ""
    assert "Traceback" not in logged, logged[-3000:]


@pytest.fixture(scope="module")
def karamay(session: Session) -> tuple[str, str]:
    return session.open(KARAMAY)


def test_the_server_announces_its_features_and_checks_karamay_cleanly(
        session: Session, karamay: tuple[str, str]) -> None:
    result = session.initialized
    assert result is not None
    caps = result.capabilities
    assert caps.hover_provider and caps.definition_provider and caps.references_provider
    assert caps.document_symbol_provider and caps.document_formatting_provider
    assert caps.completion_provider is not None and "." in (caps.completion_provider.trigger_characters or [])
    assert result.server_info is not None and result.server_info.name == "kaohe"
    uri, _ = karamay
    assert session.diagnostics[uri] == []


def test_hover_on_a_target_gives_its_points_per_category_and_its_section_budget(
        session: Session, karamay: tuple[str, str]) -> None:
    uri, text = karamay
    shown = session.hover(uri, pos(text, "target 督查_检查督查", offset=len("target ")))
    assert shown is not None
    assert "**target** `督查_检查督查`" in shown
    assert "cite: 四(二)3(1)" in shown
    # the points are the params' values, folded by the checker; the budget is the section's
    assert "| 区政府 | 管理目标.日常督查 | " in shown and "| 部门 | 管理目标.日常督查 | " in shown
    row = next(line for line in shown.split("\n") if line.startswith("| 区政府 |"))
    assert row.endswith("| 200 |"), row
    row = next(line for line in shown.split("\n") if line.startswith("| 企业 |"))
    assert row.endswith("| 120 |"), row


def test_hover_on_a_chinese_fact_gives_type_label_cite_source_and_bounds(
        session: Session, karamay: tuple[str, str]) -> None:
    uri, text = karamay
    shown = session.hover(uri, pos(text, "死亡事故起数 > 事故起数控制指标", offset=len("死亡事故起数 > ")))
    assert shown is not None
    assert shown.startswith("**fact** `事故起数控制指标`: `int?`")
    assert "“责任书确定的死亡事故起数控制指标”" in shown
    assert "source: 责任书" in shown and "bounds: `>= 0`" in shown and "optional" in shown


def test_definition_of_a_record_field_inside_an_aggregate(session: Session, karamay: tuple[str, str]) -> None:
    uri, text = karamay
    found = session.definition(uri, pos(text, "count(事故 where 迟报)", offset=len("count(事故 where ")))
    assert len(found) == 1 and found[0].uri == uri
    assert line_of(found[0], text).strip().startswith("迟报: bool")
    assert covered(found[0], text) == "迟报"


def test_references_honour_include_declaration(session: Session, karamay: tuple[str, str]) -> None:
    uri, text = karamay
    at = pos(text, "let 死亡人数合计", offset=len("let "))
    without = session.references(uri, at, include=False)
    with_decl = session.references(uri, at, include=True)
    reads = len(re.findall(r"(?<!\w)死亡人数合计(?!\w)", text)) - 1
    assert len(without) == reads and len(with_decl) == reads + 1
    assert all(covered(loc, text) == "死亡人数合计" for loc in with_decl)
    assert any(line_of(loc, text).startswith("let 死亡人数合计") for loc in with_decl)
    assert not any(line_of(loc, text).startswith("let 死亡人数合计") for loc in without)


def test_completion_offers_chinese_names_with_labels_and_keywords(session: Session, karamay: tuple[str, str]) -> None:
    uri, text = karamay
    items = {item.label: item for item in session.complete(uri, pos(text, "deduct 区_每死亡一人扣分 per ",
                                                                        offset=len("deduct 区_每死亡一人扣分 per ")))}
    assert items["死亡人数合计"].kind == lsp.CompletionItemKind.Variable
    assert "本市考核的事故死亡人数合计" in (items["死亡人数合计"].detail or "")
    assert items["区_检查督查分"].kind == lsp.CompletionItemKind.Constant
    assert items["事故"].detail is not None and items["事故"].detail.startswith("fact")
    assert items["较大"].kind == lsp.CompletionItemKind.EnumMember  # an enum member
    assert items["deduct"].kind == lsp.CompletionItemKind.Keyword


def test_completion_after_a_dot_offers_the_records_fields(session: Session, tmp_path: Path) -> None:
    policy = tmp_path / "fields.kh"
    text = """policy 字段 {}
category 单位 total 100 { section 甲 100 }
record 事件 "事件" { 级别: int "事件级别"  分: int "扣分" }
fact 最大事件: 事件? "最大的事件"
fact 事件表: list of 事件 = []
let 总分 = sum(事件表 as e of e.分)
target 目标 in 单位.甲 points 100 { deduct 总分 }
ratings { 好 差 } vetoed 差
bands 单位 { 好 [60, 100]  差 [0, 60) }
"""
    uri, _ = session.open(policy, text)
    (unread,) = session.diagnostics[uri]  # warnings are published too
    assert unread.code == "K180" and unread.severity == lsp.DiagnosticSeverity.Warning
    # the author types ``e.`` inside the aggregate: the text does not parse, the fields come from before
    typing = text.replace("of e.分)", "of e.)")
    diagnostics = session.change(uri, typing)
    assert [d.code for d in diagnostics] == ["K002"]
    items = session.complete(uri, pos(typing, "of e.)", offset=len("of e.")))
    assert {(i.label, i.detail) for i in items} == {("级别", "field: int — 事件级别"), ("分", "field: int — 扣分")}
    # a record-typed fact, mid-line
    typing = text.replace("deduct 总分 }", "deduct 最大事件.")
    session.change(uri, typing)
    items = session.complete(uri, pos(typing, "deduct 最大事件.", offset=len("deduct 最大事件.")))
    assert sorted(i.label for i in items) == ["分", "级别"]


def test_document_symbols_nest_sections_in_categories(session: Session, karamay: tuple[str, str]) -> None:
    uri, text = karamay
    symbols = session.symbols(uri)
    found = {s.name: s for s in symbols if s.kind != lsp.SymbolKind.Array}  # not the bands of 区政府
    district = found["区政府"]
    assert district.kind == lsp.SymbolKind.Namespace
    management = {c.name: c for c in district.children or []}["管理目标"]
    assert [c.name for c in management.children or []] == ["考核细则", "日常督查"]
    assert found["督查_检查督查"].kind == lsp.SymbolKind.Function
    assert found["事故"].kind in (lsp.SymbolKind.Struct, lsp.SymbolKind.Variable)
    record = next(s for s in symbols if s.name == "事故" and s.kind == lsp.SymbolKind.Struct)
    assert "迟报" in [c.name for c in record.children or []]
    sel = district.selection_range
    assert text.split("\n")[sel.start.line][sel.start.character:sel.end.character] == "区政府"


def test_definition_and_references_across_extends(session: Session) -> None:
    child_uri, child = session.open(KARAMAY_2014)
    assert session.diagnostics[child_uri] == []
    parent_text = KARAMAY.read_text(encoding="utf-8")
    parent_uri = from_fs_path(str(KARAMAY))
    # a name the child reads, declared in the parent: the location is in the parent's file
    at = pos(child, "专项资金预算 >=")
    found = session.definition(child_uri, at)
    assert [loc.uri for loc in found] == [parent_uri]
    assert covered(found[0], parent_text) == "专项资金预算"
    assert line_of(found[0], parent_text).startswith("fact 专项资金预算")
    # its references span both files
    refs = session.references(child_uri, at, include=True)
    assert {loc.uri for loc in refs} == {parent_uri, child_uri}
    # hovering says where it is declared
    shown = session.hover(child_uri, at)
    assert shown is not None and "karamay-2013.kh" in shown


def test_a_broken_policy_gets_the_checkers_codes_hints_and_ranges(session: Session, tmp_path: Path) -> None:
    policy = tmp_path / "broken.kh"
    text = """policy 坏 {}
category 单位 total 100 { section 甲 100 }
fact 数量: int = 0
target 目标 in 单位.甲 points 100 { deduct 5 per 数星 }
ratings { 好 差 } vetoed 差
bands 单位 { 好 [60, 100]  差 [0, 60) }
"""
    uri, _ = session.open(policy, text)
    problem, unread = session.diagnostics[uri]  # as ``kaohe check`` lists them: errors first
    assert problem.code == "K101" and problem.severity == lsp.DiagnosticSeverity.Error
    assert "unknown name '数星'" in problem.message and "did you mean '数量'" in problem.message
    assert problem.range.start == pos(text, "数星") and problem.range.end == pos(text, "数星", offset=2)
    assert unread.code == "K180" and unread.severity == lsp.DiagnosticSeverity.Warning
    # a syntax error, as typed
    found = session.change(uri, text.replace("points 100 {", "points {"))
    assert [d.code for d in found] == ["K002"]
    # fixed again: no diagnostics
    assert session.change(uri, text.replace("数星", "数量")) == []


def test_formatting_gives_the_formatters_text_and_nothing_for_a_syntax_error(session: Session, tmp_path: Path) -> None:
    policy = tmp_path / "layout.kh"
    text = 'policy 排版 {}\ncategory   单位 total 100 {   section 甲 100 }\nfact 数量: int = 0   # 注释\n'
    uri, _ = session.open(policy, text)
    edits = session.format(uri)
    expected = format_text(text, str(policy))
    if expected == text:
        assert edits == []
    else:
        (edit,) = edits
        assert edit.range.start == lsp.Position(line=0, character=0)
        assert edit.range.end == lsp.Position(line=3, character=0)
        assert edit.new_text == expected
    session.change(uri, text.replace("total 100", "total"))
    assert session.format(uri) == []


def test_hostile_requests_never_kill_the_server(session: Session, tmp_path: Path) -> None:
    policy = tmp_path / "hostile.kh"
    uri, _ = session.open(policy, "policy")
    assert [d.code for d in session.diagnostics[uri]] == ["K001"]  # the text ends too early
    far = lsp.Position(line=999, character=999)
    assert session.hover(uri, far) is None
    assert session.definition(uri, far) == []
    assert session.references(uri, far, include=True) == []
    assert session.symbols(uri) == []
    session.complete(uri, far)
    nowhere = from_fs_path(str(tmp_path / "never-opened" / "x.kh"))
    assert nowhere is not None
    assert session.hover(nowhere, far) is None and session.symbols(nowhere) == []
    deep = "policy 深 {}\nlet x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
    session.change(uri, deep)
    session.hover(uri, lsp.Position(line=1, character=4))
    session.change(uri, "\x00\ud800 policy")
    # still alive and answering
    uri2, text = session.open(tmp_path / "alive.kh", "policy 活 {}\nfact 数量: int = 0\nlet y = 数量\n")
    shown = session.hover(uri2, pos(text, "= 数量", offset=2))
    assert shown is not None and shown.startswith("**fact** `数量`")


PARENT = """policy 上级 {}
category 单位 total 100 { section 甲 100 }
fact 数量: int = 0 "上级的数量"
target 目标 in 单位.甲 points 100 { deduct 5 per 数量 }
ratings { 好 差 } vetoed 差
bands 单位 { 好 [60, 100]  差 [0, 60) }
"""
CHILD = """policy 下级 extends "parent.kh" {}
override target 目标 in 单位.甲 points 100 { deduct 10 per 数量 }
"""


def test_a_child_follows_its_parent_when_the_parent_is_saved(session: Session, tmp_path: Path) -> None:
    parent, child = tmp_path / "parent.kh", tmp_path / "child.kh"
    parent.write_text(PARENT, encoding="utf-8")
    child.write_text(CHILD, encoding="utf-8")
    child_uri, _ = session.open(child)
    assert session.diagnostics[child_uri] == []
    at = pos(CHILD, "per 数量", offset=4)
    (found,) = session.definition(child_uri, at)
    assert found.uri == from_fs_path(str(parent)) and covered(found, PARENT) == "数量"
    shown = session.hover(child_uri, at)
    assert shown is not None and "“上级的数量”" in shown and "parent.kh" in shown
    # the parent's fact gets a default that names nothing; saved, the child shows the parent's error on its header
    broken = PARENT.replace("数量: int = 0", "数量: int = 数星")
    parent.write_text(broken, encoding="utf-8")
    parent_uri, _ = session.open(parent)
    (own,) = [d for d in session.diagnostics[parent_uri] if d.severity == lsp.DiagnosticSeverity.Error]
    assert own.range.start == pos(broken, "数星")
    session.event(child_uri).clear()
    session.client.text_document_did_save(lsp.DidSaveTextDocumentParams(
        text_document=lsp.TextDocumentIdentifier(uri=parent_uri)))
    session.run(session.event(child_uri).wait())
    (problem,) = [d for d in session.diagnostics[child_uri] if d.severity == lsp.DiagnosticSeverity.Error]
    assert problem.code == own.code and problem.message.startswith(f"in {parent}:3:")
    assert problem.range.start == lsp.Position(line=0, character=0)
    (related,) = problem.related_information or []
    assert related.location.uri == parent_uri and related.location.range == own.range


def test_hover_range_is_the_name_under_the_cursor(session: Session, karamay: tuple[str, str]) -> None:
    uri, text = karamay
    at = pos(text, "死亡人数控制指标 is set and 死亡人数合计", offset=len("死亡人数控制指标 is set and ") + 2)
    found = session.run(session.client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=at)))
    assert found is not None and found.range is not None
    line = text.split("\n")[found.range.start.line]
    assert line[found.range.start.character:found.range.end.character] == "死亡人数合计"
    assert found.range.start == pos(text, "死亡人数控制指标 is set and 死亡人数合计", offset=len("死亡人数控制指标 is set and "))


def test_an_edit_after_a_unicode_line_separator_in_a_comment_lands_where_the_editor_put_it(
        session: Session, tmp_path: Path) -> None:
    # The protocol ends lines at \n, \r\n and \r only; U+2028, U+0085, a form feed … inside a comment or
    # a label (pasted from a PDF or Word) are ordinary characters.  pygls's incremental sync splits the
    # document with str.splitlines, so a ranged edit below such a line used to land a line too high.
    text = ('policy 新 "新" { period 2013-01-01..2013-12-31 }  # 注释\u2028续\n'
            'category C "c" total 100 { section S "s" 100 }\n'
            'fact 数: int >= 0 "数"\n'
            'target T "t" in C.S points 100 { full when 数 > 1 }\n')
    uri, _ = session.open(tmp_path / "separator.kh", text)
    assert session.diagnostics[uri] and all(d.code != "K002" for d in session.diagnostics[uri])
    at = pos(text, " }", occurrence=2)
    assert at.line == 3
    edited = text.replace("数 > 1 }", "数 > 1 + 0 }")
    sync = session.initialized.capabilities.text_document_sync if session.initialized else None
    kind = sync.change if isinstance(sync, lsp.TextDocumentSyncOptions) else sync
    session.version += 1
    session.event(uri).clear()
    change: lsp.TextDocumentContentChangeEvent = (  # as an editor does: what the server announced
        lsp.TextDocumentContentChangePartial(range=lsp.Range(start=at, end=at), text=" + 0")
        if kind == lsp.TextDocumentSyncKind.Incremental else lsp.TextDocumentContentChangeWholeDocument(text=edited))
    session.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=session.version), content_changes=[change]))
    session.run(session.event(uri).wait())
    assert [d.code for d in session.diagnostics[uri]] == ["K126", "K124"]
    edits = session.format(uri)
    assert edits and "full when 数 > 1 + 0\n" in edits[0].new_text
