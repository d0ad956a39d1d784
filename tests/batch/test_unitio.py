"""Tests of kaohe_rules.unitio: faithful, float-free, streaming unit readers."""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe_rules.unitio import UnitInputError, UnitRow, detect_format, read_units


def rows(path: Path, **kwargs: str) -> list[UnitRow]:
    return list(read_units(path, **kwargs))


def units(path: Path, **kwargs: str) -> list[dict[str, object]]:
    out = []
    for row in read_units(path, **kwargs):
        assert row.error is None, f"{row.location}: {row.error}"
        assert row.unit is not None
        out.append(dict(row.unit))
    return out


def walk(value: object) -> Iterator[object]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def assert_no_floats(value: object) -> None:
    floats = [v for v in walk(value) if isinstance(v, float)]
    assert floats == []


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("u.json", "json"),
        ("u.jsonl", "jsonl"),
        ("u.ndjson", "jsonl"),
        ("u.csv", "csv"),
        ("u.tsv", "csv"),
        ("u.xlsx", "xlsx"),
        ("dir.v2/U.CSV", "csv"),
    ],
)
def test_detect_format_by_extension(name: str, expected: str) -> None:
    assert detect_format(name) == expected
    assert detect_format(Path(name)) == expected


@pytest.mark.parametrize("name", ["units.txt", "units", "units.xls", "units.json.gz"])
def test_detect_format_rejects_unknown_extension_naming_the_file(name: str) -> None:
    with pytest.raises(UnitInputError, match=name.replace(".", r"\.")):
        detect_format(name)


def test_unknown_format_argument_and_missing_file_fail_before_iteration(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "u.txt", '{"id": "a"}\n')
    with pytest.raises(UnitInputError, match="u.txt"):
        read_units(path)  # not iterated: the check is eager
    with pytest.raises(UnitInputError, match="yaml"):
        read_units(path, format="yaml")
    with pytest.raises(UnitInputError, match="missing.jsonl"):
        read_units(tmp_path / "missing.jsonl")
    with pytest.raises(UnitInputError, match="directory"):
        read_units(tmp_path, format="json")


def test_format_argument_overrides_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "u.txt", '{"id": "a", "facts": {"x": 1}}\n')
    assert units(path, format="jsonl") == [{"id": "a", "facts": {"x": 1}}]
    tsv = write(tmp_path / "u.dat", "id\tx\na\t1,5\n")
    assert units(tsv, format="tsv") == [{"id": "a", "facts": {"x": "1,5"}}]


def test_unit_row_needs_exactly_one_of_unit_and_error() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        UnitRow(0, "x", None, None)
    with pytest.raises(ValueError, match="exactly one"):
        UnitRow(0, "x", {"id": "a", "facts": {}}, "bad")


# --------------------------------------------------------------------- JSON


def test_json_array_numbers_are_decimal_or_int(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.json",
        json.dumps(
            [
                {
                    "id": "A01",
                    "name": "某区政府",
                    "category": "区政府",
                    "facts": {
                        "专项资金预算": 1234567.89,
                        "死亡人数": 3,
                        "比例": "98.5%",
                        "达标": True,
                        "指标": None,
                        "事故": [{"日期": "2024-03-01", "死亡人数": 1, "损失": 0.1}],
                    },
                }
            ],
            ensure_ascii=False,
        ),
    )
    [unit] = units(path)
    facts = unit["facts"]
    assert isinstance(facts, dict)
    assert facts["专项资金预算"] == Decimal("1234567.89")
    assert type(facts["专项资金预算"]) is Decimal
    assert type(facts["死亡人数"]) is int
    assert facts["比例"] == "98.5%"
    assert facts["达标"] is True
    assert facts["指标"] is None
    assert facts["事故"] == [
        {"日期": "2024-03-01", "死亡人数": 1, "损失": Decimal("0.1")}
    ]
    assert type(facts["事故"][0]["损失"]) is Decimal
    assert unit["id"] == "A01" and unit["name"] == "某区政府"
    assert unit["category"] == "区政府"
    assert_no_floats(unit)


