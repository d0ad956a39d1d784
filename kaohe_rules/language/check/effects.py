"""The effects pass: vetoes (一票否决), their rating effects, and band qualification.

Bands and rating effects live here (issue #10 A3): everything that decides the rating
after the score is known.  A veto's condition is typed for the categories it applies
to; ``on LIST where C`` types C with the list's item in scope.  Exceptions are typed in
the veto's scope.  All of it is in the post-scoring stage (``Scope.stage == "post"``):
it may read ``score`` and ``score(X)`` (see ``scores.py``).

* ``then rating R`` / ``then cap R`` name a rating (K125 otherwise);
* ``then downgrade N``: N a positive whole-number constant (K203);
* ``then score E``: E a number (points);
* ``BAND requires COND``: COND a condition; the lowest band of a category has no band to
  fall to, so it cannot require anything (K204).

The order in which the effects apply is documented in docs/language.md ("Order of
application") and implemented alike by the code generator and the reference interpreter.
"""

from __future__ import annotations

from .. import ast
from ..keywords import NAMES_READ_AS_KEYWORDS
from ..model import BandInfo
from ..types import ERROR, NUMERIC
from .api import Context, Scope, as_decimal
from .diagnostics import did_you_mean, name_of


def check_vetoes(ctx: Context) -> None:
    """The pass: each veto's list, condition and exceptions; what it reads."""
    for veto in ctx.sym.vetoes:
        _veto(ctx, veto)


def _veto(ctx: Context, veto: ast.VetoDecl) -> None:
    diag, exprs = ctx.diag, ctx.exprs
    if veto.name in NAMES_READ_AS_KEYWORDS:
        diag.error("K170", f"'{veto.name}' is a keyword in expressions and cannot name a veto", veto.span)
    cats = ctx.category_refs(veto.categories, veto.span, f"veto '{veto.name}'")
    scope = Scope(categories=cats, stage="post")
    ctx.reading.append(set())
    if veto.on_list is not None:
        ltype = exprs.expr(veto.on_list, scope)
        if not ltype.is_error and (ltype.kind != "list" or ltype.elem is None):
            diag.error("K103", f"'on' needs a list, and '{name_of(veto.on_list)}' is {ltype.describe()}",
                       veto.on_list.span)
            ltype = ERROR
        diag.expect_required(ltype, veto.on_list)
        item_scope = (exprs.item_scope(scope, ltype.elem, veto.on_name, veto.span) if ltype.elem is not None
                      else scope)  # ``on L as NAME``: the item named (issue #10 C)
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
    if veto.effect is not None:
        _effect(ctx, veto, veto.effect, scope)
    ctx.reads[veto] = tuple(sorted(ctx.reading.pop()))


def _effect(ctx: Context, veto: ast.VetoDecl, effect: ast.VetoEffect, scope: Scope) -> None:
    """``then rating R`` / ``cap R`` / ``downgrade N`` / ``score E`` of one veto."""
    diag = ctx.diag
    if effect.rating is not None:
        names = ctx.sym.rating_names()
        if names and effect.rating not in names:
            diag.error("K125", f"veto '{veto.name}' names unknown rating '{effect.rating}'", effect.span,
                       hint=did_you_mean(effect.rating, names))
        return
    assert effect.amount is not None
    if effect.kind == "downgrade":
        if not isinstance(effect.amount, (ast.Number, ast.Name)):
            diag.error("K203", f"veto '{veto.name}' downgrades by an expression: write a whole number or a param",
                       effect.amount.span, hint="write e.g. 'then downgrade 1' (降低一个等次)")
            return
        value = ctx.consts.const(effect.amount, "the number of bands to downgrade")
        if value is None:
            return
        steps = as_decimal(value)
        if isinstance(value, bool) or steps is None or steps != steps.to_integral_value() or steps < 1:
            diag.error("K203", f"veto '{veto.name}' downgrades by {value}: the number of bands is a whole number, "
                       "at least 1", effect.amount.span, hint="write e.g. 'then downgrade 1' (降低一个等次)")
        return
    t = ctx.exprs.expr(effect.amount, scope)
    if t.is_error:
        return
    diag.expect_required(t, effect.amount)
    if t.kind not in NUMERIC:
        diag.error("K103", f"'then score' sets the score, a number of points, not {t.describe()}", effect.amount.span)


def check_band_requires(ctx: Context, band_infos: dict[str, tuple[BandInfo, ...]]) -> None:
    """The pass: each band's ``requires`` condition, in the post-scoring stage of its category."""
    for category, decl in ctx.sym.bands.items():
        if category not in ctx.sym.categories:
            continue
        infos = band_infos.get(category, ())
        lowest = infos[0].rating if infos else None
        for band in decl.bands:
            if band.requires is None:
                continue
            ctx.reading.append(set())
            t = ctx.exprs.expr(band.requires, Scope(categories=frozenset({category}), stage="post"))
            ctx.reads[band] = tuple(sorted(ctx.reading.pop()))
            ctx.diag.expect_bool(t, band.requires, f"the requirement of band '{band.rating}'")
            if band.rating == lowest:
                ctx.diag.error("K204", f"band '{band.rating}' of '{category}' is the lowest: a unit that fails "
                               "its requirement has no lower band to fall to", band.requires.span,
                               hint="remove 'requires', or require it of a better band")
