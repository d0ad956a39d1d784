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
    "periods": ROOT / "tests" / "data" / "interpreter" / "periods.kh",  # issue #11 P: periods, streak, period records
    "periods-only": ROOT / "tests" / "data" / "interpreter" / "periods_only.kh",  # issue #11 P: sections `only in`
    "ledgers": ROOT / "tests" / "data" / "ledgers" / "accidents.kh",  # issue #16: maps, `in`, a fact from a ledger
    "composed": ROOT / "tests" / "data" / "ledgers" / "composed.kh",  # issue #16: chained defers, a defer from a let
    "periods-chain": ROOT / "tests" / "data" / "ledgers" / "periods_chain.kh",  # issue #16 × #11 P
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


# ----------------------------------------------------- generated policies (issue #10 constructs)
# The fixed policies above cover each construct once; generated policies combine them: bonus sections
# and caps, scores as values, every rating effect and band requirement, conditional outcome items,
# outcomes for every rating, reported lets, named items, group-by, order tests, record facts
# (kaohe_rules/testing/policygen.py).  Each is accepted by the checker (a refusal is a generator bug),
# and on generated units the plain and traced evaluators and the reference interpreter must agree.
# The name holds "fuzz" so that `bash dev.sh fuzz` (the long profile) runs 200 policies x 60 units.
_LONG = os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long"
GENERATED = 200 if _LONG else 24  # policies
GENERATED_UNITS = 60 if _LONG else 6  # hypothesis examples (units) per policy
_GENERATED: dict[int, Any] = {}


def generated_policy(index: int) -> Any:
    """The index-th generated policy of the fixed seed, loaded once; the checker must accept it."""
    from kaohe_rules.errors import PolicyError
    from kaohe_rules.testing.fuzz import RandomChooser
    from kaohe_rules.testing.policygen import generate_rich_policy

    if index not in _GENERATED:
        # every third policy is risky: a negative 加分值 makes its add/deduct an error, the same on every path
        text = generate_rich_policy(RandomChooser(f"differential:{index}"), risky=index % 3 == 2).text
        try:
            _GENERATED[index] = kaohe_rules.load(text, name=f"generated-{index}.kh")
        except PolicyError as exc:  # pragma: no cover - a generator bug, shown with the policy
            raise AssertionError(f"the checker refuses generated policy {index}:\n{exc}\n\n{text}") from None
    return _GENERATED[index]


def effect_steps_of_trace(policy: Any, unit: dict[str, Any]) -> list[tuple[object, ...]]:
    """The effect steps as the trace lists them (clause, kind, before, after), in trace order."""
    result = policy.evaluate(unit, trace=True)
    return [(e.id, e.detail["effect"], e.detail["before"], e.value) for e in result.trace.walk() if e.kind == "effect"]


