"""A diagnostic names the expression it is about, not "this value", where the expression is short (a map call)."""

from __future__ import annotations

import pytest

import kaohe_rules

POLICY = """
policy 名称 "名称" { document "test" }
enum 甲 { 一, 二 }
map m "m" from 甲 to 甲 { 一 -> 二 }
fact f: 甲 "f"
category 区 "区" total 100 { section 控制 "控制" 100 }
target t "t" in 区.控制 points 100 { full when m(f) == 一 }
ratings { 合格 "合格" 不合格 "不合格" } vetoed 不合格
bands 区 { 合格 [60, 100]  不合格 [0, 60) }
"""


def test_a_partial_map_call_is_named_in_the_absent_value_error() -> None:
    with pytest.raises(kaohe_rules.PolicyError) as caught:
        kaohe_rules.load(POLICY, cache=False)
    text = str(caught.value)
    assert "K105" in text
    assert "'m(f)' may be absent" in text
    assert "m(f) ?? " in text
