"""Streaming readers that turn unit files into raw unit mappings.

The CLI (``kaohe eval POLICY UNITS``) and ``evaluate_many`` read the assessed
units from JSON, JSON Lines, CSV/TSV or XLSX files.  This module's only job is
to deliver *faithful raw values*: typing a value against the policy ("100万元",
"98.5%", "是" ...) is the engine's job, so nothing here interprets a fact.

Two promises matter to the rest of the package:

* **No floats, ever.**  Money and points are exact decimals; a float that
  slipped in here would make 0.1 + 0.2 != 0.3 somewhere in a score.  JSON
  numbers become :class:`decimal.Decimal` (integers stay :class:`int`),
  CSV cells stay strings, and XLSX float cells go through ``Decimal(repr(x))``
  (refused beyond 15 significant digits: that float was computed, not typed).
* **One bad record never hides the others.**  A batch of a million units with
  one malformed line must still assess the other 999,999 and say exactly which
  line was wrong, so per-record problems become a :class:`UnitRow` with an
  ``error`` and reading continues.  Only problems that make the whole file
  meaningless (cannot open it, unknown format, unparseable top-level JSON,
  ambiguous header, not UTF-8 for CSV/JSON, a refused workbook) raise
  :class:`UnitInputError`; nothing else ever escapes a reader.

No file can make a reader hold unbounded memory or overflow the stack (the
limits live in :mod:`kaohe_rules.limits`): a JSON Lines line or CSV row over
MAX_LINE_BYTES, a cell over MAX_TEXT_CHARS, a unit nesting deeper than
MAX_NESTING levels and a number no Decimal holds are error rows; a JSON
document over MAX_DOCUMENT_BYTES and a workbook inflating beyond
MAX_XLSX_INFLATED_BYTES or MAX_XLSX_RATIO are file-level errors.

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
import difflib
import importlib
import json
import math
import os
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Context, Decimal
from typing import IO, TYPE_CHECKING, Any

import attrs

from . import limits
from .errors import UnitInputError
from .messages import JSON_TYPES_ZH, input_error

if TYPE_CHECKING:
    from .language.model import CheckedPolicy
    from .runtime.ledger import LedgerSpec

__all__ = ["Expect", "UnitInputError", "UnitRow", "csv_encoding", "detect_format", "header_fact", "read_units"]

#: A raw unit: {"id": str, "name": str (optional), "category": str (optional), "facts": {...}}.
Unit = dict[str, object]

FORMATS = ("json", "jsonl", "csv", "xlsx", "parquet")

_EXTENSIONS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",  # issue #13: a table of typed columns (pyarrow)
}

# Column headers (and flat JSON keys) that are not facts.  The Chinese aliases are
# the headers people actually type in 考核 spreadsheets.  Matching ignores case and
# surrounding blanks so "ID" or " id " in a hand-made sheet is not taken as a fact.
#: The header roles in Chinese (a repeated header names the role).
_ROLES_ZH = {"id": "编号", "name": "名称", "category": "类别"}

_RESERVED = {
    "id": "id",
    "编号": "id",
    "单位编号": "id",
    "name": "name",
    "单位": "name",
    "名称": "name",
    "单位名称": "name",
    "category": "category",
    "类别": "category",
    "单位类别": "category",
    "序号": "serial",  # the row number Excel sheets start with: read past, never a fact
}

#: What a bracketed suffix of a fact header says about its cells: "（是/否）" nothing (a hint
#: for the clerk), "（万元）" that a bare number is in 万元, "（%）" that a bare number is a
#: percentage.  A header with another bracketed suffix is taken whole (it is probably a fact
#: name, and the policy says whether it knows it).
_HEADER_UNITS = {"是/否": "", "是／否": "", "元": "元", "万元": "万元", "%": "%", "％": "%"}
_HEADER_SUFFIX = re.compile(r"(.+?)\s*[（(]\s*([^（）()]+?)\s*[）)]\s*")
#: a cell that is a bare number (a header's unit is appended to it): digits, sign, ',' and '.'
_BARE_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(?:\.[0-9]+)?")


def header_fact(header: str) -> tuple[str, str]:
    """(fact name, unit of its bare numbers) of a header: "资金（万元）" → ("资金", "万元")."""
    match = _HEADER_SUFFIX.fullmatch(header)
    if match is not None and match.group(2) in _HEADER_UNITS:
        return match.group(1), _HEADER_UNITS[match.group(2)]
    return header, ""

# Sheet names that are preferred over "the first sheet" in a workbook.
_UNIT_SHEETS = ("units", "单位")


#: Bounded reads: what is skipped (an over-long line) or checked (an xlsx member) is read this much at a time.
_CHUNK = 1024 * 1024
#: Characters of a user's text shown in a message.
_SHOWN_CHARS = 60


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


class UnitIds:
    """The unit ids a batch has seen, so that a unit given twice is refused on its second row.

    Two rows of one unit would otherwise both be assessed and both ranked — a silent
    wrong result.  Every reading path of the CLI (serial, and JSON Lines parsed in the
    workers) asks here, so the refusal reads the same whichever way the rows were read.
    """

    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def repeat(self, unit_id: object, location: str) -> str | None:
        """The refusal of a row whose id was seen before (naming both rows), else None (and it is noted)."""
        if not isinstance(unit_id, str):
            return None
        first = self._first.get(unit_id)
        if first is None:
            self._first[unit_id] = location
            return None
        return (f"单位编号重复 / duplicate unit id {unit_id!r}: first given at {first};"
                " only the first is assessed")


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
        raise (input_error("in_unknown_ext", shown=shown, ext=ext) if ext else
               input_error("in_no_ext", shown=shown)) from None


def read_units(
    path: str | os.PathLike[str], *, format: str | None = None, encoding: str | None = None,
    expect: Expect | None = None,
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

    ``encoding`` states a CSV file's encoding; without it UTF-8 (with or without a
    BOM) and GB18030/GBK (what Chinese Excel's "CSV (逗号分隔)" writes) are told apart
    (:func:`csv_encoding`).  ``expect`` (the policy's facts and categories) turns a
    header column that is no fact into one file-level error, and lets a workbook hold
    one sheet per category.
    """
    shown = os.fspath(path)
    if format is None:
        fmt = detect_format(path)
    else:
        fmt = format.lower()
        if fmt not in (*FORMATS, "tsv"):
            raise input_error("in_unknown_format", shown=shown, format=format)
    if not os.path.exists(shown):
        raise input_error("in_no_such_file", shown=shown)
    if os.path.isdir(shown):
        raise input_error("in_is_directory", shown=shown)
    if fmt == "json":
        return _read_json(shown, expect)
    if fmt == "jsonl":
        return _read_jsonl(shown, expect is not None and bool(expect.ledgers))
    if fmt in ("csv", "tsv"):
        tabs = fmt == "tsv" or os.path.splitext(shown)[1].lower() == ".tsv"
        return _read_csv(shown, "\t" if tabs else ",", encoding, expect)
    if fmt == "parquet":
        return read_parquet_rows(shown)
    return _read_xlsx(shown, expect)


def _open(shown: str, mode: str, **kwargs: Any) -> IO[Any]:
    """open() whose failure is a UnitInputError naming the file, not a bare OSError."""
    try:
        return open(shown, mode, **kwargs)
    except OSError as e:
        raise input_error("in_cannot_read", shown=shown, detail=str(e.strerror or e)) from e


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


class _OutOfRange(_NonFinite):
    """Stands for a JSON number no Decimal can hold (``1e99999999999999999999``).

    ``Decimal`` raises InvalidOperation (an ArithmeticError, not a ValueError) for an
    exponent beyond about 10^18; raised inside the parser it would slip past every
    ``except ValueError`` and out of the reader as an internal error, so the value
    is marked instead and its unit becomes an error row.
    """


#: Integer literals up to this many characters become int; longer ones Decimal.  ``int()``
#: refuses more than 4,300 digits (sys.get_int_max_str_digits) and is quadratic in the
#: digit count when that guard is lifted; Decimal reads any length in linear time, and
#: the fact layer refuses a number this long as too large either way.
_INT_CHARS = limits.MAX_NUMBER_TEXT


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


def _decoder(seen: list[bool]) -> json.JSONDecoder:
    """A JSON decoder with exact numbers (floats become Decimal, integers int) that never raises from a hook.

    ``seen`` collects a flag whenever a repeated key, NaN/Infinity or an unreadable
    number turns up, so :func:`_json_problems` (a walk over every value, dearer than the
    parse) runs only when there is something to find; each call gets its own list, so
    concurrent parses cannot see each other's flags.
    """

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        obj = _object_pairs(items)
        if obj.__class__ is _Duplicated:
            seen.append(True)
        return obj

    def constant(text: str) -> _NonFinite:
        seen.append(True)
        return _NonFinite(text)

    def number(text: str) -> object:
        try:
            return Decimal(text)
        except ArithmeticError:  # decimal.InvalidOperation: the exponent is beyond any Decimal
            seen.append(True)
            return _OutOfRange(text)

    def integer(text: str) -> object:
        return int(text) if len(text) <= _INT_CHARS else Decimal(text)

    return json.JSONDecoder(parse_float=number, parse_int=integer, parse_constant=constant,
                            object_pairs_hook=pairs)


def _loads(text: str) -> object:
    """Parse JSON with exact numbers: floats become Decimal, integers int.

    Raises ValueError for invalid JSON and RecursionError for nesting deeper than
    the interpreter's recursion limit (about 1,000); nothing else.
    """
    return _loads_flagged(text)[0]


def _loads_flagged(text: str) -> tuple[object, bool]:
    """:func:`_loads`, and whether the text had a repeated key, NaN/Infinity, an unreadable number or a surrogate escape.

    Only then is :func:`_json_problems` worth its walk over every value (it builds a
    path for each, and costs more than the parse).
    """
    seen: list[bool] = []
    value = _decoder(seen).decode(text)
    return value, bool(seen) or _SURROGATE_ESCAPE(text) is not None


# "\ud800"-style escapes: JSON may spell half of a surrogate pair, which no text can hold
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]").search


def _ascii(text: str) -> str:
    """``ascii(text)`` bounded for messages (a key or value may be a megabyte long)."""
    if len(text) <= _SHOWN_CHARS:
        return ascii(text)
    return ascii(text[:_SHOWN_CHARS]) + f"… ({len(text)} characters)"


def _short(key: str) -> str:
    """A key as it appears in a path inside a message, cut to a readable length."""
    return key if len(key) <= _SHOWN_CHARS else key[:_SHOWN_CHARS] + "…"


