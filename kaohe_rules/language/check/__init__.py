"""Stage 3: the static checker, as an ordered list of passes (mypy's ``semanal_main`` shape).

:func:`check` turns a :class:`~kaohe_rules.language.linker.LinkedPolicy` into a
:class:`~kaohe_rules.language.model.CheckedPolicy` or a list of diagnostics.  It
collects every error it can find (it does not stop at the first), because a policy
author fixes a file best when they see all of its problems at once.

What it proves, so that the evaluator need not check at run time:

* every name resolves, every expression is well typed (money is not mixed with
  plain numbers, optional values are tested before use);
* the sections of each category add up to its total and the targets of each
  leaf section add up to the section;
* the bands of each category cover ``[0, total]`` without gap or overlap, and
  better ratings sit higher;
* ``let`` declarations have no cycles; outcomes divide money with at most one ``rest``.

This module is the only one that imports every pass; the passes share state and
services through :class:`~.api.Context` and never import each other.  A new
declaration kind is a new pass module and one line in :func:`_run`.  The order of
the passes is the order of the diagnostics for one position, so keep it.
"""

from __future__ import annotations

import hashlib

import attrs

from ...errors import Diagnostic
from ..linker import LinkedPolicy
from ..model import CategoryPlan, CheckedPolicy, LedgerPlan
from . import (
    bands,
    bonus,
    cohort,
    consts,
    effects,
    facts,
    ledger,
    lets,
    maps,
    outcomes,
    periods,
    plans,
    scores,
    structure,
    targets,
)
from .api import Context
from .diagnostics import Collector, diagnostic_order
from .exprs import ExpressionChecker
from .symbols import collect

__all__ = ["Analysis", "analyse", "check", "content_hash"]


def check(linked: LinkedPolicy) -> CheckedPolicy | list[Diagnostic]:
    """Check a linked policy; return the checked model, or every diagnostic (errors first)."""
    diag = Collector()
    try:
        result = _run(linked, diag)
    except RecursionError:
        return [Diagnostic("K009", "policy expressions nest too deeply to check", linked.header.span,
                           hint="split deeply nested expressions into let declarations")]
    if diag.has_errors() or result is None:
        return sorted(diag.items, key=diagnostic_order)
    return result


def _run(linked: LinkedPolicy, diag: Collector, contexts: list[Context] | None = None) -> CheckedPolicy | None:
    ctx = Context(linked, diag, collect(linked, diag))
    if contexts is not None:  # analyse(): the caller keeps the side tables, even of a policy with errors
        contexts.append(ctx)
    ctx.consts = consts.ConstEvaluator(ctx)
    ctx.exprs = ExpressionChecker(ctx)
    ctx.lets = lets.LetChecker(ctx)
    ctx.scores = scores.ScoreReader(ctx)
    ctx.periods = periods.PeriodReader(ctx)
    ctx.cohort = cohort.CohortReader(ctx)

    facts.check_types(ctx)
    maps.check_maps(ctx)  # issue #16: before anything that may call a map
    structure.check_categories(ctx)
    consts.check_params(ctx)
    facts.check_facts(ctx)
    facts.check_record_lets(ctx)
    ledger.check_ledgers(ctx)  # issue #16: ledgers, their rules, facts ``from`` them
    periods.check_periods(ctx)
    lets.check_lets(ctx)
    lets.check_defers(ctx)
    placed = targets.check_targets(ctx)
    bonus.check_bonus(ctx, placed)
    effects.check_vetoes(ctx)
    bands.check_ratings(ctx)
    band_infos = bands.check_bands(ctx)
    effects.check_band_requires(ctx, band_infos)
    outcomes.check_outcomes(ctx)
    cohort_plan = cohort.check_cohort(ctx, band_infos)  # issue #11 C: after every reader of a cohort value
    facts.warn_unused_facts(ctx)
    lets.warn_unused_lets(ctx)
    periods.check_staging(ctx)
    if diag.has_errors() or ctx.sym.ratings is None:
        return None
    category_plans = scores.stage_plans(ctx, plans.build_plans(ctx, placed, band_infos))
    if diag.has_errors():
        return None
    checked = _model(ctx, category_plans)
    return attrs.evolve(checked, cohort=cohort_plan) if cohort_plan is not None else checked


def _model(ctx: Context, category_plans: dict[str, CategoryPlan]) -> CheckedPolicy:
    sym = ctx.sym
    assert sym.ratings is not None
    return CheckedPolicy(
        header=ctx.linked.header, lineage=ctx.linked.lineage, categories=sym.categories,
        enums=sym.enums, records=sym.records, record_fields=ctx.record_fields,
        record_let_order=ctx.record_let_order, facts=sym.facts, fact_types=ctx.fact_types,
        fact_defaults=ctx.fact_defaults, fact_bounds=ctx.fact_bounds,
        field_defaults=ctx.field_defaults, field_bounds=ctx.field_bounds, params=sym.params,
        param_values=ctx.param_values, param_types=ctx.param_types, lets=sym.lets,
        let_types=ctx.let_types, defers=tuple(sym.defers), targets=tuple(sym.targets),
        vetoes=tuple(sym.vetoes), ratings=sym.ratings, outcomes=sym.outcomes,
        checkpoints=sym.checkpoints, plans=category_plans, types=ctx.types, resolutions=ctx.res,
        reads=ctx.reads, warnings=tuple(d for d in ctx.diag.items if d.severity == "warning"),
        content_hash=content_hash(ctx.linked), general_outcomes=tuple(sym.general_outcomes),
        reported=tuple(name for name, decl in sym.lets.items() if decl.report),
        periods=sym.periods,
        ledgers=tuple(p for p in ctx.ledger_plans if isinstance(p, LedgerPlan)),
        maps=dict(sym.maps), map_values=dict(ctx.map_values),
    )


def content_hash(linked: LinkedPolicy) -> str:
    """SHA-256 over the texts of the policy and its ancestors (child first)."""
    digest = hashlib.sha256()
    for source in linked.sources:
        digest.update(source.text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


@attrs.frozen
class Analysis:
    """What the checker learnt about a policy, kept even when it has errors (issue #14, the language server).

    ``check`` returns a model only for a correct policy; an editor needs the names the checker
    resolved in a policy being typed, errors and all.  ``context`` is None when the checker
    could not start (a nesting too deep to check); its side tables (``res``, ``types``,
    ``record_fields`` …) are those :class:`~kaohe_rules.language.model.CheckedPolicy` carries.
    """

    checked: CheckedPolicy | None
    diagnostics: tuple[Diagnostic, ...]
    context: Context | None


def analyse(linked: LinkedPolicy) -> Analysis:
    """Check ``linked`` like :func:`check`, and keep the checker's context for tools that read it."""
    diag = Collector()
    contexts: list[Context] = []
    try:
        result = _run(linked, diag, contexts)
    except RecursionError:
        problem = Diagnostic("K009", "policy expressions nest too deeply to check", linked.header.span,
                             hint="split deeply nested expressions into let declarations")
        return Analysis(None, (problem,), None)
    context = contexts[0] if contexts else None
    ordered = tuple(sorted(diag.items, key=diagnostic_order))
    if diag.has_errors() or result is None:
        return Analysis(None, ordered, context)
    return Analysis(result, ordered, context)
