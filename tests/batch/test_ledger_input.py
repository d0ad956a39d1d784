"""Reading ledgers (issue #16 L4): the same events from a JSON document, JSON Lines, CSV and XLSX.

Each event keeps its 1-based row in its ledger; an unreadable row keeps its place (and its
reason); unknown ledger names, ledgers given twice and ledgers for a policy without any are
refused naming the file.  Typing the fields is the engine's job: these readers deliver the
cells as the unit readers do (header units appended, percent cells as shown, blank = absent).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kaohe_rules.errors import UnitInputError
from kaohe_rules.unitio import (
    Expect,
    LedgerShape,
    UnreadableEvent,
    parse_ledger_option,
    read_ledger_file,
    read_ledgers,
    read_units,
)

SHAPES = {"事故台账": LedgerShape("事故台账", "生产安全事故台账",
                                  frozenset({"编号", "日期", "类型", "发生地", "死亡人数", "直接经济损失", "纵火", "占比"}),
                                  {"事故编号": "编号"})}
EVENTS = [
    {"编号": "A-1", "日期": "2013-05-03", "类型": "道路交通", "发生地": "白碱滩区", "死亡人数": 2},
    {"编号": "A-2", "日期": "2013-07-19", "类型": "火灾", "发生地": "克拉玛依区", "死亡人数": 0, "纵火": "是"},
]
UNIT = {"id": "K1", "name": "白碱滩区", "category": "区县", "facts": {"辖区": "白碱滩区"}}


def _events(ledgers: object, name: str = "事故台账") -> list[dict[str, object]]:
    return [dict(e) for e in ledgers.events()[name]]  # type: ignore[attr-defined]


def test_a_json_document_carries_its_ledgers_beside_the_units(tmp_path: Path) -> None:
    path = tmp_path / "units.json"
    path.write_text(json.dumps({"units": [UNIT], "ledgers": {"事故台账": EVENTS}}, ensure_ascii=False), "utf-8")
    ledgers = read_ledgers(path, shapes=SHAPES)
    assert _events(ledgers) == EVENTS
    rows = ledgers.rows["事故台账"]
    assert [r.row for r in rows] == [1, 2] and rows[1].location == f"{path}:ledgers.事故台账[1]"
    assert ledgers.sources == {"事故台账": str(path)}
    # the units reader reads the units as before
    assert [r.unit for r in read_units(path, expect=Expect(ledgers={"事故台账": "事故台账"}))] == [UNIT]


def test_json_lines_event_lines_anywhere_are_the_ledger_and_not_units(tmp_path: Path) -> None:
    path = tmp_path / "units.jsonl"
    lines = [json.dumps({"ledger": "事故台账", "event": EVENTS[0]}, ensure_ascii=False),
             json.dumps(UNIT, ensure_ascii=False),
             json.dumps({"ledger": "事故台账", "event": EVENTS[1]}, ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    ledgers = read_ledgers(path, shapes=SHAPES)
    assert _events(ledgers) == EVENTS
    assert [r.location for r in ledgers.rows["事故台账"]] == [f"{path}:1", f"{path}:3"]
    units = list(read_units(path, expect=Expect(ledgers={"事故台账": "事故台账"})))
    assert [(u.index, u.unit) for u in units] == [(0, UNIT)]  # renumbered: the event lines are no records
    # read without the ledgers (a policy without any): each event line is an error row, never a unit
    plain = list(read_units(path))
    assert [u.error is not None for u in plain] == [True, False, True]
    assert "ledger event line" in str(plain[0].error)


def test_a_ledger_line_must_be_ledger_and_event_only(tmp_path: Path) -> None:
    path = tmp_path / "units.jsonl"
    path.write_text(json.dumps({"ledger": "事故台账", "evnt": EVENTS[0]}, ensure_ascii=False) + "\n"
                    + json.dumps({"ledger": "事故台账", "event": [1]}) + "\n", "utf-8")
    rows = read_ledgers(path, shapes=SHAPES).rows["事故台账"]
    assert [r.row for r in rows] == [1, 2]
    assert "unknown key(s) 'evnt'" in str(rows[0].error) and "not a JSON object" in str(rows[1].error)
    path.write_text(json.dumps({"ledger": 3, "event": {}}) + "\n", "utf-8")
    with pytest.raises(UnitInputError, match="a ledger line names its ledger"):
        read_ledgers(path, shapes=SHAPES)


CSV = "事故编号,日期,类型,发生地,死亡人数,直接经济损失（万元）,纵火（是/否）\n" \
      "A-1,2013-05-03,道路交通,白碱滩区,2,,\n" \
      ",,,,,,\n" \
      "A-2,2013-07-19,火灾,克拉玛依区,0,12.5,是\n"


def test_a_csv_ledger_reads_like_a_clerks_unit_sheet(tmp_path: Path) -> None:
    path = tmp_path / "accidents.csv"
    path.write_bytes(CSV.encode("gb18030"))  # what Chinese Excel writes as "CSV (逗号分隔)"
    ledgers = read_ledgers(None, [f"事故台账={path}"], shapes=SHAPES)
    assert _events(ledgers) == [
        {"编号": "A-1", "日期": "2013-05-03", "类型": "道路交通", "发生地": "白碱滩区", "死亡人数": "2"},
        {"编号": "A-2", "日期": "2013-07-19", "类型": "火灾", "发生地": "克拉玛依区", "死亡人数": "0",
         "直接经济损失": "12.5万元", "纵火": "是"}]
    rows = ledgers.rows["事故台账"]
    assert [(r.row, r.location) for r in rows] == [(1, f"{path}:2"), (2, f"{path}:4")]  # blank rows are no events
    path.write_bytes(b"\xef\xbb\xbf" + CSV.encode("utf-8"))  # UTF-8 with a BOM
    assert _events(read_ledgers(None, [f"事故台账={path}"], shapes=SHAPES))[1]["纵火"] == "是"


def test_a_csv_column_that_is_no_field_is_one_file_error_with_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "accidents.csv"
    path.write_text("编号,死亡人数数\nA-1,2\n", "utf-8")
    with pytest.raises(UnitInputError, match="is no field of the ledger '事故台账'; did you mean '死亡人数'"):
        read_ledgers(None, [f"事故台账={path}"], shapes=SHAPES)


def test_an_unreadable_row_keeps_its_place_and_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "accidents.csv"
    path.write_text('编号,死亡人数\nA-1,2\nA-2,"[1,\nA-3,1\n', "utf-8")
    path.write_text("编号,死亡人数\nA-1,2\nA-2,[1\nA-3,1\n", "utf-8")
    ledgers = read_ledgers(None, [f"事故台账={path}"], shapes=SHAPES)
    rows = ledgers.rows["事故台账"]
    assert [r.row for r in rows] == [1, 2, 3] and rows[1].error is not None and "invalid JSON" in rows[1].error
    events = ledgers.events()["事故台账"]
    assert isinstance(events[1], UnreadableEvent) and events[1].reason == rows[1].error and not events[1]
    assert ledgers.problems() == [rows[1]]


def test_xlsx_a_sheet_named_after_the_ledger_is_read_with_the_units(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    ledger = book.active
    ledger.title = "事故台账"  # first: the units reader must not take it for the units sheet
    ledger.append(["序号", "编号", "日期", "类型", "发生地", "死亡人数", "占比"])
    ledger.append([1, "A-1", "2013-05-03", "道路交通", "白碱滩区", 2, None])
    ledger.append([2, "A-2", "2013-07-19", "火灾", "克拉玛依区", 0, 0.25])
    ledger["G3"].number_format = "0%"
    units = book.create_sheet("单位")
    units.append(["编号", "名称", "类别", "辖区"])
    units.append(["K1", "白碱滩区", "区县", "白碱滩区"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    ledgers = read_ledgers(path, shapes=SHAPES)
    events = _events(ledgers)
    assert events[0] == {"编号": "A-1", "日期": "2013-05-03", "类型": "道路交通", "发生地": "白碱滩区", "死亡人数": 2}
    assert events[1]["占比"] == "25%" and events[1]["死亡人数"] == 0
    assert ledgers.sources == {"事故台账": f"{path}:事故台账"}
    assert [r.location for r in ledgers.rows["事故台账"]] == [f"{path}:事故台账!row 2", f"{path}:事故台账!row 3"]
    rows = list(read_units(path, expect=Expect(ledgers={"事故台账": "事故台账"})))
    assert [r.unit for r in rows] == [UNIT]
    # a separate workbook by --ledger, with the sheet named
    other = tmp_path / "accidents.xlsx"
    book.save(other)
    again = read_ledgers(None, [f"事故台账={other}#事故台账"], shapes=SHAPES)
    assert _events(again) == events
    with pytest.raises(UnitInputError, match="no sheet 'Sheet9'"):
        read_ledgers(None, [f"事故台账={other}#Sheet9"], shapes=SHAPES)


def test_a_ledger_file_in_json_or_json_lines(tmp_path: Path) -> None:
    array = tmp_path / "accidents.json"
    array.write_text(json.dumps(EVENTS, ensure_ascii=False), "utf-8")
    assert _events(read_ledgers(None, [f"事故台账={array}"], shapes=SHAPES)) == EVENTS
    lines = tmp_path / "accidents.jsonl"
    lines.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in EVENTS) + "\n", "utf-8")
    assert _events(read_ledgers(None, [f"事故台账={lines}"], shapes=SHAPES)) == EVENTS
    assert [r.row for r in read_ledger_file("事故台账", lines)] == [1, 2]


def test_unknown_names_duplicates_and_ledgers_for_a_policy_without_any_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "units.json"
    path.write_text(json.dumps({"units": [UNIT], "ledgers": {"事故台帐": EVENTS}}, ensure_ascii=False), "utf-8")
    with pytest.raises(UnitInputError, match="unknown ledger '事故台帐'; did you mean '事故台账'"):
        read_ledgers(path, shapes=SHAPES)
    with pytest.raises(UnitInputError, match="the policy declares no ledger"):
        read_ledgers(path, shapes={})
    with pytest.raises(UnitInputError, match="the policy declares no ledger"):  # the units reader says it too
        list(read_units(path, expect=Expect()))
    path.write_text(json.dumps({"units": [UNIT], "ledgers": {"事故台账": EVENTS}}, ensure_ascii=False), "utf-8")
    csv_path = tmp_path / "accidents.csv"
    csv_path.write_text(CSV, "utf-8")
    with pytest.raises(UnitInputError, match=f"given twice: in {path} and in {csv_path}"):
        read_ledgers(path, [f"事故台账={csv_path}"], shapes=SHAPES)
    with pytest.raises(UnitInputError, match="expected NAME=FILE"):
        parse_ledger_option("accidents.csv")
    assert parse_ledger_option("事故台账=a#b.xlsx#Sheet 1") == ("事故台账", "a#b.xlsx", "Sheet 1")
    assert parse_ledger_option("事故台账=a#b.csv") == ("事故台账", "a#b.csv", None)
    with pytest.raises(UnitInputError, match="'ledgers' appears twice"):
        path.write_text('{"units": [], "ledgers": {}, "ledgers": {}}', "utf-8")
        read_ledgers(path, shapes=SHAPES)


def test_json_event_numbers_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "units.json"
    path.write_text('{"units": [], "ledgers": {"事故台账": [{"编号": "A-1", "直接经济损失": 0.1}]}}', "utf-8")
    value = _events(read_ledgers(path, shapes=SHAPES))[0]["直接经济损失"]
    assert type(value) is Decimal and value == Decimal("0.1")
