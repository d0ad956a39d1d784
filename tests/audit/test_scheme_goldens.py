"""Golden explanations (zh) of the sample units of the four published schemes (issue #10, "Done when").

Each sample file (policies/<slug>/units.json, invented units) exercises its scheme's issue-#10
features: 遵义 a section score in a veto, an uncapped bonus over the base (open top band),
group-by, named iteration with index() and a reported let; 阿坝州 a capped and an uncapped bonus,
group-by, decreasing, a rating cap and category-specific shares that do not exhaust the award;
朔州 a downgrade and conditional sanctions for every rating; 毕节 a post-scoring reported let and a
conditional sanction.  Reviewed by hand against the hand-derived cases in policies/<slug>.tests.toml;
``pytest --update-goldens`` rewrites them (then read the diff before committing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.unitio import read_units

ROOT = Path(__file__).resolve().parents[2]
SCHEMES = ["zunyi-2010", "aba", "shuozhou", "bijie-2011"]


def _results(slug: str) -> list[Any]:
    policy = kaohe_rules.load(ROOT / "policies" / f"{slug}.kh")
    return [policy.evaluate(row.unit) for row in read_units(ROOT / "policies" / slug / "units.json")]


@pytest.mark.parametrize("slug", SCHEMES)
def test_scheme_explanations(slug: str, golden: Any) -> None:
    golden(f"explain/scheme-{slug}-zh.txt", "\n\n".join(r.explain(lang="zh") for r in _results(slug)))


def test_the_sample_units_are_rated_as_derived_by_hand() -> None:
    """Independent of the goldens: score and rating of each sample unit, worked out from the document."""
    expected = {
        "zunyi-2010": {"county-a": ("102.5", "优秀"), "dept-a": ("84", "不达标")},
        "aba": {"county-a": ("94.6", "合格"), "dept-a": ("77", "先进")},
        "shuozhou": {"county-a": ("85.5", "合格"), "dept-a": ("58", "不合格")},
        "bijie-2011": {"town-a": ("78.5", "不满意"), "dept-a": ("93", "满意")},
    }
    for slug, units in expected.items():
        got = {r.unit_id: (f"{r.score.normalize():f}", r.rating) for r in _results(slug)}
        assert got == units, slug
