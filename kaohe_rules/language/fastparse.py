"""Policy text → the very syntax tree Lark's LALR parser builds, in a third of the time.

Why: parsing was most of the time :func:`kaohe_rules.load` takes.  Lark's
contextual lexer and its parse-tree callbacks are general machinery (a lexer
object per parser state, a chain of callback objects per rule, ``getattr`` per
position field); this module does the same job for this one grammar with one
compiled regular expression and one loop.

What it keeps from Lark: the LALR tables, the rules and the terminals all come
from the :class:`lark.Lark` object :mod:`kaohe_rules.language.parser` builds (or loads
from the disk cache), so the language is defined in ``grammar/kaohe.lark`` only.
What it reproduces:

* the contextual lexer's choice of terminal.  The regex below finds the token
  (a word, a number-like literal, a quoted label, a symbol); which terminal a
  word or symbol is depends on the parser state, as in Lark, where each state
  lexes with only the terminals it accepts: ``total`` is the keyword where the
  state accepts it and a ``NAME`` elsewhere, ``count`` is ``AGGREGATE`` where an
  aggregate may start, ``-`` is ``MINUS`` or ``ADD_OP``;
* the tree shape of Lark's ``ParseTreeBuilder`` (anonymous tokens filtered,
  ``?rule`` inlining, aliases, ``_rule`` expansion, ``!rule`` keeping tokens);
* ``propagate_positions``: every tree's ``meta`` gets the same twelve fields
  (``line`` … ``end_pos`` and the ``container_*`` ones), tokens the same
  ``line``/``column``/``end_*``/``*_pos``.

It only ever parses *valid* input its own way: whenever it is unsure — a token
it cannot place, an unexpected token, text the regex does not match, any
exception — :meth:`FastParser.parse` returns None and the caller parses again
with Lark, whose errors the diagnostics are made from.  So a policy's tree, and
a broken policy's diagnostic, are Lark's either way.  The constructor raises
:class:`Unsupported` when the Lark object is not one this module understands
(another Lark release, other regular-expression terminals, other tree-building
options); the caller then always uses Lark.  ``tests/language/test_fastparse.py``
compares the two parsers' trees, positions included, on every policy in the
repository and on mangled and fuzzed text, and the terminal chosen for every
keyword and symbol in every parser state with Lark's contextual lexer.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import lark
from lark.lexer import PatternStr, Token
from lark.parsers.lalr_analysis import Reduce, Shift
from lark.tree import Meta, Tree


class Unsupported(Exception):
    """The Lark parser differs from the one this module was written for; use Lark itself."""


# The Lark releases whose contextual lexer and parse-tree builder this module reproduces
# (checked against them by tests/language/test_fastparse.py).  Another release: Lark parses alone.
_LARK_RELEASES = ("1.3.",)


# The regular-expression terminals of grammar/kaohe.lark, exactly as Lark holds them
# (pattern, priority).  The constructor refuses a grammar whose regex terminals differ:
# keyword strings and symbols may come and go freely, these need this module's attention.
_FINITE = {  # terminals that match a fixed, listed set of texts
    "DECL_KIND": ("(checkpoint|fact|param|let|defer|target|veto|outcome|ledger|map)(?!\\w)", 5,
                  ("checkpoint", "fact", "param", "let", "defer", "target", "veto", "outcome", "ledger", "map")),
    "ORDERED": ("ordered(?!\\w)", 5, ("ordered",)),
    "AGGREGATE": ("(count|sum|any|all|streak)(?!\\w)", 5, ("count", "sum", "any", "all", "streak")),
    "EXTREMUM": ("(min|max)(?!\\w)", 5, ("min", "max")),
    "COMP_OP": ("(?:>=|<=|==|!=|>|<)", 0, (">=", "<=", "==", "!=", ">", "<")),
    "ADD_OP": ("(?:\\+|\\-)", 0, ("+", "-")),
    "MUL_OP": ("(?:\\*|/)", 0, ("*", "/")),
}
# Literal terminals, each its own group of the token regex, in Lark's order of preference
# (priority first); the third item is the same pattern without capturing groups.
_LITERALS = {
    "DATE": ("[0-9]{4}-[0-9]{2}-[0-9]{2}", 4, "[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    "MONEY": ("[0-9][0-9_]*(\\.[0-9]+)?[ \t]*(万元|元)", 3, "[0-9][0-9_]*(?:\\.[0-9]+)?[ \t]*(?:万元|元)"),
    "PERCENT": ("[0-9][0-9_]*(\\.[0-9]+)?[ \t]*%", 3, "[0-9][0-9_]*(?:\\.[0-9]+)?[ \t]*%"),
    "NUMBER": ("[0-9][0-9_]*(\\.[0-9]+)?", 2, "[0-9][0-9_]*(?:\\.[0-9]+)?"),
    "STRING": ('(?:"(\\\\.|[^"\\\\\n])*"|“[^”\n]*”)', 0, '"(?:\\\\.|[^"\\\\\n])*+"|“[^”\n]*+”'),
}
# NAME: a letter or "_", then letters, "_" and ASCII digits (no other digits: see the grammar).
_NAME = "[^\\W\\d](?:[^\\W\\d]|[0-9])*"
# The same language without backtracking, for the token regex (tests/robustness holds them equal).
_NAME_FAST = "[^\\W\\d][^\\W\\d]*+(?:[0-9]++[^\\W\\d]*+)*+"
_IGNORED = {"WS": "(?:[ \t\x0c\r\n])+", "COMMENT": "#[^\n]*"}
_WORD = re.compile(_NAME_FAST)

# Token kinds (group numbers of the token regex).
_K_WORD, _K_SYMBOL = 1, 2
_LITERAL_KINDS = {name: 3 + i for i, name in enumerate(_LITERALS)}
_K_END = 3 + len(_LITERALS)

# Reduction kinds.
_PASS = 0  # ?rule with one child: the child itself, unchanged
_TREE = 1  # a Tree (rule or alias name) with positions
_INLINE = 2  # ?rule: the only kept child if there is exactly one, else a Tree
_LIST = 3  # _rule / __rule_star: a list of children for the parent to splice in


def _rank(term: Any) -> tuple[int, int, int, int, str]:
    """Lark's order of preference between terminals matching the same text.

    Lark sorts a state's terminals by priority, then width; a string terminal that
    a same-priority regex terminal also matches (a keyword matched by NAME, ``-``
    by ADD_OP) is folded into that regex with an "unless" check that renames the
    token, so among equal priorities the string wins.
    """
    pattern = term.pattern
    return (-term.priority, 0 if isinstance(pattern, PatternStr) else 1, -pattern.max_width, -len(pattern.value),
            term.name)


class FastParser:
    """Parses with the tables of one :class:`lark.Lark` LALR parser; see the module docstring."""

    def __init__(self, parser: lark.Lark) -> None:
        if not lark.__version__.startswith(_LARK_RELEASES):
            raise Unsupported(f"Lark {lark.__version__}")
        options = parser.options
        conf = parser.lexer_conf
        if (options.parser != "lalr" or options.lexer not in ("contextual", "auto") or options.transformer is not None
                or options.tree_class not in (None, Tree) or options.maybe_placeholders or options.postlex is not None
                or options.propagate_positions is not True or options.start != ["start"] or conf.callbacks
                or conf.g_regex_flags or conf.use_bytes or conf.re_module is not re
                or sorted(conf.ignore) != sorted(_IGNORED)):
            raise Unsupported("parser options")
        try:
            table = parser.parser.parser.parser.parse_table
        except AttributeError as exc:
            raise Unsupported("parser layout") from exc
        self._lexer(parser.terminals)
        self._tables(table)

    # ------------------------------------------------------------------ lexer
    def _lexer(self, terminals: Collection[Any]) -> None:
        symbols: dict[str, list[Any]] = {}  # fixed text → terminals matching exactly that text
        words: dict[str, list[Any]] = {}
        seen = set()
        for term in terminals:
            pattern = term.pattern
            if pattern.flags:
                raise Unsupported(f"flags on {term.name}")
            if isinstance(pattern, PatternStr):
                texts: tuple[str, ...] = (pattern.value,)
            elif term.name in _FINITE:
                value, priority, texts = _FINITE[term.name]
                if pattern.value != value or term.priority != priority:
                    raise Unsupported(f"terminal {term.name} changed")
                seen.add(term.name)
            else:
                expected = (_LITERALS.get(term.name) or (
                    (_NAME, 0, "") if term.name == "NAME" else (_IGNORED.get(term.name), 0, "")))[:2]
                if (pattern.value, term.priority) != expected:
                    raise Unsupported(f"terminal {term.name} is unknown or changed")
                seen.add(term.name)
                continue
            for text in texts:
                if not text:
                    raise Unsupported("empty terminal")
                if _WORD.fullmatch(text):
                    words.setdefault(text, []).append(term)
                elif text[0].isalnum() or text[0] in "_\"“#" or text[0].isspace():
                    raise Unsupported(f"terminal {term.name} overlaps a word, literal or comment")
                else:
                    symbols.setdefault(text, []).append(term)
        if seen != set(_FINITE) | set(_LITERALS) | {"NAME"} | set(_IGNORED):
            raise Unsupported("terminals missing")
        name = next(t for t in terminals if t.name == "NAME")
        for terms in words.values():
            terms.append(name)  # NAME matches every word; where the state takes none of these, NAME
        # The candidates for one text, best first; a state takes the first it accepts.
        self._words = {text: tuple(t.name for t in sorted(terms, key=_rank)) for text, terms in words.items()}
        self._symbols = {text: tuple(t.name for t in sorted(terms, key=_rank)) for text, terms in symbols.items()}
        ignored = "[ \t\x0c\r\n]*+(?:#[^\n]*+[ \t\x0c\r\n]*+)*+"  # WS and COMMENT; possessive: no backtracking
        symbol = "|".join(re.escape(s) for s in sorted(self._symbols, key=lambda s: (-len(s), s)))
        literals = "".join(f"|({pattern})" for _, _, pattern in _LITERALS.values())
        self._literal_kind = {kind: name for name, kind in _LITERAL_KINDS.items()}
        self._token = re.compile(f"{ignored}(?:({_NAME_FAST})|({symbol}){literals}|(\\Z))")

    # ----------------------------------------------------------------- tables
    def _tables(self, table: Any) -> None:
        states = table.states
        if sorted(states) != list(range(len(states))):
            raise Unsupported("state numbering")
        rules: dict[Any, int] = {}
        plans: list[tuple[Any, ...]] = []
        actions: list[dict[str, int]] = []
        for state in range(len(states)):
            row: dict[str, int] = {}
            for symbol, (action, arg) in states[state].items():
                if action is Shift:
                    row[symbol] = arg
                elif action is Reduce:
                    if arg not in rules:
                        rules[arg] = len(plans)
                        plans.append(self._plan(arg))
                    row[symbol] = ~rules[arg]
                else:
                    raise Unsupported("unknown action")
            actions.append(row)
        self._actions = actions
        self._pass_runs: dict[tuple[int, int, str], int] = {}
        self._plans = plans
        self._start = table.start_states["start"]
        self._end = table.end_states["start"]
        kept = {sym.name for rule in rules for sym in rule.expansion
                if sym.is_term and (rule.options.keep_all_tokens or not sym.filter_out)}
        terminals = {sym.name for rule in rules for sym in rule.expansion if sym.is_term}
        # Tokens no rule keeps in its tree only lend their positions: no Token object is made for them.
        self._dropped = frozenset(terminals - kept)

    @staticmethod
    def _plan(rule: Any) -> tuple[Any, ...]:
        """How a reduction by ``rule`` builds its value, as Lark's ParseTreeBuilder does for LALR."""
        options = rule.options
        expansion = rule.expansion
        size = len(expansion)
        if size == 0:
            raise Unsupported("empty rule")
        origin = rule.origin.name
        name = rule.alias or options.template_source or origin
        keep = [(i, not sym.is_term and sym.name.startswith("_")) for i, sym in enumerate(expansion)
                if options.keep_all_tokens or not (sym.is_term and sym.filter_out)]
        plain = len(keep) == size and not any(splice for _, splice in keep)
        single = options.expand1 and not rule.alias
        if origin.startswith("_"):
            if single:
                raise Unsupported("inlined _rule")
            kind = _LIST
        elif single:
            kind = _PASS if size == 1 and keep == [(0, False)] else _INLINE
        else:
            kind = _TREE
        return (size, origin, kind, name, tuple(keep), plain)

    def terminal_for(self, state: int, text: str) -> str | None:
        """The terminal the parse loop makes of the word or symbol ``text`` met in ``state`` (None: it declines).

        The loop inlines this choice for speed; this spelled-out copy lets the tests
        hold it against Lark's contextual lexer, state by state.
        """
        row = self._actions[state]
        if _WORD.fullmatch(text):
            candidates = self._words.get(text, ("NAME",))
        else:
            candidates = self._symbols.get(text, ())
        return next((typ for typ in candidates if typ in row), None)

    @property
    def states(self) -> range:
        return range(len(self._actions))

    @property
    def fixed_texts(self) -> tuple[str, ...]:
        """Every keyword and symbol text some terminal matches exactly."""
        return (*self._words, *self._symbols)

    def _passes(self, below: int, top: int, typ: str) -> int:
        """Where a run of pass-through reductions from ``top`` (over ``below``) on lookahead ``typ`` ends."""
        actions = self._actions
        state = top
        while state != self._end:
            action = actions[state].get(typ)
            if action is None or action >= 0:
                break
            plan = self._plans[~action]
            if plan[2] != _PASS:
                break
            state = actions[below][plan[1]]
        self._pass_runs[below, top, typ] = state
        return state

    # ------------------------------------------------------------------ parse
    def parse(self, text: str) -> Tree[Token] | None:
        """The tree Lark would build for ``text``; None when Lark should parse it (errors included)."""
        try:
            return self._parse(text)
        except Exception:  # any surprise: Lark parses it, and reports it if it is an error
            return None

    def _parse(self, text: str) -> Tree[Token] | None:  # noqa: C901, PLR0912, PLR0915 - one hot loop, kept flat
        match = self._token.match
        actions = self._actions
        plans = self._plans
        words = self._words
        symbols = self._symbols
        dropped = self._dropped
        end_state = self._end
        literal_kind = self._literal_kind
        passes = self._pass_runs
        if len(passes) > 50_000:  # memo of pass-through runs: bounded by the grammar, kept small anyway
            passes.clear()
        new_str = str.__new__
        new_obj = object.__new__
        count = text.count
        rfind = text.rfind

        states = [self._start]
        values: list[Any] = []
        spans: list[tuple[int, int, int, int, int, int]] = []
        meta: Any
        pos = 0
        line = 1
        line_start = 0
        while True:
            m = match(text, pos)
            if m is None:
                return None
            kind: Any = m.lastindex  # the one top-level group that matched: which kind of token
            start, end = m.span(kind)
            if start != pos:
                newlines = count("\n", pos, start)
                if newlines:
                    line += newlines
                    line_start = rfind("\n", pos, start) + 1
            row = actions[states[-1]]
            at_end = kind == _K_END
            if at_end:
                typ = "$END"
                tok = None
                tok_span = None
            else:
                pos = end
                value = text[start:end]
                if kind == _K_WORD:
                    candidates = words.get(value)
                    if candidates is None:
                        typ = "NAME"
                    else:
                        for typ in candidates:
                            if typ in row:
                                break
                        else:
                            return None
                elif kind == _K_SYMBOL:
                    for typ in symbols[value]:
                        if typ in row:
                            break
                    else:
                        return None
                else:
                    typ = literal_kind[kind]
                column = start - line_start + 1
                end_column = pos - line_start + 1
                tok_span = (line, column, start, line, end_column, pos)
                if typ in dropped:
                    tok = None
                else:
                    tok = new_str(Token, value)
                    tok.type = typ
                    tok.start_pos = start
                    tok.value = value
                    tok.line = line
                    tok.column = column
                    tok.end_line = line
                    tok.end_column = end_column
                    tok.end_pos = pos
            # Feed the token: reduce while the table says so, then shift it.
            while True:
                action = row.get(typ)
                if action is None:
                    return None
                if action >= 0:
                    if at_end:
                        return None  # Lark never shifts the end marker
                    states.append(action)
                    values.append(tok)
                    spans.append(tok_span)  # type: ignore[arg-type]
                    break
                size, origin, rkind, name, keep, plain = plans[~action]
                if rkind == _PASS:
                    # A run of ?rule pass-throughs (expr → or_expr → … → atom) only swaps the top
                    # state; where it ends depends on the state below, the top and the lookahead.
                    key = (states[-2], states[-1], typ)
                    top = passes.get(key)
                    if top is None:
                        top = self._passes(*key)
                    states[-1] = top
                else:
                    kids = values[-size:]
                    first = spans[-size]
                    last = spans[-1]
                    del values[-size:]
                    del spans[-size:]
                    del states[-size:]
                    if plain:
                        filtered = kids
                    else:
                        filtered = []
                        for i, splice in keep:
                            if splice:
                                if filtered:
                                    filtered += kids[i]
                                else:
                                    filtered = kids[i]
                            else:
                                filtered.append(kids[i])
                    if rkind == _LIST:
                        result: Any = filtered
                        span = (first[0], first[1], first[2], last[3], last[4], last[5])
                    elif rkind == _TREE or len(filtered) != 1:
                        meta = new_obj(Meta)
                        meta.empty = False
                        meta.line = meta.container_line = first[0]
                        meta.column = meta.container_column = first[1]
                        meta.start_pos = meta.container_start_pos = first[2]
                        meta.end_line = meta.container_end_line = last[3]
                        meta.end_column = meta.container_end_column = last[4]
                        meta.end_pos = meta.container_end_pos = last[5]
                        result = new_obj(Tree)
                        result.data = name
                        result.children = filtered
                        result._meta = meta
                        span = (first[0], first[1], first[2], last[3], last[4], last[5])
                    else:
                        result = filtered[0]
                        if type(result) is Tree:
                            meta = result._meta
                            meta.container_line = first[0]
                            meta.container_column = first[1]
                            meta.container_start_pos = first[2]
                            meta.container_end_line = last[3]
                            meta.container_end_column = last[4]
                            meta.container_end_pos = last[5]
                            span = (first[0], first[1], first[2], last[3], last[4], last[5])
                        else:  # a token passed up: its own place, as Lark leaves tokens alone
                            span = (result.line, result.column, result.start_pos, result.end_line,
                                    result.end_column, result.end_pos)
                    goto = actions[states[-1]][origin]
                    states.append(goto)
                    values.append(result)
                    spans.append(span)
                row = actions[states[-1]]
                if at_end and states[-1] == end_state:
                    tree = values[-1]
                    return tree if type(tree) is Tree else None
