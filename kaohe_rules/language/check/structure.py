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
        if total_d is not None and sections:
            total_sections = sum((s.points for s in sections), Decimal(0))
            if total_sections != total_d:
                detail = " + ".join(f"{s.name} {s.points}" for s in sections)
                ctx.diag.error("K110", f"the sections of '{name}' add up to {total_sections}, not its total {total_d}",
                               decl.span, hint=f"{detail} = {total_sections}")
        ctx.sym.categories[name] = CategoryInfo(name, decl.label, total_d or Decimal(0), decl.cite, sections, decl.span)


def _category_decls(ctx: Context) -> dict[str, ast.Category]:
    out: dict[str, ast.Category] = {}
    for decl in ctx.linked.decls:
        if isinstance(decl, ast.Category) and decl.name not in out:
            out[decl.name] = decl
    return out


def _section(ctx: Context, decl: ast.Section, prefix: tuple[str, ...], category: str) -> SectionInfo:
    points = as_decimal(ctx.consts.const(decl.points, f"the points of section '{decl.name}'")) or Decimal(0)
    if points < 0:
        ctx.diag.error("K116", f"section '{decl.name}' has negative points", decl.points.span)
    path = prefix + (decl.name,)
    children = tuple(_section(ctx, c, path, category) for c in decl.children)
    if children:
        names = [c.name for c in children]
        for dup in {n for n in names if names.count(n) > 1}:
            ctx.diag.error("K100", f"section '{decl.name}' has two subsections named '{dup}'", decl.span)
        subtotal = sum((c.points for c in children), Decimal(0))
        if subtotal != points:
            detail = " + ".join(f"{c.name} {c.points}" for c in children)
            ctx.diag.error("K110", f"the subsections of '{category}.{'.'.join(path)}' add up to {subtotal}, not {points}",
                           decl.span, hint=f"{detail} = {subtotal}")
    return SectionInfo(decl.name, path, decl.label, points, decl.cite, children, decl.span)
