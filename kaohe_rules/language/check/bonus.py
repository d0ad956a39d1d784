"""The bonus pass (加分, issue #10): add rules where they belong, no negative amounts, each category's maximum.

Why a pass of its own: bonus points change what a category's score can be.  The
score is the base (the sections that add up to ``total``, each never below 0) plus
the bonus counted after its caps::

    min(category cap, sum over bonus sections of min(section cap, sum of its targets,
        each min(item cap, the sum of its add rules)))

so the bands must cover ``[0, maximum]`` where the maximum is the total plus the
largest bonus the caps allow, or is unbounded (then the best band must be open,
``优秀 >= 90``).  This pass refuses what would make that silently wrong:

* K193 — a target with ``add`` rules placed in a base section, or a target in a
  bonus section with a ``deduct``/``full``/``proportional``/``score`` rule;
* K194 — a negative constant amount (``deduct -2``, ``add -1 when …``, ``deduct -x``):
  a deduction that adds points is a bonus, written ``add`` in a bonus section.
  A negative amount found at run time is an ``EvaluationError`` (never a silent 0).

It records ``ctx.maxima`` (category → highest possible score, None when unbounded),
which the bands pass proves coverage against and the plans carry to the tools.
"""

from __future__ import annotations

from decimal import Decimal

from .. import ast
from ..model import PlacedTarget
from .api import Context, as_decimal


def check_bonus(ctx: Context, placed: list[PlacedTarget]) -> None:
    """The pass: rule kinds against placements, negative amounts, and the maxima."""
    for target in ctx.sym.targets:
        _rule_kinds(ctx, target, [p for p in placed if p.target is target])
        for rule in target.rules:
            _negative_amount(ctx, target, rule)
    for name, category in ctx.sym.categories.items():
        if not category.has_bonus:
            ctx.maxima[name] = category.total
            continue
        bonus: Decimal | None = Decimal(0)
        for section in category.sections:
            if not section.bonus:
                continue
            items = [_item_maximum(ctx, p) for p in placed if p.category == name and p.section == section.path]
            group = None if any(i is None for i in items) else sum((i for i in items if i is not None), Decimal(0))
            group = _capped(group, section.cap)
            bonus = None if bonus is None or group is None else bonus + group
        bonus = _capped(bonus, category.bonus_cap)
        ctx.maxima[name] = None if bonus is None else category.total + bonus


def _capped(value: Decimal | None, cap: Decimal | None) -> Decimal | None:
    if cap is None:
        return value
    return cap if value is None else min(value, cap)


def _rule_kinds(ctx: Context, target: ast.TargetDecl, placed: list[PlacedTarget]) -> None:
    adds = [r for r in target.rules if isinstance(r, ast.BONUS_RULE_CLASSES)]
    others = [r for r in target.rules if not isinstance(r, ast.BONUS_RULE_CLASSES)]
    in_bonus = [p for p in placed if p.bonus]
    in_base = [p for p in placed if not p.bonus]
    if adds and in_base:
        where = ".".join((in_base[0].category,) + in_base[0].section)
        ctx.diag.error("K193", f"target '{target.name}' adds bonus points but is placed in {where}, "
                       "which is not a bonus section", adds[0].span,
                       hint="place it in a bonus section (section NAME bonus), or write deduct rules")
    elif in_bonus and others:
        where = ".".join((in_bonus[0].category,) + in_bonus[0].section)
        ctx.diag.error("K193", f"target '{target.name}' is in bonus section {where} but has a "
                       f"'{others[0].KIND}' rule", others[0].span,
                       hint="a bonus target starts at 0 and has only add rules: add N when C, add N per E, add E")


def _negative_amount(ctx: Context, target: ast.TargetDecl, rule: ast.Rule) -> None:
    if not isinstance(rule, (ast.DeductWhen, ast.DeductUnless, ast.DeductPer, ast.Deduct,
                             ast.AddWhen, ast.AddUnless, ast.AddPer, ast.Add)):
        return
    amount = rule.amount
    value = ctx.consts.try_const(amount)
    negative = isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value < 0
    if not negative and not isinstance(amount, ast.Neg):
        return
    if isinstance(rule, ast.BONUS_RULE_CLASSES):
        ctx.diag.error("K194", f"target '{target.name}' adds a negative amount", amount.span,
                       hint="a bonus never lowers the score: write deduct … in a base section")
    else:
        ctx.diag.error("K194", f"target '{target.name}' deducts a negative amount, which would add points",
                       amount.span, hint="write add … in a bonus section (section NAME bonus)")


def _item_maximum(ctx: Context, placed: PlacedTarget) -> Decimal | None:
    """The most a bonus target can add (its item cap, or what its rules can add); None: unbounded."""
    total: Decimal | None = Decimal(0)
    for rule in placed.target.rules:
        most = _rule_maximum(ctx, rule)
        total = None if total is None or most is None else total + most
    return _capped(total, placed.cap)


def _rule_maximum(ctx: Context, rule: ast.Rule) -> Decimal | None:
    if isinstance(rule, (ast.AddWhen, ast.AddUnless)):
        return _const(ctx, rule.amount)
    if isinstance(rule, (ast.AddPer, ast.Add)):
        return _const(ctx, rule.cap) if rule.cap is not None else None
    return Decimal(0)  # not a bonus rule (refused in a bonus section, K193)


def _const(ctx: Context, expr: ast.Expr) -> Decimal | None:
    value = ctx.consts.try_const(expr)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return max(as_decimal(value) or Decimal(0), Decimal(0))
