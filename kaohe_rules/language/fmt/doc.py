"""A small Wadler/Prettier-style layout algebra and its printer, measured in display columns.

A document is a tree of text, line breaks and groups; the printer lays it out at a
width, breaking a group's lines only when the group does not fit on the rest of the
line.  The formatter (:mod:`.layout`) builds one document per policy.  Why a document
and not string concatenation: a statement's layout depends on whether *it* fits, and
the decision must be made outermost first (a ``when`` clause moves to its own line
before its condition is broken), which is what the group/fits discipline gives.

Width is measured in display columns: an East Asian Wide or Fullwidth character takes
two columns (a Chinese label is twice as wide as its length), everything else one.

Pieces:

* ``str`` — text, never containing a newline;
* :data:`LINE` — a space, or a newline when its group breaks; :data:`SOFTLINE` — nothing
  or a newline; :data:`HARDLINE` — always a newline (and breaks every enclosing group);
* ``list`` — concatenation; :class:`Nest` — indent the lines inside by ``n`` more columns;
* :class:`Group` — lay out flat if it fits, else break its own lines;
* :class:`Fill` — ``[content, separator, content, …]``: a separator breaks only when the
  next content does not start on the current line (paragraph filling, for options);
* :class:`Comments` — comments after a token inside a statement: printed at once, and the
  next separator (whatever it is) becomes a newline, so no token follows a comment on its line.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from typing import TypeAlias

import attrs


@attrs.frozen
class Line:
    """A possible line break: ``flat`` is what it prints when its group stays on one line."""

    flat: str
    hard: bool = False
    #: in a fill, a line before a clause: it breaks when the content before it took several lines
    #: (`when A or` / `B` / `unless C`, not `B unless C`)
    clause: bool = False


LINE = Line(" ")
CLAUSE_LINE = Line(" ", clause=True)
SOFTLINE = Line("")
HARDLINE = Line("", hard=True)


@attrs.frozen
class Nest:
    indent: int
    doc: Doc


@attrs.frozen(init=False)
class Group:
    doc: Doc
    broken: bool  # it holds a hard line or a comment: never flat

    def __init__(self, doc: Doc) -> None:
        self.__attrs_init__(doc, _has_hard(doc))


@attrs.frozen(init=False)
class Fill:
    parts: tuple[Doc, ...]
    broken: bool

    def __init__(self, parts: Sequence[Doc]) -> None:
        self.__attrs_init__(tuple(parts), any(_has_hard(p) for p in parts))


@attrs.frozen
class Comments:
    """Comments inside a statement: ``trailing`` on the line of the token before, ``own`` on lines of their own."""

    trailing: str | None
    own: tuple[str, ...]


Doc: TypeAlias = "str | Line | Nest | Group | Fill | Comments | _FillRest | _Mark | list[Doc]"


def _has_hard(doc: Doc) -> bool:
    if isinstance(doc, str):
        return False
    if isinstance(doc, Line):
        return doc.hard
    if isinstance(doc, Comments):
        return True
    if isinstance(doc, (Group, Fill)):
        return doc.broken
    if isinstance(doc, Nest):
        return _has_hard(doc.doc)
    if isinstance(doc, _FillRest):
        return any(_has_hard(d) for d in doc.parts)
    if isinstance(doc, _Mark):
        return False
    return any(_has_hard(d) for d in doc)


@functools.lru_cache(maxsize=4096)
def width(text: str) -> int:
    """Display columns: East Asian Wide and Fullwidth characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


_FLAT, _BREAK = 0, 1
_Cmd = tuple[int, int, Doc]


@attrs.define(eq=False)
class _FillRest:
    """The rest of a fill after a content was printed: its separator is decided where the line now stands."""

    parts: tuple[Doc, ...]
    lines: int = 0  # newlines printed before the content that precedes it (set by a _Mark)


@attrs.frozen(eq=False)
class _Mark:
    """Records, when reached, how many newlines were printed, for the fill rest that follows the content."""

    rest: _FillRest

