"""The code of a policy's ledgers (issue #16): one function per attribution rule's condition and
per join term's event expression, each over one event dict ``r``.

The functions are generated from the checked AST only, as record lets' ``derive`` functions
are (the same expression compiler, the same ``record_dict`` frame: a field is ``r[key]``), and
are written only for a policy that declares ledgers, so every other policy's generated source
is byte-identical to what it was.  :class:`LedgerCode` carries the function names; the runtime
(:class:`~kaohe_rules.runtime.evaluator.CompiledModule`) binds them into
:class:`~kaohe_rules.runtime.ledger.LedgerSpec` values.
"""

from __future__ import annotations

import attrs

from ..language.model import LedgerPlan
from .emitter import Emitter, Site
from .exprs import ExprCompiler
from .frame import Frame, Symbols
from .unit import UnitCompiler


@attrs.frozen
class RuleCode:
    """The generated names of one rule: its ``when`` (None: no condition) and its join terms' key functions."""

    when: str | None
    joins: tuple[str, ...] = ()


@attrs.frozen
class LedgerCode:
    """A checked ledger and the names of its generated functions, rule by rule."""

    plan: LedgerPlan
    rules: tuple[RuleCode, ...]


def ledger_functions(unit: UnitCompiler, out: Emitter, index: int, plan: LedgerPlan) -> LedgerCode:
    """Write ``def ledger_I_J(r):`` (rule J's condition) and ``def ledger_I_J_K(r):`` (its join K's value)."""
    ctx = unit.context(out)
    exprs = ExprCompiler(ctx, Frame(Symbols(), kind="record_dict"))
    rules: list[RuleCode] = []
    for j, rule in enumerate(plan.rules):
        when: str | None = None
        site = Site(f"rule {rule.rule.name} of ledger {plan.name}", rule.rule.span)
        if rule.condition is not None:
            when = f"ledger_{index}_{j}"
            out.writeline(f"def {when}(r):")
            with out.indent(), out.at(site):
                out.writeline(f"return {exprs.visit(rule.condition)}")
            out.writeline("")
        joins: list[str] = []
        for k, join in enumerate(rule.joins):
            name = f"ledger_{index}_{j}_{k}"
            out.writeline(f"def {name}(r):")
            with out.indent(), out.at(Site(site.where, join.term.span)):
                out.writeline(f"return {exprs.visit(join.value)}")
            out.writeline("")
            joins.append(name)
        rules.append(RuleCode(when, tuple(joins)))
    return LedgerCode(plan, tuple(rules))
