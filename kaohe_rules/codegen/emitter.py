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


class _Indent:
    """``with emitter.indent():`` (a class, not a generator: entered thousands of times per policy)."""

    __slots__ = ("_out",)

    def __init__(self, out: Emitter) -> None:
        self._out = out

    def __enter__(self) -> None:
        out = self._out
        out._level += 1
        out._prefix = "    " * out._level

    def __exit__(self, *exc: object) -> None:
        out = self._out
        out._level -= 1
        out._prefix = "    " * out._level


class _At:
    """``with emitter.at(site):`` — lines written inside belong to ``site``."""

    __slots__ = ("_out", "_site", "_saved")

    def __init__(self, out: Emitter, site: Site | None) -> None:
        self._out = out
        self._site = site
        self._saved: Site | None = None

    def __enter__(self) -> None:
        self._saved, self._out._site = self._out._site, self._site

    def __exit__(self, *exc: object) -> None:
        self._out._site = self._saved


class Emitter:
    """Lines of Python source at the current indentation, each with the site it belongs to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._level = 0
        self._prefix = ""
        self._site: Site | None = None
        self._sites: dict[int, Site] = {}

    def writeline(self, text: str, site: Site | None = None) -> None:
        """Write one line (or several, each at the current indentation) for ``site`` or the current one."""
        if site is None:
            site = self._site
        lines = self.lines
        if "\n" in text:
            for line in text.split("\n"):
                self.writeline(line, site)
            return
        lines.append(self._prefix + text if text else text)
        if site is not None:
            self._sites[len(lines)] = site

    @property
    def current(self) -> Site | None:
        """The site lines are written for now (see :meth:`at`)."""
        return self._site

    def indent(self) -> _Indent:
        """``with out.indent():`` writes one level deeper."""
        return _Indent(self)

    def at(self, site: Site | None) -> _At:
        """Every line written inside belongs to ``site`` (unless a line names its own)."""
        return _At(self, site)

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
