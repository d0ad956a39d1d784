"""The one emitter every generator writes through, and the source map it keeps.

Why one emitter: the evaluator, its traced twin and the fact readers used to be
written by two generators with their own indentation and line lists, joined by
spliced text.  Here every line goes through :meth:`Emitter.writeline`, which also
records the policy clause (a :class:`Site`) the line belongs to.  The resulting
:class:`SourceMap` turns the line number of a failing frame (``tb_lineno`` in the
generated code object) back into the clause, so an evaluation error names its
place without re-running anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import attrs

from ..source import Span


@attrs.frozen
class Site:
    """A clause of the policy as an error names it: ``where`` is the text users see, ``span`` the source.

    ``reordered`` marks statements the plain evaluator computes in another order than
    the reference interpreter (hoisted aggregates): two faults in one such statement
    may surface in another order, so the caller asks the traced evaluator instead.
    """

    where: str
    span: Span | None = None
    reordered: bool = False


class SourceMap:
    """Generated line number (1-based) → the :class:`Site` it was written for."""

    def __init__(self, filename: str, sites: dict[int, Site]) -> None:
        self.filename = filename
        self._sites = sites

    def site(self, line: int) -> Site | None:
        return self._sites.get(line)

    def pairs(self) -> list[tuple[Span | None, int]]:
        """(policy span, generated line) pairs, in line order."""
        return [(site.span, line) for line, site in sorted(self._sites.items())]

    def locate(self, tb: TracebackType | None) -> Site | None:
        """The site of the innermost frame of ``tb`` that runs this map's generated code."""
        found: Site | None = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                found = self._sites.get(tb.tb_lineno, found)
            tb = tb.tb_next
        return found


class Emitter:
    """Lines of Python source at the current indentation, each with the site it belongs to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._level = 0
        self._site: Site | None = None
        self._sites: dict[int, Site] = {}

    def writeline(self, text: str, site: Site | None = None) -> None:
        """Write one line (or several, already indented relative to the current level)."""
        site = site or self._site
        prefix = "    " * self._level
        for line in text.split("\n"):
            self.lines.append(prefix + line if line else line)
            if site is not None:
                self._sites[len(self.lines)] = site

    @property
    def current(self) -> Site | None:
        """The site lines are written for now (see :meth:`at`)."""
        return self._site

    @contextmanager
    def indent(self) -> Iterator[None]:
        self._level += 1
        try:
            yield
        finally:
            self._level -= 1

    @contextmanager
    def at(self, site: Site | None) -> Iterator[None]:
        """Every line written inside belongs to ``site`` (unless a line names its own)."""
        saved, self._site = self._site, site
        try:
            yield
        finally:
            self._site = saved

    def extend(self, other: Emitter) -> None:
        """Append ``other``'s lines (at their own indentation) and their sites."""
        offset = len(self.lines)
        self.lines.extend(other.lines)
        for line, site in other._sites.items():
            self._sites[offset + line] = site

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"

    def source_map(self, filename: str) -> SourceMap:
        return SourceMap(filename, dict(self._sites))
