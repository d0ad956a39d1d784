"""The compiled evaluator agrees with the reference interpreter on generated units.

The compiler is tuned for speed (integer points, folded constants, inlined helpers,
skipped generators); kaohe_rules/interpreter.py states the semantics plainly.  On
every unit hypothesis draws, both must give the same raw result — the same numbers
down to the Decimal exponent, the same vetoes with the same evidence, deferrals,
band, rating and money — and the traced evaluator must agree with the plain one.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.errors import EvaluationError
from kaohe_rules.interpreter import interpret
from kaohe_rules.numeric import engine_context
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = 2000 if os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long" else 120
POLICIES = {
    "karamay": ROOT / "policies" / "karamay-2013.kh",
    "every-construct": ROOT / "tests" / "data" / "interpreter" / "every_construct.kh",
}
_LOADED: dict[str, Any] = {}


def policy_named(name: str) -> Any:
    if name not in _LOADED:
        _LOADED[name] = kaohe_rules.load(POLICIES[name])
    return _LOADED[name]


def canonical(value: object) -> object:
    """Numbers as exact Decimal text (so 5 and Decimal('5') agree, 5.0 and 5 do not); containers recursively."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, Decimal)):
        return ("number", str(Decimal(value)))
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def compiled_raw(policy: Any, unit: dict[str, Any], trace: bool) -> tuple[Any, ...] | str:
    try:
        return policy.evaluate(unit, trace=trace)._raw  # type: ignore[no-any-return]
    except EvaluationError as exc:
        return f"error: {exc}"


def interpreted_raw(policy: Any, unit: dict[str, Any]) -> tuple[Any, ...] | str:
    _, _, category, raw = policy.coercer.envelope(unit)
    facts = policy.coercer.coerce(unit["id"], category, raw)
    try:
        with engine_context():
            return interpret(policy.checked, category, facts)
    except ZeroDivisionError:
        return f"error: {EvaluationError(unit['id'], 'division by zero', 'a rule of the policy')}"


@pytest.mark.parametrize("name", list(POLICIES))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_evaluator_agrees_with_the_interpreter(name: str, data: st.DataObject) -> None:
    policy = policy_named(name)
    unit = data.draw(units(policy, max_list=4))
    expected = canonical(interpreted_raw(policy, unit))
    assert canonical(compiled_raw(policy, unit, trace=False)) == expected
    assert canonical(compiled_raw(policy, unit, trace=True)) == expected


def test_agrees_on_the_sample_units() -> None:
    import json

    policy = policy_named("karamay")
    samples = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                         parse_float=Decimal)["units"]
    for unit in samples:
        assert canonical(compiled_raw(policy, unit, trace=False)) == canonical(interpreted_raw(policy, unit)), unit["id"]


def test_the_comparison_can_fail() -> None:
    """The canonical form tells 5 from 5.0 and a changed score from the right one."""
    assert canonical((Decimal("5"), [1])) == canonical((5, (1,)))
    assert canonical(Decimal("5.0")) != canonical(5)
    policy = policy_named("every-construct")
    unit = {"id": "u", "category": "乙类", "facts": {"资金": 0, "达标率": 50, "完成": 1, "计划": 2, "得分": 1,
                                                      "奖金": 1000}}
    raw = interpreted_raw(policy, unit)
    assert isinstance(raw, tuple)
    changed = (raw[0] + 1, *raw[1:])
    assert canonical(changed) != canonical(compiled_raw(policy, unit, trace=False))
