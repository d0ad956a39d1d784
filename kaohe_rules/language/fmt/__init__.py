"""The concrete-syntax formatter behind ``kaohe fmt`` and the language server's formatting.

``format_text`` is the one entry point other stages use (the CLI, the language server).
It formats syntax only: a policy with checker errors still formats, text that does not
parse raises :class:`~kaohe_rules.errors.PolicyError` with the parser's diagnostics.

The layout (docs/fmt.md) is computed from a concrete syntax tree that keeps every
token and every comment (:mod:`.layout`), printed by a width-aware document printer
(:mod:`.doc`) at :data:`WIDTH` display columns.  The normal load path is untouched: the
formatter's parser is its own, built on first use.

Before returning, the result is checked against the input: the same tokens in the same
order and the same comments.  A formatter bug therefore refuses (an
:class:`InternalFormatError` naming the first difference) instead of rewriting a policy
into another one — the file is left as it was.
"""

from __future__ import annotations

import functools
import re

import lark

from ... import limits
from ...errors import Diagnostic, KaoheError, PolicyError
from ...grammar_file import grammar_text
from ...source import BOM, SourceFile, point_span
from ..fastparse import FastParser
from ..parser import parse_tree
from .doc import render
from .layout import Layout

_BLANKS = re.compile(r"[ \t]+")

#: the line width of the canonical layout, in display columns (a Chinese character takes two)
WIDTH = 100

__all__ = ["WIDTH", "InternalFormatError", "concrete_syntax", "format_text", "normalize_newlines"]


class InternalFormatError(KaoheError):
    """The formatter's output differs from its input in tokens or comments: a formatter bug, nothing written."""


@functools.lru_cache(maxsize=1)
def _cst_parser() -> lark.Lark:
    """The grammar's LALR parser keeping every token (built once, on first use).

    The LALR tables are the load path's own, from the disk cache when it has them (building
    them costs seconds); only the tree builder differs (``keep_all_tokens``).
    """
    from ... import cache

    tables = cache.parser_tables()
    if tables is not None:
        try:
            return _keeping_tokens(tables)
        except Exception:  # noqa: S110 - a stale or foreign entry: build the parser instead
            pass
    return lark.Lark(grammar_text(), parser="lalr", maybe_placeholders=False, propagate_positions=True,
                     keep_all_tokens=True)


def _keeping_tokens(tables: dict[str, object]) -> lark.Lark:
    """The cached tables loaded with a tree builder that keeps every token (what ``keep_all_tokens`` compiles to)."""
    data = dict(tables["data"])  # type: ignore[call-overload]
    data["options"] = {**data["options"], "keep_all_tokens": True}
    loaded: lark.Lark = lark.Lark._load_from_dict(data, tables["memo"])  # type: ignore[no-untyped-call]
    for rule in loaded.rules:
        rule.options.keep_all_tokens = True
        for symbol in rule.expansion:
            if symbol.is_term:
                symbol.filter_out = False  # type: ignore[attr-defined]
    loaded._prepare_callbacks()
    callbacks = loaded.parser.parser.parser.callbacks  # Lark 1.x: frontend → LALR_Parser → ParserState callbacks
    for rule, callback in loaded._callbacks.items():
        callbacks[rule] = callback
    return loaded


@functools.lru_cache(maxsize=1)
def _fast_parser() -> FastParser | None:
    """The load path's fast parser over the token-keeping tables (None: Lark parses alone)."""
    try:
        return FastParser(_cst_parser())
    except Exception:  # fastparse.Unsupported, or a Lark whose insides moved: Lark alone is correct
        return None


def normalize_newlines(text: str) -> str:
    """The text with LF line ends (CRLF becomes LF) and without a byte-order mark."""
    if text.startswith(BOM):
        text = text[len(BOM):]
    return text.replace("\r\n", "\n")


