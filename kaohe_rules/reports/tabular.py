"""The ranked 通报 as columns of typed cells: what the XLSX and CSV writers lay out.

One model, two layouts (:mod:`.xlsx`: a sheet per category plus errors and a summary;
:mod:`.csvout`: one table).  Cells are typed — ``Decimal`` for scores and money, text
otherwise — so that a spreadsheet holds numbers it can sum, never numbers as text; the
writers decide how a number is shown (money with a money number format).

Every refused row is an error row and the outputs state ``assessed + not assessed =
rows read`` (:class:`~.rows.Tally`), so a clerk can check that no unit went missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..messages import FactNamer, problems_text
from ..numeric import normalize
from ..runtime.program import Program
from .rows import RankedRow, Tally, extra_columns

Cell = str | Decimal | int | None

#: column headers by language; section columns are added per category
HEADERS: dict[str, dict[str, str]] = {
    "zh": {"rank": "名次", "id": "编号", "name": "单位", "score": "得分", "rating": "等次", "vetoes": "一票否决",
           "deferred": "移交", "money_kind": "奖惩", "money": "金额（元）", "category": "类别", "status": "状态",
           "row": "行", "location": "位置", "problems": "问题", "reward": "奖励", "fine": "罚款",
           "assessed": "已考核", "not_assessed": "未能考核", "total": "合计", "rows_read": "读入行数",
           "rewards_total": "奖励合计（元）", "fines_total": "罚款合计（元）", "summary": "汇总", "errors": "未能考核",
           "item": "项目", "value": "数值", "points": "分"},
    "en": {"rank": "Rank", "id": "ID", "name": "Unit", "score": "Score", "rating": "Rating", "vetoes": "Vetoes",
           "deferred": "Referred", "money_kind": "Reward/fine", "money": "Amount (yuan)", "category": "Category",
           "status": "Status", "row": "Row", "location": "Location", "problems": "Problems", "reward": "reward",
           "fine": "fine", "assessed": "assessed", "not_assessed": "not assessed", "total": "total",
           "rows_read": "Rows read", "rewards_total": "Rewards total (yuan)", "fines_total": "Fines total (yuan)",
           "summary": "Summary", "errors": "Not assessed", "item": "Item", "value": "Value", "points": "points"},
}


def headers(lang: str | None) -> dict[str, str]:
    """The header words of ``lang`` (Chinese unless English is asked for: the 通报 is a Chinese document)."""
    return HEADERS["en" if lang == "en" else "zh"]


@attrs.frozen
class CategoryTable:
    """One category's ranking: its title, column headers and typed rows."""

    category: str
    title: str
    columns: tuple[str, ...]
    #: indexes of the columns that hold money
    money_columns: tuple[int, ...]
    rows: tuple[tuple[Cell, ...], ...]


def fact_namer(program: Program) -> FactNamer:
    """How a Chinese message names a fact: its label and clause in the policy (a path by its first fact)."""
    facts = program.checked.facts

    def name(fact: str) -> tuple[str | None, str | None]:
        decl = facts.get(fact) or facts.get(fact.split(".", 1)[0].split("[", 1)[0])
        if decl is None:
            return None, None
        return getattr(decl, "label", None), getattr(decl, "cite", None)

    return name


def category_tables(program: Program, ranked: Sequence[tuple[str, Sequence[RankedRow]]],
                    lang: str | None) -> list[CategoryTable]:
    """The ranked rows of each category as typed columns: rank, id, name, score, rating, sections, vetoes…"""
    h = headers(lang)
    checked = program.checked
    out = []
    for category, rows in ranked:
        info = checked.categories[category]
        sections = [f"{s.label or s.name}（{normalize(s.points)}{h['points']}）" if lang != "en" else
                    f"{s.label or s.name} ({normalize(s.points)} {h['points']})" for s in info.sections]
        columns_extra = extra_columns(checked)  # issue #10 reported lets, issue #11 periods: after the money
        reported = tuple(header for _, header in columns_extra)
        columns = (h["rank"], h["id"], h["name"], h["score"], h["rating"], *sections, h["vetoes"], h["deferred"],
                   h["money_kind"], h["money"], *reported)
        table = []
        for number, r in enumerate(rows, 1):
            vetoes = "；".join(f"{label or name}〔{cite}〕" if cite else (label or name) for name, label, cite in r.vetoes)
            deferred = "；".join(f"{name} {n}项→{to}" if to else f"{name} {n}项" for name, n, to in r.deferred)
            kind = h["reward"] if r.money_kind == "reward" else h["fine"] if r.money_kind == "fine" else ""
            values = dict(r.reported)
            place: int | str = number if not r.in_cohort else (r.cohort_rank if r.cohort_rank is not None else "")
            table.append((place, r.unit_id, r.name or "", normalize(r.score), r.rating_label,
                          *(normalize(v) for v in r.sections),
                          vetoes, deferred, kind, r.signed_money, *(values.get(key, "") for key, _ in columns_extra)))
        title = f"{info.label or category}（满分 {normalize(info.total)}）" if lang != "en" else \
            f"{info.label or category} (out of {normalize(info.total)})"
        out.append(CategoryTable(category, title, columns, (len(columns) - 1 - len(reported),), tuple(table)))
    return out


def error_rows(errors: Sequence[Mapping[str, Any]], lang: str | None,
               namer: FactNamer | None) -> list[tuple[Cell, ...]]:
    """One row per refused input row: its row number (1-based), location, unit id and every problem."""
    return [(int(e["index"]) + 1, e.get("location") or "", e.get("unit") or "", problems_text(e, lang, namer))
            for e in errors]


def error_columns(lang: str | None) -> tuple[str, ...]:
    h = headers(lang)
    return (h["row"], h["location"], h["id"], h["problems"])


def tally_text(tally: Tally, lang: str | None) -> str:
    """``assessed + not assessed = rows read``, stated in every output."""
    from ..messages import text

    return text("tally", "en" if lang == "en" else "zh", assessed=tally.assessed, not_assessed=tally.not_assessed, total=tally.total)
