"""The issue #10 constructs meeting in one policy (tests/data/interpreter/interplay.kh).

Each feature has its own tests; these check what only shows when they meet: a bonus lifting the
score above the total into an open band whose requirement fails, a downgrade after that, a
reported let that reads the score (a post-scoring let), a score effect in a bonus category.
Expectations are worked by hand from the policy text, in the comments.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import kaohe_rules

POLICY = kaohe_rules.load(Path(__file__).resolve().parents[1] / "data" / "interpreter" / "interplay.kh")


def unit(**facts: object) -> dict[str, object]:
    return {"id": "u", "category": "县", "facts": {"扣分": "3", **facts}}


def test_bonus_over_the_total_then_requires_then_downgrade() -> None:
    # base 100 - 3 = 97; 表彰 3 × 2 = 6, item cap 4 → 4 (section 加分 cap 6 → 4); 创新 5 (奖分 uncapped) → 5;
    # bonus 9, category cap 8 → 8; score 105 (above the total 100: the open band 优秀 >= 95);
    # 优秀 requires 较大事故 == 0, fails → 良好; 瞒报 → downgrade 1 → 合格
    result = POLICY.evaluate(unit(表彰=3, 创新="5", 较大事故=1, 瞒报=True))
    assert (result.score, result.base_score, result.bonus) == (105, 97, 8)
    assert result.band == "优秀"
    assert [(e.kind, e.before, e.after) for e in result.effects] == [("requires", "优秀", "良好"),
                                                                    ("downgrade", "良好", "合格")]
    assert result.rating == "合格"
    assert result.reported["总分"].value == Decimal(105)  # a reported let that reads the score
    text = result.explain()
    assert "总分" in text and "加分合计9分，超过上限8分，按8分计" in text


def test_a_score_effect_in_a_bonus_category_and_what_score_reads_after_it() -> None:
    # 重大 → then score 0: the final score is 0 (不合格 band); `score` reads the score before score
    # effects, so 未达80 (score < 80) does not fire and the reported 总分 is 97
    result = POLICY.evaluate(unit(重大=True))
    assert result.score == 0 and result.raw_score == 97
    assert result.rating == "不合格"
    assert [v.name for v in result.vetoes] == ["重大"]
    assert result.reported["总分"].value == Decimal(97)
    assert not result.general_consequences[0].items  # 约谈 when score < 85: 97 is not


def test_a_section_score_caps_the_rating_and_a_low_score_vetoes() -> None:
    # 扣分 16 → 84 = score(工作) < 85 → cap 合格 (band 合格 [80, 90) already) ; 约谈 when score < 85
    capped = POLICY.evaluate(unit(扣分="16"))
    assert capped.score == 84 and capped.rating == "合格"
    assert [c.items[0].name for c in capped.general_consequences] == ["约谈"]
    # 扣分 21 → 79 < 80: 一票否决 (no `then`) → 不合格, and `vetoed` is true only for it
    vetoed = POLICY.evaluate(unit(扣分="21"))
    assert vetoed.rating == "不合格" and vetoed.vetoed
    assert not POLICY.evaluate(unit(瞒报=True)).vetoed  # a downgrade is not 一票否决


LISTS = kaohe_rules.load(Path(__file__).resolve().parents[1] / "data" / "interpreter" / "interplay_lists.kh")


def test_named_items_group_by_a_record_fact_and_a_reported_weight() -> None:
    accidents = [{"日期": "2013-01-01", "死亡": 2, "等级": "较大", "类型": "道路"},
                 {"日期": "2013-02-01", "死亡": 1, "等级": "较大", "类型": "道路"},
                 {"日期": "2013-03-01", "死亡": 3, "等级": "一般", "类型": "火灾"}]
    result = LISTS.evaluate({"id": "x", "category": "部门", "facts": {
        "事故": accidents, "历年": [5, 3, 1], "指标": {"起数": 1, "金额": "8000"}}})
    # beyond the 指标 of 1: the accidents at positions 2 and 3 → 5 × 2 = 10; deaths by 类型, the highest
    # of each (道路 2, 火灾 3) → 5 × 2 = 10; score 80 → 良好; 第四起: a 较大 at position ≥ 2 (item 2) → 合格
    assert result.score == 80 and result.band == "良好" and result.rating == "合格"
    assert result.vetoes[0].positions == (2,)
    assert {n: r.value for n, r in result.reported.items()} == {"类型数": 2, "连降": True, "最终": Decimal(20)}
    # 约谈: two 类型 and score < 90; 罚 only below 60
    assert [i.name for c in result.general_consequences for i in c.items] == ["约谈"]


def test_the_ranked_tables_say_what_an_effect_clause_did() -> None:
    # a downgrade is not 一票否决: the 通报's 一票否决 column names the clause with what it did
    from kaohe_rules.reports.rows import ranked_row

    result = POLICY.evaluate(unit(瞒报=True))
    row = ranked_row(result.program, result)
    assert [name for name, _, _ in row.vetoes] == ["瞒报（降低等次）"]
    plain = ranked_row(result.program, POLICY.evaluate(unit(扣分="21")))
    # 扣分 21: score 79 < 80 (一票否决, the name alone) and score(工作) 79 < 85 (cap 合格, with its effect)
    assert [name for name, _, _ in plain.vetoes] == ["未达80", "工作差（至多评为合格）"]


def test_a_template_shows_a_required_record_fact_by_its_fields() -> None:
    # `kaohe facts --template`: a required record fact shows its fields (null), so the clerk sees the shape;
    # unfilled it is refused naming each field; an optional record stays null (leaving it out is valid)
    from kaohe_rules.runtime.fact_sheet import unit_template

    text = "\n".join(["policy p { }", "category 单位 total 100 { section 甲 100 }", "ratings { 好 中 差 } vetoed 差",
                      "bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }",
                      'record 限额 { 起数: int >= 0 "起数"  金额: money >= 0 "金额" }',
                      "fact 指标: 限额", "fact 备用: 限额?",
                      "target t in 单位.甲 points 100 { deduct 5 when 指标.起数 > 1 and 备用 is none }"])
    policy = kaohe_rules.load(text)
    unit = unit_template(policy, "单位")
    assert unit["facts"] == {"指标": {"起数": None, "金额": None}, "备用": None}
    unit["id"] = "u"
    try:
        policy.evaluate(unit)
    except kaohe_rules.FactError as exc:
        assert "指标.起数" in str(exc) and "指标.金额" in str(exc)
    else:
        raise AssertionError("an unfilled template must be refused")
