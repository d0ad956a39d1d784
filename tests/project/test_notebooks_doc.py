"""docs/notebooks.md is real (issue #15): every ```python block runs, and every value it shows is the value.

The page follows the docs harness's convention (issue #14): a block runs alone, as a script, from the
repository's root; a statement that is an expression with ``# → VALUE`` at the end of its line shows the
``repr`` of its value.  The values were read and checked by hand against the policy (Karamay's 17 sample
units, the same as `kaohe eval` prints for units.csv; 企业 scores 575 + 500 + 450 + 420 + 522 + 562 = 3029).  Nothing here rewrites the page.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
from pathlib import Path

import pytest

pytest.importorskip("pandas")
pytest.importorskip("polars")

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "notebooks.md"
FENCE = re.compile(r"^```(?P<lang>\w*)[^\n]*\n(?P<body>.*?)^```[ ]*$", re.S | re.M)
SHOWN = re.compile(r"#\s*→\s*(?P<value>.*?)\s*$")


def python_blocks() -> list[str]:
    return [m.group("body") for m in FENCE.finditer(PAGE.read_text(encoding="utf-8")) if m.group("lang") == "python"]


def statements(source: str) -> list[tuple[str, int, str | None]]:
    """(statement, its last line, the value shown after ``# →`` on that line, or None)."""
    shown: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        match = SHOWN.match(tok.string) if tok.type == tokenize.COMMENT else None
        if match:
            shown[tok.start[0]] = match.group("value")
    lines = source.splitlines(True)
    out = []
    for node in ast.parse(source).body:
        end = node.end_lineno or node.lineno
        out.append(("".join(lines[node.lineno - 1:end]), end, shown.get(end) if isinstance(node, ast.Expr) else None))
    return out


BLOCKS = python_blocks()


def test_the_page_has_its_examples() -> None:
    assert len(BLOCKS) >= 6
    assert all(any(value is not None for _, _, value in statements(block)) for block in BLOCKS)
    text = PAGE.read_text(encoding="utf-8")
    for needle in ("evaluate_frame", "units_from_frame", "results_frame", "_repr_html_", 'floats="refuse"'):
        assert needle in text


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_each_block_runs_and_shows_its_values(block: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    wrong = []
    with contextlib.redirect_stdout(io.StringIO()):
        for statement, line, shown in statements(block):
            if shown is None:
                exec(compile(statement, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's own example
                continue
            value = repr(eval(compile(statement.strip(), str(PAGE), "eval"), namespace))  # noqa: S307
            if value != shown:
                wrong.append(f"line {line} of the block: {statement.strip()} shows {shown}, is {value}")
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------ the notebook made from the page
NOTEBOOK = ROOT / "docs" / "notebooks.ipynb"


def notebook_of_page() -> dict[str, object]:
    """docs/notebooks.ipynb as the page makes it: each ```python block a code cell (no outputs: run it), the
    prose between them markdown cells, other fenced blocks kept in the markdown."""
    text = PAGE.read_text(encoding="utf-8")
    cells: list[dict[str, object]] = []

    def markdown(part: str) -> None:
        if part.strip():
            cells.append({"cell_type": "markdown", "metadata": {}, "source": part.strip("\n").splitlines(True)})

    at = 0
    for match in FENCE.finditer(text):
        if match.group("lang") != "python":
            continue
        markdown(text[at:match.start()])
        cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                      "source": match.group("body").rstrip("\n").splitlines(True)})
        at = match.end()
    markdown(text[at:])
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"},
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def notebook_text() -> str:
    import json

    return json.dumps(notebook_of_page(), ensure_ascii=False, indent=1) + "\n"


def test_the_notebook_is_the_page() -> None:
    """docs/notebooks.ipynb holds the page's code cells exactly (``python tests/project/test_notebooks_doc.py``
    writes it after a change of the page; review the diff)."""
    assert NOTEBOOK.read_text(encoding="utf-8") == notebook_text()


if __name__ == "__main__":
    NOTEBOOK.write_text(notebook_text(), encoding="utf-8")
