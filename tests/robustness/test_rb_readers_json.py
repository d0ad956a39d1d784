"""Robustness of the JSON and JSON Lines readers: every line is its own row, no input escapes as an internal error.

Issue #9: one bad row never costs the batch.  A JSON Lines line is parsed on its
own, so whatever is wrong with it (invalid JSON, too long, nested too deep, a
number no Decimal holds, a lone surrogate, broken UTF-8) is an error row for that
line and the next line still reads.  A whole JSON document is one parse: a syntax
error is one file-level error, but a unit nesting too deep is an error row.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from kaohe_rules import limits
from kaohe_rules.unitio import UnitInputError, UnitRow, jsonl_row, jsonl_stream_texts, read_units

DEEP = 100_000  # json.loads raises RecursionError on this; it must never escape


def rows(path: Path) -> list[UnitRow]:
    return list(read_units(path))


def write_lines(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines))
    return path


GOOD_A = '{"id": "a", "facts": {"死亡人数": 1}}'
GOOD_C = '{"id": "c", "facts": {"死亡人数": 0}}'


def test_out_of_range_number_reaches_the_fact_layer_and_the_next_line_reads(tmp_path: Path) -> None:
    """The issue's reproduction: line 2 holds 死亡人数 1E+5000; it is read exactly (the fact layer refuses it)."""
    path = write_lines(tmp_path / "u.jsonl", GOOD_A, '{"id": "b", "facts": {"死亡人数": 1E+5000}}', GOOD_C)
    got = rows(path)
    assert [r.location for r in got] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert got[1].unit == {"id": "b", "facts": {"死亡人数": Decimal("1E+5000")}}
    assert got[2].unit == {"id": "c", "facts": {"死亡人数": 0}}


BAD_LINES = {
    "invalid JSON": ('{"id": "b", "facts": {', "invalid JSON"),
    "100k nested brackets": ('{"id": "b", "facts": {"x": ' + "[" * DEEP + "]" * DEEP + "}}", "nested too deep"),
    "nesting just past the limit": ('{"id": "b", "facts": {"x": ' + "[" * (limits.MAX_NESTING + 1)
                                    + "]" * (limits.MAX_NESTING + 1) + "}}", "nested too deep"),
    "objects nested past the limit": ('{"id": "b", "facts": ' + '{"k": ' * 40 + "1" + "}" * 40 + "}",
                                      "nested too deep"),
    "exponent beyond Decimal": ('{"id": "b", "facts": {"x": 1e9999999999999999999999999}}', "out of range"),
    "NaN": ('{"id": "b", "facts": {"x": NaN}}', "NaN is not an allowed number"),
    "-Infinity": ('{"id": "b", "facts": {"x": -Infinity}}', "-Infinity is not an allowed number"),
    "lone surrogate": ('{"id": "b", "facts": {"x": "\\udc00"}}', "lone surrogate"),
    "duplicate key": ('{"id": "b", "facts": {"x": 1, "x": 2}}', "duplicate key"),
    "not an object": ("[1, 2]", "not a JSON object"),
}


@pytest.mark.parametrize("name", list(BAD_LINES))
def test_any_bad_line_is_an_error_row_for_that_line_only(tmp_path: Path, name: str) -> None:
    bad, message = BAD_LINES[name]
    path = write_lines(tmp_path / "u.jsonl", GOOD_A, bad, GOOD_C)
    got = rows(path)
    assert len(got) == 3
    assert got[0].unit is not None and got[2].unit is not None
    assert got[1].unit is None and got[1].error is not None
    assert message in got[1].error
    assert got[1].location == f"{path}:2"
    assert len(got[1].error) < 400  # a message about a huge line is not itself huge


def test_nesting_at_the_limit_reads(tmp_path: Path) -> None:
    n = limits.MAX_NESTING
    path = write_lines(tmp_path / "u.jsonl", '{"id": "b", "facts": {"x": ' + "[" * n + "]" * n + "}}")
    [row] = rows(path)
    assert row.error is None


def test_invalid_utf8_in_one_line_is_that_line_only(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "u.jsonl", GOOD_A, b'{"id": "b", "facts": {"x": "\xff\xfe"}}', GOOD_C)
    got = rows(path)
    assert [r.unit is None for r in got] == [False, True, False]
    assert got[1].error is not None and "not UTF-8" in got[1].error


def test_line_over_max_line_bytes_is_an_error_row_and_never_held_whole(tmp_path: Path) -> None:
    """A line of MAX_LINE_BYTES + 1 MB (17 MB, no newline inside) is one error row; the next line reads."""
    long_line = '{"id": "b", "facts": {"x": "' + "y" * (limits.MAX_LINE_BYTES + 2**20) + '"}}'
    path = write_lines(tmp_path / "u.jsonl", GOOD_A, long_line, GOOD_C)
    got = rows(path)
    assert [r.location for r in got] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert got[1].error is not None and "MAX_LINE_BYTES" in got[1].error
    assert got[2].unit == {"id": "c", "facts": {"死亡人数": 0}}


