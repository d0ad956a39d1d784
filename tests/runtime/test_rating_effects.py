"""Scores as values and rating effects (issue #10 A2, A3), on a policy a reader can check by hand.

tests/data/interpreter/rating_effects.kh: 县区 scores 100 with no facts (细则 40 + 督查 20 + 指标 40);
bands 优秀 [90, 100] requires 较大事故 == 0 and score(管理.细则) >= 35, 良好 [80, 90) requires
not 通报, 合格 [60, 80), 基本合格 [40, 60), 不合格 [0, 40).  Each expectation below is worked out
from the documented order of application (docs/language.md), step by step in the comment.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import kaohe_rules
from kaohe_rules.runtime.explain import effect_lines

ROOT = Path(__file__).resolve().parents[2]
POLICY = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "rating_effects.kh")


def run(category: str = "县区", **facts: object) -> kaohe_rules.Result:
    return POLICY.evaluate({"id": "u", "category": category, "facts": facts})


def steps(result: kaohe_rules.Result) -> list[tuple[str, str, object, object, object]]:
    return [(e.kind, e.clause, e.value, e.before, e.after) for e in result.effects]


def test_no_effect_fires_the_band_decides() -> None:
    r = run()
    assert (r.score, r.raw_score, r.rating, r.vetoed, r.effects) == (100, 100, "优秀", False, ())


def test_downgrade_lowers_one_band_and_is_not_a_veto() -> None:
    r = run(瞒报=True)  # 100 → 优秀; 8: downgrade 1 → 良好
    assert r.rating == "良好" and not r.vetoed
    assert steps(r) == [("downgrade", "瞒报", 1, "优秀", "良好")]
    assert [v.name for v in r.vetoes] == ["瞒报"]  # still listed, with its evidence
    assert effect_lines(r, "zh") == ["瞒报：降低一个等次（优秀→良好）〔第十一条〕"]


def test_an_exception_stops_the_effect() -> None:
    r = run(瞒报=True, 批准=True)
    assert r.rating == "优秀" and r.effects == () and [v.name for v in r.excepted] == ["瞒报"]


def test_downgrades_add_up_and_stop_at_the_worst_rating() -> None:
    r = run(瞒报=True, 弄虚作假=True)  # 优秀 +1 +2 → 基本合格
    assert r.rating == "基本合格"
    r = run(瞒报=True, 弄虚作假=True, 扣分=40, 指标扣分=2)  # 0 + 20 + 20 = 40 → 基本合格; +1 → 不合格; +2 stays
    assert steps(r)[-2:] == [("downgrade", "瞒报", 1, "基本合格", "不合格"), ("downgrade", "弄虚作假", 2, "不合格", "不合格")]


def test_requires_falls_to_the_next_band_then_cap_then_downgrade() -> None:
    # 6: 较大事故 = 1 fails 优秀's requirement → 良好 (its own requirement, not 通报, holds);
    # 7: cap 良好 → 良好; 8: downgrade 1 → 合格.  (Downgrade before cap would give 良好.)
    r = run(较大事故=1, 瞒报=True)
    assert steps(r) == [("requires", "优秀", None, "优秀", "良好"), ("cap", "限优秀", "良好", "良好", "良好"),
                        ("downgrade", "瞒报", 1, "良好", "合格")]
    assert r.rating == "合格" and r.band == "优秀"  # the band of the score is kept


def test_requires_is_checked_again_in_the_lower_band() -> None:
    r = run(较大事故=1, 通报=True)  # 优秀 fails → 良好, which fails too → 合格; then cap 良好 changes nothing
    assert [s[:2] for s in steps(r)] == [("requires", "优秀"), ("requires", "良好"), ("cap", "限优秀")]
    assert r.rating == "合格"


def test_requires_reads_a_section_score() -> None:
    assert run(扣分=5).rating == "优秀"  # 95, 细则 35
    assert steps(run(扣分=6)) == [("requires", "优秀", None, "优秀", "良好")]  # 94, but 细则 34 < 35


def test_score_effect_sets_the_score_and_keeps_the_raw_score() -> None:
    r = run(重大事故=True)  # 4: score 0 → 5: 不合格 band; no veto forces anything
    assert (r.score, r.raw_score, r.rating, r.vetoed) == (0, 100, "不合格", False)
    assert steps(r) == [("score", "重大", Decimal(0), Decimal(100), Decimal(0))]


def test_the_lowest_score_effect_wins() -> None:
    r = run(评分=-1, 扣分=10)  # raw 90; 打折 90 × 0.8 = 72 → 合格
    assert (r.score, r.rating) == (Decimal("72.0"), "合格")
    r = run(评分=-1, 重大事故=True)  # 0 and 80: 0 wins whichever order they fire in
    assert r.score == 0 and [s[4] for s in steps(r)] == [Decimal(0), Decimal(0)]


def test_forced_rating_and_the_worst_forced_wins() -> None:
    r = run(督查扣分=15)  # 85 → 良好; score(管理.督查) = 5 < 10 → rating 基本合格
    assert r.rating == "基本合格" and not r.vetoed
    r = run(督查扣分=15, 较大事故=3)  # plus the default veto 多起事故 (不合格): the worst forced rating wins
    assert r.rating == "不合格" and r.vetoed
    assert [s[0] for s in steps(r)][-2:] == ["rating", "vetoed"]


def test_a_post_scoring_let_reads_the_raw_score() -> None:
    # 低分 = score / 100 < 0.5: raw 40 → 0.4; with 较大事故 2 the default veto 低分否决 fires
    r = run(扣分=40, 督查扣分=20, 较大事故=2)
    assert r.vetoed and r.rating == "不合格" and "低分否决" in [v.name for v in r.vetoes]
    assert "低分" in POLICY.checked.plans["县区"].post_lets and "低分" not in POLICY.checked.plans["县区"].lets


def test_an_outcome_reads_the_score() -> None:
    r = run(奖金=Decimal(1000), 扣分=5)  # 95 → 优秀: 1000元 × 0.95
    assert r.consequences.total == Decimal("950.00")


def test_result_and_trace_show_the_effects() -> None:
    r = POLICY.evaluate({"id": "u", "category": "县区", "facts": {"瞒报": True}}, trace=True)
    assert r.to_dict()["effects"] == [{"kind": "downgrade", "clause": "瞒报", "label": "瞒报的，降低一个考核等次",
                                       "citation": "第十一条", "value": 1, "before": "优秀", "after": "良好"}]
    event = r.trace.find("effects", "effects")
    assert event is not None and [c.detail["effect"] for c in event.children] == ["downgrade"]
    assert ("effect", "downgrade", 2, 1, 0, 1) in r.trace_events  # type: ignore[operator]


def test_a_policy_without_effects_keeps_its_result_shape() -> None:
    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    assert all(not plan.staged for plan in karamay.checked.plans.values())
    assert "evaluate_" in karamay.module.source and "RAW = SCORE" not in karamay.module.source
    assert "effects" not in karamay.module.source


def test_another_category_with_its_own_requirement() -> None:
    """部门 (50.5 points): 优秀 [45, 50.5] requires 评分 >= 2.5; 评为 is for 县区 only."""
    assert run("部门", 评分=3).rating == "优秀"
    assert steps(run("部门", 评分=2)) == [("requires", "优秀", None, "优秀", "良好")]
    assert run("部门", 评分=3, 扣分=6).rating == "良好"  # 44.5


def test_the_trace_document_holds_the_effects_and_validates() -> None:
    import json

    from kaohe_rules.audit.replay import replay
    from kaohe_rules.audit.trace_json import dumps, trace_document
    from tests.runtime.test_trace import SCHEMA, validate

    result = run(瞒报=True, 重大事故=True)  # score 0 → 不合格; downgrade stays 不合格
    document = json.loads(dumps(trace_document(result)))
    assert validate(document, SCHEMA) == []
    assert document["result"]["raw_score"] == "100" and document["result"]["score"] == "0"
    assert [e["kind"] for e in document["result"]["effects"]] == ["score", "downgrade"]
    kinds = {e["kind"] for e in document["events"]}
    assert "effects" in kinds
    report = replay(POLICY, document)
    assert report.ok, report.to_dict()


def test_the_json_line_is_the_result_dict() -> None:
    import json

    from kaohe_rules.runtime.jsonline import json_line

    for facts in ({}, {"瞒报": True}, {"较大事故": 3}, {"重大事故": True}):
        result = run(**facts)
        assert json.loads(json_line(result)) == json.loads(json.dumps(result.to_dict(), ensure_ascii=False))


def test_score_is_read_before_score_effects_even_in_the_outcome() -> None:
    r = run(重大事故=True, 奖金=Decimal(1000))  # final score 0 → 不合格; the fine reads the raw score 100
    assert (r.score, r.rating, r.consequences.total) == (0, "不合格", Decimal("500.00"))
