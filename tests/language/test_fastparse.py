"""kaohe_rules.language.fastparse builds exactly Lark's tree, or declines and leaves the text to Lark.

The reference is a Lark parser built here from the grammar with Lark's own
position callbacks (not the cached tables, not ``parser._Positions``).  "Same
tree" means: same shape, same rule names, same token types and texts, and the
same positions on every token and in every node's ``meta`` (all twelve fields,
and no other attributes).
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import exceptions as lark_exc
from lark.utils import TextSlice

from kaohe_rules.grammar_file import grammar_text
from kaohe_rules.language import parser
from kaohe_rules.language.fastparse import FastParser, Unsupported
from kaohe_rules.source import SourceFile

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies").glob("*.kh")) + sorted((ROOT / "tests" / "data").rglob("*.kh"))
SMALL = [p for p in POLICIES if p.stat().st_size < 20_000]
LONG = os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long"

_TOKEN_FIELDS = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")


def _difference(ours: Any, theirs: Any, path: str = "") -> str | None:
    """Where two parse results differ (None: identical, positions included)."""
    if type(ours) is not type(theirs):
        return f"{path}: {type(ours).__name__} vs {type(theirs).__name__}"
    if isinstance(ours, lark.Token):
        if str(ours) != str(theirs):
            return f"{path}: text {str(ours)!r} vs {str(theirs)!r}"
        for field in _TOKEN_FIELDS:
            if getattr(ours, field) != getattr(theirs, field):
                return f"{path} {ours!r}: {field} {getattr(ours, field)!r} vs {getattr(theirs, field)!r}"
        return None
    assert isinstance(ours, lark.Tree)
    where = f"{path}/{theirs.data}"
    if ours.data != theirs.data:
        return f"{where}: rule {ours.data} vs {theirs.data}"
    if vars(ours.meta) != vars(theirs.meta):
        return f"{where}: meta {vars(ours.meta)} vs {vars(theirs.meta)}"
    if len(ours.children) != len(theirs.children):
        return f"{where}: {len(ours.children)} vs {len(theirs.children)} children"
    for i, (a, b) in enumerate(zip(ours.children, theirs.children, strict=True)):
        found = _difference(a, b, f"{where}[{i}]")
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def lark_parser() -> lark.Lark:
    return lark.Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


@pytest.fixture(scope="module")
def fast() -> FastParser:
    built = parser._fast_parser()
    assert built is not None, "the fast parser refused the shipped grammar or this Lark: see kaohe_rules/fastparse.py"
    return built


def _reference(lark_parser: lark.Lark, text: str) -> lark.Tree[lark.Token] | None:
    try:
        return lark_parser.parse(text)
    except lark_exc.LarkError:
        return None


def _check(fast: FastParser, lark_parser: lark.Lark, text: str) -> tuple[bool, bool]:
    """Assert fast's tree is Lark's whenever fast gives one; return (Lark accepts, fast accepts)."""
    theirs = _reference(lark_parser, text)
    ours = fast.parse(text)
    if ours is not None:
        assert theirs is not None, f"fast parser accepted text Lark rejects: {text!r}"
        assert ours == theirs
        found = _difference(ours, theirs)
        assert found is None, f"{found}\nin {text!r}"
    return theirs is not None, ours is not None


# ---------------------------------------------------------------- the corpus
@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_policy_in_the_repository(path: Path, fast: FastParser, lark_parser: lark.Lark) -> None:
    text = path.read_text(encoding="utf-8")
    valid, parsed = _check(fast, lark_parser, text)
    assert parsed == valid, "a valid policy of the repository should not need Lark; an invalid one must"


def test_parse_tree_uses_the_fast_parser_and_its_tree_is_larks(lark_parser: lark.Lark,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "policies" / "karamay-2014.kh").read_text(encoding="utf-8")

    def refuse(source: SourceFile) -> Any:
        raise AssertionError("Lark was asked to parse a valid policy")

    monkeypatch.setattr(parser, "_parse_with_lark", refuse)
    tree = parser.parse_tree(SourceFile("k.kh", text))
    assert _difference(tree, lark_parser.parse(text)) is None


@pytest.mark.parametrize("text", [
    "policy p { }",
    "policy p { }\r\ncategory c total 10 {\r\n section s 10 }\r\n",
    "policy p { }\n\tcategory c total 1_000.5 {\x0c section s 10 } # trailing comment",
    "policy p { }\nlet a = -1 - -2 + (3 * 4) / 5 ?? 6\nlet b = if a >= 1 and not a == 2 or a != 3 then a else none",
    "policy p { }\nlet a = 10万元 + 1.5 元 + 30% + 2 %\nlet d = 2013-01-01\nlet s = “全角” ?? \"a\\\"b\"",
    "policy p { }\nlet count = 1\nlet x = count(it of y where z > 1) + min(1, 2, 3) + max(y)",
    "policy p { }\nparam total = 1\nlet to = total\nfact target: int\nlet policy = target",
    "policy p { }\nbands b { 好 [80, 100] 中 (60, 80) 差 [0, 60) }",
    "policy p { }\nremove target t\noverride let x = 1",
    "policy p{}let x=a.b.c\n#",
])
def test_tricky_but_valid_texts(text: str, fast: FastParser, lark_parser: lark.Lark) -> None:
    valid, parsed = _check(fast, lark_parser, text)
    assert valid and parsed


@pytest.mark.parametrize("text", [
    "", "   \n", "# only a comment", "policy", "policy p {", "policy p { } let", "policy p { }\nlet x = 1 !",
    "policy p { }\nlet x = 'a'", "policy p { }\nlet x = \"open", "policy p { }\nlet x = 1 == = 2",
    "policy p { }\nlet x = a ? b", "policy p { }\nlet x = 2013-01-01 -",
])
def test_invalid_texts_are_left_to_lark(text: str, fast: FastParser, lark_parser: lark.Lark) -> None:
    valid, parsed = _check(fast, lark_parser, text)
    assert not valid and not parsed


def test_a_keyword_glued_to_a_name_is_left_to_lark(fast: FastParser, lark_parser: lark.Lark) -> None:
    """Where no name may stand, Lark's contextual lexer reads ``policyp`` as ``policy p``; fast declines it."""
    valid, parsed = _check(fast, lark_parser, "policyp { }")
    assert valid and not parsed
    assert isinstance(parser.parse_tree(SourceFile("g.kh", "policyp { }")), lark.Tree)


