"""zen-engine (GoRules, Rust) running benchmarks/seed-core.kh's rules as a JSON decision graph (issue #13).

benchmarks/zen-graphs/seed-core.json is a JDM decision graph of exactly the rules of
benchmarks/seed-core.kh and benchmarks/seed_core_baseline.py — written with decision
tables and expression nodes only (no function node, no JavaScript):

=====================  ===================  ==================================================================
node                   kind                 rule
=====================  ===================  ==================================================================
四(二) 分值            decision table       each category's section points (考核细则, 日常督查, 控制指标)
四(二) 扣分            expression           each section loses its recorded points, never below 0; the score
一, 四(二)1            expression           异地车辆较大道路交通事故 deferred; deaths and fatal accidents counted
四(二)4 一票否决       expression           the four vetoes with their evidence, in the policy's order
四(三) 评定标准        decision table       bands by category and score, lower bound included (含本级)
六(三) 金额            expression           rating (vetoed → 不合格), the 责任书 amount, each share to the fen
六(三) 奖惩            decision table       the rewards, fines and shares of each rating (其余部分 = the rest)
结果                   expression           what a user reads, in the baseline's order
=====================  ===================  ==================================================================

Why this is a fair contender: zen-engine evaluates exact decimals (rust_decimal; its
``round`` rounds half away from zero, which is half up for these non-negative amounts)
and reads the same unit mapping the engine and the baseline read, ``"120万元"`` money
spellings included.  Its Python binding takes the context as a dict of JSON types or as
JSON text; a ``Decimal`` is not accepted, so :func:`zen_input` writes each unit as JSON
text once, before any timing (as the baseline's units are parsed before timing), with
every ``Decimal`` written digit for digit.  The binding returns numbers as Python
``float``/``int``, so money amounts leave the graph as strings (``string(...)``: exact)
and points, which have at most a few decimals here, are read back by ``Decimal(str(x))``.

``assess(decision, text)`` returns the baseline's tuple shape
``(score, sections, targets, vetoes, deferred, band, rating, money)`` so that the
agreement test (tests/project/test_zen_seed_core.py) compares the two directly.
"""

from __future__ import annotations

import json
import re
import statistics
from decimal import Decimal
from pathlib import Path
from typing import Any

GRAPH = Path(__file__).resolve().parent / "zen-graphs" / "seed-core.json"  # not "zen/": a folder named zen on sys.path would shadow the zen-engine module


def available() -> bool:
    """True when the ``zen-engine`` package (the ``bench`` extra) is installed."""
    try:
        import zen  # noqa: F401
    except ImportError:
        return False
    return True


def load_decision() -> Any:
    """The compiled decision of benchmarks/zen-graphs/seed-core.json (zen-engine must be installed)."""
    import zen

    return zen.ZenEngine().create_decision(GRAPH.read_text(encoding="utf-8"))


def _json(value: Any) -> str:
    """JSON text of a unit's value; a Decimal is written exactly (fixed point), never through a float."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    raise TypeError(f"zen input: cannot write {type(value).__name__} {value!r} as JSON")


def zen_input(unit: dict[str, Any]) -> str:
    """The zen context of one unit: ``{"id", "category", "facts"}`` as JSON text."""
    return _json({"id": unit["id"], "category": unit["category"], "facts": unit["facts"]})


def _number(value: Any) -> Decimal:
    return Decimal(str(value))


def assess(decision: Any, text: str) -> tuple[Any, ...]:
    """Evaluate one unit's context; the result in the baseline's tuple shape (see the module doc)."""
    out = decision.evaluate(text)["result"]
    return (
        _number(out["score"]),
        tuple(_number(x) for x in out["sections"]),
        tuple(_number(x) for x in out["targets"]),
        [(v["name"], v["evidence"]) for v in out["vetoes"]],
        out["deferred"],
        out["band"],
        out["rating"],
        (Decimal(out["total"]),
         tuple((item["name"], None if item["amount"] is None else Decimal(item["amount"])) for item in out["items"])),
    )


_PERFORMANCE = re.compile(r"([0-9.]+)\s*(ns|µs|us|ms|s)$")
_UNIT_US = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}


def internal_us(decision: Any, texts: list[str]) -> float:
    """The median of zen-engine's own evaluation time (the ``performance`` field it returns, e.g. "46.0µs"),
    in µs per unit: the engine without the Python binding's call (one untimed pass over ``texts``)."""
    values = []
    for text in texts:
        performance = str(decision.evaluate(text)["performance"]).strip()
        match = _PERFORMANCE.match(performance)
        if match is None:
            raise ValueError(f"zen-engine's performance field is not a duration: {performance!r}")
        values.append(float(match[1]) * _UNIT_US[match[2]])
    return statistics.median(values)