def test_json_decimal_keeps_exact_digits(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.json",
        '[{"id": "a", "facts": {"x": 0.1000000000000000000001, "y": 1E+3, "z": 12345678901234567890}}]',
    )
    [unit] = units(path)
    assert unit["facts"] == {
        "x": Decimal("0.1000000000000000000001"),
        "y": Decimal("1E+3"),
        "z": 12345678901234567890,
    }
    assert_no_floats(unit)


def test_json_object_with_units_key_ignores_other_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.json",
        '{"note": "2024年度", "units": [{"id": "a", "category": "企业", "facts": {}}]}',
        bom=True,
    )
    assert units(path) == [{"id": "a", "category": "企业", "facts": {}}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"note": "x"}', "units"),
        ('{"units": {"id": "a"}}', "array"),
        ("42", "top level"),
        ('[{"id": "a",}]', "invalid JSON"),
        ("", "invalid JSON"),
        ('{"units": [], "units": []}', "twice"),
    ],
)
def test_json_whole_file_problems_raise_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "bad units.json", text)
    with pytest.raises(UnitInputError) as info:
        rows(path)
    assert "bad units.json" in str(info.value)
    assert message in str(info.value)


def test_json_non_utf8_is_whole_file_error(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_bytes('[{"id": "甲"}]'.encode("gbk"))
    with pytest.raises(UnitInputError, match="UTF-8"):
        rows(path)


def test_json_bad_elements_are_error_rows_and_reading_continues(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.json",
        '[{"id": "a", "facts": {}}, 7, {"name": "无编号单位", "facts": {}},'
        ' {"id": "b", "facts": {"x": NaN}}, {"id": "c", "facts": {"x": 1, "x": 2}},'
        ' {"id": "d", "facts": {"x": 1.5}}]',
    )
    got = rows(path)
    assert [r.index for r in got] == [0, 1, 2, 3, 4, 5]
    assert [r.location for r in got] == [f"{path}[{i}]" for i in range(6)]
    assert got[0].unit == {"id": "a", "facts": {}}
    assert got[1].unit is None and got[1].error is not None
    assert "not a JSON object" in got[1].error and "number" in got[1].error
    # a unit without an id is passed on: the engine refuses it naming the id and every other problem
    assert got[2].unit == {"name": "无编号单位", "facts": {}}
    assert got[3].error is not None and "NaN" in got[3].error
    assert got[4].error is not None
    assert got[4].error == "facts: 键重复 / duplicate key(s) x"
    assert got[5].error is None
    assert got[5].unit == {"id": "d", "facts": {"x": Decimal("1.5")}}
    assert_no_floats([r.unit for r in got])


def test_json_flat_unit_treats_other_keys_as_facts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.json",
        '[{"编号": "a", "单位": "甲区", "类别": "区政府", "死亡人数": 2, "奖励": 1.25}]',
    )
    assert units(path) == [
        {
            "id": "a",
            "name": "甲区",
            "category": "区政府",
            "facts": {"死亡人数": 2, "奖励": Decimal("1.25")},
        }
    ]


def test_json_unit_shape_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.json",
        json.dumps(
            [
                {"id": "a", "facts": {}, "fact": {"x": 1}},
                {"id": "b", "facts": [1]},
                {"id": 1.5, "facts": {}},
                {"id": "c", "编号": "c2", "facts": {}},
                {"id": "  ", "facts": {}},
                {"id": "d", "category": ["x"], "facts": {}},
                {"id": 1001, "category": "企业", "facts": {}},
            ]
        ),
    )
    got = rows(path)
    errors = [r.error or "" for r in got]
    assert "unknown key" in errors[0] and "'fact'" in errors[0]
    assert "facts must be an object" in errors[1]
    assert "id must be text" in errors[2]
    assert "both give the id" in errors[3]
    assert got[4].unit == {"facts": {}}  # a blank id is no id: the engine refuses it with the rest
    assert "category must be text" in errors[5]
    assert got[6].unit == {"id": "1001", "category": "企业", "facts": {}}


# --------------------------------------------------------------- JSON Lines


