"""The Excel template a clerk fills in: ``kaohe facts POLICY --template --format xlsx -o FILE``.

Why a workbook and not only JSON: the facts are kept by clerks in Excel/WPS, and a
sheet they fill by hand must guard against the misreads a bare sheet invites.  So:

* one sheet per category (named after it, so the reader gives every row that
  category), a header row of fact names with their unit in brackets —
  ``落实一岗双责（是/否）``, ``专项资金（元）``, ``培训合格率（%）`` — which the reader
  understands (:func:`kaohe_rules.unitio.header_fact`);
* drop-down lists (data validation) for 是/否 and for the members of an enum;
  number formats for percentages (a cell shows "98%" and the reader reads the
  format) and for money;
* no value in any cell: a required fact has no default in the template, so a
  template left unfilled is refused naming every empty fact, never scored;
* a sheet 说明 with, for each fact, its type, whether it is required, its default,
  range, label and the clause it serves.

openpyxl is imported lazily: it is the ``xlsx`` extra.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Sequence
from typing import Any

from ..language.abi import MISSING
from ..language.types import Type
from ..runtime.fact_sheet import Policy, fact_rows, period_columns
from ..runtime.ledger import LedgerSpec

#: rows of each category sheet given the percent/money number formats and the lists ahead of time
TEMPLATE_ROWS = 500
#: the title of the instructions sheet (the reader reads only the sheets named after categories)
INSTRUCTIONS = "说明"

_SUFFIX = {"bool": "（是/否）", "money": "（元）", "percent": "（%）"}
_FORMATS = {"percent": "0.00%", "money": "#,##0.00", "date": "yyyy-mm-dd"}


def fact_header(t: Type, name: str) -> str:
    """The column header of a fact: its name and the unit of its cells in brackets."""
    return name + _SUFFIX.get(t.kind, "")


def xlsx_template(policy: Policy, categories: list[str], ledgers: Sequence[LedgerSpec] = ()) -> bytes:
    """The workbook, as bytes (the caller writes it atomically).

    ``ledgers`` (issue #16): one more sheet per ledger, named after it, a column per field of its
    record (the reader takes the sheet as the ledger); the fact a ledger feeds has no column on
    the category sheets (the ledger decides it: a unit's own list beside it would be refused).
    """
    try:
        openpyxl: Any = importlib.import_module("openpyxl")
    except ImportError as e:  # pragma: no cover - the xlsx extra is a dev dependency
        raise ImportError("writing .xlsx needs openpyxl: pip install kaohe_rules[xlsx]") from e
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    checked = policy.checked
    book = openpyxl.Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for category in categories:
        sheet = book.create_sheet(_sheet_title(category))
        headers = ["单位编号", "单位名称"]
        kinds: list[tuple[str, Type]] = []
        fed = {spec.fact for spec in ledgers}
        for name in policy.facts_for(category):
            if name in fed:
                continue
            t = checked.fact_types[name]
            for column in period_columns(policy, name):  # a per-period fact: one column per period (issue #11 P)
                headers.append(fact_header(t, column))
                kinds.append((name, t))
        sheet.append(headers)
        for col, _ in enumerate(headers, start=1):
            cell = sheet.cell(1, col)
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.column_dimensions[get_column_letter(col)].width = max(10, min(40, len(headers[col - 1]) * 2 + 2))
        sheet.cell(1, 1).fill = required_fill
        last = TEMPLATE_ROWS + 1
        for offset, (name, t) in enumerate(kinds):
            col = offset + 3
            letter = get_column_letter(col)
            cells = f"{letter}2:{letter}{last}"
            default = checked.fact_defaults.get(name, MISSING)
            if (default is MISSING or default is None) and not t.optional:
                sheet.cell(1, col).fill = required_fill  # required: no default, never left empty
            options = _options(policy, t)
            if options is not None:
                check = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                                       showErrorMessage=True, errorTitle=name,
                                       error="请从列表中选择 / choose from the list")
                sheet.add_data_validation(check)
                check.add(cells)
            number_format = _FORMATS.get(t.kind)
            if number_format is not None:
                sheet.column_dimensions[letter].number_format = number_format
                for row in range(2, last + 1):
                    sheet.cell(row, col).number_format = number_format
        sheet.freeze_panes = "C2"
    for spec in ledgers:
        _ledger_sheet(book.create_sheet(_sheet_title(spec.name)), policy, spec, bold, required_fill)
    _instructions(book.create_sheet(INSTRUCTIONS), policy, categories, bold)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _sheet_title(category: str) -> str:
    """The category's name as a sheet title (Excel allows 31 characters and none of []:*?/\\)."""
    if len(category) > 31 or any(ch in category for ch in "[]:*?/\\"):
        raise ValueError(f"category {category!r} cannot name an Excel sheet (31 characters, none of []:*?/\\)")
    return category


def _options(policy: Policy, t: Type) -> list[str] | None:
    """The drop-down list of a fact: 是/否, or the members of its enum; None for other kinds."""
    if t.kind == "bool":
        return ["是", "否"]
    if t.kind == "enum" and t.name is not None:
        members = [m.name for m in policy.checked.enums[t.name].members]
        if sum(len(m) + 1 for m in members) <= 255:  # Excel's limit for a literal list
            return members
    return None


def _instructions(sheet: Any, policy: Policy, categories: list[str], bold: Any) -> None:
    checked = policy.checked
    sheet.append([f"{checked.header.label or checked.header.name} — 数据填报模板 / data template"])
    sheet.cell(1, 1).font = bold
    for line in (
        "每个类别一张工作表，每行一个单位；黄色表头为必填项。/ One sheet per category, one row per unit; "
        "yellow headers are required.",
        "是/否 列从下拉列表选择；百分比列输入 98 即 98%（单元格格式为百分比）；金额列以元为单位。/ "
        "Choose 是/否 from the list; percent cells are formatted as percent (type 98 for 98%); money in 元.",
        "填好后：kaohe eval POLICY 本文件.xlsx / when filled: kaohe eval POLICY this-file.xlsx",
        "",
    ):
        sheet.append([line])
    header = ["类别 category", "列标题 column", "事实 fact", "类型 type", "必填 required", "约束 range",
              "说明 label", "条款 clause"]
    sheet.append(header)
    for col in range(1, len(header) + 1):
        sheet.cell(sheet.max_row, col).font = bold
    for category in categories:
        for row, name in zip(fact_rows(policy, category), policy.facts_for(category), strict=True):
            t = checked.fact_types[name]
            sheet.append([category, fact_header(t, name), *row])
    for letter, width in zip("ABCDEFGH", (10, 30, 24, 18, 14, 12, 60, 24), strict=True):
        sheet.column_dimensions[letter].width = width


def _ledger_sheet(sheet: Any, policy: Policy, spec: LedgerSpec, bold: Any, required_fill: Any) -> None:
    """A ledger's sheet (issue #16): one row per event, a column per field of its record, with the same
    brackets, drop-down lists and number formats as the category sheets; required fields yellow."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    checked = policy.checked
    record = checked.records[spec.record]
    types = checked.record_fields.get(spec.record, {})
    fields = [(f, types[f.name]) for f in record.fields if f.name in types]
    sheet.append([fact_header(t, f.name) for f, t in fields])
    last = TEMPLATE_ROWS + 1
    for col, (f, t) in enumerate(fields, start=1):
        cell = sheet.cell(1, col)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = max(10, min(40, len(str(cell.value)) * 2 + 2))
        if f.default is None and not t.optional:
            cell.fill = required_fill
        options = _options(policy, t)
        if options is not None:
            check = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                                   showErrorMessage=True, errorTitle=f.name, error="请从列表中选择 / choose from the list")
            sheet.add_data_validation(check)
            check.add(f"{letter}2:{letter}{last}")
        number_format = _FORMATS.get(t.kind)
        if number_format is not None:
            sheet.column_dimensions[letter].number_format = number_format
            for row in range(2, last + 1):
                sheet.cell(row, col).number_format = number_format
    sheet.freeze_panes = "A2"


def ledger_template(policy: Policy, spec: LedgerSpec) -> dict[str, object]:
    """One event of a ledger to fill in (the JSON template): every field of its record, ``null``.

    As for a unit, a template left unfilled must be refused, never attributed: a required field
    left ``null`` is a ledger problem naming the row and the field.
    """
    record = policy.checked.records[spec.record]
    return {f.name: None for f in record.fields}
