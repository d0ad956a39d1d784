"""The seed-core benchmark's yardstick is honest: its hand-written baseline computes what the engine computes.

benchmarks/seed_core_baseline.py implements benchmarks/seed-core.kh by hand (issue #13);
the user-cost ratios in docs/performance.md mean something only if both reach the
same results on everything a user reads — score, sections, targets, vetoes with their
evidence, the deferred accidents, band, rating and money — on hypothesis-generated
units (kaohe_rules.testing.strategies, which draws at the policy's own thresholds)
and on the benchmark's own workload (benchmarks/synthetic.seed_core_units).
The pattern is tests/project/test_baseline_agrees.py's, for the Karamay baseline.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import seed_core_baseline  # noqa: E402
import synthetic  # noqa: E402

POLICY_PATH = ROOT / "benchmarks" / "seed-core.kh"
POLICY = kaohe_rules.load(POLICY_PATH)
LONG = os.environ.get("KAOHE_HYPOTHESIS_PROFILE") == "long"
EXAMPLES = 3000 if LONG else 200
EDGE_EXAMPLES = 3000 if LONG else 120  # drawing these costs about 15 ms each: kept to two seconds in CI


def _positions(items: list[Any], chosen: list[Any]) -> list[int]:
    """1-based positions of ``chosen`` in ``items``, by identity (a list may hold two equal accidents)."""
    ids = {id(x) for x in chosen}
    return [i for i, item in enumerate(items, 1) if id(item) in ids]


def engine_view(result: Any) -> tuple[Any, ...]:
    c = result.consequences
    return (
        result.score,
        tuple(s.score for s in result.sections.values()),
        tuple(t.score for t in result.targets),
        [(v.name, list(v.positions)) for v in result.vetoes],
        [p for d in result.deferred for p in d.positions],
        result.band,
        result.rating,
        (c.total, tuple((i.name, i.amount) for i in c.items)),
    )


def baseline_view(unit: dict[str, Any]) -> tuple[Any, ...]:
    score, sections, targets, vetoes, deferred, band, rating, money = seed_core_baseline.assess(unit)
    accidents = unit["facts"].get("事故") or []
    return (
        score,
        sections,
        targets,
        [(name, _positions(accidents, evidence)) for name, evidence in vetoes],
        _positions(accidents, deferred),
        band,
        rating,
        money,
    )


def test_same_sections_and_targets_as_the_policy() -> None:
    for category, plan in POLICY.checked.plans.items():
        assert seed_core_baseline.TARGETS == tuple(t.target.name for t in plan.targets), category
        assert seed_core_baseline.SECTIONS == tuple(".".join(s.path) for s in plan.category.all_sections()), category
    assert set(seed_core_baseline.BUDGETS) == set(POLICY.checked.plans)


#: category → (the three sections' points, the band edges 四(三))
LAYOUT = {"区政府": ((400, 200, 400), (1000, 900, 850, 800)), "部门企业": ((240, 120, 240), (600, 550, 500, 450))}

ACCIDENT = st.fixed_dictionaries(
    {"简况": st.sampled_from(["甲", "乙"]),
     "类型": st.sampled_from(["道路交通", "火灾", "工贸", "其他"]),
     "死亡人数": st.sampled_from([0, 1, 2, 3, 9, 10]),
     "异地车辆": st.booleans()},
    optional={name: st.booleans() for name in ("瞒报", "谎报", "重大社会影响")},
)
#: 四(二)1's out-of-area road accidents, at and beyond 较大's bounds (3—9 deaths)
OUT_OF_AREA = st.fixed_dictionaries(
    {"简况": st.just("异地"), "类型": st.just("道路交通"), "死亡人数": st.sampled_from([2, 3, 9, 10]),
     "异地车辆": st.just(True)},
    optional={name: st.booleans() for name in ("瞒报", "谎报", "重大社会影响")},
)
HALF = Decimal("0.5")


@st.composite
def edge_units(draw: st.DrawFn) -> dict[str, Any]:
    """Units of the policy's strategy with what chance rarely draws put in: a score at or just below a band
    edge (or a loss beyond its section), out-of-area road accidents of 2, 3, 9 and 10 deaths with every flag,
    and amounts of a tenth of a fen, so that 六(三)'s rounding meets exact halves."""
    unit = draw(units(POLICY, max_list=2))
    facts = dict(unit["facts"])
    points, edges = LAYOUT[unit["category"]]
    if draw(st.booleans()):
        lost = edges[0] - draw(st.sampled_from(edges)) + draw(st.sampled_from([0, Decimal("0.1"), 1]))
        first = lost * draw(st.sampled_from([0, HALF, 1]))
        second = (lost - first) * draw(st.sampled_from([0, HALF, 1]))
        losses = [first, second, lost - first - second]
        order = draw(st.permutations([0, 1, 2]))
        for name, index in zip(("考核细则扣分", "日常督查扣分", "控制指标扣分"), order, strict=True):
            facts[name] = losses[index]
    elif draw(st.booleans()):
        facts[draw(st.sampled_from(["考核细则扣分", "日常督查扣分", "控制指标扣分"]))] = draw(
            st.sampled_from([max(points), max(points) + Decimal("0.1"), 10**6]))
    if draw(st.booleans()):
        facts["事故"] = draw(st.lists(st.one_of(OUT_OF_AREA, ACCIDENT), min_size=1, max_size=3))
    for limit in ("死亡人数控制指标", "事故起数控制指标"):  # 责任书 indicators near the counts drawn
        if draw(st.booleans()):
            facts[limit] = draw(st.sampled_from([0, 1, 2, 3]))
    if draw(st.booleans()):
        facts["奖励金额"] = draw(st.sampled_from([Decimal("0.005"), Decimal("1234.565"), Decimal("0.015"),
                                                  Decimal("0.15"), "120万元", Decimal("1000.15")]))
    return dict(unit, facts=facts)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(units(POLICY, max_list=4))
