"""The zen-engine contender is honest: benchmarks/zen-graphs/seed-core.json computes what the baseline computes.

The columnar benchmark (``bash dev.sh bench columnar``, issue #13) compares kaohe with
zen-engine per unit on the seed-core rules; that ratio means something only if the
decision graph implements exactly benchmarks/seed-core.kh.  These tests compare it with
the hand-written baseline (itself proven equal to the engine by
tests/project/test_seed_core_baseline.py) on everything a user reads — score, sections,
targets, vetoes with their evidence, deferred accidents, band, rating and every amount —
on the benchmark's workload, at every boundary of the rules, and on hypothesis-generated
units.  Skipped when zen-engine (the ``bench`` extra) is not installed.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import kaohe_rules
from kaohe_rules.testing.strategies import units

zen = pytest.importorskip("zen", reason="zen-engine (pip install -e '.[bench]') is not installed")
if not hasattr(zen, "ZenEngine"):  # some other module named zen (a folder on sys.path), not zen-engine
    pytest.skip("zen-engine (pip install -e '.[bench]') is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import seed_core_baseline  # noqa: E402
import synthetic  # noqa: E402
import zen_seed_core  # noqa: E402
from test_seed_core_baseline import boundary_units, edge_units  # noqa: E402

POLICY = kaohe_rules.load(ROOT / "benchmarks" / "seed-core.kh")
DECISION = zen_seed_core.load_decision()


def _plain(items: list[Any]) -> list[Any]:
    """Evidence as JSON values (what zen returns: the accident records, read back from JSON)."""
    return [json.loads(zen_seed_core.zen_input({"id": "", "category": "", "facts": item}))["facts"] for item in items]


def _view(raw: tuple[Any, ...], plain: bool) -> tuple[Any, ...]:
    score, sections, targets, vetoes, deferred, band, rating, money = raw
    evidence = _plain if plain else (lambda items: items)
    return (score, sections, targets, [(name, evidence(items)) for name, items in vetoes], evidence(deferred),
            band, rating, money)


def _agree(unit: dict[str, Any]) -> tuple[Any, ...]:
    expected = _view(seed_core_baseline.assess(unit), plain=True)
    actual = _view(zen_seed_core.assess(DECISION, zen_seed_core.zen_input(unit)), plain=False)
    assert actual == expected, unit
    return expected


def test_agrees_on_the_benchmark_workload() -> None:
    seen: set[object] = set()
    for unit in synthetic.seed_core_units(POLICY, 600, seed=2013):
        view = _agree(unit)
        seen.add(view[6])
        seen.update(name for name, _ in view[3])
        if view[4]:
            seen.add("deferred")
    assert {"优秀", "良好", "合格", "不合格", "较大以上事故", "瞒报谎报", "突破指标", "重大社会影响", "deferred"} <= seen


def test_agrees_at_every_boundary() -> None:
    """Band edges and 0.1 below, halves of a fen on every share, losses beyond their section, every accident
    shape under every 责任书 indicator (the cases tests/project/test_seed_core_baseline.py checks the engine on)."""
    for unit in boundary_units():
        _agree(unit)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(units(POLICY, max_list=4))
def test_agrees_on_hypothesis_generated_units(unit: dict[str, Any]) -> None:
    _agree(unit)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # ~15 ms to draw each
@given(edge_units())
def test_agrees_at_the_edges(unit: dict[str, Any]) -> None:
    _agree(unit)


def test_the_graph_uses_tables_and_expressions_only() -> None:
    """The graph is declarative JDM: decision tables and expression nodes, no function (JavaScript) node."""
    graph = json.loads(zen_seed_core.GRAPH.read_text(encoding="utf-8"))
    kinds = {node["type"] for node in graph["nodes"]}
    assert kinds == {"inputNode", "decisionTableNode", "expressionNode", "outputNode"}


def test_money_leaves_the_graph_exactly() -> None:
    """六(三) to the fen half up: 1234.565 gives 1234.57, 370.37, 246.91 and the rest 1358.03, as decimals."""
    unit = {"id": "r", "category": "部门企业",
            "facts": {"考核细则扣分": 0, "日常督查扣分": 0, "控制指标扣分": 0, "奖励金额": Decimal("1234.565")}}
    total, items = zen_seed_core.assess(DECISION, zen_seed_core.zen_input(unit))[7]
    assert dict(items) == {"全额兑现": Decimal("1234.57"), "追加奖励": Decimal("370.37"),
                           "签订人": Decimal("246.91"), "有关人员": Decimal("1358.03")}
    assert total == Decimal("1604.94")


def test_the_engine_s_own_clock_is_read() -> None:
    """The benchmark separates zen's own evaluation time from the Python binding's call: the field parses."""
    texts = [zen_seed_core.zen_input(unit) for unit in synthetic.seed_core_units(POLICY, 5, seed=1)]
    assert 0 < zen_seed_core.internal_us(DECISION, texts) < 1e6