#: At most this many problems of one row are spelt out; the rest are counted.
_MAX_PROBLEMS = 10


def _joined(problems: Sequence[str]) -> str:
    """The problems of one row as one message, the first :data:`_MAX_PROBLEMS` in full.

    A row with a million unheaded cells or NaNs must not produce a message that is
    itself a memory problem.
    """
    if len(problems) <= _MAX_PROBLEMS:
        return "; ".join(problems)
    more = len(problems) - _MAX_PROBLEMS
    return "; ".join(problems[:_MAX_PROBLEMS]) + f"; 另有 {more} 个问题 / and {more} more problem(s)"


def _joined_zh(problems: Sequence[str]) -> str:
    """:func:`_joined` for Chinese texts."""
    if len(problems) <= _MAX_PROBLEMS:
        return "；".join(problems)
    return "；".join(problems[:_MAX_PROBLEMS]) + f"；另有 {len(problems) - _MAX_PROBLEMS} 个问题"


def _json_problems(value: object, where: str = "") -> list[str]:
    """Find repeated keys, NaN/Infinity, unreadable numbers and lone surrogates anywhere inside a parsed JSON value."""
    problems: list[str] = []
    stack: list[tuple[str, object]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item, _Duplicated):
                keys = ", ".join(_short(k) for k in item.duplicates[:_MAX_PROBLEMS])
                problems.append(f"{path or '对象'}: 键重复 / duplicate key(s) {keys}")
            for key, sub in item.items():
                if limits.has_lone_surrogate(key):
                    problems.append(f"{path or '对象'}: 键 {_ascii(key)} 含不成对的代理字符 / "
                                    f"key {_ascii(key)} holds a lone surrogate, which is not text")
                    continue
                stack.append((f"{path}.{_short(key)}" if path else _short(key), sub))
        elif isinstance(item, str):
            if limits.has_lone_surrogate(item):
                problems.append(f"{path or '值'}: {_ascii(item)} 含不成对的代理字符 / "
                                f"{_ascii(item)} holds a lone surrogate, which is not text")
        elif isinstance(item, list):
            for i, sub in enumerate(item):
                stack.append((f"{path}[{i}]", sub))
        elif isinstance(item, _OutOfRange):
            number = limits.shown(item.text)
            problems.append(f"{path or '值'}: 数字超出范围 / the number {number} is out of range")
        elif isinstance(item, _NonFinite):
            problems.append(
                f"{path or '值'}: 不允许 {item.text} / {item.text} is not an allowed number"
            )
    problems.reverse()  # the stack visits later keys first
    return problems


def _deeper_than(value: object, levels: int) -> bool:
    """Whether lists and dicts nest more than ``levels`` deep in ``value`` (the value itself is level 1).

    An explicit stack, never recursion: the point is to refuse what would make
    recursive code (``repr``, the fact layer, ``copy.deepcopy``) overflow.  Only
    containers are visited, and the walk stops at the first level too deep.
    """
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > levels:
            return True
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _openers(text: str) -> int:
    """How many '[' and '{' a JSON text holds: a bound on its nesting, counted at C speed."""
    return text.count("[") + text.count("{")


def _unit_levels() -> int:
    """How deep a unit's JSON may nest: the unit and its "facts" object, then MAX_NESTING levels of values."""
    return limits.MAX_NESTING + 2


def _too_deep() -> str:
    return (f"嵌套过深 / nested too deep: lists and records may nest at most "
            f"{limits.MAX_NESTING} levels within a unit (MAX_NESTING)")


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


def _unit_from_object(
    obj: object, suspicious: bool = True, shallow: bool = False
) -> tuple[Unit | None, str | None]:
    """Turn one parsed JSON unit into a raw unit, or explain why it cannot be one.

    Two shapes are accepted: the canonical {"id", "name", "category", "facts": {...}}
    and the flat shape, without "facts", where every other key is a fact -- the
    same rule as CSV columns, so a CSV row converted to JSON still reads.  In the
    canonical shape an unknown key is an error rather than ignored: a misspelt
    "fact" key would otherwise drop every fact of the unit silently.
    """
    if not isinstance(obj, dict):
        return None, f"不是 JSON 对象 / not a JSON object (got {_json_type(obj)})"
    # shallow=True: the text had too few brackets to nest too deep (see jsonl_row)
    if not shallow and _deeper_than(obj, _unit_levels()):
        return None, _too_deep()
    problems = _json_problems(obj) if suspicious else []  # suspicious=False: parsed clean (_loads_flagged)
    if problems:
        return None, _joined(problems)
    fields: dict[str, tuple[str, object]] = {}
    others: dict[str, object] = {}
    facts: object = None
    has_facts = False
    errors: list[str] = []
    for key, value in obj.items():
        role = _RESERVED.get(key.strip().lower())
        if role == "serial":
            continue
        if role is not None:
            if role in fields:
                first, again = _short(fields[role][0]), _short(key)
                errors.append(f"键 {first!r} 与 {again!r} 重复 / keys {first!r} and {again!r} both give the {role}")
            fields[role] = (key, value)
        elif key == "facts":
            facts, has_facts = value, True
        else:
            others[key] = value
    if not has_facts:
        facts = others
    elif others:
        names = ", ".join(repr(_short(k)) for k in list(others)[:_MAX_PROBLEMS])
        if len(others) > _MAX_PROBLEMS:
            names += f" … ({len(others)} keys)"
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
        return None, _joined(errors)
    return unit, None


def _build_unit(
    fields: Mapping[str, object],
    facts: dict[str, object],
) -> tuple[Unit, list[str]]:
    """Assemble {"id"?, "name"?, "category"?, "facts"} and check the three text fields.

    An integer id/name/category is accepted and written as text because
    spreadsheets and databases routinely store 编号 as numbers; anything else
    (a decimal, a boolean, a list) is surely a mistake and is reported.

    A unit without an id (an empty 编号 cell, a template not filled in) is passed on
    without one: the engine refuses it, naming the missing id *and* every other
    problem of the unit at once (runtime.facts.FactCoercer.envelope), so a clerk
    sees every empty cell of the row in one message.
    """
    errors: list[str] = []
    unit: Unit = {}
    for role in ("id", "name", "category"):
        value = fields.get(role)
        if isinstance(value, str) and value.strip() == "":
            value = None
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            errors.append(
                f"{role} 必须是文本 / {role} must be text or an integer, not {limits.shown(value)}"
            )
            continue
        unit[role] = value
    unit["facts"] = facts
    return unit, errors


def _read_json(shown: str, expect: Expect | None = None) -> Iterator[UnitRow]:
    """Read a JSON document: an array of units or {"units": [...], ...}.

    The document is parsed whole, so a syntax error anywhere is one file-level
    error: which rows the text meant is unknowable.  Problems inside one unit
    (not an object, a repeated key, nesting too deep) are error rows for that unit.
    """
    text = _read_document(shown)
    entries: list[tuple[object, str | None]]
    try:
        document = _loads(text)
    except RecursionError:
        # Some value nests ~1,000 deep: find which, unit by unit, so that unit alone is refused.
        entries = _document_entries(text, shown)
    except ValueError as e:
        raise input_error("in_invalid_json", shown=shown, detail=str(e)) from e
    else:
        entries = [(obj, None) for obj in _document_units(document, shown)]
        if expect is not None and not expect.ledgers and isinstance(document, dict) and "ledgers" in document:
            # issue #16: ledgers given to a policy that declares none are refused, never ignored
            given = document["ledgers"]
            first = next(iter(given), "ledgers") if isinstance(given, dict) else "ledgers"
            raise input_error("in_ledger_none", shown=shown, name=first)
    for index, (obj, error) in enumerate(entries):
        unit: Unit | None = None
        if error is None:
            unit, error = _unit_from_object(obj)
        yield UnitRow(index, f"{shown}[{index}]", unit, error)


def _read_document(shown: str) -> str:
    """The text of a whole JSON document, refused beyond MAX_DOCUMENT_BYTES before it is read.

    The size is checked on the open file and again on what is read (a pipe or a
    growing file has no trustworthy size), so at most MAX_DOCUMENT_BYTES + 1 bytes
    are ever held.
    """
    cap = limits.MAX_DOCUMENT_BYTES
    too_big = input_error("in_too_large", shown=shown, cap=cap)
    with _open(shown, "rb") as f:
        try:
            if os.fstat(f.fileno()).st_size > cap:
                raise too_big
            data: bytes = f.read(cap + 1)
        except OSError as e:
            raise input_error("in_read_failed", shown=shown, detail=str(e.strerror or e)) from e
    if len(data) > cap:
        raise too_big
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise input_error("in_not_utf8", shown=shown, detail=str(e)) from e


def _document_units(document: object, shown: str) -> list[object]:
    """The list of units of a parsed document, or a file-level error saying why there is none."""
    if isinstance(document, dict):
        if isinstance(document, _Duplicated) and "units" in document.duplicates:
            raise input_error("in_units_twice", shown=shown)
        if "units" not in document:
            raise input_error("in_no_units_key", shown=shown)
        units = document["units"]
        if not isinstance(units, list):
            raise input_error("in_units_not_array", shown=shown, **_got(_json_type(units)))
        return units
    if isinstance(document, list):
        return document
    raise input_error("in_top_level", shown=shown, **_got(_json_type(document)))



def _got(json_type: str) -> dict[str, str]:
    """The ``got`` fields of a catalogue text: the JSON type's name, in English and in Chinese."""
    return {"got": json_type, "got_zh": JSON_TYPES_ZH.get(json_type, json_type)}


_BLANKS = re.compile(r"[ \t\n\r]*")
#: A string, or a run of opening or of closing brackets: what :func:`_nested_end` steps over.
_NEST_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+', re.S)


