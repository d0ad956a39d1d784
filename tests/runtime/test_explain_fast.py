"""The fast explanation renderer gives the reference's text, byte for byte (issue #13).

``Result.explain()`` renders from the traced evaluator's raw events (:func:`kaohe_rules.runtime.explain_fast.explain_fast`);
:func:`kaohe_rules.runtime.explain.explain` over the result's event tree is the reference.  On every unit
hypothesis draws — for the benchmark's seed-core policy, Karamay, every policy in ``policies/``, the test
policies of every construct (periods, bonus, cohorts, ledgers, effects …), generated policies and hostile
values — both languages and both forms give the same text, whether the fast path renders it or falls back.
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
from kaohe_rules.errors import KaoheError
from kaohe_rules.runtime.explain import explain as reference_explain
from kaohe_rules.runtime.explain_fast import explain_fast
from kaohe_rules.runtime.trace import build_trace
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parents[2]
_LONG = os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long"
EXAMPLES = 300 if _LONG else 12
OPTIONS = [(lang, full) for lang in ("zh", "en") for full in (True, False)]

POLICIES = {
    "seed-core": ROOT / "benchmarks" / "seed-core.kh",
    **{path.stem: path for path in sorted((ROOT / "policies").glob("*.kh"))},
    **{f"interpreter/{path.stem}": path for path in sorted((ROOT / "tests" / "data" / "interpreter").glob("*.kh"))},
    **{f"ledgers/{path.stem}": path for path in sorted((ROOT / "tests" / "data" / "ledgers").glob("*.kh"))},
}
#: the fast path must render these itself (not fall back): the benchmark's policies
FAST = ("seed-core", "karamay-2013")
_LOADED: dict[str, Any] = {}


def policy_named(name: str) -> Any:
    if name not in _LOADED:
        _LOADED[name] = kaohe_rules.load(POLICIES[name])
    return _LOADED[name]


def assert_same_texts(result_of: Any, *, must_be_fast: bool = False) -> None:
    """``result_of()`` gives a fresh result each time (a result's trace, once built, is what explain() reads)."""
    for lang, full in OPTIONS:
        result = result_of()
        shown = result.explain(lang=lang, full=full)  # first: no trace built yet, the fast path's turn
        fresh = result_of()
        events = fresh.trace_events
        if events is None:
            events = fresh.program.traced_events(fresh.category, fresh.facts, fresh._passed_standing)
        fast = explain_fast(fresh, events, lang, full)
        partial = reference_explain(fresh, lang=lang, full=full,
                                    trace=build_trace(fresh.program, fresh._plan, fresh, events, explanation=True))
        expected = reference_explain(result, lang=lang, full=full, trace=result.trace)  # the whole event tree
        assert shown == expected, (lang, full)
        assert partial == expected, (lang, full)
        if must_be_fast:
            assert fast is not None, (lang, full)
        if fast is not None:
            assert fast == expected, (lang, full)
        assert result.explain(lang=lang, full=full) == expected  # now read from the built trace


def evaluated(policy: Any, unit: dict[str, Any], *, trace: bool = False) -> Any:
    try:
        policy.evaluate(unit, trace=trace)
    except KaoheError:
        return None
    return lambda: policy.evaluate(unit, trace=trace)


@pytest.mark.parametrize("name", sorted(POLICIES))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fast_explanation_is_the_reference_text(name: str, data: st.DataObject) -> None:
    policy = policy_named(name)
    unit = data.draw(units(policy, max_list=4))
    for trace in (False, True):
        result_of = evaluated(policy, unit, trace=trace)
        if result_of is None:
            return
        assert_same_texts(result_of, must_be_fast=name in FAST)


@pytest.mark.parametrize("name", [n for n in sorted(POLICIES) if "cohort" in n])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fast_explanation_in_a_batch_with_ranks(name: str, data: st.DataObject) -> None:
    """Units assessed with their batch (ranks, quotas, provisional results)."""
    policy = policy_named(name)
    batch = data.draw(st.lists(units(policy, max_list=3), min_size=1, max_size=6))
    for index, unit in enumerate(batch):
        unit["id"] = f"u{index}"
    try:
        items = list(policy.evaluate_many(batch))
    except KaoheError:
        return
    for index, item in enumerate(items):
        if item.result is None:
            continue
        assert_same_texts(lambda index=index: list(policy.evaluate_many(batch))[index].result)


def test_ledger_units_explained_alike() -> None:
    """Units assessed with their batch's ledgers (issue #16): charged events, evidence from the ledger."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    import ledger_fixture as lf

    policy = lf.load_ledger_policy()
    ledgers = {lf.LEDGER: lf.ledger()} if hasattr(lf, "LEDGER") else None
    if ledgers is None:
        pytest.skip("the ledger fixture names no ledger")
    items = list(policy.evaluate_many(lf.units(), ledgers=ledgers))
    assert items
    for index, item in enumerate(items):
        if item.result is not None:
            assert_same_texts(lambda index=index: list(policy.evaluate_many(lf.units(), ledgers=ledgers))[index].result)


# ------------------------------------------------------------------ hostile values and names
HOSTILE_POLICY = """\
policy 敌意 "hostile values" { period 2013-01-01 .. 2013-12-31 }
category 单位 "单位 " total 100 { section 甲 "甲 " 60 { section 子 60 } section 乙 40 }
ratings { 好 "好 " 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
enum 色 { 红 "红 ", 绿 }
fact 备注: text = "" "备注"
fact 颜色: 色 = 红 "颜色"
fact 扣: decimal >= 0 = 0 "扣"
fact 比: percent >= 0 = 0% "比"
fact 钱: money >= 0 = 0元 "钱"
fact 否: bool = false "否"
target 一 "一 " in 单位.甲.子 points 60 { deduct 扣 when 备注 != "x"  deduct 1 when 颜色 == 绿  deduct 比 * 10 when 否 }
target 二 in 单位.乙 points 40 { deduct 钱 / 1万元 when 否 }
veto 否决 "否决 " cite "四 " when 扣 > 50
"""


def _hostile_policy() -> Any:
    if "hostile" not in _LOADED:
        try:
            _LOADED["hostile"] = kaohe_rules.load(HOSTILE_POLICY, name="hostile.kh")
        except KaoheError:
            _LOADED["hostile"] = None
    return _LOADED["hostile"]


_NUMBERS = st.one_of(
    st.decimals(min_value=0, max_value=100, allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("0E+3"), Decimal("1E+1"), Decimal("5.000"), Decimal("0.0000001"), Decimal("-0")]),
    st.integers(0, 100))


@settings(max_examples=EXAMPLES * 4, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(max_size=6), uid=st.text(min_size=1, max_size=6), note=st.text(max_size=6),
       colour=st.sampled_from(["红", "绿"]), deduct=_NUMBERS, share=_NUMBERS, money=_NUMBERS, no=st.booleans())
def test_hostile_values_and_names(name: str, uid: str, note: str, colour: str, deduct: Any, share: Any, money: Any,
                                  no: bool) -> None:
    policy = _hostile_policy()
    if policy is None:
        pytest.skip("the hostile policy does not load")
    unit = {"id": uid, "name": name, "category": "单位",
            "facts": {"备注": note, "颜色": colour, "扣": deduct, "比": share, "钱": money, "否": no}}
    for trace in (False, True):
        result_of = evaluated(policy, unit, trace=trace)
        if result_of is None:
            return
        assert_same_texts(result_of, must_be_fast=True)


# ----------------------------------------------------------------- generated policies
GENERATED = 40 if _LONG else 6


@pytest.mark.parametrize("index", range(GENERATED))
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_policies(index: int, data: st.DataObject) -> None:
    from kaohe_rules.testing.fuzz import RandomChooser
    from kaohe_rules.testing.policygen import generate_rich_policy

    key = f"generated:{index}"
    if key not in _LOADED:
        text = generate_rich_policy(RandomChooser(f"explain-fast:{index}"), risky=index % 3 == 2).text
        _LOADED[key] = kaohe_rules.load(text, name=f"generated-{index}.kh")
    policy = _LOADED[key]
    unit = data.draw(units(policy, max_list=3))
    result_of = evaluated(policy, unit)
    if result_of is not None:
        assert_same_texts(result_of)


def test_a_failure_of_the_fast_path_is_logged_and_the_reference_renders(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A failure can only cost speed: the reference's text, and a DEBUG record with the traceback to find it by."""
    from kaohe_rules.runtime import explain_fast as fast_module

    policy = policy_named("seed-core")
    unit = {"id": "u1", "category": "区政府", "facts": {"考核细则扣分": 10, "日常督查扣分": 0, "控制指标扣分": 0,
                                                         "奖励金额": 100000}}
    expected = policy.evaluate(unit, trace=True).explain()

    def broken(*_: object) -> str:
        raise ZeroDivisionError("a defect of the fast renderer")

    monkeypatch.setattr(fast_module, "explain_fast", broken)
    with caplog.at_level("DEBUG", logger="kaohe_rules.explain"):
        assert policy.evaluate(unit).explain() == expected
    record = next(r for r in caplog.records if r.name == "kaohe_rules.explain")
    assert "'u1'" in record.getMessage() and record.exc_info is not None and "defect" in str(record.exc_info[1])


def test_the_fragment_cache_drops_its_oldest_policy_not_all_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service cycling through more policies than it keeps rebuilt every policy's fragments each time."""
    from kaohe_rules.runtime import explain_fast as fast_module

    monkeypatch.setattr(fast_module, "_CACHE", {})
    monkeypatch.setattr(fast_module, "POLICIES_KEPT", 3)
    text = (ROOT / "benchmarks" / "seed-core.kh").read_text(encoding="utf-8")
    loaded = [kaohe_rules.load(text.replace("克拉玛依2013核心", f"核心{i}", 1)) for i in range(5)]
    unit = {"id": "u", "category": "区政府", "facts": {"考核细则扣分": 0, "日常督查扣分": 0, "控制指标扣分": 0,
                                                       "奖励金额": 1}}
    for policy in loaded:
        policy.evaluate(unit).explain()
    kept = [program for program, _ in fast_module._CACHE.values()]
    assert kept == [policy.program for policy in loaded[2:]]
