"""The highlighters (issue #14): the Pygments lexer, its entry point, and the TextMate grammar.

Both are written from one table (``kaohe_rules.highlight.RULES``); these tests hold them to
the grammar (every keyword is a Keyword token), to the repository's policies (no Error token on
any policy that parses), and to each other: the TextMate file on disk is the generator's output,
every pattern compiles, and scanning every policy the way a TextMate engine does (leftmost match
per line, ties to the earlier pattern) classifies each token as the Pygments lexer does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pygments = pytest.importorskip("pygments")

from pygments.token import Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation, String  # noqa: E402

from kaohe_rules import highlight  # noqa: E402
from kaohe_rules.errors import Diagnostic  # noqa: E402
from kaohe_rules.language.keywords import KEYWORDS  # noqa: E402
from kaohe_rules.language.parser import parse_tree  # noqa: E402
from kaohe_rules.source import SourceFile  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR_FILE = ROOT / "editors" / "vscode" / "syntaxes" / "kaohe.tmLanguage.json"
#: The files the parser refuses on purpose because of a character (they must show an Error token).
LEXICAL_ERRORS = {"tests/data/checker/K003.kh": "：", "tests/data/checker/K006.kh": "１"}


def _policies() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.kh") if ".git" not in p.parts and "node_modules" not in p.parts)


def _parses(path: Path) -> bool:
    source = SourceFile(str(path), path.read_text(encoding="utf-8"))
    return not isinstance(parse_tree(source), Diagnostic)


PARSED = [p for p in _policies() if _parses(p)]


def _ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in paths]


def _lex(text: str) -> list[tuple[Any, str]]:
    return [(t, v) for t, v in highlight.KaoheLexer().get_tokens(text) if v.strip()]


# ------------------------------------------------------------------- the lexer
def test_the_corpus_is_the_repositorys_policies() -> None:
    names = set(_ids(PARSED))
    assert {"policies/karamay-2013.kh", "policies/aba.kh"} <= names
    assert len(PARSED) >= 140, len(PARSED)  # policies/, docs/, benchmarks/ and the test data that parses


def test_every_keyword_of_the_grammar_is_a_keyword_token() -> None:
    """``KEYWORDS`` is checked against the grammar file in tests/language/test_keywords.py; here each
    one, standing where a keyword stands, comes out of the lexer as a Keyword."""
    for word in sorted(KEYWORDS):
        [(token, value)] = _lex(f" {word} ")
        assert value == word and token in Keyword, (word, token)


@pytest.mark.parametrize("text, expected", [
    ('fact 事故起数: int >= 0 "起数" cite "四(二)1"',
     [(Keyword.Declaration, "fact"), (Name.Variable, "事故起数"), (Punctuation, ":"), (Keyword.Type, "int"),
      (Operator, ">="), (Number, "0"), (String.Double, '"起数"'), (Keyword, "cite"), (String.Double, '"四(二)1"')]),
    ("fact reward: money  # a keyword-spelled name is a name where it is declared",
     [(Keyword.Declaration, "fact"), (Name.Variable, "reward"), (Punctuation, ":"), (Keyword.Type, "money"),
      (Comment.Single, "# a keyword-spelled name is a name where it is declared")]),
    ("record 事故 { 死亡人数: 整数  等级: 事故等级 }",
     [(Keyword.Declaration, "record"), (Name.Variable, "事故"), (Punctuation, "{"), (Name.Variable, "死亡人数"),
      (Punctuation, ":"), (Keyword.Type, "整数"), (Name.Variable, "等级"), (Punctuation, ":"), (Name, "事故等级"),
      (Punctuation, "}")]),
    ("deduct 50 when a.total >= 10_000元 or b in 0 .. 12.5% and d == 2013-04-19",
     [(Keyword, "deduct"), (Number, "50"), (Keyword, "when"), (Name, "a"), (Punctuation, "."), (Name.Attribute, "total"),
      (Operator, ">="), (Number, "10_000元"), (Keyword, "or"), (Name, "b"), (Keyword, "in"), (Number, "0"),
      (Operator, ".."), (Number, "12.5%"), (Keyword, "and"), (Name, "d"), (Operator, "=="), (Literal.Date, "2013-04-19")]),
    ("note “中文引号” reward x = 3 万元 ?? none",
     [(Keyword, "note"), (String.Double, "“中文引号”"), (Keyword, "reward"), (Name, "x"), (Operator, "="),
      (Number, "3 万元"), (Operator, "??"), (Keyword.Constant, "none")]),
    ('note "a \\"quoted\\" # not a comment"', [(Keyword, "note"), (String.Double, '"a \\"quoted\\" # not a comment"')]),
])
def test_tokens(text: str, expected: list[tuple[Any, str]]) -> None:
    assert _lex(text) == expected


@pytest.mark.parametrize("path", PARSED, ids=_ids(PARSED))
def test_no_error_token_on_a_policy_that_parses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    errors = [v for t, v in highlight.KaoheLexer().get_tokens(text) if t in Error]
    assert errors == []
    whole = highlight.KaoheLexer(stripnl=False).get_tokens(text)  # every character is in some token
    assert "".join(v for _, v in whole) == text + ("" if text.endswith("\n") else "\n")


@pytest.mark.parametrize("name, char", sorted(LEXICAL_ERRORS.items()))
def test_a_character_the_parser_refuses_is_an_error_token(name: str, char: str) -> None:
    """The other side of the no-Error test: full-width punctuation and digits do show as errors."""
    path = ROOT / name
    assert not _parses(path)
    assert char in [v for t, v in highlight.KaoheLexer().get_tokens(path.read_text(encoding="utf-8")) if t in Error]


def test_importing_the_lexer_loads_neither_lark_nor_the_parser() -> None:
    code = ("import sys, kaohe_rules.highlight; "
            "print(sorted(m for m in sys.modules if m.startswith(('lark', 'kaohe_rules.language.parser', "
            "'kaohe_rules.language.fastparse', 'kaohe_rules.language.check'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


# -------------------------------------------------------------- the entry point
def _declared_entry_point() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["entry-points"]["pygments.lexers"]["kaohe"]


def test_pyproject_declares_the_lexer_entry_point() -> None:
    assert _declared_entry_point() == "kaohe_rules.highlight:KaoheLexer"


def test_pygments_finds_the_lexer_by_name_and_by_file_name(tmp_path: Path) -> None:
    """Through the installed entry point, as docs, ``rich`` and Jupyter find it.

    A checkout installed before the entry point was declared has metadata without it; the test
    then puts a stand-in distribution carrying pyproject's declaration on the path (the same
    lookup Pygments does: ``importlib.metadata`` entry points of the group ``pygments.lexers``).
    """
    from importlib.metadata import entry_points

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    installed = [e for e in entry_points(group="pygments.lexers") if e.name == "kaohe"]
    if not installed:
        dist = tmp_path / "kaohe_rules_lexer_standin-0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kaohe-rules-lexer-standin\nVersion: 0\n")
        (dist / "entry_points.txt").write_text(f"[pygments.lexers]\nkaohe = {_declared_entry_point()}\n")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(tmp_path)])
    code = ("from pygments.lexers import get_lexer_by_name, get_lexer_for_filename, find_lexer_class_for_filename; "
            "a = get_lexer_by_name('kaohe'); b = get_lexer_by_name('kh'); c = get_lexer_for_filename('x/年度.kh'); "
            "print(type(a).__module__, type(a).__name__, type(b).__name__, type(c).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["kaohe_rules.highlight", "KaoheLexer", "KaoheLexer", "KaoheLexer"]


def test_highlight_renders_html() -> None:
    from pygments import highlight as render
    from pygments.formatters import HtmlFormatter

    html = render('fact 事故: int "x"\n', highlight.KaoheLexer(), HtmlFormatter())
    assert '<span class="kd">fact</span>' in html and '<span class="nv">事故</span>' in html


# ------------------------------------------------------------ the TextMate grammar
def _grammar() -> dict[str, Any]:
    return json.loads(GRAMMAR_FILE.read_text(encoding="utf-8"))


def test_the_textmate_file_is_the_generators_output() -> None:
    assert GRAMMAR_FILE.read_text(encoding="utf-8") == highlight.textmate_json(), (
        "stale: python -m kaohe_rules.highlight --textmate editors/vscode/syntaxes/kaohe.tmLanguage.json")


def test_the_textmate_grammar_is_well_formed() -> None:
    grammar = _grammar()
    assert grammar["scopeName"] == "source.kaohe" and grammar["fileTypes"] == ["kh"]
    for rule in grammar["patterns"]:
        assert set(rule) <= {"name", "match", "captures"} and "match" in rule
        assert ("name" in rule) != ("captures" in rule)
        scopes = [rule["name"]] if "name" in rule else [c["name"] for c in rule["captures"].values()]
        assert all(s.endswith(".kaohe") for s in scopes)


def test_every_textmate_pattern_compiles_in_the_common_subset() -> None:
    """Python's ``re`` compiles each; nothing Python-only (named groups ``(?P``, ``\\Z``, ``(?#``) or
    Oniguruma-only is used, and every lookbehind has a fixed width (both engines need that)."""
    for rule in _grammar()["patterns"]:
        pattern = rule["match"]
        compiled = re.compile(pattern)
        if "captures" in rule:
            assert compiled.groups == max(int(k) for k in rule["captures"])
        for construct in ("(?P", "\\Z", "(?#", "\\h", "\\p{", "(?i", "\\A", "\\G", "\\K"):
            assert construct not in pattern, (construct, pattern)


def _textmate_tokens(text: str) -> Iterator[tuple[str, str]]:
    """Scan as a TextMate engine does: one line at a time (with its newline), at each position the
    leftmost match of any top-level pattern, ties to the earlier pattern; text no pattern matches
    keeps no scope (reported as "unscoped" when it is not blank)."""
    rules = [(re.compile(r["match"]), r) for r in _grammar()["patterns"]]
    for line in text.splitlines(keepends=True):
        pos = 0
        while pos < len(line):
            best: tuple[re.Match[str], dict[str, Any]] | None = None
            for rx, rule in rules:
                m = rx.search(line, pos)
                if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                    best = (m, rule)
            if best is None:
                if line[pos:].strip():
                    yield "unscoped", line[pos:].strip()
                break
            m, rule = best
            if line[pos:m.start()].strip():
                yield "unscoped", line[pos:m.start()].strip()
            if "name" in rule:
                yield rule["name"], m.group()
            else:
                for group, capture in sorted(rule["captures"].items(), key=lambda kv: int(kv[0])):
                    if m.group(int(group)):
                        yield capture["name"], m.group(int(group))
            pos = m.end()


def _class_of_scope(scope: str) -> str:
    for prefix, kind in (("comment.", "comment"), ("string.", "string"), ("constant.numeric", "number"),
                         ("constant.language", "constant"), ("support.type", "type"), ("keyword.operator", "operator"),
                         ("keyword.", "keyword"), ("storage.type", "keyword"), ("entity.name", "definition"),
                         ("variable.", "name"), ("punctuation.", "punctuation")):
        if scope.startswith(prefix):
            return kind
    return scope


def _class_of_token(token: Any) -> str:
    for kind, parent in (("comment", Comment), ("string", String), ("number", Number), ("number", Literal.Date),
                         ("constant", Keyword.Constant), ("type", Keyword.Type), ("keyword", Keyword),
                         ("definition", Name.Variable), ("name", Name), ("operator", Operator),
                         ("punctuation", Punctuation)):
        if token in parent:
            return kind
    return str(token)


@pytest.mark.parametrize("path", PARSED, ids=_ids(PARSED))
def test_textmate_and_pygments_classify_every_token_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    textmate = [(_class_of_scope(s), v) for s, v in _textmate_tokens(text)]
    pyg = [(_class_of_token(t), v) for t, v in _lex(text)]
    assert ("unscoped" not in {k for k, _ in textmate}), [v for k, v in textmate if k == "unscoped"][:5]
    assert textmate == pyg
    kinds = {k for k, _ in pyg}
    if path.name == "karamay-2013.kh":  # the scan saw every class of token the policy has
        assert {"keyword", "string", "comment", "number", "name", "definition", "type", "operator"} <= kinds


def _node_modules() -> Path | None:
    """Where vscode-textmate is installed: ``editors/vscode/node_modules`` (``npm install`` there) or
    the folder named by ``KAOHE_VSCODE_NODE_MODULES``; None (the check is skipped) otherwise."""
    for candidate in (os.environ.get("KAOHE_VSCODE_NODE_MODULES"), str(ROOT / "editors" / "vscode" / "node_modules")):
        if candidate and (Path(candidate) / "vscode-textmate").is_dir():
            return Path(candidate)
    return None


@pytest.mark.skipif(_node_modules() is None, reason="on demand: npm install in editors/vscode (never needed by CI)")
def test_vscode_textmate_itself_agrees_with_pygments() -> None:
    """VS Code's own engine (vscode-textmate on Oniguruma) on every policy: the same classes as Pygments —
    which shows the patterns mean the same in Oniguruma as in Python (``\\w`` on CJK, lookbehinds)."""
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("no node")
    script = ROOT / "editors" / "vscode" / "test" / "check-grammar.js"
    out = subprocess.run([node, str(script), *map(str, PARSED)], capture_output=True, text=True, check=True,
                         env={**os.environ, "NODE_PATH": str(_node_modules())}, timeout=300)
    found = json.loads(out.stdout)
    for path in PARSED:
        textmate = [(_class_of_scope(scope), value) for scope, value in found[str(path)]]
        assert textmate == [(_class_of_token(t), v) for t, v in _lex(path.read_text(encoding="utf-8"))], path


# ------------------------------------------------------------ the VS Code extension
VSCODE = ROOT / "editors" / "vscode"


def test_the_vscode_extension_wires_the_language_the_grammar_and_the_server() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    [language] = manifest["contributes"]["languages"]
    [grammar, injection] = manifest["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "kaohe" and language["extensions"] == [".kh"]
    assert grammar["scopeName"] == _grammar()["scopeName"]
    assert (VSCODE / grammar["path"]).resolve() == GRAMMAR_FILE.resolve()
    config = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"] == {"lineComment": "#"}
    assert {(p["open"], p["close"]) for p in config["autoClosingPairs"]} >= {("{", "}"), ('"', '"'), ("“", "”")}
    assert (VSCODE / manifest["main"]).is_file()
    assert "vscode-languageclient" in manifest["dependencies"]
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["kaohe.server.command"]["default"] == "kaohe"
    assert settings["kaohe.server.args"]["default"] == ["lsp"]
    script = (VSCODE / manifest["main"]).read_text(encoding="utf-8")
    assert 'config.get("server.command", "kaohe")' in script and 'config.get("server.args", ["lsp"])' in script
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    assert commands == {"kaohe.restartServer"} and "kaohe.restartServer" in script
    for pattern in config["indentationRules"].values():
        re.compile(pattern)
    # ```kaohe fences in Markdown: an injection grammar whose blocks include source.kaohe
    assert injection["injectTo"] == ["text.html.markdown"]
    assert injection["embeddedLanguages"] == {"meta.embedded.block.kaohe": "kaohe"}
    markdown = json.loads((VSCODE / injection["path"]).read_text(encoding="utf-8"))
    assert markdown["scopeName"] == injection["scopeName"] and markdown["injectionSelector"] == "L:text.html.markdown"
    [body] = markdown["repository"]["kaohe-code-block"]["patterns"]
    assert body["contentName"] == "meta.embedded.block.kaohe" and body["patterns"] == [{"include": "source.kaohe"}]
    assert "(kaohe|kh)" in markdown["repository"]["kaohe-code-block"]["begin"]


def test_the_extensions_default_command_is_a_kaohe_subcommand() -> None:
    """``kaohe lsp`` (the settings' default) parses as a whole command line: no argument it needs is missing."""
    from kaohe_rules.cli import build_parser

    parser, handlers = build_parser()
    if "lsp" not in handlers:
        pytest.skip("kaohe lsp comes with the language server (issue #14, LSP part)")
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    args = parser.parse_args(manifest["contributes"]["configuration"]["properties"]["kaohe.server.args"]["default"])
    assert args.command == "lsp"


@pytest.mark.skipif(_node_modules() is None, reason="on demand: npm install in editors/vscode (never needed by CI)")
def test_vscode_highlights_kaohe_fences_in_markdown(tmp_path: Path) -> None:
    """The injection grammar (``kaohe.markdown.tmLanguage.json``): a ```kaohe or ```kh fence in Markdown is
    highlighted as a policy — the same tokens as the lexer gives the block — and nothing outside it is."""
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("no node")
    blocks = [(ROOT / "policies" / name).read_text(encoding="utf-8") for name in ("karamay-2013.kh", "aba.kh")]
    blocks.append("deduct 5 when a.b >= 1 and 事故 is none\n")
    page = tmp_path / "page.md"
    page.write_text("# A page\n\nfact words in prose stay prose.\n\n"
                    f"```kaohe\n{blocks[0]}```\n\n```python\nfact = 1  # not a policy\n```\n\n"
                    f"```kaohe\n{blocks[1]}```\n\n~~~kh fragment\n{blocks[2]}~~~\n", encoding="utf-8")
    script = ROOT / "editors" / "vscode" / "test" / "check-grammar.js"
    out = subprocess.run([node, str(script), "--markdown", str(page)], capture_output=True, text=True, check=True,
                         env={**os.environ, "NODE_PATH": str(_node_modules())}, timeout=300)
    tokens = json.loads(out.stdout)[str(page)]
    inside = [(_class_of_scope(scope), value) for scope, value in tokens if scope.endswith(".kaohe")]
    expected = [(_class_of_token(t), v) for block in blocks for t, v in _lex(block)]
    assert inside == expected
    assert ["fenced_code.block.language.markdown", "kh"] in tokens
    assert ["text.html.markdown", "fact words in prose stay prose."] in tokens