def _document_entries(text: str, shown: str) -> list[tuple[object, str | None]]:
    """Parse a document unit by unit, for when parsing it whole overflowed the recursion limit.

    Only the top level (the array, or the object holding "units") is walked here;
    each unit is parsed on its own with the same decoder, and a unit that nests
    too deep for the parser becomes an error entry whose end is found by
    counting brackets (:func:`_nested_end`).  Syntax errors are still file-level.
    """
    decoder = _decoder([])

    def invalid(message: str, pos: int) -> UnitInputError:
        return input_error("in_invalid_json", shown=shown, detail=str(json.JSONDecodeError(message, text, pos)))

    def blank(pos: int) -> int:
        match = _BLANKS.match(text, pos)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def value(pos: int) -> tuple[object, int, bool]:
        """(value, end, too deep) of the JSON value at ``pos``."""
        try:
            obj, end = decoder.raw_decode(text, pos)
        except RecursionError:
            return None, _nested_end(text, pos, shown), True
        except ValueError as e:
            raise input_error("in_invalid_json", shown=shown, detail=str(e)) from e
        return obj, end, False

    def array(pos: int) -> tuple[list[tuple[object, str | None]], int]:
        items: list[tuple[object, str | None]] = []
        pos = blank(pos + 1)
        if text.startswith("]", pos):
            return items, pos + 1
        while True:
            obj, pos, deep = value(pos)
            items.append((None, _too_deep()) if deep else (obj, None))
            pos = blank(pos)
            if text.startswith(",", pos):
                pos = blank(pos + 1)
            elif text.startswith("]", pos):
                return items, pos + 1
            else:
                raise invalid("Expecting ',' delimiter", pos)

    pos = blank(0)
    entries: list[tuple[object, str | None]] | None = None
    if text.startswith("[", pos):
        entries, pos = array(pos)
    elif text.startswith("{", pos):
        pos = blank(pos + 1)
        more = not text.startswith("}", pos)
        while more:
            if not text.startswith('"', pos):
                raise invalid("Expecting property name enclosed in double quotes", pos)
            key, pos, _ = value(pos)
            pos = blank(pos)
            if not text.startswith(":", pos):
                raise invalid("Expecting ':' delimiter", pos)
            pos = blank(pos + 1)
            if key == "units":
                if entries is not None:
                    raise input_error("in_units_twice", shown=shown)
                if not text.startswith("[", pos):
                    obj, pos, deep = value(pos)
                    raise input_error("in_units_not_array", shown=shown, **_got("object" if deep else _json_type(obj)))
                entries, pos = array(pos)
            else:
                _, pos, _ = value(pos)  # other keys are ignored, however deep
            pos = blank(pos)
            if text.startswith(",", pos):
                pos = blank(pos + 1)
            elif text.startswith("}", pos):
                more = False
            else:
                raise invalid("Expecting ',' delimiter", pos)
        pos += 1
        if entries is None:
            raise input_error("in_no_units_key", shown=shown)
    else:  # a scalar cannot overflow the parser, so this is not reached for valid input
        raise invalid("Expecting an array or an object", pos)
    if blank(pos) != len(text):
        raise invalid("Extra data", blank(pos))
    return entries


def _nested_end(text: str, pos: int, shown: str) -> int:
    """The end of the array or object starting at ``text[pos]``, found without recursion.

    Counts brackets outside strings, a run of brackets at a time, so a value of a
    hundred thousand nested brackets costs a few steps.  Only called for a value
    the parser gave up on as too deep, which is refused whatever it holds; brackets
    of the wrong kind inside it are therefore not checked.
    """
    depth = 0
    for match in _NEST_TOKEN.finditer(text, pos):
        start, end = match.span()
        first = text[start]
        if first == '"':
            continue
        if first in "[{":
            depth += end - start
        elif end - start >= depth:
            return start + depth
        else:
            depth -= end - start
    raise input_error("in_invalid_json", shown=shown, detail=str(json.JSONDecodeError("Unbalanced brackets", text, pos)))


#: One record line of a JSON Lines file, read but not parsed: (index, location, text, error);
#: exactly one of text and error is set.  See :func:`read_jsonl_texts`.
JsonlRecord = tuple[int, str, "str | None", "str | None"]


def _read_jsonl(shown: str, ledgers: bool = False) -> Iterator[UnitRow]:
    for record in unit_records(_jsonl_texts(shown), ledgers=ledgers):
        yield jsonl_row(record)


def unit_records(records: Iterator[JsonlRecord], *, ledgers: bool) -> Iterator[JsonlRecord]:
    """The unit records of a JSON Lines stream, renumbered: ledger event lines (issue #16) taken out.

    ``ledgers=True``: the ledger pass (:func:`read_ledgers`) reads them, so they are skipped
    here.  ``ledgers=False`` (a policy without ledgers, or a caller that does not read them):
    each is an error row saying so — never a unit, never silently dropped.  Only a line
    mentioning "ledger" is parsed for this, so a plain units file costs one substring search
    per line.
    """
    index = 0
    for record in records:
        text = record[2]
        if text is not None and '"ledger"' in text:
            obj = _ledger_object(text)
            if obj is not None:
                if ledgers:
                    continue
                record = (record[0], record[1], None, ledger_line_refused(obj.get("ledger")))
        yield (index, record[1], record[2], record[3]) if record[0] != index else record
        index += 1


def read_jsonl_texts(path: str | os.PathLike[str], *, ledgers: bool | None = None) -> Iterator[JsonlRecord]:
    """The record lines of a JSON Lines file, decoded but not parsed; :func:`jsonl_row` parses one.

    Parsing is most of the cost of reading JSON Lines, so a process-parallel batch
    reads lines here in one process and parses them in the workers; the rows are
    the ones :func:`read_units` yields, with the same indexes, locations and errors.
    """
    shown = os.fspath(path)
    if not os.path.exists(shown):
        raise input_error("in_no_such_file", shown=shown)
    if os.path.isdir(shown):
        raise input_error("in_is_directory", shown=shown)
    if ledgers is not None:  # issue #16: the ledger event lines skipped (True) or refused (False)
        return unit_records(_jsonl_texts(shown), ledgers=ledgers)
    return _jsonl_texts(shown)


def jsonl_row(record: JsonlRecord) -> UnitRow:
    """The :class:`UnitRow` of one record line from :func:`read_jsonl_texts`."""
    index, location, text, error = record
    unit: Unit | None = None
    if text is not None:
        unit, error = _unit_from_text(text)
    return UnitRow(index, location, unit, error)


def _unit_from_text(text: str) -> tuple[Unit | None, str | None]:
    """Parse one JSON Lines record into a raw unit, or say why it is not one; never raises.

    Nesting is checked after the parse with an explicit stack (:func:`_deeper_than`),
    and only when the line holds enough brackets to nest too deep at all (counting
    them costs a few microseconds; the walk would cost a fifth of the parse); a line
    nesting past the recursion limit stops the parser with a RecursionError, which
    is caught here: either way it is this line's error row.
    """
    try:
        obj, suspicious = _loads_flagged(text)
    except RecursionError:
        return None, _too_deep()
    except ValueError as e:
        return None, f"JSON 无效 / invalid JSON: {e}"
    return _unit_from_object(obj, suspicious, shallow=_openers(text) <= _unit_levels())


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
    A line longer than MAX_LINE_BYTES is an error row, read past in 1 MiB pieces,
    so memory never grows with the length of one line.
    """
    cap = limits.MAX_LINE_BYTES
    index = 0
    lineno = 0
    while True:
        too_long = False
        try:
            raw = stream.readline(cap + 1)
            if len(raw) > cap and not raw.endswith(b"\n"):
                # Over MAX_LINE_BYTES: skip the rest of the line in bounded pieces, never holding it.
                too_long = True
                while True:
                    rest = stream.readline(_CHUNK)
                    if not rest or rest.endswith(b"\n"):
                        break
        except OSError as e:
            raise input_error("in_read_failed", shown=f"{shown}:{lineno + 1}", detail=str(e.strerror or e)) from e
        if not raw:
            return
        lineno += 1
        if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if too_long:
            if not raw.lstrip().startswith(b"#"):
                yield (index, f"{shown}:{lineno}", None,
                       f"行过长 / line too long: more than {cap:,} bytes (MAX_LINE_BYTES); skipped")
                index += 1
            continue
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
    #: column index -> the unit its header gives bare numbers ("万元", "元", "%"), when it gives one
    units: Mapping[int, str] = attrs.field(factory=dict)
    #: the category of every row without one (the sheet of that category in a workbook)
    category_default: str | None = None


@attrs.frozen
class Expect:
    """What the policy lets a header hold, so a header problem is one file-level error, not one per row.

    ``facts`` are the fact names a column may carry; ``categories`` maps every
    spelling of a category (its name and its label) to its name, for the sheets of a
    workbook named after categories (``kaohe facts --template --format xlsx``).
    """

    facts: frozenset[str] = frozenset()
    categories: Mapping[str, str] = attrs.field(factory=dict)
    #: a fact's label (the column title of a sheet made from the policy's text) → the fact's name
    labels: Mapping[str, str] = attrs.field(factory=dict)
    #: issue #16: every spelling of a ledger (name, label) → its name; its sheet in a workbook is no units sheet,
    #: its JSON Lines event lines are read by the ledger pass, and a document may carry "ledgers"
    ledgers: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def of(cls, checked: CheckedPolicy, ledgers: Sequence[LedgerSpec] = ()) -> Expect:
        """What a units file read for the checked policy may hold.

        A label shared by two facts names neither (it would be a guess), nor does a
        label that is another fact's name.
        """
        by_label: dict[str, list[str]] = {}
        for name, decl in checked.facts.items():
            if decl.label:
                by_label.setdefault(decl.label, []).append(name)
        labels = {label: names[0] for label, names in by_label.items()
                  if len(names) == 1 and label not in checked.facts}
        facts = set(checked.facts)
        if checked.periods is not None:  # issue #11 P: a per-period fact's flat columns 季度扣分.一季度 …
            facts.update(f"{name}.{item.name}" for name in checked.period_facts for item in checked.periods.items)
        return cls(frozenset(facts), category_spellings(checked), labels,
                   ledger_spellings(ledger_shapes(checked, ledgers)))


def category_spellings(checked: CheckedPolicy) -> dict[str, str]:
    """Every accepted spelling of a category — its name, its label — to its name: one rule for every command.

    A name wins over another category's label, as in the fact layer (runtime.facts.FactCoercer.envelope).
    """
    spellings = {info.label: name for name, info in checked.categories.items() if info.label}
    spellings.update({name: name for name in checked.categories})
    return spellings


def _parse_header(names: Sequence[str], where: str, expect: Expect | None = None,
                  category: str | None = None) -> _Columns:
    """Map header cells to id/name/category/fact columns.

    A repeated header is a whole-file error: there is no way to know which of
    two "死亡人数" columns is right, and guessing would silently drop data.
    Columns with an empty header are ignored unless a row puts a value there.
    Every problem of the header is one error (not one per row): no id column,
    and, when the policy is known (``expect``), every column that is no fact of it.
    """
    roles: dict[str, int] = {}
    facts: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    named: dict[int, str] = {}
    units: dict[int, str] = {}
    for col, raw in enumerate(names):
        name = raw.strip()
        if not name:
            continue
        if len(name) > limits.MAX_TEXT_CHARS:
            raise input_error("in_header_cell_long", where=where, col=col + 1, chars=len(name),
                              cap=limits.MAX_TEXT_CHARS)
        named[col] = name
        role = _RESERVED.get(name.lower())
        if role is not None and expect is not None and name in expect.facts:
            role = None  # the policy's own fact names win over the header aliases ("名称", "单位")
        if role == "serial":
            continue
        fact, unit = (name, "") if role else header_fact(name)
        if not role and expect is not None and fact not in expect.facts:
            fact = expect.labels.get(fact, fact)  # a fact's label as its column title
        key = f"\0{role}" if role else fact
        if key in seen:
            first = _short(names[seen[key]].strip())
            raise (input_error("in_header_twice_role", where=where, first=first, second=_short(name), role=role,
                               role_zh=_ROLES_ZH.get(role, role)) if role else
                   input_error("in_header_twice_fact", where=where, first=first, second=_short(name),
                               fact=_short(fact)))
        seen[key] = col
        if role:
            roles[role] = col
        else:
            facts.append((col, fact))
            if unit:
                units[col] = unit
    problems: list[str] = []
    problems_zh: list[str] = []
    if "id" not in roles:
        problems.append("表头没有 id / 编号 列 / the header has no id column (id, 编号 or 单位编号)")
        problems_zh.append("表头没有编号列（id、编号 或 单位编号）")
    if expect is not None and expect.facts:
        for col, fact in facts:
            if fact not in expect.facts:
                match = difflib.get_close_matches(fact, list(expect.facts), n=1, cutoff=0.5)
                hint = f"; did you mean {match[0]!r}?" if match else ""
                problems.append(f"列 {_short(named[col])} 不是本政策的事实 / column {_short(named[col])!r}"
                                f" is no fact of the policy{hint}")
                problems_zh.append(f"列 {_short(named[col])!r} 不是本办法的事实"
                                   + (f"；是不是 {match[0]!r}？" if match else ""))
    if problems:
        raise input_error("in_header", where=where, problems=_joined(problems), problems_zh=_joined_zh(problems_zh))
    return _Columns(
        id=roles.get("id"),
        name=roles.get("name"),
        category=roles.get("category"),
        facts=tuple(facts),
        names=named,
        units=units,
        category_default=category,
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
            errors.append(f"列 {_short(label)} / column {_short(label)}: {e}")
            continue
        if isinstance(value, str):
            if len(value) > limits.MAX_TEXT_CHARS:
                label = _short(columns.names.get(col) or column_label(col))
                errors.append(
                    f"列 {label} 的单元格过长 / column {label}: the cell holds {len(value):,} characters"
                    f" (at most {limits.MAX_TEXT_CHARS:,}, MAX_TEXT_CHARS)"
                )
                continue
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
        unit_of_column = columns.units.get(col)
        if unit_of_column:
            value = _with_unit(value, unit_of_column)
        if isinstance(value, str) and value[0] in "[{":
            label = _short(name)
            try:
                parsed = _loads(value)
            except RecursionError:
                parsed = _TOO_DEEP
            except ValueError as e:
                errors.append(f"列 {label} 的 JSON 无效 / column {label}: invalid JSON: {e}")
                continue
            # the cell is one fact's value: MAX_NESTING levels in all
            if parsed is _TOO_DEEP or (_openers(value) > limits.MAX_NESTING
                                       and _deeper_than(parsed, limits.MAX_NESTING)):
                errors.append(f"列 {label} / column {label}: {_too_deep()}")
                continue
            problems = _json_problems(parsed)
            if problems:
                errors.append(f"列 {label} / column {label}: " + _joined(problems))
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
    if "category" not in fields and columns.category_default is not None:
        fields["category"] = columns.category_default
    unit, field_errors = _build_unit(fields, facts)
    errors.extend(field_errors)
    if errors:
        return None, _joined(errors)
    return unit, None


_TOO_DEEP = object()


def _with_unit(value: object, unit: str) -> object:
    """A bare number of a column whose header gives its unit ("资金（万元）": 120 → "120万元"); else as is.

    A cell that already carries a unit ("120万元", "98%") is left alone, so the fact
    layer reads it, or refuses it, as written.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return f"{value}{unit}"
    if isinstance(value, str) and _BARE_NUMBER.fullmatch(value):
        return value + unit
    return value


