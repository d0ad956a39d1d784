"""The cohort pass (issue #11 C): the ``cohort`` block, its quotas and the cohort values.

A cohort block ranks the units of a batch within their category and caps how many may
hold a band.  What this pass proves, so that the cohort stage never meets a policy it
cannot rank:

* at most one cohort block (K250, in the collect pass); ``ties share`` written (K251: the
  tie rule decides ranks, so it is never left to a default); ``by`` written (K252);
* every quota names a band of each category it applies to and a category the cohort ranks
  (K253, with did-you-mean); its limit is a whole count or a percentage in 0..100 (K255);
* every ranking key is a number that is always set (K254); ``among`` is a condition;
* the cohort values ``rank``, ``ranked_count``, ``unit_count``, ``best`` and ``average`` are
  read only where the ranking does not depend on them (K257 names the cycle: the rank is
  computed from the final score, the keys and ``among``, so none of those — nor the targets,
  the score effects and the lets they read — may read a cohort value);
* the bare ``score`` as a part of a compound key (or in ``among``) when score effects exist
  could mean the score before or after them: refused naming both (K258).  The whole key
  ``score`` is the final score.

The cohort values are contextual names: in a policy without a cohort block they are
ordinary names, and where a declaration of the policy has the same name the read is
refused naming both (K256).  :class:`CohortReader` is the ``ctx.cohort`` service the
expression checker calls for them.
"""

from __future__ import annotations

from decimal import Decimal

from ...source import Span
from .. import ast
from ..model import COHORT_VALUES, BandInfo, CohortPlan, QuotaPlan, Resolution
from ..types import Type
from .api import Context, Scope, as_decimal
from .diagnostics import did_you_mean

#: the tie rules (``ties share`` only, for now: equal keys share a rank, the next ranks are skipped)
TIE_RULES = ("share",)
#: the kinds a ranking key may have (numbers: compared exactly)
KEY_KINDS = ("int", "decimal", "money", "percent")


class CohortReader:
    """The ``ctx.cohort`` service: what ``rank``, ``best`` … mean where they are read."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def name(self, e: ast.Name, scope: Scope) -> Type | None:
        """The type of cohort value ``e`` in ``scope``; None when the name means something else."""
        ctx, ident = self.ctx, e.ident
        if not ctx.sym.cohorts or ident not in COHORT_VALUES or scope.record is not None:
            return None
        user = self._user_readings(ident, scope)
        if user:
            return ctx.diag.error(
                "K256", f"'{ident}' here could mean the cohort value {ident} or {user[0]}", e.span,
                hint=f"rename the {user[0].split(' ')[0]} (e.g. {ident}_值) so that '{ident}' means one thing")
        ctx.res[e] = Resolution("cohort", ident)
        t = COHORT_VALUES[ident]
        return t.required() if t.optional and ident in scope.narrowed else t

    def _user_readings(self, ident: str, scope: Scope) -> list[str]:
        ctx, sym = self.ctx, self.ctx.sym
        found: list[str] = []
        for named, _depth in scope.named:
            if named == ident:
                found.append(f"item '{ident}'")
        for item in scope.items:
            if item.kind == "record" and item.name is not None and ident in ctx.record_fields.get(item.name, {}):
                found.append(f"field '{ident}' of record '{item.name}'")
        if ident in scope.outcome_items:
            found.append(f"outcome item '{ident}'")
        for kind, table in (("fact", sym.facts), ("let", sym.lets), ("param", sym.params),
                            ("list", sym.aliases), ("checkpoint", sym.checkpoints)):
            if ident in table:
                found.append(f"{kind} '{ident}'")
        return found


def check_cohort(ctx: Context, band_infos: dict[str, tuple[BandInfo, ...]]) -> CohortPlan | None:
    """The pass: the cohort block's parts, its quotas and where cohort values are read."""
    if not ctx.sym.cohorts:
        return None
    decl = ctx.sym.cohorts[0]
    diag = ctx.diag
    cats = ctx.category_refs(decl.categories, decl.span, f"cohort '{decl.name}'")
    categories = tuple(c for c in (decl.categories or tuple(ctx.sym.categories)) if c in ctx.sym.categories)
    if decl.ties is None:
        diag.error("K251", f"cohort '{decl.name}' does not say how ties are ranked", decl.span,
                   hint="add 'ties share' (equal keys share a rank and the next rank is skipped: 1, 2, 2, 4)")
    elif decl.ties not in TIE_RULES:
        diag.error("K251", f"unknown tie rule 'ties {decl.ties}'", decl.span,
                   hint="the tie rule is 'ties share' (equal keys share a rank, the next rank is skipped)")
    if not decl.keys:
        diag.error("K252", f"cohort '{decl.name}' does not say what it ranks by", decl.span,
                   hint="add 'by score' (or 'by score, KEY lower first': later keys break ties)")
    scope = Scope(categories=cats, stage="post")
    score_effects = _score_effect_vetoes(ctx, categories)
    if decl.among is not None:
        t = ctx.exprs.expr(decl.among, scope)
        diag.expect_bool(t, decl.among, f"'among' of cohort '{decl.name}'")
        _bare_score(ctx, decl.among, "'among'", score_effects)
    for number, key in enumerate(decl.keys, 1):
        t = ctx.exprs.expr(key.value, scope)
        if t.is_error:
            continue
        if t.kind not in KEY_KINDS:
            diag.error("K254", f"ranking key {number} is {t.describe()}, not a number", key.value.span,
                       hint="rank by numbers: a score, a count, an amount (lower ones first: 'KEY lower first')")
        elif t.optional:
            diag.error("K254", f"ranking key {number} may be none, and a unit without a key cannot be ranked",
                       key.value.span, hint="give it a value when none: KEY ?? 0")
        if not _is_bare_score(ctx, key.value):
            _bare_score(ctx, key.value, f"ranking key {number}", score_effects)
    quotas = tuple(_quota(ctx, decl, i, q, categories, band_infos) for i, q in enumerate(decl.quotas))
    _cycles(ctx, decl)
    bands = {name: tuple(b.rating for b in sorted(infos, key=lambda b: b.low, reverse=True))
             for name, infos in band_infos.items()}
    return CohortPlan(decl, categories, bands, tuple(q for q in quotas if q is not None))


