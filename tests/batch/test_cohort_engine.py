"""The cohort engine (kaohe_rules.cohort): ranks with shared ties, best/average, quotas and their cascade.

Each case is small enough to check by hand; the comment on each says what the design
(issue #11, notes C "Engine") asks and the hand-derived figure.
"""

from __future__ import annotations

import pickle
from decimal import Decimal as D

import pytest

from kaohe_rules.cohort import CohortError, Standings, apply_quotas, rank_rows
from kaohe_rules.runtime.standing import CategoryCohort, CohortSpec, QuotaRow, QuotaRule, RankRow, Standing


def spec(*categories: CategoryCohort, keys: int = 1) -> CohortSpec:
    return CohortSpec(name="综合排名", categories=categories or (CategoryCohort("县区", 4, ()),), key_count=keys)


def row(unit: str, *keys: str, category: str = "县区", ranked: bool = True, score: str | None = None) -> RankRow:
    return RankRow(unit, category, ranked, tuple(D(k) for k in keys), D(score if score is not None else keys[0]))


def ranks(standings: Standings) -> dict[str, int | None]:
    return {unit: standings[unit].rank for unit in standings}


def test_ties_share_a_rank_and_the_next_rank_is_skipped() -> None:
    rows = [row("a", "90"), row("b", "85"), row("c", "85"), row("d", "70")]
    standings = rank_rows(rows, spec())
    assert ranks(standings) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert [standings[u].tied for u in "abcd"] == [1, 2, 2, 1]


def test_later_keys_break_ties_of_the_first_and_lower_first_keys_arrive_negated() -> None:
    # by score, 死亡人数 lower first: the policy negates the second key (larger is better)
    rows = [row("a", "90", "-2"), row("b", "90", "-1"), row("c", "90", "-2"), row("d", "91", "-9")]
    standings = rank_rows(rows, spec(keys=2))
    assert ranks(standings) == {"d": 1, "b": 2, "a": 3, "c": 3}


def test_keys_of_different_scales_compare_exactly() -> None:
    # 87.5 vs 87.50 are equal; 87.49999999999999999999 is below; the finer key arrives last (rescale)
    rows = [row("a", "87.5"), row("b", "87.50"), row("c", "88"), row("d", "87.49999999999999999999"),
            row("e", "-0"), row("f", "0")]
    standings = rank_rows(rows, spec())
    assert ranks(standings) == {"c": 1, "a": 2, "b": 2, "d": 4, "e": 5, "f": 5}


def test_best_average_and_counts_are_over_ranked_units_of_the_category() -> None:
    rows = [row("a", "90"), row("b", "80"), row("c", "70"), row("x", "99", ranked=False),
            row("p", "60", category="部门"), row("q", "50", category="部门", ranked=False)]
    cats = (CategoryCohort("县区", 4, ()), CategoryCohort("部门", 4, ()))
    standings = rank_rows(rows, spec(*cats))
    a = standings["a"]
    assert (a.rank, a.ranked_count, a.unit_count, a.best, a.average) == (1, 3, 4, D("90"), D("80"))
    x = standings["x"]
    assert (x.rank, x.ranked_count, x.unit_count, x.best) == (None, 3, 4, D("90"))  # unranked: no rank, same counts
    assert (standings["q"].rank, standings["q"].unit_count, standings["q"].ranked_count) == (None, 2, 1)
    assert standings.categories["部门"].best == D("60")


def test_the_average_has_28_significant_digits() -> None:
    rows = [row("a", "1", score="1"), row("b", "1", score="1"), row("c", "2", score="2")]
    average = rank_rows(rows, spec())["a"].average
    assert average == D("1.333333333333333333333333333")
    assert len(average.as_tuple().digits) == 28


def test_the_final_score_not_the_key_makes_best_and_average() -> None:
    # a vetoed unit ranks with its key but best/average read the final score it carries
    rows = [row("a", "95", score="0"), row("b", "90", score="90")]
    standings = rank_rows(rows, spec())
    assert standings["a"].rank == 1 and standings["a"].best == D("90") and standings["a"].average == D("45")


def test_an_unranked_category_gets_standings_without_rank() -> None:
    rows = [row("a", "90"), row("z", "90", category="其他", ranked=False)]
    standings = rank_rows(rows, spec())
    z = standings["z"]
    assert (z.rank, z.ranked_count, z.unit_count, z.best, z.average) == (None, 0, 1, None, None)
    assert not standings.categories["其他"].ranked