#: How much of a CSV file is looked at to tell UTF-8 from GB18030.
_SNIFF_BYTES = 1024 * 1024


def csv_encoding(head: bytes) -> str:
    """The encoding of a CSV file from its first bytes: "utf-8-sig" or "gb18030".

    UTF-8 (a BOM, or bytes that decode as UTF-8) is read as UTF-8; anything else as
    GB18030, the superset of GBK that Chinese Excel and WPS write as "CSV (逗号分隔)".
    Chinese text in GBK is practically never valid UTF-8 over more than a few
    characters, so the test is safe; ``--encoding`` states it when it is not.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _csv_encoding(shown: str, encoding: str | None) -> str:
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise input_error("in_unknown_encoding", shown=shown, encoding=encoding) from None
        return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    with _open(shown, "rb") as f:
        try:
            head = f.read(_SNIFF_BYTES)
        except OSError as e:
            raise input_error("in_read_failed", shown=shown, detail=str(e.strerror or e)) from e
    return csv_encoding(head)


def _read_csv(shown: str, delimiter: str, encoding: str | None = None,
              expect: Expect | None = None) -> Iterator[UnitRow]:
    """Read CSV/TSV (UTF-8, optional BOM) row by row; the first non-blank row is the header.

    A row the csv module cannot read (longer than MAX_LINE_BYTES characters, or a
    csv error) is an error row and reading goes on with the next row; only the
    header, the encoding and the file itself are file-level.  A cell longer than
    MAX_TEXT_CHARS is an error row naming the column (:func:`_tabular_unit`).
    """
    chosen = _csv_encoding(shown, encoding)
    with _open(shown, "r", encoding=chosen, newline="") as f:
        lines = _CsvLines(f, limits.MAX_LINE_BYTES)
        reader = csv.reader(lines, delimiter=delimiter)
        columns: _Columns | None = None
        index = 0
        while True:
            first_line = lines.lines + 1  # a quoted cell may span lines; report where the row starts
            lines.new_row()
            problem: str | None = None
            problem_zh: str | None = None
            try:
                with _WIDE_CSV_FIELDS:
                    cells = next(reader)
            except StopIteration:
                break
            except _RowTooLong:
                problem = (f"行过长 / row too long: more than {lines.limit:,} characters"
                           " (MAX_LINE_BYTES); skipped")
                problem_zh = f"行过长：超过 {lines.limit:,} 个字符（MAX_LINE_BYTES）"
            except csv.Error as e:
                lines.skip_row()
                problem = f"无法读取 CSV / cannot read CSV: {e}"
                problem_zh = f"无法读取 CSV：{e}"
            except (UnicodeDecodeError, OSError) as e:
                raise input_error("in_csv_encoding", shown=f"{shown}:{first_line}", encoding=chosen,
                                  detail=str(e)) from e
            if problem is not None:
                if columns is None:
                    raise input_error("in_header", where=f"{shown}:{first_line}", problems=problem,
                                      problems_zh=problem_zh)
                yield UnitRow(index, f"{shown}:{first_line}", None, problem)
                index += 1
                continue
            if columns is None:
                if any(c.strip() for c in cells):
                    columns = _parse_header(cells, f"{shown}:{first_line}", expect)
                continue
            built = _tabular_unit(columns, cells, _same, lambda col: str(col + 1))
            if built is None:
                continue
            unit, error = built
            yield UnitRow(index, f"{shown}:{first_line}", unit, error)
            index += 1
        if columns is None:
            raise input_error("in_no_header_file", shown=shown)


class _RowTooLong(Exception):
    """Raised by :class:`_CsvLines` into the csv reader: the row being read passed the limit."""


class _CsvLines:
    """The lines of a CSV file for ``csv.reader``, with a bound on the characters of one row.

    ``csv.reader`` pulls lines from any iterator and pulls more while a quoted cell
    spans lines, so the row being read is exactly what it pulled since
    :meth:`new_row`.  Past ``limit`` characters this raises :class:`_RowTooLong`
    through the reader, after skipping the rest of the row, so neither a file
    without newlines nor a quote that is never closed can make one row hold the
    file in memory.  Where a row ends is judged by counting quote characters: a
    line ending with an even count ends the row (a quoted cell toggles the count
    twice, and an escaped quote is doubled); this is the csv module's own rule,
    except for a stray quote inside an unquoted cell.
    """

    def __init__(self, f: IO[str], limit: int) -> None:
        self._f = f
        self.limit = limit
        #: lines read to their end so far, for locations (csv.reader's line_num misses skipped lines)
        self.lines = 0
        self._taken = 0
        self._quotes = 0
        self._ended = True

    def __iter__(self) -> _CsvLines:
        return self

    def new_row(self) -> None:
        self._taken = 0
        self._quotes = 0

    def __next__(self) -> str:
        line = self._f.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self._count(line)
        self._taken += len(line)
        if self._taken > self.limit:
            self.skip_row()
            raise _RowTooLong
        return line

    def skip_row(self) -> None:
        """Read past the rest of the current row in bounded pieces, keeping none of it."""
        while not (self._ended and self._quotes % 2 == 0):
            piece = self._f.readline(_CHUNK)
            if not piece:
                return
            self._count(piece)

    def _count(self, piece: str) -> None:
        self._quotes += piece.count('"')
        self._ended = piece.endswith(("\n", "\r"))
        if self._ended:
            self.lines += 1


class _WideCsvFields:
    """Lets ``csv`` read cells up to MAX_LINE_BYTES characters while a kaohe reader reads a row.

    ``csv.field_size_limit`` is process-global (131,072 by default) and a longer
    cell raises csv.Error in the middle of a row.  The readers raise it around each
    ``next(reader)`` only, and put the old value back before yielding, so code
    elsewhere in the process sees its own limit except while a row is being read
    (another thread reading CSV at that moment sees the higher limit).  A count of
    readers inside, under a lock, keeps concurrent readers from restoring each
    other's value.  Cells over MAX_TEXT_CHARS but within the row limit then reach
    :func:`_tabular_unit`, which refuses them naming the column.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._saved = 0

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._saved = csv.field_size_limit()
                csv.field_size_limit(max(self._saved, limits.MAX_LINE_BYTES + 1))
            self._inside += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                csv.field_size_limit(self._saved)


