"""kaohe diagnostics as protocol diagnostics: the checker's code, severity, message and hint.

The hint goes into the message (after a blank line), where every client shows it; the code is
the K-code (``docs/api.md`` lists them all).  A diagnostic whose span lies in another
file (a parent reached through ``extends``) is shown on the child's ``extends`` header, naming the
parent's place, with that place as related information, so the author of the child sees it.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from ..errors import Diagnostic
from ..language.index import PolicyIndex
from ..source import Span
from .positions import span_range, uri_of

_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}


def convert(diagnostic: Diagnostic, index: PolicyIndex, encoding: str) -> lsp.Diagnostic:
    """One protocol diagnostic for a kaohe diagnostic of the policy ``index`` was built from."""
    message = diagnostic.message + (f"\n\nhint: {diagnostic.hint}" if diagnostic.hint else "")
    span = diagnostic.span
    related: list[lsp.DiagnosticRelatedInformation] | None = None
    own = index.source.name
    if span is None:
        where = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
    elif span.source.name == own:
        where = span_range(span, encoding)
    else:  # in a parent file: shown on the header, pointing there
        header = index.linked.header.span if index.linked is not None else Span(index.source, 1, 1, 1, 1)
        where = span_range(Span(header.source, header.line, header.column, header.line, header.column + 6)
                           if header.source.name == own else Span(index.source, 1, 1, 1, 1), encoding)
        message = f"in {span.location()}: {message}"
        related = [lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=uri_of(span.source.name), range=span_range(span, encoding)),
            message=diagnostic.message)]
    return lsp.Diagnostic(range=where, message=message, severity=_SEVERITY.get(diagnostic.severity,
                          lsp.DiagnosticSeverity.Information), code=diagnostic.code, source="kaohe",
                          related_information=related)


def document_diagnostics(index: PolicyIndex, encoding: str) -> list[lsp.Diagnostic]:
    return [convert(d, index, encoding) for d in index.diagnostics]
