"""``LedgerSpec`` values from a checked policy's ledgers (issue #16), whatever computes the predicates.

The compiled module binds the generated functions (:mod:`kaohe_rules.codegen.ledgers`); the
reference interpreter binds its own reading of the same AST
(:func:`kaohe_rules.runtime.interpreter.ledger_specs`).  Both go through :func:`build_spec`, so
the two differ only in the callables — what the differential test compares.
"""

from __future__ import annotations

from collections.abc import Callable

from ..language import ast
from ..language.model import LedgerPlan, LedgerRulePlan
from .ledger import Event, JoinTerm, LedgerRule, LedgerSpec

Predicate = Callable[[Event], bool]
KeyFunction = Callable[[Event], object]


def build_spec(plan: LedgerPlan, when: Callable[[LedgerRulePlan], Predicate | None],
               key: Callable[[LedgerRulePlan, int], KeyFunction]) -> LedgerSpec:
    """The spec of one checked ledger, ``when(rule)`` and ``key(rule, k)`` giving the callables."""
    decl = plan.decl
    rules = tuple(_rule(rule, when(rule), key) for rule in plan.rules)
    return LedgerSpec(name=decl.name, label=decl.label, cite=decl.cite, record=decl.record, fact=plan.fact,
                      key_field=decl.key, shown=plan.shown, rules=rules, unit_facts=plan.unit_facts,
                      source=decl.source)


def _rule(plan: LedgerRulePlan, when: Predicate | None,
          key: Callable[[LedgerRulePlan, int], KeyFunction]) -> LedgerRule:
    rule = plan.rule
    if isinstance(rule, ast.LedgerExclude):
        return LedgerRule(kind="exclude", name=rule.name, label=rule.label, cite=rule.cite, when=when,
                          reason=rule.because or rule.label, reads=plan.reads)
    if isinstance(rule, ast.LedgerHandOver):
        return LedgerRule(kind="hand_over", name=rule.name, label=rule.label, cite=rule.cite, when=when,
                          to=rule.to, reads=plan.reads)
    joins = tuple(JoinTerm(unit_fact=j.unit_fact, mode="in" if j.mode == "in" else "eq", key=key(plan, k), reads=j.reads)
                  for k, j in enumerate(plan.joins))
    return LedgerRule(kind="charge", name=rule.name, label=rule.label, cite=rule.cite, when=when,
                      categories=plan.categories, joins=joins, reads=plan.reads)
