"""The generated fast fact coercion never decides differently from the generic coercer.

kaohe_rules/runtime/fastfacts.py reads facts given in their canonical Python types
and hands everything else to the generic coercer.  Law: whenever the fast path
returns facts, the generic coercer returns the same dictionary (same keys in the
same order, same values of the same types); whenever the generic coercer refuses a
unit, the fast path refuses it too and ``evaluate`` raises the generic error.  The
units are generated and then spoiled in every way a file can spoil them.
"""

from __future__ import annotations

import datetime
import decimal
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.errors import FactError
from kaohe_rules.runtime.coerce.envelope import canonical_envelope as fast_envelope
from kaohe_rules.runtime.fastfacts import SlowPath
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 2000 if os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long" else 150
POLICIES = {
    "karamay": ROOT / "policies" / "karamay-2013.kh",
    "every-construct": ROOT / "tests" / "data" / "interpreter" / "every_construct.kh",
}
_LOADED: dict[str, Any] = {}

SPOILERS: list[object] = [
    None, "", " ", "是", "否", "true", "yes", 1, 0, 2, -1, 1.5, "12", "12.5", "1,000", "100万元", "98%", "abc",
    "2013-07-01", " 2013-07-01 ", "2013-02-30", datetime.date(2013, 7, 1), datetime.datetime(2013, 7, 1, 8, 0),
    Decimal("NaN"), Decimal("Infinity"), Decimal("-3"), Decimal("2.50"), [], [{}], {}, ("a",), True, False,
    "轻", "甲", "示范企业", "道路交通", "轻微", 10**40,
]


def policy_named(name: str) -> Any:
    if name not in _LOADED:
        _LOADED[name] = kaohe_rules.load(POLICIES[name])
    return _LOADED[name]


@st.composite
def spoiled(draw: st.DrawFn, policy: Any) -> dict[str, Any]:
    unit = draw(units(policy, max_list=3))
    facts = dict(unit["facts"])
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["replace", "delete", "unknown", "record", "nothing"]))
        names = sorted(policy.checked.plans[unit["category"]].facts)
        name = draw(st.sampled_from(names))
        if action == "replace":
            facts[name] = draw(st.sampled_from(SPOILERS))
        elif action == "delete":
            facts.pop(name, None)
        elif action == "unknown":
            facts[draw(st.sampled_from(["未知事实", name + "x", "id"]))] = draw(st.sampled_from(SPOILERS))
        elif action == "record":
            records = [k for k, v in facts.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
            if records:
                key = draw(st.sampled_from(sorted(records)))
                items = [dict(r) for r in facts[key]]
                item = items[draw(st.integers(0, len(items) - 1))]
                field = draw(st.sampled_from(sorted(item) + ["未知字段"]))
                if draw(st.booleans()):
                    item[field] = draw(st.sampled_from(SPOILERS))
                else:
                    item.pop(field, None)
                facts[key] = items
    return dict(unit, facts=facts)


def same(a: dict[str, object], b: dict[str, object]) -> bool:
    """Equal with the same key order and the same value types, recursively."""
    if list(a) != list(b):
        return False
    return all(_same_value(a[k], b[k]) for k in a)


def _same_value(x: object, y: object) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, dict):
        return same(x, y)  # type: ignore[arg-type]
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(_same_value(i, j) for i, j in zip(x, y))  # type: ignore[arg-type]
    if isinstance(x, Decimal):
        return str(x) == str(y)
    return x == y


@pytest.mark.parametrize("name", list(POLICIES))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_agrees_with_the_generic_coercer(name: str, data: st.DataObject) -> None:
    policy = policy_named(name)
    unit = data.draw(spoiled(policy))
    category = unit["category"]
    try:
        generic: dict[str, object] | FactError = policy.coercer.coerce(unit["id"], category, unit["facts"])
    except FactError as exc:
        generic = exc
    try:
        fast: dict[str, object] | None = policy._fast_coerce[category](unit["facts"])
    except SlowPath:
        fast = None
    if isinstance(generic, FactError):
        assert fast is None, "the fast path accepted a unit the generic coercer refuses"
        with pytest.raises(FactError) as raised:
            policy.evaluate(unit)
        assert [p.to_dict() for p in raised.value.problems] == [p.to_dict() for p in generic.problems]
    elif fast is not None:
        assert same(fast, generic)


