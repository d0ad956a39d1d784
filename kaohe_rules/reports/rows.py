"""One small row per assessed unit: what every ranked output (table, XLSX, CSV) reads.

A :class:`~kaohe_rules.runtime.result.Result` holds its program, its raw tuple and
caches of decoded parts; keeping 200,000 of them to rank them at the end took 1.38 GB
(issue #12).  A ranked report cannot be written before the last unit is read (the
ranking needs them all), so the batch keeps only a :class:`RankedRow` per unit — the
ranking key and the cells the 通报 shows, a few hundred bytes — and drops the result
as soon as the row is made.  The bound is therefore *one row per assessed unit*, not
one result; every other output format (JSON Lines) streams in constant memory.

:class:`Tally` counts the rows as they pass, so that every output can state
``assessed + not assessed = rows read`` without keeping the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..language import ast
from ..language.abi import RAW_DEFERRED, RAW_SECTIONS, RAW_VETOES
from ..language.model import CategoryInfo, CheckedPolicy
from ..numeric import normalize
from ..runtime.program import Program
from ..runtime.result import Result


@attrs.frozen(slots=True)
class RankedRow:
    """What the ranked outputs show of one assessed unit (no reference to the result)."""

    category: str
    unit_id: str
    name: str | None
    score: Decimal
    rating: str
    rating_label: str
    rating_order: int
    #: the scores of the category's top-level sections, in declaration order
    sections: tuple[Decimal, ...]
    #: (name, label, citation) of every veto that fired
    vetoes: tuple[tuple[str, str | None, str | None], ...]
    #: (name, number of items, to whom) of every deferral
    deferred: tuple[tuple[str, int, str | None], ...]
    #: "reward", "fine" or "none" (the result's consequences)
    money_kind: str
    money_total: Decimal
    #: issue #10, empty for policies without them: the reported lets as shown (name, text),
    #: and the items of the outcomes for every rating that applied (their labels)
    reported: tuple[tuple[str, str], ...] = ()
    further: tuple[str, ...] = ()
    #: the money of those outcomes for every rating (rewards, fines; both positive): counted in the totals
    further_rewards: Decimal = Decimal("0.00")
    further_fines: Decimal = Decimal("0.00")
    #: issue #11 C, a cohort policy only: the unit's rank in its cohort (None: not ranked), and that it has one
    cohort_rank: int | None = None
    in_cohort: bool = False

    def shown_rank(self, number: int) -> str:
        """The 名次 cell: the cohort rank for a cohort policy ("—" when not ranked), else the row's place."""
        if not self.in_cohort:
            return str(number)
        return str(self.cohort_rank) if self.cohort_rank is not None else "—"

    @property
    def signed_money(self) -> Decimal | None:
        """The amount with its direction: positive for a reward, negative for a fine, None for neither."""
        if self.money_kind == "reward":
            return self.money_total
        if self.money_kind == "fine":
            return -self.money_total
        return None

    def sort_key(self) -> tuple[int, Decimal, str]:
        """Like the city's 通报: by rating first (a vetoed unit is ranked with its rating), then by score."""
        return (self.rating_order, -self.score, self.unit_id)

    def cohort_key(self) -> tuple[bool, int, int, Decimal, str]:
        """A cohort policy's order (issue #11 C): by the cohort rank, the units not ranked after, as the 通报."""
        return (self.cohort_rank is None, self.cohort_rank or 0, self.rating_order, -self.score, self.unit_id)


def top_sections(info: CategoryInfo) -> tuple[str, ...]:
    """The keys (``Result.sections``) of a category's top-level sections, in declaration order."""
    return tuple(".".join(s.path) for s in info.sections)


def ranked_row(program: Program, result: Result) -> RankedRow:
    """The row of one result: read now, while the result is at hand.

    Read from the raw result and the category's plan, not through ``Result.sections`` /
    ``vetoes`` / ``deferred``, which decode every target and every fact a veto read: the
    row needs a few numbers and names, and this runs once per unit of a batch.
    """
    checked = program.checked
    category = result.category
    plan = program.plans[category]
    raw = result.raw
    order = program.section_order(category)
    scores = dict(zip(order, raw[RAW_SECTIONS]))
    sections = tuple(Decimal(scores[s.path]) for s in checked.categories[category].sections if s.path in scores)
    # a clause with a rating effect is no 一票否决: the column says what it did (瞒报（降低等次）)
    vetoes = tuple((v.name + _effect_note(v), v.label and v.label + _effect_note(v), v.cite)
                   for v in (plan.vetoes[entry[0]] for entry in raw[RAW_VETOES]))
    deferred = tuple((plan.defers[index].name, len(items), plan.defers[index].to) for index, items in raw[RAW_DEFERRED])
    c = result.consequences
    rating = result.rating
    return RankedRow(
        category=category, unit_id=result.unit_id, name=result.name, score=result.score,
        rating=rating, rating_label=result.rating_label, rating_order=program.rating_names.index(rating),
        sections=sections, vetoes=vetoes, deferred=deferred, money_kind=c.kind, money_total=c.total,
        reported=(tuple((name, _shown(r.value)) for name, r in result.reported.items()) if checked.reported else ())
        + (period_cells(result) if checked.periods is not None else ()),
        **(_further(result) if checked.general_outcomes else {}),
        cohort_rank=_cohort_rank(result) if checked.cohort is not None else None, in_cohort=checked.cohort is not None)


