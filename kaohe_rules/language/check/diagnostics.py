"""Collecting the checker's diagnostics, and the messages several passes share.

Every pass reports through one :class:`Collector`, so the driver can return all
problems of a policy at once (an author fixes a file best seeing all of them).
The ``expect_*`` helpers hold the messages for "this should be true/false", "this
should be a number" and "this may be absent", which the expression checker and
the declaration passes all need, word for word the same.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ...errors import Diagnostic
from ...source import Span
from .. import ast
from ..types import ERROR, NUMERIC, Type


def did_you_mean(name: str, options: Iterable[str]) -> str | None:
    """A hint naming the closest of ``options``, or None when nothing is close."""
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"did you mean '{match[0]}'?" if match else None


def name_of(e: ast.Expr) -> str:
    """How a message names an expression: its name, ``a.b``, ``f(x)`` — or "this value" when it is more."""
    if isinstance(e, ast.Name):
        return e.ident
    if isinstance(e, ast.Member):
        inner = name_of(e.obj)
        return "this value" if inner == "this value" else f"{inner}.{e.field}"
    if isinstance(e, ast.Call) and all(isinstance(a, ast.Name) for a in e.args):
        return f"{e.func}({', '.join(name_of(a) for a in e.args)})"
    return "this value"


def diagnostic_order(d: Diagnostic) -> tuple[int, str, int, int]:
    """Errors first, then by file and position (the order diagnostics are rendered in)."""
    return (0 if d.severity == "error" else 1, d.file or "", d.line or 0, d.column or 0)


class Collector:
    """Collects diagnostics; ``error`` returns ERROR so callers can recover and go on."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> Type:
        self.items.append(Diagnostic(code, message, span, hint))
        return ERROR

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, hint, severity="warning"))

    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    # ------------------------------------------------------- shared messages
    def type_mismatch(self, what: str, got: Type, expected: Type, expr: ast.Expr) -> None:
        hint = None
        if expected.kind == "money" and got.is_numeric and isinstance(expr, ast.Number):
            hint = f"write {expr.value}元 (or {expr.value / 10000}万元) for an amount of money"
        elif expected.kind == "percent" and got.is_numeric and isinstance(expr, ast.Number):
            hint = f"write {expr.value}% for a percentage"
        self.error("K103", f"{what} should be {expected.describe()} but is {got.describe()}", expr.span, hint=hint)

    def expect_points(self, t: Type, expr: ast.Expr, what: str) -> None:
        if t.is_error:
            return
        if t.required().kind not in NUMERIC:
            hint = "points are plain numbers" if t.kind in ("money", "percent") else None
            self.error("K103", f"{what} should be a number, not {t.describe()}", expr.span, hint=hint)

    def expect_bool(self, t: Type, expr: ast.Expr, what: str) -> None:
        if t.is_error:
            return
        if t.kind != "bool":
            self.error("K106", f"{what} should be true or false, not {t.describe()}", expr.span,
                       hint="compare it, e.g. x >= 1" if t.kind != "bool" else None)
        elif t.optional:
            self.optional_error(expr, t)

    def expect_required(self, t: Type, expr: ast.Expr) -> None:
        if t.optional and not t.is_error and t.kind != "none":
            self.optional_error(expr, t)

    def optional_error(self, expr: ast.Expr, t: Type | None = None) -> None:
        name = name_of(expr)
        fallback = {"list": "[]", "bool": "false", "money": "0元", "percent": "0%", "text": '""'}.get(
            t.kind if t is not None else "", "0")
        self.error("K105", f"'{name}' may be absent (none) here", expr.span,
                   hint=f"test it first ('{name} is set and ...') or give a fallback ('{name} ?? {fallback}')")