def test_jsonl_skips_blank_and_comment_lines_and_reports_bad_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "u.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"  # BOM
        + b'{"id": "a", "facts": {"x": 1.0}}\r\n'
        + b"\n"
        + b"   # a comment\n"
        + b'{"id": "b", "facts": {\n'  # line 4: malformed
        + b"[1, 2]\n"  # line 5: not an object
        + b'{"id": "c\xff"}\n'  # line 6: not UTF-8
        + b'{"id": "d", "facts": {"y": -0.5}}\n'  # line 7
        + b'{"id": "e"}'  # line 8, no final newline
    )
    got = rows(path)
    assert [r.index for r in got] == [0, 1, 2, 3, 4, 5]
    assert [r.location for r in got] == [f"{path}:{n}" for n in (1, 4, 5, 6, 7, 8)]
    assert got[0].unit == {"id": "a", "facts": {"x": Decimal("1.0")}}
    assert got[1].error is not None and "invalid JSON" in got[1].error
    assert got[2].error is not None and "array" in got[2].error
    assert got[3].error is not None and "UTF-8" in got[3].error
    assert got[4].unit == {"id": "d", "facts": {"y": Decimal("-0.5")}}
    assert got[5].unit == {"id": "e", "facts": {}}
    assert_no_floats([r.unit for r in got])


def test_jsonl_keeps_line_separator_characters_inside_strings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.jsonl", '{"id": "a", "facts": {"说明": "一\u2028二\u0085三"}}\n'
    )
    assert units(path) == [{"id": "a", "facts": {"说明": "一\u2028二\u0085三"}}]


def test_jsonl_infinity_is_rejected_not_a_float(tmp_path: Path) -> None:
    path = write(tmp_path / "u.jsonl", '{"id": "a", "facts": {"x": [Infinity]}}\n')
    [row] = rows(path)
    assert row.unit is None
    assert row.error is not None and "Infinity" in row.error


def test_jsonl_streams_without_reading_the_rest(tmp_path: Path) -> None:
    # Read one row, then cut the file back to that row: a streaming reader can
    # only see what it had buffered, one that slurped the file sees everything.
    path = tmp_path / "big.jsonl"
    first = '{"id": "u0", "facts": {"x": 0.5}}\n'
    pad = "x" * 400
    with path.open("w", encoding="utf-8") as f:
        f.write(first)
        for i in range(1, 20_000):
            f.write(f'{{"id": "u{i}", "facts": {{"pad": "{pad}"}}}}\n')
    it = read_units(path)
    row = next(it)
    assert row.unit == {"id": "u0", "facts": {"x": Decimal("0.5")}}
    os.truncate(path, len(first.encode()))
    rest = list(it)
    assert len(rest) < 100