def _is_bare_score(ctx: Context, e: ast.Expr) -> bool:
    res = ctx.res.get(e)
    return isinstance(e, ast.Name) and res is not None and res.kind == "score"


def _score_effect_vetoes(ctx: Context, categories: tuple[str, ...]) -> list[ast.VetoDecl]:
    """The vetoes with ``then score E`` that can fire for a ranked category."""
    return [v for v in ctx.sym.vetoes if v.effect is not None and v.effect.kind == "score"
            and (not v.categories or set(v.categories) & set(categories))]


def _bare_score(ctx: Context, e: ast.Expr, what: str, score_effects: list[ast.VetoDecl]) -> None:
    """K258: ``score`` inside a compound key (or ``among``) when score effects may change the score."""
    if not score_effects:
        return
    for node in ast.walk(e):
        if isinstance(node, ast.Name) and _is_bare_score(ctx, node):
            ctx.diag.error(
                "K258", f"'score' in {what} could mean the score before score effects or the final score "
                f"(veto '{score_effects[0].name}' sets it)", node.span,
                hint="rank by the final score with the whole key 'by score'; for the score before effects "
                "use a let (let 原始得分 = score) and say so in its label")
            return


def _quota(ctx: Context, decl: ast.CohortDecl, index: int, q: ast.Quota, ranked: tuple[str, ...],
           band_infos: dict[str, tuple[BandInfo, ...]]) -> QuotaPlan | None:
    diag = ctx.diag
    ok = True
    for name in q.categories:
        if name not in ctx.sym.categories:
            diag.error("K112", f"quota '{q.band}' names unknown category '{name}'", q.span,
                       hint=did_you_mean(name, ctx.sym.categories))
            ok = False
        elif name not in ranked:
            diag.error("K253", f"quota '{q.band}' is for {name}, which cohort '{decl.name}' does not rank", q.span,
                       hint=f"add {name} to the cohort's 'for' list, or drop it from the quota's")
            ok = False
    applies = tuple(c for c in ranked if not q.categories or c in q.categories)
    ratings = ctx.sym.rating_names()
    if ratings and q.band not in ratings:
        diag.error("K253", f"quota for unknown band '{q.band}'", q.span, hint=did_you_mean(q.band, ratings))
        ok = False
    elif ratings:
        for name in applies:
            infos = band_infos.get(name, ())
            if infos and all(b.rating != q.band for b in infos):
                diag.error("K253", f"quota '{q.band}': category '{name}' has no band '{q.band}'", q.span,
                           hint=did_you_mean(q.band, [b.rating for b in infos]) or
                           "restrict the quota with 'for' to the categories that have the band")
                ok = False
            elif infos and min(infos, key=lambda b: b.low).rating == q.band:
                diag.error("K253", f"quota '{q.band}': '{q.band}' is the lowest band of category '{name}', so no "
                           "unit beyond the limit could be demoted", q.span,
                           hint="cap a better band: the units beyond a quota fall to the next lower band")
                ok = False
    limit, share = _limit(ctx, q)
    if not ok or (limit is None and share is None):
        return None
    return QuotaPlan(index, q.band, limit, share, q.of_ranked, applies, q)


