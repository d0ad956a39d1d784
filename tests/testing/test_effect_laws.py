"""The laws of rating effects (issue #10 A3) hold on the effects policy, and each can fail."""

from __future__ import annotations

from pathlib import Path

import kaohe_rules
from kaohe_rules.language.abi import RAW_EFFECTS, RAW_RATING
from kaohe_rules.runtime.result import Result
from kaohe_rules.testing import laws
from kaohe_rules.testing.verifier import verify

ROOT = Path(__file__).resolve().parents[2]
POLICY = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "rating_effects.kh")


def test_the_effect_laws_hold() -> None:
    report = verify(POLICY, examples=40, seed=1)
    assert not report.failures, report.render()


def forged(facts: dict[str, object], steps: list[tuple[object, ...]], rating: str) -> Result:
    """The result of ``facts`` with its effect steps and rating replaced (what a broken evaluator would return)."""
    real = POLICY.evaluate({"id": "u", "category": "县区", "facts": facts})
    raw = list(real.raw)
    raw[RAW_EFFECTS] = (real.raw[RAW_EFFECTS][0], steps)
    raw[RAW_RATING] = POLICY.checked.rating_index(rating)
    return Result(real.program, POLICY.checked.plans["县区"], tuple(raw), "u", None, "县区", real.facts, None)


def law_broken(result: Result) -> str | None:
    found = laws._effects_lawful(POLICY, result)  # noqa: SLF001 - the law's own check, on a forged result
    return found[0] if found else None


def test_a_downgrade_that_raises_is_caught() -> None:
    # 瞒报 is veto 2 of the plan; ratings 0 优秀 … 4 不合格
    assert law_broken(forged({"瞒报": True}, [("downgrade", 2, 1, 1, 0)], "优秀")) == "downgrade-never-raises"
    assert law_broken(forged({"瞒报": True}, [("downgrade", 2, 1, 0, 1)], "良好")) is None


def test_a_cap_that_raises_is_caught() -> None:
    assert law_broken(forged({"较大事故": 1}, [("cap", 4, 1, 2, 1)], "良好")) == "cap-never-raises"


def test_effects_out_of_order_or_unlike_the_interpreter_are_caught() -> None:
    # downgrade before cap: the documented order is cap first
    steps = [("requires", 0, None, 0, 1), ("downgrade", 2, 1, 1, 2), ("cap", 4, 1, 2, 2)]
    assert law_broken(forged({"较大事故": 1, "瞒报": True}, steps, "合格")) == "effects-ordered"
    # a lawful chain that the interpreter does not take (it also applies the cap)
    steps = [("requires", 0, None, 0, 1), ("downgrade", 2, 1, 1, 2)]
    assert law_broken(forged({"较大事故": 1, "瞒报": True}, steps, "合格")) == "effects-ordered"


def test_effects_and_requirements_are_coverage_items() -> None:
    from kaohe_rules.testing.coverage import coverage

    results = [POLICY.evaluate({"id": "u", "category": "县区", "facts": facts})
               for facts in ({"瞒报": True}, {"较大事故": 1})]
    report = coverage(POLICY, results)
    assert {i.key for i in report.covered("effects")} == {"瞒报", "限优秀"}
    assert {i.key for i in report.missed("effects")} == {"重大", "打折", "弄虚作假", "评为"}
    assert [i.key for i in report.covered("requires")] == ["县区/优秀"]
    assert {i.key for i in report.missed("requires")} == {"县区/良好", "部门/优秀"}
    assert "effects" in report.to_dict()["kinds"]  # type: ignore[operator]


def test_a_policy_without_effects_reports_the_kinds_it_always_had() -> None:
    from kaohe_rules.testing.coverage import coverage

    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    kinds = coverage(karamay, []).to_dict()["kinds"]
    assert list(kinds) == ["bands", "vetoes", "exceptions", "deferrals", "targets", "rules"]  # type: ignore[call-overload]


def test_diff_names_a_changed_effect_and_requirement() -> None:
    from kaohe_rules.testing.diff import kind_of, structural_changes

    text = (ROOT / "tests" / "data" / "interpreter" / "rating_effects.kh").read_text(encoding="utf-8")
    changed = text.replace('because "经批准" then downgrade 1', 'because "经批准" then downgrade 2')
    changed = changed.replace("良好 [80, 90) requires not 通报", "良好 [80, 90)")
    assert changed.count("downgrade 2") == 1 and "requires not 通报" not in changed
    new = kaohe_rules.load(changed)
    summaries = {c.summary for c in structural_changes(POLICY, new)}
    assert "veto 瞒报: effect downgrade 1 → downgrade 2" in summaries
    assert "bands 县区: requires 良好 not 通报 → —" in summaries
    unit = {"id": "u", "category": "县区", "facts": {"较大事故": 1, "通报": True}}
    assert kind_of(POLICY.evaluate(unit), new.evaluate(unit)) == "rating 合格 → 良好 (requires 良好 no longer applies)"


def test_mutants_drop_an_effect_and_a_requirement() -> None:
    from kaohe_rules.testing.mutate import mutants

    path = ROOT / "tests" / "data" / "interpreter" / "rating_effects.kh"
    text = path.read_text(encoding="utf-8")
    found = {m.mutation: m for m in mutants(POLICY.checked, text)}
    dropped = found["effect `then downgrade` of veto 瞒报 dropped"]
    mutated = kaohe_rules.load(dropped.apply(text))
    assert mutated.evaluate({"id": "u", "category": "县区", "facts": {"瞒报": True}}).rating == "不合格"
    requires = found["`requires` of band 良好 dropped"]
    assert "requires not 通报" not in requires.apply(text) and "良好 [80, 90)" in requires.apply(text)
    kaohe_rules.load(requires.apply(text))
