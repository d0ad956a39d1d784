"""The ranked 通报 as one CSV table (``kaohe eval --format csv``).

Layout (documented in docs/cli.md): one header row, then

* one row per assessed unit, category by category, ranked — ``状态`` (status) ``已考核``;
  the section columns of every category side by side, headed ``类别·节（分）``, empty
  where a unit's category has no such section;
* one row per refused input row — status ``未能考核``, with its row number, location
  and problems;
* a last row — status ``合计`` — whose problems cell states ``assessed + not assessed =
  rows read``.

Numbers are plain (``130000.00``, a fine ``-20000.00``, no thousands separator) so that
a spreadsheet reads them as numbers.  The text is UTF-8 with a byte order mark by
default: Chinese Excel opens a BOM-less UTF-8 file as GBK and garbles it.  ``gb18030``
is the other encoding offered (for tools that want the Windows code page).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..numeric import normalize
from ..runtime.program import Program
from .rows import RankedRow, Tally, extra_columns
from .tabular import Cell, category_tables, error_rows, fact_namer, headers, tally_text

#: the encodings ``--encoding`` offers for CSV output, and the Python codec of each
ENCODINGS = {"utf-8-sig": "utf-8-sig", "utf-8": "utf-8", "gb18030": "gb18030"}


def _plain(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # never an exponent: 1E+3 is 1000
    return str(value)


def ranked_csv(program: Program, ranked: Sequence[tuple[str, Sequence[RankedRow]]],
               errors: Sequence[Mapping[str, Any]], tally: Tally, lang: str | None = None) -> str:
    """The CSV text (without the BOM: the encoding adds it)."""
    h = headers(lang)
    tables = category_tables(program, ranked, lang)
    checked = program.checked
    # the section columns of every category, side by side, in the policy's order
    section_columns: list[str] = []
    placed: dict[str, list[int]] = {}
    for category, info in checked.categories.items():
        label = info.label or category
        indexes = []
        for s in info.sections:
            title = f"{label}·{s.label or s.name}（{normalize(s.points)}{h['points']}）"
            indexes.append(len(section_columns))
            section_columns.append(title)
        placed[category] = indexes
    fixed = [h["status"], h["category"], h["rank"], h["id"], h["name"], h["score"], h["rating"]]
    reported = [header for _, header in extra_columns(checked)]  # issue #10 reported lets, #11 periods: after the money
    tail = [h["vetoes"], h["deferred"], h["money_kind"], h["money"], *reported, h["row"], h["location"], h["problems"]]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fixed + section_columns + tail)
    for table in tables:
        label = checked.categories[table.category].label or table.category
        n_sections = len(placed[table.category])
        for row in table.rows:
            rank, unit_id, name, score, rating = row[:5]
            sections = row[5:5 + n_sections]
            vetoes, deferred, kind, amount = row[5 + n_sections:9 + n_sections]
            values = row[9 + n_sections:]
            spread: list[Cell] = [None] * len(section_columns)
            for i, value in zip(placed[table.category], sections):
                spread[i] = value
            writer.writerow([_plain(c) for c in [h["assessed"], label, rank, unit_id, name, score, rating, *spread,
                                                 vetoes, deferred, kind, amount, *values, None, None, None]])
    blank = [""] * len(section_columns) + [""] * len(reported)
    for number, location, unit_id, problems in error_rows(errors, lang, fact_namer(program)):
        writer.writerow([h["not_assessed"], "", "", _plain(unit_id), "", "", "", *blank, "", "", "", "",
                         _plain(number), _plain(location), _plain(problems)])
    writer.writerow([h["total"], "", "", "", "", "", "", *blank, "", "", "", "", "", "", tally_text(tally, lang)])
    return out.getvalue()
