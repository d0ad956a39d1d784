"""Policy text as characters: lone surrogates, look-alike digits, a leading BOM.

Issue #9: ``"policy 甲 \\ud800 { }"`` escaped ``load`` as UnicodeEncodeError (the
content hash encodes the text); ``total １０００`` and ``total ١٠٠٠`` were accepted
as 1000 because the grammar's terminals used ``\\d`` (any Unicode digit); a file
saved with a UTF-8 BOM failed with ``unexpected character '\\ufeff'``.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

import lark
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules import cache
from kaohe_rules.errors import Diagnostic, PolicyError
from kaohe_rules.grammar_file import grammar_text
from kaohe_rules.language import fastparse, parser
from kaohe_rules.policy import load_source
from kaohe_rules.source import SourceFile

VALID = """policy 甲 "办法" { period 2013-01-01 .. 2013-12-31 }
category 单位 "单位" total 1000 { section 第1节 "甲" 1000 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [800, 1000] 中 [600, 800) 差 [0, 600) }
fact 资金: money >= 0
param 下限2013: money = 100万元
target 资金 "专项资金 第１条（全角数字在引号内可以）" in 单位.第1节 points 1000 { full when 资金 >= 下限2013 }
# 注释里的全角数字也可以：１０００
"""
UNIT = {"id": "u", "category": "单位", "facts": {"资金": "120万元"}}


@functools.lru_cache(maxsize=1)
def reference() -> lark.Lark:
    """Lark's own parser of the grammar file (not the cached tables, not the fast parser)."""
    return lark.Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