_WIDE_CSV_FIELDS = _WideCsvFields()


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
        return _typed_number(value, "type the number into the cell, or give it as text")
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise ValueError(f"不支持的单元格值 / unsupported cell value {value!r}")


#: Quoted text and backslash-escaped characters of a number format: a '%' there is a literal, not a percent.
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.')


def is_percent_format(number_format: object) -> bool:
    """Whether an Excel number format shows the cell as a percentage ("0%", "0.00%", not '0"%"')."""
    return isinstance(number_format, str) and "%" in _FORMAT_LITERALS.sub("", number_format)


def _xlsx_cell(cell: Any) -> object:
    """A cell's faithful raw value, read with its number format: a percent cell is given as "98%".

    Excel stores a cell formatted as percent as the fraction (98% is 0.98, 100% is 1);
    the bare number would read as 0.98% (or be refused as ambiguous), so such a cell is
    given as the percentage it shows, which reads the same in every format.  Any other
    cell is :func:`_xlsx_value` of its value.
    """
    value = cell.value
    if (isinstance(value, (int, float)) and not isinstance(value, bool)
            and is_percent_format(getattr(cell, "number_format", None))):
        number = _xlsx_value(value)
        assert isinstance(number, (int, Decimal))
        return format(Decimal(number).scaleb(2).normalize(), "f") + "%"
    return _xlsx_value(value)


def _header_text(value: object) -> str:
    try:
        converted = _xlsx_value(value)
    except ValueError:
        converted = value
    return "" if converted is None else str(converted)


def _read_xlsx(shown: str, expect: Expect | None = None) -> Iterator[UnitRow]:
    """Read the units sheet of a workbook row by row with openpyxl's read-only mode.

    The sheet named "units" or "单位" is used when there is one (so a workbook
    can carry notes on other sheets), otherwise the first sheet.  Formula cells
    give their cached result (``data_only``), i.e. what Excel displays.
    """
    try:
        openpyxl: Any = importlib.import_module("openpyxl")
    except ImportError as e:
        raise input_error("in_needs_openpyxl", shown=shown) from e
    with _open(shown, "rb") as f:
        _check_archive(f, shown)
        try:
            f.seek(0)
            workbook = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except Exception as e:  # openpyxl/zipfile raise many unrelated types for a bad file
            raise input_error("in_cannot_read_xlsx", shown=shown, detail=str(e)) from e
        try:
            yield from _read_workbook(shown, workbook, expect)
        finally:
            workbook.close()


def _check_archive(f: IO[bytes], shown: str) -> None:
    """Refuse a workbook that would inflate beyond the limits, before openpyxl sees it.

    An .xlsx is a zip archive: 1.5 MB of deflated XML can inflate to 1.5 GB, and
    openpyxl reads some members (styles, the workbook part) whole.  Three checks,
    all in bounded memory:

    * the zip directory: the file and the members' declared sizes in all are at
      most MAX_XLSX_INFLATED_BYTES, and no member over 1 MiB
      (XLSX_RATIO_FLOOR_BYTES) inflates more than MAX_XLSX_RATIO times;
    * only stored and deflated members, unencrypted (what every spreadsheet
      program writes; bzip2 and lzma would inflate a whole read at once);
    * the directory can lie, so each member is inflated here, 1 MiB at a time and
      thrown away, and refused if it yields more than its declared size.  zipfile
      never feeds a reader more than the member's declared compressed bytes, so what
      openpyxl can inflate is then bounded by the declared sizes checked above.
    """
    def refuse(why: str) -> UnitInputError:
        return input_error("in_refused_xlsx", shown=shown, detail=why)

    cap, ratio, floor = limits.MAX_XLSX_INFLATED_BYTES, limits.MAX_XLSX_RATIO, limits.XLSX_RATIO_FLOOR_BYTES
    try:
        if os.fstat(f.fileno()).st_size > cap:
            raise refuse(f"the file is larger than {cap:,} bytes (MAX_XLSX_INFLATED_BYTES)")
        with zipfile.ZipFile(f) as archive:
            members = archive.infolist()
    except UnitInputError:
        raise
    except Exception as e:  # BadZipFile, OSError, and zipfile's ValueError/struct.error on a mangled directory
        raise input_error("in_cannot_read_xlsx", shown=shown, detail=str(e)) from e
    total = 0
    for info in members:
        name = limits.shown(info.filename)
        if info.flag_bits & 0x1:
            raise refuse(f"member {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refuse(f"member {name} uses compression method {info.compress_type};"
                         " an .xlsx is stored or deflated")
        total += info.file_size
        if total > cap:
            raise refuse(f"its members inflate to more than {cap:,} bytes (MAX_XLSX_INFLATED_BYTES)"
                         " — a decompression bomb?")
        if info.file_size > floor and info.file_size > ratio * max(info.compress_size, 1):
            raise refuse(
                f"member {name} inflates {info.file_size // max(info.compress_size, 1):,} times"
                f" ({info.compress_size:,} to {info.file_size:,} bytes); at most {ratio} times"
                f" (MAX_XLSX_RATIO) for a member over {floor:,} bytes — a decompression bomb?"
            )
    for info in members:
        if info.compress_type == zipfile.ZIP_DEFLATED:
            try:
                produced = _inflated_size(f, info)
            except (OSError, zlib.error, struct.error) as e:
                raise input_error("in_cannot_read_xlsx", shown=shown, detail=str(e)) from e
            if produced > info.file_size:
                raise refuse(f"member {limits.shown(info.filename)} inflates to more than the"
                             f" {info.file_size:,} bytes its directory entry declares")


def _inflated_size(f: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Inflate one deflated member 1 MiB at a time, discarding the output; stop once past its declared size.

    Returns the bytes produced (at most the declared size + 1 MiB).  The member's
    data starts after its local header, as zipfile finds it; only the declared
    compressed size is read, as zipfile reads it.
    """
    f.seek(info.header_offset)
    header = f.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise OSError(f"bad local header for {limits.shown(info.filename)}")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    f.seek(info.header_offset + 30 + name_length + extra_length)
    inflater = zlib.decompressobj(-15)
    remaining = info.compress_size
    produced = 0
    while remaining > 0 and not inflater.eof and produced <= info.file_size:
        chunk = f.read(min(_CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        produced += len(inflater.decompress(chunk, _CHUNK))
        while inflater.unconsumed_tail and produced <= info.file_size:
            produced += len(inflater.decompress(inflater.unconsumed_tail, _CHUNK))
    return produced


def _read_workbook(shown: str, workbook: Any, expect: Expect | None = None) -> Iterator[UnitRow]:
    """The unit rows of a workbook: its sheets named after categories, else its units sheet.

    A workbook whose sheets are named after the policy's categories (by name or
    label, as ``kaohe facts --template --format xlsx`` writes it) is read sheet by
    sheet, each row of the category of its sheet; other sheets (the instructions)
    are left alone.  Otherwise the sheet named "units" or "单位" is read, or the first.
    """
    sheets = list(workbook.worksheets)
    if expect is not None and expect.ledgers:  # issue #16: a ledger's sheet is read by the ledger pass
        sheets = [s for s in sheets if str(s.title).strip() not in expect.ledgers]
    categories = expect.categories if expect is not None else {}
    by_category = [(s, categories[str(s.title).strip()]) for s in sheets if str(s.title).strip() in categories]
    if by_category:
        index = 0
        for sheet, category in by_category:
            for row in _read_sheet(shown, sheet, index, category, expect, required=False):
                yield row
                index = row.index + 1
        if index == 0:  # a template nobody filled in: refused, never an empty 通报 with exit status 0
            titles = ", ".join(str(s.title) for s, _ in by_category)
            raise input_error("in_template_empty", shown=shown, titles=titles)
        return
    preferred = [s for s in sheets if str(s.title).strip().lower() in _UNIT_SHEETS]
    if len(preferred) > 1:
        titles = ", ".join(repr(s.title) for s in preferred)
        raise input_error("in_sheets_twice", shown=shown, titles=titles)
    if preferred:
        sheet = preferred[0]
    elif sheets:
        sheet = sheets[0]
    else:
        raise input_error("in_no_sheet", shown=shown)
    yield from _read_sheet(shown, sheet, 0, None, expect, required=True)


def _read_sheet(shown: str, sheet: Any, index: int, category: str | None, expect: Expect | None,
                *, required: bool) -> Iterator[UnitRow]:
    """The rows of one sheet, numbered from ``index``; ``category`` is the category of rows without one."""
    # Files written by other tools may carry a wrong <dimension>; without this
    # reset, read-only mode would trust it and cut rows or columns off.
    sheet.reset_dimensions()
    rows = sheet.iter_rows()  # cells, not values: a percent cell is read with its number format
    columns: _Columns | None = None
    rownum = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            break
        except (
            Exception
        ) as e:  # a corrupt sheet XML surfaces here, in openpyxl's own types
            raise input_error("in_cannot_read_row", shown=shown, sheet=sheet.title, row=rownum + 1,
                              detail=str(e)) from e
        rownum += 1
        if columns is None:
            names = [_header_text(c.value) for c in cells]
            if any(n.strip() for n in names):
                columns = _parse_header(names, f"{shown}:{sheet.title}!row {rownum}", expect, category)
            continue
        built = _tabular_unit(columns, list(cells), _xlsx_cell, _column_letter)
        if built is None:
            continue
        unit, error = built
        yield UnitRow(index, f"{shown}:{sheet.title}!row {rownum}", unit, error)
        index += 1
    if columns is None and required:
        raise input_error("in_no_header_sheet", shown=shown, sheet=sheet.title)


# ---------------------------------------------------------------------- ledgers
#
# Issue #16: a ledger is a list of events (accidents, 预扣分 …) supplied once per batch,
# beside the units.  The readers below deliver each ledger's events as raw records, each
# with its 1-based row in its ledger and where it was read; typing a field ("是", "98%",
# "120万元") is the engine's job, exactly as for unit facts.  A row that cannot be read is
# kept, with its error, at its position: the engine then treats it as an event whose
# fields nobody can read (it names the row), so no row is ever lost or renumbered.


@attrs.frozen
class LedgerRow:
    """One event row of a ledger, readable or not; exactly one of ``event`` and ``error`` is set."""

    ledger: str
    #: 1-based position of the event in its ledger (the row the engine and the reports name).
    row: int
    #: where the row is, for humans: "units.json:ledgers.事故台账[2]", "accidents.csv:4", "units.jsonl:17"
    location: str
    event: Mapping[str, object] | None
    error: str | None

    def __attrs_post_init__(self) -> None:
        if (self.event is None) == (self.error is None):
            raise ValueError("LedgerRow needs exactly one of event and error")


@attrs.frozen
class LedgerShape:
    """What a ledger's table may hold: its record's fields, and their labels as column titles."""

    name: str
    label: str | None
    fields: frozenset[str]
    #: a field's label (a column title made from the policy's text) → the field's name
    labels: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def of(cls, checked: CheckedPolicy, spec: LedgerSpec) -> LedgerShape:
        record = checked.records.get(spec.record)
        fields = tuple(record.fields) if record is not None else ()
        names = frozenset(f.name for f in fields)
        by_label: dict[str, list[str]] = {}
        for f in fields:
            if f.label:
                by_label.setdefault(f.label, []).append(f.name)
        labels = {label: found[0] for label, found in by_label.items() if len(found) == 1 and label not in names}
        return cls(spec.name, spec.label, names, labels)


def ledger_shapes(checked: CheckedPolicy, specs: Sequence[LedgerSpec]) -> dict[str, LedgerShape]:
    """The shape of every ledger of a policy, by name (``Program.ledgers`` gives the specs)."""
    return {spec.name: LedgerShape.of(checked, spec) for spec in specs}


def ledger_spellings(shapes: Mapping[str, LedgerShape]) -> dict[str, str]:
    """Every accepted spelling of a ledger's sheet — its name, its label — to its name (a name wins)."""
    spellings = {s.label: name for name, s in shapes.items() if s.label}
    spellings.update({name: name for name in shapes})
    return spellings


