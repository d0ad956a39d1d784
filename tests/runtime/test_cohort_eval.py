"""Cohorts (issue #11 C) through the Policy API: evaluate (refused or provisional), evaluate_in_cohort,
evaluate_cohort, the result's standing, rank row, band index, quota step, to_dict and explanation.

The batch below is derived by hand (docs/language.md, "Cohorts"):

    县区  A 95  B 92  C 92  D 88  E 91 (not 达标: not ranked)
    ranks A 1, B 2, C 2 (tied), D 4, E none; ranked 4 of 5; best 95; average (95+92+92+88)/4 = 91.75
    quota 优秀 at most 40%: ⌊0.4 × 5⌋ = 2.  Holders A, B, C, E: E (unranked) goes first, then the
    tie B/C straddles the limit (1 + 2 > 2) and goes whole: only A stays 优秀.
    quota 良好 at most 50% of ranked: ⌊0.5 × 4⌋ = 2.  Holders B, C, D, E: E first, then D (rank 4):
    B and C stay 良好, D and E go to 合格.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules import CohortRequired
from kaohe_rules.runtime.standing import Standing

POLICY = '''policy 排名 "排名示例" { period 2013-01-01 .. 2013-12-31 }
category 县区 "县（区）" total 100 { section 甲 "甲" 100 }
category 企业 "企业" total 100 { section 甲 "甲" 100 }
ratings { 优秀 良好 合格 不合格 } vetoed 不合格
bands 县区 { 优秀 [90, 100] 良好 [75, 90) 合格 [60, 75) 不合格 [0, 60) }
bands 企业 { 优秀 [90, 100] 良好 [75, 90) 合格 [60, 75) 不合格 [0, 60) }
fact 扣分: decimal in 0..100 = 0 "扣分"
fact 达标: bool = true "完成目标"
fact 重大事故: bool = false "重大事故"
target 甲 "甲" in 县区.甲 points 100, 企业.甲 points 100 { deduct 扣分 }
veto 事故 "重大事故" cite "第九条" when 重大事故 then score 0
cohort 综合排名 "年度排名" cite "第十条" {
  for 县区
  among 达标
  by score
  ties share
  quota 优秀 at most 40% cite "第十一条"
  quota 良好 at most 50% of ranked
}
outcome cite "第十条" {
  reward 先进 "先进单位" = 1000元 when rank is set and rank <= 2 for 县区
}
'''


def unit(uid: str, score: int, category: str = "县区", **facts: Any) -> dict[str, Any]:
    return {"id": uid, "category": category, "facts": {"扣分": 100 - score, **facts}}


BATCH = [unit("A", 95), unit("B", 92), unit("C", 92), unit("D", 88), unit("E", 91, 达标=False), unit("Q", 99, "企业")]


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(POLICY)


def by_id(items: list[Any]) -> dict[str, Any]:
    return {item.unit_id: item.result for item in items}


def test_a_unit_alone_is_refused_naming_the_cohort(policy: Any) -> None:
    with pytest.raises(CohortRequired) as caught:
        policy.evaluate(BATCH[0])
    assert "cohort 综合排名, 第十条" in str(caught.value) and "evaluate_cohort" in str(caught.value)


def test_a_provisional_result_has_no_rank_and_no_quota(policy: Any) -> None:
    result = policy.evaluate(BATCH[0], provisional=True)
    assert result.rating == "优秀" and result.standing is None and result.provisional
    assert result.rank_row.ranked and result.rank_row.keys == (Decimal(95),)
    assert result.consequences.items == () and result.general_consequences[0].items == ()  # rank unset: no 先进
    assert result.explain().splitlines()[2].startswith("暂定结果")
    assert result.to_dict()["standing"] is None and result.to_dict()["provisional"]


def test_ranks_ties_counts_best_and_average(policy: Any) -> None:
    results = by_id(policy.evaluate_cohort(BATCH))
    assert {u: r.standing.rank for u, r in results.items()} == {"A": 1, "B": 2, "C": 2, "D": 4, "E": None, "Q": None}
    b = results["B"].standing
    assert (b.tied, b.ranked_count, b.unit_count, b.best, b.average) == (2, 4, 5, Decimal(95), Decimal("91.75"))
    assert results["Q"].standing.unit_count == 1 and not results["Q"].rank_row.ranked  # 企业 is not ranked


def test_quotas_demote_unranked_first_then_whole_ties(policy: Any) -> None:
    results = by_id(policy.evaluate_cohort(BATCH))
    assert {u: r.rating for u, r in results.items()} == {"A": "优秀", "B": "良好", "C": "良好", "D": "合格",
                                                         "E": "合格", "Q": "优秀"}
    steps = [(s.before, s.after) for s in results["E"].effects]
    assert steps == [("优秀", "良好"), ("良好", "合格")] or steps == [("优秀", "合格")]
    assert results["B"].band_index == 1 and results["A"].band_index == 0
    quota = results["B"].effects[0]
    assert quota.kind == "quota" and quota.value["limit"] == 2 and quota.value["base"] == 5


def test_outcomes_read_the_rank(policy: Any) -> None:
    results = by_id(policy.evaluate_cohort(BATCH))
    paid = {u for u, r in results.items() if r.general_consequences[0].items}
    assert paid == {"A", "B", "C"}  # rank <= 2, the tie included


def test_explanation_names_rank_and_quota(policy: Any) -> None:
    results = by_id(policy.evaluate_cohort(BATCH))
    zh = results["B"].explain()
    assert "名次：2/4（按最终得分；并列同名次，与另1个单位并列）" in zh
    assert "名额限制：优秀不超过40%（5个单位中2个），本单位名次2，降为良好（优秀→良好）〔第十一条〕" in zh
    en = results["D"].explain("en")
    assert "Rank: 4 of 4 (by final score; ties share a rank)" in en
    assert "quota: at most 50% 良好 (2 of 4 ranked units); this unit ranks 4: lowered to 合格 (良好 → 合格)" in en


def test_the_final_score_ranks_after_score_effects(policy: Any) -> None:
    results = by_id(policy.evaluate_cohort([unit("A", 95, 重大事故=True), unit("B", 70)]))
    assert results["A"].score == 0 and results["A"].rank_row.keys == (Decimal(0),)
    assert results["A"].standing.rank == 2 and results["B"].standing.rank == 1


def test_input_order_kept_and_bad_rows_make_the_category_provisional(policy: Any) -> None:
    batch = [*BATCH[:2], {"id": "X", "category": "县区", "facts": {"扣分": "many"}}, *BATCH[2:]]
    items = policy.evaluate_cohort(batch)
    assert [i.index for i in items] == list(range(len(batch)))
    assert items[2].error is not None and items[2].result is None
    assert "1 unit of 县区 could not be assessed (row 3)" in (items[0].result.provisional or "")
    assert items[-1].result.provisional is None  # 企业 had no failure
    assert items[0].result.explain().splitlines()[2].startswith("暂定结果")


def test_a_unit_id_twice_is_an_error_on_both_rows(policy: Any) -> None:
    items = policy.evaluate_cohort([BATCH[0], BATCH[1], dict(BATCH[0])])
    assert items[0].error is not None and items[2].error is not None and items[1].ok
    assert "rows 1 and 3" in str(items[0].error) and "rows 1 and 3" in str(items[2].error)


def test_evaluate_in_cohort_reads_the_standing_given(policy: Any) -> None:
    standing = Standing(cohort="综合排名", rank=1, ranked_count=3, unit_count=3, best=Decimal(95),
                        average=Decimal(90), demoted_to=2, quota=0)
    result = policy.evaluate_in_cohort(BATCH[0], standing)
    assert result.rating == "合格" and result.standing is standing and result.provisional is None
    assert result.general_consequences[0].items  # rank 1 <= 2
    traced = policy.evaluate_in_cohort(BATCH[0], standing, trace=True)
    assert traced.raw == result.raw and traced.trace.find("standing", "综合排名").value == 1


def test_a_policy_without_a_cohort_pays_nothing() -> None:
    plain = kaohe_rules.load(POLICY.split("cohort 综合排名")[0].replace("when rank is set and rank <= 2 ", ""))
    assert plain.cohort is None and "C=_NS" not in plain.generated_source
    assert "C=_NS" not in plain.fast_coercion_source
    result = plain.evaluate(BATCH[0])
    assert result.standing is None and result.provisional is None
    assert "standing" not in result.to_dict() and "provisional" not in result.to_dict()
    assert len(result.raw) == 12  # no cohort slot


def test_a_cohort_policy_without_quotas_writes_no_quota_step() -> None:
    text = POLICY.replace('  quota 优秀 at most 40% cite "第十一条"\n  quota 良好 at most 50% of ranked\n', "")
    policy = kaohe_rules.load(text)
    assert "demoted_to" not in policy.generated_source
    results = by_id(policy.evaluate_cohort(BATCH))
    assert results["B"].rating == "优秀" and results["B"].effects == ()


def test_evaluate_many_assesses_a_cohort_policy_together(policy: Any) -> None:
    many = [(i.unit_id, i.result.rating, i.result.standing.rank) for i in policy.evaluate_many(BATCH)]
    together = [(i.unit_id, i.result.rating, i.result.standing.rank) for i in policy.evaluate_cohort(BATCH)]
    assert many == together
    row = policy.assess_row(0, BATCH[0])
    assert isinstance(row.error, CohortRequired) and row.result is None


def test_a_failed_row_named_by_label_marks_every_category(policy: Any) -> None:
    """A row whose category is written as its label (or misspelt) may belong to any category: none is left unmarked."""
    bad = {"id": "X", "category": "县（区）", "facts": {"扣分": "many"}}
    items = policy.evaluate_cohort([*BATCH, bad])
    assert items[-1].error is not None
    assert all(item.result.provisional for item in items[:-1])  # type: ignore[union-attr]
    assert "row 7" in (items[-2].result.provisional or "")  # type: ignore[union-attr]


def test_a_failed_rows_reason_reads_back_in_chinese_whatever_the_rows() -> None:
    """The English reason a Standing carries and the explanation's Chinese of it are written side by
    side (runtime/cohort.py): every form the writer produces is read back, none is shown untranslated."""
    from kaohe_rules.runtime.cohort import failed_rows_reason, failed_rows_reason_zh

    assert failed_rows_reason_zh(failed_rows_reason("县区", [2], 20)) == "县区有1个单位未能评定（第2行）"
    assert failed_rows_reason_zh(failed_rows_reason("部门", [3, 7], 20)) == "部门有2个单位未能评定（第3、7行）"
    many = failed_rows_reason_zh(failed_rows_reason("县区", list(range(1, 26)), 20))
    assert many is not None and many.startswith("县区有25个单位未能评定（第1、2、") and many.endswith("20等（另5行）行）")
    assert failed_rows_reason_zh("assessed alone") is None
