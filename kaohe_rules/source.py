"""Source files and spans: where in a policy file each piece of syntax came from.

Every AST node carries a :class:`Span`; every diagnostic renders the offending
line with a caret underneath.  The span keeps a reference to its
:class:`SourceFile`, so later stages can render excerpts without re-reading
anything from disk.
"""

from __future__ import annotations

import attrs


@attrs.frozen(eq=False)
class SourceFile:
    """The text of one policy file and the name it is reported under."""

    name: str
    text: str
    lines: tuple[str, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.text.splitlines()))

    def line(self, number: int) -> str:
        """The text of a 1-based line, or '' when out of range."""
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return ""


@attrs.frozen
class Span:
    """A region of a source file: 1-based line and column, end inclusive of the last char."""

    source: SourceFile = attrs.field(eq=False, repr=False)
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def file(self) -> str:
        return self.source.name

    def location(self) -> str:
        return f"{self.source.name}:{self.line}:{self.column}"

    def excerpt(self) -> str:
        """The offending line with a caret under the span (CJK characters count as two columns)."""
        text = self.source.line(self.line)
        if not text and self.line > len(self.source.lines):
            return ""
        gutter = f"{self.line:>4} | "
        start = max(self.column - 1, 0)
        if self.end_line == self.line:
            stop = max(self.end_column - 1, start + 1)
        else:
            stop = max(len(text), start + 1)
        pad = _display_width(text[:start].replace("\t", " "))
        width = max(_display_width(text[start:stop]), 1)
        return f"{gutter}{text}\n{' ' * (len(gutter) - 2)}| {' ' * pad}{'^' * width}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.source.name,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


def _display_width(text: str) -> int:
    """Terminal width of text: East Asian wide and full-width characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def point_span(source: SourceFile, line: int, column: int) -> Span:
    """A one-character span, for errors that only know a position."""
    return Span(source, line, column, line, column + 1)
