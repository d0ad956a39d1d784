"""The columnar compiler against the per-unit evaluator (issue #13): the same results, cell by cell.

Units are drawn by hypothesis from what each policy declares (``kaohe_rules.testing.strategies``), read into
canonical columns by the reference reader, assessed by the compiled expressions, and compared with
``ResultColumns.row(policy.evaluate(unit))`` — every row the compiler answers must equal it exactly
(``differences == []``), and every row the per-unit evaluator refuses must be one the compiler sends per
unit.  Which policies are fully vectorised is asserted too, so a construct that silently regresses to the
per-unit fallback fails here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.columnar import differences, result_columns
from kaohe_rules.columnar.canonical import reference_canonical
from kaohe_rules.columnar.compiler import compile_checked
from kaohe_rules.testing.strategies import units

ROOT = Path(__file__).resolve().parents[2]
SEED_CORE = ROOT / "benchmarks" / "seed-core.kh"
KARAMAY = ROOT / "policies" / "karamay-2013.kh"

#: policy file -> whether the compiler vectorises every category of it (a regression to fallback fails)
VECTORISED = {
    "benchmarks/seed-core.kh": True,
    "policies/karamay-2013.kh": True,
    "policies/karamay-2014.kh": True,
    "policies/bijie-2011.kh": True,
}

_POLICIES: dict[str, kaohe_rules.Policy] = {}


def _policy(path: str) -> kaohe_rules.Policy:
    if path not in _POLICIES:
        _POLICIES[path] = kaohe_rules.load(ROOT / path)
    return _POLICIES[path]


def compare(policy: kaohe_rules.Policy, batch: list[Mapping[str, Any]]) -> None:
    """Assess ``batch`` both ways; the compiled rows equal the reference rows, refused units go per unit."""
    program = policy.columnar_program()
    columns = result_columns(policy.checked)
    units_ = [dict(u, id=f"u{i}") for i, u in enumerate(batch)]
    canonical = reference_canonical(policy.checked, policy.assess_row, units_)
    results, per_unit = program.assess(canonical)
    assert results.columns == list(columns.names) and results.height == len(units_)
    assert results.schema == pl.Schema(columns.schema())
    answered: list[int] = []
    expected_rows = []
    for index, unit in enumerate(units_):
        try:
            result = policy.evaluate(unit)
        except kaohe_rules.KaoheError:
            assert per_unit[index] or not canonical.clean[index], f"refused unit {unit} answered columnar"
            continue
        if per_unit[index] or not canonical.clean[index]:
            continue
        answered.append(index)
        expected_rows.append(columns.row(result, engine="columnar"))
    expected = columns.frame(expected_rows)
    actual = results[answered] if answered else results.clear()
    assert differences(expected, actual) == []


def _check_vectorised(path: str) -> kaohe_rules.Policy:
    policy = _policy(path)
    support = policy.columnar_program().support
    assert support.vectorised is VECTORISED[path], support.message()
    return policy


@pytest.mark.parametrize("path", sorted(VECTORISED))
def test_which_policies_are_fully_vectorised(path: str) -> None:
    _check_vectorised(path)


_FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                 phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.parametrize("path", ["benchmarks/seed-core.kh", "policies/karamay-2013.kh", "policies/karamay-2014.kh",
                                  "policies/bijie-2011.kh"])
def test_generated_units_agree(path: str) -> None:
    policy = _check_vectorised(path)

    @_FAST
    @given(st.lists(units(policy), min_size=1, max_size=12))
    def run(batch: list[dict[str, Any]]) -> None:
        compare(policy, batch)

    run()


def test_evaluate_table_is_columnar_for_seed_core_and_equals_evaluate() -> None:
    policy = _policy("benchmarks/seed-core.kh")
    accident = {"简况": "x", "类型": "道路交通", "死亡人数": 3, "异地车辆": True, "瞒报": False, "谎报": False,
                "重大社会影响": True}
    table = pl.DataFrame({
        "id": ["a", "b", "c", "d"],
        "category": ["区政府", "部门企业", "区政府", "部门企业"],
        "考核细则扣分": [Decimal("12.5"), Decimal("0"), Decimal("450"), Decimal("0.0001")],
        "日常督查扣分": [Decimal("0"), Decimal("3"), Decimal("0"), Decimal("0")],
        "控制指标扣分": [Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0")],
        "奖励金额": [Decimal("10000.05"), Decimal("5000.03"), Decimal("1.01"), Decimal("0.07")],
        "死亡人数控制指标": [None, 0, 5, None],
        "事故": [[accident], [], [dict(accident, 异地车辆=False, 死亡人数=1)], []],
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error", kaohe_rules.ColumnarFallbackWarning)
        out = policy.evaluate_table(table)
    assert out["engine"].to_list() == ["columnar"] * 4
    columns = result_columns(policy.checked)
    from kaohe_rules.columnar.frames import units_of

    expected = columns.frame(columns.row(policy.evaluate(u), engine="columnar") for u in units_of(table))
    assert differences(expected, out) == []
    assert out["deferred:异地车辆较大事故"][0] == 1 and out["veto:重大社会影响"][0] is True


def test_rounding_to_the_fen_half_up_and_rest_shares() -> None:
    """六(三): 30% and 20% of amounts that land on half a fen, rounded half up; the rest share is the rest."""
    policy = _policy("benchmarks/seed-core.kh")
    batch = [{"category": "部门企业", "facts": {"考核细则扣分": 0, "日常督查扣分": 0, "控制指标扣分": 0,
                                            "奖励金额": Decimal(amount)}}
             for amount in ("0.05", "0.15", "0.25", "1.35", "99999.95", "0.0001", "12345678901.2345")]
    compare(policy, batch)


def test_band_edges_inclusive_and_exclusive() -> None:
    policy = _policy("benchmarks/seed-core.kh")
    batch = [{"category": "区政府", "facts": {"考核细则扣分": Decimal(loss), "日常督查扣分": 0, "控制指标扣分": 0,
                                           "奖励金额": 100}}
             for loss in ("100", "99.9999", "100.0001", "150", "200", "199.9999", "400", "0", "600", "1000")]
    compare(policy, batch)


def test_a_fact_beyond_the_limit_goes_per_unit() -> None:
    policy = _policy("benchmarks/seed-core.kh")
    units_ = [{"id": "big", "category": "区政府", "facts": {"考核细则扣分": Decimal(10) ** 16, "日常督查扣分": 0,
                                                          "控制指标扣分": 0, "奖励金额": 100}}]
    canonical = reference_canonical(policy.checked, policy.assess_row, units_)
    _, per_unit = policy.columnar_program().assess(canonical)
    assert per_unit.to_list() == [True]


def test_unsupported_constructs_are_named_with_place_and_categories() -> None:
    policy = kaohe_rules.load(ROOT / "policies" / "zunyi-2010.kh")
    support = compile_checked(policy.checked).support
    assert not support.vectorised
    assert any("zunyi-2010.kh:" in str(f) for f in support.fallbacks), support.message()
