"""The targets pass: where each target is placed, its scoring rules, and the leaf budgets.

A target is placed in leaf sections (at most once per category) with constant
points; the targets of each leaf section must add up to the section (K111).  Each
rule's parts are typed in the scope of the categories the target is placed in;
what a rule kind means is decided on its class (``ast.Full``, ``ast.DeductPer`` ...).
"""

from __future__ import annotations

from decimal import Decimal

from ...source import Span
from .. import ast
from ..keywords import NAMES_READ_AS_KEYWORDS
from ..model import PlacedTarget, SectionInfo
from .api import Context, Scope, as_decimal
from .diagnostics import did_you_mean


def check_targets(ctx: Context) -> list[PlacedTarget]:
    """The pass: placements, rules and the K111 budget of every leaf section."""
    diag = ctx.diag
    placed: list[PlacedTarget] = []
    leaf_points: dict[tuple[str, tuple[str, ...]], list[tuple[str, Decimal]]] = {}
    for target in ctx.sym.targets:
        if target.name in NAMES_READ_AS_KEYWORDS:
            diag.error("K170", f"'{target.name}' is a keyword in expressions and cannot name a target", target.span)
        if not target.placements:
            diag.error("K117", f"target '{target.name}' is not placed in any section", target.span,
                       hint="add: in 区政府.管理目标.考核细则 points 20")
            continue
        if not target.rules:
            diag.error("K118", f"target '{target.name}' has no scoring rule", target.span,
                       hint="add a rule such as: full when <condition>")
        cats: set[str] = set()
        for placement in target.placements:
            info = _placement(ctx, target, placement)
            if info is None:
                continue
            if info.category in cats:
                diag.error("K100", f"target '{target.name}' is placed twice in category '{info.category}'",
                           placement.span)
                continue
            cats.add(info.category)
            placed.append(info)
            if info.bonus:
                continue  # a bonus section has no budget (加分)
            leaf_points.setdefault((info.category, info.section), []).append((target.name, info.points))
        _check_rules(ctx, target, Scope(categories=frozenset(cats) if cats else None))
    for name, category in ctx.sym.categories.items():
        for section in category.all_sections():
            if not section.is_leaf or section.bonus:
                continue
            entries = leaf_points.get((name, section.path), [])
            total = sum((p for _, p in entries), Decimal(0))
            if total != section.points:
                path = ".".join((name,) + section.path)
                detail = " + ".join(f"{n} {p}" for n, p in entries) or "no targets"
                span = section.span if isinstance(section.span, Span) else None
                diag.error("K111", f"the targets in {path} add up to {total}, not the section's {section.points}",
                           span, hint=f"{detail} = {total}")
    return placed


def _placement(ctx: Context, target: ast.TargetDecl, placement: ast.Placement) -> PlacedTarget | None:
    diag = ctx.diag
    path = placement.path
    category = ctx.sym.categories.get(path[0])
    if category is None:
        diag.error("K112", f"target '{target.name}' is placed in unknown category '{path[0]}'", placement.span,
                   hint=did_you_mean(path[0], ctx.sym.categories))
        return None
    sections = category.sections
    current: SectionInfo | None = None
    for step in path[1:]:
        match = next((s for s in sections if s.name == step), None)
        if match is None:
            where = ".".join(path[: path.index(step)])
            diag.error("K112", f"'{where}' has no section '{step}'", placement.span,
                       hint=did_you_mean(step, [s.name for s in sections]))
            return None
        current = match
        sections = match.children
    if current is None:
        diag.error("K113", f"target '{target.name}' must be placed in a section, not a whole category",
                   placement.span, hint=f"e.g. in {path[0]}.{category.sections[0].name if category.sections else '...'}")
        return None
    if not current.is_leaf:
        diag.error("K113", f"'{'.'.join(path)}' has subsections; place the target in one of them", placement.span,
                   hint="one of: " + ", ".join(c.name for c in current.children))
        return None
    if current.bonus or placement.bonus:
        return _bonus_placement(ctx, target, placement, path[0], current)
    points = as_decimal(ctx.consts.const(placement.points, f"the points of target '{target.name}'"))
    if points is None:
        return None
    if points < 0:
        diag.error("K116", f"target '{target.name}' has negative points", placement.points.span)
    return PlacedTarget(target, path[0], current.path, points)