def _limit(ctx: Context, q: ast.Quota) -> tuple[int | None, Decimal | None]:
    """A quota's limit: a whole count ``N`` or a percentage ``P%`` in 0..100 (K255 otherwise)."""
    value = ctx.consts.try_const(q.limit)
    t = ctx.exprs.expr(q.limit, Scope(stage="post"))
    hint = "write a count (at most 6) or a percentage of the units (at most 30%)"
    if t.is_error:
        return None, None
    number = as_decimal(value)
    if number is None:
        ctx.diag.error("K255", f"quota '{q.band}': the limit is not a constant count or percentage", q.limit.span,
                       hint=hint)
        return None, None
    if t.kind == "percent":
        if not Decimal(0) <= number <= Decimal(100):
            ctx.diag.error("K255", f"quota '{q.band}': {number}% is not between 0% and 100%", q.limit.span, hint=hint)
            return None, None
        return None, number / Decimal(100)
    if t.kind != "int" or number < 0 or number != number.to_integral_value():
        ctx.diag.error("K255", f"quota '{q.band}': the limit {number} is not a whole count of units", q.limit.span,
                       hint=hint)
        return None, None
    if q.of_ranked:
        ctx.diag.error("K255", f"quota '{q.band}': 'of ranked' is the base of a percentage, and {number} is a count",
                       q.limit.span, hint="drop 'of ranked', or write the limit as a percentage")
        return None, None
    return int(number), None


# ----------------------------------------------------------------- cycles (K257)


def _cycles(ctx: Context, decl: ast.CohortDecl) -> None:
    """K257: a cohort value read where the ranking depends on it, naming the cycle."""
    via = _cohort_lets(ctx)
    seen: set[int] = set()

    def report(root: ast.Expr, reader: str, why: str) -> None:
        found = _reads_cohort(ctx, root, via)
        if found is None or id(found[0]) in seen:
            return
        node, value, let = found
        seen.add(id(node))
        through = f" (through let '{let}')" if let else ""
        ctx.diag.error("K257", f"{why}, so {reader} cannot read {value}{through}", node.span,
                       hint=f"read {value} in an outcome, a band's 'requires' or a veto without 'then score': "
                       "they come after the ranking")

    for target in ctx.sym.targets:
        for rule in target.rules:
            for part in ast.rule_parts(rule):
                if part is not None:
                    report(part, f"target '{target.name}'", "the rank is computed from the score, and the score from "
                           "the targets")
    for defer in ctx.sym.defers:
        report(defer.where, f"defer '{defer.name}'", "the rank is computed from the score, which the deferrals feed")
    for veto in ctx.sym.vetoes:
        effect = veto.effect
        if effect is None or effect.kind != "score":
            continue
        reader = f"veto '{veto.name}' (then score …)"
        why = "the rank is computed from the final score, which this veto sets"
        for part in (veto.on_list, veto.condition, effect.amount, *(x.condition for x in veto.exceptions)):
            if part is not None:
                report(part, reader, why)
    if decl.among is not None:
        report(decl.among, f"'among' of cohort '{decl.name}'", "which units are ranked is decided by 'among'")
    for number, key in enumerate(decl.keys, 1):
        report(key.value, f"ranking key {number}", "the rank is computed from the ranking keys")


def _cohort_lets(ctx: Context) -> dict[str, tuple[ast.Name, str]]:
    """The lets that read a cohort value, directly or through other lets: let -> (the read, the value)."""
    out: dict[str, tuple[ast.Name, str]] = {}
    reads: dict[str, list[ast.Name]] = {}
    for name, let in ctx.sym.lets.items():
        reads[name] = [n for n in ast.walk(let.value) if isinstance(n, ast.Name) and n in ctx.res]
    changed = True
    while changed:
        changed = False
        for name, names in reads.items():
            if name in out:
                continue
            for node in names:
                res = ctx.res[node]
                if res.kind == "cohort":
                    out[name] = (node, res.name)
                elif res.kind == "let" and res.name in out and res.name != name:
                    out[name] = (node, out[res.name][1])
                else:
                    continue
                changed = True
                break
    return out


def _reads_cohort(ctx: Context, root: ast.Expr,
                  via: dict[str, tuple[ast.Name, str]]) -> tuple[ast.Name, str, str | None] | None:
    """The first cohort value ``root`` reads (the node, the value, the let it is read through)."""
    found: list[tuple[Span, ast.Name, str, str | None]] = []
    for node in ast.walk(root):
        if not isinstance(node, ast.Name):
            continue
        res = ctx.res.get(node)
        if res is None:
            continue
        if res.kind == "cohort":
            found.append((node.span, node, res.name, None))
        elif res.kind == "let" and res.name in via:
            found.append((node.span, node, via[res.name][1], res.name))
    if not found:
        return None
    found.sort(key=lambda f: (f[0].line, f[0].column))
    _, node, value, let = found[0]
    return node, value, let
