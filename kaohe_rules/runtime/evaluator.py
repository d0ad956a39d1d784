"""The compiled evaluator: generated source turned into callable functions.

The source comes only from :mod:`kaohe_rules.codegen.compiler`, which writes it from
the checked AST with generated identifiers; policy text reaches the module
only as values in its constants table.  The module runs with a restricted set
of builtins, so even a compiler bug cannot reach ``open`` or ``__import__``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..cache import active as cache_active
from ..cache import compile_source
from ..codegen.compiler import CompiledSource
from ..codegen.ledgers import LedgerCode
from .helpers import HELPERS, SAFE_BUILTINS
from .ledger import LedgerSpec
from .ledger_specs import build_spec

RawResult = tuple[Any, ...]
EvalFunction = Callable[[dict[str, object], Any], RawResult]


class CompiledModule:
    """The functions of one compiled policy, by category."""

    def __init__(self, compiled: CompiledSource) -> None:
        namespace: dict[str, Any] = {"__builtins__": dict(SAFE_BUILTINS), "__name__": "kaohe_generated"}
        namespace.update(HELPERS)
        namespace.update(compiled.constants)
        code = compile_source(compiled.source, compiled.source_map.filename)  # from the disk cache when it is on
        exec(code, namespace)  # noqa: S102 - source generated from the checked AST only
        self.source = compiled.source + compiled.traced_source
        self.plain: dict[str, EvalFunction] = {}
        for category, (plain, _traced) in compiled.functions.items():
            self.plain[category] = namespace[plain]
        traced = _TracedFunctions(compiled, namespace)
        if cache_active():  # with the disk cache on, reading the code object is cheap: no compile() later
            traced.load()
        self.traced: Mapping[str, EvalFunction] = traced
        self.derive: dict[str, Callable[[dict[str, object]], object]] = {
            record: namespace[fname] for record, fname in compiled.derive.items()
        }
        self.section_order = compiled.section_order
        # generated line → policy clause: where an evaluation error happened (Policy reads them)
        self.source_map = compiled.source_map
        self.traced_map = compiled.traced_map
        # the aggregates the plain evaluators compute as loops: the fused fast functions do the same
        self.hoistable = compiled.hoistable
        self.constants = compiled.constants
        # the ledger declarations with their compiled attribution rules (issue #16); () without ledgers
        self.ledgers: tuple[LedgerSpec, ...] = tuple(_bind_ledger(code, namespace) for code in compiled.ledgers)


def _bind_ledger(code: LedgerCode, namespace: dict[str, Any]) -> LedgerSpec:
    """A ledger's spec with the generated functions of its rules (issue #16)."""
    rules = {id(plan): rule for plan, rule in zip(code.plan.rules, code.rules)}
    return build_spec(code.plan,
                      lambda plan: namespace[w] if (w := rules[id(plan)].when) is not None else None,
                      lambda plan, k: namespace[rules[id(plan)].joins[k]])


class _TracedFunctions(Mapping[str, EvalFunction]):
    """The traced evaluators, compiled into the module's namespace on first use.

    Most units are never traced (and compiling them is a third of a load); the traced
    code runs against the same namespace, so it sees the same constants and helpers.
    """

    def __init__(self, compiled: CompiledSource, namespace: dict[str, Any]) -> None:
        self._compiled = compiled
        self._namespace = namespace
        self._functions: dict[str, EvalFunction] | None = None
        self._lock = threading.Lock()

    def load(self) -> dict[str, EvalFunction]:
        with self._lock:
            if self._functions is None:
                compiled = self._compiled
                code = compile_source(compiled.traced_source, compiled.traced_map.filename)
                exec(code, self._namespace)  # noqa: S102 - source generated from the checked AST only
                self._functions = {category: self._namespace[traced]
                                   for category, (_plain, traced) in compiled.functions.items()}
            return self._functions

    def __getitem__(self, category: str) -> EvalFunction:
        functions = self._functions
        if functions is None:
            functions = self.load()
        return functions[category]

    def __iter__(self) -> Iterator[str]:
        return iter(self._compiled.functions)

    def __len__(self) -> int:
        return len(self._compiled.functions)