def test_line_of_exactly_max_line_bytes_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 40)
    fits = b'{"id": "a", "facts": {"x": "' + b"y" * 9 + b'"}}'
    assert len(fits) == 40
    stream = io.BytesIO(fits + b"\n" + fits + b"y\n" + fits)
    got = [jsonl_row(r) for r in jsonl_stream_texts(stream, "<s>")]
    assert [r.error is None for r in got] == [True, False, True]
    assert [r.location for r in got] == ["<s>:1", "<s>:2", "<s>:3"]


def test_huge_integer_literal_never_raises_and_is_refusable(tmp_path: Path) -> None:
    """int() refuses 100,000 digits with ValueError; the reader reads it as an exact Decimal instead."""
    digits = "9" * 100_000
    path = write_lines(tmp_path / "u.jsonl", GOOD_A, '{"id": "b", "facts": {"x": ' + digits + "}}",
                       '{"id": ' + digits + ', "facts": {}}', GOOD_C)
    got = rows(path)
    assert len(got) == 4
    assert got[1].unit is not None
    facts = got[1].unit["facts"]
    assert isinstance(facts, dict) and facts["x"] == Decimal(digits)
    assert limits.number_problem(facts["x"]) is not None  # the fact layer's check refuses it
    # as an id it is not a usable integer: an error row whose message stays short
    assert got[2].error is not None and "id must be text" in got[2].error and len(got[2].error) < 300
    assert got[3].unit is not None


def test_small_integers_stay_int(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "u.jsonl", '{"id": 12, "facts": {"x": -123456789012345678901234567890}}')
    [row] = rows(path)
    assert row.unit == {"id": "12", "facts": {"x": -123456789012345678901234567890}}
    assert isinstance(row.unit["facts"]["x"], int)  # type: ignore[index]


# ------------------------------------------------------------------ JSON document


def test_document_unit_nested_past_the_recursion_limit_is_an_error_row(tmp_path: Path) -> None:
    deep = '{"id": "b", "facts": {"x": ' + "[" * DEEP + "]" * DEEP + "}}"
    path = tmp_path / "u.json"
    path.write_text('{"note": ' + "[" * 5000 + "]" * 5000 + ', "units": [' + GOOD_A + ", " + deep
                    + ", 7, " + GOOD_C + "]}", encoding="utf-8")
    got = rows(path)
    assert [r.location for r in got] == [f"{path}[{i}]" for i in range(4)]
    assert got[0].unit == {"id": "a", "facts": {"死亡人数": 1}}
    assert got[1].error is not None and "nested too deep" in got[1].error
    assert got[2].error is not None and "not a JSON object" in got[2].error
    assert got[3].unit == {"id": "c", "facts": {"死亡人数": 0}}


def test_document_array_with_moderately_deep_unit(tmp_path: Path) -> None:
    deep = '{"id": "b", "facts": {"x": ' + "[" * 40 + "]" * 40 + "}}"
    path = tmp_path / "u.json"
    path.write_text("[" + GOOD_A + ", " + deep + ", " + GOOD_C + "]", encoding="utf-8")
    got = rows(path)
    assert [r.error is None for r in got] == [True, False, True]
    assert got[1].error is not None and "nested too deep" in got[1].error


def test_document_of_pure_deep_brackets_gives_rows_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")
    [row] = rows(path)
    assert row.error is not None and "nested too deep" in row.error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" + GOOD_A + ", " + "[" * DEEP + "]" * DEEP + ",]", "invalid JSON"),
        ("[" + "[" * DEEP + "]" * (DEEP - 1), "invalid JSON"),
        ('{"units": [' + "[" * DEEP + "]" * DEEP + '], "units": []}', '"units" appears twice'),
        ('{"units": {"x": ' + "[" * DEEP + "]" * DEEP + "}}", '"units" must be an array'),
        ('{"other": ' + "[" * DEEP + "]" * DEEP + "}", 'no "units" key'),
        ("[" + "[" * DEEP + "]" * DEEP + "] x", "invalid JSON"),
    ],
)
def test_document_syntax_errors_around_deep_values_are_one_file_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "u.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnitInputError) as info:
        rows(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_document_numbers_beyond_decimal_are_error_rows(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_text('[{"id": "a", "facts": {"x": 1e9999999999999999999999999}}, {"id": "b", "facts": {"x": '
                    + "7" * 100_000 + "}}]", encoding="utf-8")
    got = rows(path)
    assert got[0].error is not None and "out of range" in got[0].error
    assert got[1].unit is not None and got[1].unit["facts"] == {"x": Decimal("7" * 100_000)}


def test_document_over_max_document_bytes_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "u.json"
    path.write_text("[" + ", ".join([GOOD_A] * 100) + "]", encoding="utf-8")
    monkeypatch.setattr(limits, "MAX_DOCUMENT_BYTES", 1000)
    with pytest.raises(UnitInputError, match="MAX_DOCUMENT_BYTES") as info:
        rows(path)
    assert "JSON Lines" in str(info.value)
    monkeypatch.setattr(limits, "MAX_DOCUMENT_BYTES", path.stat().st_size)
    assert len(rows(path)) == 100
