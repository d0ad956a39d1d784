"""Synthetic inputs for the benchmarks: realistic units for any policy, and policies of any size.

Units are generated from the policy's own fact declarations (so a change to the
policy does not break the generator) in the *canonical JSON spellings* — booleans,
numbers as ``int``/``Decimal``, ISO date strings, enum member names — which both the
engine and the hand-written baseline read.  Values are biased towards the realistic
(most duties done, rates near 100%, few accidents) while still reaching every
branch: absent optional facts, late reports, out-of-area accidents, vetoes.

``growth_policy(targets=N)`` and ``list_units(items=N)`` build the inputs of the
growth curves in docs/performance.md.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from kaohe_rules.language.abi import MISSING

YEAR_START = datetime.date(2013, 1, 1)


def _value(rng: random.Random, policy: Any, t: Any, bounds: Any, name: str) -> Any:
    kind = t.kind
    if kind == "bool":
        return rng.random() < 0.85
    if kind == "int":
        low, high = _int_range(bounds)
        if "数" in name and high >= 50:  # counts such as 新增消火栓数: around their targets
            return rng.randint(low, min(high, 60))
        return rng.randint(low, min(high, low + 6))
    if kind == "percent":
        roll = rng.random()
        if roll < 0.7:
            return 100
        if roll < 0.85:
            return rng.randint(80, 99)
        return Decimal(rng.randint(8000, 9999)) / 100
    if kind == "decimal":
        return Decimal(rng.randint(0, 50)) / 2 if rng.random() < 0.5 else rng.randint(0, 10)
    if kind == "money":
        roll = rng.random()
        if roll < 0.4:
            return rng.choice((50000, 100000, 200000, 1000000, 1200000))
        if roll < 0.6:
            return f"{rng.choice((80, 100, 120, 150))}万元"
        return Decimal(rng.randint(0, 300000000)) / 100
    if kind == "date":
        if "自查" in name:
            return (datetime.date(2013, 7, 1) + datetime.timedelta(days=rng.randint(0, 25))).isoformat()
        if "履职" in name:
            return (datetime.date(2013, 11, 10) + datetime.timedelta(days=rng.randint(0, 25))).isoformat()
        return (YEAR_START + datetime.timedelta(days=rng.randint(0, 364))).isoformat()
    if kind == "text":
        return f"文本{rng.randint(1, 999)}"
    if kind == "enum":
        members = policy.enums[t.name].members
        return rng.choice(members).name
    raise ValueError(kind)


def _int_range(bounds: Any) -> tuple[int, int]:
    low, high = 0, 10
    if bounds is not None:
        lo, hi, lo_closed, hi_closed = bounds
        if lo is not None:
            low = int(lo) + (0 if lo_closed else 1)
        if hi is not None:
            high = int(hi) - (0 if hi_closed else 1)
        elif lo is not None:
            high = max(low + 10, 10)
    return low, max(low, high)


def _record(rng: random.Random, policy: Any, rname: str) -> dict[str, Any]:
    decl = policy.records[rname]
    out: dict[str, Any] = {}
    for field in decl.fields:
        ftype = policy.record_fields[rname][field.name]
        bounds = policy.field_bounds.get((rname, field.name))
        if rname == "事故" and field.name == "类型" and rng.random() < 0.3:
            out[field.name] = "道路交通"
            continue
        if rname == "事故" and field.name == "异地车辆":
            out[field.name] = rng.random() < 0.3
            continue
        default = policy.field_defaults.get((rname, field.name))
        has_default = default is not None and default is not MISSING
        if ftype.kind == "bool" and has_default:
            if rng.random() < 0.04:
                out[field.name] = True
            elif rng.random() < 0.3:
                out[field.name] = False
            continue
        if ftype.optional and rng.random() < 0.2:
            continue
        if rname == "事故" and field.name == "死亡人数":
            out[field.name] = rng.choices((0, 1, 2, 3, 5, 10), (40, 35, 15, 6, 3, 1))[0]
            continue
        out[field.name] = _value(rng, policy, ftype.required(), bounds, field.name)
    return out


def unit(rng: random.Random, policy: Any, category: str, index: int, list_items: int | None = None) -> dict[str, Any]:
    """One unit of ``category`` with generated facts (``list_items`` forces every list's length)."""
    checked = policy.checked
    facts: dict[str, Any] = {}
    for name in checked.plans[category].facts:
        ftype = checked.fact_types[name]
        bounds = checked.fact_bounds.get(name)
        default = checked.fact_defaults.get(name)
        has_default = default is not None and default is not MISSING
        if ftype.kind == "list":
            count = list_items if list_items is not None else rng.choice((0, 0, 0, 1, 1, 2, 3))
            if count == 0 and has_default and rng.random() < 0.5:
                continue
            elem = ftype.elem
            if elem.kind == "record":
                facts[name] = [_record(rng, checked, elem.name) for _ in range(count)]
            else:
                facts[name] = [_value(rng, checked, elem, None, name) for _ in range(count)]
            continue
        if ftype.optional and rng.random() < 0.25:
            if rng.random() < 0.5:
                facts[name] = None
            continue
        facts[name] = _value(rng, checked, ftype.required(), bounds, name)
    return {"id": f"u{index}", "name": f"单位{index}", "category": category, "facts": facts}


def units(policy: Any, count: int, seed: int = 2013, list_items: int | None = None) -> Iterator[dict[str, Any]]:
    """``count`` units spread over the policy's categories, reproducibly from ``seed``."""
    rng = random.Random(seed)
    categories = list(policy.checked.plans)
    for index in range(count):
        yield unit(rng, policy, categories[index % len(categories)], index, list_items)


# ------------------------------------------------------------ growth inputs
def growth_policy(targets: int) -> str:
    """A policy with one category and ``targets`` targets (each reads one fact) — for the growth curve."""
    lines = [
        'policy 增长测试 "growth" { period 2013-01-01 .. 2013-12-31 }',
        f"category 单位 total {targets} {{ section 管理 {targets} }}",
    ]
    for i in range(targets):
        lines.append(f"fact 事项{i}: bool")
        lines.append(f"target 目标{i} in 单位.管理 points 1 {{ full when 事项{i} }}")
    lines += [
        "ratings { 优秀 良好 不合格 } vetoed 不合格",
        f"bands 单位 {{ 优秀 [{targets * 9 // 10}, {targets}] 良好 [{targets // 2}, {targets * 9 // 10}) "
        f"不合格 [0, {targets // 2}) }}",
    ]
    return "\n".join(lines) + "\n"


def growth_unit(targets: int, index: int = 0) -> dict[str, Any]:
    rng = random.Random(index)
    return {"id": f"g{index}", "category": "单位", "facts": {f"事项{i}": rng.random() < 0.9 for i in range(targets)}}


# ------------------------------------------------------- seed-core workload
#: the seed-core policy's point losses as fractions of their section's points (issue #13)
_SEED_CORE_POINTS = {"区政府": (400, 200, 400), "部门企业": (240, 120, 240)}


def seed_core_units(policy: Any, count: int, seed: int = 2013) -> Iterator[dict[str, Any]]:
    """``count`` units of benchmarks/seed-core.kh, reproducibly from ``seed``.

    The accidents, 责任书 indicators and 奖励金额 come from :func:`units` (realistic
    records, a few vetoes and out-of-area deferrals); the three point losses are
    redrawn so that the scores spread over every band — up to a quarter of the
    考核细则 points, a third of the 日常督查 points, and a 控制指标 loss that is
    mostly 0 and sometimes beyond the section's points (capped at 0).
    """
    rng = random.Random(seed ^ 0x5EED)
    for item in units(policy, count, seed=seed):
        rules, daily, control = _SEED_CORE_POINTS[item["category"]]
        facts = dict(item["facts"])
        facts["考核细则扣分"] = Decimal(rng.randint(0, rules * 10 // 4)) / 10
        facts["日常督查扣分"] = Decimal(rng.randint(0, daily * 2 // 3)) / 2 if rng.random() < 0.6 else rng.randint(0, 10)
        facts["控制指标扣分"] = control * rng.choices((0, 1, 5, 10, 30, 120), (55, 10, 15, 10, 7, 3))[0] // 100
        yield dict(item, facts=facts)
