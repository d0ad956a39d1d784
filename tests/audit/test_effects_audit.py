"""whynot and whatif know rating effects (issue #10 A3): a downgrade or a cap blocks a rating, and says so."""

from __future__ import annotations

from pathlib import Path

import kaohe_rules
from kaohe_rules.audit.whatif import render as render_whatif
from kaohe_rules.audit.whatif import what_if
from kaohe_rules.audit.whynot import render, why_not

ROOT = Path(__file__).resolve().parents[2]
POLICY = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "rating_effects.kh")


def unit(**facts: object) -> dict[str, object]:
    return {"id": "u", "category": "县区", "facts": facts}


def test_whynot_names_the_downgrade_that_blocks_the_band_the_score_reaches() -> None:
    result = POLICY.evaluate(unit(瞒报=True))  # 100 points: band 优秀, rated 良好
    answer = why_not(result, "优秀")
    assert [e.kind for e in answer.effects] == ["downgrade"] and answer.vetoes == ()
    text = render(answer, result, "zh")
    assert "瞒报：降低一个等次（优秀→良好）〔第十一条〕" in text and "等次调整" in text
    assert "downgraded by 1 band(s) (优秀 → 良好)" in render(answer, result, "en")


def test_whynot_shows_a_cap_and_the_requirement_of_the_better_band() -> None:
    result = POLICY.evaluate(unit(较大事故=1))  # 100: 优秀 requires 较大事故 == 0 → 良好; cap 良好
    answer = why_not(result)
    assert [e.kind for e in answer.effects] == ["requires", "cap"]
    text = render(answer, result, "zh")
    assert "限优秀：至多评为良好（良好→良好）" in text
    assert "优秀还须满足评定条件：较大事故 == 0 and score(管理.细则) >= 35" in text
    assert answer.to_dict()["requirements"] == [{"rating": "优秀",
                                                 "requires": "较大事故 == 0 and score(管理.细则) >= 35"}]


def test_whynot_without_effects_is_unchanged() -> None:
    result = POLICY.evaluate(unit(扣分=20))
    assert why_not(result).effects == () and "等次调整" not in render(why_not(result), result, "zh")


def test_whatif_shows_the_effects_that_decide_the_new_rating() -> None:
    text = render_whatif(what_if(POLICY, unit(较大事故=1), [("瞒报", True)]), "zh")
    assert "评定等次：良好 → 合格" in text and "瞒报：降低一个等次（良好→合格）" in text


def test_whatif_names_unchanged_rating_effects_once() -> None:
    """The effects event's id is its kind: the quiet list said '等次调整 effects' (kind, then the id again)."""
    aba = kaohe_rules.load(Path(__file__).resolve().parents[2] / "policies" / "aba.kh")
    county = {"id": "a", "category": "县", "facts": {"细则扣分": 12, "得分排名": 8, "连续三年未发生特大事故": True}}
    zh = render_whatif(what_if(aba, county, [("连续三年未发生特大事故", False)]), "zh")
    assert zh.rstrip("\n").endswith("读取了改动的数据、结果不变：等次调整"), zh
    en = render_whatif(what_if(aba, county, [("连续三年未发生特大事故", False)]), "en")
    assert en.rstrip("\n").endswith("with the same outcome: rating effects"), en
