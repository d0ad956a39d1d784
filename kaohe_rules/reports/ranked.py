"""The city's 通报 (units ranked per category, with vetoes and money) and the batch summary.

``kaohe eval`` prints the first as its table and puts the second in its JSON
document; both read the results only (score, rating, vetoes, deferrals, money) and the
checked model of the program that assessed them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..numeric import normalize
from ..runtime.program import Program
from ..runtime.result import Result
from .rows import RankedRow, extra_columns, money_totals, rank, ranked_row
from .table import render_table


def money(value: Decimal | None) -> str:
    """An amount of yuan as the 通报 prints it: thousands separated, two decimals ("" for none)."""
    if value is None:
        return ""
    return f"{value:,.2f}"


def plain_number(value: Decimal) -> str:
    """A score without exponent or needless trailing zeros."""
    return str(normalize(value))


class Summary:
    """The JSON ``summary`` counted as results pass: counts per category and rating, vetoed units, money.

    A streamed batch adds each result as it goes and keeps no result; only the ids of
    vetoed units are kept (the summary lists them).
    """

    def __init__(self) -> None:
        self.assessed = 0
        self.bands: dict[str, dict[str, int]] = {}
        self.vetoed: list[str] = []
        self.rewards = Decimal("0.00")
        self.fines = Decimal("0.00")

    def add(self, result: Result) -> None:
        self.assessed += 1
        band = self.bands.setdefault(result.category, {})
        band[result.rating] = band.get(result.rating, 0) + 1
        if result.vetoed:
            self.vetoed.append(result.unit_id)
        c = result.consequences
        if c.kind == "reward":
            self.rewards += c.total
        elif c.kind == "fine":
            self.fines += c.total
        for group in result.general_consequences:  # outcomes for every rating (issue #10) are money too
            for item in group.items:
                if item.amount is not None and item.kind == "reward":
                    self.rewards += item.amount
                elif item.amount is not None and item.kind == "fine":
                    self.fines += item.amount

    def to_dict(self, not_assessed: int) -> dict[str, object]:
        return {
            "assessed": self.assessed,
            "not_assessed": not_assessed,
            "ratings": self.bands,
            "vetoed": list(self.vetoed),
            "rewards_total": str(self.rewards),
            "fines_total": str(self.fines),
        }


def summary_dict(program: Program, results: Sequence[Result], errors: Sequence[object]) -> dict[str, object]:
    """Counts per category and rating, vetoed units, reward and fine totals (the JSON ``summary``)."""
    summary = Summary()
    for r in results:
        summary.add(r)
    return summary.to_dict(len(errors))


def ranked_report(program: Program, results: Sequence[Result], errors: Sequence[object]) -> str:
    """The city's 通报: per category, units ranked by score, with vetoes and money."""
    return ranked_table(program, [ranked_row(program, r) for r in results], len(errors))


def ranked_table(program: Program, rows: Sequence[RankedRow], not_assessed: int) -> str:
    """:func:`ranked_report` from the small rows a streaming batch keeps (:mod:`.rows`)."""
    checked = program.checked
    lines = [f"{program.label or program.name}" + (f"（{checked.header.document}）" if checked.header.document else ""),
             f"考核结果通报 / ranked results — {len(rows)} 个单位" + (f", {not_assessed} 个未能考核" if not_assessed else ""), ""]
    columns = extra_columns(checked)  # issue #10 reported lets, issue #11 periods: only if the policy has them
    reported = [header for _, header in columns]
    further = ["其他奖惩"] if checked.general_outcomes else []
    for category, rows_in in rank(rows, checked.categories):
        info = checked.categories[category]
        lines.append(f"【{info.label or category}】 满分 {info.total}")
        table = []
        for number, r in enumerate(rows_in, 1):
            amount = money(r.money_total) if r.money_kind != "none" else ""
            sign = "+" if r.money_kind == "reward" else "-" if r.money_kind == "fine" else ""
            # short names here; the full labels and evidence are in `kaohe explain`
            vetoes = "；".join(f"{name}〔{citation}〕" if citation else name for name, _, citation in r.vetoes)
            deferred = "；".join(f"{name} {n}项→{to}" if to else f"{name} {n}项" for name, n, to in r.deferred)
            values = dict(r.reported)
            extra = [values.get(key, "") for key, _ in columns] + (["；".join(r.further) or "—"] if further else [])
            table.append([r.shown_rank(number), r.unit_id, r.name or "", plain_number(r.score), r.rating_label,
                          vetoes or "—", (sign + amount) if amount else "—", deferred or "", *extra])
        lines.append(render_table(["名次", "编号", "单位", "得分", "等次", "一票否决", "奖惩(元)", "移交", *reported, *further],
                                  table, right=(0, 3, 6)))
        counts = {rating.label or rating.name: 0 for rating in checked.ratings.ratings}
        for r in rows_in:
            counts[r.rating_label] += 1
        lines.append("  " + "，".join(f"{k} {v}" for k, v in counts.items()))
        lines.append("")
    rewards, fines = money_totals(rows)
    lines.append(f"奖励合计 {money(rewards)} 元；罚款合计 {money(fines)} 元")
    return "\n".join(lines)
