"""The ledger pass (issue #16): ``ledger`` declarations, their attribution rules, ``fact … from LEDGER``.

A ledger's rules are read over one event: bare names are the event's fields and record
lets (the ledger's record is the scope's record), params, enum members, checkpoints and
maps.  A unit's facts are read only through a charge rule's join terms (``unit.F == E``,
``E == unit.F``, ``E in unit.F``), because attribution to a unit must depend only on the
event and that unit's own join facts: then a bad unit affects only itself and the result
does not depend on the order of the input.

What the pass proves beyond types (:func:`_prove`), over the *finite* event fields the
rules' conditions read (enum and bool fields; an optional one adds none), by enumerating
every combination of their values (at most :data:`PROOF_LIMIT`; above that it says nothing):

* K270 (error): a charge rule whose every matching event an earlier ``exclude`` / ``hand
  over`` already removes can never charge (no rule both includes and excludes an event);
* K271 (warning): an ``exclude`` / ``hand over`` rule whose every matching event an earlier
  one already removes never applies;
* K272 (warning): a combination that no rule removes and no charge rule's ``when`` accepts
  — such an event would be unattributed; the warning names one.

A condition that reads a field outside those (a number, a date, a text) is "unknown" for
the combination, and the proofs only draw conclusions that hold whatever it is (Kleene's
three-valued logic): they never warn about what might be fine, and never miss a dead rule
that the finite fields alone make dead.  Join terms are not part of the proof: whether a
unit of the batch matches (``辖区 == 发生地``) is known only at run time, where the
attribution reports every event charged to nobody (``Attribution.unattributed``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from ...source import Span
from .. import ast
from ..model import JoinPlan, LedgerPlan, LedgerRulePlan, Resolution
from ..types import ERROR, TEXT, Type, comparable
from .api import Context, Scope
from .diagnostics import did_you_mean

#: the most value combinations the proofs enumerate for one ledger (above it they say nothing)
PROOF_LIMIT = 4096
#: ``unit.id`` / ``unit.name``: the unit's identity (the names runtime.ledger gives them)
UNIT_ID, UNIT_NAME = ":id", ":name"
#: the kinds a ``key`` field may have: values that name an event exactly
KEY_KINDS = ("text", "int", "enum")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def check_ledgers(ctx: Context) -> None:
    """The pass: each ledger's record, key, ``shown as`` and rules; then the facts ``from`` ledgers."""
    fed = _ledger_facts(ctx)
    plans: list[LedgerPlan] = []
    for decl in ctx.sym.ledgers.values():
        plan = _check_ledger(ctx, decl, fed.get(decl.name))
        if plan is not None:
            plans.append(plan)
    ctx.ledger_plans = list(plans)


def _ledger_facts(ctx: Context) -> dict[str, str]:
    """``fact F: list of R from LEDGER``: checked here; ledger -> its one fact (K266)."""
    sym, diag = ctx.sym, ctx.diag
    fed: dict[str, str] = {}
    for name, decl in sym.facts.items():
        if decl.ledger is None:
            continue
        ledger = sym.ledgers.get(decl.ledger)
        if ledger is None:
            diag.error("K266", f"fact '{name}' is from '{decl.ledger}', which is no ledger", decl.span,
                       hint=did_you_mean(decl.ledger, sym.ledgers) or "declare it: ledger NAME of RECORD { … }")
            continue
        ftype = ctx.fact_types.get(name, ERROR)
        if not ftype.is_error and ledger.record in sym.records and (ftype.kind != "list" or ftype.elem is None or ftype.elem.kind != "record"
                                   or ftype.elem.name != ledger.record or ftype.optional):
            diag.error("K266", f"fact '{name}' is from ledger '{ledger.name}', whose events are {ledger.record}, "
                       f"but it is declared {ftype.describe()}", decl.type.span,
                       hint=f"declare it: fact {name}: list of {ledger.record} from {ledger.name}")
        if decl.default is not None:
            diag.error("K266", f"fact '{name}' is from ledger '{ledger.name}' and so has no default", decl.default.span,
                       hint="the ledger decides: a unit charged no event gets the empty list")
        if decl.per_period:
            diag.error("K266", f"fact '{name}' is from ledger '{ledger.name}' and cannot be 'per period'", decl.span,
                       hint="periods and ledgers do not combine yet (docs/language.md, Ledgers: limits)")
        if decl.ledger in fed:
            diag.error("K266", f"facts '{fed[decl.ledger]}' and '{name}' are both from ledger '{decl.ledger}'",
                       decl.span, hint="one fact takes a ledger's events; derive others with let … = F where …")
            continue
        fed[decl.ledger] = name
    return fed


