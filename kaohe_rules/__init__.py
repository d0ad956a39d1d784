"""kaohe_rules — a rules engine for points-based assessments (目标管理考核).

The public surface is small::

    import kaohe_rules
    policy = kaohe_rules.load("policies/karamay-2013.kh")
    result = policy.evaluate({"id": "dsz", "category": "区政府", "facts": {...}})
    result.score, result.rating, result.vetoes, result.consequences, result.explain()

Imports are lazy so ``import kaohe_rules`` stays cheap: Lark and the compiler
load on the first ``load``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    CohortRequired,
    ColumnarFallbackWarning,
    Diagnostic,
    EvaluationError,
    FactError,
    FactProblem,
    KaoheError,
    LedgerRequired,
    PolicyError,
    UnitInputError,
)

__all__ = [
    "BatchItem",
    "CohortRequired",
    "ColumnarFallbackWarning",
    "LedgerRequired",
    "Diagnostic",
    "EvaluationError",
    "FactError",
    "FactProblem",
    "KaoheError",
    "Policy",
    "PolicyError",
    "Result",
    "UnitInputError",
    "__version__",
    "load",
    "trace_schema",
]

if TYPE_CHECKING:
    from .policy import BatchItem, Policy, load
    from .runtime.result import Result


def trace_schema() -> dict[str, Any]:
    """The JSON Schema of the stable trace document (``docs/trace-schema.json``, shipped in the wheel).

    ``jsonschema.validate(json.loads(trace_text), kaohe_rules.trace_schema())`` checks a stored
    trace's shape with any JSON Schema 2020-12 validator; ``kaohe replay`` checks its meaning.
    """
    from .grammar_file import trace_schema as shipped

    return shipped()


def __getattr__(name: str) -> Any:
    if name in ("load", "Policy", "BatchItem"):
        from . import policy

        return getattr(policy, name)
    if name == "Result":
        from .runtime.result import Result

        return Result
    raise AttributeError(f"module 'kaohe_rules' has no attribute {name!r}")
