"""Fuzzing the unit readers: random bytes and mutated valid files never raise anything but UnitInputError.

The batch contract of issue #9, checked on inputs nobody wrote by hand: a reader
either yields rows or raises the one documented file-level error; and a JSON
Lines file yields exactly one row per record line (non-blank, not a ``#`` comment).
"""

from __future__ import annotations

import codecs
import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaohe_rules.unitio import UnitInputError, UnitRow, read_units

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = {
    "json": ('[{"id": "a", "name": "甲", "facts": {"x": 1.5, "l": [{"k": [1, 2]}]}},'
             ' {"编号": "b", "死亡人数": 2, "金额": "100万元"}]').encode(),
    "jsonl": ('{"id": "a", "facts": {"x": 1.5, "l": [[1], {"k": null}]}}\n# comment\n\n'
              '{"编号": "b", "死亡人数": 2}\n{"id": "c", "facts": {"s": "\\u2028 \\ud83d\\ude00"}}\n').encode(),
    "csv": 'id,单位,x,列表\na,甲区,1,"[1, {""k"": 2}]"\nb,"多\n行",2,\n'.encode(),
}


def _xlsx_bytes() -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "x", "列表"])
    ws.append(["a", 1.5, "[1, 2]"])
    ws.append(["b", "2", None])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def read(data: bytes, suffix: str) -> list[UnitRow] | None:
    """All rows of ``data`` read as a ``suffix`` file, or None for a UnitInputError; anything else fails the test."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"units.{suffix}"
        path.write_bytes(data)
        try:
            got = list(read_units(path))
        except UnitInputError as e:
            assert str(path) in str(e)  # a file-level error names the file
            return None
    for row in got:
        assert (row.unit is None) != (row.error is None)
        if row.error is not None:
            assert len(row.error) < 10_000
    assert [r.index for r in got] == list(range(len(got)))
    return got


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes replaced, inserted or deleted, or a slice duplicated."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out)))
        kind = draw(st.sampled_from(["set", "insert", "delete", "dup"]))
        if kind == "set" and at < len(out):
            out[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8)
                              | st.sampled_from([b"[" * 3000, b'"', b"\n", b"NaN", b"\xff", b"1e999999999999999999999",
                                                 b"9" * 5000, b"\\ud800", b",", b"{"]))
        elif kind == "delete":
            del out[at : at + draw(st.integers(1, 8))]
        elif kind == "dup":
            out[at:at] = out[at : at + draw(st.integers(1, 64))]
    return bytes(out)


def record_lines(data: bytes) -> int:
    """Record lines as the JSON Lines contract counts them: not blank, not a # comment; undecodable lines count."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if lines and lines[0].startswith(codecs.BOM_UTF8):
        lines[0] = lines[0][len(codecs.BOM_UTF8) :]
    count = 0
    for raw in lines:
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            count += 1
            continue
        if text and not text.startswith("#"):
            count += 1
    return count


@pytest.mark.parametrize("suffix", ["json", "jsonl", "csv", "tsv", "xlsx"])
@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_never_raise_anything_else(suffix: str, data: bytes) -> None:
    got = read(data, suffix)
    if suffix == "jsonl":
        assert got is not None and len(got) == record_lines(data)


@FUZZ
@given(data=mutated(VALID["jsonl"]))
def test_mutated_jsonl_gives_one_row_per_record_line(data: bytes) -> None:
    got = read(data, "jsonl")
    assert got is not None  # JSON Lines has no file-level error once the file opens
    assert len(got) == record_lines(data)


HOSTILE = [b"1", b"1.5", b"1E+5000", b"1e999999999999999999999999", b"-1e-999999999999999999999999", b"9" * 5000,
           b"NaN", b"-Infinity", b'"\\ud800"', b"[" * 3000 + b"]" * 3000, b"[" * 40 + b"]" * 40, b'{"a": 1, "a": 2}',
           b"[1,]", b'"\xff"', b"\xc3", b"null", b'"' + b"z" * 200_000 + b'"', b"{" * 500]


@FUZZ
@given(values=st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=6), as_document=st.booleans())
def test_hostile_values_in_valid_units_are_error_rows_at_worst(values: list[bytes], as_document: bool) -> None:
    """Valid unit lines around hostile values: JSON Lines keeps one row per line, a document one row per unit."""
    units = [b'{"id": "u%d", "facts": {"x": ' % i + v + b"}}" for i, v in enumerate(values)]
    if not as_document:
        got = read(b"\n".join(units) + b"\n", "jsonl")
        assert got is not None and len(got) == len(values)
        return
    got = read(b"[" + b", ".join(units) + b"]", "json")
    assert got is None or len(got) == len(values)


@pytest.mark.parametrize("suffix", ["json", "csv"])
@FUZZ
@given(data=st.data())
def test_mutated_json_and_csv_never_raise_anything_else(suffix: str, data: st.DataObject) -> None:
    read(data.draw(mutated(VALID[suffix])), suffix)


@FUZZ
@given(data=st.data())
def test_mutated_xlsx_never_raises_anything_else(data: st.DataObject) -> None:
    read(data.draw(mutated(_XLSX)), "xlsx")


@FUZZ
@given(data=st.data())
def test_xlsx_with_a_mutated_member_never_raises_anything_else(data: st.DataObject) -> None:
    """Mutate the XML inside the archive (mutating the zip bytes mostly breaks the CRC first)."""
    with zipfile.ZipFile(io.BytesIO(_XLSX)) as z:
        members = {info.filename: z.read(info.filename) for info in z.infolist()}
    name = data.draw(st.sampled_from(sorted(members)))
    members[name] = data.draw(mutated(members[name]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for member, content in members.items():
            z.writestr(member, content)
    read(buffer.getvalue(), "xlsx")


_XLSX = _xlsx_bytes()