def _check_ledger(ctx: Context, decl: ast.LedgerDecl, fact: str | None) -> LedgerPlan | None:
    sym, diag = ctx.sym, ctx.diag
    if decl.record not in sym.records:
        diag.error("K259", f"ledger '{decl.name}' is of '{decl.record}', which is no record", decl.record_span or decl.span,
                   hint=did_you_mean(decl.record, sym.records) or "declare it: record NAME { field: type … }")
        return None
    fields = ctx.record_fields.get(decl.record, {})
    if decl.key is not None:
        _check_key(ctx, decl, fields)
    shown = _shown(ctx, decl, fields)
    if fact is None:
        diag.warn("K267", f"no fact takes the events of ledger '{decl.name}'", decl.span,
                  hint=f"declare one: fact NAME: list of {decl.record} from {decl.name}")
    rules: list[LedgerRulePlan] = []
    seen: set[str] = set()
    for rule in decl.rules:
        if rule.name in seen:
            diag.error("K265", f"ledger '{decl.name}' has two rules named '{rule.name}'", rule.span,
                       hint="name each rule after its clause")
        seen.add(rule.name)
        rules.append(_check_rule(ctx, decl, rule, fact))
    unit_facts: list[str] = []
    for plan in rules:
        for join in plan.joins:
            if join.unit_fact not in unit_facts and not join.unit_fact.startswith(":"):
                unit_facts.append(join.unit_fact)
    ledger = LedgerPlan(decl=decl, fact=fact, rules=tuple(rules), shown=shown, unit_facts=tuple(unit_facts))
    if not diag.has_errors():
        _prove(ctx, ledger)
    return ledger


def _check_key(ctx: Context, decl: ast.LedgerDecl, fields: dict[str, Type]) -> None:
    assert decl.key is not None
    span = decl.key_span or decl.span
    t = fields.get(decl.key)
    if t is None:
        ctx.diag.error("K260", f"ledger '{decl.name}': record {decl.record} has no field '{decl.key}' to key events by",
                       span, hint=did_you_mean(decl.key, fields))
    elif not t.is_error and (t.kind not in KEY_KINDS or t.optional):
        ctx.diag.error("K260", f"ledger '{decl.name}': key '{decl.key}' is {t.describe()}, and a key is a required "
                       "text, int or enum field", span, hint="key events by their number (编号: text)")


def _shown(ctx: Context, decl: ast.LedgerDecl, fields: dict[str, Type]) -> tuple[tuple[str, str | None], ...]:
    """``shown as "{日期} {类型}"`` → (text, field) pairs; K261 for an unknown field or a lone brace."""
    if decl.shown is None:
        return ()
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(decl.shown):
        literal = decl.shown[position:match.start()]
        if literal:
            parts.append((literal, None))
        name = match.group(1).strip()
        if name not in fields:
            ctx.diag.error("K261", f"ledger '{decl.name}': 'shown as' names '{{{name}}}', which is no field of "
                           f"{decl.record}", decl.shown_span or decl.span, hint=did_you_mean(name, fields))
        parts.append(("", name))
        position = match.end()
    tail = decl.shown[position:]
    if tail:
        parts.append((tail, None))
    if any("{" in text or "}" in text for text, field in parts if field is None):
        ctx.diag.error("K261", f"ledger '{decl.name}': 'shown as' has a '{{' or '}}' that closes no field",
                       decl.shown_span or decl.span,
                       hint="write each field as {字段}")
    return tuple(parts)


def _check_rule(ctx: Context, decl: ast.LedgerDecl, rule: ast.LedgerRule, fact: str | None) -> LedgerRulePlan:
    scope = Scope(record=decl.record, ledger=decl.name)
    reads: list[str] = []
    if rule.condition is not None:
        _condition(ctx, decl, rule.condition, scope, reads)
    if not isinstance(rule, ast.LedgerCharge):
        return LedgerRulePlan(rule=rule, reads=tuple(reads))
    categories = _categories(ctx, decl, rule)
    fed = ctx.sym.facts.get(fact) if fact is not None else None
    if fed is not None and fed.categories:
        outside = [c for c in categories if c not in fed.categories]
        if outside:
            ctx.diag.error("K265", f"charge '{rule.name}' reaches {', '.join(outside)}, whose units do not take fact "
                           f"'{fed.name}' from ledger '{decl.name}'", rule.span,
                           hint=f"charge only {', '.join(fed.categories)}, or declare '{fed.name}' for every category charged")
    joins: list[JoinPlan] = []
    for term in rule.joins:
        join = _join(ctx, decl, rule, term, categories, scope)
        if join is not None:
            joins.append(join)
            reads.extend(r for r in join.reads if r not in reads)
    return LedgerRulePlan(rule=rule, categories=categories, joins=tuple(joins), reads=tuple(reads))