def test_agrees_on_hypothesis_generated_units(unit: dict[str, Any]) -> None:
    assert baseline_view(unit) == engine_view(POLICY.evaluate(unit))


@settings(max_examples=EDGE_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_units())
def test_agrees_at_the_edges(unit: dict[str, Any]) -> None:
    assert baseline_view(unit) == engine_view(POLICY.evaluate(unit))


def boundary_units() -> list[dict[str, Any]]:
    """Every boundary the rules have, each on its own, deterministically: each category's score at and
    0.1 below each band edge with each amount of the money list (halves of a fen on each share); each loss at
    and beyond its section's points; one accident of 0–10 deaths, on the road or
    not, out-of-area or not, with each flag, under 责任书 indicators absent, 0 and 1."""
    out: list[dict[str, Any]] = []
    amounts = [Decimal("0.005"), Decimal("0.15"), Decimal("0.25"), Decimal("1234.565"), Decimal("1000.15"), "120万元", 0]
    names = ("考核细则扣分", "日常督查扣分", "控制指标扣分")
    for category, (points, edges) in LAYOUT.items():
        for edge in edges:
            for below in (0, Decimal("0.1")):
                lost = edges[0] - edge + below
                rules = min(lost, points[0])
                for amount in amounts:
                    facts = {"考核细则扣分": rules, "日常督查扣分": lost - rules, "控制指标扣分": 0, "奖励金额": amount}
                    out.append({"id": f"b{len(out)}", "category": category, "facts": facts})
        for index, name in enumerate(names):  # a loss at, just beyond and far beyond its section's points
            for loss in (points[index], points[index] + Decimal("0.1"), 10**6):
                facts = {**dict.fromkeys(names, Decimal(7)), name: loss, "奖励金额": Decimal("0.25")}
                out.append({"id": f"b{len(out)}", "category": category, "facts": facts})
        for deaths in (0, 1, 2, 3, 9, 10):
            for kind in ("道路交通", "火灾"):
                for out_of_area in (False, True):
                    for flag in (None, "瞒报", "谎报", "重大社会影响"):
                        for limits in ({}, {"死亡人数控制指标": 0}, {"事故起数控制指标": 0}, {"死亡人数控制指标": 1},
                                       {"事故起数控制指标": 1}):
                            accident = {"简况": "甲", "类型": kind, "死亡人数": deaths, "异地车辆": out_of_area}
                            if flag is not None:
                                accident[flag] = True
                            facts = {"考核细则扣分": 0, "日常督查扣分": 0, "控制指标扣分": 0, "奖励金额": "10万元",
                                     "事故": [accident], **limits}
                            out.append({"id": f"b{len(out)}", "category": category, "facts": facts})
    return out


def test_agrees_at_every_boundary() -> None:
    for unit in boundary_units():
        assert baseline_view(unit) == engine_view(POLICY.evaluate(unit)), unit


def test_agrees_on_the_benchmark_workload() -> None:
    seen: set[object] = set()
    for unit in synthetic.seed_core_units(POLICY, 600, seed=2013):
        expected = engine_view(POLICY.evaluate(unit))
        assert baseline_view(unit) == expected, unit
        seen.add(expected[6])
        seen.update(name for name, _ in expected[3])
        if expected[4]:
            seen.add("deferred")
        if 0 in expected[2]:
            seen.add("a loss capped by its section")
    # the benchmark's units reach every rating, every veto, the deferral and the cap
    assert {"优秀", "良好", "合格", "不合格", "较大以上事故", "瞒报谎报", "突破指标", "重大社会影响", "deferred",
            "a loss capped by its section"} <= seen


def test_the_baseline_rounds_half_up_to_the_fen() -> None:
    """六(三) by hand: 0.005 rounds up, and the shares always sum to the whole (here checked against the engine)."""
    facts = {"考核细则扣分": 0, "日常督查扣分": 0, "控制指标扣分": 0, "奖励金额": "1234.565"}
    unit = {"id": "r", "category": "部门企业", "facts": facts}
    total, items = seed_core_baseline.assess(unit)[7]
    assert dict(items) == {"全额兑现": Decimal("1234.57"), "追加奖励": Decimal("370.37"),
                           "签订人": Decimal("246.91"), "有关人员": Decimal("1358.03")}
    assert total == sum(amount for name, amount in items if name in ("全额兑现", "追加奖励"))
    assert baseline_view(unit) == engine_view(POLICY.evaluate(unit))


def test_the_user_cost_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A one-round smoke run of the ``users`` suite (no timing is asserted, only that it runs and reports)."""
    import run

    assert run.main(["users", "--rounds", "1", "--min-units", "1", "--synthetic", "6", "--explain-units", "2"]) == 0
    out = capsys.readouterr().out
    for policy in ("seed-core", "Karamay 2013"):
        assert policy in out
    for line in ("hand-written baseline", "full read", "to_dict()", "explain()", "evaluate_many", "× loop", "× baseline"):
        assert line in out, line