# ------------------------------------------------------- terminal by terminal
def test_each_state_chooses_the_terminal_larks_contextual_lexer_chooses(lark_parser: lark.Lark) -> None:
    """For every parser state and every keyword/symbol text, the same terminal as Lark's lexer for that state."""
    fast = FastParser(lark_parser)
    lexers = lark_parser.parser.lexer.lexers  # type: ignore[attr-defined]
    checked = 0
    for state in fast.states:
        lexer = lexers[state]
        scanner = lexer.scanner  # builds lexer.callback too
        for text in fast.fixed_texts:
            ours = fast.terminal_for(state, text)
            match = scanner.match(TextSlice.cast_from(text + " "), 0)
            if match is None or match[0] != text:
                assert ours is None, (state, text, match, ours)
                continue
            token = lark.Token(match[1], match[0])
            if match[1] in lexer.callback:
                token = lexer.callback[match[1]](token)
            theirs = token.type if token.type not in lexer.ignore_types else None
            assert ours == theirs, (state, text, ours, theirs)
            checked += 1
    assert checked > 1000


def test_a_changed_terminal_makes_the_fast_parser_step_aside() -> None:
    grammar = grammar_text().replace("NAME: /[^\\W\\d](?:[^\\W\\d]|[0-9])*/", "NAME: /[^\\W\\d][\\w-]*/")
    assert grammar != grammar_text()
    other = lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)
    with pytest.raises(Unsupported):
        FastParser(other)
    plain = lark.Lark(grammar_text(), parser="lalr", propagate_positions=False, maybe_placeholders=False)
    with pytest.raises(Unsupported):
        FastParser(plain)


