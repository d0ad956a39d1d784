"""Concrete syntax tree → layout document: the canonical layout of a policy (docs/fmt.md).

The tree comes from a Lark parser over the policy grammar that keeps every token
(``keep_all_tokens``) and hands the comments, which the grammar ignores, to a
callback.  Nothing is rebuilt from the AST: every token of the input is printed, in
its order, as written (only the blanks inside an amount or a percentage go, ``100 %``
→ ``100%``), so the layout cannot change what the policy means.

Comments sit in the *gaps* between tokens.  A gap at a block boundary (before the
first item of a block, between two items, before a ``}``, at the start and the end of
the file) is laid out by :meth:`Layout.block`: a comment on the line of the code before
it stays a trailing comment, the others lead the next item (or close the block) at the
item's indentation, and blank lines between items survive as one.  A gap inside a
statement is laid out where it is (:class:`.doc.Comments`): the comment stays between
the same two tokens and the statement breaks after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TypeAlias

import attrs
import lark

from .doc import CLAUSE_LINE, HARDLINE, LINE, Comments, Doc, Fill, Group, Nest

Node: TypeAlias = "lark.Tree[lark.Token] | lark.Token"

#: option subtrees that start a new segment of a statement (a place the statement may break before)
SEGMENT_TREES = frozenset({
    "cite", "note", "for_cats", "source", "per_period", "defer_to", "because", "charge_where", "charge_when",
    "item_when", "fact_from", "let_report", "ledger_key", "ledger_shown", "section_only", "bonus_cap",
    "band_requires", "due", "span", "e_rating", "e_downgrade", "e_cap", "e_score", "cap", "quota_of",
    "placements", "extends",
})
#: the main clause of a statement: on a line of its own when the statement breaks
MAIN_TREES = frozenset({"placements", "due", "span", "veto_on", "veto_when"})
#: keywords that start a new segment when they stand directly in a statement
SEGMENT_TOKENS = frozenset({"WHEN", "UNLESS", "WHERE", "PER", "FROM", "AS", "BECAUSE", "ON", "TO", "REQUIRES"})
#: subtrees whose tokens are laid out as if they stood in the statement itself
INLINE_TREES = frozenset({"veto_on", "veto_when", "exception"})
#: expression forms broken at their operators (`a or b or c`: after each `or`)
CHAINS = frozenset({"or_", "and_", "binary"})
#: tokens written without a space before them, and after them
TIGHT_BEFORE = frozenset({"COMMA", "RPAR", "RSQB", "DOT", "COLON", "OPTIONAL"})
TIGHT_AFTER = frozenset({"LPAR", "LSQB", "DOT", "MINUS"})
#: continuation indent of a broken statement, and of a broken expression within it
INDENT = 2

_BLANKS = re.compile(r"[ \t]+")


@attrs.frozen
class Comment:
    text: str
    line: int


def token_text(token: lark.Token) -> str:
    """A token as printed: as written, but an amount or a percentage without its inner blanks."""
    if token.type in ("MONEY", "PERCENT"):
        return _BLANKS.sub("", str(token))
    return str(token)


def leaves(node: Node) -> Iterator[lark.Token]:
    if isinstance(node, lark.Token):
        yield node
        return
    for child in node.children:
        yield from leaves(child)


def first_token(node: Node) -> lark.Token:
    while isinstance(node, lark.Tree):
        node = node.children[0]
    return node


def last_token(node: Node) -> lark.Token:
    while isinstance(node, lark.Tree):
        node = node.children[-1]
    return node


def spaced(left: lark.Token, right: lark.Token) -> bool:
    """Whether one space separates two neighbouring tokens (else none)."""
    return right.type not in TIGHT_BEFORE and left.type not in TIGHT_AFTER


class Layout:
    """One policy's tree and comments → its document (:meth:`document`)."""

    def __init__(self, tree: lark.Tree[lark.Token], comments: Sequence[lark.Token]) -> None:
        self.tree = tree
        self.tokens = list(leaves(tree))
        self.position = {id(token): i for i, token in enumerate(self.tokens)}
        starts = [token.start_pos or 0 for token in self.tokens]
        self.gaps: dict[int, list[Comment]] = {}  # token index → the comments after it (-1: before the first)
        import bisect

        for comment in comments:
            after = bisect.bisect_right(starts, comment.start_pos or 0) - 1
            self.gaps.setdefault(after, []).append(Comment(str(comment).rstrip(), comment.line or 0))
        self.structural: set[int] = set()  # gaps laid out by a block
        self.emitted = 0  # comments printed, checked against the input's count

    # ------------------------------------------------------------------ tokens
    def index(self, token: lark.Token) -> int:
        return self.position[id(token)]

    def end_line(self, index: int) -> int:
        return (self.tokens[index].end_line or 0) if index >= 0 else 0

    def tok(self, token: lark.Token) -> Doc:
        """A token, and the comments of the gap after it when no block lays that gap out."""
        text = token_text(token)
        i = self.index(token)
        found = self.gaps.get(i)
        if not found or i in self.structural:
            return text
        return [text, self.gap_comments(i, found)]

    def gap_comments(self, i: int, found: Sequence[Comment]) -> Comments:
        """The comments after token ``i``: the first trailing when on its line, the others on lines of their own."""
        self.emitted += len(found)
        trailing = found[0].text if found[0].line == self.end_line(i) else None
        own = tuple(c.text for c in found[1:]) if trailing is not None else tuple(c.text for c in found)
        return Comments(trailing, own)

    def indented(self, child: Node) -> Doc:
        """An expression, label or type indented past its statement, the comments after its last token not.

        The comments after it lead the next part of the statement (``cite`` on its own line), so
        they are laid out at that part's indent, outside the nest.
        """
        last = self.index(last_token(child))
        found = self.gaps.get(last)
        if not found or last in self.structural:
            return Nest(INDENT, self.node(child))
        self.structural.add(last)
        try:
            doc = self.node(child)
        finally:
            self.structural.discard(last)
        return [Nest(INDENT, doc), self.gap_comments(last, found)]

    # -------------------------------------------------------------------- file
    def document(self) -> Doc:
        items = [[child] for child in self.tree.children]
        return [self.items(-1, items, top=True), HARDLINE]

    def items(self, opening: int, items: list[list[Node]], top: bool = False) -> list[Doc]:
        """The items of a block (or of the file) on lines of their own, with the comments around them.

        ``opening`` is the index of the token before the first item (the ``{``, or -1 for
        the file); each item is a node, with the comma after it in an enum.
        """
        self.structural.add(opening)
        for item in items:
            self.structural.add(self.index(last_token(item[-1])))
        out: list[Doc] = []
        previous = opening
        first = True
        for item in items:
            start = self.index(first_token(item[0]))
            self.gap_before(out, previous, self.tokens[start].line or 0, first=first, item=True)
            out += [HARDLINE, self.statement(item)]
            previous = self.index(last_token(item[-1]))
            first = False
        self.gap_before(out, previous, None, first=first, item=False)
        if top and out and out[0] is HARDLINE:
            out.pop(0)
        return out

    def gap_before(self, out: list[Doc], previous: int, next_line: int | None, *, first: bool, item: bool) -> None:
        """Lay out the comments after token ``previous``: trailing, then own-line, keeping blank lines as one."""
        found = self.gaps.get(previous, [])
        self.emitted += len(found)
        line = self.end_line(previous)
        at_start = first  # nothing printed in this block yet: no blank line
        if found and previous >= 0 and found[0].line == line:
            out.append("  " + found[0].text)
            found = found[1:]
        for comment in found:
            if not at_start and comment.line - line >= 2:
                out.append(HARDLINE)
            out.append(HARDLINE)
            out.append(comment.text)
            line = comment.line
            at_start = False
        if item and next_line is not None and not at_start and next_line - line >= 2:
            out.append(HARDLINE)

    # --------------------------------------------------------------- statements
    def statement(self, item: list[Node]) -> Doc:
        """One block item: its options filled onto lines, a ``{ … }`` body on lines of its own."""
        node = item[0]
        extra = [self.tok(t) for t in item[1:] if isinstance(t, lark.Token)]  # an enum member's comma
        children = self.flat_children(node)
        brace = next((i for i, c in enumerate(children) if isinstance(c, lark.Token) and c.type == "LBRACE"), None)
        if brace is None:
            return [self.head(children, self.kind(node)), *extra]
        close = max(i for i, c in enumerate(children) if isinstance(c, lark.Token) and c.type == "RBRACE")
        body = self.body(children[brace], children[brace + 1:close], children[close])
        out: list[Doc] = []
        if brace:
            out += [self.head(children[:brace], self.kind(node)), " "]
        out.append(body)
        if close + 1 < len(children):
            out += [" ", self.head(children[close + 1:])]
        return [*out, *extra]

    @staticmethod
    def kind(node: Node) -> str:
        """The statement's rule (``override DECL``: the declaration's)."""
        if isinstance(node, lark.Token):
            return ""
        if node.data == "override_decl" and isinstance(node.children[-1], lark.Tree):
            return str(node.children[-1].data)
        return str(node.data)

    def flat_children(self, node: Node) -> list[Node]:
        if isinstance(node, lark.Token):
            return [node]
        out: list[Node] = []
        for child in node.children:
            if isinstance(child, lark.Tree) and (child.data == "section_body" or node.data == "override_decl"):
                out.extend(child.children)  # a section's `{ … }`; `override DECL`
            else:
                out.append(child)
        return out

    def body(self, lbrace: Node, inner: list[Node], rbrace: Node) -> Doc:
        assert isinstance(lbrace, lark.Token) and isinstance(rbrace, lark.Token)
        items: list[list[Node]] = []
        for child in inner:
            if isinstance(child, lark.Token) and child.type == "COMMA" and items:
                items[-1].append(child)
            else:
                items.append([child])
        opening = self.index(lbrace)
        self.structural.add(opening)  # before the brace is printed: its gap is the block's
        if not items and not self.gaps.get(opening):
            return [self.tok(lbrace), self.tok(rbrace)]
        brace = self.tok(lbrace)
        return [brace, Nest(INDENT, self.items(opening, items)), HARDLINE, self.tok(rbrace)]

    def units(self, children: Sequence[Node], kind: str = "") -> Iterator[tuple[bool, bool, Node, Doc]]:
        """(starts a segment, starts the main clause, node, document) for each part of a statement's head."""
        for k, child in enumerate(children):
            if isinstance(child, lark.Token):
                main = child.type == "FROM" and kind == "defer"
                yield child.type in SEGMENT_TOKENS, main, child, self.tok(child)
            elif child.data == "label" and k >= 2 and _is(children[k - 2], "EQUAL"):  # `let X = EXPR "label"`
                yield True, False, child, self.node(child)
            elif child.data in INLINE_TREES:
                parts = list(self.units(child.children))
                for j, (starts, _, node, doc) in enumerate(parts):
                    yield starts or j == 0, j == 0 and child.data in MAIN_TREES, node, doc
            elif child.data in SEGMENT_TREES:
                yield True, child.data in MAIN_TREES, child, self.node(child)
            else:  # an expression, a label, a type: its own breaks indent past the statement's
                yield False, False, child, self.indented(child)

    def head(self, children: Sequence[Node], kind: str = "") -> Doc:
        """A statement without its body: segments, broken before options and clause keywords when too long.

        A statement's main clause (a target's placements, a checkpoint's date, a veto's test, a
        deferral's `from`) starts a line of its own whenever the statement does not fit on one.
        """
        segments: list[list[tuple[Node, Doc]]] = []
        main: int | None = None
        for starts, is_main, node, doc in self.units(children, kind):
            if starts or not segments:
                segments.append([])
            if is_main and main is None and len(segments) > 1:
                main = len(segments) - 1
            segments[-1].append((node, doc))
        docs: list[tuple[Node, Doc]] = [(seg[0][0], self.join(seg)) for seg in segments]
        if main is None:
            return Nest(INDENT, self.fill(docs))
        return Group(Nest(INDENT, [self.fill(docs[:main]), LINE, self.fill(docs[main:])]))

    @staticmethod
    def fill(docs: Sequence[tuple[Node, Doc]]) -> Doc:
        """Segments filled onto lines; a clause keyword (`when`, `unless` …) after a broken clause starts a line."""
        parts: list[Doc] = []
        for node, doc in docs:
            if parts:
                clause = (isinstance(node, lark.Token) and node.type in SEGMENT_TOKENS
                          or isinstance(node, lark.Tree) and node.data == "label")  # `= EXPR` then a label
                parts.append(CLAUSE_LINE if clause else LINE)
            parts.append(doc)
        return Fill(parts)

    def join(self, parts: Sequence[tuple[Node, Doc]]) -> Doc:
        out: list[Doc] = []
        previous: Node | None = None
        for node, doc in parts:
            if previous is not None and spaced(last_token(previous), first_token(node)):
                out.append(" ")
            out.append(doc)
            previous = node
        return out

    # -------------------------------------------------------------- expressions
    def node(self, node: Node) -> Doc:
        if isinstance(node, lark.Token):
            return self.tok(node)
        data = node.data
        if data in CHAINS:
            return self.chain(node)
        if data == "if_expr":
            return self.if_chain(node)
        if data == "atom":  # ( expr )
            lpar, inner, rpar = node.children
            return [self.node(lpar), Nest(INDENT, self.node(inner)), self.node(rpar)]
        if data in ("call", "aggregate", "extremum", "list_lit"):
            return self.call(node)
        if data == "placements":
            keyword, *rest = node.children
            return [self.node(keyword), " ", Nest(len(token_text(first_token(keyword))) + 1, self.listed(rest))]
        return self.join([(child, self.node(child)) for child in node.children])

    def chain(self, node: lark.Tree[lark.Token]) -> Doc:
        """``a or b or c`` (and ``and``, ``+ -``, ``* /``): one group, broken after each operator."""
        operands: list[Node] = []
        operators: list[lark.Token] = []

        def walk(n: Node) -> None:
            if isinstance(n, lark.Tree) and n.data == node.data and _op_kind(n) == _op_kind(node):
                walk(n.children[0])
                op = n.children[1]
                assert isinstance(op, lark.Token)
                operators.append(op)
                operands.append(n.children[2])
            else:
                operands.append(n)

        walk(node)
        out: list[Doc] = [self.node(operands[0])]
        for op, operand in zip(operators, operands[1:]):
            out += [" ", self.node(op), LINE, self.node(operand)]
        return Group(out)

    def if_chain(self, node: lark.Tree[lark.Token]) -> Doc:
        """``if c then a else if d then b else e``: broken before each ``else`` (and ``then`` when needed)."""
        out: list[Doc] = []
        current: Node = node
        while isinstance(current, lark.Tree) and current.data == "if_expr":
            kw_if, cond, kw_then, then, kw_else, rest = current.children
            assert isinstance(kw_else, lark.Token)
            out.append(Group([self.node(kw_if), " ", self.node(cond), LINE, self.node(kw_then), " ", self.node(then)]))
            out += [LINE, self.node(kw_else), " "]
            current = rest
        out.append(self.node(current))
        return Group(out)

    def call(self, node: lark.Tree[lark.Token]) -> Doc:
        """``f(a, b)``, ``sum(L of e where c)``, ``[a, b]``: filled inside the brackets, broken between parts."""
        children = node.children
        opening = next(i for i, c in enumerate(children) if isinstance(c, lark.Token) and c.type in ("LPAR", "LSQB"))
        head = [self.node(c) for c in children[:opening + 1]]
        inner = children[opening + 1:-1]
        return [*head, Nest(INDENT, self.listed(inner)), self.node(children[-1])]

    def listed(self, inner: Sequence[Node]) -> Doc:
        """Comma-separated parts (or aggregate clauses) filled onto lines."""
        groups: list[list[Node]] = []
        for child in inner:
            if isinstance(child, lark.Token) and child.type == "COMMA" and groups:
                groups[-1].append(child)
            else:
                groups.append([child])
        return self.fill([(group[0], self.join([(c, self.node(c)) for c in group])) for group in groups])


def _op_kind(node: lark.Tree[lark.Token]) -> str:
    if node.data != "binary":
        return node.data
    op = node.children[1]
    return op.type if isinstance(op, lark.Token) else ""


def _is(node: Node, kind: str) -> bool:
    return isinstance(node, lark.Token) and node.type == kind
