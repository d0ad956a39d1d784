"""Robustness of the CSV/TSV reader: a giant cell or row is an error row, and the rows after it still read.

Issue #9: a cell over 131,072 characters (the csv module's default
field_size_limit) aborted the whole file.  Now a cell over MAX_TEXT_CHARS is an
error row naming the row and the column, a row over MAX_LINE_BYTES characters is
an error row read past in bounded pieces, and the process-global csv limit is
left as it was.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kaohe_rules import limits
from kaohe_rules.unitio import UnitInputError, UnitRow, read_units


def rows(path: Path) -> list[UnitRow]:
    return list(read_units(path))


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_giant_cell_is_an_error_row_naming_row_and_column_and_later_rows_read(tmp_path: Path) -> None:
    """The issue's reproduction: a 200,000-character cell (over csv's 131,072) cost every later row."""
    big = "z" * 200_000
    path = write(tmp_path / "u.csv", f"id,说明,x\na,ok,1\nb,{big},2\nc,ok,3\n")
    got = rows(path)
    assert [r.location for r in got] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert got[1].unit is None and got[1].error is not None
    assert "说明" in got[1].error and "200,000 characters" in got[1].error and "MAX_TEXT_CHARS" in got[1].error
    assert got[2].unit == {"id": "c", "facts": {"说明": "ok", "x": "3"}}


def test_quoted_giant_multiline_cell_is_one_error_row(tmp_path: Path) -> None:
    big = ("q" * 999 + "\n") * 150  # 150,000 characters over 150 lines, quoted
    path = write(tmp_path / "u.csv", f'id,说明\na,ok\nb,"{big}"\nc,ok\n')
    got = rows(path)
    assert len(got) == 3
    assert got[1].error is not None and "说明" in got[1].error
    assert got[2].location == f"{path}:154"
    assert got[2].unit == {"id": "c", "facts": {"说明": "ok"}}


def test_cell_of_exactly_max_text_chars_is_read(tmp_path: Path) -> None:
    cell = "y" * limits.MAX_TEXT_CHARS
    path = write(tmp_path / "u.csv", f"id,说明\na,{cell}\n")
    [row] = rows(path)
    assert row.unit == {"id": "a", "facts": {"说明": cell}}


def test_process_global_field_limit_is_unchanged_after_reading(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    path = write(tmp_path / "u.csv", f"id,x\na,{'z' * 200_000}\nb,1\n")
    it = read_units(path)
    next(it)
    assert csv.field_size_limit() == before  # restored between rows, not only at the end
    assert len(list(it)) == 1
    assert csv.field_size_limit() == before


def test_row_over_max_line_bytes_is_an_error_row(tmp_path: Path) -> None:
    """A 17 M-character line (over MAX_LINE_BYTES) is an error row; it is skipped in pieces, not held."""
    path = tmp_path / "u.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id,x\na,1\nb,")
        f.write("z" * (limits.MAX_LINE_BYTES + 2**20))
        f.write("\nc,3\n")
    got = rows(path)
    assert [r.location for r in got] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert got[1].error is not None and "MAX_LINE_BYTES" in got[1].error
    assert got[2].unit == {"id": "c", "facts": {"x": "3"}}


def test_quoted_row_over_the_limit_skips_to_the_end_of_its_quoted_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rest of an over-long quoted cell is not taken for new rows (no bogus unit "x9")."""
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1000)
    inside = "".join(f"x{i},{i}\n" for i in range(300))  # lines that look like rows, inside quotes
    path = write(tmp_path / "u.csv", f'id,说明\na,ok\nb,"{inside}""quoted"" end"\nc,ok\n')
    got = rows(path)
    assert [r.unit["id"] if r.unit else None for r in got] == ["a", None, "c"]
    assert got[1].error is not None and "row too long" in got[1].error
    assert got[2].location == f"{path}:{3 + 300 + 1}"


def test_unclosed_quote_at_the_limit_is_one_error_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1000)
    path = write(tmp_path / "u.csv", 'id,x\na,1\nb,"never closed\n' + "more,2\n" * 500)
    got = rows(path)
    assert len(got) == 2
    assert got[0].unit == {"id": "a", "facts": {"x": "1"}}
    assert got[1].error is not None and "row too long" in got[1].error


def test_too_long_header_is_a_file_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 100)
    path = write(tmp_path / "u.csv", "id," + "x" * 200 + "\na,1\n")
    with pytest.raises(UnitInputError, match="header"):
        rows(path)


def test_giant_header_cell_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", "id," + "x" * (limits.MAX_TEXT_CHARS + 1) + "\na,1\n")
    with pytest.raises(UnitInputError, match="MAX_TEXT_CHARS"):
        rows(path)


def test_many_unheaded_cells_give_a_bounded_message(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", "id,x\na,1" + ",v" * 100_000 + "\nb,2\n")
    got = rows(path)
    assert got[0].error is not None and "more problem" in got[0].error and len(got[0].error) < 2000
    assert got[1].unit == {"id": "b", "facts": {"x": "2"}}


def test_json_cell_nested_too_deep_is_an_error_row(tmp_path: Path) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    just = "[" * (limits.MAX_NESTING + 1) + "]" * (limits.MAX_NESTING + 1)
    ok = "[" * limits.MAX_NESTING + "]" * limits.MAX_NESTING
    path = write(tmp_path / "u.csv", f"id,x\na,{deep}\nb,{just}\nc,{ok}\n")
    got = rows(path)
    assert got[0].error is not None and "nested too deep" in got[0].error
    assert got[1].error is not None and "nested too deep" in got[1].error
    assert got[2].error is None


def test_json_cell_with_unreadable_number_is_an_error_row(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", 'id,x\na,"[1e9999999999999999999999999]"\nb,"[' + "9" * 5000 + ']"\n')
    got = rows(path)
    assert got[0].error is not None and "out of range" in got[0].error
    assert got[1].unit is not None  # exact Decimal; the fact layer refuses it as too large
