"""Stage 1: policy text → Lark syntax tree, with syntax errors turned into diagnostics.

The LALR parser is built once per process and cached (building it costs tens of
milliseconds; parsing a policy costs a few).  Valid text is parsed by
:mod:`kaohe_rules.language.fastparse`, which builds the same tree from the same tables
about three times faster; text it declines (every syntax error among it) is
parsed by Lark.  Lark's own exceptions never leave this module: they become
:class:`~kaohe_rules.errors.Diagnostic` objects with a code, a caret excerpt and
a hint.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

import lark
from lark import exceptions as lark_exc
from lark.grammar import Rule
from lark.lexer import TerminalDef
from lark.parse_tree_builder import PropagatePositions
from lark.parsers.lalr_analysis import Shift

from ..errors import Diagnostic
from ..grammar_file import grammar_text
from ..source import SourceFile, Span, point_span
from .fastparse import FastParser
from .keywords import KEYWORDS

#: A word that could be a name (the ``NAME`` terminal of the grammar, ASCII letters suffice for keywords).
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")

# Friendly names for terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a quoted label",
    "NUMBER": "a number",
    "MONEY": "an amount such as 100万元",
    "PERCENT": "a percentage such as 30%",
    "DATE": "a date such as 2013-11-25",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "COLON": "':'",
    "EQUAL": "'='",
    "DOT": "'.'",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*' or '/'",
    "AGGREGATE": "count/sum/any/all",
    "EXTREMUM": "min/max",
    "DECL_KIND": "a declaration kind (target, veto, fact, ...)",
    "$END": "end of file",
}


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    """Built once per process; the LALR tables come from the disk cache when it has them (kaohe_rules.cache)."""
    from .. import cache

    tables = cache.parser_tables()
    if tables is not None:
        try:
            loaded: lark.Lark = lark.Lark._load_from_dict(tables["data"], tables["memo"])  # type: ignore[no-untyped-call]
            return _quicker_positions(loaded)
        except Exception:  # noqa: S110 - a stale or foreign entry: build the parser instead
            pass
    parser = lark.Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)
    try:
        data, memo = parser.memo_serialize([TerminalDef, Rule])
        cache.store_parser_tables(data, memo)
    except Exception:  # noqa: S110 - caching is an optimisation only
        pass
    return _quicker_positions(parser)


@functools.lru_cache(maxsize=1)
def names_read_as_keywords() -> frozenset[str]:
    """The words that cannot be read as a name in an expression, derived from the parser's states.

    Keywords are contextual: in a parser state that does not accept a keyword, the word
    is a ``NAME`` (``fact reward: money`` and ``deduct reward`` both work).  A declared
    name is read in expressions, and a word is lost to names only where an expression
    may start with either: the states that shift a ``NAME`` into an atom (the state after
    it accepts ``(``, as only ``name(…)`` does) and lex the word as something else there
    (``if``, ``not``, ``true``, ``count`` …).  K170 refuses exactly these as names
    (issue #10, item 7); the set follows the grammar as it grows.
    """
    fast = _fast_parser()
    if fast is None:  # pragma: no cover - another Lark release: every keyword, as before
        return KEYWORDS
    table = _parser().parser.parser.parser.parse_table  # Lark's LALR table: state -> {terminal: action}
    atom_states = [state for state, actions in table.states.items()
                   if (shift := actions.get("NAME")) is not None and shift[0] is Shift
                   and "LPAR" in table.states[shift[1]]]
    words = [text for text in fast.fixed_texts if NAME_PATTERN.fullmatch(text)]
    return frozenset(word for word in words for state in atom_states
                     if fast.terminal_for(state, word) not in (None, "NAME"))


@functools.lru_cache(maxsize=1)
def _fast_parser() -> FastParser | None:
    """The fast parser over :func:`_parser`'s tables; None (parse with Lark) if it does not fit them."""
    try:
        return FastParser(_parser())
    except Exception:  # fastparse.Unsupported, or a Lark whose insides moved: Lark alone is correct
        return None


class _Positions(PropagatePositions):
    """Lark's ``propagate_positions``, same positions, less work.

    Most reductions of an expression grammar pass a single child through a chain
    of ``?rule`` precedence levels; Lark then recomputes that child's positions
    and stores them on it again, unchanged.  This skips exactly that case (the
    result *is* the only child: its meta already holds these positions, container
    fields included) and otherwise does what Lark 1.3's ``PropagatePositions`` does.
    """

    def __call__(self, children: list[Any]) -> Any:
        res = self.node_builder(children)
        if (len(children) == 1 and res is children[0]) or not isinstance(res, lark.Tree):
            return res
        res_meta: Any = res.meta
        first = self._pp_get_meta(children)  # type: ignore[no-untyped-call]
        if first is not None:
            if not hasattr(res_meta, "line"):
                res_meta.line = getattr(first, "container_line", first.line)
                res_meta.column = getattr(first, "container_column", first.column)
                res_meta.start_pos = getattr(first, "container_start_pos", first.start_pos)
                res_meta.empty = False
            res_meta.container_line = getattr(first, "container_line", first.line)
            res_meta.container_column = getattr(first, "container_column", first.column)
            res_meta.container_start_pos = getattr(first, "container_start_pos", first.start_pos)
        last = self._pp_get_meta(reversed(children))  # type: ignore[no-untyped-call]
        if last is not None:
            if not hasattr(res_meta, "end_line"):
                res_meta.end_line = getattr(last, "container_end_line", last.end_line)
                res_meta.end_column = getattr(last, "container_end_column", last.end_column)
                res_meta.end_pos = getattr(last, "container_end_pos", last.end_pos)
                res_meta.empty = False
            res_meta.container_end_line = getattr(last, "container_end_line", last.end_line)
            res_meta.container_end_column = getattr(last, "container_end_column", last.end_column)
            res_meta.container_end_pos = getattr(last, "container_end_pos", last.end_pos)
        return res


def _quicker_positions(parser: lark.Lark) -> lark.Lark:
    """Swap Lark's position callbacks for :class:`_Positions` (left alone if Lark's layout differs)."""
    try:
        callbacks = parser.parser.parser.parser.callbacks
        for rule, callback in list(callbacks.items()):
            if type(callback) is PropagatePositions and callback.node_filter is None:
                callbacks[rule] = _Positions(callback.node_builder)  # type: ignore[no-untyped-call]
    except AttributeError:  # pragma: no cover - another Lark version: its own callbacks are correct, only slower
        pass
    return parser


def parse_tree(source: SourceFile) -> lark.Tree[lark.Token] | Diagnostic:
    """Parse a policy; return the syntax tree or the first syntax error as a diagnostic.

    LALR parsing stops at the first syntax error; later stages report all their errors.
    The on-disk tree cache serves only text the fast parser leaves to Lark: reading a
    cached tree back costs more than the fast parser takes to build it.
    """
    from .. import cache

    fast = _fast_parser()
    tree = fast.parse(source.text) if fast is not None else None
    if tree is not None:
        return tree
    cached = cache.cached_tree(source.text)  # only when the policy cache is on (load(..., cache=True))
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    parsed = _parse_with_lark(source)
    if not isinstance(parsed, Diagnostic):
        cache.store_tree(source.text, parsed)
    return parsed


def _parse_with_lark(source: SourceFile) -> lark.Tree[lark.Token] | Diagnostic:
    """Lark's parse: the reference, and the one whose errors become diagnostics."""
    try:
        return _parser().parse(source.text)
    except lark_exc.UnexpectedToken as exc:
        return _unexpected_token(source, exc)
    except lark_exc.UnexpectedCharacters as exc:
        return _unexpected_char(source, exc)
    except lark_exc.UnexpectedEOF as exc:
        line = len(source.lines) or 1
        return Diagnostic(
            "K001",
            "unexpected end of file",
            point_span(source, line, len(source.line(line)) + 1),
            hint=_expected_hint(set(exc.expected)),
        )
    except lark_exc.LarkError as exc:  # pragma: no cover - defensive
        return Diagnostic("K000", f"could not parse policy: {exc}", point_span(source, 1, 1))
    except RecursionError:
        return Diagnostic(
            "K009", "policy nests too deeply to parse", point_span(source, 1, 1),
            hint="split deeply nested expressions into let declarations",
        )


def _token_span(source: SourceFile, token: lark.Token) -> Span:
    line = token.line or 1
    column = token.column or 1
    end_line = token.end_line or line
    end_column = token.end_column or column + max(len(str(token)), 1)
    return Span(source, line, column, end_line, end_column)


def _unexpected_token(source: SourceFile, exc: lark_exc.UnexpectedToken) -> Diagnostic:
    token = exc.token
    expected = set(exc.expected)
    if token.type == "$END":
        line = len(source.lines) or 1
        return Diagnostic(
            "K001", "unexpected end of file", point_span(source, line, len(source.line(line)) + 1),
            hint=_expected_hint(expected),
        )
    span = _token_span(source, token)
    text = str(token)
    hint = _expected_hint(expected)
    if "NAME" in expected and text in KEYWORDS:
        hint = f"'{text}' is a keyword at this point and cannot be used as a name here; choose another name (e.g. {text}_值)"
    elif token.type == "NAME" and expected and all(t.isupper() for t in expected):
        keyword = _closest_keyword(text, expected)
        if keyword:
            hint = f"did you mean '{keyword}'?"
    return Diagnostic("K002", f"unexpected {_describe(token)}", span, hint=hint)


def _unexpected_char(source: SourceFile, exc: lark_exc.UnexpectedCharacters) -> Diagnostic:
    span = point_span(source, exc.line, exc.column)
    char = exc.char
    index = exc.pos_in_stream
    if _is_foreign_digit(char) and index is not None and source.text[index:index + 1] == char:
        return _foreign_digit(source, index, span)
    hint = None
    if char in "，。：；（）【】＝＞＜":
        hint = "this is a full-width (Chinese) punctuation mark; use the ASCII one ( , . : ; ( ) [ ] = > < ) outside quotes"
    elif char == "'":
        hint = "labels use double quotes: \"...\" or “...”"
    elif char == '"':
        hint = "unterminated string: close the quote on the same line"
    elif exc.allowed:
        hint = _expected_hint(set(exc.allowed))
    return Diagnostic("K003", f"unexpected character {char!r}", span, hint=hint)


def _is_foreign_digit(char: str) -> bool:
    return len(char) == 1 and char.isdecimal() and not "0" <= char <= "9"


def _foreign_digit(source: SourceFile, index: int, span: Span) -> Diagnostic:
    """A digit other than 0-9 outside quotes: a look-alike a reviewer cannot tell from an ASCII digit.

    ``total １０００`` (full-width) or ``total ١٠٠٠`` (Arabic-Indic) would read as 1000
    to a reviewer; the grammar takes numbers and names in ASCII digits only, and
    this says so, with the ASCII spelling of the whole run of digits.
    """
    import unicodedata

    text = source.text
    char = text[index]

    def part(c: str) -> bool:  # of the number (or of the name) around the digit
        return c.isdecimal() or c in "_." or (in_name and (c.isalpha() or c == "_"))

    in_name = False
    start = index
    while start > 0 and part(text[start - 1]):
        start -= 1
    in_name = start > 0 and (text[start - 1].isalpha() or text[start - 1] == "_")
    if in_name:
        while start > 0 and part(text[start - 1]):
            start -= 1
    stop = index
    while stop < len(text) and stop - start < 40 and part(text[stop]):
        stop += 1
    run = text[max(start, index - 40):stop]
    ascii_run = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in run)
    character_name = unicodedata.name(char, "")
    if character_name.startswith("FULLWIDTH"):
        kind = "full-width digit"
    elif " DIGIT " in character_name:
        kind = f"{character_name.split(' DIGIT ')[0].title()} digit"
    else:
        kind = "non-ASCII digit"
    where = "a name" if in_name else "a number"
    return Diagnostic(
        "K006", f"{kind} {char!r} in {where}: write ASCII digits 0-9", span,
        hint=f"write {ascii_run} instead of {run}; outside quotes and comments, policy text uses the digits 0-9 only "
             "(a look-alike digit would read the same to a reviewer but is a different character)",
    )


def _describe(token: lark.Token) -> str:
    text = str(token) if len(token) <= 80 else f"{token[:60]}… ({len(token)} characters)"  # a message stays short
    if token.type == "NAME":
        return f"name '{text}'"
    if token.type in ("STRING", "NUMBER", "MONEY", "PERCENT", "DATE"):
        return f"{_TERMINAL_NAMES.get(token.type, token.type).split(' such')[0]} {text}"
    return f"'{text}'"


def _terminal_display(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    if re.fullmatch(r"[A-Z_]+", name):
        return f"'{name.lower()}'"
    return name


def _expected_hint(expected: set[str]) -> str | None:
    if not expected:
        return None
    names = sorted({_terminal_display(e) for e in expected if not e.startswith("__")})
    if len(names) > 12:
        names = names[:12] + ["..."]
    return "expected " + ", ".join(names)


def _closest_keyword(word: str, expected: set[str]) -> str | None:
    options = [e.lower() for e in expected if e.lower() in KEYWORDS]
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None
