"""The outcomes pass: the money a rating pays or fines, and how it is shared.

An outcome either rewards or fines (K140); shares divide that money with exactly
one ``rest`` (K141, K142), so the parts always sum to the whole.  Amounts are
money, and may name the outcome's earlier rewards and fines.
"""

from __future__ import annotations

from .. import ast
from .api import Context, Scope
from .diagnostics import did_you_mean


def check_outcomes(ctx: Context) -> None:
    """The pass: every outcome, in declaration order."""
    for outcome in ctx.sym.outcomes.values():
        _outcome(ctx, outcome)


def _outcome(ctx: Context, outcome: ast.OutcomeDecl) -> None:
    diag = ctx.diag
    names = ctx.sym.rating_names()
    if names and outcome.rating not in names:
        diag.error("K125", f"outcome for unknown rating '{outcome.rating}'", outcome.span,
                   hint=did_you_mean(outcome.rating, names))
    kinds = {i.kind for i in outcome.items}
    if {"reward", "fine"} <= kinds:
        diag.error("K140", f"outcome '{outcome.rating}' has both rewards and fines", outcome.span,
                   hint="a rating either pays or fines; split them into separate outcomes")
    shares = [i for i in outcome.items if i.kind == "share"]
    if shares and not kinds & {"reward", "fine"}:
        diag.error("K141", f"outcome '{outcome.rating}' shares money but has no reward or fine", shares[0].span)
    rests = [i for i in shares if i.amount is None]
    if shares and len(rests) != 1:
        diag.error("K142", f"outcome '{outcome.rating}' needs exactly one 'share ... = rest', found {len(rests)}",
                   (rests[1] if len(rests) > 1 else shares[0]).span,
                   hint="one share takes the remainder, so the parts always sum to the whole")
    local: list[str] = []
    for item in outcome.items:
        if item.name in local:
            diag.error("K100", f"outcome '{outcome.rating}' names '{item.name}' twice", item.span)
        if item.amount is not None:
            ctx.reading.append(set())
            t = ctx.exprs.expr(item.amount, Scope(outcome_items=tuple(local), stage="post"))
            ctx.reads[item] = tuple(sorted(ctx.reading.pop()))
            if not t.is_error and t.kind != "money":
                hint = f"write {item.amount.value}元" if isinstance(item.amount, ast.Number) else None
                diag.error("K103", f"'{item.name}' should be an amount of money, not {t.describe()}",
                           item.amount.span, hint=hint)
            diag.expect_required(t, item.amount)
        if item.kind in ("reward", "fine"):
            local.append(item.name)
