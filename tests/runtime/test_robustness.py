"""No internal exception reaches a user: mangled policies and hostile facts give kaohe errors only."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules import FactError, PolicyError
from kaohe_rules.testing.fuzz import SMALL_POLICY

ROOT = Path(__file__).resolve().parents[2]
KARAMAY = (ROOT / "policies" / "karamay-2013.kh").read_text(encoding="utf-8")
SMALL = SMALL_POLICY  # one copy of the small policy: the robustness fuzzer's
TOKENS = ["policy", "{", "}", "(", ")", "[", "]", ",", ".", "..", ":", "=", "==", ">=", "+", "-", "*", "/", "??",
          "if", "then", "else", "and", "or", "not", "target", "fact", "deduct", "per", "cap", "when", "unless",
          "full", "veto", "on", "where", "count(", "sum(", "of", "in", "points", "section", "category", "total",
          "100", "1.5", "100万元", "30%", "2013-11-25", "\"标签\"", "甲", "单位", "事", "钱", "合计", "\n", " ",
          "#", "override", "remove", "extends", "let", "param", "record", "enum", "ordered", "is", "set", "none",
          "“", "：", "\x00", "\ufeff", "é"]


def load_or_policy_error(text: str) -> None:
    try:
        kaohe_rules.load(text, name="fuzz.kh")
    except PolicyError as exc:
        assert exc.diagnostics, "a PolicyError always carries diagnostics"
        for d in exc.diagnostics:
            assert d.code.startswith("K")
            d.render()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_small_policy_never_crashes(data: st.DataObject) -> None:
    text = SMALL
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 6))
        insert = data.draw(st.sampled_from(TOKENS))
        text = text[:at] + insert + text[at + cut:]
    load_or_policy_error(text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_karamay_policy_never_crashes(data: st.DataObject) -> None:
    lines = KARAMAY.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(lines) - 1))
        choice = data.draw(st.sampled_from(["drop", "dup", "token"]))
        if choice == "drop":
            del lines[index]
        elif choice == "dup":
            lines.insert(index, lines[index])
        else:
            line = lines[index]
            at = data.draw(st.integers(0, len(line)))
            lines[index] = line[:at] + data.draw(st.sampled_from(TOKENS)) + line[at:]
    load_or_policy_error("\n".join(lines))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    load_or_policy_error("policy p { }\n" + text)


def test_deep_nesting_is_a_diagnostic_not_a_recursion_error() -> None:
    deep = "policy p { }\nlet x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    with pytest.raises(PolicyError):
        kaohe_rules.load(deep)
    long_chain = "policy p { }\nlet x = " + " + ".join(["1"] * 20000) + "\n"
    load_or_policy_error(long_chain)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
    | st.decimals(allow_nan=True, allow_infinity=True, places=None) | st.floats(allow_nan=True),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4) | st.sampled_from(
        ["人", "级别", "日", "事", "钱", "率", "指标"]), children, max_size=4),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def small() -> kaohe_rules.Policy:
    return kaohe_rules.load(SMALL)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=st.dictionaries(st.sampled_from(["事", "钱", "率", "指标", "其他"]), JSONISH, max_size=5),
       envelope=st.sampled_from([{}, {"id": "u"}, {"id": "u", "category": "单位"}, {"id": 3, "category": "单位"},
                                 {"id": "u", "category": "甲"}]))
def test_hostile_facts_give_fact_errors_or_results(small: kaohe_rules.Policy, facts: dict[str, Any],
                                                  envelope: dict[str, Any]) -> None:
    unit = dict(envelope) | {"facts": facts}
    try:
        result = small.evaluate(unit)
    except FactError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.unit and p.fact and p.message
            json.dumps(p.to_dict(), ensure_ascii=False)
        return
    assert Decimal(0) <= result.score <= 100
    json.dumps(result.to_dict(), ensure_ascii=False)
    result.explain()


def test_non_mapping_units_are_fact_errors(small: kaohe_rules.Policy) -> None:
    for unit in (None, [], "unit", 3, {"id": "u", "category": "单位", "facts": []}):
        with pytest.raises(FactError):
            small.evaluate(unit)  # type: ignore[arg-type]


def test_batch_loses_no_row(small: kaohe_rules.Policy) -> None:
    units: list[Any] = [
        {"id": "a", "category": "单位", "facts": {"钱": "100万元"}},
        {"id": "b", "category": "单位", "facts": {"钱": 1.5}},
        "not a unit",
        {"id": "c", "category": "单位", "facts": {"钱": "5", "事": [{"人": -1}, {"人": "x"}]}},
        {"id": "d", "category": "单位", "facts": {"钱": "0"}},
    ]
    items = list(small.evaluate_many(units))
    assert [i.index for i in items] == [0, 1, 2, 3, 4]
    assert [i.ok for i in items] == [True, False, False, False, True]
    assert [p.fact for p in items[3].problems] == ["事[0].人", "事[1].人"]
