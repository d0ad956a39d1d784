"""The benchmark's yardstick is honest: the hand-written baseline computes what the engine computes.

benchmarks/karamay_baseline.py implements policies/karamay-2013.kh by hand; the speed
ratios in docs/performance.md mean something only if both do the same work and
reach the same results — on the sample units and on generated ones.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import karamay_baseline  # noqa: E402
import synthetic  # noqa: E402

POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(POLICY)


def engine_view(result: Any) -> tuple[Any, ...]:
    c = result.consequences
    money = (c.total, tuple((i.name, i.amount) for i in c.items)) if c.items else None
    return (
        result.score,
        tuple(s.score for s in result.sections.values()),
        {t.name: t.score for t in result.targets},
        [(v.name, [e.get("简况") for e in v.evidence]) for v in result.vetoes],
        [e.get("简况") for d in result.deferred for e in d.items],
        result.band,
        result.rating,
        money,
    )


def baseline_view(unit: dict[str, Any]) -> tuple[Any, ...]:
    score, sections, targets, vetoes, deferred, band, rating, money = karamay_baseline.assess(unit)
    return (
        score,
        sections,
        dict(zip(karamay_baseline.TARGETS[unit["category"]], targets, strict=True)),
        [(name, [e.get("简况") for e in evidence]) for name, evidence in vetoes],
        [e.get("简况") for e in deferred],
        band,
        rating,
        money,
    )


def test_same_targets_and_sections_as_the_policy(policy: Any) -> None:
    for category, plan in policy.checked.plans.items():
        assert karamay_baseline.TARGETS[category] == tuple(t.target.name for t in plan.targets)
        assert karamay_baseline.SECTIONS == tuple(".".join(s.path) for s in plan.category.all_sections())


def test_agrees_on_the_sample_units(policy: Any) -> None:
    units = json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]
    assert len(units) >= 10
    for unit in units:
        assert baseline_view(unit) == engine_view(policy.evaluate(unit)), unit["id"]


def test_agrees_on_generated_units(policy: Any) -> None:
    seen: set[object] = set()
    for unit in synthetic.units(policy, 1500, seed=7):
        expected = engine_view(policy.evaluate(unit))
        assert baseline_view(unit) == expected, unit
        seen.add(expected[6])
        seen.update(name for name, _ in expected[3])
        if expected[4]:
            seen.add("deferred")
    # the generated units reach every rating, every veto and the out-of-area deferral
    assert {"优秀", "良好", "合格", "不合格", "较大以上事故", "瞒报谎报", "突破指标", "重大社会影响", "deferred"} <= seen


def test_the_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A one-round smoke run of ``bash dev.sh bench`` (no timing is asserted, only that it runs and reports)."""
    import run

    assert run.main(["speed", "--rounds", "1", "--min-units", "1", "--synthetic", "6"]) == 0
    out = capsys.readouterr().out
    assert "hand-written baseline" in out and "× baseline" in out and "result.explain()" in out
