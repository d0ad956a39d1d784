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


def _shipped(what: str, in_package: str, in_checkout: str, name: str) -> Path:
    """The file ``name`` in the installed package's folder, else in the checkout's; FileNotFoundError names both."""
    here = Path(__file__).resolve().parent
    candidates = [here / in_package / name, here.parent / in_checkout / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"kaohe {what} not found; looked in " + ", ".join(map(str, candidates)))


def grammar_path() -> Path:
    """The path of the grammar file; raises FileNotFoundError naming the places tried."""
    return _shipped("grammar", "grammar", "grammar", GRAMMAR_NAME)


def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def trace_schema_path() -> Path:
    """The JSON Schema of the trace document (``kaohe explain --format json``); FileNotFoundError names the places."""
    return _shipped("trace schema", "schemas", "docs", TRACE_SCHEMA_NAME)


def trace_schema() -> dict[str, Any]:
    """The trace document's JSON Schema (2020-12) as a dict, for validating stored traces with any validator."""
    schema: dict[str, Any] = json.loads(trace_schema_path().read_text(encoding="utf-8"))
    return schema
