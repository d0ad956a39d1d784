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
from .table import render_table


def money(value: Decimal | None) -> str:
    """An amount of yuan as the 通报 prints it: thousands separated, two decimals ("" for none)."""
    if value is None:
        return ""
    return f"{value:,.2f}"


def plain_number(value: Decimal) -> str:
    """A score without exponent or needless trailing zeros."""
    return str(normalize(value))


def summary_dict(program: Program, results: Sequence[Result], errors: Sequence[object]) -> dict[str, object]:
    """Counts per category and rating, vetoed units, reward and fine totals (the JSON ``summary``)."""
    bands: dict[str, dict[str, int]] = {}
    for r in results:
        bands.setdefault(r.category, {}).setdefault(r.rating, 0)
        bands[r.category][r.rating] += 1
    rewards = sum((r.consequences.total for r in results if r.consequences.kind == "reward"), Decimal("0.00"))
    fines = sum((r.consequences.total for r in results if r.consequences.kind == "fine"), Decimal("0.00"))
    return {
        "assessed": len(results),
        "not_assessed": len(errors),
        "ratings": bands,
        "vetoed": [r.unit_id for r in results if r.vetoed],
        "rewards_total": str(rewards),
        "fines_total": str(fines),
    }


def ranked_report(program: Program, results: Sequence[Result], errors: Sequence[object]) -> str:
    """The city's 通报: per category, units ranked by score, with vetoes and money."""
    checked = program.checked
    lines = [f"{program.label or program.name}" + (f"（{checked.header.document}）" if checked.header.document else ""),
             f"考核结果通报 / ranked results — {len(results)} 个单位" + (f", {len(errors)} 个未能考核" if errors else ""), ""]
    for category, info in checked.categories.items():
        rows_in = [r for r in results if r.category == category]
        if not rows_in:
            continue
        order = {r.name: i for i, r in enumerate(checked.ratings.ratings)}
        # like the city's 通报: by rating first (a vetoed unit is ranked with its rating), then by score
        rows_in.sort(key=lambda r: (order[r.rating], -r.score, r.unit_id))
        lines.append(f"【{info.label or category}】 满分 {info.total}")
        table = []
        for rank, r in enumerate(rows_in, 1):
            c = r.consequences
            amount = money(c.total) if c.kind != "none" else ""
            sign = "+" if c.kind == "reward" else "-" if c.kind == "fine" else ""
            # short names here; the full labels and evidence are in `kaohe explain`
            vetoes = "；".join(f"{v.name}〔{v.citation}〕" for v in r.vetoes)
            deferred = "；".join(f"{d.name} {len(d.items)}项→{d.to}" for d in r.deferred)
            table.append([str(rank), r.unit_id, r.name or "", plain_number(r.score), r.rating_label,
                          vetoes or "—", (sign + amount) if amount else "—", deferred or ""])
        lines.append(render_table(["名次", "编号", "单位", "得分", "等次", "一票否决", "奖惩(元)", "移交"], table, right=(0, 3, 6)))
        counts = {rating.label or rating.name: 0 for rating in checked.ratings.ratings}
        for r in rows_in:
            counts[r.rating_label] += 1
        lines.append("  " + "，".join(f"{k} {v}" for k, v in counts.items()))
        lines.append("")
    summary = summary_dict(program, results, errors)
    lines.append(f"奖励合计 {money(Decimal(str(summary['rewards_total'])))} 元；罚款合计 {money(Decimal(str(summary['fines_total'])))} 元")
    return "\n".join(lines)