def test_refusals_name_the_unit() -> None:
    with pytest.raises(CohortError, match=r"'a'.*twice.*rows 1 and 3"):
        rank_rows([row("a", "1"), row("b", "2"), row("a", "3")], spec())
    with pytest.raises(CohortError, match=r"'z'.*does not rank category 其他"):
        rank_rows([row("z", "1", category="其他")], spec())
    with pytest.raises(CohortError, match=r"'a'.*2 ranking keys.*by 1"):
        rank_rows([row("a", "1", "2")], spec())
    with pytest.raises(CohortError, match=r"'a'.*not a finite decimal"):
        rank_rows([row("a", "NaN")], spec())
    with pytest.raises(CohortError, match=r"'a'.*final score"):
        rank_rows([RankRow("a", "县区", True, (D(1),), D("Infinity"))], spec())


def test_provisional_categories_and_pickling() -> None:
    standings = rank_rows([row("a", "1"), row("b", "2")], spec(), provisional={"县区": "2 units could not be assessed"})
    assert standings["a"].provisional == "2 units could not be assessed"
    again = pickle.loads(pickle.dumps(standings))
    assert dict(again) == dict(standings) and isinstance(again["b"], Standing)
    assert "a" in standings and "c" not in standings and 3 not in standings
    with pytest.raises(KeyError):
        standings["c"]
    assert standings.with_provisional({"县区": "x"})["b"].provisional == "x"


# ------------------------------------------------------------------- quotas
def share(band: int, percent: str, clause: int = 0, of_ranked: bool = False) -> QuotaRule:
    return QuotaRule(band=band, limit=None, share=D(percent) / 100, of_ranked=of_ranked, clause=clause)


def count(band: int, n: int, clause: int = 0) -> QuotaRule:
    return QuotaRule(band=band, limit=n, share=None, of_ranked=False, clause=clause)


def run(scores: dict[str, str], bands: dict[str, int], *quotas: QuotaRule,
        unranked: tuple[str, ...] = ()) -> Standings:
    cohort = spec(CategoryCohort("县区", 4, quotas))
    rows = [row(u, s, ranked=u not in unranked) for u, s in scores.items()]
    standings = rank_rows(rows, cohort)
    return apply_quotas([QuotaRow(u, "县区", b) for u, b in bands.items()], standings, cohort)


def demotions(standings: Standings) -> dict[str, tuple[int | None, int | None]]:
    return {u: (s.demoted_to, s.quota) for u, s in standings.items() if s.demoted_to is not None}


def test_a_share_quota_is_rounded_down_and_the_lowest_ranked_holders_are_demoted() -> None:
    # 10 units, 优秀 at most 30% → ⌊3.0⌋ = 3; five hold 优秀 (band 0): ranks 4 and 5 go to 良好
    scores = {f"u{i}": str(100 - i) for i in range(10)}
    bands = {u: (0 if i < 5 else 1) for i, u in enumerate(scores)}
    standings = run(scores, bands, share(0, "30"))
    assert demotions(standings) == {"u3": (1, 0), "u4": (1, 0)}
    # 11 units: 30% of 11 = 3.3 → 3 (不超过)
    scores["u10"] = "1"
    bands["u10"] = 3
    assert demotions(run(scores, bands, share(0, "30"))) == {"u3": (1, 0), "u4": (1, 0)}
    # 35% of 10 units is 3.5 → 3 as well; 40% → 4
    del scores["u10"], bands["u10"]
    assert set(demotions(run(scores, bands, share(0, "35")))) == {"u3", "u4"}
    assert set(demotions(run(scores, bands, share(0, "40")))) == {"u4"}


def test_the_base_is_every_unit_or_the_ranked_ones() -> None:
    # 10 units, 4 of them unranked; 优秀 at most 50%: of all → 5, of ranked → 3
    scores = {f"u{i}": str(100 - i) for i in range(10)}
    bands = {u: 0 for u in scores}
    unranked = ("u6", "u7", "u8", "u9")
    all_base = run(scores, bands, share(0, "50"), unranked=unranked)
    assert set(demotions(all_base)) == {"u5", *unranked}  # the unranked go first, then rank 6
    ranked_base = run(scores, bands, share(0, "50", of_ranked=True), unranked=unranked)
    assert set(demotions(ranked_base)) == {"u3", "u4", "u5", *unranked}


