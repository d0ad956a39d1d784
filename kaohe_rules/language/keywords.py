"""The reserved words of the policy language.

Kept apart from the parser so that the checker (K170: a keyword cannot name a
declaration) and editor tools can know them without loading Lark.

``KEYWORDS`` are every keyword of the grammar (``tests/language/test_keywords.py`` reads the
grammar's quoted words and keyword terminals and fails naming any missing here; the Pygments
lexer and the TextMate grammar, ``kaohe_rules/highlight.py``, highlight exactly these).
Keywords are contextual, so most of them are names wherever they are not expected
(``fact reward: money``, ``deduct reward``); ``NAMES_READ_AS_KEYWORDS`` are the few an
expression reads as keywords, which therefore cannot name anything that expressions read.  That set is derived from
the parser's states by :func:`kaohe_rules.language.parser.names_read_as_keywords`
and written here so the checker need not load the parser;
``tests/language/test_keywords.py`` fails, printing the new line, when the grammar
changes it.
"""

from __future__ import annotations

KEYWORDS = frozenset(
    """policy extends document issuer adopted issued period note cite checkpoint due from to for
    category total section enum ordered record fact param let source defer where as target in
    points full when deduct unless per cap proportional score veto on because ratings vetoed
    bands outcome reward fine share rest sanction override remove if then else and or not is
    none set true false list of count sum any all min max it by increasing decreasing add bonus
    periods weight streak only
    cohort among higher lower first ties quota at most ranked
    ledger key shown exclude hand over charge map
    rating downgrade requires report""".split()  # rating effects and band requirements (issue #10 A3), reported lets
)

#: Derived from the grammar (``parser.names_read_as_keywords()``); a test keeps the two equal.
NAMES_READ_AS_KEYWORDS = frozenset("all any bonus count decreasing false if increasing it max min none not rest streak sum true".split())
