"""The visitors cover every node class: a new node without a visit_ method fails here and in mypy."""

from __future__ import annotations

import typing

import pytest

from kaohe_rules.language import ast
from kaohe_rules.language.visitor import DeclVisitor, ExprVisitor


@pytest.mark.parametrize(("base", "union"), [(ExprVisitor, ast.Expr), (DeclVisitor, ast.Decl)])
def test_one_abstract_visit_method_per_node_class(base: type, union: object) -> None:
    classes = typing.get_args(union)
    abstract = {name for name in base.__abstractmethods__}  # type: ignore[attr-defined]
    assert abstract == {f"visit_{c.__name__}" for c in classes}


def test_a_visitor_missing_a_node_cannot_be_made() -> None:
    class Partial(ExprVisitor[int]):
        def visit_Number(self, node: ast.Number) -> int:
            return 1

    with pytest.raises(TypeError, match="abstract"):
        Partial()  # type: ignore[abstract]


def test_nodes_hash_by_identity_and_shape_ignores_spans() -> None:
    from kaohe_rules.source import SourceFile, Span

    a = ast.Name(ident="x", span=Span(SourceFile("a", "x"), 1, 1, 1, 2))
    b = ast.Name(ident="x", span=Span(SourceFile("b", " x"), 1, 2, 1, 3))
    assert a != b and len({a, b}) == 2
    assert ast.shape(a) == ast.shape(b)


def test_rule_classes_keep_the_kind_names_of_outputs() -> None:
    assert ast.RULE_KINDS == ("full", "deduct_when", "deduct_unless", "deduct_per", "deduct", "proportional", "score",
                              "add_when", "add_unless", "add_per", "add")
    assert set(typing.get_args(ast.Rule)) == set(ast.RULE_CLASSES)