def _further(result: Result) -> dict[str, Any]:
    """The items of the outcomes for every rating that applied, as the 其他奖惩 cell shows them
    (a reward or fine with its amount), and their money: a 通报 whose totals left it out would
    say 奖励合计 0.00 beside a unit that is paid."""
    shown: list[str] = []
    rewards = fines = Decimal("0.00")
    for group in result.general_consequences:
        for item in group.items:
            text = item.label or item.name
            if item.amount is not None and item.kind in ("reward", "fine"):
                sign = "+" if item.kind == "reward" else "-"
                text += f" {sign}{item.amount:,.2f}"
                if item.kind == "reward":
                    rewards += item.amount
                else:
                    fines += item.amount
            shown.append(text)
    return {"further": tuple(shown), "further_rewards": rewards, "further_fines": fines}


def _cohort_rank(result: Result) -> int | None:
    standing = result.standing
    return standing.rank if standing is not None else None


def _effect_note(veto: ast.VetoDecl) -> str:
    """What a fired clause with a rating effect did, for the 一票否决 column of the tables ("" for 一票否决)."""
    effect = veto.effect
    if effect is None:
        return ""
    if effect.kind == "rating":
        return f"（评为{effect.rating}）"
    if effect.kind == "cap":
        return f"（至多评为{effect.rating}）"
    return "（降低等次）" if effect.kind == "downgrade" else "（得分改定）"


def _shown(value: object) -> str:
    """A reported value in a table cell: yes/no in Chinese as the 通报 writes them, numbers plain."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return str(normalize(value))
    return "" if value is None else str(value)


def rank(rows: Iterable[RankedRow], categories: Iterable[str]) -> list[tuple[str, list[RankedRow]]]:
    """The rows per category (in the policy's category order), each ranked; empty categories left out."""
    by_category: dict[str, list[RankedRow]] = {c: [] for c in categories}
    for row in rows:
        by_category.setdefault(row.category, []).append(row)
    out = []
    for category, members in by_category.items():
        if members:
            members.sort(key=RankedRow.cohort_key if members[0].in_cohort else RankedRow.sort_key)
            out.append((category, members))
    return out


@attrs.define
class Tally:
    """Rows read, assessed and not assessed, counted as they pass (nothing kept)."""

    assessed: int = 0
    not_assessed: int = 0

    @property
    def total(self) -> int:
        return self.assessed + self.not_assessed


def money_totals(rows: Sequence[RankedRow]) -> tuple[Decimal, Decimal]:
    """The reward total and the fine total of the rows (both positive, in yuan)."""
    rewards = sum((r.money_total for r in rows if r.money_kind == "reward"), Decimal("0.00"))
    fines = sum((r.money_total for r in rows if r.money_kind == "fine"), Decimal("0.00"))
    rewards += sum((r.further_rewards for r in rows), Decimal("0.00"))  # outcomes for every rating (issue #10)
    fines += sum((r.further_fines for r in rows), Decimal("0.00"))
    return rewards, fines


# ------------------------------------------------------------ periods (issue #11 P)
def extra_columns(checked: CheckedPolicy) -> tuple[tuple[str, str], ...]:
    """The columns after the money, as (key in ``RankedRow.reported``, header): the reported lets
    (issue #10), then each period's score and rating (issue #11 P) — none for other policies."""
    columns = [(name, checked.lets[name].label or name) for name in checked.reported]
    if checked.periods is not None:
        for item in checked.periods.items:
            shown = item.label or item.name
            columns += [(f" period {item.name} score", f"{shown}得分"), (f" period {item.name} rating", f"{shown}等次")]
    return tuple(columns)


def period_cells(result: Result) -> tuple[tuple[str, str], ...]:
    """A result's period columns (keys as :func:`extra_columns` names them)."""
    cells: list[tuple[str, str]] = []
    for period in result.periods:
        cells += [(f" period {period.name} score", _shown(period.score)),
                  (f" period {period.name} rating", period.rating_label)]
    return tuple(cells)

