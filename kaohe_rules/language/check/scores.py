"""Scores as values and the post-scoring stage (issue #10 A2).

``score`` (the unit's score before score effects) and ``score(X)`` (a target's or a
section's score) are readable only once they are computed: in post-scoring lets, vetoes
(their tests, exceptions and effects), band ``requires`` and outcomes.  Every expression
is checked in a :class:`~.api.Scope` whose ``stage`` says when it runs:

* ``pre`` — target rules and defers, evaluated before the score: reading a score there is
  a cycle (the score is computed from them), K200 names it;
* ``let`` — a let: reading a score (directly or through another let) makes it a
  *post-scoring let*, computed after the score (``ctx.post_lets``); a target or defer that
  reads such a let is the same cycle, K200;
* ``post`` — vetoes, their effects, band ``requires``, outcomes.

The names resolve through the expression checker's normal path (``ctx.scores`` is the
service it calls, like ``ctx.lets``), so any construct checked in a ``post`` scope reads
them.  A user's declaration named ``score`` is never shadowed silently: where the unit's
score is readable, the bare name is refused naming both readings (K201).

:func:`stage_plans` runs after the plans: it moves the post-scoring lets of each category
out of the lets computed before the targets, and checks that every ``score(X)`` a
category's post-scoring let reads names a target or section of that category (K202).
"""

from __future__ import annotations

import attrs

from ...source import Span
from .. import ast
from ..model import CategoryPlan, Resolution
from ..types import DECIMAL, ERROR, Type
from .api import Context, Scope
from .diagnostics import did_you_mean, name_of

_HINT = ("read scores in a veto, a band's 'requires' or an outcome (the post-scoring stage); "
         "a let that reads a score is computed after the score too")