def test_a_tie_straddling_the_limit_demotes_every_tied_unit() -> None:
    # 优秀 at most 2; ranks 1, 2, 2: the two tied at rank 2 both go down, leaving one 优秀
    standings = run({"a": "90", "b": "80", "c": "80", "d": "70"}, {"a": 0, "b": 0, "c": 0, "d": 1}, count(0, 2))
    assert demotions(standings) == {"b": (1, 0), "c": (1, 0)}


def test_unranked_holders_go_first_as_one_group() -> None:
    # 优秀 at most 2, held by ranks 1, 2 and two unranked units: both unranked go, whatever their order
    standings = run({"a": "90", "b": "80", "x": "99", "y": "98"}, {"a": 0, "b": 0, "x": 0, "y": 0},
                    count(0, 3), unranked=("x", "y"))
    assert set(demotions(standings)) == {"x", "y"}  # one unranked would fit, but not both: no order among them


def test_demotions_cascade_best_band_first() -> None:
    # 优秀 ≤ 1, 良好 ≤ 2; 优秀: a b c, 良好: d e. b, c drop to 良好, which then has b c d e: d, e drop to 合格
    standings = run({"a": "95", "b": "94", "c": "93", "d": "80", "e": "79"},
                    {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1}, count(0, 1, clause=0), count(1, 2, clause=1))
    assert demotions(standings) == {"b": (1, 0), "c": (1, 0), "d": (2, 1), "e": (2, 1)}


def test_a_unit_demoted_twice_records_the_last_quota() -> None:
    # 优秀 ≤ 1, 良好 ≤ 0: b goes 优秀 → 良好 → 合格; the quota that left it there is clause 1
    standings = run({"a": "95", "b": "94"}, {"a": 0, "b": 0}, count(0, 1, clause=0), count(1, 0, clause=1))
    assert demotions(standings) == {"b": (2, 1)}


def test_the_smaller_of_two_quotas_on_one_band_binds() -> None:
    # 优秀 ≤ 30% (of 10 → 3) and ≤ 2 for this category: 2 binds, clause 1
    scores = {f"u{i}": str(100 - i) for i in range(10)}
    standings = run(scores, {u: 0 for u in scores}, share(0, "30", clause=0), count(0, 2, clause=1))
    assert {q for _, q in demotions(standings).values()} == {1}
    assert len(demotions(standings)) == 8


def test_a_quota_that_is_not_exceeded_changes_nothing() -> None:
    standings = run({"a": "90", "b": "80"}, {"a": 0, "b": 1}, count(0, 1), count(1, 1, clause=1))
    assert demotions(standings) == {}


def test_quota_refusals_name_the_unit() -> None:
    cohort = spec(CategoryCohort("县区", 4, (count(0, 1),)))
    standings = rank_rows([row("a", "1"), row("b", "2")], cohort)
    with pytest.raises(CohortError, match=r"'c'.*no rank row"):
        apply_quotas([QuotaRow("c", "县区", 0)], standings, cohort)
    with pytest.raises(CohortError, match=r"'a'.*two quota rows"):
        apply_quotas([QuotaRow("a", "县区", 0), QuotaRow("a", "县区", 1)], standings, cohort)
    with pytest.raises(CohortError, match=r"'a'.*band 5"):  # 4, one past the last, is a rating that is no band
        apply_quotas([QuotaRow("a", "县区", 5)], standings, cohort)
    with pytest.raises(CohortError, match=r"'a'.*band -1"):
        apply_quotas([QuotaRow("a", "县区", -1)], standings, cohort)
    with pytest.raises(CohortError, match=r"'a'.*category 部门"):
        apply_quotas([QuotaRow("a", "部门", 0)], standings, cohort)
    lowest = spec(CategoryCohort("县区", 4, (count(3, 1),)))
    with pytest.raises(CohortError, match="lowest cannot be capped"):
        apply_quotas([QuotaRow("a", "县区", 3)], rank_rows([row("a", "1")], lowest), lowest)
    both = spec(CategoryCohort("县区", 4, (QuotaRule(0, 1, D("0.3"), False, 0),)))
    with pytest.raises(CohortError, match="not both"):
        apply_quotas([QuotaRow("a", "县区", 0)], rank_rows([row("a", "1")], both), both)


