"""The wiring of the kaohe language server: pygls features over the documents' symbol indexes.

Each feature is a small function in its own module; this module registers them, converts the
client's positions, and guards every handler: an exception inside a feature is logged (to
standard error, never to standard output, which carries the protocol) and the feature answers
empty — an editor session must survive any policy text and any bug of ours.

Diagnostics are published on open and save at once, and after a change once the author pauses
(``DEBOUNCE_SECONDS``): checking on every keystroke would queue work the next keystroke
makes stale.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from .._version import __version__
from ..language.index import PolicyIndex
from . import completion, diagnostics, formatting, hover, navigation, symbols
from .documents import Documents
from .positions import from_units, span_range

log = logging.getLogger("kaohe.lsp")

#: Seconds without a change before a changed document is checked again.
DEBOUNCE_SECONDS = 0.3

F = TypeVar("F", bound=Callable[..., Any])


def guarded(default: Callable[[], object]) -> Callable[[F], F]:
    """A handler that logs any exception and answers ``default()`` instead of failing."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(ls: KaoheServer, params: Any) -> Any:
            try:
                return fn(ls, params)
            except Exception:  # noqa: BLE001 - the server outlives any failing feature
                log.exception("%s failed", fn.__name__)
                return default()
        return cast(F, inner)
    return wrap


def guarded_async(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    @functools.wraps(fn)
    async def inner(ls: KaoheServer, params: Any) -> None:
        try:
            await fn(ls, params)
        except Exception:  # noqa: BLE001
            log.exception("%s failed", fn.__name__)
    return inner


class KaoheServer(LanguageServer):
    """The language server with the open documents' indexes and the pending diagnostics."""

    def __init__(self) -> None:
        # Full sync: the editor sends the whole text on each change.  pygls applies an incremental change
        # on the lines of str.splitlines, which also ends a line at U+2028, U+0085, a form feed …; the
        # protocol (and the parser) do not, so a ranged edit below such a character in a comment or a
        # label landed on the wrong line.  A policy is at most a few thousand lines: the whole text is cheap.
        super().__init__("kaohe", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full)
        self.documents = Documents()
        self.pending: dict[str, asyncio.Task[None]] = {}

    @property
    def encoding(self) -> str:
        """The position encoding agreed with the client (``utf-16`` unless it offered another)."""
        try:
            kind = self.workspace.position_encoding
        except Exception:  # noqa: BLE001 - before initialize
            return "utf-16"
        value = getattr(kind, "value", kind)
        return str(value) if value else "utf-16"

    def text(self, uri: str) -> str:
        """The text the client sent for ``uri``; for a document it never opened, the file's ('' if unreadable)."""
        try:
            return self.workspace.get_text_document(uri).source
        except (OSError, UnicodeDecodeError, ValueError):
            log.info("%s is not open and cannot be read", uri)
            return ""

    def index(self, uri: str) -> PolicyIndex:
        return self.documents.index(uri, self.text(uri))

    def position(self, uri: str, position: lsp.Position) -> tuple[int, int]:
        """The 1-based line and code-point column of a client position in ``uri``."""
        lines = self.text(uri).split("\n")
        line_text = lines[position.line].rstrip("\r") if 0 <= position.line < len(lines) else ""
        return position.line + 1, from_units(line_text, position.character, self.encoding)

    def publish(self, uri: str) -> None:
        try:
            index = self.index(uri)
            found = diagnostics.document_diagnostics(index, self.encoding)
        except Exception:  # noqa: BLE001 - a policy we cannot index: say nothing rather than die
            log.exception("diagnostics of %s failed", uri)
            return
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=found))


def _at(ls: KaoheServer, uri: str, position: lsp.Position) -> tuple[PolicyIndex, int, int]:
    """The index and the position, moved one character left when the cursor is just after a name."""
    index = ls.index(uri)
    line, column = ls.position(uri, position)
    if not index.at(index.source.name, line, column) and column > 1:
        column -= 1
    return index, line, column


def create_server() -> KaoheServer:
    server = KaoheServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @guarded(lambda: None)
    def did_open(ls: KaoheServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @guarded(lambda: None)
    def did_save(ls: KaoheServer, params: lsp.DidSaveTextDocumentParams) -> None:
        saved = params.text_document.uri
        ls.publish(saved)
        for uri in list(ls.workspace.text_documents):  # a saved parent changes what its children mean
            if uri != saved:
                ls.documents.invalidate(uri)
                ls.publish(uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @guarded_async
    async def did_change(ls: KaoheServer, params: lsp.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        previous = ls.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()

        async def later() -> None:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            ls.pending.pop(uri, None)
            ls.publish(uri)

        ls.pending[uri] = asyncio.ensure_future(later())

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @guarded(lambda: None)
    def did_close(ls: KaoheServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.documents.forget(uri)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @guarded(lambda: None)
    def on_hover(ls: KaoheServer, params: lsp.HoverParams) -> lsp.Hover | None:
        index, line, column = _at(ls, params.text_document.uri, params.position)
        found = index.at(index.source.name, line, column)
        if not found:
            return None
        text = "\n\n---\n\n".join(hover.markdown(d, index) for d in found)
        spans = index.spans_at(index.source.name, line, column)
        where = span_range(spans[0], ls.encoding) if spans else None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=where)

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @guarded(list)
    def on_definition(ls: KaoheServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
        index, line, column = _at(ls, params.text_document.uri, params.position)
        return navigation.definition_locations(index, line, column, ls.encoding)

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @guarded(list)
    def on_references(ls: KaoheServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        index, line, column = _at(ls, params.text_document.uri, params.position)
        return navigation.reference_locations(index, line, column, params.context.include_declaration,
                                              ls.encoding)

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["."]))
    @guarded(lambda: lsp.CompletionList(is_incomplete=False, items=[]))
    def on_completion(ls: KaoheServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        index = ls.index(uri)
        if index.analysis is None or index.analysis.context is None:
            index = ls.documents.last_good(uri) or index
        line, column = ls.position(uri, params.position)
        lines = ls.text(uri).split("\n")
        prefix = lines[line - 1][:column - 1] if line - 1 < len(lines) else ""
        return lsp.CompletionList(is_incomplete=False, items=completion.completions(index, prefix))

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guarded(list)
    def on_symbols(ls: KaoheServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        return symbols.document_symbols(ls.index(params.text_document.uri), ls.encoding)

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    @guarded(list)
    def on_formatting(ls: KaoheServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
        uri = params.text_document.uri
        return formatting.format_document(ls.text(uri), ls.documents.file_name(uri), ls.encoding)

    return server


def serve() -> None:
    """Run the server on standard input and output until the client says ``exit``."""
    create_server().start_io()