def to_json(value: object) -> str:
    """json.dumps that writes Decimal as a JSON number, exactly as str() gives it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{to_json(k)}: {to_json(v)}" for k, v in value.items())
            + "}"
        )
    return json.dumps(value, ensure_ascii=False)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.text(min_size=1).filter(lambda s: s.strip() != ""),
                "category": st.sampled_from(["区政府", "企业"]),
                "facts": st.dictionaries(
                    st.text(min_size=1),
                    st.one_of(
                        st.integers(),
                        st.decimals(allow_nan=False, allow_infinity=False),
                        st.text(),
                        st.booleans(),
                    ),
                    max_size=4,
                ),
            }
        ),
        max_size=5,
    )
)
def test_jsonl_round_trips_exact_values(
    tmp_path_factory: pytest.TempPathFactory, data: list[dict[str, object]]
) -> None:
    path = tmp_path_factory.mktemp("rt") / "u.jsonl"
    path.write_text("".join(to_json(unit) + "\n" for unit in data), encoding="utf-8")
    got = units(path)
    assert got == data
    assert_no_floats(got)
    for unit in got:
        facts = unit["facts"]
        assert isinstance(facts, dict)
        for value in facts.values():
            if isinstance(value, Decimal):
                # only numbers written with a fraction or exponent become Decimal
                assert any(c in str(value) for c in ".E")


# ---------------------------------------------------------------------- CSV


def test_csv_cells_stay_strings_and_empty_cells_omit_facts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.csv",
        "id,name,category,专项资金预算,比例,死亡控制指标\n"
        "A01,甲区政府,区政府,100万元,98.5%,3\n"
        " A02 , 乙区政府 ,区政府, 1234.50 ,,\n",
    )
    assert units(path) == [
        {
            "id": "A01",
            "name": "甲区政府",
            "category": "区政府",
            "facts": {"专项资金预算": "100万元", "比例": "98.5%", "死亡控制指标": "3"},
        },
        {
            "id": "A02",
            "name": "乙区政府",
            "category": "区政府",
            "facts": {"专项资金预算": "1234.50"},
        },
    ]


def test_csv_with_bom_and_chinese_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.csv",
        "编号,单位,类别,是否达标\r\nB1,某公司,企业,是\r\n",
        bom=True,
    )
    [row] = rows(path)
    assert row.unit == {
        "id": "B1",
        "name": "某公司",
        "category": "企业",
        "facts": {"是否达标": "是"},
    }
    assert row.location == f"{path}:2"


def test_csv_header_aliases_ignore_case_and_blanks(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", " ID ,Name,CATEGORY, 人数 \na,甲,企业,5\n")
    assert units(path) == [
        {"id": "a", "name": "甲", "category": "企业", "facts": {"人数": "5"}}
    ]


def test_csv_json_cells_parse_with_decimal(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.csv",
        "id,category,事故,统计\n"
        'a,区政府,"[{""日期"": ""2024-01-02"", ""死亡人数"": 1, ""损失"": 2.5}]","{""比例"": 0.985}"\n'
        "b,区政府,[],\n",
    )
    got = units(path)
    assert got[0]["facts"] == {
        "事故": [{"日期": "2024-01-02", "死亡人数": 1, "损失": Decimal("2.5")}],
        "统计": {"比例": Decimal("0.985")},
    }
    assert got[1]["facts"] == {"事故": []}
    assert_no_floats(got)


def test_csv_bad_json_cell_is_an_error_row_naming_the_column(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.csv",
        "id,事故,备注\n"
        "a,[],x\n"
        'b,"[{""死亡人数"": 1,]",y\n'
        "c,,{not json\n"
        'd,"[{""x"": 1, ""x"": 2}]",\n'
        "e,[1.25],z\n",
    )
    got = rows(path)
    assert [r.index for r in got] == [0, 1, 2, 3, 4]
    assert [r.location for r in got] == [f"{path}:{n}" for n in (2, 3, 4, 5, 6)]
    assert got[0].unit is not None
    assert got[1].unit is None and got[1].error is not None
    assert "事故" in got[1].error and "invalid JSON" in got[1].error
    assert got[2].error is not None and "备注" in got[2].error
    assert got[3].error is not None and "duplicate key" in got[3].error
    assert got[4].unit == {"id": "e", "facts": {"事故": [Decimal("1.25")], "备注": "z"}}


def test_csv_json_syntax_in_id_name_category_is_plain_text(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", "id,name,category\n[a],{甲},[企业]\n")
    assert units(path) == [
        {"id": "[a]", "name": "{甲}", "category": "[企业]", "facts": {}}
    ]


def test_csv_missing_id_rows_and_following_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", "id,name,x\n,无编号,1\n\n\nb,乙,2\n")
    got = rows(path)
    assert [r.index for r in got] == [0, 1]
    assert got[0].unit == {"name": "无编号", "facts": {"x": "1"}}
    assert got[1].location == f"{path}:5"
    assert got[1].unit == {"id": "b", "name": "乙", "facts": {"x": "2"}}


def test_csv_without_id_column_is_one_header_error(tmp_path: Path) -> None:
    """The header is at fault, not each row (issue #12): one file-level error."""
    path = write(tmp_path / "u.csv", "名称,x\n甲,1\n乙,2\n")
    with pytest.raises(UnitInputError, match="no id column"):
        rows(path)


def test_csv_multiline_cell_location_is_the_first_line(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", 'id,说明\na,"第一行\n第二行"\nb,x\n')
    got = rows(path)
    assert [r.location for r in got] == [f"{path}:2", f"{path}:4"]
    assert got[0].unit == {"id": "a", "facts": {"说明": "第一行\n第二行"}}


def test_csv_value_under_no_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", "id,,x\na,,1\nb,oops,2\nc,3,4,5\nd,,6,\n")
    got = rows(path)
    assert got[0].unit == {"id": "a", "facts": {"x": "1"}}
    assert got[1].error is not None and "column 2" in got[1].error
    assert got[2].error is not None and "column 4" in got[2].error
    assert got[3].unit == {"id": "d", "facts": {"x": "6"}}


@pytest.mark.parametrize("header", ["id,x,x", "id,编号,x", "单位,name,id", "id, x ,x"])
def test_csv_ambiguous_header_is_a_file_error(tmp_path: Path, header: str) -> None:
    path = write(tmp_path / "dup.csv", header + "\na,b,c\n")
    with pytest.raises(UnitInputError, match="dup.csv:1.*duplicate header"):
        rows(path)


def test_csv_empty_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(UnitInputError, match="no header"):
        rows(write(tmp_path / "u.csv", "\n\n"))
    assert rows(write(tmp_path / "h.csv", "id,x\n")) == []


def test_csv_from_chinese_excel_gbk_is_read(tmp_path: Path) -> None:
    """"CSV (逗号分隔)" from Chinese Excel is GBK: detected and read (issue #12), not a codec error."""
    path = tmp_path / "u.csv"
    path.write_bytes("id,单位\na,甲区\n".encode("gbk"))
    assert units(path) == [{"id": "a", "name": "甲区", "facts": {}}]


def test_csv_in_neither_utf8_nor_gb18030_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"id,x\na,\x81\x20\n")  # \x81 starts a GB18030 pair; a blank cannot end it
    with pytest.raises(UnitInputError, match="u.csv"):
        rows(path)
    with pytest.raises(UnitInputError, match="unknown encoding"):
        rows(path, encoding="no-such-codec")


def test_tsv_is_tab_separated(tmp_path: Path) -> None:
    path = write(tmp_path / "u.tsv", "id\tcategory\t金额\na\t企业\t1,000元\n")
    assert units(path) == [
        {"id": "a", "category": "企业", "facts": {"金额": "1,000元"}}
    ]
    assert units(path, format="csv") == units(path)


def test_csv_streams_without_reading_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    head = "id,说明\nu0,x\n"
    with path.open("w", encoding="utf-8") as f:
        f.write(head)
        for i in range(1, 20_000):
            f.write(f"u{i},{'y' * 400}\n")
    it = read_units(path)
    assert next(it).unit == {"id": "u0", "facts": {"说明": "x"}}
    os.truncate(path, len(head.encode()))
    assert len(list(it)) < 100


# --------------------------------------------------------------------- XLSX

openpyxl = pytest.importorskip("openpyxl")


def make_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, data in sheets.items():
        ws = wb.create_sheet(title)
        for r, values in enumerate(data, start=1):
            for c, value in enumerate(values, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    wb.save(path)
    return path


def test_xlsx_cell_types_are_faithful_and_float_free(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "u.xlsx",
        {
            "Sheet1": [
                [
                    "编号",
                    "单位",
                    "类别",
                    "预算",
                    "比例",
                    "人数",
                    "大数",
                    "日期",
                    "时刻",
                    "达标",
                    "事故",
                    "文本",
                ],
                [
                    1001,
                    "甲区",
                    "区政府",
                    1234567.89,
                    0.1,
                    3,
                    1e16,
                    datetime.date(2024, 3, 1),
                    datetime.datetime(2024, 3, 1, 8, 30),
                    True,
                    '[{"死亡人数": 1, "损失": 2.5}]',
                    " 100万元 ",
                ],
            ]
        },
    )
    [row] = rows(path)
    assert row.location == f"{path}:Sheet1!row 2"
    assert row.unit is not None
    assert row.unit["id"] == "1001"
    facts = row.unit["facts"]
    assert facts == {
        "预算": Decimal("1234567.89"),
        "比例": Decimal("0.1"),
        "人数": 3,
        "大数": 10_000_000_000_000_000,
        "日期": "2024-03-01",
        "时刻": "2024-03-01T08:30:00",
        "达标": True,
        "事故": [{"死亡人数": 1, "损失": Decimal("2.5")}],
        "文本": "100万元",
    }
    assert isinstance(facts, dict)
    assert type(facts["预算"]) is Decimal and type(facts["比例"]) is Decimal
    assert type(facts["人数"]) is int and type(facts["大数"]) is int
    assert facts["达标"] is True
    assert_no_floats(row.unit)


def test_xlsx_whole_float_cell_becomes_int(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "u.xlsx", {"S": [["id", "x", "y"], ["a", 2.0, -0.5]]})
    [unit] = units(path)
    assert unit["facts"] == {"x": 2, "y": Decimal("-0.5")}
    facts = unit["facts"]
    assert isinstance(facts, dict)
    assert type(facts["x"]) is int


def test_xlsx_bad_rows_reported_and_blank_rows_skipped(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "u.xlsx",
        {
            "考核": [
                ["id", "category", "事故"],
                ["a", "企业", "[]"],
                [None, None, None],
                ["b", "企业", "[1,"],
                [None, "企业", None],
                [True, "企业", None],
                ["c", "企业", None, "孤值"],
                ["d", "企业", "[0.25]"],
            ]
        },
    )
    got = rows(path)
    assert [r.index for r in got] == [0, 1, 2, 3, 4, 5]
    assert [r.location for r in got] == [
        f"{path}:考核!row {n}" for n in (2, 4, 5, 6, 7, 8)
    ]
    assert got[0].unit == {"id": "a", "category": "企业", "facts": {"事故": []}}
    assert (
        got[1].error is not None
        and "事故" in got[1].error
        and "invalid JSON" in got[1].error
    )
    assert got[2].unit == {"category": "企业", "facts": {}}  # no id: the engine names it
    assert got[3].error is not None and "id must be text" in got[3].error
    assert got[4].error is not None and "column D" in got[4].error
    assert got[5].unit == {
        "id": "d",
        "category": "企业",
        "facts": {"事故": [Decimal("0.25")]},
    }


@pytest.mark.parametrize("title", ["units", "单位", "Units"])
def test_xlsx_prefers_the_units_sheet(tmp_path: Path, title: str) -> None:
    path = make_xlsx(
        tmp_path / "u.xlsx",
        {"说明": [["本表说明"], ["不是单位"]], title: [["id"], ["real"]]},
    )
    got = rows(path)
    assert [r.unit for r in got] == [{"id": "real", "facts": {}}]
    assert got[0].location == f"{path}:{title}!row 2"


def test_xlsx_without_units_sheet_reads_the_first(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "u.xlsx", {"第一": [["id"], ["one"]], "第二": [["id"], ["two"]]}
    )
    assert units(path) == [{"id": "one", "facts": {}}]


def test_xlsx_two_units_sheets_is_a_file_error(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "u.xlsx", {"units": [["id"]], "单位": [["id"]]})
    with pytest.raises(UnitInputError, match="u.xlsx"):
        rows(path)


def test_xlsx_header_not_on_first_row(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "u.xlsx", {"S": [[], [None, None], ["id", "x"], ["a", "1"]]}
    )
    [row] = rows(path)
    assert row.unit == {"id": "a", "facts": {"x": "1"}}
    assert row.location == f"{path}:S!row 4"


def test_xlsx_corrupt_file_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path / "u.xlsx", "not a zip")
    with pytest.raises(UnitInputError, match="u.xlsx"):
        rows(path)


def test_xlsx_without_openpyxl_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_xlsx(tmp_path / "u.xlsx", {"S": [["id"], ["a"]]})
    # A None entry in sys.modules makes importing the module raise ImportError.
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(UnitInputError, match=r"pip install kaohe_rules\[xlsx\]"):
        rows(path)


def test_xlsx_reader_can_stop_early(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "u.xlsx", {"S": [["id"], ["a"], ["b"], ["c"]]})
    it = read_units(path)
    assert next(it).unit == {"id": "a", "facts": {}}
    it.close()  # type: ignore[attr-defined]
    assert list(it) == []


def test_lone_surrogates_are_error_rows_not_crashes(tmp_path: Path) -> None:
    r"""JSON may spell half a surrogate pair ("\ud800"); no text can hold it, so the row is refused."""
    path = tmp_path / "u.jsonl"
    path.write_text('{"id": "a", "category": "c", "name": "\\ud800", "facts": {}}\n'
                    '{"id": "b", "category": "c", "facts": {"\\udfff": 1}}\n'
                    '{"id": "c", "category": "c", "facts": {"x": "\\ud83d\\ude00"}}\n', encoding="utf-8")
    rows = list(read_units(path))
    assert rows[0].error == "name: '\\ud800' 含不成对的代理字符 / '\\ud800' holds a lone surrogate, which is not text"
    assert rows[1].error is not None and "key '\\udfff' holds a lone surrogate" in rows[1].error
    assert rows[2].unit is not None and rows[2].unit["facts"] == {"x": "\U0001F600"}  # a whole pair is text
