"""The open documents and their symbol indexes, rebuilt only when the text changed.

Every feature asks :meth:`Documents.index` for the index of a URI: it is built from the text the
client sent (not the file on disk), keyed by that text, so a hover after ten keystrokes does not
re-check the policy ten times.  ``last_good`` keeps the latest index whose policy parsed: while
the author types ``事故.`` the text does not parse, and completion still knows the records.
Parents reached through ``extends`` are read from disk, as ``kaohe check`` reads them.
"""

from __future__ import annotations

import logging
import os

import attrs

from ..language.index import PolicyIndex, build_index
from .positions import path_of

log = logging.getLogger("kaohe.lsp")


@attrs.define
class _Entry:
    text: str
    index: PolicyIndex


class Documents:
    """Indexes by URI: the current one and the latest one that parsed."""

    def __init__(self) -> None:
        self._current: dict[str, _Entry] = {}
        self._good: dict[str, PolicyIndex] = {}

    def index(self, uri: str, text: str) -> PolicyIndex:
        """The index of ``text``, the content of ``uri`` (built once per distinct text)."""
        entry = self._current.get(uri)
        if entry is not None and entry.text == text:
            return entry.index
        path = path_of(uri)
        index = build_index(text, os.path.normpath(path) if path else None)
        self._current[uri] = _Entry(text, index)
        if index.linked is not None:
            self._good[uri] = index
        return index

    def last_good(self, uri: str) -> PolicyIndex | None:
        """The latest index of ``uri`` whose text parsed (None: none yet)."""
        return self._good.get(uri)

    def invalidate(self, uri: str) -> None:
        """Build ``uri``'s index again at the next request (a file it extends was saved)."""
        self._current.pop(uri, None)

    def forget(self, uri: str) -> None:
        self._current.pop(uri, None)
        self._good.pop(uri, None)

    @staticmethod
    def file_name(uri: str) -> str:
        """The name the index gives the spans of ``uri``'s own text."""
        path = path_of(uri)
        return os.path.normpath(path) if path else "<policy>"