@pytest.mark.parametrize("index", range(GENERATED))
@settings(max_examples=GENERATED_UNITS, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_generated_policies_compiled_evaluator_agrees_with_the_interpreter(index: int, data: st.DataObject) -> None:
    policy = generated_policy(index)
    unit = data.draw(units(policy, max_list=4))
    expected = canonical(interpreted_raw(policy, unit))
    assert canonical(compiled_raw(policy, unit, trace=False)) == expected
    assert canonical(compiled_raw(policy, unit, trace=True)) == expected
    if isinstance(expected, str):
        return  # the same error on every path
    plain = policy.evaluate(unit)
    traced = policy.evaluate(unit, trace=True)
    assert plain.to_dict() == traced.to_dict()  # reported lets, effects, consequences: the same document
    steps = [(s.clause, s.kind, s.before, s.after) for s in plain.effects]
    assert effect_steps_of_trace(policy, unit) == steps  # the trace lists the steps in the order applied


def test_a_rest_share_after_a_share_left_out_by_when_is_to_the_fen_on_every_path() -> None:
    """Found by the generated policies (differential:117): with every reward left out by ``for`` the total is 0, and
    a share left out by ``when`` counted 0.00 in the compiled evaluator but nothing in the interpreter, so the
    ``rest`` share was 0.00 compiled and 0 interpreted (``"0"`` in to_dict).  A share left out reads as 0.00 on
    every path, as a reward left out does."""
    policy = kaohe_rules.load(_HEAD + '''category A "a" total 10 { section S "s" 10 }
category B "b" total 10 { section S "s" 10 }
fact 奖励: money >= 0 = 0元 "奖励"
fact 严: bool = false "严"
target T "t" in A.S points 10, B.S points 10 { deduct 1 when 严 }
''' + _TAIL + '''bands A { 好 [5, 10] 差 [0, 5) }
bands B { 好 [5, 10] 差 [0, 5) }
outcome 好 { reward 奖 "奖" = 奖励 * 44% for A  share 头 "头" = 奖 * 20% when 严  share 余 "余" = rest }''')
    unit = {"id": "u", "category": "B", "facts": {"奖励": 100}}
    plain, traced, reference = _both_paths(policy, unit)
    assert plain == traced == reference
    rest = policy.evaluate(unit).consequences.items[-1]
    assert rest.name == "余" and str(rest.amount) == "0.00"


# ----------------------------------------------------- cohorts (issue #11 C): evaluated with given standings
COHORT_POLICY = ROOT / "tests" / "data" / "interpreter" / "cohort.kh"


def _standings() -> st.SearchStrategy[Any]:
    """Standings as the cohort stage could hand them (not necessarily consistent: both sides read the same one)."""
    from kaohe_rules.runtime.standing import Standing

    scores = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
    return st.builds(
        Standing, cohort=st.just("综合排名"), rank=st.none() | st.integers(1, 12), ranked_count=st.integers(0, 12),
        unit_count=st.integers(0, 15), best=st.none() | scores, average=st.none() | scores, tied=st.integers(1, 3),
        demoted_to=st.none() | st.integers(0, 3), quota=st.integers(0, 2))


def _interpreted_in_cohort(policy: Any, unit: dict[str, Any], standing: Any) -> tuple[Any, ...] | str:
    _, _, category, raw = policy.coercer.envelope(unit)
    facts = policy.coercer.coerce(unit["id"], category, raw)
    try:
        with engine_context():
            return interpret(policy.checked, category, facts, standing)
    except ZeroDivisionError:
        return "error: division by zero"


def _compiled_in_cohort(policy: Any, unit: dict[str, Any], standing: Any, trace: bool) -> tuple[Any, ...] | str:
    try:
        return policy.evaluate_in_cohort(unit, standing, trace=trace)._raw  # type: ignore[no-any-return]
    except EvaluationError as exc:
        return f"error: {exc.message}"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_cohort_policy_agrees_with_the_interpreter_on_given_standings(data: st.DataObject) -> None:
    policy = kaohe_rules.load(COHORT_POLICY) if "cohort" not in _LOADED else _LOADED["cohort"]
    _LOADED["cohort"] = policy
    unit = data.draw(units(policy, max_list=2))
    standing = data.draw(_standings())
    expected = canonical(_interpreted_in_cohort(policy, unit, standing))
    assert canonical(_compiled_in_cohort(policy, unit, standing, trace=False)) == expected
    assert canonical(_compiled_in_cohort(policy, unit, standing, trace=True)) == expected


def test_cohort_batch_agrees_with_the_interpreter() -> None:
    """A whole batch through evaluate_cohort: each final result is the interpreter's with that unit's standing."""
    policy = kaohe_rules.load(COHORT_POLICY)
    units_in = [{"id": f"u{i}", "category": ("县区", "部门", "企业")[i % 3],
                 "facts": {"扣分": i % 7, "死亡人数": i % 2, "达标": i % 5 != 0, "瞒报": i == 4,
                           **({"指标扣分": i % 4} if i % 3 == 0 else {})}} for i in range(24)]
    items = policy.evaluate_cohort(units_in)
    assert [item.index for item in items] == list(range(24)) and all(item.ok for item in items)
    demoted = 0
    for item, unit in zip(items, units_in):
        result = item.result
        assert result is not None and result.standing is not None
        demoted += any(step.kind == "quota" for step in result.effects)
        expected = canonical(_interpreted_in_cohort(policy, unit, result.standing))
        assert canonical(result.raw) == expected, unit["id"]
    assert demoted > 0  # the batch exercises the quota step


def test_periods_and_cohort_together_agree_with_the_interpreter() -> None:
    """Periods, per-period bonus caps, a veto kept out of the ranking, a downgrade, a quota, ``streak``
    over period ratings and a reward on the rank (tests/data/interpreter/periods_cohort.kh): each final
    result of a batch is the interpreter's with that unit's standing, plain and traced alike."""
    policy = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "periods_cohort.kh")
    units_in = [{"id": f"u{i}", "category": "县区",
                 "facts": {"扣分": {"上半年": (i * 7) % 13 + (40 if i % 6 == 5 else 0), "下半年": (i * 11) % 15 + (45 if i % 6 == 5 else 0)},
                           "表彰": {"上半年": i % 3, "下半年": (i * 5) % 4},
                           "重大事故": i % 9 == 4, "瞒报": i % 5 == 2}} for i in range(20)]
    items = policy.evaluate_cohort(units_in)
    assert all(item.ok for item in items)
    kinds = set()
    for item, unit in zip(items, units_in):
        result = item.result
        assert result is not None and result.standing is not None and len(result.periods) == 2
        kinds |= {step.kind for step in result.effects}
        expected = canonical(_interpreted_in_cohort(policy, unit, result.standing))
        assert canonical(result.raw) == expected, unit["id"]
        assert canonical(_compiled_in_cohort(policy, unit, result.standing, trace=True)) == expected, unit["id"]
    assert {"quota", "downgrade"} <= kinds  # the batch exercises both steps
