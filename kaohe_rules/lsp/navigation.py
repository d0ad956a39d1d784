"""Go to definition and find references, across ``extends``: locations carry the file of the span."""

from __future__ import annotations

from lsprotocol import types as lsp

from ..language.index import Definition, PolicyIndex
from ..source import Span
from .positions import span_range, uri_of


def location(span: Span, encoding: str) -> lsp.Location:
    return lsp.Location(uri=uri_of(span.source.name), range=span_range(span, encoding))


def definitions(index: PolicyIndex, line: int, column: int) -> list[Definition]:
    """What the name at (1-based) ``line``, code-point ``column`` of the document means."""
    return index.at(index.source.name, line, column)


def definition_locations(index: PolicyIndex, line: int, column: int, encoding: str) -> list[lsp.Location]:
    return [location(d.name_span, encoding) for d in definitions(index, line, column)]


def reference_locations(index: PolicyIndex, line: int, column: int, include_declaration: bool,
                        encoding: str) -> list[lsp.Location]:
    """Every use of the symbol at the position; its declaration first when asked for."""
    out: list[lsp.Location] = []
    seen: set[tuple[str, int, int]] = set()
    for d in definitions(index, line, column):
        spans = [d.name_span] if include_declaration else []
        spans += [r.span for r in index.references_to(d)]
        for span in spans:
            key = (span.source.name, span.line, span.column)
            if key not in seen:
                seen.add(key)
                out.append(location(span, encoding))
    return out
