"""Document symbols: the outline of a policy file — categories with their sections, then the rest.

Only the declarations written in the document itself (an inherited one belongs to its parent's
outline).  Sections nest under their category, members under their enum, fields under their
record, ratings under ``ratings``, bands under ``bands``, items under their outcome, rules
under their ledger.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from ..language.index import Definition, PolicyIndex
from .positions import span_range

_KINDS = {
    "category": lsp.SymbolKind.Namespace, "section": lsp.SymbolKind.Package, "target": lsp.SymbolKind.Function,
    "fact": lsp.SymbolKind.Variable, "param": lsp.SymbolKind.Constant, "let": lsp.SymbolKind.Variable,
    "enum": lsp.SymbolKind.Enum, "member": lsp.SymbolKind.EnumMember, "record": lsp.SymbolKind.Struct,
    "field": lsp.SymbolKind.Field, "veto": lsp.SymbolKind.Event, "defer": lsp.SymbolKind.Function,
    "alias": lsp.SymbolKind.Variable, "ratings": lsp.SymbolKind.Enum, "rating": lsp.SymbolKind.EnumMember,
    "bands": lsp.SymbolKind.Array, "band": lsp.SymbolKind.Number, "outcome": lsp.SymbolKind.Object,
    "outcome item": lsp.SymbolKind.Property, "periods": lsp.SymbolKind.Array, "period": lsp.SymbolKind.Number,
    "checkpoint": lsp.SymbolKind.Constant, "cohort": lsp.SymbolKind.Class, "ledger": lsp.SymbolKind.Class,
    "ledger rule": lsp.SymbolKind.Method, "map": lsp.SymbolKind.Function, "item": lsp.SymbolKind.Variable,
}


def _symbol(d: Definition, own: str, encoding: str) -> lsp.DocumentSymbol:
    whole = span_range(d.span, encoding)
    name = span_range(d.name_span, encoding)
    if not ((whole.start.line, whole.start.character) <= (name.start.line, name.start.character)
            and (name.end.line, name.end.character) <= (whole.end.line, whole.end.character)):
        whole = name  # the selection must lie inside the range
    children = [_symbol(c, own, encoding) for c in d.children if c.file == own and c.kind != "item"]
    detail = " — ".join(x for x in (d.kind, d.label) if x)
    return lsp.DocumentSymbol(name=d.name or d.kind, kind=_KINDS.get(d.kind, lsp.SymbolKind.Object), range=whole,
                              selection_range=name, detail=detail, children=children or None)


def document_symbols(index: PolicyIndex, encoding: str) -> list[lsp.DocumentSymbol]:
    own = index.source.name
    found = [d for d in index.definitions if d.file == own]
    found.sort(key=lambda d: (d.span.line, d.span.column))
    return [_symbol(d, own, encoding) for d in found]
