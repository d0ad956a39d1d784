"""The compiled evaluator: generated source turned into callable functions.

The source comes only from :mod:`kaohe_rules.compiler`, which writes it from
the checked AST with generated identifiers; policy text reaches the module
only as values in its constants table.  The module runs with a restricted set
of builtins, so even a compiler bug cannot reach ``open`` or ``__import__``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..cache import compile_source
from ..compiler import CompiledSource
from .helpers import HELPERS, SAFE_BUILTINS

RawResult = tuple[Any, ...]
EvalFunction = Callable[[dict[str, object], Any], RawResult]


class CompiledModule:
    """The functions of one compiled policy, by category."""

    def __init__(self, compiled: CompiledSource) -> None:
        namespace: dict[str, Any] = {"__builtins__": dict(SAFE_BUILTINS), "__name__": "kaohe_generated"}
        namespace.update(HELPERS)
        namespace.update(compiled.constants)
        code = compile_source(compiled.source, "<kaohe-generated>")  # from the disk cache when it is on
        exec(code, namespace)  # noqa: S102 - source generated from the checked AST only
        self.source = compiled.source
        self.plain: dict[str, EvalFunction] = {}
        self.traced: dict[str, EvalFunction] = {}
        for category, (plain, traced) in compiled.functions.items():
            self.plain[category] = namespace[plain]
            self.traced[category] = namespace[traced]
        self.derive: dict[str, Callable[[dict[str, object]], object]] = {
            record: namespace[fname] for record, fname in compiled.derive.items()
        }
        self.section_order = compiled.section_order