class ScoreReader:
    """The ``ctx.scores`` service: what ``score`` and ``score(X)`` mean where they are read."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # ---------------------------------------------------------------- score
    def name(self, e: ast.Name, scope: Scope) -> Type | None:
        ctx = self.ctx
        user = self._user_readings(scope)
        if scope.stage == "pre":
            if user:
                return None  # no score is readable here: the name means the user's declaration
            return self._too_early(e.span, "score")
        if user:
            return ctx.diag.error(
                "K201", f"'score' here could mean the unit's score or {user[0]}", e.span,
                hint=f"rename the {user[0].split(' ')[0]} (e.g. score_值) so that 'score' means one thing")
        self._note("score")
        ctx.res[e] = Resolution("score", "")
        return DECIMAL

    def _user_readings(self, scope: Scope) -> list[str]:
        """What the bare name ``score`` would mean as a declaration of the policy, in ``scope``."""
        ctx, sym = self.ctx, self.ctx.sym
        found: list[str] = []
        for item in scope.items:
            if item.kind == "record" and item.name is not None and "score" in ctx.record_fields.get(item.name, {}):
                found.append(f"field 'score' of record '{item.name}'")
        if "score" in scope.outcome_items:
            found.append("outcome item 'score'")
        for kind, table in (("fact", sym.facts), ("let", sym.lets), ("param", sym.params),
                            ("list", sym.aliases), ("checkpoint", sym.checkpoints)):
            if "score" in table:
                found.append(f"{kind} 'score'")
        return found

    # ------------------------------------------------------------- score(X)
    def call(self, e: ast.Call, scope: Scope) -> Type:
        ctx = self.ctx
        path = _path(e.args[0]) if len(e.args) == 1 else None
        if path is None:
            return ctx.diag.error("K103", "score(X) takes one target or section name, such as score(专项资金) "
                                  "or score(管理目标.考核细则)", e.span)
        written = ".".join(path)
        if scope.stage == "pre":
            return self._too_early(e.span, f"score({written})")
        categories = sorted(scope.categories) if scope.categories is not None else list(ctx.sym.categories)
        kind = self._kind(path, e.span)
        if kind is None:
            return ERROR
        if scope.stage != "let":  # a let's categories are those of its readers: checked in stage_plans
            for category in categories:
                if not names_in(ctx, kind, path, category):
                    return self._missing(kind, written, category, e.span, restrictable=True)
        ctx.res[e] = Resolution("score_of", kind, path)
        self._note(f"score({written})")
        return DECIMAL

    def _kind(self, path: tuple[str, ...], span: Span) -> str | None:
        """``target`` or ``section``: what ``path`` names in some category (K201 both, K202 neither)."""
        ctx = self.ctx
        is_target = len(path) == 1 and any(t.name == path[0] for t in ctx.sym.targets)
        is_section = any(names_in(ctx, "section", path, c) for c in ctx.sym.categories)
        if is_target and is_section:
            full = next(".".join(p) for c in ctx.sym.categories if (p := section_path(ctx, path, c)) is not None)
            hint = (f"for the section write its path, score({full}); or rename one" if "." in full
                    else "rename the target or the section")
            ctx.diag.error("K201", f"score({path[0]}) could mean target '{path[0]}' or section '{path[0]}'", span,
                           hint=hint)
            return None
        if not is_target and not is_section:
            options = [t.name for t in ctx.sym.targets]
            for category in ctx.sym.categories.values():
                options += [".".join(s.path) for s in category.all_sections()]
            ctx.diag.error("K202", f"score({'.'.join(path)}) names no target or section", span,
                           hint=did_you_mean(".".join(path), options))
            return None
        return "target" if is_target else "section"

    def _missing(self, kind: str, written: str, category: str, span: Span, restrictable: bool) -> Type:
        hint = "restrict the clause with 'for' to the categories that have it" if restrictable else \
            "restrict the clauses that read it with 'for' to the categories that have it"
        return self.ctx.diag.error("K202", f"score({written}): category '{category}' has no {kind} '{written}'",
                                   span, hint=hint)

    # ---------------------------------------------------------------- lets
    def post_let(self, e: ast.Name, scope: Scope) -> None:
        why = self.ctx.post_lets[e.ident]
        if scope.stage == "pre":
            self._too_early(e.span, f"let '{e.ident}'", f" (which reads {why})")
        elif scope.stage == "let":
            self._note(f"let '{e.ident}'")

    def _note(self, what: str) -> None:
        for reading in self.ctx.score_reading:
            reading.add(what)

    def _too_early(self, span: Span, what: str, via: str = "") -> Type:
        reader = self._reader(span)
        if isinstance(reader, ast.TargetDecl) and what.startswith("score("):
            message = (f"target '{reader.name}' reads {what}, but every target is scored before any score "
                       "can be read")
        elif isinstance(reader, ast.TargetDecl):
            message = (f"target '{reader.name}' reads {what}{via}, but the score is computed from the targets, "
                       f"'{reader.name}' among them")
        elif isinstance(reader, ast.DeferDecl):
            message = f"defer '{reader.name}' reads {what}{via}, but the score is computed after the deferrals"
        else:
            message = f"{what}{via} is read before the score is computed"
        return self.ctx.diag.error("K200", message, span, hint=_HINT)

    def _reader(self, span: Span) -> ast.TargetDecl | ast.DeferDecl | None:
        """The target or defer whose text holds ``span`` (the clause that reads too early)."""
        sym = self.ctx.sym
        decls: list[ast.TargetDecl | ast.DeferDecl] = [*sym.targets, *sym.defers]
        for decl in decls:
            if _contains(decl.span, span):
                return decl
        return None


def _contains(outer: Span, inner: Span) -> bool:
    return outer.source is inner.source and \
        (outer.line, outer.column) <= (inner.line, inner.column) and \
        (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)


def _path(e: ast.Expr) -> tuple[str, ...] | None:
    """``a.b.c`` written as names and members, as a tuple; None for anything else."""
    if isinstance(e, ast.Name):
        return (e.ident,)
    if isinstance(e, ast.Member):
        head = _path(e.obj)
        return (*head, e.field) if head is not None else None
    return None


def names_in(ctx: Context, kind: str, path: tuple[str, ...], category: str) -> bool:
    """Whether ``path`` names a target placed in ``category``, or a section of it.

    A section is named by its path from the category (``管理目标.考核细则``) or, when that is
    unique in the category, by its own name alone.
    """
    if kind == "target":
        return any(t.name == path[0] and any(p.path[0] == category for p in t.placements)
                   for t in ctx.sym.targets)
    return section_path(ctx, path, category) is not None


def section_path(ctx: Context, path: tuple[str, ...], category: str) -> tuple[str, ...] | None:
    """The full path (without the category) of the section ``path`` names in ``category``, or None."""
    info = ctx.sym.categories.get(category)
    if info is None:
        return None
    section = info.section_named(path)
    return section.path if section is not None else None


def stage_plans(ctx: Context, plans: dict[str, CategoryPlan]) -> dict[str, CategoryPlan]:
    """The pass after the plans: each category's post-scoring lets apart, their score(X) checked (K202)."""
    out: dict[str, CategoryPlan] = {}
    for name, plan in plans.items():
        post = tuple(let for let in plan.lets if let in ctx.post_lets)
        for let in post:
            for node in ast.walk(ctx.sym.lets[let].value):
                res = ctx.res.get(node) if isinstance(node, ast.Call) else None
                if res is not None and res.kind == "score_of" and isinstance(res.value, tuple) and \
                        not names_in(ctx, res.name, res.value, name):
                    assert isinstance(node, ast.Call)
                    ScoreReader(ctx)._missing(res.name, name_of(node.args[0]), name, node.span, restrictable=False)
        if post:
            plan = attrs.evolve(plan, lets=tuple(let for let in plan.lets if let not in ctx.post_lets), post_lets=post)
        out[name] = plan
    return out
