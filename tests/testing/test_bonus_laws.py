"""The laws on bonus points (加分, issue #10): they hold on a bonus policy, and each can fail."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

import kaohe_rules
from kaohe_rules.testing.laws import LawViolation, check_pair, check_result
from kaohe_rules.testing.verifier import verify

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "tests" / "data" / "interpreter" / "bonus.kh").read_text(encoding="utf-8")


def test_every_law_holds_on_a_bonus_policy_whose_amounts_are_not_negative() -> None:
    safe = TEXT.replace("fact 表彰加分: decimal = 0", "fact 表彰加分: decimal >= 0 = 0").replace(
        "fact 扣分: decimal = 0", "fact 扣分: decimal >= 0 = 0")
    report = verify(kaohe_rules.load(safe), examples=8)
    assert report.ok, report.render()


def test_a_negative_amount_a_policy_accepts_fails_the_evaluates_law() -> None:
    report = verify(kaohe_rules.load(TEXT), examples=60, categories=["丙类"])
    assert {f.law for f in report.failures} == {"evaluates"}
    assert "is negative" in report.failures[0].message


def test_the_score_bounds_law_uses_the_checkers_maximum() -> None:
    policy = kaohe_rules.load(TEXT)
    unit = {"id": "u", "category": "乙类", "facts": {"完成率": 100, "国家级表彰": True}}
    result = policy.evaluate(unit)
    assert result.score == 53 == result.maximum  # 50 + the item cap 3
    check_result(policy, unit, result, deterministic=False)
    shifted = SimpleNamespace(**{name: getattr(result, name) for name in ("category", "targets", "sections",
                                                                          "base_score", "bonus")})
    shifted.score = Decimal(54)  # one above the maximum
    with pytest.raises(LawViolation, match="the checker's maximum"):
        check_result(policy, unit, shifted, deterministic=False)  # type: ignore[arg-type]


def test_the_bonus_law_catches_more_bonus_scoring_lower() -> None:
    policy = kaohe_rules.load(TEXT)

    def fake(score: int, bonus: int) -> SimpleNamespace:
        targets = (SimpleNamespace(name="完成", score=Decimal(80), bonus=False),
                   SimpleNamespace(name="表彰", score=Decimal(bonus), bonus=True))
        return SimpleNamespace(category="甲类", score=Decimal(score), raw_score=Decimal(score), effects=(),
                               band="良好", rating="良好", targets=targets, vetoes=())

    unit = {"id": "u", "category": "甲类", "facts": {}}
    check_pair(policy, (unit, fake(82, 2)), (unit, fake(83, 3)))  # type: ignore[arg-type]
    with pytest.raises(LawViolation, match="bonus-never-lowers"):
        check_pair(policy, (unit, fake(82, 2)), (unit, fake(81, 3)))  # type: ignore[arg-type]
