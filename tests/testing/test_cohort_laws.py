"""The cohort laws (issue #11) on generated cohorts, and a differential check against a naive ranking.

Each law is a function of kaohe_rules.testing.cohorts returning its violations; here they
run on hypothesis-generated rows and specs.  The last tests show each law can fail: a
deliberately wrong standing is caught.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe_rules.cohort import AVERAGE_CONTEXT, Standings, rank_rows
from kaohe_rules.runtime.standing import CategoryCohort, CohortSpec, QuotaRow, QuotaRule, RankRow
from kaohe_rules.testing.cohorts import (
    Cohort,
    cohorts,
    permutation_invariant,
    quota_never_exceeded,
    raising_first_key_never_lowers_rank,
    rank_order_follows_keys,
    standings_of,
)

EXAMPLES = settings(max_examples=60, deadline=None)


@EXAMPLES
@given(cohorts())
def test_quota_never_exceeded(cohort: Cohort) -> None:
    assert quota_never_exceeded(cohort, standings_of(cohort)) == []


@EXAMPLES
@given(cohorts())
def test_rank_order_follows_keys(cohort: Cohort) -> None:
    assert rank_order_follows_keys(cohort, standings_of(cohort)) == []


@EXAMPLES
@given(cohorts(), st.integers(0, 100), st.sampled_from(["0", "0.0001", "1", "5.5", "1000"]))
def test_raising_first_key_never_lowers_rank(cohort: Cohort, unit: int, by: str) -> None:
    assert raising_first_key_never_lowers_rank(cohort, unit, Decimal(by)) == []


@EXAMPLES
@given(st.data())
def test_permuting_the_input_never_changes_a_standing(data: st.DataObject) -> None:
    cohort = data.draw(cohorts())
    order = data.draw(st.permutations(range(len(cohort.rows))))
    assert permutation_invariant(cohort, order) == []


@EXAMPLES
@given(cohorts())
def test_counts_best_and_average_match_a_naive_computation(cohort: Cohort) -> None:
    standings = standings_of(cohort)
    for row in cohort.rows:
        same = [r for r in cohort.rows if r.category == row.category]
        ranked = [r for r in same if r.ranked]
        s = standings[row.unit_id]
        assert s.unit_count == len(same) and s.ranked_count == len(ranked)
        assert s.tied == (sum(1 for r in ranked if r.keys == row.keys) if row.ranked else 1)
        if ranked:
            assert s.best == max(r.score for r in ranked)
            assert s.average == AVERAGE_CONTEXT.divide(sum(r.score for r in ranked), len(ranked))
        else:
            assert s.best is None and s.average is None


@EXAMPLES
@given(cohorts())
def test_only_units_above_their_quota_are_demoted_by_one_band_at_a_time(cohort: Cohort) -> None:
    standings = standings_of(cohort)
    capped = {c.category: {q.band for q in c.quotas} for c in cohort.spec.categories}
    for q in cohort.quota_rows:
        s = standings[q.unit_id]
        if s.demoted_to is not None:
            assert s.demoted_to > q.band and q.band in capped.get(q.category, set())
            assert s.quota is not None


# ----------------------------------------------------------- the laws can fail
def _two_units() -> Cohort:
    spec = CohortSpec("c", (CategoryCohort("县区", 3, (QuotaRule(0, 1, None, False, 0),)),), 1)
    rows = (RankRow("a", "县区", True, (Decimal(2),), Decimal(2)), RankRow("b", "县区", True, (Decimal(1),), Decimal(1)))
    return Cohort(spec, rows, (QuotaRow("a", "县区", 0), QuotaRow("b", "县区", 0)))


def test_the_laws_catch_a_wrong_standing() -> None:
    cohort = _two_units()
    good = standings_of(cohort)
    assert quota_never_exceeded(cohort, good) == [] and rank_order_follows_keys(cohort, good) == []
    unquoted = rank_rows(cohort.rows, cohort.spec)  # quotas not applied: two units hold band 0, limit 1
    assert quota_never_exceeded(cohort, unquoted) == ["县区: band 0 held by 2 units, quota 0 allows 1"]
    swapped = Cohort(cohort.spec, cohort.rows[::-1], cohort.quota_rows)
    flipped = rank_rows([RankRow(r.unit_id, r.category, True, (-r.keys[0],), r.score) for r in cohort.rows],
                        cohort.spec)
    assert isinstance(flipped, Standings)
    assert rank_order_follows_keys(swapped, flipped) != []
