"""The one-unit laws hold of a cohort policy's results (issue #11 C): alone (provisional) and in a batch,
where the quota step is an effect the reference interpreter applies with the same standing."""

from __future__ import annotations

from pathlib import Path

import kaohe_rules
from kaohe_rules.testing.laws import check_result
from kaohe_rules.testing.runner import run_laws

POLICY = Path(__file__).resolve().parents[1] / "data" / "interpreter" / "cohort.kh"
UNITS = [{"id": u, "category": c, "facts": {"扣分": d}}
         for u, c, d in (("A", "县区", 0), ("B", "县区", 3), ("C", "县区", 4), ("D", "部门", 0), ("E", "部门", 1),
                         ("F", "企业", 2))]


def test_laws_hold_on_batch_results_with_quota_steps() -> None:
    policy = kaohe_rules.load(POLICY)
    items = policy.evaluate_cohort(UNITS)
    assert any(step.kind == "quota" for item in items for step in item.result.effects)  # type: ignore[union-attr]
    for unit, item in zip(UNITS, items):
        assert item.result is not None
        check_result(policy, unit, item.result, deterministic=False)


def test_generated_units_alone_obey_the_laws() -> None:
    policy = kaohe_rules.load(POLICY)
    assert run_laws(policy, "县区", examples=25, seed=11) == []
