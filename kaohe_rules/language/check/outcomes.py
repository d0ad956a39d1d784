"""The outcomes pass: the money a rating pays or fines, how it is shared, and when an item applies.

An outcome either rewards or fines (K140); shares divide that money, with at most one
``rest`` (K142) taking what the others leave, so that with a ``rest`` the parts always
sum to the whole and without one the shares need not exhaust the pot (no phantom
0.00 line).  Amounts are money, and may name the outcome's earlier rewards and fines.

An item may be conditional (issue #10, item 4): ``when C`` (a condition, read through
the same scope as any rule, so every value a rule can read is readable here) and
``for CATS`` (only units of those categories).  Two items may share a name only when
their ``for`` sets are disjoint (K143): a unit then meets at most one of them, and a
later item reading the name reads that one.  An outcome without a rating name
(``outcome cite "…" { … }``) applies whatever the rating, after the rating's own.
"""

from __future__ import annotations

from .. import ast
from .api import Context, Scope
from .diagnostics import did_you_mean


def check_outcomes(ctx: Context) -> None:
    """The pass: every outcome, in declaration order (the rating's own, then those for every rating)."""
    for outcome in ctx.sym.outcomes.values():
        _outcome(ctx, outcome)
    for outcome in ctx.sym.general_outcomes:
        _outcome(ctx, outcome)


def _title(outcome: ast.OutcomeDecl) -> str:
    return f"outcome '{outcome.rating}'" if outcome.rating else "the outcome for every rating"


def _outcome(ctx: Context, outcome: ast.OutcomeDecl) -> None:
    diag = ctx.diag
    names = ctx.sym.rating_names()
    title = _title(outcome)
    if outcome.rating and names and outcome.rating not in names:
        diag.error("K125", f"outcome for unknown rating '{outcome.rating}'", outcome.span,
                   hint=did_you_mean(outcome.rating, names))
    kinds = {i.kind for i in outcome.items}
    if {"reward", "fine"} <= kinds:
        diag.error("K140", f"{title} has both rewards and fines", outcome.span,
                   hint="a rating either pays or fines; split them into separate outcomes")
    shares = [i for i in outcome.items if i.kind == "share"]
    if shares and not kinds & {"reward", "fine"}:
        diag.error("K141", f"{title} shares money but has no reward or fine", shares[0].span)
    rests = [i for i in shares if i.amount is None]
    if len(rests) > 1:
        diag.error("K142", f"{title} has {len(rests)} 'share ... = rest'; at most one share takes the remainder",
                   rests[1].span, hint="give the other shares their own amounts")
    local: list[str] = []
    seen: dict[str, list[ast.OutcomeItem]] = {}
    for item in outcome.items:
        _same_name(ctx, title, item, seen.setdefault(item.name, []))
        cats = ctx.category_refs(item.categories, item.span, f"'{item.name}'")
        scope = Scope(outcome_items=tuple(local), categories=cats, stage="post")
        ctx.reading.append(set())
        if item.condition is not None:
            ctype = ctx.exprs.expr(item.condition, scope)
            diag.expect_bool(ctype, item.condition, f"the condition of '{item.name}'")
        if item.amount is not None:  # computed only when the condition holds: narrowed by it
            amount_scope = scope.narrow(ctx.exprs.asserted(item.condition, True)) if item.condition is not None else scope
            t = ctx.exprs.expr(item.amount, amount_scope)
            if not t.is_error and t.kind != "money":
                hint = f"write {item.amount.value}元" if isinstance(item.amount, ast.Number) else None
                diag.error("K103", f"'{item.name}' should be an amount of money, not {t.describe()}",
                           item.amount.span, hint=hint)
            diag.expect_required(t, item.amount)
        ctx.reads[item] = tuple(sorted(ctx.reading.pop()))
        if item.kind in ("reward", "fine") and item.name not in local:
            local.append(item.name)


def _same_name(ctx: Context, title: str, item: ast.OutcomeItem, before: list[ast.OutcomeItem]) -> None:
    """K100/K143: a name used again must be another item for other categories (disjoint ``for``)."""
    for other in before:
        if other.kind != item.kind or not other.categories or not item.categories:
            ctx.diag.error("K100", f"{title} names '{item.name}' twice", item.span,
                           hint="two items may share a name only as the same kind with disjoint 'for' lists")
            break
        common = sorted(set(other.categories) & set(item.categories))
        if common:
            ctx.diag.error("K143", f"{title} has two items '{item.name}' for {', '.join(common)}", item.span,
                           hint=f"a unit of {common[0]} would meet both; give each 'for' list its own categories")
            break
    before.append(item)
