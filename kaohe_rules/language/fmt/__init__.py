"""The concrete-syntax formatter behind ``kaohe fmt`` and the language server's formatting.

``format_text`` is the one entry point other stages use (the CLI, the language server).
It formats syntax only: a policy with checker errors still formats, text that does not
parse raises :class:`~kaohe_rules.errors.PolicyError` with the parser's diagnostics.

(Placeholder until the formatter lands, issue #14: parses and returns the text unchanged.)
"""

from __future__ import annotations

from ...errors import PolicyError
from ...source import SourceFile
from ..parser import parse_tree


def format_text(text: str, name: str = "<policy>") -> str:
    """The canonical layout of a policy text; raises PolicyError when it does not parse."""
    tree = parse_tree(SourceFile(name, text))
    if not hasattr(tree, "data"):
        raise PolicyError([tree])
    return text
