"""The parser's quicker position propagation gives Lark's own positions, node for node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lark
import pytest

from kaohe_rules.grammar_file import grammar_text
from kaohe_rules.language import parser
from kaohe_rules.source import SourceFile

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies").glob("*.kh")) + sorted((ROOT / "tests" / "data").rglob("*.kh"))
_FIELDS = ("empty", "line", "column", "start_pos", "end_line", "end_column", "end_pos", "container_line",
           "container_column", "container_start_pos", "container_end_line", "container_end_column",
           "container_end_pos")


def _nodes(node: Any) -> list[Any]:
    out: list[Any] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, lark.Tree):
            out.append((n.data, *(getattr(n.meta, k, None) for k in _FIELDS)))
            stack.extend(reversed(n.children))
        else:
            out.append((n.type, str(n), n.line, n.column, n.end_line, n.end_column, n.start_pos, n.end_pos))
    return out


@pytest.fixture(scope="module")
def lark_parser() -> lark.Lark:
    return lark.Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


def test_positions_callbacks_are_installed() -> None:
    callbacks = parser._parser().parser.parser.parser.callbacks
    assert callbacks and all(isinstance(c, parser._Positions) for c in callbacks.values())


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_same_tree_and_positions_as_lark(path: Path, lark_parser: lark.Lark) -> None:
    text = path.read_text(encoding="utf-8")
    ours = parser.parse_tree(SourceFile(str(path), text))
    if not isinstance(ours, lark.Tree):
        pytest.skip("not a syntactically valid policy")
    theirs = lark_parser.parse(text)
    assert ours == theirs
    assert _nodes(ours) == _nodes(theirs)
