"""Streaming readers that turn unit files into raw unit mappings.

The CLI (``kaohe eval POLICY UNITS``) and ``evaluate_many`` read the assessed
units from JSON, JSON Lines, CSV/TSV or XLSX files.  This module's only job is
to deliver *faithful raw values*: typing a value against the policy ("100万元",
"98.5%", "是" ...) is the engine's job, so nothing here interprets a fact.

Two promises matter to the rest of the package:

* **No floats, ever.**  Money and points are exact decimals; a float that
  slipped in here would make 0.1 + 0.2 != 0.3 somewhere in a score.  JSON
  numbers become :class:`decimal.Decimal` (integers stay :class:`int`),
  CSV cells stay strings, and XLSX float cells go through ``Decimal(repr(x))``.
* **One bad record never hides the others.**  A batch of a million units with
  one malformed line must still assess the other 999,999 and say exactly which
  line was wrong, so per-record problems become a :class:`UnitRow` with an
  ``error`` and reading continues.  Only problems that make the whole file
  meaningless (cannot open it, unknown format, unparseable top-level JSON,
  ambiguous header) raise :class:`UnitInputError`.

Every reader is a generator that holds the file open only while it is being
iterated; JSON Lines, CSV and XLSX (read-only mode) stream, so memory does not
grow with the number of units.  A single JSON document is parsed whole (the
format cannot be streamed with the standard library); use JSON Lines for big
batches.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import importlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

import attrs

from .errors import UnitInputError

__all__ = ["UnitInputError", "UnitRow", "detect_format", "read_units"]

#: A raw unit: {"id": str, "name": str (optional), "category": str (optional), "facts": {...}}.
Unit = dict[str, object]

FORMATS = ("json", "jsonl", "csv", "xlsx")

_EXTENSIONS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
}

# Column headers (and flat JSON keys) that are not facts.  The Chinese aliases are
# the headers people actually type in 考核 spreadsheets.  Matching ignores case and
# surrounding blanks so "ID" or " id " in a hand-made sheet is not taken as a fact.
_RESERVED = {
    "id": "id",
    "编号": "id",
    "name": "name",
    "单位": "name",
    "category": "category",
    "类别": "category",
}

# Sheet names that are preferred over "the first sheet" in a workbook.
_UNIT_SHEETS = ("units", "单位")

_MISSING_ID = "缺少 id / missing id"


@attrs.frozen
class UnitRow:
    """One input record, readable or not, in input order.

    Unreadable records are yielded rather than raised so a batch can report
    every bad record with its location and still assess the good ones.
    Exactly one of ``unit`` and ``error`` is set.
    """

    #: 0-based position among the records yielded (blank and comment lines do not count).
    index: int
    #: Where the record is, for humans: "units.csv:14", "units.xlsx:Sheet1!row 5", "units.json[3]".
    location: str
    #: The raw unit {"id", "name"?, "category"?, "facts"}, or None when unreadable.
    unit: Mapping[str, object] | None
    #: Why the record is unreadable, in plain words; None when ``unit`` is set.
    error: str | None

    def __attrs_post_init__(self) -> None:
        if (self.unit is None) == (self.error is None):
            raise ValueError("UnitRow needs exactly one of unit and error")


def detect_format(path: str | os.PathLike[str]) -> str:
    """Return "json", "jsonl", "csv" or "xlsx" from the file extension.

    The extension is the only reliable signal for a file that may be a stream of
    a million lines; sniffing content would need to read it.  ``.ndjson`` is
    JSON Lines and ``.tsv`` is CSV with tabs.

    Raises:
        UnitInputError: the extension is none of .json .jsonl .ndjson .csv .tsv .xlsx.
    """
    shown = os.fspath(path)
    ext = os.path.splitext(shown)[1].lower()
    try:
        return _EXTENSIONS[ext]
    except KeyError:
        raise UnitInputError(
            f"{shown}: 无法识别的单位文件格式 / unknown units file format {ext or '(no extension)'!r};"
            " expected .json, .jsonl, .ndjson, .csv, .tsv or .xlsx (or pass format=)"
        ) from None


def read_units(
    path: str | os.PathLike[str], *, format: str | None = None
) -> Iterator[UnitRow]:
    """Yield one :class:`UnitRow` per record of a units file, in file order.

    ``format`` overrides the extension ("json", "jsonl", "csv", "tsv" or "xlsx");
    "tsv" is CSV with tab separators, as is "csv" on a ``.tsv`` file.

    The format is checked and the file's existence tested before this returns,
    so a wrong command line fails at once; everything else (including
    :class:`UnitInputError` for an unparseable JSON document or a bad header)
    happens while iterating, so streaming formats never hold more than one
    record in memory.  The file is open only while iterating: exhausting the
    iterator, calling its ``close()`` or dropping it closes the file.
    """
    shown = os.fspath(path)
    if format is None:
        fmt = detect_format(path)
    else:
        fmt = format.lower()
        if fmt not in (*FORMATS, "tsv"):
            raise UnitInputError(
                f"{shown}: 未知格式 / unknown format {format!r};"
                " expected one of json, jsonl, csv, tsv, xlsx"
            )
    if not os.path.exists(shown):
        raise UnitInputError(f"{shown}: 文件不存在 / no such file")
    if os.path.isdir(shown):
        raise UnitInputError(f"{shown}: 是目录而不是文件 / is a directory, not a file")
    if fmt == "json":
        return _read_json(shown)
    if fmt == "jsonl":
        return _read_jsonl(shown)
    if fmt in ("csv", "tsv"):
        tabs = fmt == "tsv" or os.path.splitext(shown)[1].lower() == ".tsv"
        return _read_csv(shown, "\t" if tabs else ",")
    return _read_xlsx(shown)


def _open(shown: str, mode: str, **kwargs: Any) -> IO[Any]:
    """open() whose failure is a UnitInputError naming the file, not a bare OSError."""
    try:
        return open(shown, mode, **kwargs)
    except OSError as e:
        raise UnitInputError(
            f"{shown}: 无法读取 / cannot read: {e.strerror or e}"
        ) from e


# --------------------------------------------------------------------------- JSON


class _Duplicated(dict[str, object]):
    """A JSON object that repeated a key.

    ``json`` silently keeps the last of repeated keys, which would drop a fact
    value without a word.  Raising inside the parser would fail the whole
    document, so the object is marked instead and the unit it belongs to
    becomes an error row.
    """

    duplicates: tuple[str, ...] = ()


class _NonFinite:
    """Stands for NaN / Infinity in JSON, which Python would turn into floats."""

    def __init__(self, text: str) -> None:
        self.text = text


def _object_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    repeated: list[str] = []
    for key, _ in pairs:
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    marked = _Duplicated(pairs)
    marked.duplicates = tuple(repeated)
    return marked


def _loads(text: str) -> object:
    """Parse JSON with exact numbers: floats become Decimal, integers int."""
    return _loads_flagged(text)[0]


def _loads_flagged(text: str) -> tuple[object, bool]:
    """:func:`_loads`, and whether the text had a repeated key or NaN/Infinity anywhere.

    Only then is :func:`_json_problems` worth its walk over every value (it builds a
    path for each, and costs more than the parse); the flag is collected by this
    call's own hooks, so concurrent parses cannot see each other's.
    """
    seen: list[bool] = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        obj = _object_pairs(items)
        if obj.__class__ is _Duplicated:
            seen.append(True)
        return obj

    def constant(text: str) -> _NonFinite:
        seen.append(True)
        return _NonFinite(text)

    value = json.loads(text, parse_float=Decimal, parse_int=int, parse_constant=constant, object_pairs_hook=pairs)
    return value, bool(seen) or _SURROGATE_ESCAPE(text) is not None


# "\ud800"-style escapes: JSON may spell half of a surrogate pair, which no text can hold
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]").search


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _json_problems(value: object, where: str = "") -> list[str]:
    """Find repeated keys, NaN/Infinity and lone surrogates anywhere inside a parsed JSON value."""
    problems: list[str] = []
    stack: list[tuple[str, object]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item, _Duplicated):
                keys = ", ".join(item.duplicates)
                problems.append(f"{path or '对象'}: 键重复 / duplicate key(s) {keys}")
            for key, sub in item.items():
                if _lone_surrogate(key):
                    problems.append(f"{path or '对象'}: 键 {ascii(key)} 含不成对的代理字符 / "
                                    f"key {ascii(key)} holds a lone surrogate, which is not text")
                    continue
                stack.append((f"{path}.{key}" if path else key, sub))
        elif isinstance(item, str):
            if _lone_surrogate(item):
                problems.append(f"{path or '值'}: {ascii(item)} 含不成对的代理字符 / "
                                f"{ascii(item)} holds a lone surrogate, which is not text")
        elif isinstance(item, list):
            for i, sub in enumerate(item):
                stack.append((f"{path}[{i}]", sub))
        elif isinstance(item, _NonFinite):
            problems.append(
                f"{path or '值'}: 不允许 {item.text} / {item.text} is not an allowed number"
            )
    problems.reverse()  # the stack visits later keys first
    return problems


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _unit_from_object(obj: object, suspicious: bool = True) -> tuple[Unit | None, str | None]:
    """Turn one parsed JSON unit into a raw unit, or explain why it cannot be one.

    Two shapes are accepted: the canonical {"id", "name", "category", "facts": {...}}
    and the flat shape, without "facts", where every other key is a fact -- the
    same rule as CSV columns, so a CSV row converted to JSON still reads.  In the
    canonical shape an unknown key is an error rather than ignored: a misspelt
    "fact" key would otherwise drop every fact of the unit silently.
    """
    if not isinstance(obj, dict):
        return None, f"不是 JSON 对象 / not a JSON object (got {_json_type(obj)})"
    problems = _json_problems(obj) if suspicious else []  # suspicious=False: parsed clean (_loads_flagged)
    if problems:
        return None, "; ".join(problems)
    fields: dict[str, tuple[str, object]] = {}
    others: dict[str, object] = {}
    facts: object = None
    has_facts = False
    errors: list[str] = []
    for key, value in obj.items():
        role = _RESERVED.get(key.strip().lower())
        if role is not None:
            if role in fields:
                errors.append(
                    f"键 {fields[role][0]!r} 与 {key!r} 重复 / keys {fields[role][0]!r} and"
                    f" {key!r} both give the {role}"
                )
            fields[role] = (key, value)
        elif key == "facts":
            facts, has_facts = value, True
        else:
            others[key] = value
    if not has_facts:
        facts = others
    elif others:
        names = ", ".join(repr(k) for k in others)
        errors.append(
            f'未知的键 / unknown key(s) {names} (facts belong inside "facts")'
        )
    if not isinstance(facts, dict):
        errors.append(
            f"facts 必须是对象 / facts must be an object (got {_json_type(facts)})"
        )
    unit, field_errors = _build_unit(
        {role: value for role, (_, value) in fields.items()},
        facts if isinstance(facts, dict) else {},
    )
    errors.extend(field_errors)
    if errors:
        return None, "; ".join(errors)
    return unit, None


def _build_unit(
    fields: Mapping[str, object],
    facts: dict[str, object],
    missing_id: str = _MISSING_ID,
) -> tuple[Unit, list[str]]:
    """Assemble {"id", "name"?, "category"?, "facts"} and check the three text fields.

    An integer id/name/category is accepted and written as text because
    spreadsheets and databases routinely store 编号 as numbers; anything else
    (a decimal, a boolean, a list) is surely a mistake and is reported.
    """
    errors: list[str] = []
    unit: Unit = {}
    id_given = False
    for role in ("id", "name", "category"):
        value = fields.get(role)
        if isinstance(value, str) and value.strip() == "":
            value = None
        if value is None:
            continue
        id_given = id_given or role == "id"
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            errors.append(
                f"{role} 必须是文本 / {role} must be text or an integer, not {value!r}"
            )
            continue
        unit[role] = value
    if not id_given:
        # Name the unit when we can: "missing id" alone is hard to act on in a big file.
        named = f" (name: {unit['name']})" if "name" in unit else ""
        errors.append(missing_id + named)
    unit["facts"] = facts
    return unit, errors


def _read_json(shown: str) -> Iterator[UnitRow]:
    """Read a JSON document: an array of units or {"units": [...], ...}."""
    try:
        with _open(shown, "r", encoding="utf-8-sig") as f:
            document = json.load(
                f,
                parse_float=Decimal,
                parse_int=int,
                parse_constant=_NonFinite,
                object_pairs_hook=_object_pairs,
            )
    except OSError as e:
        raise UnitInputError(
            f"{shown}: 读取失败 / read failed: {e.strerror or e}"
        ) from e
    except UnicodeDecodeError as e:
        raise UnitInputError(f"{shown}: 不是 UTF-8 文本 / not UTF-8 text: {e}") from e
    except (ValueError, RecursionError) as e:
        raise UnitInputError(f"{shown}: JSON 无效 / invalid JSON: {e}") from e
    if isinstance(document, dict):
        if isinstance(document, _Duplicated) and "units" in document.duplicates:
            raise UnitInputError(
                f'{shown}: 键 "units" 重复 / key "units" appears twice'
            )
        if "units" not in document:
            raise UnitInputError(
                f'{shown}: 顶层对象没有 "units" 键 / top-level object has no "units" key;'
                ' expected an array of units or {"units": [...]}'
            )
        units = document["units"]
        if not isinstance(units, list):
            raise UnitInputError(
                f'{shown}: "units" 必须是数组 / "units" must be an array'
                f" (got {_json_type(units)})"
            )
    elif isinstance(document, list):
        units = document
    else:
        raise UnitInputError(
            f"{shown}: 顶层必须是数组或对象 / top level must be an array of units or"
            f' {{"units": [...]}} (got {_json_type(document)})'
        )
    for index, obj in enumerate(units):
        unit, error = _unit_from_object(obj)
        yield UnitRow(index, f"{shown}[{index}]", unit, error)


#: One record line of a JSON Lines file, read but not parsed: (index, location, text, error);
#: exactly one of text and error is set.  See :func:`read_jsonl_texts`.
JsonlRecord = tuple[int, str, "str | None", "str | None"]


def _read_jsonl(shown: str) -> Iterator[UnitRow]:
    for record in _jsonl_texts(shown):
        yield jsonl_row(record)


def read_jsonl_texts(path: str | os.PathLike[str]) -> Iterator[JsonlRecord]:
    """The record lines of a JSON Lines file, decoded but not parsed; :func:`jsonl_row` parses one.

    Parsing is most of the cost of reading JSON Lines, so a process-parallel batch
    reads lines here in one process and parses them in the workers; the rows are
    the ones :func:`read_units` yields, with the same indexes, locations and errors.
    """
    shown = os.fspath(path)
    if not os.path.exists(shown):
        raise UnitInputError(f"{shown}: 文件不存在 / no such file")
    if os.path.isdir(shown):
        raise UnitInputError(f"{shown}: 是目录而不是文件 / is a directory, not a file")
    return _jsonl_texts(shown)


def jsonl_row(record: JsonlRecord) -> UnitRow:
    """The :class:`UnitRow` of one record line from :func:`read_jsonl_texts`."""
    index, location, text, error = record
    unit: Unit | None = None
    if text is not None:
        try:
            obj, suspicious = _loads_flagged(text)
        except (ValueError, RecursionError) as e:
            error = f"JSON 无效 / invalid JSON: {e}"
        else:
            unit, error = _unit_from_object(obj, suspicious)
    return UnitRow(index, location, unit, error)


def _jsonl_texts(shown: str) -> Iterator[JsonlRecord]:
    with _open(shown, "rb") as f:
        yield from jsonl_stream_texts(f, shown)


def jsonl_stream_texts(stream: IO[bytes], shown: str) -> Iterator[JsonlRecord]:
    """The record lines of JSON Lines read from a binary stream (a file, ``sys.stdin.buffer``).

    The stream is read as bytes and each line decoded on its own, so a line with
    broken UTF-8 is one error row instead of aborting a million-line batch.
    Splitting bytes on b"\\n" also keeps U+2028 (legal inside JSON strings) from
    being taken for a line break, as text-mode universal newlines would.  Blank
    lines and lines starting with ``#`` are skipped and not counted as records.
    """
    index = 0
    lineno = 0
    while True:
        try:
            raw = stream.readline()
        except OSError as e:
            raise UnitInputError(
                f"{shown}:{lineno + 1}: 读取失败 / read failed: {e.strerror or e}"
            ) from e
        if not raw:
            return
        lineno += 1
        if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            yield (index, f"{shown}:{lineno}", None,
                   f"不是 UTF-8 文本 / not UTF-8 text: {e.reason} at byte {e.start}")
        else:
            if not text or text.startswith("#"):
                continue
            yield (index, f"{shown}:{lineno}", text, None)
        index += 1


# ---------------------------------------------------------------------- tabular


@attrs.frozen
class _Columns:
    """Which column holds what, decided once from the header row."""

    id: int | None
    name: int | None
    category: int | None
    facts: tuple[tuple[int, str], ...]
    #: column index -> header, for every named column (used in error messages).
    names: Mapping[int, str]


def _parse_header(names: Sequence[str], where: str) -> _Columns:
    """Map header cells to id/name/category/fact columns.

    A repeated header is a whole-file error: there is no way to know which of
    two "死亡人数" columns is right, and guessing would silently drop data.
    Columns with an empty header are ignored unless a row puts a value there.
    """
    roles: dict[str, int] = {}
    facts: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    named: dict[int, str] = {}
    for col, raw in enumerate(names):
        name = raw.strip()
        if not name:
            continue
        named[col] = name
        role = _RESERVED.get(name.lower())
        key = f"\0{role}" if role else name
        if key in seen:
            first = names[seen[key]].strip()
            raise UnitInputError(
                f"{where}: 表头重复 / duplicate header: columns {first!r} and {name!r}"
                + (f" both give the {role}" if role else "")
            )
        seen[key] = col
        if role:
            roles[role] = col
        else:
            facts.append((col, name))
    return _Columns(
        id=roles.get("id"),
        name=roles.get("name"),
        category=roles.get("category"),
        facts=tuple(facts),
        names=named,
    )


def _same(value: object) -> object:
    return value


def _tabular_unit(
    columns: _Columns,
    cells: Sequence[object],
    convert: Callable[[object], object],
    column_label: Callable[[int], str],
) -> tuple[Unit | None, str | None] | None:
    """Build a raw unit from one CSV/XLSX row; None for a blank row.

    Cells are stripped (stray spaces are an artefact of spreadsheet editing,
    never data) and an empty cell omits the fact, so optional facts and
    defaults work.  A fact cell starting with '[' or '{' is JSON: that is how
    list and record facts are written in a flat table.
    """
    errors: list[str] = []
    values: dict[int, object] = {}
    for col, raw in enumerate(cells):
        try:
            value = convert(raw)
        except ValueError as e:
            label = columns.names.get(col) or column_label(col)
            errors.append(f"列 {label} / column {label}: {e}")
            continue
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
        if value is None:
            continue
        if col not in columns.names:
            label = column_label(col)
            errors.append(
                f"第 {label} 列有值但没有表头 / column {label} has a value but no header"
            )
            continue
        values[col] = value
    if not values and not errors:
        return None
    facts: dict[str, object] = {}
    for col, name in columns.facts:
        if col not in values:
            continue
        value = values[col]
        if isinstance(value, str) and value[0] in "[{":
            try:
                parsed = _loads(value)
            except (ValueError, RecursionError) as e:
                errors.append(
                    f"列 {name} 的 JSON 无效 / column {name}: invalid JSON: {e}"
                )
                continue
            problems = _json_problems(parsed)
            if problems:
                errors.append(f"列 {name} / column {name}: " + "; ".join(problems))
                continue
            value = parsed
        facts[name] = value
    fields = {
        role: values.get(col)
        for role, col in (
            ("id", columns.id),
            ("name", columns.name),
            ("category", columns.category),
        )
        if col is not None
    }
    # Without an id column every row lacks an id; say so, the header is at fault.
    missing_id = (
        _MISSING_ID
        if columns.id is not None
        else (f"{_MISSING_ID}: 表头没有 id / 编号 列 / the header has no id column")
    )
    unit, field_errors = _build_unit(fields, facts, missing_id)
    errors.extend(field_errors)
    if errors:
        return None, "; ".join(errors)
    return unit, None


def _read_csv(shown: str, delimiter: str) -> Iterator[UnitRow]:
    """Read CSV/TSV (UTF-8, optional BOM) row by row; the first non-blank row is the header."""
    with _open(shown, "r", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        columns: _Columns | None = None
        index = 0
        last_line = 0
        while True:
            first_line = (
                last_line + 1
            )  # a quoted cell may span lines; report where the row starts
            try:
                cells = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError, OSError) as e:
                raise UnitInputError(
                    f"{shown}:{reader.line_num or 1}: 无法读取 CSV / cannot read CSV: {e}"
                ) from e
            last_line = reader.line_num
            if columns is None:
                if any(c.strip() for c in cells):
                    columns = _parse_header(cells, f"{shown}:{first_line}")
                continue
            built = _tabular_unit(columns, cells, _same, lambda col: str(col + 1))
            if built is None:
                continue
            unit, error = built
            yield UnitRow(index, f"{shown}:{first_line}", unit, error)
            index += 1
        if columns is None:
            raise UnitInputError(f"{shown}: 没有表头行 / no header row (empty file)")


# ------------------------------------------------------------------------- XLSX


def _column_letter(col: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> A, 26 -> AA)."""
    letters = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _xlsx_value(value: object) -> object:
    """Convert an openpyxl cell value into a faithful raw value without floats.

    Excel stores every number as a float.  ``Decimal(repr(x))`` recovers the
    shortest decimal that round-trips, which is what the cell showed (0.1, not
    0.1000000000000000055...); whole numbers become int so 1E6 reads as 1000000.
    Dates become ISO text, the form the engine parses for ``date`` facts.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"非有限数 / not a finite number: {value!r}")
        number = Decimal(repr(value))
        if number == number.to_integral_value():
            return int(number)
        return number
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise ValueError(f"不支持的单元格值 / unsupported cell value {value!r}")


def _header_text(value: object) -> str:
    try:
        converted = _xlsx_value(value)
    except ValueError:
        converted = value
    return "" if converted is None else str(converted)


def _read_xlsx(shown: str) -> Iterator[UnitRow]:
    """Read the units sheet of a workbook row by row with openpyxl's read-only mode.

    The sheet named "units" or "单位" is used when there is one (so a workbook
    can carry notes on other sheets), otherwise the first sheet.  Formula cells
    give their cached result (``data_only``), i.e. what Excel displays.
    """
    try:
        openpyxl: Any = importlib.import_module("openpyxl")
    except ImportError as e:
        raise UnitInputError(
            f"{shown}: 读取 .xlsx 需要 openpyxl / reading .xlsx needs openpyxl:"
            " pip install kaohe_rules[xlsx]"
        ) from e
    try:
        workbook = openpyxl.load_workbook(shown, read_only=True, data_only=True)
    except Exception as e:  # openpyxl/zipfile raise many unrelated types for a bad file
        raise UnitInputError(f"{shown}: 无法读取 xlsx / cannot read xlsx: {e}") from e
    try:
        yield from _read_workbook(shown, workbook)
    finally:
        workbook.close()


def _read_workbook(shown: str, workbook: Any) -> Iterator[UnitRow]:
    sheets = list(workbook.worksheets)
    preferred = [s for s in sheets if str(s.title).strip().lower() in _UNIT_SHEETS]
    if len(preferred) > 1:
        titles = ", ".join(repr(s.title) for s in preferred)
        raise UnitInputError(
            f"{shown}: 多个单位工作表 / several units sheets ({titles}); keep one"
        )
    if preferred:
        sheet = preferred[0]
    elif sheets:
        sheet = sheets[0]
    else:
        raise UnitInputError(f"{shown}: 没有工作表 / workbook has no worksheet")
    # Files written by other tools may carry a wrong <dimension>; without this
    # reset, read-only mode would trust it and cut rows or columns off.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    columns: _Columns | None = None
    index = 0
    rownum = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            break
        except (
            Exception
        ) as e:  # a corrupt sheet XML surfaces here, in openpyxl's own types
            raise UnitInputError(
                f"{shown}:{sheet.title}!row {rownum + 1}: 无法读取 / cannot read: {e}"
            ) from e
        rownum += 1
        if columns is None:
            names = [_header_text(c) for c in cells]
            if any(n.strip() for n in names):
                columns = _parse_header(names, f"{shown}:{sheet.title}!row {rownum}")
            continue
        built = _tabular_unit(columns, list(cells), _xlsx_value, _column_letter)
        if built is None:
            continue
        unit, error = built
        yield UnitRow(index, f"{shown}:{sheet.title}!row {rownum}", unit, error)
        index += 1
    if columns is None:
        raise UnitInputError(
            f"{shown}:{sheet.title}: 没有表头行 / no header row (empty sheet)"
        )
