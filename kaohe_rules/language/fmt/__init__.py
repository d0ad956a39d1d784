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
import threading

import lark

from ...errors import KaoheError, PolicyError
from ...grammar_file import grammar_text
from ...source import BOM, SourceFile
from ..parser import parse_tree
from .doc import render
from .layout import Layout, leaves, token_text

#: the line width of the canonical layout, in display columns (a Chinese character takes two)
WIDTH = 100

__all__ = ["WIDTH", "InternalFormatError", "concrete_syntax", "format_text", "normalize_newlines"]


class InternalFormatError(KaoheError):
    """The formatter's output differs from its input in tokens or comments: a formatter bug, nothing written."""


_lock = threading.Lock()
_comments: list[lark.Token] = []


@functools.lru_cache(maxsize=1)
def _cst_parser() -> lark.Lark:
    """The grammar's LALR parser keeping every token and reporting comments (built once, on first use).

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
    return lark.Lark(grammar_text(), parser="lalr", maybe_placeholders=False,
                     keep_all_tokens=True, lexer_callbacks={"COMMENT": _collect})


def _keeping_tokens(tables: dict[str, object]) -> lark.Lark:
    """The cached tables loaded with a tree builder that keeps every token (what ``keep_all_tokens`` compiles to)."""
    data = dict(tables["data"])  # type: ignore[call-overload]
    data["options"] = {**data["options"], "keep_all_tokens": True, "propagate_positions": False}
    loaded: lark.Lark = lark.Lark._load_from_dict(data, tables["memo"],  # type: ignore[no-untyped-call]
                                                  lexer_callbacks={"COMMENT": _collect})
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


def _collect(comment: lark.Token) -> lark.Token:
    _comments.append(comment)
    return comment


def normalize_newlines(text: str) -> str:
    """The text with LF line ends (CRLF and lone CR become LF) and without a byte-order mark."""
    if text.startswith(BOM):
        text = text[len(BOM):]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def concrete_syntax(text: str) -> tuple[lark.Tree[lark.Token], list[lark.Token]]:
    """The concrete syntax tree of a policy text (every token kept) and its comments; Lark's errors propagate."""
    with _lock:
        _comments.clear()
        try:
            tree = _cst_parser().parse(text)
            return tree, list(_comments)
        finally:
            _comments.clear()


def format_text(text: str, name: str = "<policy>") -> str:
    """The canonical layout of a policy text; raises PolicyError when it does not parse.

    The output has LF line ends, no byte-order mark, no trailing blanks and one final
    newline.  Formatting is idempotent, keeps every comment and changes no token.
    """
    tree = parse_tree(SourceFile(name, text))
    if not hasattr(tree, "data"):
        raise PolicyError([tree])
    clean = normalize_newlines(text)
    cst, comments = concrete_syntax(clean)
    layout = Layout(cst, comments)
    result = render(layout.document(), WIDTH)
    if layout.emitted != len(comments):
        raise InternalFormatError(f"{name}: the formatter placed {layout.emitted} of {len(comments)} comments")
    _verify(name, cst, comments, result)
    return result


def _lexed(text: str) -> tuple[list[str], list[str]]:
    """The token texts and the comment texts of a text, in order (lexed only: cheaper than a parse)."""
    tokens: list[str] = []
    comments: list[str] = []
    for token in _cst_parser().lex(text, dont_ignore=True):
        if token.type == "COMMENT":
            comments.append(str(token).rstrip())
        elif token.type != "WS":
            tokens.append(token_text(token))
    return tokens, comments


def _verify(name: str, cst: lark.Tree[lark.Token], comments: list[lark.Token], result: str) -> None:
    """The output lexes as the same tokens and the same comments (else a formatter bug: refuse).

    Same tokens in the same order is the same parse: the grammar gives whitespace no meaning.
    """
    try:
        after, again_comments = _lexed(result)
    except lark.exceptions.LarkError as exc:
        raise InternalFormatError(f"{name}: the formatted text does not read back ({exc.__class__.__name__})") from None
    before = [token_text(t) for t in leaves(cst)]
    if before != after:
        at = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
        raise InternalFormatError(f"{name}: the formatted text reads differently from token {at + 1} "
                                  f"({' '.join(before[at:at + 3])!r} became {' '.join(after[at:at + 3])!r})")
    if [str(c).rstrip() for c in comments] != again_comments:
        raise InternalFormatError(f"{name}: the formatted text does not keep the comments in their order")
