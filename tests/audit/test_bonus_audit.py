"""whynot and whatif on bonus points (加分, issue #10): a bonus can lift a unit to a better band."""

from __future__ import annotations

from pathlib import Path

import kaohe_rules
from kaohe_rules.audit.whatif import what_if
from kaohe_rules.audit.whynot import render, why_not

ROOT = Path(__file__).resolve().parents[2]
POLICY = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "bonus.kh")
KARAMAY = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")


def unit(**facts: object) -> dict[str, object]:
    return {"id": "u", "category": "甲类", "facts": {"完成率": 80, **facts}}


def test_whynot_says_a_bonus_can_reach_the_better_band_within_the_caps() -> None:
    result = POLICY.evaluate(unit(创新=True))  # 80 + 2 = 82: 良好, 8 short of 优秀
    answer = why_not(result)
    assert [g.rating for g in answer.goals] == ["优秀"] and answer.goals[0].lacking == 8
    # the caps allow 12 in all; 2 are counted: 10 more would do
    assert answer.bonus_room == 10 and answer.bonus_reaches(answer.goals[0])
    assert "或者：再获加分即可达到（加分上限还允许再加 10 分）" in render(answer, result)
    assert "Or: more bonus points reach it (the caps allow 10 pts more)" in render(answer, result, "en")
    # bonus targets are not deductions to remove: only the base target's loss is listed
    assert answer.goals[0].rules is not None and {d.target for d in answer.goals[0].rules.items} == {"完成"}
    doc = answer.to_dict()
    assert doc["bonus_room"] == "10" and doc["bonus_reaches"] == ["优秀"]


def test_whynot_when_the_caps_leave_too_little_room() -> None:
    result = POLICY.evaluate(unit(完成率=60, 创新=True, 国家级表彰=True, 省级表彰次数=30))  # bonus 12 (capped): 72
    answer = why_not(result)
    assert answer.bonus_room == 0 and not any(answer.bonus_reaches(g) for g in answer.goals)
    assert "再获加分" not in render(answer, result)


def test_whynot_of_a_policy_without_bonus_keeps_its_answer() -> None:
    import json
    from decimal import Decimal

    units = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                       parse_float=Decimal)["units"]
    answer = why_not(KARAMAY.evaluate(units[0]))
    assert "bonus_room" not in answer.to_dict() and not answer.has_bonus


def test_whatif_a_bonus_lifts_the_rating() -> None:
    answer = what_if(POLICY, unit(完成率=88), [("创新", True)])
    assert (answer.before.rating, answer.after.rating) == ("良好", "优秀")
    assert (answer.before.score, answer.after.score) == (88, 90)
    changed = {c.path[-1] for c in answer.changes}
    assert ("target", "创新项") in changed and ("rating", "rating") in changed


def test_whatif_names_what_a_rule_value_is_points_added_or_points_deducted() -> None:
    """A rule's value is what it adds (add …) or deducts: printed as 'value', 0 → 15 read as the rule's score.

    Karamay 二(一)1 with 专项资金预算 80万元 (below the 100万元 floor): the target falls 15 → 0, its
    ``full when`` rule now deducts 15.
    """
    from kaohe_rules.audit.whatif import render as render_whatif

    bonus = render_whatif(what_if(POLICY, unit(完成率=88), [("创新", True)]), "en")
    assert "      points added: 0 → 2" in bonus and "points deducted" not in bonus
    assert "      加分: 0 → 2" in render_whatif(what_if(POLICY, unit(完成率=88), [("创新", True)]), "zh")
    import json
    from decimal import Decimal

    units = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                       parse_float=Decimal)["units"]
    district = next(u for u in units if u["id"] == "karamay-district")
    text = render_whatif(what_if(KARAMAY, district, [("专项资金预算", "80万元")]), "en")
    target, rule = text.index("  target 将安全生产专项资金足额纳入财政预算"), text.index("  rule full when 专项资金预算")
    assert text[target:rule].endswith("      value: 15 → 0\n")
    assert text[rule:].split("\n")[1] == "      points deducted: 0 → 15"
    assert "扣分: 0 → 15" in render_whatif(what_if(KARAMAY, district, [("专项资金预算", "80万元")]), "zh")