def _condition(ctx: Context, decl: ast.LedgerDecl, cond: ast.Expr, scope: Scope, reads: list[str]) -> None:
    index = next((n for n in ast.walk(cond) if isinstance(n, ast.Call) and n.func == "index"), None)
    if isinstance(index, ast.Call):
        ctx.diag.error("K265", f"index(…) in a rule of ledger '{decl.name}': an event has no position in a unit's list "
                       "yet", index.span, hint="a ledger rule reads the event's fields")
        return
    t = ctx.exprs.expr(cond, scope)
    ctx.diag.expect_bool(t, cond, "a ledger rule's condition")
    reads.extend(r for r in event_reads(ctx, decl.record, cond) if r not in reads)


def _categories(ctx: Context, decl: ast.LedgerDecl, rule: ast.LedgerCharge) -> tuple[str, ...]:
    if rule.categories in (("unit",), ("units",)) and "unit" not in ctx.sym.categories \
            and "units" not in ctx.sym.categories:
        return tuple(ctx.sym.categories)
    for name in rule.categories:
        if name not in ctx.sym.categories:
            ctx.diag.error("K265", f"charge '{rule.name}' of ledger '{decl.name}' names unknown category '{name}'",
                           rule.span, hint=did_you_mean(name, ctx.sym.categories) or "or charge to units (every category)")
    return tuple(c for c in rule.categories if c in ctx.sym.categories)


def _join(ctx: Context, decl: ast.LedgerDecl, rule: ast.LedgerCharge, term: ast.JoinTerm,
          categories: tuple[str, ...], scope: Scope) -> JoinPlan | None:
    diag, sym = ctx.diag, ctx.sym
    if term.unit_fact is None or term.value is None:
        hint = "write unit.F == E, E == unit.F or E in unit.F, joined by and"
        if isinstance(term.expr, ast.InList) and isinstance(term.expr.value, ast.Member) \
                and isinstance(term.expr.value.obj, ast.Name) and term.expr.value.obj.ident == "unit":
            hint = "write one term per value (or map the event's value with a map): unit.F == E"
        diag.error("K262", f"charge '{rule.name}' of ledger '{decl.name}': this is not a join term", term.span, hint=hint)
        return None
    value_type = ctx.exprs.expr(term.value, scope)
    reads = event_reads(ctx, decl.record, term.value)
    if term.unit_fact in ("id", "name") and term.unit_fact not in sym.facts:
        fact_type: Type = TEXT
        unit_fact = UNIT_ID if term.unit_fact == "id" else UNIT_NAME
    else:
        if term.unit_fact in ("id", "name"):
            diag.error("K264", f"'unit.{term.unit_fact}' could be the unit's {term.unit_fact} or the fact "
                       f"'{term.unit_fact}'", term.span, hint=f"rename the fact '{term.unit_fact}'")
            return None
        fact = sym.facts.get(term.unit_fact)
        if fact is None:
            diag.error("K264", f"charge '{rule.name}': 'unit.{term.unit_fact}' names no fact", term.span,
                       hint=did_you_mean(term.unit_fact, sym.facts) or "unit.id and unit.name are the unit's identity")
            return None
        missing = [c for c in categories if fact.categories and c not in fact.categories]
        if missing:
            diag.error("K264", f"charge '{rule.name}' reaches {', '.join(missing)}, whose units do not supply fact "
                       f"'{fact.name}'", term.span,
                       hint=f"declare the fact for them (for {', '.join(categories)}) or charge only {', '.join(fact.categories)}")
        if fact.ledger is not None:
            diag.error("K264", f"charge '{rule.name}' joins on '{fact.name}', which is itself from ledger '{fact.ledger}'",
                       term.span, hint="join on facts the unit supplies (its district, its sectors)")
            return None
        fact_type = ctx.fact_types.get(fact.name, ERROR)
        unit_fact = fact.name
        ctx.facts_read.add(fact.name)
    if value_type.is_error or fact_type.is_error:
        return JoinPlan(term=term, unit_fact=unit_fact, mode=term.mode, value=term.value, reads=reads)
    if term.mode == "in":
        if fact_type.kind != "list" or fact_type.elem is None:
            diag.error("K264", f"'in unit.{term.unit_fact}' needs a list fact, and it is {fact_type.describe()}",
                       term.span, hint=f"write unit.{term.unit_fact} == …")
        elif not comparable(value_type.required(), fact_type.elem.required(), "=="):
            diag.error("K264", f"the event's value is {value_type.describe()} and unit.{term.unit_fact} holds "
                       f"{fact_type.elem.describe()}", term.span)
    elif fact_type.kind == "list":
        diag.error("K264", f"unit.{term.unit_fact} is a list: write E in unit.{term.unit_fact}", term.span)
    elif not comparable(value_type.required(), fact_type.required(), "=="):
        diag.error("K264", f"the event's value is {value_type.describe()} and unit.{term.unit_fact} is "
                   f"{fact_type.describe()}", term.span)
    return JoinPlan(term=term, unit_fact=unit_fact, mode=term.mode, value=term.value, reads=reads)