def _fits(cmds: list[_Cmd], rest: list[_Cmd], room: int, must_be_flat: bool) -> bool:
    """Whether the text up to the first line break in break mode fits in ``room`` columns."""
    stack = list(reversed(cmds))
    rest_index = len(rest)
    while room >= 0:
        if not stack:
            if rest_index == 0 or must_be_flat:
                return True
            rest_index -= 1
            stack.append(rest[rest_index])
            continue
        indent, mode, doc = stack.pop()
        if isinstance(doc, str):
            room -= width(doc)
        elif isinstance(doc, list):
            stack.extend((indent, mode, d) for d in reversed(doc))
        elif isinstance(doc, Line):
            if mode == _BREAK or doc.hard:
                return True
            room -= len(doc.flat)
        elif isinstance(doc, Nest):
            stack.append((indent + doc.indent, mode, doc.doc))
        elif isinstance(doc, Group):
            if must_be_flat and doc.broken:
                return False
            stack.append((indent, _BREAK if doc.broken else mode, doc.doc))
        elif isinstance(doc, Fill):
            if must_be_flat and doc.broken:
                return False
            stack.extend((indent, mode, d) for d in reversed(doc.parts))
        elif isinstance(doc, _FillRest):
            stack.extend((indent, mode, d) for d in reversed(doc.parts))
        elif isinstance(doc, Comments):
            return not must_be_flat
    return False


def render(doc: Doc, columns: int) -> str:
    """Lay ``doc`` out at ``columns`` display columns; lines carry no trailing spaces."""
    out: list[str] = []
    pos = 0
    newlines = 0
    newline_due = False  # a comment ended the line: the next separator or text starts a new one
    cmds: list[_Cmd] = [(0, _BREAK, doc)]

    def newline(indent: int) -> None:
        nonlocal pos, newlines
        newlines += 1
        while out and out[-1].endswith(" "):
            out[-1] = out[-1].rstrip(" ")
            if not out[-1]:
                out.pop()
        out.append("\n" + " " * indent)
        pos = indent

    while cmds:
        indent, mode, d = cmds.pop()
        if isinstance(d, str):
            if newline_due:
                if not d.strip(" "):
                    continue
                newline(indent)
                newline_due = False
            out.append(d)
            pos += width(d)
        elif isinstance(d, list):
            cmds.extend((indent, mode, x) for x in reversed(d))
        elif isinstance(d, Line):
            if newline_due or mode == _BREAK or d.hard:
                newline(indent)
                newline_due = False
            else:
                out.append(d.flat)
                pos += len(d.flat)
        elif isinstance(d, Nest):
            cmds.append((indent + d.indent, mode, d.doc))
        elif isinstance(d, Group):
            if not d.broken and (mode == _FLAT or _fits([(indent, _FLAT, d.doc)], cmds, columns - pos, False)):
                cmds.append((indent, _FLAT, d.doc))
            else:
                cmds.append((indent, _BREAK, d.doc))
        elif isinstance(d, Fill):
            if mode == _FLAT and not d.broken:
                cmds.extend((indent, _FLAT, x) for x in reversed(d.parts))
                continue
            if not d.parts:
                continue
            first, rest = d.parts[0], d.parts[1:]
            if rest:
                cmds.append((indent, _BREAK, _FillRest(rest, newlines)))
            flat = _fits([(indent, _FLAT, first)], [], columns - pos, True)
            cmds.append((indent, _FLAT if flat else _BREAK, first))
        elif isinstance(d, _FillRest):
            separator, content = d.parts[0], d.parts[1]
            after = _FillRest(d.parts[2:])
            if len(d.parts) > 2:
                cmds.append((indent, _BREAK, after))
            room = columns - pos
            last = len(d.parts) == 2  # what follows the fill on its line counts too (a label after a call)
            following = cmds if last else []
            broke = isinstance(separator, Line) and separator.clause and newlines > d.lines
            mark = (indent, _FLAT, _Mark(after))
            if not broke and _fits([(indent, _FLAT, separator), (indent, _FLAT, content)], following, room, not last):
                cmds.extend([(indent, _FLAT, content), mark, (indent, _FLAT, separator)])
            elif _fits([(indent, _FLAT, content)], following, columns - indent, not last):  # whole on a line of its own
                cmds.extend([(indent, _FLAT, content), mark, (indent, _BREAK, separator)])
            elif not broke and _fits([(indent, _FLAT, separator), (indent, _BREAK, content)], following, room, False):
                cmds.extend([(indent, _BREAK, content), mark, (indent, _FLAT, separator)])  # starts here, breaks inside
            else:
                cmds.extend([(indent, _BREAK, content), mark, (indent, _BREAK, separator)])
        elif isinstance(d, _Mark):
            d.rest.lines = newlines
        elif isinstance(d, Comments):
            if d.trailing is not None:
                out.append("  " + d.trailing)
            for text in d.own:
                newline(indent)
                out.append(text)
            newline_due = True
    return "".join(out)