@attrs.frozen
class Ledgers:
    """The ledgers read for one batch: each ledger's rows, in order, and where each ledger came from."""

    rows: Mapping[str, tuple[LedgerRow, ...]] = attrs.field(factory=dict)
    #: ledger name → where it was read ("units.json", "accidents.csv", "book.xlsx:事故台账")
    sources: Mapping[str, str] = attrs.field(factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def events(self) -> dict[str, list[Mapping[str, object]]]:
        """The raw events per ledger, as the Policy API takes them (``ledgers=``).

        A row that could not be read is passed on as an :class:`UnreadableEvent` at its
        position, so the rows after it keep their numbers and the engine reports it.
        """
        return {name: [r.event if r.event is not None else UnreadableEvent(r.error or "")
                       for r in rows] for name, rows in self.rows.items()}

    def problems(self) -> list[LedgerRow]:
        """The rows that could not be read, in ledger order."""
        return [r for rows in self.rows.values() for r in rows if r.error is not None]


class UnreadableEvent(dict[str, object]):
    """An event row that could not be read: an empty record that remembers why (``reason``).

    It is a mapping so that every consumer of raw events takes it; it holds no field, so
    every field the attribution rules read is missing and the event is reported as a
    ledger problem that cannot be attributed — never dropped, never charged to a unit.
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def is_ledger_line(obj: object) -> bool:
    """Whether a parsed JSON Lines record is a ledger event line ``{"ledger": NAME, "event": {…}}``.

    A unit always has an id (a record without one is refused as a unit), so an object
    with a "ledger" key and no id key reads one way only.
    """
    return isinstance(obj, dict) and "ledger" in obj and not any(
        _RESERVED.get(str(k).strip().lower()) == "id" for k in obj)


def _ledger_object(text: str) -> dict[str, object] | None:
    """The parsed ledger line of a JSON Lines record text, or None; parses only texts that mention "ledger"."""
    if '"ledger"' not in text:
        return None
    try:
        obj = _loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) and is_ledger_line(obj) else None


def ledger_line_refused(name: object) -> str:
    """The error row of a ledger line read for a policy that declares no ledger (never a unit, never dropped)."""
    return (f"台账事件行 / a ledger event line (ledger {limits.shown(name)}), but the policy declares no ledger"
            " (or the ledgers were not read): it is not a unit")


def parse_ledger_option(option: str) -> tuple[str, str, str | None]:
    """``NAME=FILE`` or ``NAME=book.xlsx#SHEET`` → (name, file, sheet or None)."""
    name, sep, path = option.partition("=")
    name, path = name.strip(), path.strip()
    if not sep or not name or not path:
        raise input_error("in_ledger_option", option=option)
    sheet: str | None = None
    base, hash_, rest = path.rpartition("#")
    if hash_ and os.path.splitext(base)[1].lower() == ".xlsx" and rest:
        path, sheet = base, rest
    return name, path, sheet


def _event_from_object(obj: object) -> tuple[Mapping[str, object] | None, str | None]:
    """A parsed JSON event as a raw record, or why it is not one (never raises)."""
    if not isinstance(obj, dict):
        return None, f"不是 JSON 对象 / not a JSON object (got {_json_type(obj)})"
    if _deeper_than(obj, limits.MAX_NESTING + 1):
        return None, _too_deep()
    problems = _json_problems(obj)
    if problems:
        return None, _joined(problems)
    return obj, None


def _check_name(name: str, shown: str, shapes: Mapping[str, LedgerShape] | None) -> None:
    """Refuse a ledger name the policy does not declare (with did-you-mean), or any ledger for a policy without."""
    if shapes is None or name in shapes:
        return
    if not shapes:
        raise input_error("in_ledger_none", shown=shown, name=name)
    match = difflib.get_close_matches(name, list(shapes), n=1, cutoff=0.4)
    raise input_error("in_ledger_unknown", shown=shown, name=name, known="、".join(shapes),
                      hint=f"; did you mean {match[0]!r}?" if match else "",
                      hint_zh=f"；是不是 {match[0]!r}？" if match else "")


def _json_ledgers(obj: object, shown: str, shapes: Mapping[str, LedgerShape] | None) -> dict[str, list[LedgerRow]]:
    """The ledgers of a parsed ``"ledgers"`` object: ``{NAME: [event, …]}``."""
    if not isinstance(obj, dict):
        raise input_error("in_ledgers_not_object", shown=shown, **_got(_json_type(obj)))
    if isinstance(obj, _Duplicated) and obj.duplicates:
        raise input_error("in_ledgers_twice", shown=shown, what=f"ledgers.{obj.duplicates[0]}")
    out: dict[str, list[LedgerRow]] = {}
    for name, events in obj.items():
        _check_name(name, shown, shapes)
        if not isinstance(events, list):
            raise input_error("in_ledger_not_array", shown=shown, name=name, **_got(_json_type(events)))
        rows = []
        for i, item in enumerate(events):
            event, error = _event_from_object(item)
            rows.append(LedgerRow(name, i + 1, f"{shown}:ledgers.{name}[{i}]", event, error))
        out[name] = rows
    return out


def _document_ledgers(shown: str, shapes: Mapping[str, LedgerShape] | None) -> dict[str, list[LedgerRow]]:
    """The ``"ledgers"`` of a JSON units document ({"units": [...], "ledgers": {...}}); {} without."""
    text = _read_document(shown)
    if '"ledgers"' not in text:
        return {}
    try:
        document = _loads(text)
    except RecursionError:
        raise input_error("in_invalid_json", shown=shown, detail=_too_deep()) from None
    except ValueError as e:
        raise input_error("in_invalid_json", shown=shown, detail=str(e)) from e
    if not isinstance(document, dict) or "ledgers" not in document:
        return {}
    if isinstance(document, _Duplicated) and "ledgers" in document.duplicates:
        raise input_error("in_ledgers_twice", shown=shown, what="ledgers")
    return _json_ledgers(document["ledgers"], shown, shapes)


def _jsonl_ledgers(records: Iterator[JsonlRecord], shapes: Mapping[str, LedgerShape] | None
                   ) -> dict[str, list[LedgerRow]]:
    """The event lines of a JSON Lines units stream (anywhere in it), per ledger, in stream order."""
    out: dict[str, list[LedgerRow]] = {}
    for _, location, text, _error in records:
        obj = _ledger_object(text) if text is not None else None
        if obj is None:
            continue
        name = obj["ledger"]
        if not isinstance(name, str):
            raise input_error("in_ledger_line", shown=location, **_got(_json_type(name)))
        _check_name(name, location, shapes)
        rows = out.setdefault(name, [])
        others = [k for k in obj if k not in ("ledger", "event")]
        event: Mapping[str, object] | None = None
        if others:
            keys = ", ".join(repr(_short(str(k))) for k in others[:_MAX_PROBLEMS])
            error: str | None = (f'未知的键 / unknown key(s) {keys}: an event line is'
                                 ' {"ledger": NAME, "event": {…}}')
        elif "event" not in obj:
            error = 'event 缺失 / no "event": an event line is {"ledger": NAME, "event": {…}}'
        else:
            event, error = _event_from_object(obj["event"])
        rows.append(LedgerRow(name, len(rows) + 1, location, event, error))
    return out


def _ledger_header(names: Sequence[str], where: str, shape: LedgerShape | None) -> _Columns:
    """Map a ledger table's header cells to the record's fields (a label or "（万元）" suffix as for facts).

    A repeated column is a whole-file error, as for units; with the policy known, so is a
    column that is no field of the ledger's record (did-you-mean).  "序号" is read past.
    """
    facts: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    named: dict[int, str] = {}
    units: dict[int, str] = {}
    problems: list[str] = []
    problems_zh: list[str] = []
    for col, raw in enumerate(names):
        name = raw.strip()
        if not name:
            continue
        if len(name) > limits.MAX_TEXT_CHARS:
            raise input_error("in_header_cell_long", where=where, col=col + 1, chars=len(name),
                              cap=limits.MAX_TEXT_CHARS)
        named[col] = name
        if name == "序号" and (shape is None or name not in shape.fields):
            continue
        field, unit = header_fact(name)
        if shape is not None and field not in shape.fields:
            field = shape.labels.get(field, field)
        if field in seen:
            raise input_error("in_header_twice_fact", where=where, first=_short(names[seen[field]].strip()),
                              second=_short(name), fact=_short(field))
        seen[field] = col
        facts.append((col, field))
        if unit:
            units[col] = unit
        if shape is not None and field not in shape.fields:
            match = difflib.get_close_matches(field, list(shape.fields), n=1, cutoff=0.5)
            problems.append(f"列 {_short(name)} 不是台账 {shape.name} 的字段 / column {_short(name)!r} is no field"
                            f" of the ledger {shape.name!r}" + (f"; did you mean {match[0]!r}?" if match else ""))
            problems_zh.append(f"列 {_short(name)!r} 不是台账 {shape.name} 的字段"
                               + (f"；是不是 {match[0]!r}？" if match else ""))
    if problems:
        raise input_error("in_header", where=where, problems=_joined(problems), problems_zh=_joined_zh(problems_zh))
    return _Columns(id=None, name=None, category=None, facts=tuple(facts), names=named, units=units)


def _tabular_event(columns: _Columns, cells: Sequence[object], convert: Callable[[object], object],
                   column_label: Callable[[int], str]) -> tuple[Mapping[str, object] | None, str | None] | None:
    """One CSV/XLSX row as a raw event (the unit rules: stripped cells, blank = absent, JSON cells); None if blank."""
    built = _tabular_unit(columns, cells, convert, column_label)
    if built is None:
        return None
    unit, error = built
    if unit is None:
        return None, error
    facts = unit.get("facts")
    assert isinstance(facts, dict)
    return facts, None


def _csv_ledger(name: str, shown: str, delimiter: str, encoding: str | None,
                shape: LedgerShape | None) -> list[LedgerRow]:
    """A ledger's CSV/TSV file: the first non-blank row is the header, then one event per non-blank row."""
    chosen = _csv_encoding(shown, encoding)
    rows: list[LedgerRow] = []
    with _open(shown, "r", encoding=chosen, newline="") as f:
        lines = _CsvLines(f, limits.MAX_LINE_BYTES)
        reader = csv.reader(lines, delimiter=delimiter)
        columns: _Columns | None = None
        while True:
            first_line = lines.lines + 1
            lines.new_row()
            problem: str | None = None
            try:
                with _WIDE_CSV_FIELDS:
                    cells = next(reader)
            except StopIteration:
                break
            except _RowTooLong:
                problem = f"行过长 / row too long: more than {lines.limit:,} characters (MAX_LINE_BYTES); skipped"
            except csv.Error as e:
                lines.skip_row()
                problem = f"无法读取 CSV / cannot read CSV: {e}"
            except (UnicodeDecodeError, OSError) as e:
                raise input_error("in_csv_encoding", shown=f"{shown}:{first_line}", encoding=chosen,
                                  detail=str(e)) from e
            location = f"{shown}:{first_line}"
            if problem is not None:
                if columns is None:
                    raise input_error("in_header", where=location, problems=problem, problems_zh=problem)
                rows.append(LedgerRow(name, len(rows) + 1, location, None, problem))
                continue
            if columns is None:
                if any(c.strip() for c in cells):
                    columns = _ledger_header(cells, location, shape)
                continue
            built = _tabular_event(columns, cells, _same, lambda col: str(col + 1))
            if built is not None:
                rows.append(LedgerRow(name, len(rows) + 1, location, built[0], built[1]))
        if columns is None:
            raise input_error("in_no_header_file", shown=shown)
    return rows


def _sheet_ledger(name: str, shown: str, sheet: Any, shape: LedgerShape | None) -> list[LedgerRow]:
    """The events of one worksheet: the first non-blank row is the header (percent cells read as shown)."""
    sheet.reset_dimensions()
    cells_of = sheet.iter_rows()
    columns: _Columns | None = None
    rows: list[LedgerRow] = []
    rownum = 0
    while True:
        try:
            cells = next(cells_of)
        except StopIteration:
            break
        except Exception as e:  # a corrupt sheet XML surfaces here, in openpyxl's own types
            raise input_error("in_cannot_read_row", shown=shown, sheet=sheet.title, row=rownum + 1,
                              detail=str(e)) from e
        rownum += 1
        location = f"{shown}:{sheet.title}!row {rownum}"
        if columns is None:
            names = [_header_text(c.value) for c in cells]
            if any(n.strip() for n in names):
                columns = _ledger_header(names, location, shape)
            continue
        built = _tabular_event(columns, list(cells), _xlsx_cell, _column_letter)
        if built is not None:
            rows.append(LedgerRow(name, len(rows) + 1, location, built[0], built[1]))
    if columns is None:
        raise input_error("in_no_header_sheet", shown=shown, sheet=sheet.title)
    return rows


def _open_workbook(shown: str) -> tuple[IO[bytes], Any]:
    try:
        openpyxl: Any = importlib.import_module("openpyxl")
    except ImportError as e:
        raise input_error("in_needs_openpyxl", shown=shown) from e
    f = _open(shown, "rb")
    try:
        _check_archive(f, shown)
        f.seek(0)
        return f, openpyxl.load_workbook(f, read_only=True, data_only=True)
    except UnitInputError:
        f.close()
        raise
    except Exception as e:  # openpyxl/zipfile raise many unrelated types for a bad file
        f.close()
        raise input_error("in_cannot_read_xlsx", shown=shown, detail=str(e)) from e


def _workbook_ledgers(shown: str, shapes: Mapping[str, LedgerShape]) -> dict[str, tuple[str, list[LedgerRow]]]:
    """The sheets of a units workbook named after a ledger (by name or label): name → (source, rows)."""
    spellings = ledger_spellings(shapes)
    f, workbook = _open_workbook(shown)
    try:
        found: dict[str, list[Any]] = {}
        for sheet in workbook.worksheets:
            name = spellings.get(str(sheet.title).strip())
            if name is not None:
                found.setdefault(name, []).append(sheet)
        out = {}
        for name, sheets in found.items():
            if len(sheets) > 1:
                raise input_error("in_ledger_sheets_twice", shown=shown, name=name,
                                  titles=", ".join(repr(s.title) for s in sheets))
            out[name] = (f"{shown}:{sheets[0].title}", _sheet_ledger(name, shown, sheets[0], shapes[name]))
        return out
    finally:
        workbook.close()
        f.close()


def read_ledger_file(name: str, path: str | os.PathLike[str], *, sheet: str | None = None,
                     encoding: str | None = None, shape: LedgerShape | None = None) -> list[LedgerRow]:
    """The events of one ledger from its own file (``--ledger NAME=FILE``), in file order.

    CSV/TSV and XLSX: one event per row, the columns the record's fields (``sheet`` names
    the worksheet; else the sheet named after the ledger, else the first).  JSON: an
    array of events (or a document whose ``"ledgers"`` holds this ledger); JSON Lines:
    one event object per line.  With the ``shape``, a column that is no field is one
    file-level error.
    """
    shown = os.fspath(path)
    ext = os.path.splitext(shown)[1].lower()
    if ext not in _EXTENSIONS:
        raise input_error("in_ledger_format", shown=shown, ext=ext or "(none)")
    if not os.path.exists(shown):
        raise input_error("in_no_such_file", shown=shown)
    if os.path.isdir(shown):
        raise input_error("in_is_directory", shown=shown)
    fmt = _EXTENSIONS[ext]
    if fmt == "csv":
        return _csv_ledger(name, shown, "\t" if ext == ".tsv" else ",", encoding, shape)
    if fmt == "xlsx":
        f, workbook = _open_workbook(shown)
        try:
            titles = [str(s.title) for s in workbook.worksheets]
            wanted = [sheet] if sheet is not None else [t for t in titles if t.strip() in (name, shape and shape.label)]
            chosen = [s for s in workbook.worksheets if str(s.title) in wanted[:1]]
            if sheet is not None and not chosen:
                raise input_error("in_ledger_sheet", shown=shown, sheet=sheet, titles=", ".join(map(repr, titles)))
            if not chosen and not workbook.worksheets:
                raise input_error("in_no_sheet", shown=shown)
            return _sheet_ledger(name, shown, (chosen or workbook.worksheets)[0], shape)
        finally:
            workbook.close()
            f.close()
    if fmt == "jsonl":
        rows: list[LedgerRow] = []
        for _, location, text, error in _jsonl_texts(shown):
            event: Mapping[str, object] | None = None
            if text is not None:
                try:
                    obj = _loads(text)
                except RecursionError:
                    obj, error = None, _too_deep()
                except ValueError as e:
                    obj, error = None, f"JSON 无效 / invalid JSON: {e}"
                if error is None:
                    if is_ledger_line(obj):  # the units stream's form is accepted too, for this ledger only
                        assert isinstance(obj, dict)
                        if obj.get("ledger") != name:
                            _check_name(str(obj.get("ledger")), location, {name: LedgerShape(name, None, frozenset())})
                        obj = obj.get("event")
                    event, error = _event_from_object(obj)
            rows.append(LedgerRow(name, len(rows) + 1, location, event, error))
        return rows
    text = _read_document(shown)
    try:
        document = _loads(text)
    except RecursionError:
        raise input_error("in_invalid_json", shown=shown, detail=_too_deep()) from None
    except ValueError as e:
        raise input_error("in_invalid_json", shown=shown, detail=str(e)) from e
    if isinstance(document, dict) and "ledgers" in document:
        found = _json_ledgers(document["ledgers"], shown, {name: shape or LedgerShape(name, None, frozenset())})
        return found.get(name, [])
    if not isinstance(document, list):
        raise input_error("in_ledger_not_events", shown=shown, **_got(_json_type(document)))
    return [LedgerRow(name, i + 1, f"{shown}[{i}]", *_event_from_object(item)) for i, item in enumerate(document)]


def read_ledgers(units: str | os.PathLike[str] | None, options: Sequence[str] = (), *,
                 shapes: Mapping[str, LedgerShape] | None = None, encoding: str | None = None,
                 stdin_records: Sequence[JsonlRecord] | None = None) -> Ledgers:
    """Every ledger of a batch: those the units file carries, and each ``--ledger NAME=FILE``.

    The units file may carry ledgers in its own format: a JSON document's ``"ledgers"``
    object, JSON Lines ``{"ledger": NAME, "event": {…}}`` lines anywhere in the stream,
    a workbook's sheet named after the ledger (by name or label).  ``stdin_records`` are
    the records of units read from standard input (held: it cannot be read twice).

    ``shapes`` (the policy's ledgers, :func:`ledger_shapes`) makes an unknown ledger name
    an error with did-you-mean, any ledger an error for a policy without ledgers, and a
    column that is no field a file-level error.  A ledger given twice (in the units file
    and by ``--ledger``, or by two options) is refused naming both sources: which of the
    two lists is the ledger would be a guess.
    """
    rows: dict[str, tuple[LedgerRow, ...]] = {}
    sources: dict[str, str] = {}

    def add(name: str, source: str, found: Sequence[LedgerRow]) -> None:
        if name in sources:
            raise input_error("in_ledger_twice", name=name, first=sources[name], second=source)
        sources[name] = source
        rows[name] = tuple(found)

    if stdin_records is not None:
        for name, found in _jsonl_ledgers(iter(stdin_records), shapes).items():
            add(name, "<stdin>", found)
    elif units is not None:
        shown = os.fspath(units)
        fmt = detect_format(shown)
        if fmt == "json":
            for name, found in _document_ledgers(shown, shapes).items():
                add(name, shown, found)
        elif fmt == "jsonl":
            for name, found in _jsonl_ledgers(read_jsonl_texts(shown), shapes).items():
                add(name, shown, found)
        elif fmt == "xlsx" and shapes:
            for name, (source, found) in _workbook_ledgers(shown, shapes).items():
                add(name, source, found)
    for option in options:
        name, path, sheet = parse_ledger_option(option)
        _check_name(name, f"--ledger {option}", shapes)
        shape = shapes.get(name) if shapes is not None else None
        add(name, path + (f"#{sheet}" if sheet else ""),
            read_ledger_file(name, path, sheet=sheet, encoding=encoding, shape=shape))
    return Ledgers(rows, sources)


# ----------------------------------------------------------------- Parquet (issue #13)
#: rows read from a Parquet file at a time (one record batch)
PARQUET_BATCH_ROWS = 65_536


def parquet_location(shown: str, index: int) -> str:
    """Where row ``index`` (0-based) of a Parquet file is, for humans: ``units.parquet:row 1`` is the first."""
    return f"{shown}:row {index + 1}"


def parquet_cell(value: object) -> object:
    """A Parquet cell as a unit holds it: a struct's null fields left out, as a JSON unit leaves them out."""
    if isinstance(value, list):
        return [parquet_cell(v) for v in value]
    if isinstance(value, dict):
        return {k: parquet_cell(v) for k, v in value.items() if v is not None}
    return value


def read_parquet_rows(shown: str) -> Iterator[UnitRow]:
    """The rows of a Parquet file of units (columns ``id``, ``name``, ``category``, one per fact), in order.

    Read one record batch at a time (memory stays bounded); a null cell is a fact not given, exactly as
    a key left out of a JSON unit (``kaohe_rules.columnar.frames.unit_of`` reads a table's rows the same
    way).  The columnar engine reads the file by record batches itself; this is the per-unit formats' path.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - the columnar extra is not installed
        raise input_error("in_parquet_needs_pyarrow", shown=shown) from None
    try:
        source = pq.ParquetFile(shown)
    except Exception as exc:  # an unreadable or truncated file: one file-level error naming it
        raise input_error("in_not_parquet", shown=shown, detail=f"{type(exc).__name__}: {exc}") from None
    index = 0
    with source:
        for batch in source.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for row in batch.to_pylist():
                unit: dict[str, object] = {}
                facts: dict[str, object] = {}
                for key, value in row.items():
                    if value is None:
                        continue
                    if key in ("id", "name", "category"):
                        unit[key] = value
                    else:
                        facts[key] = parquet_cell(value)
                unit["facts"] = facts
                yield UnitRow(index, parquet_location(shown, index), unit, None)
                index += 1


# ------------------------------------------------------------- DataFrames (issue #15)
#: what a float keeps of a number typed in decimal: any decimal of at most 15 significant digits comes back
#: from the float's shortest repr exactly (DBL_DIG); a repr with more digits is arithmetic, not typing
FLOAT_DIGITS = 15
#: how a DataFrame's float cells are read: ``shortest`` (the XLSX reader's rule, at most FLOAT_DIGITS
#: significant digits) or ``refuse`` (every float cell is an error, as ``policy.evaluate`` refuses a float)
FLOAT_RULES = ("shortest", "refuse")


def frame_cell(value: object, floats: str = "shortest", depth: int = 0) -> object:
    """A DataFrame cell (pandas, polars) as a faithful raw value, read as the XLSX reader reads a cell.

    Why the XLSX reader's rules: a DataFrame is mostly a spreadsheet read by pandas (``read_excel``,
    ``read_csv``), whose numbers became floats on the way; reading them as the workbook reader reads the same
    cells gives the same units as ``kaohe eval book.xlsx``.  So: missing values (None, NaN, NaT, ``pd.NA``) are
    a fact not given; numpy scalars are their Python values; a whole float is an int; a float is the decimal it
    shows (its shortest repr) — but only when that has at most :data:`FLOAT_DIGITS` significant digits: a
    longer one (``0.1 + 0.2`` is ``0.30000000000000004``) was computed, not typed, and could mean either
    reading, so the cell is refused naming both; ``floats="refuse"`` refuses every float.  Dates are ISO text;
    a list or a mapping (a list of records) is read item by item by the same rules, a mapping's missing
    fields left out.  Anything else is refused (a ``ValueError`` the row's error names).
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and type(value).__name__ in ("NAType", "NaTType"):
        return None
    if module == "numpy":
        value = _numpy_value(value)
        if value is None or isinstance(value, (str, bool, int)):
            return value
    if isinstance(value, float):
        return _float_cell(value, floats)
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, (list, tuple, Mapping)):
        if depth >= limits.MAX_NESTING:  # a cell is one fact's value: MAX_NESTING levels, as a JSON cell's (and a
            raise ValueError(_too_deep())  # list holding itself ends here, not in a RecursionError)
        if isinstance(value, Mapping):
            fields = {str(k): frame_cell(v, floats, depth + 1) for k, v in value.items()}
            return {k: v for k, v in fields.items() if v is not None}
        return [frame_cell(v, floats, depth + 1) for v in value]
    return _xlsx_value(value)


