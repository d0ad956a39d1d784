"""A key beside "facts" that is neither id, name nor category was silently ignored by ``policy.evaluate``.

``{"id": "a", "category": "县", "facts": {}, "细则扣分": 12}`` scored 100 (the fact dropped), where
``kaohe eval`` refuses the same unit read from a file ('unknown key(s) … (facts belong inside "facts")')
and the HTTP service, which hands bodies to the library, answered the wrong score.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.errors import FactError

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def aba() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICIES / "aba.kh")


@pytest.mark.parametrize("unit", [
    {"id": "a", "category": "县", "facts": {}, "细则扣分": 12},
    {"id": "a", "name": "甲县", "category": "县", "facts": {"细则扣分": 5}, "细则扣分": 12},
    {"id": "a", "category": "县人民政府", "facts": {}, "note": "a stray key"},  # the generic envelope (a label)
])
def test_a_key_beside_facts_is_refused_not_ignored(aba: kaohe_rules.Policy, unit: dict[str, object]) -> None:
    with pytest.raises(FactError) as raised:
        aba.evaluate(unit)
    stray = [p for p in raised.value.problems if p.fact not in ("id", "name", "category", "facts")]
    assert stray and all('inside "facts"' in p.message for p in stray), raised.value.problems
    items = list(aba.evaluate_many([unit, {"id": "b", "category": "县", "facts": {"细则扣分": 12}}]))
    assert items[0].result is None and items[0].error is not None  # the batch keeps its other rows
    assert items[1].result is not None and str(items[1].result.score) == "88"


def test_the_canonical_and_the_flat_forms_still_read(aba: kaohe_rules.Policy) -> None:
    assert str(aba.evaluate({"id": "a", "name": "甲县", "category": "县", "facts": {"细则扣分": 12}}).score) == "88"
    assert str(aba.evaluate({"id": "a", "category": "县", "细则扣分": 12}).score) == "88"  # no "facts": flat
