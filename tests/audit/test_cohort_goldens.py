"""Golden explanations of a cohort batch (issue #11 C), zh and en: 名次, the quota steps, 暂定结果.

The batch is the first cohort case of tests/data/interpreter/cohort.tests.toml (derived there by
hand) with a row that cannot be assessed added to 部门, so that 部门's results are provisional.
Reviewed by hand; ``pytest --update-goldens`` rewrites them (then read the diff before committing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "tests" / "data" / "interpreter" / "cohort.kh"
UNITS = [{"id": "A", "name": "甲县", "category": "县区", "facts": {"扣分": 0, "指标扣分": 0}},
         {"id": "B", "name": "乙县", "category": "县区", "facts": {"扣分": 3, "指标扣分": 0}},
         {"id": "C", "name": "丙县", "category": "县区", "facts": {"扣分": 3, "指标扣分": 0, "死亡人数": 1}},
         {"id": "D", "name": "丁县", "category": "县区", "facts": {"扣分": 5, "指标扣分": 0}},
         {"id": "E", "name": "戊县", "category": "县区", "facts": {"扣分": 20, "指标扣分": 0}},
         {"id": "P", "name": "某部门", "category": "部门", "facts": {"扣分": 4}},
         {"id": "S", "name": "某部门二", "category": "部门", "facts": {"扣分": 99}}]


@pytest.fixture(scope="module")
def results() -> list[Any]:
    policy = kaohe_rules.load(POLICY)
    items = policy.evaluate_cohort(UNITS)
    chosen = [items[i].result for i in (1, 3, 5)]  # B (quota 优秀), D (requires, then quota 良好), P (provisional)
    chosen.append(policy.evaluate(UNITS[0], provisional=True))  # A alone
    return chosen


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explanations_of_a_cohort_batch(results: list[Any], golden: Any, lang: str) -> None:
    golden(f"explain/cohort-{lang}-short.txt", "\n\n".join(r.explain(lang=lang, full=False) for r in results))
