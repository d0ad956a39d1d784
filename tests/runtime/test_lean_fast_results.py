"""A result of the fast path is, field by field, the result of the general path (issue #13, lean results).

``Policy.evaluate`` and the serial ``evaluate_many`` build the :class:`~kaohe_rules.Result` of a unit the
fused reader took without calling its ``__init__``, and its parts come from per-category templates
(``runtime.templates``: the static fields computed once, consequences' kind precomputed, records
displayed by the fields of their key shape).  The reference is the general path: the generic coercer
(``fast=False``) and ``Result(...)``.  Law, on hypothesis-generated units of bundled policies and of
generated policies, spoiled units included: both give the same error, or results equal in every field
— the raw tuple, the facts, every part (equal, same type, same ``repr``, same instance fields, same
``to_dict``), ``to_dict`` and the explanation — whatever part is read first.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.errors import KaoheError, PolicyError
from kaohe_rules.language.abi import RAW_OUTCOME, RAW_SECTIONS, RAW_TARGETS, RAW_VETOES
from kaohe_rules.runtime.parts import (
    SectionResult,
    TargetResult,
    VetoHit,
    consequences_of,
    item_positions,
    outcome_lines,
)
from kaohe_rules.runtime.templates import period_points
from kaohe_rules.testing import fuzz
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 600 if os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long" else 40
POLICIES = [ROOT / "benchmarks" / "seed-core.kh", ROOT / "policies" / "karamay-2013.kh",
            ROOT / "policies" / "bijie-2011.kh", ROOT / "policies" / "zunyi-2010.kh",
            *(ROOT / "tests" / "data" / "interpreter" / f"{name}.kh"
              for name in ("every_construct", "consequences", "bonus", "interplay_lists", "rating_effects", "periods"))]
_LOADED: dict[Path, Any] = {}

SPOILERS: list[object] = [None, "", "是", 1, 0, -1, "12.5", "100万元", "98%", Decimal("2.50"), Decimal("-0"), [],
                          [{}], True, "2013-07-01", 10**40]

#: what is read of a result, in this order and reversed (a part may read another: targets inside sections)
PARTS = ("score", "total", "rating", "rating_label", "band", "band_citation", "vetoed", "raw_score", "effects",
         "targets", "sections", "vetoes", "excepted", "deferred", "consequences", "general_consequences",
         "periods", "facts", "maximum", "base_score", "bonus", "unit_id", "name", "category")


def policy_at(path: Path) -> Any:
    if path not in _LOADED:
        _LOADED[path] = kaohe_rules.load(path)
    return _LOADED[path]


def outcome(call: Any) -> Any:
    try:
        return call()
    except KaoheError as exc:
        return exc


def same_value(a: object, b: object) -> None:
    """Equal, of the same type, with the same repr; parts also with the same fields and to_dict."""
    assert type(a) is type(b), (a, b)
    assert a == b
    assert repr(a) == repr(b)
    if isinstance(a, dict):
        assert list(a) == list(b)  # type: ignore[call-overload]
        for key in a:
            same_value(a[key], b[key])  # type: ignore[index]
    elif isinstance(a, (tuple, list)):
        for x, y in zip(a, b, strict=True):  # type: ignore[call-overload]
            same_value(x, y)
    elif hasattr(a, "__dict__") and hasattr(a, "to_dict"):
        assert vars(a) == vars(b)
        assert sorted(vars(a)) == sorted(vars(b))
        assert a.to_dict() == b.to_dict()  # type: ignore[attr-defined]


def display_record(program: Any, record: object) -> dict[str, object]:
    """How a record was displayed before display_record remembered shapes: by its first fitting record type."""
    if not isinstance(record, dict):
        return {"value": record}
    fields = program.checked.record_fields.get(program._record_name_of_keys(tuple(record)) or "", {})
    return {key: program._display(fields[key], value) if key in fields else value for key, value in record.items()}


def constructed(result: Any) -> None:
    """The parts the classes' constructors build from the raw tuple (no template) are the result's parts."""
    program, plan = result.program, result.program.plans[result.category]
    checked = program.checked
    targets = tuple(TargetResult(p.target.name, p.target.label, p.target.cite, ".".join(p.section),
                                 period_points(checked, plan, p.section, p.points), Decimal(score), p.bonus, p.cap)
                    for p, score in zip(plan.targets, result.raw[RAW_TARGETS]))
    infos = {s.path: s for s in plan.category.all_sections()}
    sections = {}
    for path, score in zip(program.section_order(result.category), result.raw[RAW_SECTIONS]):
        info, key = infos[path], ".".join(path)
        sections[key] = SectionResult(key, info.name, info.label, info.cite,
                                      period_points(checked, plan, path, info.points), Decimal(score),
                                      tuple(t for t in targets if t.section == key), len(path), info.bonus, info.cap)
    lines = outcome_lines(checked, result.rating, result.raw[RAW_OUTCOME])
    own = lines[0] if lines and not lines[0][0].for_every_rating else None
    vetoes = []
    for index, evidence, reads in result.raw[RAW_VETOES]:
        veto = plan.vetoes[index]
        vetoes.append(VetoHit(veto.name, veto.label, veto.cite, tuple(display_record(program, i) for i in evidence or ()),
                              {n: program.display_value(n, v) for n, v in zip(checked.reads.get(veto, ()), reads)},
                              None, item_positions(result.facts, evidence) if evidence else ()))
    same_value(result.targets, targets)
    same_value(result.sections, sections)
    same_value(result.consequences, consequences_of(result.rating, own))
    same_value(result.vetoes, tuple(vetoes))


def same_result(fast: Any, reference: Any, order: tuple[str, ...]) -> None:
    assert type(fast) is type(reference)
    same_value(fast.raw, reference.raw)
    for part in order:
        same_value(getattr(fast, part), getattr(reference, part))
    assert fast.to_dict() == reference.to_dict()
    assert repr(fast) == repr(reference)


def check(policy: Any, unit: dict[str, Any], reverse: bool) -> None:
    reference = outcome(lambda: policy._evaluate_generic(unit, fast=False))
    fast = outcome(lambda: policy.evaluate(unit))
    (many,) = list(policy.evaluate_many([unit]))
    if isinstance(reference, KaoheError):
        assert type(fast) is type(reference) and str(fast) == str(reference)
        assert many.result is None and type(many.error) is type(reference) and str(many.error) == str(reference)
        return
    order = tuple(reversed(PARTS)) if reverse else PARTS
    same_result(fast, reference, order)
    constructed(policy.evaluate(unit) if reverse else fast)
    same_result(many.result, reference, PARTS)
    if reverse:  # the explanation reads the parts through the result view
        assert fast.explain() == reference.explain()


@st.composite
def spoiled(draw: st.DrawFn, policy: Any) -> dict[str, Any]:
    unit = draw(units(policy, max_list=3))
    if draw(st.booleans()):
        facts = dict(unit["facts"])
        names = sorted(policy.checked.plans[unit["category"]].facts)
        name = draw(st.sampled_from(names))
        if draw(st.booleans()):
            facts[name] = draw(st.sampled_from(SPOILERS))
        else:
            facts.pop(name, None)
        unit = {**unit, "facts": facts}
    return unit


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_fast_result_is_the_general_paths_result(path: Path, data: st.DataObject) -> None:
    policy = policy_at(path)
    check(policy, data.draw(spoiled(policy)), data.draw(st.booleans()))


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_fast_result_is_the_general_paths_result_on_generated_policies(data: st.DataObject) -> None:
    text = fuzz.generate_policy(fuzz.DrawChooser(data))
    try:
        policy = kaohe_rules.load(text, name="gen.kh")
    except PolicyError:
        assume(False)
        return
    assume(policy.cohort is None and not policy.ledgers)
    for _ in range(3):
        check(policy, data.draw(spoiled(policy)), data.draw(st.booleans()))


def test_records_of_one_shape_are_displayed_as_their_record_type_says() -> None:
    """``display_record`` remembers a key shape's shown fields; a record read again is displayed the same."""
    policy = policy_at(ROOT / "benchmarks" / "seed-core.kh")
    program = policy.program
    record = {"简况": "x", "类型": 2, "死亡人数": 3, "异地车辆": False, "瞒报": True, "谎报": False, "重大社会影响": False}
    first = program.display_record(record)
    again = program.display_record(dict(record))
    assert first == again == {**record, "类型": "工贸"}
    assert first is not again
    assert program.display_record({"a": 1}) == {"a": 1}
    assert program.display_record(5) == {"value": 5}


def test_consequences_whose_items_are_left_out_are_the_constructors_consequences() -> None:
    """Every rating of the conditional-outcome policy, each item in and out (the kind is recomputed then)."""
    policy = policy_at(ROOT / "tests" / "data" / "interpreter" / "consequences.kh")
    seen = set()
    for category in ("县区", "部门"):
        for loss in (0, 15, 30, 50):
            for base in (0, 1000):
                for safe in (True, False):
                    for quarters in ([], [{"等次": "差"}], [{"等次": "差"}, {"等次": "差"}, {"等次": "好"}]):
                        unit = {"id": "u", "category": category, "facts": {
                            "限额": {"次数": 0}, "扣分": loss, "奖励基数": base, "无事故": safe, "季度考核": quarters}}
                        check(policy, unit, reverse=False)
                        result = policy.evaluate(unit)
                        seen.add((result.rating, result.consequences.kind))
    assert ("不合格", "none") in seen and ("不合格", "fine") in seen and ("优秀", "reward") in seen
