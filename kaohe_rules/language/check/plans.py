"""The plans pass: what evaluating a unit of each category needs, in order.

A :class:`~kaohe_rules.language.model.CategoryPlan` lists the category's targets,
vetoes, defers, bands and facts, and the lets its rules read in dependency order
(deferred lists before the lets that read them).  It runs only on a policy
without errors, and reports lets and deferred lists that a category's units
cannot compute (K108).
"""

from __future__ import annotations

import attrs

from .. import ast
from ..model import BandInfo, CategoryPlan, PlacedTarget
from .api import Context


def build_plans(ctx: Context, placed: list[PlacedTarget], bands: dict[str, tuple[BandInfo, ...]]) -> dict[str, CategoryPlan]:
    """The pass: one plan per category."""
    sym, diag = ctx.sym, ctx.diag
    plans: dict[str, CategoryPlan] = {}
    for name, category in sym.categories.items():
        targets = tuple(p for p in placed if p.category == name)
        vetoes = tuple(v for v in sym.vetoes if not v.categories or name in v.categories)
        defers = defer_order(ctx, [d for d in sym.defers if not d.categories or name in d.categories])
        roots: set[str] = set()
        for p in targets:
            for rule in p.target.rules:
                roots |= set(ctx.reads.get(rule, ()))
        for v in vetoes:
            roots |= set(ctx.reads.get(v, ()))
        for d in defers:
            roots |= set(ctx.reads.get(d, ()))
            if d.source_list in sym.aliases:  # issue #16: a chain of defers: the kept list it takes from
                roots.add(d.source_list)
        pre_lets = _pre_lets(ctx, defers)
        if name in sym.bands:  # band ``requires`` (issue #10 A3)
            for band in sym.bands[name].bands:
                roots |= set(ctx.reads.get(band, ()))
        for outcome in [*sym.outcomes.values(), *sym.general_outcomes]:
            for item in outcome.items:
                if not item.categories or name in item.categories:
                    roots |= set(ctx.reads.get(item, ()))
        for let_name, let_decl in sym.lets.items():  # a reported let where its facts are supplied
            avail = ctx.let_avail.get(let_name)
            if let_decl.report and (avail is None or name in avail):
                roots.add(let_name)
        lets = tuple(n for n in let_order(ctx, roots) if n not in pre_lets)
        for let in lets:
            avail = ctx.let_avail.get(let)
            if avail is not None and name not in avail:
                decl = sym.lets[let]
                diag.error("K108", f"let '{let}' reads facts that units of '{name}' do not supply",
                           decl.span, hint="restrict the rules that use it with 'for', or the facts' 'for' lists")
        for alias in [a for a in roots if a in sym.aliases]:
            d = sym.aliases[alias]
            if d.categories and name not in d.categories:
                diag.error("K108", f"'{alias}' is only defined for {', '.join(d.categories)}, not '{name}'", d.span)
        facts = tuple(f for f, decl in sym.facts.items() if not decl.categories or name in decl.categories)
        plan = CategoryPlan(category, lets, defers, targets, vetoes, bands.get(name, ()), facts,
                            ctx.maxima.get(name, category.total))
        plans[name] = attrs.evolve(plan, pre_lets=pre_lets) if pre_lets else plan
    return plans


def let_order(ctx: Context, roots: set[str]) -> tuple[str, ...]:
    """The lets (and, through them, deferred lists) ``roots`` need, dependencies first."""
    sym = ctx.sym
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name in sym.lets:
            for dep in sorted(ctx.let_deps.get(name, ())):
                visit(dep)
            order.append(name)
        elif name in sym.aliases:
            d = sym.aliases[name]
            for dep in sorted(ctx.reads.get(d, ())):
                visit(dep)
            visit(d.source_list)

    for root in sorted(roots):
        visit(root)
    return tuple(order)


def defer_order(ctx: Context, defers: list[ast.DeferDecl]) -> tuple[ast.DeferDecl, ...]:
    """The defers in declaration order, except that one taking items from another's kept list
    comes after it (issue #16); a policy without such chains keeps its order exactly."""
    by_alias = {d.alias: d for d in defers}
    order: list[ast.DeferDecl] = []
    placed: set[int] = set()

    def place(d: ast.DeferDecl, busy: frozenset[int]) -> None:
        if id(d) in placed or id(d) in busy:  # a cycle is K130's (lets.check_defers)
            return
        before = by_alias.get(d.source_list)
        if before is not None:
            place(before, busy | {id(d)})
        placed.add(id(d))
        order.append(d)

    for d in defers:
        place(d, frozenset())
    return tuple(order)


def _pre_lets(ctx: Context, defers: tuple[ast.DeferDecl, ...]) -> tuple[str, ...]:
    """The lets a defer takes items from, with what they read, computed before the defers (issue #16).

    Such a let may not read a deferred list (K273): the lets of this stage run before every
    defer, so a let between two defers of a chain would need the steps interleaved — a limit.
    """
    sym = ctx.sym
    roots = {d.source_list for d in defers if d.source_list in sym.lets}
    if not roots:
        return ()
    order = let_order(ctx, roots)
    for d in defers:
        if d.source_list not in sym.lets:
            continue
        needs = [n for n in let_order(ctx, {d.source_list})]
        aliases = sorted({dep for n in needs for dep in ctx.let_deps.get(n, ()) if dep in sym.aliases})
        if aliases:
            ctx.diag.error("K273", f"defer '{d.name}' takes items from let '{d.source_list}', which reads the deferred "
                           f"list '{aliases[0]}'", d.span,
                           hint=f"take the items from '{aliases[0]}' itself, or compute the let from list facts only")
    return order