def event_reads(ctx: Context, record: str, e: ast.Expr) -> tuple[str, ...]:
    """The event's fields ``e`` reads, in first-read order, a record let expanded to the fields it reads."""
    out: list[str] = []
    lets = {let.name: let for let in ctx.sym.records[record].lets} if record in ctx.sym.records else {}

    def visit(node: object, seen: frozenset[str]) -> None:
        for sub in _nodes(node):
            res = ctx.res.get(sub) if isinstance(sub, (ast.Name, ast.Member)) else None
            if res is None or res.kind != "record_field":
                continue
            if res.name in lets and res.name not in seen:
                visit(lets[res.name].value, seen | {res.name})
            elif res.name not in lets and res.name not in out:
                out.append(res.name)

    visit(e, frozenset())
    return tuple(out)


def _nodes(root: object) -> Iterator[object]:
    """The nodes below ``root`` in source order (``ast.walk`` has none)."""
    yield root
    if isinstance(root, tuple):
        for item in root:
            yield from _nodes(item)
    elif hasattr(root, "__attrs_attrs__") and not isinstance(root, Span):
        for field in root.__attrs_attrs__:
            if field.name != "span":
                yield from _nodes(getattr(root, field.name))


# ----------------------------------------------------------------------- the proofs

_UNKNOWN = object()  # a value the enumeration does not fix (a number, a date, a text field)


def _prove(ctx: Context, ledger: LedgerPlan) -> None:
    """K270 / K271 / K272 over every combination of the finite fields the conditions read (module docstring)."""
    record = ledger.decl.record
    fields = ctx.record_fields.get(record, {})
    read: list[str] = []
    for plan in ledger.rules:
        if plan.condition is not None:
            read.extend(r for r in event_reads(ctx, record, plan.condition) if r not in read)
    domains: list[tuple[str, tuple[object, ...]]] = []
    size = 1
    for name in read:
        t = fields.get(name)
        if t is None or t.is_error:
            continue
        if t.kind == "bool":
            values: tuple[object, ...] = (False, True)
        elif t.kind == "enum" and t.name in ctx.sym.enums:
            values = tuple(range(len(ctx.sym.enums[t.name].members)))
        else:
            continue
        if t.optional:
            values += (None,)
        domains.append((name, values))
        size *= len(values)
        if size > PROOF_LIMIT:
            return
    evaluator = _Evaluator(ctx, record)
    removes = [p for p in ledger.rules if p.kind != "charge"]
    charges = [p for p in ledger.rules if p.kind == "charge"]
    live: set[int] = set()  # the rules some combination may reach (by id)
    blockers: dict[int, list[str]] = {id(p): [] for p in ledger.rules}  # who surely removed what it matches
    gap: dict[str, object] | None = None
    gaps = 0
    for combo in itertools.product(*(values for _, values in domains)):
        env = dict(zip((name for name, _ in domains), combo))
        remover: str | None = None  # the first remove rule that surely holds
        maybe_removed = False
        for plan in removes:
            truth = evaluator.truth(plan.condition, env)
            if truth is not False:
                _reach(plan, remover, live, blockers)
            if truth is True and remover is None:
                remover = plan.rule.name
            maybe_removed = maybe_removed or truth is not False
        accepted = False
        for plan in charges:
            truth = evaluator.truth(plan.condition, env)
            if truth is not False:
                _reach(plan, remover, live, blockers)
                accepted = True
        if remover is None and not maybe_removed and not accepted:
            gaps += 1
            if gap is None:
                gap = env
    name = ledger.decl.name
    for plan in ledger.rules:
        if id(plan) in live:
            continue
        by = ", ".join(blockers[id(plan)])
        why = f"every event it matches is removed by {by}" if by else "its condition holds for no event"
        if plan.kind == "charge":
            ctx.diag.error("K270", f"rule {plan.rule.name} of ledger '{name}' can never charge: {why}", plan.rule.span,
                           hint="an event removed by exclude or hand over reaches no unit: narrow the earlier rule, "
                                "or remove this one")
        else:
            ctx.diag.warn("K271", f"rule {plan.rule.name} of ledger '{name}' never applies: {why}", plan.rule.span,
                          hint="the first exclude or hand over that holds decides")
    if gap is not None:
        example = ", ".join(f"{field}={_show(ctx, fields[field], value)}" for field, value in gap.items()) or "every event"
        more = f" (and {gaps - 1} more such combinations)" if gaps > 1 else ""
        ctx.diag.warn("K272", f"ledger '{name}': {example}: no rule charges or excludes it{more}", ledger.decl.span,
                      hint="such an event is unattributed: add a charge or an exclude rule for it")


