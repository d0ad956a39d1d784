"""Typed visitors over the AST: one abstract method per node class.

Every stage that handles every expression (checker, constant folder, compiler,
interpreter, formatter) subclasses :class:`ExprVisitor` and so must define a
``visit_<ClassName>`` method for each expression class: a new node class gets an
abstract method here, and ``mypy --strict`` then reports every visitor that
lacks it ("Cannot instantiate abstract class ... with abstract attribute
visit_X") — the stage that forgot the new construct is named before any test
runs (mypy's ``ExpressionVisitor`` shape).  :class:`DeclVisitor` does the same
for declarations.

Dispatch is a per-class table built once per visitor subclass, not an
``isinstance`` chain: ``visit(node)`` is a dict lookup on ``type(node)`` and a
call.  ``tests`` check that the tables cover ``ast.Expr`` and ``ast.Decl``.
"""

from __future__ import annotations

import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from . import ast

T = TypeVar("T")

EXPR_CLASSES: tuple[type, ...] = typing.get_args(ast.Expr)
DECL_CLASSES: tuple[type, ...] = typing.get_args(ast.Decl)


def _dispatch_table(cls: type, classes: tuple[type, ...]) -> dict[type, Callable[[Any, Any], Any]]:
    return {node: getattr(cls, f"visit_{node.__name__}") for node in classes}


class ExprVisitor(ABC, Generic[T]):
    """Base of every stage that turns an expression into a ``T``."""

    _expr_table: ClassVar[dict[type, Callable[[Any, Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._expr_table = _dispatch_table(cls, EXPR_CLASSES)

    def visit(self, node: ast.Expr) -> T:
        """Call the ``visit_<ClassName>`` method for ``node``."""
        result: T = self._expr_table[node.__class__](self, node)
        return result

    @abstractmethod
    def visit_Number(self, node: ast.Number) -> T: ...
    @abstractmethod
    def visit_MoneyLit(self, node: ast.MoneyLit) -> T: ...
    @abstractmethod
    def visit_PercentLit(self, node: ast.PercentLit) -> T: ...
    @abstractmethod
    def visit_DateLit(self, node: ast.DateLit) -> T: ...
    @abstractmethod
    def visit_TextLit(self, node: ast.TextLit) -> T: ...
    @abstractmethod
    def visit_BoolLit(self, node: ast.BoolLit) -> T: ...
    @abstractmethod
    def visit_NoneLit(self, node: ast.NoneLit) -> T: ...
    @abstractmethod
    def visit_EmptyList(self, node: ast.EmptyList) -> T: ...
    @abstractmethod
    def visit_It(self, node: ast.It) -> T: ...
    @abstractmethod
    def visit_Name(self, node: ast.Name) -> T: ...
    @abstractmethod
    def visit_Member(self, node: ast.Member) -> T: ...
    @abstractmethod
    def visit_Neg(self, node: ast.Neg) -> T: ...
    @abstractmethod
    def visit_Binary(self, node: ast.Binary) -> T: ...
    @abstractmethod
    def visit_Compare(self, node: ast.Compare) -> T: ...
    @abstractmethod
    def visit_InRange(self, node: ast.InRange) -> T: ...
    @abstractmethod
    def visit_And(self, node: ast.And) -> T: ...
    @abstractmethod
    def visit_Or(self, node: ast.Or) -> T: ...
    @abstractmethod
    def visit_Not(self, node: ast.Not) -> T: ...
    @abstractmethod
    def visit_If(self, node: ast.If) -> T: ...
    @abstractmethod
    def visit_IsSet(self, node: ast.IsSet) -> T: ...
    @abstractmethod
    def visit_Coalesce(self, node: ast.Coalesce) -> T: ...
    @abstractmethod
    def visit_Call(self, node: ast.Call) -> T: ...
    @abstractmethod
    def visit_Aggregate(self, node: ast.Aggregate) -> T: ...
    @abstractmethod
    def visit_Extremum(self, node: ast.Extremum) -> T: ...
    @abstractmethod
    def visit_ListLit(self, node: ast.ListLit) -> T: ...  # issue #16
    @abstractmethod
    def visit_InList(self, node: ast.InList) -> T: ...  # issue #16


class DeclVisitor(ABC, Generic[T]):
    """Base of every stage that handles each kind of declaration."""

    _decl_table: ClassVar[dict[type, Callable[[Any, Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._decl_table = _dispatch_table(cls, DECL_CLASSES)

    def visit_decl(self, node: ast.Decl) -> T:
        """Call the ``visit_<ClassName>`` method for ``node``."""
        result: T = self._decl_table[node.__class__](self, node)
        return result

    @abstractmethod
    def visit_Checkpoint(self, node: ast.Checkpoint) -> T: ...
    @abstractmethod
    def visit_Category(self, node: ast.Category) -> T: ...
    @abstractmethod
    def visit_EnumDecl(self, node: ast.EnumDecl) -> T: ...
    @abstractmethod
    def visit_RecordDecl(self, node: ast.RecordDecl) -> T: ...
    @abstractmethod
    def visit_FactDecl(self, node: ast.FactDecl) -> T: ...
    @abstractmethod
    def visit_ParamDecl(self, node: ast.ParamDecl) -> T: ...
    @abstractmethod
    def visit_LetDecl(self, node: ast.LetDecl) -> T: ...
    @abstractmethod
    def visit_DeferDecl(self, node: ast.DeferDecl) -> T: ...
    @abstractmethod
    def visit_TargetDecl(self, node: ast.TargetDecl) -> T: ...
    @abstractmethod
    def visit_VetoDecl(self, node: ast.VetoDecl) -> T: ...
    @abstractmethod
    def visit_RatingsDecl(self, node: ast.RatingsDecl) -> T: ...
    @abstractmethod
    def visit_BandsDecl(self, node: ast.BandsDecl) -> T: ...
    @abstractmethod
    def visit_OutcomeDecl(self, node: ast.OutcomeDecl) -> T: ...
    @abstractmethod
    def visit_PeriodsDecl(self, node: ast.PeriodsDecl) -> T: ...  # issue #11 P
    @abstractmethod
    def visit_CohortDecl(self, node: ast.CohortDecl) -> T: ...
    @abstractmethod
    def visit_LedgerDecl(self, node: ast.LedgerDecl) -> T: ...  # issue #16
    @abstractmethod
    def visit_MapDecl(self, node: ast.MapDecl) -> T: ...  # issue #16