def place(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of text[index], written out independently of kaohe_rules.source."""
    before = text[:index].split("\n")
    return len(before), len(before[-1]) + 1


def first_foreign_digit(text: str, after: int = 0) -> int:
    return next(i for i in range(after, len(text)) if text[i].isdecimal() and not "0" <= text[i] <= "9")


def diagnostic(text: str, **kwargs: object) -> Diagnostic:
    with pytest.raises(PolicyError) as info:
        kaohe_rules.load(text, **kwargs)  # type: ignore[arg-type]
    assert len(info.value.diagnostics) == 1, info.value.diagnostics
    return info.value.diagnostics[0]


def test_the_valid_policy_loads() -> None:
    assert kaohe_rules.load(VALID).evaluate(UNIT).score == 1000


# ----------------------------------------------------------------------- surrogates
def test_a_lone_surrogate_is_a_diagnostic_not_a_unicode_error() -> None:
    d = diagnostic("policy 甲 \ud800 { }")
    assert d.code == "K005"
    assert "not valid Unicode text" in d.message and "U+D800" in d.message
    assert (d.line, d.column) == (1, 10)
    rendered = PolicyError([d]).render()
    rendered.encode("utf-8")  # the diagnostic itself can always be printed
    assert "   1 | policy 甲 \ufffd { }\n     | " + " " * 10 + "^\n" in rendered  # 甲 is two columns wide


@pytest.mark.parametrize(("text", "where"), [
    (VALID.replace("专项资金", "专项\udc80资金"), (7, 14)),  # in a label (surrogateescape of a byte)
    (VALID + "# \ud83d\ude00\n", (9, 3)),  # a UTF-16 pair held as two code points, in a comment
    (VALID.replace("param 下限2013", "param 下\udfff限2013"), (6, 8)),
])
def test_surrogates_anywhere_are_refused_with_their_position(text: str, where: tuple[int, int]) -> None:
    d = diagnostic(text)
    assert d.code == "K005" and (d.line, d.column) == where


def test_no_load_path_encodes_a_surrogate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the disk cache on (tree and code cache keys hash the text) and through load_source (the workers' way)."""
    monkeypatch.setenv("KAOHE_CACHE_DIR", str(tmp_path / "cache"))
    text = VALID.replace("let", "let").replace("category 单位 ", "category 单位\ud800 ")
    assert diagnostic(text, cache=True).code == "K005"
    with pytest.raises(PolicyError) as info:
        load_source(SourceFile("<w>", "policy p { }\nlet x = 1 x \ud800"), None)
    assert info.value.diagnostics[0].code == "K005"


# ---------------------------------------------------------------------------- digits
@pytest.mark.parametrize(("number", "kind", "char"), [
    ("１０００", "full-width digit", "１"),
    ("١٠٠٠", "Arabic-Indic digit", "١"),
    ("۱۰۰۰", "Extended Arabic-Indic digit", "۱"),
    ("१०००", "Devanagari digit", "१"),
])
def test_look_alike_digits_in_a_number_are_refused_by_name(number: str, kind: str, char: str) -> None:
    text = VALID.replace("total 1000", f"total {number}")
    d = diagnostic(text)
    assert d.code == "K006"
    assert d.message == f"{kind} '{char}' in a number: write ASCII digits 0-9"
    assert (d.line, d.column) == place(text, text.index(number)) == (2, 24)
    assert d.hint is not None and d.hint.startswith(f"write 1000 instead of {number};")
    assert "^" in PolicyError([d]).render()


@pytest.mark.parametrize(("old", "new"), [
    ("points 1000", "points 10００"),  # mixed: the first foreign digit is the one reported
    ("100万元", "１00万元"),
    ("[800, 1000]", "[８0%, 1000]"),
    ("2013-01-01 ..", "２013-01-01 .."),
    ("money >= 0", "money >= 0.５"),
])
def test_every_numeric_literal_takes_ascii_digits_only(old: str, new: str) -> None:
    assert old in VALID
    text = VALID.replace(old, new, 1)
    d = diagnostic(text)
    assert d.code == "K006" and "in a number" in d.message
    assert (d.line, d.column) == place(text, first_foreign_digit(text, text.index(new)))


def test_names_take_ascii_digits_only() -> None:
    text = VALID.replace("第1节", "第１节")
    d = diagnostic(text)
    assert d.code == "K006" and d.message == "full-width digit '１' in a name: write ASCII digits 0-9"
    assert (d.line, d.column) == place(text, text.index("１")) == (2, 40)
    assert d.hint is not None and d.hint.startswith("write 第1节 instead of 第１节;")


def test_chinese_names_with_ascii_digits_and_chinese_numerals_work() -> None:
    text = VALID.replace("第1节", "第一节_2") + "let 二〇一三年 = 1\nlet 第3条之1 = 二〇一三年 + 1\n"
    policy = kaohe_rules.load(text)
    assert policy.evaluate(UNIT).score == 1000


def test_the_grammar_uses_ascii_digit_classes() -> None:
    terminals = [line for line in grammar_text().splitlines() if re.match(r"[A-Z_]+(\.\d)?:", line)]
    for line in terminals:
        assert "\\d" not in line.replace("[^\\W\\d]", ""), line  # \d only to keep digits from starting a name
    assert any(line.startswith("NUMBER") and "[0-9]" in line for line in terminals)


def test_the_fast_parser_leaves_foreign_digits_to_lark_and_agrees_on_names() -> None:
    fast = parser._fast_parser()
    assert fast is not None, "the fast parser must accept the changed grammar"
    assert fast.parse(VALID.replace("total 1000", "total １０００")) is None
    assert fast.parse(VALID.replace("第1节", "第１节")) is None
    assert fast.parse(VALID) == reference().parse(VALID)


_NAME_CHARS = st.sampled_from("a_Z第条一〇" + "0189" + "０１٠١" + "²½")


@settings(max_examples=60, deadline=None)
@given(st.text(_NAME_CHARS, min_size=1, max_size=6))
def test_the_fast_lexers_name_pattern_is_the_grammars(word: str) -> None:
    grammar_name = next(t for t in parser._parser().terminals if t.name == "NAME").pattern.value
    assert grammar_name == fastparse._NAME
    slow, quick = re.compile(fastparse._NAME), re.compile(fastparse._NAME_FAST)
    assert bool(slow.fullmatch(word)) == bool(quick.fullmatch(word))
    found = slow.match(word)
    assert (found and found.end()) == ((m := quick.match(word)) and m.end())


@settings(max_examples=40, deadline=None)
@given(st.text(_NAME_CHARS, min_size=1, max_size=5), st.text(_NAME_CHARS, min_size=1, max_size=5))
def test_fast_parser_and_lark_agree_on_names_and_numbers_with_any_digits(name: str, number: str) -> None:
    text = f"policy p {{ }}\nlet {name} = {number}\n"
    fast = parser._fast_parser()
    assert fast is not None
    try:
        theirs = reference().parse(text)
    except lark.exceptions.LarkError:
        theirs = None
    ours = fast.parse(text)
    assert ours is None or ours == theirs
    if any(c.isdecimal() and not "0" <= c <= "9" for c in name + number):
        assert theirs is None and ours is None  # a look-alike digit is never part of a valid policy
        with pytest.raises(PolicyError):
            kaohe_rules.load(text)


def test_the_cache_key_follows_the_grammar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Trees and parser tables are keyed by the grammar's hash: the old \\d grammar's entries are never served."""
    from kaohe_rules import grammar_file

    key = cache.engine_key.__wrapped__()  # type: ignore[attr-defined]
    monkeypatch.setattr(grammar_file, "grammar_text", lambda: grammar_text().replace("[0-9]", "\\d"))
    assert cache.engine_key.__wrapped__() != key  # type: ignore[attr-defined]
    monkeypatch.undo()
    monkeypatch.setenv("KAOHE_CACHE_DIR", str(tmp_path))
    for _ in range(2):  # the second load reads the cache
        assert diagnostic(VALID.replace("total 1000", "total １０００"), cache=True).code == "K006"
        assert kaohe_rules.load(VALID, cache=True).evaluate(UNIT).score == 1000


# ------------------------------------------------------------------------------- BOM
def test_a_leading_bom_is_dropped_from_text_and_files(tmp_path: Path) -> None:
    assert kaohe_rules.load("\ufeff" + VALID).evaluate(UNIT).score == 1000
    one_line = "\ufeffpolicy p { } let x = = 1"  # no newline: still text, not a path
    d = diagnostic(one_line)
    assert d.code == "K002" and (d.line, d.column) == (1, 22)  # the column the author sees
    path = tmp_path / "bom.kh"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    policy = kaohe_rules.load(path)
    assert policy.content_hash == kaohe_rules.load(VALID).content_hash  # the BOM is not part of the policy
    path.write_bytes(b"\xef\xbb\xbfpolicy p { } let x = = 1")
    with pytest.raises(PolicyError) as info:
        kaohe_rules.load(path)
    assert [(d.code, d.line, d.column) for d in info.value.diagnostics] == [("K002", 1, 22)]


def test_an_ancestor_with_a_bom_is_read(tmp_path: Path) -> None:
    (tmp_path / "base.kh").write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    (tmp_path / "c.kh").write_text('policy 子 extends "base.kh" { }\n', encoding="utf-8")
    assert kaohe_rules.load(tmp_path / "c.kh").evaluate(UNIT).score == 1000


# ------------------------------------------------------------------------ excerpts
@pytest.mark.parametrize("separator", ["\x0c", "\x0b", "\u2028", "\x1c", "\x85"])
def test_the_excerpt_is_the_parsers_line_whatever_other_line_separators_stand_earlier(separator: str) -> None:
    """Lark counts lines at "\\n" only; the caret excerpt must show that line, not one str.splitlines makes."""
    text = f'policy p "a{separator}b" {{ }}\nlet ok = 1\nlet x = = 1\n'
    d = diagnostic(text)
    assert (d.code, d.line, d.column) == ("K002", 3, 9)
    assert "   3 | let x = = 1\n" in PolicyError([d]).render()


@pytest.mark.skipif(os.name != "posix" or sys.platform == "darwin", reason="needs byte file names")
def test_a_file_name_that_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    """A non-UTF-8 file name reaches Python as surrogates: diagnostics must still encode."""
    raw = os.fsencode(tmp_path) + b"/\xff.kh"
    with open(raw, "wb") as handle:
        handle.write(b"policy p { }\nlet x = = 1\n")
    for path in (os.fsdecode(raw), os.fsdecode(raw)[:-3] + "missing.kh"):
        with pytest.raises(PolicyError) as info:
            kaohe_rules.load(path)
        rendered = info.value.render()
        rendered.encode("utf-8")
        assert "\\udcff" in rendered
