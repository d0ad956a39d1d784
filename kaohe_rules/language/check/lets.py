"""Lets and defers: derived values and the lists a ``defer`` moves items out of.

A let is typed on first use (a rule may read a let declared below it), so
:class:`LetChecker` is also the ``ctx.lets`` service the expression checker calls;
a let met again while being checked is a cycle (K130).  Each let records what it
reads (``reads``), which lets and deferred lists it depends on (for the evaluation
order in ``plans``) and which categories can supply its facts (K108).
"""

from __future__ import annotations

from .. import ast
from ..types import ERROR, Type, assignable
from .api import Context, Scope


class LetChecker:
    """Types each let once, on first use or in the let pass, whichever comes first."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._state: dict[str, str] = {}  # "busy" while checking (a cycle), then "done"

    def check_let(self, name: str) -> Type:
        ctx = self.ctx
        state = self._state.get(name)
        decl = ctx.sym.lets[name]
        if state == "done":
            return ctx.let_types[name]
        if state == "busy":
            ctx.diag.error("K130", f"let '{name}' depends on itself", decl.span,
                           hint="break the cycle: one of the values must be computed from facts alone")
            ctx.let_types[name] = ERROR
            return ERROR
        self._state[name] = "busy"
        ctx.reading.append(set())
        ctx.fact_restrictions.append(set())
        ctx.score_reading.append(set())
        vtype = ctx.exprs.expr(decl.value, Scope(stage="let"))
        scores_read = ctx.score_reading.pop()
        if scores_read:  # a post-scoring let: computed after the score (issue #10 A2)
            ctx.post_lets[name] = sorted(scores_read)[0]
        deps = ctx.reading.pop()
        restriction = ctx.fact_restrictions.pop()
        if decl.type is not None:
            declared = ctx.resolve_type(decl.type)
            if not assignable(vtype, declared):
                ctx.diag.type_mismatch(f"'{name}'", vtype, declared, decl.value)
            vtype = declared
        ctx.let_types[name] = vtype
        ctx.let_deps[name] = {d for d in deps if d in ctx.sym.lets or d in ctx.sym.aliases}
        ctx.reads[decl] = tuple(sorted(deps))
        ctx.let_avail[name] = frozenset(restriction) if restriction else None
        self._state[name] = "done"
        return vtype


def check_lets(ctx: Context) -> None:
    """The pass: every let not yet typed through a use."""
    for name in list(ctx.sym.lets):
        ctx.lets.check_let(name)


def check_defers(ctx: Context) -> None:
    """The pass: each defer takes items from a list (a fact, another defer's kept list, a let) by a
    boolean condition on the item (issue #16: a chain of defers, each removing what it names)."""
    for defer in ctx.sym.defers:
        _defer(ctx, defer)


def _defer(ctx: Context, decl: ast.DeferDecl) -> None:
    cats = ctx.category_refs(decl.categories, decl.span, f"defer '{decl.name}'")
    sym = ctx.sym
    named = next((d for d in sym.defers if d.name == decl.source_list), None)
    if named is not None and decl.source_list not in sym.global_names:  # issue #16: the defer, not its kept list
        ctx.diag.error("K273", f"defer '{decl.name}' takes items from '{decl.source_list}', which is a defer: "
                       f"its kept items are '{named.alias}'", decl.span,
                       hint=f"write: from {named.alias} (the items defer '{named.name}' did not move)")
        return
    cycle = _source_cycle(ctx, decl)
    if cycle:
        ctx.diag.error("K130", f"defer '{decl.name}' takes items from its own kept list (through {' -> '.join(cycle)})",
                       decl.span, hint="a chain of defers starts from a list fact")
        return
    source = ast.Name(ident=decl.source_list, span=decl.span)  # typed like a written name, never read later
    stype = ctx.exprs.expr(source, Scope(categories=cats))
    if stype.is_error:
        return
    if stype.kind != "list" or stype.elem is None:
        ctx.diag.error("K103", f"defer '{decl.name}' must take items from a list, not {stype.describe()}", decl.span)
        return
    ctx.diag.expect_required(stype, source)
    ctx.reading.append(set())
    item_scope = ctx.exprs.item_scope(Scope(categories=cats), stype.elem, decl.item_name, decl.span)  # ``from L as NAME``
    ctype = ctx.exprs.expr(decl.where, item_scope)
    ctx.reads[decl] = tuple(sorted(ctx.reading.pop()))
    ctx.diag.expect_bool(ctype, decl.where, f"the condition of defer '{decl.name}'")


def _source_cycle(ctx: Context, decl: ast.DeferDecl) -> list[str]:
    """The chain of kept lists back to ``decl``'s own, if its source leads there (else empty)."""
    chain: list[str] = []
    source = decl.source_list
    while source in ctx.sym.aliases and source not in chain:
        chain.append(source)
        if source == decl.alias:
            return chain
        source = ctx.sym.aliases[source].source_list
    return []


def warn_unused_lets(ctx: Context) -> None:
    """K181: a let that nothing reads and that is not ``report``ed computes a value no one sees.

    Runs after every pass that reads (rules, vetoes, defers, lets, outcomes), from the
    ``reads`` side table they all fill.
    """
    read: set[str] = set()
    for reader, names in ctx.reads.items():
        itself = reader.name if isinstance(reader, ast.LetDecl) else None  # a let in a cycle reads itself
        read.update(n for n in names if n != itself)
    for name, decl in ctx.sym.lets.items():
        if name not in read and not decl.report:
            ctx.diag.warn("K181", f"let '{name}' is declared but nothing reads it", decl.span,
                          hint="mark it 'report' if it is a result of its own, use it, or remove it")
