"""Hypothesis strategies for cohorts, and the laws every cohort standing must obey (issue #11).

The cohort engine (:mod:`kaohe_rules.cohort`) sees only rows, so its laws are checked on
generated rows and specifications, not on policies:

* :func:`cohort_specs` — a :class:`~kaohe_rules.runtime.standing.CohortSpec`: one to three
  ranked categories, each with 2–5 bands and up to three quotas (counts and shares, of
  every unit or of the ranked ones), one to three ranking keys;
* :func:`cohorts` — a :class:`Cohort`: a spec, its :class:`RankRow` s (unique ids, a few
  unranked rows, a row of a category the cohort does not rank, keys drawn from a small
  pool written at different scales — ``85``, ``85.0``, ``85.50`` — so that ties and
  rescaling are common) and a :class:`QuotaRow` per row.

The laws (each returns the violations found, empty when it holds):

* :func:`quota_never_exceeded` — after the quotas, no band holds more units than its limit;
* :func:`rank_order_follows_keys` — better keys, strictly better rank; equal keys, equal
  rank; rank = 1 + the number of strictly better units;
* :func:`raising_first_key_never_lowers_rank` — one unit's first key raised, its rank
  does not worsen;
* :func:`permutation_invariant` — the same rows in another order give the same standings.

Everything shrinks to few units, one category, one key and no quotas.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs
from hypothesis import strategies as st

from ..cohort import Standings, apply_quotas, quota_limit, rank_rows
from ..runtime.standing import CategoryCohort, CohortSpec, QuotaRow, QuotaRule, RankRow

__all__ = ["Cohort", "cohort_specs", "cohorts", "final_band", "permutation_invariant", "quota_never_exceeded",
           "rank_order_follows_keys", "raising_first_key_never_lowers_rank", "standings_of"]

CATEGORIES = ("县区", "部门", "企业")
UNRANKED_CATEGORY = "其他"  # a category the generated cohort never ranks
#: key values: few, so that ties are frequent; each is written at several scales
_KEY_VALUES = ("0", "59.5", "60", "80", "85", "85.25", "90", "100", "-1", "1234.5678")
_SHARES = (Decimal("0.3"), Decimal("0.5"), Decimal("0.15"), Decimal("0.333"), Decimal(0), Decimal(1))


@attrs.frozen
class Cohort:
    """A generated batch for the engine: its spec, one RankRow and one QuotaRow per unit."""

    spec: CohortSpec
    rows: tuple[RankRow, ...]
    quota_rows: tuple[QuotaRow, ...]


@st.composite
def _quota(draw: st.DrawFn, band_count: int, clause: int) -> QuotaRule:
    band = draw(st.integers(0, band_count - 2))
    if draw(st.booleans()):
        return QuotaRule(band=band, limit=draw(st.integers(0, 6)), share=None, of_ranked=False, clause=clause)
    return QuotaRule(band=band, limit=None, share=draw(st.sampled_from(_SHARES)), of_ranked=draw(st.booleans()),
                     clause=clause)


@st.composite
def cohort_specs(draw: st.DrawFn, max_categories: int = 3, max_keys: int = 3, max_quotas: int = 3) -> CohortSpec:
    """A cohort specification: ranked categories with bands and quotas, a number of keys."""
    names = draw(st.lists(st.sampled_from(CATEGORIES[:max_categories]), min_size=1, unique=True))
    categories = []
    clause = 0
    for name in names:
        band_count = draw(st.integers(2, 5))
        quotas = []
        for _ in range(draw(st.integers(0, max_quotas))):
            quotas.append(draw(_quota(band_count, clause)))
            clause += 1
        categories.append(CategoryCohort(name, band_count, tuple(quotas)))
    return CohortSpec(name="综合排名", categories=tuple(categories), key_count=draw(st.integers(1, max_keys)))


def _decimal(draw: st.DrawFn) -> Decimal:
    value = Decimal(draw(st.sampled_from(_KEY_VALUES)))
    return value.quantize(Decimal(1).scaleb(-draw(st.integers(0, 4)))) if value == value.to_integral() else value


@st.composite
def cohorts(draw: st.DrawFn, spec: CohortSpec | None = None, max_units: int = 25) -> Cohort:
    """A batch of rows for ``spec`` (drawn when not given): unique ids, ties, unranked rows, quota rows."""
    if spec is None:
        spec = draw(cohort_specs())
    bands = {c.category: c.band_count for c in spec.categories}
    count = draw(st.integers(0, max_units))
    rows = []
    quota_rows = []
    for i in range(count):
        category = draw(st.sampled_from([*bands, UNRANKED_CATEGORY]))
        ranked = category in bands and draw(st.integers(0, 4)) > 0
        keys = tuple(_decimal(draw) for _ in range(spec.key_count))
        score = keys[0] if draw(st.integers(0, 3)) else _decimal(draw)  # mostly the first key, as `by score`
        rows.append(RankRow(f"u{i}", category, ranked, keys, score))
        quota_rows.append(QuotaRow(f"u{i}", category, draw(st.integers(0, bands.get(category, 1) - 1))))
    return Cohort(spec, tuple(rows), tuple(quota_rows))


def standings_of(cohort: Cohort) -> Standings:
    """The cohort ranked, then its quotas applied."""
    return apply_quotas(cohort.quota_rows, rank_rows(cohort.rows, cohort.spec), cohort.spec)


def final_band(quota_row: QuotaRow, standings: Standings) -> int:
    demoted = standings[quota_row.unit_id].demoted_to
    return quota_row.band if demoted is None else demoted


def quota_never_exceeded(cohort: Cohort, standings: Standings) -> list[str]:
    """No band of a category holds more units than the smallest of its quotas' limits."""
    problems = []
    for category in cohort.spec.categories:
        if category.category not in standings.categories:
            continue
        counts = standings.categories[category.category]
        held = [final_band(q, standings) for q in cohort.quota_rows if q.category == category.category]
        for rule in category.quotas:
            limit = quota_limit(rule, counts)
            holders = held.count(rule.band)
            if holders > limit:
                problems.append(f"{category.category}: band {rule.band} held by {holders} units, "
                                f"quota {rule.clause} allows {limit}")
    return problems