def test_canonical_units_take_the_fast_path() -> None:
    """The sample units are canonical (or use spellings the fast path reads itself): no fallback."""
    import json

    policy = policy_named("karamay")
    samples = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                         parse_float=Decimal)["units"]
    for unit in samples:
        fast = policy._fast_coerce[unit["category"]](unit["facts"])
        assert same(fast, policy.coercer.coerce(unit["id"], unit["category"], unit["facts"]))


def test_fast_envelope_only_takes_canonical_envelopes() -> None:
    plans = {"区政府": None}
    assert fast_envelope({"id": "a", "category": "区政府", "facts": {}}, plans) == ("a", None, "区政府", {})
    assert fast_envelope({"id": "a", "name": "甲", "category": "区政府", "facts": {}}, plans) == ("a", "甲", "区政府", {})
    for bad in ({"id": 1, "category": "区政府", "facts": {}}, {"id": " ", "category": "区政府", "facts": {}},
                {"id": "a", "category": "区人民政府", "facts": {}}, {"id": "a", "category": ["区政府"], "facts": {}},
                {"id": "a", "category": "区政府"}, {"id": "a", "category": "区政府", "facts": {}, "name": 3}, ["a"]):
        assert fast_envelope(bad, plans) is None


def _general_path(policy: Any, unit: dict[str, Any]) -> tuple[Any, ...] | FactError:
    """The raw result of the path the fused function shortcuts: generic coercion, then the plain evaluator."""
    from kaohe_rules.policy import _engine_context

    try:
        facts = policy.coercer.coerce(unit["id"], unit["category"], unit["facts"])
    except FactError as exc:
        return exc
    with decimal.localcontext(_engine_context()):
        return policy.module.plain[unit["category"]](facts, None), tuple(facts.values())


@pytest.mark.parametrize("name", list(POLICIES))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fused_assess_agrees_with_coercion_then_evaluation(name: str, data: st.DataObject) -> None:
    """``assess_N`` (checks + the evaluator's body in one function) = generic coercion + ``evaluate_N``.

    Same raw result and the same fact values in the same order; it refuses (SlowPath)
    every unit the generic coercer refuses.
    """
    policy = policy_named(name)
    unit = data.draw(spoiled(policy))
    try:
        general = _general_path(policy, unit)
    except ArithmeticError:
        return  # both paths run the same body; the error and its location are Policy.evaluate's business
    from kaohe_rules.policy import _engine_context

    with decimal.localcontext(_engine_context()):
        try:
            fused: tuple[Any, ...] | None = policy._fast_assess[unit["category"]](unit["facts"])
        except SlowPath:
            fused = None
        except ArithmeticError:
            fused = None
    if isinstance(general, FactError):
        assert fused is None, "the fused path accepted a unit the generic coercer refuses"
    elif fused is not None:
        assert _same_value(fused[0], general[0])
        assert _same_value(fused[1], general[1])


def test_canonical_units_take_the_fused_path() -> None:
    """The sample units never fall back: the fused function accepts each and agrees with the general path.

    (``Policy.evaluate`` falls back silently by design, so only a direct call shows that the
    fast path is really taken.)
    """
    import json

    policy = policy_named("karamay")
    samples = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                         parse_float=Decimal)["units"]
    for unit in samples:
        out, values = policy._fast_assess[unit["category"]](unit["facts"])
        expected = _general_path(policy, unit)
        assert not isinstance(expected, FactError)
        assert _same_value(out, expected[0]) and _same_value(values, expected[1])
        assert policy.evaluate(unit).facts == dict(zip(policy.facts_for(unit["category"]), values))
