"""The runtime side of cohorts (issue #11 C): the engine's spec from a checked policy, the
no-standing marker the generated evaluators read by default, and a result's rank row.

The ranking itself is the cohort engine's (:mod:`kaohe_rules.cohort`, the batch layer);
this module holds only what a single :class:`~kaohe_rules.runtime.result.Result` needs.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..language.model import CheckedPolicy, CohortPlan, QuotaPlan
from .standing import CategoryCohort, CohortSpec, QuotaRule, Standing

#: Why a result assessed without its batch is provisional (``policy.evaluate(unit, provisional=True)``).
PROVISIONAL_REASON = "assessed alone, without its cohort: no rank, and no quota applied"

#: The standing a cohort policy's evaluators read when none is given: rank unset, no unit
#: ranked or counted, no quota.  (A cohort value read by an outcome then reads as unset or 0.)
NO_STANDING = Standing(cohort="", rank=None, ranked_count=0, unit_count=0, best=None, average=None,
                       provisional=PROVISIONAL_REASON)


def cohort_spec(checked: CheckedPolicy) -> CohortSpec | None:
    """What the cohort engine needs of the policy's cohort block (None without one)."""
    plan = checked.cohort
    if plan is None:
        return None
    categories = []
    for category in plan.categories:
        bands = plan.bands.get(category, ())
        rules = sorted((_rule(plan, q, category) for q in plan.quotas_for(category)), key=lambda r: (r.band, r.clause))
        categories.append(CategoryCohort(category, len(bands), tuple(rules)))
    return CohortSpec(plan.name, tuple(categories), len(plan.decl.keys))


def _rule(plan: CohortPlan, quota: QuotaPlan, category: str) -> QuotaRule:
    return QuotaRule(band=plan.band_index(category, quota.band), limit=quota.limit, share=quota.share,
                     of_ranked=quota.of_ranked, clause=quota.clause)


def quota_limit(quota: QuotaPlan, standing: Standing) -> tuple[int, int]:
    """(the limit, its base) of ``quota`` for a unit with ``standing``: ⌊P × base⌋ or N (不超过: rounded down)."""
    base = standing.ranked_count if quota.of_ranked else standing.unit_count
    if quota.limit is not None:
        return quota.limit, base
    share = quota.share if quota.share is not None else Decimal(0)
    return int((share * base).to_integral_value(rounding="ROUND_FLOOR")), base


def standing_dict(standing: Standing) -> dict[str, object]:
    """A standing as JSON-ready values (Decimals as exact strings)."""
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {"cohort": standing.cohort, "rank": standing.rank, "ranked_count": standing.ranked_count,
            "unit_count": standing.unit_count, "best": text(standing.best), "average": text(standing.average),
            "tied": standing.tied, "demoted_to": standing.demoted_to, "quota": standing.quota,
            "provisional": standing.provisional}


# ------------------------------------------------ why a batch's standings may change
# The reason is a plain string on the Standing (it travels to workers and into traces); its
# English form and the explanation's Chinese one are written and read here, side by side, so
# that changing one cannot leave the other reading it wrongly (a test round-trips them).
_FAILED_ROWS = re.compile(r"(\d+) units? of (.+) could not be assessed \(rows? ([^)]*)\); ranks and quotas may change")


def failed_rows_reason(category: str, rows: list[int], shown_rows: int) -> str:
    """"2 units of 县区 could not be assessed (rows 3, 7); ranks and quotas may change" (at most
    ``shown_rows`` rows named, then "and N more")."""
    units = "unit" if len(rows) == 1 else "units"
    shown = ", ".join(map(str, rows[:shown_rows])) + (f" and {len(rows) - shown_rows} more"
                                                      if len(rows) > shown_rows else "")
    return (f"{len(rows)} {units} of {category} could not be assessed "
            f"(row{'s' if len(rows) > 1 else ''} {shown}); ranks and quotas may change")


def failed_rows_reason_zh(reason: str) -> str | None:
    """The Chinese of a :func:`failed_rows_reason` text ("县区有2个单位未能评定（第3、7行）"), or None
    for any other text."""
    match = _FAILED_ROWS.fullmatch(reason)
    if match is None:
        return None
    count, category, rows = match.groups()
    rows = re.sub(r" and (\d+) more$", r"等（另\1行）", rows).replace(", ", "、")
    return f"{category}有{count}个单位未能评定（第{rows}行）"