def test_quotas_leave_other_fields_alone_and_the_error_pickles() -> None:
    standings = run({"a": "90", "b": "80"}, {"a": 0, "b": 0}, count(0, 1))
    b = standings["b"]
    assert (b.rank, b.ranked_count, b.unit_count, b.demoted_to, b.quota) == (2, 2, 2, 1, 0)
    error = CohortError("appears twice", "a")
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.unit, str(again)) == (CohortError, "a", str(error))


def test_every_duplicate_is_named_in_the_error() -> None:
    with pytest.raises(CohortError) as caught:
        rank_rows([row("b", "1"), row("a", "2"), row("b", "3"), row("a", "4"), row("c", "5")], spec())
    assert caught.value.duplicates == ("a", "b") and caught.value.unit == "a"
    assert "rows 2 and 4); 1 more repeated rows" in str(caught.value)
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.duplicates == ("a", "b")


def test_the_per_unit_state_is_compact() -> None:
    """Bounded memory (issue #11): the standings hold ~90 bytes a unit, ranking peaks well under 300."""
    import tracemalloc

    n = 5_000
    scores = [D(s) / 10 for s in range(400, 1001)]
    cohort = spec(CategoryCohort("县区", 4, ()), keys=2)

    def rows() -> object:
        for i in range(n):
            yield RankRow(f"unit-{i:07d}", "县区", True, (scores[i % 601], D(-(i % 3))), scores[i % 601])

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        standings = rank_rows(rows(), cohort)  # type: ignore[arg-type]
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (held - base) / n < 120 and (peak - base) / n < 300, ((held - base) / n, (peak - base) / n)
    assert standings.nbytes() / n < 110
    assert standings["unit-0000000"].rank == 1 + sum(1 for i in range(n) if (i % 601, -(i % 3)) > (0, 0))


@pytest.mark.parametrize("name", ["jiaojiang-2018", "weimin-2008"])
def test_the_documented_driver_recipe_gives_evaluate_cohort_s_results(name: str) -> None:
    """docs/api.md's driver of one's own (rank rows, quota rows, final pass) on each bundled cohort policy.

    为民办实事2008 has units whose rating is no band of their category (a veto's rating beside 先进/合格):
    their ``quota_row`` is one past the last band, which ``apply_quotas`` refused ("band 1 is not one of
    category 县's bands 0..0") although ``Result.band_index`` documents it.  It now holds no band.
    """
    import json
    from pathlib import Path

    import kaohe_rules

    root = Path(__file__).resolve().parents[2]
    policy = kaohe_rules.load(root / "policies" / f"{name}.kh")
    units = json.loads((root / "policies" / name / "units.json").read_text(encoding="utf-8"))["units"]
    spec = policy.cohort
    assert spec is not None
    first = [policy.evaluate(u, provisional=True) for u in units]
    standings = rank_rows((r.rank_row for r in first), spec)
    second = [policy.evaluate_in_cohort(u, standings[r.unit_id]) for u, r in zip(units, first, strict=True)]
    standings = apply_quotas((r.quota_row for r in second), standings, spec)
    final = [policy.evaluate_in_cohort(u, standings[r.unit_id]) for u, r in zip(units, first, strict=True)]
    reference = [item.result for item in policy.evaluate_cohort(units)]
    assert all(r is not None for r in reference)
    assert [r.to_dict() for r in final] == [r.to_dict() for r in reference if r is not None]
    if name == "weimin-2008":
        bands = spec.categories
        assert any(r.quota_row.band == next(c.band_count for c in bands if c.category == r.category) for r in second)


def test_a_quota_row_beyond_one_past_the_last_band_is_still_refused() -> None:
    one = spec(CategoryCohort("县区", 2, ()))
    standings = rank_rows([row("a", "1")], one)
    assert apply_quotas([QuotaRow("a", "县区", 2)], standings, one)["a"].demoted_to is None  # holds no band
    with pytest.raises(CohortError, match="band 3 is not one of"):
        apply_quotas([QuotaRow("a", "县区", 3)], standings, one)
