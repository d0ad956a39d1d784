"""Locate the grammar file, in an installed wheel or in a source checkout.

The wheel ships ``grammar/kaohe.lark`` inside the package (``kaohe_rules/grammar``);
a checkout keeps it at the top-level ``grammar/`` directory.  Both are tried.
"""

from __future__ import annotations

from pathlib import Path

GRAMMAR_NAME = "kaohe.lark"


def grammar_path() -> Path:
    """The path of the grammar file; raises FileNotFoundError naming the places tried."""
    here = Path(__file__).resolve().parent
    candidates = [here / "grammar" / GRAMMAR_NAME, here.parent / "grammar" / GRAMMAR_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("kaohe grammar not found; looked in " + ", ".join(map(str, candidates)))


def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")
