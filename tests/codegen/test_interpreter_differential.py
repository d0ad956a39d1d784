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
from kaohe_rules.errors import EvaluationError, FactError
from kaohe_rules.numeric import NegativeAmount, engine_context
from kaohe_rules.runtime.interpreter import interpret
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 2000 if os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long" else 120
POLICIES = {
    "interplay-lists": ROOT / "tests" / "data" / "interpreter" / "interplay_lists.kh",
    "interplay": ROOT / "tests" / "data" / "interpreter" / "interplay.kh",  # issue #10 constructs together
    "karamay": ROOT / "policies" / "karamay-2013.kh",
    "every-construct": ROOT / "tests" / "data" / "interpreter" / "every_construct.kh",
    "iteration": ROOT / "tests" / "data" / "interpreter" / "iteration.kh",
    "rating-effects": ROOT / "tests" / "data" / "interpreter" / "rating_effects.kh",
    "consequences": ROOT / "tests" / "data" / "interpreter" / "consequences.kh",
    "bonus": ROOT / "tests" / "data" / "interpreter" / "bonus.kh",  # bonus points (加分), caps, an open band
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
        return f"error: {exc.message}"  # what went wrong (the clause is named from the compiler's source map)


def interpreted_raw(policy: Any, unit: dict[str, Any]) -> tuple[Any, ...] | str:
    _, _, category, raw = policy.coercer.envelope(unit)
    facts = policy.coercer.coerce(unit["id"], category, raw)
    try:
        with engine_context():
            return interpret(policy.checked, category, facts)
    except ZeroDivisionError:
        return "error: division by zero"
    except NegativeAmount as exc:  # a negative deduct/add amount: an error, never a silent 0
        return f"error: {exc}"


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


# ----------------------------------------------------- crafted cases (review 2026-11-29)
_HEAD = 'policy P "p" { period 2013-01-01 .. 2013-12-31 }\n'
_TAIL = 'ratings { 好 "好" 差 "差" } vetoed 差\n'


def _both_paths(policy: Any, unit: dict[str, Any]) -> tuple[object, object, object]:
    return (canonical(compiled_raw(policy, unit, trace=False)), canonical(compiled_raw(policy, unit, trace=True)),
            canonical(interpreted_raw(policy, unit)))


def test_section_sums_add_in_declaration_order() -> None:
    """A proportional score has 34 digits: adding the section in another order would round differently."""
    policy = kaohe_rules.load(_HEAD + '''category A "a" total 105 { section S "s" 105 }
fact a: int "a"
fact b: int > 0 "b"
fact ok: bool "ok"
target T0 "t0" in A.S points 10 { proportional a / b }
target T1 "t1" in A.S points 5 { full when ok }
target T2 "t2" in A.S points 10 { proportional a / b }
target T3 "t3" in A.S points 80 { full when ok }
''' + _TAIL + '''bands A { 好 [91.66666666666666666666666666666667, 105] 差 [0, 91.66666666666666666666666666666667) }''')
    unit = {"id": "u", "category": "A", "facts": {"a": 1, "b": 3, "ok": True}}
    plain, traced, reference = _both_paths(policy, unit)
    assert plain == traced == reference
    result = policy.evaluate(unit)
    assert str(result.score) == "91.66666666666666666666666666666667" and result.rating == "好"


def test_derived_record_fields_use_the_engine_context_on_every_path() -> None:
    """A record's let is computed while reading facts: in the engine's 34 digits, traced or not."""
    policy = kaohe_rules.load(_HEAD + '''category A "a" total 10 { section S "s" 10 }
record R "r" { a: int "a"  let q = a / 3 + 1 }
fact L: list of R = [] "l"
target T0 "t0" in A.S points 10 { deduct 5 when sum(L of q) > 1.3333333333333333333333333333 }
''' + _TAIL + 'bands A { 好 [6, 10] 差 [0, 6) }')
    unit = {"id": "u", "category": "A", "facts": {"L": [{"a": 1}]}}
    plain, traced, reference = _both_paths(policy, unit)
    assert plain == traced == reference
    assert [policy.evaluate(unit, trace=t).score for t in (False, True)] == [5, 5]
    spelled = {"id": "u", "category": "A", "facts": {"L": [{"a": "1"}]}}  # the generic coercer's path
    assert policy.evaluate(spelled).score == 5


def test_the_first_error_reported_is_the_reference_orders() -> None:
    """The plain evaluator sums some aggregates ahead of their statement; the error reported is still the first
    one in declaration order (here the division, not the overflow of the sum to its right)."""
    big = Decimal("9E+999999")
    for body in ('let q = x / y + sum(L of v) "q"\ntarget T "t" in A.S points 10 { deduct 1 when q > 0 }',
                 'target T "t" in A.S points 10 { deduct x / y + sum(L of v) }'):
        policy = kaohe_rules.load(_HEAD + '''category A "a" total 10 { section S "s" 10 }
record R "r" { v: decimal "v" }
fact L: list of R = [] "l"
fact x: decimal "x"
fact y: decimal "y"
''' + body + "\n" + _TAIL + 'bands A { 好 [5, 10] 差 [0, 5) }')
        unit = {"id": "u", "category": "A", "facts": {"x": 1, "y": 0, "L": [{"v": big}, {"v": big}]}}
        with pytest.raises(FactError, match="too large"):  # the fact layer refuses such values (docs/limits.md) ...
            policy.evaluate(unit)
        # ... so the overflow can only be provoked behind it, with facts already read
        facts: dict[str, object] = {"x": Decimal(1), "y": Decimal(0), "L": [{"v": big}, {"v": big}]}
        for trace in (False, True):
            with pytest.raises(EvaluationError, match="division by zero"):
                policy._evaluate_facts("u", None, "A", facts, trace)


def test_a_derived_field_dividing_by_zero_is_an_evaluation_error() -> None:
    policy = kaohe_rules.load(_HEAD + '''category A "a" total 10 { section S "s" 10 }
record R "r" { a: int "a"  b: int "b"  let q = a / b }
fact L: list of R = [] "l"
target T0 "t0" in A.S points 10 { deduct 5 when count(L where q > 1) > 0 }
''' + _TAIL + 'bands A { 好 [6, 10] 差 [0, 6) }')
    for spelling in (0, "0"):  # the fused path, and the generic coercer's
        unit = {"id": "u", "category": "A", "facts": {"L": [{"a": 1, "b": spelling}]}}
        for trace in (False, True):
            with pytest.raises(EvaluationError, match=r"division by zero \(in a derived field \(let\) of record R\)"):
                policy.evaluate(unit, trace=trace)
    items = list(policy.evaluate_many([{"id": "u", "category": "A", "facts": {"L": [{"a": 1, "b": 0}]}}]))
    assert items[0].error is not None and items[0].result is None
