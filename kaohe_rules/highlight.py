"""Syntax highlighting of policies: the Pygments lexer and the TextMate grammar, from one table.

Why one table: a policy is shown by two families of highlighters — Pygments (MkDocs,
Sphinx, ``rich``, Jupyter; registered as the ``pygments.lexers`` entry point ``kaohe``) and
TextMate grammars (VS Code, GitHub-style highlighters; ``editors/vscode/syntaxes/
kaohe.tmLanguage.json``).  Two hand-written copies would drift the day the language gains a
keyword.  So :data:`RULES` holds the patterns once, in the subset of regular expressions
Python's ``re`` and Oniguruma (TextMate's engine) read alike; :class:`KaoheLexer` is built
from it and :func:`textmate_grammar` writes the grammar from it
(``python -m kaohe_rules.highlight --textmate PATH``; a test fails when the file is stale).
The keywords are :data:`kaohe_rules.language.keywords.KEYWORDS`, which a test keeps equal to
the grammar's; the built-in type names are :data:`kaohe_rules.language.types.TYPE_ALIASES`.

Both highlighters scan the same way: at each position the first rule that matches there wins
(TextMate takes the leftmost match, ties to the earlier rule, which is the same thing when
every rule is tried from the current position).  Keywords are contextual in the language
(``fact reward: money`` declares a fact named ``reward``); the lexer cannot parse, so it uses
three cheap contexts that cover the declarations: the name after a declaring keyword, a
name before ``:``, and a name after ``.`` are names whatever their spelling.  Elsewhere a
keyword-spelled name is shown as a keyword — a cosmetic slip, never a wrong result.

This module imports Pygments (the ``highlight`` extra) and nothing of the parser or Lark:
highlighting a page of docs must not load the policy compiler.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

try:
    from pygments.lexer import RegexLexer, bygroups
    from pygments.token import (
        Comment,
        Keyword,
        Literal,
        Name,
        Number,
        Operator,
        Punctuation,
        String,
        Whitespace,
        _TokenType,
    )
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("kaohe_rules.highlight needs Pygments: pip install 'kaohe_rules[highlight]'") from exc

from .language.keywords import KEYWORDS
from .language.types import TYPE_ALIASES

#: A name: a letter (any script) or underscore, then letters, underscores and ASCII digits
#: (the grammar's NAME; a full-width digit is no name character, so it shows as an error).
NAME = r"[^\W\d](?:[^\W\d]|[0-9])*"
#: The keywords that declare a name: the word after them is a definition, whatever it spells.
DECLARING = ("policy", "category", "section", "enum", "record", "fact", "param", "let", "defer", "target",
             "veto", "bands", "checkpoint", "cohort", "ledger", "map")
#: The literal words of the language (shown as constants, not keywords).
CONSTANTS = ("true", "false", "none")


def _alternatives(words: Iterable[str]) -> str:
    """An alternation of words, longest first (so no word is cut short by a prefix of it)."""
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


#: What each kind of token is called by Pygments and by TextMate (its scope, ``.kaohe`` added).
KINDS: dict[str, tuple[_TokenType, str]] = {
    "comment": (Comment.Single, "comment.line.number-sign"),
    "string": (String.Double, "string.quoted.double"),
    "date": (Literal.Date, "constant.numeric.date"),
    "number": (Number, "constant.numeric"),
    "keyword": (Keyword, "keyword.other"),
    "declaration": (Keyword.Declaration, "storage.type"),
    "constant": (Keyword.Constant, "constant.language"),
    "type": (Keyword.Type, "support.type"),
    "definition": (Name.Variable, "entity.name.definition"),
    "member": (Name.Attribute, "variable.other.member"),
    "name": (Name, "variable.other"),
    "operator": (Operator, "keyword.operator"),
    "punctuation": (Punctuation, "punctuation.separator"),
    "whitespace": (Whitespace, ""),
}

#: The rules, in the order both highlighters try them: (pattern, kind of each group — one kind
#: for the whole match when the pattern has no groups).
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"#[^\n]*", ("comment",)),
    (r'"(?:\\.|[^"\\\n])*"', ("string",)),
    (r"“[^”\n]*”", ("string",)),  # the Chinese quotes
    (r"[0-9]{4}-[0-9]{2}-[0-9]{2}", ("date",)),
    (r"[0-9][0-9_]*(?:\.[0-9]+)?[ \t]*(?:万元|元|%)", ("number",)),  # money and percent
    (r"[0-9][0-9_]*(?:\.[0-9]+)?", ("number",)),
    (rf"(?<![\w.])({_alternatives(DECLARING)})([ \t]+)({NAME})", ("declaration", "whitespace", "definition")),
    (rf"{NAME}(?=[ \t]*:)", ("definition",)),  # a record field, `param x: type`
    (rf"(?<=[^.]\.){NAME}", ("member",)),  # x.field
    (rf"(:)([ \t]*)({_alternatives(TYPE_ALIASES)})(?!\w)", ("punctuation", "whitespace", "type")),
    (rf"(?<!\w)(?:{_alternatives(CONSTANTS)})(?!\w)", ("constant",)),
    (rf"(?<!\w)(?:{_alternatives(KEYWORDS - set(CONSTANTS))})(?!\w)", ("keyword",)),
    (NAME, ("name",)),
    (r"\.\.|->|\?\?|>=|<=|==|!=|[<>=+\-*/?]", ("operator",)),
    (r"[{}()\[\],:.]", ("punctuation",)),
    (r"\s+", ("whitespace",)),
)


def _pygments_rules() -> list[tuple[str, Any]]:
    rules: list[tuple[str, Any]] = []
    for pattern, kinds in RULES:
        tokens = [KINDS[kind][0] for kind in kinds]
        groups = bygroups(*tokens) if len(tokens) > 1 else None  # type: ignore[no-untyped-call]  # untyped in the stubs
        rules.append((pattern, tokens[0] if groups is None else groups))
    return rules


class KaoheLexer(RegexLexer):
    """Pygments lexer for kaohe policies (``.kh``): ```` ```kaohe ```` fences, ``pygmentize -l kaohe``."""

    name = "kaohe"
    aliases = ["kaohe", "kh"]
    filenames = ["*.kh"]
    mimetypes = ["text/x-kaohe"]
    tokens = {"root": _pygments_rules()}


def textmate_grammar() -> dict[str, Any]:
    """The TextMate grammar (scope ``source.kaohe``) of the same rules, as the JSON document."""
    patterns: list[dict[str, Any]] = []
    for pattern, kinds in RULES:
        if kinds == ("whitespace",):
            continue  # TextMate leaves unmatched text unscoped
        if len(kinds) == 1:
            patterns.append({"name": f"{KINDS[kinds[0]][1]}.kaohe", "match": pattern})
            continue
        captures = {str(i): {"name": f"{KINDS[kind][1]}.kaohe"}
                    for i, kind in enumerate(kinds, start=1) if kind != "whitespace"}
        patterns.append({"match": pattern, "captures": captures})
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "kaohe",
        "scopeName": "source.kaohe",
        "fileTypes": ["kh"],
        "comment": "Generated by `python -m kaohe_rules.highlight --textmate PATH` from kaohe_rules/highlight.py; "
                   "do not edit (tests/project/test_highlight.py fails when this file is stale).",
        "patterns": patterns,
    }


def textmate_json() -> str:
    """:func:`textmate_grammar` as the file holds it (UTF-8, sorted by rule order, newline at the end)."""
    return json.dumps(textmate_grammar(), ensure_ascii=False, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaohe_rules.highlight",
                                     description="Write the TextMate grammar of kaohe policies.")
    parser.add_argument("--textmate", metavar="PATH", required=True, help="the file to write ('-' = standard output)")
    args = parser.parse_args(argv)
    text = textmate_json()
    if args.textmate == "-":
        sys.stdout.write(text)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(args.textmate)), exist_ok=True)
        with open(args.textmate, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover - the command line
    raise SystemExit(main())