def test_another_lark_release_makes_the_fast_parser_step_aside(lark_parser: lark.Lark,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lark, "__version__", "9.0.0")
    with pytest.raises(Unsupported):
        FastParser(lark_parser)


def test_a_new_keyword_needs_no_change(lark_parser: lark.Lark) -> None:
    grammar = grammar_text().replace("-> r_score\n", "-> r_score\n    | \"bonus\" expr -> r_bonus\n", 1)
    assert '"bonus"' in grammar
    other = lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)
    fast = FastParser(other)
    text = ("policy p { }\ncategory c total 10 { section s 10 }\n"
            "target t in c.s points 10 { bonus 1 score bonus }\nlet bonus = 1")
    valid, parsed = _check(fast, other, text)
    assert valid and parsed


# ------------------------------------------------------------- mangled texts
_LEXEME = re.compile(r"\s+|#[^\n]*|[^\W\d]\w*|\d[\d_.]*|\"[^\"\n]*\"|“[^”\n]*”|\.\.|\?\?|[<>=!]=|.", re.S)


def _vocabulary(fast: FastParser) -> list[str]:
    return [*fast.fixed_texts, "甲", "单位", "x_1", "_", "1", "2.5", "100万元", "3 元", "30%", "2013-01-01",
            "\"标签\"", "“标签”", "\n", " ", "\r\n", "\t", "# note\n", "totally", "count_", "policy1", "!", "'"]


def _mutate(rng: random.Random, text: str, vocabulary: list[str]) -> str:
    lexemes = _LEXEME.findall(text)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(lexemes))
        move = rng.randrange(4)
        if move == 0:
            del lexemes[at]
        elif move == 1:
            lexemes.insert(at, lexemes[at])
        elif move == 2:
            lexemes[at] = rng.choice(vocabulary)
        else:
            lexemes.insert(at, rng.choice(vocabulary) + rng.choice(["", " "]))
    return "".join(lexemes)


def _glued_words(lark_parser: lark.Lark, text: str) -> bool:
    """Whether Lark read two words with nothing between them (``policyp`` as ``policy p``)."""
    tokens = list(lark_parser.parse_interactive(text).iter_parse())
    return any(a.end_pos == b.start_pos and _WORD_CHAR.match(str(a)[-1]) and _WORD_CHAR.match(str(b)[0])
               for a, b in zip(tokens, tokens[1:], strict=False))


_WORD_CHAR = re.compile(r"\w")


def test_mangled_policies(fast: FastParser, lark_parser: lark.Lark) -> None:
    """Token-level mutations of the small policies: fast agrees with Lark on all it accepts.

    The only valid texts it may leave to Lark are those where Lark split a word in two.
    """
    rng = random.Random(20131125)
    vocabulary = _vocabulary(fast)
    texts = [p.read_text(encoding="utf-8") for p in SMALL]
    both = declined = 0
    for _ in range(3000 if LONG else 600):
        text = _mutate(rng, rng.choice(texts), vocabulary)
        valid, parsed = _check(fast, lark_parser, text)
        both += valid and parsed
        if valid and not parsed:
            declined += 1
            assert _glued_words(lark_parser, text), f"fast parser declined a valid text: {text!r}"
    assert both > 50 and declined, "too few mutants of each kind for this test to mean much"


@settings(max_examples=1000 if LONG else 100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_fastparse_matches_lark(data: st.DataObject) -> None:
    fast = parser._fast_parser()
    assert fast is not None
    lark_parser = _fuzz_reference()
    text = data.draw(st.sampled_from(SMALL)).read_text(encoding="utf-8")
    lexemes = _LEXEME.findall(text)
    vocabulary = _vocabulary(fast)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lexemes) - 1))
        lexemes[at:at + data.draw(st.integers(0, 2))] = data.draw(st.lists(st.sampled_from(vocabulary), max_size=3))
    _check(fast, lark_parser, "".join(lexemes))


_REFERENCE: list[lark.Lark] = []


def _fuzz_reference() -> lark.Lark:
    if not _REFERENCE:
        _REFERENCE.append(lark.Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False))
    return _REFERENCE[0]
