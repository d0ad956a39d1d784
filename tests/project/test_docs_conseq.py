"""The complete policies in docs/language.md load and say what the text around them says.

``test_docs.py`` parses every snippet; a snippet that is a whole policy (it starts with
``policy`` and declares ``ratings``) must also pass the checker.  The outcome example of
issue #10 (conditional items, an outcome for every rating, a reported let) is run on the
units its paragraph describes, with the amounts worked out by hand there.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
COMPLETE = [body for body in re.findall(r"```kaohe\n(policy .*?)```", LANGUAGE, flags=re.S) if "\nratings " in body]


def test_there_is_a_complete_policy() -> None:
    assert any("条件奖惩示例" in body for body in COMPLETE)


@pytest.mark.parametrize("body", COMPLETE, ids=[b.split(None, 2)[1] for b in COMPLETE])
def test_a_complete_policy_in_the_docs_loads(body: str) -> None:
    kaohe_rules.load(body)


def test_the_outcome_example_pays_what_the_docs_say() -> None:
    policy = kaohe_rules.load(next(b for b in COMPLETE if "条件奖惩示例" in b))
    result = policy.evaluate({"id": "d", "category": "部门", "facts": {}})
    amounts = {i.name: i.amount for i in result.consequences.items}
    assert amounts == {"奖金": Decimal("30000.00"), "追加": Decimal("9000.00"), "签订人": Decimal("6000.00")}
    assert [c.items for c in result.general_consequences] == [()]
    bad = policy.evaluate({"id": "d2", "category": "部门",
                           "facts": {"季度考核": [{"等次": "不满意"}, {"等次": "满意"}, {"等次": "不满意"}]}})
    assert [i.name for c in bad.general_consequences for i in c.items] == ["警示约谈"]
    assert bad.reported["不满意次数"].value == 2
    county = policy.evaluate({"id": "c", "category": "县区", "facts": {"死亡人数": 1}})
    assert {i.name: i.amount for i in county.consequences.items} == {"奖金": Decimal("50000.00"),
                                                                      "签订人": Decimal("10000.00")}
