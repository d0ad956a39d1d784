"""The ranked 通报 as an Excel workbook (``kaohe eval --format xlsx``, ``kaohe report --format xlsx``).

Offices exchange results as Excel files.  The workbook holds:

* a **汇总 / Summary** sheet first: ``assessed + not assessed = rows read``, the counts
  per category and rating, the reward and fine totals;
* **one sheet per category**: the ranking with one column per top-level section, the
  vetoes with their clauses, the deferrals, the reward or fine;
* a **未能考核 / Not assessed** sheet: one row per refused input row (row number,
  location, unit id, every problem), so the rows of the category sheets plus these
  rows are all the rows read.

Scores and money are numbers (``Decimal`` written as it is, never a float, never text);
money carries the number format :data:`MONEY_FORMAT`, so Excel sums it and shows
``130,000.00元`` and a fine as ``-20,000.00元``.  openpyxl's write-only mode streams the
rows to the file instead of building a cell tree.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ..messages import usage_error
from ..runtime.program import Program
from .rows import RankedRow, Tally, money_totals
from .tabular import Cell, category_tables, error_columns, error_rows, fact_namer, headers, tally_text

#: how money shows in the workbook: thousands separated, two decimals, 元; a fine is negative
MONEY_FORMAT = '#,##0.00"元";-#,##0.00"元"'

#: characters Excel does not allow in a sheet title
_BAD_TITLE = str.maketrans({c: "_" for c in "[]:*?/\\"})


def require_openpyxl() -> None:
    """Refuse ``--format xlsx`` at once, before any unit is assessed, when openpyxl is not installed."""
    import importlib.util

    if importlib.util.find_spec("openpyxl") is None:
        raise usage_error("xlsx_needs_openpyxl")


def sheet_title(text: str, used: set[str]) -> str:
    """A valid, unused sheet title (at most 31 characters, none of ``[]:*?/\\``)."""
    base = text.translate(_BAD_TITLE)[:31] or "sheet"
    title, n = base, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(title.lower())
    return title


def ranked_workbook(program: Program, ranked: Sequence[tuple[str, Sequence[RankedRow]]],
                    errors: Sequence[Mapping[str, Any]], tally: Tally, lang: str | None = None) -> bytes:
    """The workbook's bytes: summary, a sheet per category, the not-assessed rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    h = headers(lang)
    wb = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)

    def cells(ws: Any, values: Sequence[Cell], money: Sequence[int] = (), header: bool = False) -> list[Any]:
        out = []
        for i, value in enumerate(values):
            cell = WriteOnlyCell(ws, value=value)
            if header:
                cell.font = bold
            elif i in money and value is not None:
                cell.number_format = MONEY_FORMAT
            out.append(cell)
        return out

    checked = program.checked
    summary = wb.create_sheet(sheet_title(h["summary"], used))
    summary.append(cells(summary, [program.label or program.name], header=True))
    summary.append([tally_text(tally, lang)])
    summary.append(cells(summary, [h["item"], h["value"]], header=True))
    summary.append([h["rows_read"], tally.total])
    summary.append([h["assessed"], tally.assessed])
    summary.append([h["not_assessed"], tally.not_assessed])
    all_rows = [r for _, rows in ranked for r in rows]
    rewards, fines = money_totals(all_rows)
    summary.append(cells(summary, [h["rewards_total"], rewards], money=(1,)))
    summary.append(cells(summary, [h["fines_total"], fines], money=(1,)))
    ratings = [r.label or r.name for r in checked.ratings.ratings]
    summary.append([])
    summary.append(cells(summary, [h["category"], *ratings, h["total"]], header=True))
    for category, rows in ranked:
        counts = [sum(1 for r in rows if r.rating_label == label) for label in ratings]
        summary.append([checked.categories[category].label or category, *counts, len(rows)])

    for table in category_tables(program, ranked, lang):
        ws = wb.create_sheet(sheet_title(checked.categories[table.category].label or table.category, used))
        ws.append(cells(ws, [table.title], header=True))
        ws.append(cells(ws, table.columns, header=True))
        for row in table.rows:
            ws.append(cells(ws, row, money=table.money_columns))

    ws = wb.create_sheet(sheet_title(h["errors"], used))
    ws.append(cells(ws, error_columns(lang), header=True))
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in error_rows(errors, lang, fact_namer(program)):
        line = cells(ws, row)
        line[-1].alignment = wrap
        ws.append(line)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