def _check_rules(ctx: Context, target: ast.TargetDecl, scope: Scope) -> None:
    seen: list[object] = []
    several = len(target.rules) > 1  # a single rule cannot repeat: skip its (deep, costly) shape
    for rule in target.rules:
        if several:
            rule_shape = ast.shape(rule)
            if rule_shape in seen:
                ctx.diag.error("K160", f"target '{target.name}' repeats the same rule", rule.span,
                               hint="a duplicated rule deducts twice; remove one")
            seen.append(rule_shape)
        ctx.reading.append(set())
        _rule(ctx, rule, scope)
        ctx.reads[rule] = tuple(sorted(ctx.reading.pop()))


def _rule(ctx: Context, rule: ast.Rule, scope: Scope) -> None:
    diag, exprs = ctx.diag, ctx.exprs
    parts = ast.rule_parts(rule)
    if parts.condition is not None:
        ctype = exprs.expr(parts.condition, scope)
        diag.expect_bool(ctype, parts.condition, "a rule's condition")
        if isinstance(parts.condition, ast.BoolLit) and not (isinstance(rule, ast.Full) and parts.condition.value):
            fires = parts.condition.value == isinstance(rule, (ast.DeductWhen, ast.AddWhen))
            verb = "adds" if isinstance(rule, (ast.AddWhen, ast.AddUnless)) else "deducts"  # a bonus rule adds
            diag.warn("K161", f"this rule's condition is always {str(parts.condition.value).lower()}"
                      + (f"; the rule never {verb}" if not fires else f"; the rule always {verb}"),
                      parts.condition.span)
    if parts.amount is not None:
        atype = exprs.expr(parts.amount, scope)
        if isinstance(rule, ast.Proportional):
            if not atype.is_error and atype.kind not in ("percent", "decimal", "int"):
                diag.error("K103", f"proportional needs a percentage or a ratio, not {atype.describe()}",
                           parts.amount.span)
        else:
            diag.expect_points(atype, parts.amount, "the amount of points")
        diag.expect_required(atype, parts.amount)
    if parts.per is not None:
        ptype = exprs.expr(parts.per, scope)
        diag.expect_points(ptype, parts.per, "the count after 'per'")
        diag.expect_required(ptype, parts.per)
    if parts.cap is not None:
        ctype = exprs.expr(parts.cap, scope)
        diag.expect_points(ctype, parts.cap, "the cap")
        diag.expect_required(ctype, parts.cap)


def _bonus_placement(ctx: Context, target: ast.TargetDecl, placement: ast.Placement, category: str,
                     section: SectionInfo) -> PlacedTarget | None:
    """``in PATH [cap N]`` in a bonus section (加分): no points, an optional constant item cap."""
    where = ".".join(placement.path)
    if not section.bonus:
        ctx.diag.error("K192", f"target '{target.name}' is placed in {where} without points, but it is not a "
                       "bonus section", placement.span,
                       hint=f"write: in {where} points N  (or declare the section: section {section.name} bonus)")
        return None
    if not placement.bonus:
        ctx.diag.error("K191", f"target '{target.name}' has points in bonus section {where}", placement.points.span,
                       hint=f"a bonus target starts at 0 and adds: write in {where} or in {where} cap N")
        return None
    cap: Decimal | None = None
    if placement.cap is not None:
        cap = as_decimal(ctx.consts.const(placement.cap, f"the cap of target '{target.name}'"))
        if cap is not None and cap < 0:
            ctx.diag.error("K116", f"the cap of target '{target.name}' is negative", placement.cap.span)
    return PlacedTarget(target, category, section.path, Decimal(0), True, cap)
