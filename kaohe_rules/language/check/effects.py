"""The effects pass: vetoes (一票否决), and later the other rating effects.

A veto's condition is typed for the categories it applies to; ``on LIST where C``
types C with the list's item in scope.  Exceptions are typed in the veto's scope.
Rating effects to come (downgrade a band, cap at a rating, zero the score) are
generalised vetoes and belong here.
"""

from __future__ import annotations

import attrs

from .. import ast
from ..keywords import NAMES_READ_AS_KEYWORDS
from ..types import ERROR
from .api import Context, Scope
from .diagnostics import name_of


def check_vetoes(ctx: Context) -> None:
    """The pass: each veto's list, condition and exceptions; what it reads."""
    for veto in ctx.sym.vetoes:
        _veto(ctx, veto)


def _veto(ctx: Context, veto: ast.VetoDecl) -> None:
    diag, exprs = ctx.diag, ctx.exprs
    if veto.name in NAMES_READ_AS_KEYWORDS:
        diag.error("K170", f"'{veto.name}' is a keyword in expressions and cannot name a veto", veto.span)
    cats = ctx.category_refs(veto.categories, veto.span, f"veto '{veto.name}'")
    scope = Scope(categories=cats)
    ctx.reading.append(set())
    if veto.on_list is not None:
        ltype = exprs.expr(veto.on_list, scope)
        if not ltype.is_error and (ltype.kind != "list" or ltype.elem is None):
            diag.error("K103", f"'on' needs a list, and '{name_of(veto.on_list)}' is {ltype.describe()}",
                       veto.on_list.span)
            ltype = ERROR
        diag.expect_required(ltype, veto.on_list)
        item_scope = attrs.evolve(scope, items=(ltype.elem,)) if ltype.elem is not None else scope
        ctype = exprs.expr(veto.condition, item_scope) if not ltype.is_error else ERROR
    else:
        ctype = exprs.expr(veto.condition, scope)
    diag.expect_bool(ctype, veto.condition, f"the condition of veto '{veto.name}'")
    if isinstance(veto.condition, ast.BoolLit):
        diag.warn("K161", f"veto '{veto.name}' is always {'on' if veto.condition.value else 'off'}",
                  veto.condition.span)
    for exc in veto.exceptions:
        etype = exprs.expr(exc.condition, scope)
        diag.expect_bool(etype, exc.condition, "the exception's condition")
    ctx.reads[veto] = tuple(sorted(ctx.reading.pop()))
