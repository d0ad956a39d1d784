"""Golden explanations of rating effects (issue #10 A3), zh and en, on the differential-test policy.

Reviewed by hand: each unit's steps follow the documented order (docs/language.md, "Order of
application"); ``pytest --update-goldens`` rewrites them (then read the diff before committing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.audit.whynot import render, why_not

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "tests" / "data" / "interpreter" / "rating_effects.kh"
UNITS = [
    ("瞒报", {"瞒报": True}),
    ("较大事故-瞒报", {"较大事故": 1, "瞒报": True}),
    ("重大事故", {"重大事故": True, "奖金": 1000}),
    ("督查失分-多起事故", {"督查扣分": 15, "较大事故": 3}),
]


@pytest.fixture(scope="module")
def results() -> list[Any]:
    policy = kaohe_rules.load(POLICY)
    return [policy.evaluate({"id": name, "category": "县区", "facts": facts}) for name, facts in UNITS]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explanations_of_rating_effects(results: list[Any], golden: Any, lang: str) -> None:
    text = "\n\n".join(r.explain(lang=lang, full=False) for r in results)
    golden(f"explain/rating-effects-{lang}-short.txt", text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_why_not_with_rating_effects(results: list[Any], golden: Any, lang: str) -> None:
    golden(f"whynot/rating-effects-{lang}.txt", "\n".join(render(why_not(r), r, lang) for r in results))
