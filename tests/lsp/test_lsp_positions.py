"""Columns between kaohe spans (code points) and the protocol (UTF-16 units by default)."""

from __future__ import annotations

import pytest

pytest.importorskip("pygls")

from kaohe_rules.lsp.positions import from_units, span_range, text_end, to_units  # noqa: E402
from kaohe_rules.source import SourceFile, Span  # noqa: E402

LINE = "let 𠀀分 = 事故 + 1"  # 𠀀 (U+20000) is outside the Basic Multilingual Plane: two UTF-16 units


@pytest.mark.parametrize(("encoding", "units"), [("utf-16", 7), ("utf-32", 6), ("utf-8", 11)])
def test_a_character_outside_the_bmp_counts_by_the_agreed_encoding(encoding: str, units: int) -> None:
    column = LINE.index("分") + 2  # 1-based column just after 分
    assert to_units(LINE, column, encoding) == units
    assert from_units(LINE, units, encoding) == column


def test_a_span_becomes_a_zero_based_range_and_the_text_end_is_after_the_last_character() -> None:
    source = SourceFile("x.kh", "policy p {}\n" + LINE + "\n")
    start = LINE.index("事故") + 1
    found = span_range(Span(source, 2, start, 2, start + 2), "utf-16")
    assert (found.start.line, found.start.character, found.end.character) == (1, start - 1 + 1, start + 1 + 1)
    end = text_end(source.text, "utf-16")
    assert (end.line, end.character) == (2, 0)
    end = text_end("a\n事故", "utf-16")
    assert (end.line, end.character) == (1, 2)
