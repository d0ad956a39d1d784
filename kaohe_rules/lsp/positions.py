"""Positions between kaohe spans and the protocol.

A :class:`~kaohe_rules.source.Span` counts lines and columns from 1, columns in code points,
the end column one past the last character.  The protocol counts from 0 and measures columns in
the code units of the position encoding the client and server agreed on (UTF-16 unless the
client offers UTF-8 or UTF-32).  Chinese text is in the Basic Multilingual Plane (one UTF-16 unit
per character) but a rare character outside it (𠀀) takes two, so the conversion is done, never
assumed.
"""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from ..source import Span


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def to_units(line_text: str, column: int, encoding: str) -> int:
    """Code units before 1-based code-point ``column`` of ``line_text``."""
    return sum(_units(ch, encoding) for ch in line_text[:max(column - 1, 0)])


def from_units(line_text: str, units: int, encoding: str) -> int:
    """The 1-based code-point column at ``units`` code units into ``line_text`` (clamped to the line end)."""
    count = 0
    for index, ch in enumerate(line_text):
        if count >= units:
            return index + 1
        count += _units(ch, encoding)
    return len(line_text) + 1


def span_range(span: Span, encoding: str) -> lsp.Range:
    """The protocol range of ``span`` (its own source's lines give the code units)."""
    source = span.source
    start = lsp.Position(line=max(span.line - 1, 0),
                         character=to_units(source.line(span.line), span.column, encoding))
    end = lsp.Position(line=max(span.end_line - 1, 0),
                       character=to_units(source.line(span.end_line), span.end_column, encoding))
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return lsp.Range(start=start, end=end)


def text_end(text: str, encoding: str) -> lsp.Position:
    """The position just after the last character of ``text``."""
    lines = text.split("\n")
    return lsp.Position(line=len(lines) - 1, character=to_units(lines[-1], len(lines[-1]) + 1, encoding))


def path_of(uri: str) -> str | None:
    """The file path of a ``file:`` URI (None for another scheme: an unsaved buffer)."""
    if not uri.startswith("file:"):
        return None
    return to_fs_path(uri)


def uri_of(path: str) -> str:
    """The URI of a span's file name (a path; ``<policy>`` for text without one stays as it is)."""
    if path.startswith("<"):
        return path
    uri = from_fs_path(path)
    return uri if uri is not None else path
