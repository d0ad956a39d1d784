"""``X is set and …`` narrows an optional record field too — in a list item's condition and in a record's let.

The hint of K105 says "test it first ('车辆 is set and ...')", but the narrowing only knew facts and lets:
an item's optional field stayed "may be absent" after the test (found by the issue-#16 review in a ledger
rule). Narrowing is by name, so an outer test must not leak into an item whose field of the same name hides
what was tested.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import kaohe_rules
from kaohe_rules.numeric import engine_context
from kaohe_rules.runtime.interpreter import interpret

HEAD = """
policy 窄化 "窄化" { document "test" }
enum 类 { 道路, 火灾 }
record 事 "事" { 车辆: 类? "车辆"  n: int? "n"  let 多: bool = n is set and n > 2 "多" }
fact 事: list of 事 = [] "事"
category 区 "区" total 100 { section 控制 "控制" 100 }
ratings { 合格 "合格" 不合格 "不合格" } vetoed 不合格
bands 区 { 合格 [60, 100]  不合格 [0, 60) }
"""

NARROWED = HEAD + """
target 道路 "道路" in 区.控制 points 60 { deduct 10 per count(事 where 车辆 is set and 车辆 == 道路) cap 60 }
target 多 "多" in 区.控制 points 40 { deduct 15 per count(事 where 多) cap 40 }
"""


def test_an_item_field_tested_first_is_readable_and_decides_as_the_interpreter() -> None:
    policy = kaohe_rules.load(NARROWED, cache=False)
    unit = {"id": "u", "category": "区", "facts": {"事": [
        {"车辆": "道路", "n": 3}, {"车辆": None, "n": None}, {"n": 1}, {"车辆": "火灾", "n": 5}]}}
    result = policy.evaluate(unit)
    # hand: one item with 车辆 = 道路 → 60 − 10; two items with n > 2 (3 and 5) → 40 − 30
    assert {t.name: t.score for t in result.targets} == {"道路": Decimal(50), "多": Decimal(10)}
    _, _, category, raw = policy.coercer.envelope(unit)
    facts = policy.coercer.coerce("u", category, raw)
    with engine_context():
        assert interpret(policy.checked, category, facts) == result._raw


def test_an_outer_test_does_not_narrow_an_item_field_of_the_same_name() -> None:
    text = HEAD.replace('fact 事: list of 事 = [] "事"', 'fact 事: list of 事 = [] "事"\nfact 车辆: 类? "车辆"') + """
target 道路 "道路" in 区.控制 points 100 { full when 车辆 is set and count(事 where 车辆 == 道路) == 0 }
"""
    with pytest.raises(kaohe_rules.PolicyError) as caught:
        kaohe_rules.load(text, cache=False)
    assert "K105" in str(caught.value) and "'车辆' may be absent" in str(caught.value)
