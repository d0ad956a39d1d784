"""Locate the data files shipped beside the code, in an installed wheel or in a source checkout.

The wheel ships ``grammar/kaohe.lark`` inside the package (``kaohe_rules/grammar``) and
``docs/trace-schema.json`` as ``kaohe_rules/schemas/trace-schema.json``; a checkout keeps
them at the top-level ``grammar/`` and ``docs/`` directories.  Both places are tried, the
package's first, so that an installed kaohe never reads a stray checkout's files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GRAMMAR_NAME = "kaohe.lark"
TRACE_SCHEMA_NAME = "trace-schema.json"


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


def trace_schema_path() -> Path:
    """The JSON Schema of the trace document (``kaohe explain --format json``); FileNotFoundError names the places."""
    here = Path(__file__).resolve().parent
    candidates = [here / "schemas" / TRACE_SCHEMA_NAME, here.parent / "docs" / TRACE_SCHEMA_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("kaohe trace schema not found; looked in " + ", ".join(map(str, candidates)))


def trace_schema() -> dict[str, Any]:
    """The trace document's JSON Schema (2020-12) as a dict, for validating stored traces with any validator."""
    schema: dict[str, Any] = json.loads(trace_schema_path().read_text(encoding="utf-8"))
    return schema
