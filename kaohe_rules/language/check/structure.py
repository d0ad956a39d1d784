"""The structure pass: categories and their sections, and the point budgets between them.

Section points are constants; the sections of a category must add up to its total
and subsections to their section (K110), and no points are negative (K116).  The
placeholders :func:`~.symbols.collect` filed are replaced by the checked
:class:`~kaohe_rules.language.model.CategoryInfo`.
"""

from __future__ import annotations

from decimal import Decimal

from .. import ast
from ..model import CategoryInfo, SectionInfo
from .api import Context, as_decimal


def check_categories(ctx: Context) -> None:
    """The pass: each category's total and section tree, in declaration order."""
    for name, decl in _category_decls(ctx).items():
        total = ctx.consts.const(decl.total, f"the total of category '{name}'")
        total_d = as_decimal(total)
        sections = tuple(_section(ctx, s, (), name) for s in decl.sections)
        names = [s.name for s in sections]
        for dup in {n for n in names if names.count(n) > 1}:
            ctx.diag.error("K100", f"category '{name}' has two sections named '{dup}'", decl.span)
        base = tuple(s for s in sections if not s.bonus)  # bonus sections (加分) are outside the total
        if total_d is not None and base and not any(s.periods for s in base):  # `only in`: per period (periods.py)
            total_sections = sum((s.points for s in base), Decimal(0))
            if total_sections != total_d:
                detail = " + ".join(f"{s.name} {s.points}" for s in base)
                ctx.diag.error("K110", f"the sections of '{name}' add up to {total_sections}, not its total {total_d}",
                               decl.span, hint=f"{detail} = {total_sections}")
        bonus_cap = _cap(ctx, decl.bonus_cap, f"the bonus cap of category '{name}'")
        ctx.sym.categories[name] = CategoryInfo(name, decl.label, total_d or Decimal(0), decl.cite, sections, decl.span,
                                                bonus_cap)


def _cap(ctx: Context, expr: ast.Expr | None, what: str) -> Decimal | None:
    """A bonus cap (加分上限): a constant, not negative; None when absent (uncapped)."""
    if expr is None:
        return None
    value = as_decimal(ctx.consts.const(expr, what))
    if value is not None and value < 0:
        ctx.diag.error("K116", f"{what} is negative", expr.span)
    return value


def _category_decls(ctx: Context) -> dict[str, ast.Category]:
    out: dict[str, ast.Category] = {}
    for decl in ctx.linked.decls:
        if isinstance(decl, ast.Category) and decl.name not in out:
            out[decl.name] = decl
    return out


def _section(ctx: Context, decl: ast.Section, prefix: tuple[str, ...], category: str) -> SectionInfo:
    if decl.bonus:  # ``section NAME bonus [cap N]``: a leaf outside the total
        return SectionInfo(decl.name, prefix + (decl.name,), decl.label, Decimal(0), decl.cite, (), decl.span,
                           True, _cap(ctx, decl.cap, f"the cap of bonus section '{decl.name}'"))
    points = as_decimal(ctx.consts.const(decl.points, f"the points of section '{decl.name}'")) or Decimal(0)
    if points < 0:
        ctx.diag.error("K116", f"section '{decl.name}' has negative points", decl.points.span)
    path = prefix + (decl.name,)
    children = tuple(_section(ctx, c, path, category) for c in decl.children)
    for child in decl.children:
        if child.bonus:
            ctx.diag.error("K197", f"bonus section '{child.name}' stands inside section '{decl.name}'", child.span,
                           hint="bonus sections (加分) stand at the top of a category, outside its total")
    if children:
        names = [c.name for c in children]
        for dup in {n for n in names if names.count(n) > 1}:
            ctx.diag.error("K100", f"section '{decl.name}' has two subsections named '{dup}'", decl.span)
        subtotal = sum((c.points for c in children), Decimal(0))
        if subtotal != points:
            detail = " + ".join(f"{c.name} {c.points}" for c in children)
            ctx.diag.error("K110", f"the subsections of '{category}.{'.'.join(path)}' add up to {subtotal}, not {points}",
                           decl.span, hint=f"{detail} = {subtotal}")
    return SectionInfo(decl.name, path, decl.label, points, decl.cite, children, decl.span, periods=decl.periods)
