"""Formatting: the whole document through ``kaohe fmt``'s formatter, as one edit.

Text that does not parse is left alone: no edits (the diagnostics already say why), and a
line in the log — a formatter must never guess at a policy it cannot read.
"""

from __future__ import annotations

import logging

from lsprotocol import types as lsp

from ..errors import PolicyError
from ..language.fmt import format_text
from .positions import text_end

log = logging.getLogger("kaohe.lsp")


def format_document(text: str, name: str, encoding: str) -> list[lsp.TextEdit]:
    try:
        formatted = format_text(text, name)
    except PolicyError as exc:
        log.info("not formatted, %s does not parse: %s", name, exc)
        return []
    if formatted == text:
        return []
    whole = lsp.Range(start=lsp.Position(line=0, character=0), end=text_end(text, encoding))
    return [lsp.TextEdit(range=whole, new_text=formatted)]
