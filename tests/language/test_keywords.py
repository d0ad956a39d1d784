"""K170 refuses as names exactly the words an expression reads as keywords (issue #10, item 7).

The set is derived from the parser's states (``parser.names_read_as_keywords``) and
copied into ``keywords.NAMES_READ_AS_KEYWORDS`` for the checker, which does not load
the parser; these tests keep the copy equal to the derivation and show what it means
for a policy author: English words the grammar uses elsewhere are ordinary names.
"""

from __future__ import annotations

import pytest

import kaohe_rules
from kaohe_rules.errors import PolicyError
from kaohe_rules.language import keywords, parser

pytestmark = pytest.mark.language

HEAD = """policy p { }
category 单位 total 100 { section 甲 100 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
"""


def test_the_checkers_copy_is_the_set_derived_from_the_grammar() -> None:
    derived = parser.names_read_as_keywords()
    line = 'NAMES_READ_AS_KEYWORDS = frozenset("' + " ".join(sorted(derived)) + '".split())'
    assert keywords.NAMES_READ_AS_KEYWORDS == derived, f"grammar changed: write in keywords.py\n{line}"
    assert derived < keywords.KEYWORDS


@pytest.mark.parametrize("word", ["reward", "fine", "total", "points", "share", "section", "report"])
def test_an_english_word_the_grammar_uses_elsewhere_is_a_name(word: str) -> None:
    policy = kaohe_rules.load(HEAD + f"""fact {word}: int >= 0 "x"
let {word}_2 = {word} * 2 "y" report
target t in 单位.甲 points 100 {{ deduct {word} when {word} > 1 }}
""")
    result = policy.evaluate({"id": "u", "category": "单位", "facts": {word: 3}})
    assert result.score == 97
    assert result.reported[f"{word}_2"].value == 6


def test_a_fact_named_score_is_a_name_but_reading_it_where_scores_are_values_is_refused() -> None:
    """``score`` is a name (a fact may be called so), but where the unit's score is readable (a let,
    a veto, an outcome) the bare name would mean two things: refused, both readings named (K201)."""
    policy = kaohe_rules.load(HEAD + """fact score: int >= 0 "x"
target t in 单位.甲 points 100 { deduct score when score > 1 }
""")
    assert policy.evaluate({"id": "u", "category": "单位", "facts": {"score": 3}}).score == 97
    with pytest.raises(PolicyError) as info:
        kaohe_rules.load(HEAD + """fact score: int >= 0 "x"
let score_2 = score * 2 "y" report
target t in 单位.甲 points 100 { deduct score when score > 1 }
""")
    [diagnostic] = [d for d in info.value.diagnostics if d.code == "K201"]
    assert "the unit's score" in diagnostic.message and "fact 'score'" in diagnostic.message


@pytest.mark.parametrize("word", ["count", "if", "true", "not", "min"])
def test_a_word_an_expression_reads_as_a_keyword_is_refused_saying_why(word: str) -> None:
    with pytest.raises(PolicyError) as info:
        kaohe_rules.load(HEAD + f"fact {word}: int\ntarget t in 单位.甲 points 100 {{ full when true }}\n")
    [diagnostic] = [d for d in info.value.diagnostics if d.code == "K170"]
    assert f"'{word}' is a keyword in expressions and cannot name a fact" == diagnostic.message


def _grammar_words() -> set[str]:
    """Every keyword of the grammar file: its quoted words and the words of its keyword terminals."""
    import re

    from kaohe_rules.grammar_file import grammar_text

    text = re.sub(r"//[^\n]*", "", grammar_text())
    words = set(re.findall(r'"([A-Za-z_]+)"', text))
    for alternatives in re.findall(r"/\(([a-z|]+)\)\(\?!\\w\)/", text):  # DECL_KIND, AGGREGATE, EXTREMUM
        words.update(alternatives.split("|"))
    words.update(re.findall(r"/([a-z]+)\(\?!\\w\)/", text))  # ORDERED
    return words


def test_keywords_are_exactly_the_grammars_words() -> None:
    """One source for the checker, the parser's hints and the highlighters (issue #14): a keyword the
    grammar gains and this set lacks would be highlighted as a name and missed by the hints."""
    words = _grammar_words()
    assert {"policy", "ordered", "streak", "ledger", "requires", "report"} <= words  # the reader sees every kind
    assert words - keywords.KEYWORDS == set(), "add to keywords.KEYWORDS"
    assert keywords.KEYWORDS - words == set(), "no longer in the grammar: remove from keywords.KEYWORDS"
