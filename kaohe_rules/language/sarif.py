"""The checker's diagnostics as a SARIF 2.1.0 log (``kaohe check --format sarif``, issue #14).

Why SARIF: it is what CI systems read to annotate a change (GitHub code scanning, Azure
DevOps, GitLab through converters, the VS Code SARIF viewer).  ``kaohe check --format json``
keeps its own schema; this is the standard one, validated in the tests against the official
schema (``tests/data/sarif/sarif-schema-2.1.0.json``).

The log has one run for every policy checked in one command: the driver ``kaohe`` with the
package version and one rule per registered K-code (:data:`kaohe_rules.language.codes.CODES`,
all of them, so a rule index is stable between runs), and one result per diagnostic.

Locations:

* ``artifactLocation.uri`` is the file's path relative to the current directory, with forward
  slashes and percent-encoded (a URI reference may not hold raw non-ASCII characters, and
  policy files often have Chinese names), under ``uriBaseId`` ``%SRCROOT%``, which
  ``run.originalUriBaseIds`` maps to the current directory's ``file:`` URI.  A file outside the
  current directory keeps ``../`` steps; on another drive it is an absolute ``file:`` URI.
* ``region`` lines are 1-based, as the diagnostics'; columns are **UTF-16 code units**, 1-based,
  ``endColumn`` the column after the last character (``run.columnKind`` says
  ``utf16CodeUnits``).  That is SARIF's default and what the consumers that ignore
  ``columnKind`` assume.  The diagnostics count Unicode code points; the two differ only after a
  character outside the Basic Multilingual Plane on the same line (CJK Extension B, emoji):
  a CJK ideograph of the BMP is one code point and one UTF-16 unit.

``helpUri`` and ``informationUri`` are absolute URIs by the schema.  The project has no public
docs address yet, so they are written only when one is known — ``--docs-url URL`` or the
installed package's ``Documentation`` project URL — as ``URL`` + the code's page on the docs site
(``codes.html#k101``: the site is built with ``use_directory_urls: false``); the rule's ``help``
text always names the page in the repository (``docs/codes.md#k101``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from .._version import __version__
from ..errors import Diagnostic
from ..source import Span
from .codes import CODES, Code

SARIF_VERSION = "2.1.0"
#: The schema a log names (the OASIS errata 01 schema the tests validate against).
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: The base id of every artifact URI: the directory ``kaohe check`` ran in.
SRCROOT = "%SRCROOT%"
_LEVELS = {"error": "error", "warning": "warning"}


def help_page(code: Code) -> str:
    """The page of the code on the docs site, relative to the site root (``codes.html#k101``)."""
    page, _, anchor = code.anchor.partition("#")
    if page.endswith(".md"):
        page = page[:-3] + ".html"
    return f"{page}#{anchor}" if anchor else page


def _rule(code: Code, docs_url: str | None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": code.code,
        "name": code.name,
        "shortDescription": {"text": code.title},
        "fullDescription": {"text": code.summary},
        "help": {"text": f"{code.summary}. See docs/{code.anchor}."},
        "defaultConfiguration": {"level": _LEVELS.get(code.severity, "warning")},
        "properties": {"stage": code.stage},
    }
    if docs_url:
        rule["helpUri"] = docs_url.rstrip("/") + "/" + help_page(code)
    return rule


def utf16_column(line_text: str, column: int) -> int:
    """A 1-based code-point column of a line as a 1-based UTF-16 column.

    A column past the end of the line (the end of a span at the line's end, an end-of-file
    position) keeps its distance from the end: the text is not there to be measured.
    """
    prefix = line_text[:max(column - 1, 0)]
    beyond = max(column - 1 - len(line_text), 0)
    return len(prefix.encode("utf-16-le")) // 2 + beyond + 1


def region(span: Span) -> dict[str, int]:
    """The SARIF region of a span (UTF-16 columns; see the module docstring)."""
    start = utf16_column(span.source.line(span.line), span.column)
    end = utf16_column(span.source.line(span.end_line), span.end_column)
    if span.end_line == span.line and end < start:
        end = start  # a span never ends before it starts; SARIF reads equal columns as an empty region
    return {"startLine": max(span.line, 1), "startColumn": start,
            "endLine": max(span.end_line, span.line, 1), "endColumn": max(end, 1)}


def artifact_uri(path: str, cwd: str | None = None) -> str:
    """``path`` as a URI reference relative to ``cwd`` (forward slashes, percent-encoded)."""
    base = os.path.abspath(cwd or os.getcwd())
    full = os.path.abspath(path)
    try:
        relative = os.path.relpath(full, base)
    except ValueError:  # another drive (Windows): no relative form
        return Path(full).as_uri()
    return quote(PurePath(relative).as_posix(), safe="/")


def _message(diagnostic: Diagnostic) -> str:
    return diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")


def result(diagnostic: Diagnostic, policy: str, rule_index: Mapping[str, int], cwd: str | None = None) -> dict[str, Any]:
    """One SARIF result: the diagnostic where its span is, or at the policy file when it has none."""
    location: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(diagnostic.file or policy, cwd),
                                                     "uriBaseId": SRCROOT}}
    if diagnostic.span is not None:
        location["region"] = region(diagnostic.span)
    item: dict[str, Any] = {"ruleId": diagnostic.code}
    if diagnostic.code in rule_index:
        item["ruleIndex"] = rule_index[diagnostic.code]
    item["level"] = _LEVELS.get(diagnostic.severity, "warning")
    item["message"] = {"text": _message(diagnostic)}
    item["locations"] = [{"physicalLocation": location}]
    return item


def sarif_log(checked: Sequence[tuple[str, Sequence[Diagnostic]]], *, docs_url: str | None = None,
              cwd: str | None = None) -> dict[str, Any]:
    """The SARIF log of one ``kaohe check``: ``checked`` is each policy path with its diagnostics."""
    rules = [_rule(code, docs_url) for code in CODES.values()]
    rule_index = {code: i for i, code in enumerate(CODES)}
    driver: dict[str, Any] = {"name": "kaohe", "fullName": f"kaohe_rules {__version__} policy checker",
                              "version": __version__, "semanticVersion": __version__, "rules": rules}
    if docs_url:
        driver["informationUri"] = docs_url.rstrip("/") + "/"
    base = os.path.abspath(cwd or os.getcwd())
    results = [result(d, policy, rule_index, cwd) for policy, diagnostics in checked for d in diagnostics]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {SRCROOT: {"uri": Path(base).as_uri().rstrip("/") + "/"}},
        "artifacts": [{"location": {"uri": uri, "uriBaseId": SRCROOT}, "roles": ["analysisTarget"]}
                      for uri in dict.fromkeys(artifact_uri(policy, cwd) for policy, _ in checked)],
        "columnKind": "utf16CodeUnits",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def documentation_url() -> str | None:
    """The installed package's ``Documentation`` project URL, if its metadata has one."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("kaohe_rules").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in ("documentation", "docs") and url.strip():
            return url.strip()
    return None
