"""Robustness of the XLSX reader: a decompression bomb is refused before openpyxl inflates it.

Issue #9: a 1.5 MB .xlsx that inflates to 1.5 GB took 1.6 GB of memory.  The
zip directory is checked first (total inflated size, compression ratio of each
member over 1 MiB), then every deflated member is inflated in 1 MiB pieces and
thrown away, so a directory that lies about sizes is caught too.  The bombs here
are a few MB of whitespace inside a real workbook's sheet XML: small and fast.
"""

from __future__ import annotations

import struct
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from kaohe_rules import limits
from kaohe_rules.unitio import UnitInputError, UnitRow, read_units

openpyxl = pytest.importorskip("openpyxl")

SHEET = "xl/worksheets/sheet1.xml"


def rows(path: Path) -> list[UnitRow]:
    return list(read_units(path))


def workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "x"])
    ws.append(["a", 1])
    ws.append(["b", "2"])
    wb.save(path)
    return path


def padded(tmp_path: Path, name: str, pad: int, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A valid workbook whose sheet XML carries ``pad`` bytes of blanks (legal XML whitespace)."""
    source = workbook(tmp_path / "source.xlsx")
    target = tmp_path / name
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == SHEET:
                data = data.replace(b"</worksheet>", b" " * pad + b"</worksheet>")
                zout.writestr(info.filename, data, compress_type=method)
            else:
                zout.writestr(info.filename, data)
    return target


def test_bomb_member_is_refused_naming_the_ratio_limit(tmp_path: Path) -> None:
    """5 MB of sheet XML deflated ~1000:1 into a 10 kB file: refused before openpyxl reads it."""
    path = padded(tmp_path, "bomb.xlsx", 5 * 2**20)
    assert path.stat().st_size < 50_000
    with pytest.raises(UnitInputError) as info:
        rows(path)
    message = str(info.value)
    assert str(path) in message and "MAX_XLSX_RATIO" in message and SHEET in message


def test_small_members_may_compress_well(tmp_path: Path) -> None:
    """Under 1 MiB (XLSX_RATIO_FLOOR_BYTES) the ratio is not judged: tiny XML compresses far over 200:1."""
    path = padded(tmp_path, "pad.xlsx", 900 * 1024)
    assert [r.unit for r in rows(path)] == [{"id": "a", "facts": {"x": 1}}, {"id": "b", "facts": {"x": "2"}}]


def test_total_inflated_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = workbook(tmp_path / "u.xlsx")
    with zipfile.ZipFile(path) as z:
        total = sum(i.file_size for i in z.infolist())
    monkeypatch.setattr(limits, "MAX_XLSX_INFLATED_BYTES", total - 1)
    with pytest.raises(UnitInputError, match="MAX_XLSX_INFLATED_BYTES"):
        rows(path)
    monkeypatch.setattr(limits, "MAX_XLSX_INFLATED_BYTES", total)
    assert len(rows(path)) == 2


def lie_about_size(path: Path, member: str, declared: int) -> None:
    """Rewrite the central directory so ``member`` claims to inflate to ``declared`` bytes."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_length] == name:
            struct.pack_into("<I", data, at + 24, declared)
            path.write_bytes(bytes(data))
            return
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no central directory entry for {member}")


def test_directory_that_understates_a_member_is_refused(tmp_path: Path) -> None:
    """A member that declares 600 kB (under every limit) but inflates to 5 MB is caught by inflating it."""
    path = padded(tmp_path, "liar.xlsx", 5 * 2**20)
    lie_about_size(path, SHEET, 600_000)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(SHEET).file_size == 600_000
    with pytest.raises(UnitInputError, match="inflates to more than the 600,000 bytes"):
        rows(path)


def test_other_compression_methods_are_refused(tmp_path: Path) -> None:
    path = padded(tmp_path, "bz.xlsx", 10, method=zipfile.ZIP_BZIP2)
    with pytest.raises(UnitInputError, match="compression method 12"):
        rows(path)


def test_giant_text_cell_is_an_error_row(tmp_path: Path) -> None:
    """openpyxl cuts cells to Excel's 32,767 characters when writing, so the string is
    lengthened in the archive; a cell over MAX_TEXT_CHARS is an error row, the next row reads."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "说明"])
    ws.append(["a", "PLACEHOLDER"])
    ws.append(["b", "ok"])
    source = tmp_path / "source.xlsx"
    wb.save(source)
    path = tmp_path / "u.xlsx"
    replaced = 0
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            replaced += data.count(b"PLACEHOLDER")
            zout.writestr(info.filename, data.replace(b"PLACEHOLDER", b"z" * (limits.MAX_TEXT_CHARS + 1)))
    assert replaced == 1
    got = rows(path)
    assert got[0].error is not None and "说明" in got[0].error and "MAX_TEXT_CHARS" in got[0].error
    assert got[0].location == f"{path}:Sheet!row 2"
    assert got[1].unit == {"id": "b", "facts": {"说明": "ok"}}


def test_not_a_zip_is_one_file_error(tmp_path: Path) -> None:
    path = tmp_path / "u.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(UnitInputError, match="cannot read xlsx"):
        rows(path)


def test_a_computed_float_is_refused_naming_both_readings_and_the_other_rows_are_read(tmp_path: Path) -> None:
    """Excel caches ``=0.1+0.2`` as 0.30000000000000004 and shows 0.3: a rule ``> 0.3`` tells them apart.

    A typed number has at most 15 significant digits; the cell with 17 is refused (both readings named),
    as ``units_from_frame`` refuses such a float, and the rows around it are read as typed.
    """
    source = tmp_path / "source.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "x"])
    ws.append(["a", 0.25])
    ws.append(["b", 0.75])
    ws.append(["c", 1.5])
    wb.save(source)
    target = tmp_path / "computed.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == SHEET:  # what Excel writes for the formula's cached value (openpyxl rounds it)
                assert data.count(b"<v>0.75</v>") == 1
                data = data.replace(b"<v>0.75</v>", b"<v>0.30000000000000004</v>")
            zout.writestr(info, data)
    read = rows(target)
    assert [r.unit for r in read] == [{"id": "a", "facts": {"x": Decimal("0.25")}}, None,
                                      {"id": "c", "facts": {"x": Decimal("1.5")}}]
    error = read[1].error
    assert error is not None
    assert "0.30000000000000004" in error and "0.3 " in error and "17 significant digits" in error