def _numpy_value(value: Any) -> object:
    """A numpy scalar or array as the Python value it holds (None for a missing date)."""
    name = type(value).__name__
    if name == "datetime64":
        if str(value) == "NaT":
            return None
        return value.astype("datetime64[us]").item()
    if name == "ndarray":
        return list(value)
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _float_cell(value: float, floats: str) -> object:
    if math.isnan(value):
        return None
    if floats == "refuse":
        raise ValueError(f"{value!r} 是浮点数，不精确 / {value!r} is a float, which is not exact; "
                         "give the column as text or Decimal values")
    return _typed_number(value, "give the column as text or Decimal values")


def _typed_number(value: float, fix: str) -> int | Decimal:
    """The number a float cell shows: its shortest repr, an int when whole; ``fix`` says how to mend a refusal.

    Refused: a float that is not finite, and one whose shortest repr has more than :data:`FLOAT_DIGITS`
    significant digits, naming both readings.

    A number typed into a cell (or a DataFrame read from one) keeps at most 15 significant digits, and its
    float's shortest repr gives them back exactly.  A longer repr was computed (an Excel formula ``=0.1+0.2``
    caches ``0.30000000000000004`` while the cell shows 0.3): the clerk saw one number and the file holds
    another, and a rule such as ``> 0.3`` tells them apart, so the cell is refused rather than read either way.
    """
    if not math.isfinite(value):
        raise ValueError(f"非有限数 / not a finite number: {value!r}")
    number = Decimal(repr(value))
    shown = number.normalize()
    digits = len(shown.as_tuple().digits)
    if digits > FLOAT_DIGITS:
        rounded = format(shown.normalize(_FIFTEEN_DIGITS), "f")
        raise ValueError(
            f"浮点数 {value!r} 有 {digits} 位有效数字，可读作 {format(shown, 'f')} 或 {rounded} / the float "
            f"{value!r} has {digits} significant digits (a typed number keeps at most {FLOAT_DIGITS}): it reads "
            f"as {format(shown, 'f')} or as {rounded}; {fix}")
    if number == number.to_integral_value():
        return int(number)
    return number