def _reach(plan: LedgerRulePlan, remover: str | None, live: set[int], blockers: dict[int, list[str]]) -> None:
    """A combination ``plan``'s condition may accept: live unless ``remover`` surely took it first."""
    if remover is None:
        live.add(id(plan))
    elif remover not in blockers[id(plan)]:
        blockers[id(plan)].append(remover)


def _show(ctx: Context, t: Type, value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if t.kind == "enum" and t.name in ctx.sym.enums and isinstance(value, int):
        return ctx.sym.enums[t.name].members[value].name
    return str(value)


class _Evaluator:
    """Three-valued reading of a condition (True / False / _UNKNOWN) over the enumerated fields."""

    def __init__(self, ctx: Context, record: str) -> None:
        self.ctx = ctx
        self.lets = {let.name: let for let in ctx.sym.records[record].lets}

    def truth(self, e: ast.Expr | None, env: dict[str, object]) -> object:
        if e is None:
            return True
        value = self.value(e, env)
        return value if isinstance(value, bool) else _UNKNOWN

    def value(self, e: ast.Expr, env: dict[str, object]) -> object:  # noqa: C901, PLR0911, PLR0912 - one case per node
        res: Resolution | None = self.ctx.res.get(e)
        if isinstance(e, ast.BoolLit):
            return e.value
        if isinstance(e, (ast.Name, ast.Member)) and res is not None:
            if res.kind == "enum":
                return res.value
            if res.kind == "param":
                value = self.ctx.param_values.get(res.name, _UNKNOWN)
                return value if isinstance(value, bool) else _UNKNOWN
            if res.kind == "record_field":
                if res.name in env:
                    return env[res.name]
                if res.name in self.lets:
                    return self.value(self.lets[res.name].value, env)
            return _UNKNOWN
        if isinstance(e, ast.Not):
            inner = self.value(e.operand, env)
            return (not inner) if isinstance(inner, bool) else _UNKNOWN
        if isinstance(e, (ast.And, ast.Or)):
            left, right = self.truth(e.left, env), self.truth(e.right, env)
            stop = isinstance(e, ast.Or)  # the value that decides: true for or, false for and
            if left is stop or right is stop:
                return stop
            return (not stop) if left is (not stop) and right is (not stop) else _UNKNOWN
        if isinstance(e, ast.Compare) and e.op in ("==", "!="):
            a, b = self.value(e.left, env), self.value(e.right, env)
            if a is _UNKNOWN or b is _UNKNOWN or a is None or b is None:
                return _UNKNOWN
            return (a == b) if e.op == "==" else (a != b)
        if isinstance(e, ast.InList) and isinstance(e.container, ast.ListLit):
            v = self.value(e.value, env)
            if v is None:  # none is in no list (docs/language.md, map), whatever the items
                return False
            items = [self.value(i, env) for i in e.container.items]
            if v is _UNKNOWN or any(i is _UNKNOWN for i in items):
                return _UNKNOWN
            return v in items
        if isinstance(e, ast.IsSet):
            v = self.value(e.operand, env)
            if v is _UNKNOWN:
                return _UNKNOWN
            return (v is not None) == e.expect_set
        if isinstance(e, ast.If):
            cond = self.truth(e.cond, env)
            if cond is _UNKNOWN:
                return _UNKNOWN
            return self.value(e.then if cond else e.otherwise, env)
        if isinstance(e, ast.Call) and res is not None and res.kind == "map" and len(e.args) == 1:
            arg = self.value(e.args[0], env)
            if arg is _UNKNOWN:
                return _UNKNOWN
            return None if arg is None else self.ctx.map_values.get(res.name, {}).get(arg)  # type: ignore[call-overload]
        if isinstance(e, ast.Coalesce):
            left = self.value(e.left, env)
            if left is _UNKNOWN:
                return _UNKNOWN
            return self.value(e.right, env) if left is None else left
        return _UNKNOWN