def rank_order_follows_keys(cohort: Cohort, standings: Standings) -> list[str]:
    """Within a category, better keys rank strictly better, equal keys equally; rank = 1 + #better."""
    problems = []
    ranked = [r for r in cohort.rows if r.ranked]
    for a in ranked:
        rank_a = standings[a.unit_id].rank
        better = sum(1 for b in ranked if b.category == a.category and b.keys > a.keys)
        if rank_a != 1 + better:
            problems.append(f"{a.unit_id}: rank {rank_a}, but {better} units of {a.category} have better keys")
        for b in ranked:
            if b.category != a.category:
                continue
            rank_b = standings[b.unit_id].rank
            assert rank_a is not None and rank_b is not None
            if (a.keys > b.keys and not rank_a < rank_b) or (a.keys == b.keys and rank_a != rank_b):
                problems.append(f"{a.unit_id} {a.keys} rank {rank_a} vs {b.unit_id} {b.keys} rank {rank_b}")
    for r in cohort.rows:
        if not r.ranked and standings[r.unit_id].rank is not None:
            problems.append(f"{r.unit_id} is not ranked but has rank {standings[r.unit_id].rank}")
    return problems


def raising_first_key_never_lowers_rank(cohort: Cohort, unit: int, raise_by: Decimal) -> list[str]:
    """Unit number ``unit``'s first key raised by ``raise_by`` ≥ 0: its rank is no worse than before."""
    if not cohort.rows:
        return []
    row = cohort.rows[unit % len(cohort.rows)]
    before = rank_rows(cohort.rows, cohort.spec)[row.unit_id].rank
    raised = attrs.evolve(row, keys=(row.keys[0] + abs(raise_by), *row.keys[1:]))
    rows = tuple(raised if r is row else r for r in cohort.rows)
    after = rank_rows(rows, cohort.spec)[row.unit_id].rank
    if before is not None and (after is None or after > before):
        return [f"{row.unit_id}: first key {row.keys[0]} → {raised.keys[0]}, rank {before} → {after}"]
    return []


def permutation_invariant(cohort: Cohort, order: Sequence[int]) -> list[str]:
    """The rows (and quota rows) in another order give every unit the same standing."""
    before = standings_of(cohort)
    rows = tuple(cohort.rows[i] for i in order)
    quota_rows = tuple(cohort.quota_rows[i] for i in order)
    after = standings_of(attrs.evolve(cohort, rows=rows, quota_rows=quota_rows))
    problems = [f"{unit}: {before[unit]} became {after.get(unit)}" for unit in before if before[unit] != after.get(unit)]
    # equal Decimals may differ in how they print (85 vs 85.0): best and average must print alike too
    for unit in before:
        a, b = before[unit], after[unit]
        if (str(a.best), str(a.average)) != (str(b.best), str(b.average)):
            problems.append(f"{unit}: best/average {a.best}/{a.average} printed {b.best}/{b.average} reordered")
    return problems