_FIFTEEN_DIGITS = Context(prec=FLOAT_DIGITS)


def read_frame_rows(names: Sequence[object], rows: Iterable[Sequence[object]], *, shown: str = "DataFrame",
                    expect: Expect | None = None, floats: str = "shortest") -> Iterator[UnitRow]:
    """The unit rows of an in-memory table (a DataFrame's column names and rows), read as CSV/XLSX rows are.

    The same header rules as a sheet's (``id``/``编号``, ``名称``, ``类别``, ``序号`` skipped, a fact's label as
    its title, "资金（万元）" giving bare numbers their unit, a repeated or — with ``expect`` — unknown column one
    :class:`UnitInputError`), the same cell rules (:func:`frame_cell`, then stripped text, JSON in a text cell
    starting with ``[`` or ``{``, an empty cell a fact not given) and the same row rules: a blank row is no
    unit, a row with a problem is a :class:`UnitRow` with its error, named ``DataFrame:row N`` (1-based).
    """
    for row, _ in frame_rows_with_ids(names, rows, shown=shown, expect=expect, floats=floats):
        yield row


def frame_rows_with_ids(names: Sequence[object], rows: Iterable[Sequence[object]], *, shown: str = "DataFrame",
                        expect: Expect | None = None, floats: str = "shortest"
                        ) -> Iterator[tuple[UnitRow, str | None]]:
    """:func:`read_frame_rows`, each row with the id its id cell holds (None: empty or unreadable).

    Why: a row that cannot be read has no unit, but its id cell usually is fine — a results table names the
    unit of that error row by it, not only by its place."""
    if floats not in FLOAT_RULES:
        raise ValueError(f"floats must be one of {', '.join(FLOAT_RULES)}, not {floats!r}")
    header = [_frame_header(name) for name in names]
    columns = _parse_header(header, f"{shown}:header", expect)

    def label(col: int) -> str:
        return header[col] if col < len(header) and header[col] else str(col + 1)

    def convert(value: object) -> object:
        return frame_cell(value, floats)

    index = 0
    for number, cells in enumerate(rows, start=1):
        values = list(cells)
        built = _tabular_unit(columns, values, convert, label)
        if built is None:
            continue
        unit, error = built
        yield UnitRow(index, f"{shown}:row {number}", unit, error), _id_cell(values, columns.id, convert)
        index += 1


def _id_cell(values: Sequence[object], col: int | None, convert: Callable[[object], object]) -> str | None:
    if col is None or col >= len(values):
        return None
    try:
        value = convert(values[col])
    except ValueError:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and limits.int_problem(value) is None:
        return str(value)
    if isinstance(value, str) and value.strip() and len(value.strip()) <= limits.MAX_ID_CHARS:
        return value.strip()
    return None


def _frame_header(name: object) -> str:
    """A column name as a header cell: text as it is, a number as its digits; anything else is refused."""
    if isinstance(name, str):
        return name
    if isinstance(name, int) and not isinstance(name, bool):
        return str(name)
    raise input_error("in_frame_column_name", shown=limits.shown(name))