def concrete_syntax(text: str) -> tuple[lark.Tree[lark.Token], list[lark.Token]]:
    """The concrete syntax tree of a policy text (every token kept) and its comments; Lark's errors propagate.

    The comments are found by :data:`_WORDS`, which reads labels as the grammar does (a ``#``
    inside a label is no comment); the grammar ignores them, so the parsers never see them.
    """
    fast = _fast_parser()
    tree = fast.parse(text) if fast is not None else None
    if tree is None:
        tree = _cst_parser().parse(text)
    comments: list[lark.Token] = []
    line, counted = 1, 0
    for match in _WORDS.finditer(text):
        if match.lastgroup == "comment":
            line += text.count("\n", counted, match.start())
            counted = match.start()
            comments.append(lark.Token("COMMENT", match.group(), start_pos=match.start(), line=line,
                                      end_pos=match.end()))
    return tree, comments


def format_text(text: str, name: str = "<policy>") -> str:
    """The canonical layout of a policy text; raises PolicyError when it does not parse.

    The output has LF line ends, no byte-order mark, no trailing blanks and one final
    newline.  Formatting is idempotent, keeps every comment and changes no token.

    An expression nested too deeply for the recursion limit that ``kaohe check`` uses is refused
    with K009, as ``kaohe check`` refuses it.
    """
    # As ``policy.load`` and the symbol index: the layout recurses once per level of an expression
    # (a parenthesis, an operator of a chain), so a policy that loads must not overflow here.
    try:
        with limits.deep_policy_stack():
            return _format_text(text, name)
    except (RecursionError, MemoryError):
        raise PolicyError([Diagnostic(
            "K009", "an expression nests too deeply to format", point_span(SourceFile(name, text), 1, 1),
            hint="split long or deeply nested expressions into several let declarations")]) from None


def _format_text(text: str, name: str) -> str:
    """:func:`format_text` under the raised recursion limit."""
    clean = normalize_newlines(text)
    try:
        cst, comments = concrete_syntax(clean)
    except lark.exceptions.LarkError:
        cst = None
    if cst is None:  # the load path's parser names the error (a K-code, a caret)
        tree = parse_tree(SourceFile(name, text))
        if hasattr(tree, "data"):  # pragma: no cover - the two parsers share their tables
            raise InternalFormatError(f"{name}: the formatter's parser refuses a text the policy parser reads")
        raise PolicyError([tree])
    layout = Layout(cst, comments)
    result = render(layout.document(), WIDTH)
    if layout.emitted != len(comments):
        raise InternalFormatError(f"{name}: the formatter placed {layout.emitted} of {len(comments)} comments")
    _verify(name, clean, comments, result)
    return result


#: a policy text's tokens for :func:`_verify`: coarser than the grammar's lexer but C-fast, and any two
#: tokens printed without a blank between them that would read as one are caught as one word
_WORDS = re.compile(r"""
    (?P<blank>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<token>"(?:\\.|[^"\\\n])*"|“[^”\n]*”
      |[0-9][0-9_]*(?:\.[0-9]+)?[ \t]*(?:万元|元|%)
      |[0-9]{4}-[0-9]{2}-[0-9]{2}
      |[^\W\d](?:[^\W\d]|[0-9])*|[0-9][0-9_]*(?:\.[0-9]+)?
      |\.\.|\?\?|->|[<>=!]=|.)
""", re.VERBOSE)


def _lexed(text: str) -> tuple[list[str], list[str]]:
    """The token texts and the comment texts of a text, in order."""
    tokens: list[str] = []
    comments: list[str] = []
    for match in _WORDS.finditer(text):
        kind = match.lastgroup
        if kind == "token":
            tokens.append(_BLANKS.sub("", match.group()) if match.group()[-1] in "元%" else match.group())
        elif kind == "comment":
            comments.append(match.group().rstrip())
    return tokens, comments


def _verify(name: str, text: str, comments: list[lark.Token], result: str) -> None:
    """The output reads as the same tokens and the same comments as the input (else a formatter bug: refuse).

    Same tokens in the same order is the same parse: the grammar gives whitespace no meaning.
    """
    before, before_comments = _lexed(text)
    after, after_comments = _lexed(result)
    if before != after:
        at = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
        raise InternalFormatError(f"{name}: the formatted text reads differently from token {at + 1} "
                                  f"({' '.join(before[at:at + 3])!r} became {' '.join(after[at:at + 3])!r})")
    if before_comments != after_comments or len(after_comments) != len(comments):
        raise InternalFormatError(f"{name}: the formatted text does not keep the comments in their order")
