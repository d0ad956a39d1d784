"""The ledger example of docs/api.md runs (issue #16) against the test policy of tests/ledger_fixture.py."""

from __future__ import annotations

import re
from pathlib import Path

import ledger_fixture as lf

API = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_ledger_example_of_the_api_docs_runs() -> None:
    text = API.read_text(encoding="utf-8")
    match = re.search(r"<!-- ledger-example:[^\n]*-->\n```python[^\n]*\n(.*?)```", text, re.S)
    assert match is not None, "docs/api.md has lost its ledger example"
    namespace = {"policy": lf.load_ledger_policy()}
    exec(compile(match.group(1), str(API), "exec"), namespace)  # noqa: S102 - the project's own documentation
    assert namespace["tt"].score < 100
