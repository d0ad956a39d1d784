"""The per-category evaluator: a unit's facts (already in locals) → the raw result tuple.

Why apart from the entry module: the same statements are written into two kinds
of function — the evaluators ``evaluate_N(f, T)`` (plain and traced), which read
their facts from a dictionary, and the fused ``assess_N(raw)`` of
:mod:`kaohe_rules.codegen.facts`, which checks the raw facts into locals first.
:meth:`UnitCompiler.body` writes them against whatever :class:`Frame` the caller
has bound the facts in, so both functions are composed from one set of symbols
instead of spliced text.

Every statement is written for a :class:`~kaohe_rules.codegen.emitter.Site` (the
let, rule, veto or outcome it computes), so the source map names the clause an
evaluation error comes from.
"""

from __future__ import annotations

from contextlib import ExitStack, nullcontext
from decimal import Decimal
from typing import assert_never

import attrs

from ..language import abi, ast
from ..language.model import CategoryPlan, CheckedPolicy, PlacedTarget, Reader
from .constants import ConstantTable, int_literal
from .emitter import Emitter, Site
from .exprs import Context, ExprCompiler, indexed_at
from .frame import COHORT_PARAMETER as COHORT_PARAMETER
from .frame import SCORE_KEY, Frame, Symbols, score_key

#: where an error after the last target (sections, score, vetoes, bands, outcomes) is reported
LATE_WHERE = "a veto or an outcome"


def unconditional_aggregates(policy: CheckedPolicy) -> frozenset[ast.Aggregate]:
    """The aggregates a category function always evaluates, as statements.

    A generator expression costs a function object, a frame and a resume per
    item; for the short lists of a unit (a few accidents, a few records) that
    dwarfs the work.  An aggregate that is evaluated whenever the statement
    holding it runs — not under ``and``/``or``/``if``/``??`` or a rule's
    conditional part, not inside another aggregate — can instead be computed
    by a plain loop emitted just before that statement: the same values, so the
    same result.  Not always the same *first* error: the loop runs before the
    operands to its left, so with two faults in one statement the other may
    surface first.  The traced evaluator therefore keeps every aggregate an
    expression, the loop's lines are marked ``reordered`` in the source map, and
    ``Policy`` asks the traced evaluator for an error raised there.
    """
    roots: list[ast.Expr | None] = [let.value for let in policy.lets.values()]
    for target in policy.targets:
        for rule in target.rules:
            parts = ast.rule_parts(rule)
            if isinstance(rule, (ast.DeductWhen, ast.DeductUnless, ast.Full)):
                roots.append(parts.condition)  # the amount is evaluated only on one branch
            else:
                roots.extend((parts.amount, parts.per, parts.cap))
    roots.extend(veto.condition for veto in policy.vetoes if veto.on_list is None)
    found: set[ast.Aggregate] = set()
    while roots:
        e = roots.pop()
        if isinstance(e, ast.Aggregate):
            if e.func in ("count", "sum", "any", "all") and not (e.func == "count" and e.where is None):
                found.add(e)
        elif isinstance(e, (ast.Compare, ast.Binary)):
            roots.extend((e.left, e.right))
        elif isinstance(e, (ast.Not, ast.Neg)):
            roots.append(e.operand)
    return frozenset(found)


def flat_sum(parts: list[str]) -> str:
    """Left to right as a chain of ``+`` adds, but flat and in C: ``sum(rest, first)``."""
    if len(parts) > 2:
        return f"sum(({', '.join(parts[1:])},), {parts[0]})"
    return " + ".join(parts) if parts else "0"


def derived_site(record: ast.RecordDecl, let: ast.LetDecl) -> Site:
    """The site of a record's derived field (computed while the facts are read)."""
    return Site(f"a derived field (let) of record {record.name}", let.span)


def _cited(text: str, cite: str | None) -> str:
    return text + (f"〔{cite}〕" if cite else "")


@attrs.frozen
class _Sites:
    """The sites of one category's clauses, with the ``where`` texts errors have always shown."""

    lets: tuple[str, ...]  # the plan's own let declarations, in evaluation order
    policy: CheckedPolicy
    plan: CategoryPlan

    def defer(self, defer: ast.DeferDecl) -> Site:
        return Site(f"let {self.lets[0]}" if self.lets else "a deferral or the first rule", defer.span)

    def let(self, name: str) -> Site:
        decl = self.policy.lets[name]
        position = self.lets.index(name)
        # the first let has always been named without its cite
        return Site(f"let {decl.name}" if position == 0 else _cited(f"let {decl.name}", decl.cite), decl.span)

    def rule(self, index: int, rule_index: int) -> Site:
        target = self.plan.targets[index].target
        rules = target.rules
        span = rules[rule_index].span if rule_index < len(rules) else target.span
        if index == 0 and rule_index == 0 and not self.lets:
            return Site("a deferral or the first rule", span)
        return Site(_cited(f"target {target.name}, rule {rule_index + 1}", target.cite), span)


class UnitCompiler:
    """Writes the evaluator statements of one checked policy's categories."""

    def __init__(self, policy: CheckedPolicy, table: ConstantTable | None = None,
                 hoistable: frozenset[ast.Aggregate] | None = None) -> None:
        self.policy = policy
        self.table = table if table is not None else ConstantTable()
        self.hoistable = unconditional_aggregates(policy) if hoistable is None else hoistable

    def context(self, out: Emitter) -> Context:
        return Context(self.policy, self.table, out, self.hoistable)

    # -------------------------------------------------------------- records
    def derive_function(self, out: Emitter, name: str, record: ast.RecordDecl) -> None:
        """``def name(r):`` computing the record's derived fields into the dict ``r`` (the generic path)."""
        ctx = self.context(out)
        exprs = ExprCompiler(ctx, Frame(Symbols(), kind="record_dict"))
        out.writeline(f"def {name}(r):")
        with out.indent():
            for let in record.lets:
                with out.at(derived_site(record, let)):
                    out.writeline(f"r[{ctx.key(let.name)}] = {exprs.visit(let.value)}")
            out.writeline("return r")
        out.writeline("")

    def derived_fields(self, out: Emitter, frame: Frame, record: ast.RecordDecl) -> list[tuple[str, str]]:
        """Compute the record's derived fields into fresh locals of ``frame`` (a record frame whose
        symbols hold the record's fields); returns (field name, local) pairs in order."""
        ctx = self.context(out)
        exprs = ExprCompiler(ctx, frame)
        pairs: list[tuple[str, str]] = []
        for let in record.lets:
            local = f"w{frame.symbols.count('w')}"
            with out.at(derived_site(record, let)):
                out.writeline(f"{local} = {exprs.visit(let.value)}")
            frame.symbols.declare(let.name, local)
            pairs.append((let.name, local))
        return pairs

    # ------------------------------------------------------------ functions
    def evaluator(self, out: Emitter, plan: CategoryPlan, name: str, traced: bool) -> tuple[tuple[str, ...], ...]:
        """``def name(f, T):`` — facts read from the dict ``f``; returns the sections' output order."""
        ctx = self.context(out)
        frame = Frame(Symbols(), traced=traced)
        # a cohort policy (issue #11 C): the unit's standing as a third parameter
        out.writeline(f"def {name}(f, T{', ' + COHORT_PARAMETER if self.policy.cohort is not None else ''}):")
        with out.indent():
            for fact in plan.facts:
                out.writeline(f"{frame.symbols.fact(fact)} = f[{ctx.key(fact)}]")
            order, returned = self.body(out, frame, plan)
            out.writeline(f"return {returned}")
        out.writeline("")
        return order

    def body(self, out: Emitter, frame: Frame, plan: CategoryPlan) -> tuple[tuple[tuple[str, ...], ...], str]:
        """The statements after the facts are bound in ``frame``; (section order, the raw-result tuple)."""
        return _Body(self, out, frame, plan).write()


class _Body:
    """One category's statements written into one function (the state of a single write)."""

    def __init__(self, unit: UnitCompiler, out: Emitter, frame: Frame, plan: CategoryPlan) -> None:
        self.policy = unit.policy
        self.ctx = unit.context(out)
        self.out = out
        self.frame = frame
        self.symbols = frame.symbols
        self.exprs = ExprCompiler(self.ctx, frame)
        self.plan = plan
        self.sites = _Sites(tuple(n for n in plan.lets if n in self.policy.lets), self.policy, plan)
        self._int_points: set[str] = set()  # the targets whose points are an int literal

    def write(self) -> tuple[tuple[tuple[str, ...], ...], str]:
        out, plan = self.out, self.plan
        out.writeline("DF = []")
        periodic = ExitStack()  # a policy with periods (issue #11 P): the scoring runs once per period
        if self.policy.periods is not None:
            self._period_loop(periodic)
        for let_name in plan.pre_lets:  # issue #16: the lets a defer takes items from
            with out.at(Site(f"let {let_name}", self.policy.lets[let_name].span)):
                self._let(let_name)
        for defer_index, defer in enumerate(plan.defers):
            with out.at(self.sites.defer(defer)):
                self._defer(defer, defer_index)
        for let_name in plan.lets:
            if let_name in self.policy.lets:
                with out.at(self.sites.let(let_name)):
                    self._let(let_name)
        target_locals: list[str] = []
        by_section: dict[tuple[str, ...], list[str]] = {}
        int_targets: set[str] = set()
        for t_index, placed in enumerate(plan.targets):
            local = self._target(placed, t_index) if not self._only_in(placed) else self._period_target(placed, t_index)
            target_locals.append(local)
            if self._int_valued(placed, local):
                int_targets.add(local)
            by_section.setdefault(placed.section, []).append(local)
        with out.at(Site(LATE_WHERE)):
            order, section_locals = self._sections(by_section, int_targets)
            if self.policy.periods is not None:
                self._period_results(periodic, order, section_locals, target_locals)
            self._declare_scores(target_locals, section_locals)
            self._vetoes_and_rating()
            if self.policy.cohort is not None:  # nothing is generated for a policy without a cohort block
                self._cohort()
        for rating_name, outcome in self.policy.outcomes.items():
            with out.at(Site(LATE_WHERE, outcome.span)):
                self._outcome(outcome, self._ratings.index(rating_name))
        if self.policy.general_outcomes:  # nothing is generated for a policy without them
            for g_index, outcome in enumerate(self.policy.general_outcomes):
                with out.at(Site(LATE_WHERE, outcome.span)):
                    self._outcome(outcome, None, f"G{g_index}")
            out.writeline(f"OUT = (OUT, ({''.join(f'G{g}, ' for g in range(len(self.policy.general_outcomes)))}))")
        sections_tuple = "(" + "".join(f"{section_locals[p]}, " for p in order) + ")"
        targets_tuple = "(" + "".join(f"{t}, " for t in target_locals) + ")"
        returned = (f"(SCORE, {sections_tuple}, {targets_tuple}, V, XV, DF, BAND, RATING, OUT, "
                    f"{self._effects_value}, " + ("BASE, BONUS)" if plan.category.has_bonus else "SCORE, 0)"))
        if self.policy.cohort is not None:  # the ranking keys and ``among`` (abi.RAW_COHORT)
            returned = returned[:-1] + ", CO)"
        if self.policy.periods is not None:  # the periods' results, last (abi.RAW_PERIODS, issue #11 P)
            returned = returned[:-1] + ", PR)"
        return tuple(order), returned

    @property
    def _ratings(self) -> list[str]:
        return [r.name for r in self.policy.ratings.ratings]

    # ------------------------------------------------------------- sections
    def _sections(self, by_section: dict[tuple[str, ...], list[str]],
                  int_targets: set[str]) -> tuple[list[tuple[str, ...]], dict[tuple[str, ...], str]]:
        out, plan, ctx = self.out, self.plan, self.ctx
        order: list[tuple[str, ...]] = [section.path for section in plan.category.all_sections()]
        section_locals: dict[tuple[str, ...], str] = {}

        def section_value(path: tuple[str, ...]) -> str:
            if path in section_locals:
                return section_locals[path]
            info = next(s for s in plan.category.all_sections() if s.path == path)
            if info.is_leaf:
                local = f"S{len(section_locals)}"
                parts = by_section.get(path, [])
                quick = sorted(parts, key=lambda part: part not in int_targets)
                if not self.frame.traced and quick != parts:
                    # The scores that are surely ints first: sum() adds ints in C until the first
                    # Decimal and falls back to generic addition for every later term.  Scores
                    # are never negative, so if this order rounds nothing (34 digits), neither
                    # does declaration order and both give the exact sum; if it does round
                    # (a proportional score has 34 digits), add again in declaration order.
                    if self.symbols.first("_fl"):
                        out.writeline("_fl = _context_flags()")
                    out.writeline("_fl[_ROUNDED] = False")
                    out.writeline(f"{local} = {flat_sum(quick)}")
                    out.writeline(f"if _fl[_ROUNDED]: {local} = {flat_sum(parts)}")
                else:  # declaration order, as the reference interpreter adds
                    out.writeline(f"{local} = {flat_sum(parts)}")
                if info.bonus:  # a bonus section (加分): never negative, at most its cap
                    if info.cap is not None:
                        out.writeline(f"if {local} > {ctx.number(info.cap)}: {local} = {ctx.number(info.cap)}")
                else:
                    out.writeline(f"if {local} < 0: {local} = 0")
            else:
                parts = [section_value(c.path) for c in info.children]
                # named after the children, so a parent never shares a local with its first child
                local = f"S{len(section_locals)}"
                out.writeline(f"{local} = {' + '.join(parts)}")
            section_locals[path] = local
            return local

        tops = [section_value(s.path) for s in plan.category.sections]
        for path in order:
            section_value(path)
        category = plan.category
        if not category.has_bonus:
            out.writeline(f"SCORE = {' + '.join(tops) if tops else '0'}")
            return order, section_locals
        # bonus points (加分): score = base + min(overall cap, the bonus sections)
        base = [local for local, s in zip(tops, category.sections) if not s.bonus]
        bonus = [local for local, s in zip(tops, category.sections) if s.bonus]
        out.writeline(f"BASE = {' + '.join(base) if base else '0'}")
        out.writeline(f"BONUS = {' + '.join(bonus)}")
        if category.bonus_cap is not None:
            cap = ctx.number(category.bonus_cap)
            out.writeline(f"if BONUS > {cap}: BONUS = {cap}")
        out.writeline("SCORE = BASE + BONUS")
        return order, section_locals

    def _vetoes_and_rating(self) -> None:
        out, plan, ctx = self.out, self.plan, self.ctx
        self._effects_value = "None"
        if self._staged:
            out.writeline("RAW = SCORE")  # ``score`` reads the score before score effects, wherever it is read
        self._post_lets()
        out.writeline("V = []")
        out.writeline("XV = []")
        for v_index, veto in enumerate(plan.vetoes):
            with out.at(Site(LATE_WHERE, veto.span)):
                self._veto(veto, v_index)
        if self._staged:
            self._rating_effects()
            return
        ratings = self._ratings
        self._band_chain()
        band_ratings = tuple(ratings.index(b.rating) for b in plan.bands)
        vetoed = ratings.index(self.policy.ratings.vetoed)
        out.writeline(f"RATING = {vetoed} if V else ({ctx.const(band_ratings)}[BAND] if BAND >= 0 else {vetoed})")
        out.writeline("OUT = None")

    def _band_chain(self) -> None:
        out, plan, ctx = self.out, self.plan, self.ctx
        out.writeline("BAND = -1")
        keyword = "if"  # the first band (highest first) that holds: one if/elif chain
        for b_index in sorted(range(len(plan.bands)), key=lambda i: plan.bands[i].low, reverse=True):
            band = plan.bands[b_index]
            low_op = ">=" if band.low_closed else ">"
            high_op = "<=" if band.high_closed else "<"
            if band.open_top:  # the open top band (bonus points): no upper edge
                out.writeline(f"{keyword} SCORE {low_op} {ctx.number(band.low)}: BAND = {b_index}")
            else:
                out.writeline(f"{keyword} SCORE {low_op} {ctx.number(band.low)} and SCORE {high_op} "
                              f"{ctx.number(band.high)}: BAND = {b_index}")
            keyword = "elif"

    # ------------------------------------------------------------ clauses
    def _reads_tuple(self, node: Reader) -> str:
        names = self.policy.reads.get(node, ())
        return "(" + "".join(f"{self._value_of(n)}, " for n in names) + ")"

    def _value_of(self, name: str) -> str:
        local = self.symbols.get(name)
        if local is not None:
            return local
        if name in self.policy.params:
            return self.ctx.const(self.policy.param_values.get(name), "_p")
        if name in self.policy.checkpoints:
            return self.ctx.const(self.policy.checkpoints[name].end)
        return "None"

    def _let(self, let_name: str) -> None:
        """``L3 = value`` (and its trace event in the traced evaluator)."""
        out = self.out
        value = self.exprs.visit(self.policy.lets[let_name].value)
        local = self.symbols.let(let_name)
        out.writeline(f"{local} = {value}")
        if self.frame.traced:
            out.writeline(f"T.append(('let', {self.ctx.const(let_name)}, {local}))")

    def _defer(self, defer: ast.DeferDecl, index: int) -> None:
        out = self.out
        source = self._value_of(defer.source_list)
        keep, moved = f"A{index}", f"M{index}"
        cond = self.exprs.inner(self.frame.inner(loop=True)).visit(defer.where)
        out.writeline(f"{keep} = []")
        out.writeline(f"{moved} = []")
        # ``index(x)`` in the condition reads the position: only then does the loop count (issue #10 C)
        counted = indexed_at(self.policy, (defer.where,), 0)
        out.writeline(f"for _ix0, _it0 in enumerate({source}, 1):" if counted else f"for _it0 in {source}:")
        out.writeline(f"    ({moved} if {cond} else {keep}).append(_it0)")
        out.writeline(f"if {moved}: DF.append(({index}, {moved}))")
        self.symbols.declare(defer.alias, keep)

    def _target(self, placed: PlacedTarget, index: int) -> str:
        if placed.bonus:
            return self._bonus_target(placed, index)
        out, traced, sites = self.out, self.frame.traced, self.sites
        as_int = int_literal(placed.points)
        points = str(as_int) if as_int is not None else self.ctx.const(placed.points)
        int_points = as_int is not None
        if int_points:
            self._int_points.add(f"T{index}")
        rules = placed.target.rules
        local = f"T{index}"
        first = rules[0] if rules else None
        if not traced and len(rules) == 1 and isinstance(first, ast.Full) and int_points:
            # points - (0 if c else points), never negative: the same ints without the arithmetic
            with out.at(sites.rule(index, 0)):
                out.writeline(f"{local} = {points} if {self.exprs.visit(first.condition)} else 0")
            return local
        parts = self._rule_values(index, rules, points)
        with out.at(sites.rule(index, len(rules))):
            if parts:
                out.writeline(f"{local} = {points} - ({' + '.join(parts)})")
                out.writeline(f"if {local} < 0: {local} = 0")
            else:
                out.writeline(f"{local} = {points}")
            if traced:
                out.writeline(f"T.append(('target', {index}, {local}))")
        return local

    def _int_valued(self, placed: PlacedTarget, local: str) -> bool:
        """True when the target's score is surely an ``int`` at run time: int points, int deductions."""
        if local not in self._int_points or placed.bonus:
            return False
        types = self.policy.types
        for rule in placed.target.rules:
            if isinstance(rule, (ast.Proportional, ast.Score)):
                return False
            parts = ast.rule_parts(rule)
            for operand in (parts.amount, parts.per, parts.cap):
                if operand is not None and types[operand].kind != "int":
                    return False
        return True

    def _rule(self, rule: ast.Rule, points: str) -> str:
        exprs = self.exprs
        if isinstance(rule, ast.Full):
            return f"(0 if {exprs.visit(rule.condition)} else {points})"
        if isinstance(rule, (ast.AddWhen, ast.AddUnless, ast.AddPer, ast.Add)):  # a bonus rule (加分): what it adds
            return self._gated(rule, exprs.amount(rule.amount, "add"))
        # computed for every kind with an amount (proportional and score discard it): keeps the
        # generated temporaries and their numbering as they were before the rule classes
        if isinstance(rule, (ast.Proportional, ast.Score)):
            amount = exprs.nonneg(rule.amount)
        else:  # a deduction: negative at run time is an EvaluationError (issue #10), not a silent 0
            amount = exprs.amount(rule.amount, "deduct")
        if isinstance(rule, (ast.DeductWhen, ast.DeductUnless, ast.DeductPer, ast.Deduct)):
            return self._gated(rule, amount)
        if isinstance(rule, ast.Proportional):
            ratio = exprs.visit(rule.amount)
            if self.policy.types[rule.amount].kind == "percent":
                ratio = f"_div({ratio}, 100)"
            return f"({points} - {points} * _clamp({ratio}, 0, 1))"
        if isinstance(rule, ast.Score):
            return f"({points} - _clamp({exprs.visit(rule.amount)}, 0, {points}))"
        assert_never(rule)  # a new rule class: mypy names this line until it is compiled

    def _gated(self, rule: ast.DeductWhen | ast.DeductUnless | ast.DeductPer | ast.Deduct | ast.AddWhen
               | ast.AddUnless | ast.AddPer | ast.Add, amount: str) -> str:
        """An amount of points under its rule's condition, count and cap: the same shapes whether the
        rule deducts or adds (加分); ``amount`` is already checked never to be negative."""
        exprs = self.exprs
        if isinstance(rule, (ast.DeductWhen, ast.AddWhen)):
            return f"({amount} if {exprs.visit(rule.condition)} else 0)"
        if isinstance(rule, (ast.DeductUnless, ast.AddUnless)):
            return f"(0 if {exprs.visit(rule.condition)} else {amount})"
        if isinstance(rule, (ast.DeductPer, ast.AddPer)):
            raw = f"({amount} * {exprs.nonneg(rule.per)})"
            return f"_cap({raw}, {exprs.visit(rule.cap)})" if rule.cap is not None else raw
        return f"_cap({amount}, {exprs.visit(rule.cap)})" if rule.cap is not None else amount

    def _rule_values(self, index: int, rules: tuple[ast.Rule, ...], points: str) -> list[str]:
        """One local per rule of target ``index`` (what it deducts, or adds), each traced with its reads."""
        out, traced, sites = self.out, self.frame.traced, self.sites
        parts: list[str] = []
        for r_index, rule in enumerate(rules):
            with out.at(sites.rule(index, r_index)):
                part = f"D{index}_{r_index}"
                out.writeline(f"{part} = {self._rule(rule, points)}")
                parts.append(part)
                if traced:
                    out.writeline(f"T.append(('rule', {index}, {r_index}, {part}, {self._reads_tuple(rule)}))")
        return parts

    def _bonus_target(self, placed: PlacedTarget, index: int) -> str:
        """A bonus target (加分): starts at 0, adds its rules, at most its item cap."""
        out, traced, sites = self.out, self.frame.traced, self.sites
        rules = placed.target.rules
        local = f"T{index}"
        parts = self._rule_values(index, rules, "0")
        with out.at(sites.rule(index, len(rules))):
            out.writeline(f"{local} = {' + '.join(parts) if parts else '0'}")
            if placed.cap is not None:
                out.writeline(f"if {local} > {self.ctx.number(placed.cap)}: {local} = {self.ctx.number(placed.cap)}")
            if traced:
                out.writeline(f"T.append(('target', {index}, {local}))")
        return local

    def _veto(self, veto: ast.VetoDecl, index: int) -> None:
        out, traced = self.out, self.frame.traced
        reads = self._reads_tuple(veto)
        if self._staged:
            out.writeline(f"K{index} = None")
        if veto.on_list is not None:
            source = self.exprs.visit(veto.on_list)
            cond = self.exprs.inner(self.frame.inner(loop=True)).visit(veto.condition)
            out.writeline(f"E{index} = []")  # a loop, not a list display: no function and frame per unit
            counted = indexed_at(self.policy, (veto.condition,), 0)  # ``index(a)`` read: the loop counts
            out.writeline(f"for _ix0, _it0 in enumerate({source}, 1):" if counted else f"for _it0 in {source}:")
            out.writeline(f"    if {cond}: E{index}.append(_it0)")
        else:
            out.writeline(f"E{index} = {self.exprs.visit(veto.condition)}")
        out.writeline(f"if E{index}:")
        with out.indent():
            out.writeline("X = -1")
            for e_index, exc in enumerate(veto.exceptions):
                out.writeline(f"if X < 0 and {self.exprs.visit(exc.condition)}: X = {e_index}")
            evidence = f"E{index}" if veto.on_list is not None else "None"
            if self._staged:  # remember what fired for the rating effects (issue #10 A3)
                out.writeline("if X < 0:")
                out.writeline(f"    V.append(({index}, {evidence}, {reads}))")
                effect = veto.effect
                value = self.exprs.visit(effect.amount) if effect is not None and effect.kind == "score" \
                    and effect.amount is not None else "True"
                out.writeline(f"    K{index} = {value}")
            else:
                out.writeline(f"if X < 0: V.append(({index}, {evidence}, {reads}))")
            out.writeline(f"else: XV.append(({index}, X, {evidence}, {reads}))")
            if traced:
                out.writeline(f"T.append(('veto', {index}, X < 0, X, {evidence}, {reads}))")
        if traced:
            out.writeline("else:")
            out.writeline(f"    T.append(('veto', {index}, False, -1, None, {reads}))")

    def _outcome(self, outcome: ast.OutcomeDecl, rating_index: int | None, into: str = "OUT") -> None:
        """The outcome's items into ``OUT`` (``rating_index`` None: an outcome for every rating, into ``into``).

        An item excluded by ``for`` generates nothing (its amount is the constant
        ``NOT_APPLICABLE``); an item with ``when`` computes its amount only when the
        condition holds.  A reward or fine that does not apply reads as 0 in later items.
        """
        out = self.out
        frame = self.frame.inner("outcome")  # the outcome's items are names only inside it
        exprs = self.exprs.inner(frame)
        if rating_index is not None:
            out.writeline(f"if RATING == {rating_index}:")
        with out.indent() if rating_index is not None else nullcontext():
            na = repr(abi.NOT_APPLICABLE)
            # 0.00 for an item left out; a constant only in policies that have such items
            zero = self.ctx.const(Decimal("0.00")) if any(i.conditional for i in outcome.items) else "0"
            category = self.plan.category.name
            amounts: list[str] = []
            total_parts: list[str] = []
            shares: list[str] = []
            rest: tuple[str, str | None] | None = None
            bound: set[str] = set()
            for i_index, item in enumerate(outcome.items):
                local = f"O{i_index}"
                money = item.kind in ("reward", "fine")
                if item.categories and category not in item.categories:
                    amounts.append(na)
                    if money and item.name not in bound:
                        frame.symbols.declare(item.name, zero)
                    continue
                cond = None
                if item.condition is not None:
                    cond = f"A{i_index}"
                    out.writeline(f"{cond} = {exprs.visit(item.condition)}")
                if money:
                    value = f"_fen({exprs.visit(item.amount)})"  # type: ignore[arg-type]
                    out.writeline(f"{local} = {value}" if cond is None else f"{local} = {value} if {cond} else {zero}")
                    frame.symbols.declare(item.name, local)
                    bound.add(item.name)
                    total_parts.append(local)
                    amounts.append(local if cond is None else f"{local} if {cond} else {na}")
                    continue
                if item.kind == "share" and item.amount is None:
                    rest = (local, cond)
                elif item.kind == "share" and item.amount is not None:
                    value = f"_fen({exprs.visit(item.amount)})"
                    out.writeline(f"{local} = {value}" if cond is None else f"{local} = {value} if {cond} else {zero}")
                    shares.append(local)
                else:
                    out.writeline(f"{local} = None")
                amounts.append(local if cond is None else f"{local} if {cond} else {na}")
            out.writeline(f"TOTAL = {' + '.join(total_parts) if total_parts else '0'}")
            if rest is not None:
                value = f"TOTAL - ({' + '.join(shares) if shares else '0'})"
                out.writeline(f"{rest[0]} = {value}" if rest[1] is None else f"{rest[0]} = {value} if {rest[1]} else {na}")
            raw = f"(TOTAL, ({''.join(a + ', ' for a in amounts)}))"
            out.writeline(f"{into} = {raw}")

    # ------------------------------------------ scores as values, rating effects (issue #10 A2, A3)
    @property
    def _staged(self) -> bool:
        """Whether this category has rating effects or band requirements: else none of their code is written."""
        return self.plan.staged

    def _declare_scores(self, target_locals: list[str], section_locals: dict[tuple[str, ...], str]) -> None:
        """Name the locals ``score`` and ``score(X)`` read (no code: the values are already locals)."""
        if not reads_scores(self.policy):
            return
        symbols = self.symbols
        symbols.declare(SCORE_KEY, "RAW" if self._staged else "SCORE")
        for placed, local in zip(self.plan.targets, target_locals):
            symbols.declare(score_key("target", (placed.target.name,)), local)
        sections = self.plan.category.all_sections()
        for info in sections:
            symbols.declare(score_key("section", info.path), section_locals[info.path])
            if sum(1 for other in sections if other.name == info.name) == 1:
                symbols.declare(score_key("section", (info.name,)), section_locals[info.path])

    def _post_lets(self) -> None:
        """The lets that read a score, right after the score (issue #10 A2)."""
        out, traced = self.out, self.frame.traced
        for let_name in self.plan.post_lets:
            decl = self.policy.lets[let_name]
            with out.at(Site(_cited(f"let {decl.name}", decl.cite), decl.span)):
                value = self.exprs.visit(decl.value)
                local = self.symbols.let(let_name)
                out.writeline(f"{local} = {value}")
                if traced:
                    out.writeline(f"T.append(('let', {self.ctx.const(let_name)}, {local}))")

    def _rating_effects(self) -> None:
        """Steps 4-9 of the documented order: score effects, bands, requires, caps, downgrades, forced ratings.

        ``EF`` collects ``(kind, index, value, before, after)`` per step that fired, in order
        (the reference interpreter writes the same); ``RAW`` (written before the post-scoring lets)
        is the score before score effects.
        """
        out, plan, ctx, traced = self.out, self.plan, self.ctx, self.frame.traced
        ratings = self._ratings
        worst = len(ratings) - 1
        vetoed = ratings.index(self.policy.ratings.vetoed)
        tag = "T.append(('effect',) + EF[-1])" if traced else None

        def record(line: str) -> None:
            out.writeline(line)
            if tag:
                out.writeline(tag)

        out.writeline("EF = []")
        score_vetoes = [i for i, v in enumerate(plan.vetoes) if v.effect is not None and v.effect.kind == "score"]
        if score_vetoes:
            out.writeline("SF = False")
        for i in score_vetoes:
            with out.at(Site(LATE_WHERE, plan.vetoes[i].span)):
                out.writeline(f"if K{i} is not None:")
                with out.indent():
                    if plan.maximum is None:  # an uncapped bonus: no upper edge (issue #10 A1)
                        out.writeline(f"_s = K{i} if K{i} > 0 else 0")
                    else:  # never outside [0, the highest possible score], so never outside the bands
                        out.writeline(f"_s = _clamp(K{i}, 0, {ctx.number(plan.maximum)})")
                    out.writeline("if SF and SCORE < _s: _s = SCORE")
                    record(f"EF.append(('score', {i}, K{i}, SCORE, _s))")
                    out.writeline("SCORE = _s")
                    out.writeline("SF = True")
        self._band_chain()
        band_ratings = tuple(ratings.index(b.rating) for b in plan.bands)
        out.writeline(f"RATING = {ctx.const(band_ratings)}[BAND] if BAND >= 0 else {vetoed}")
        below = lower_bands(plan)
        if any(b.requires is not None for b in plan.bands):
            out.writeline("QB = BAND")  # the band qualified for; BAND stays the band of the score
        for b_index in sorted(range(len(plan.bands)), key=lambda i: plan.bands[i].low, reverse=True):
            band = plan.bands[b_index]
            if band.requires is None or below[b_index] is None:
                continue
            lower = below[b_index]
            assert lower is not None
            with out.at(Site(f"band {band.rating} (requires)", band.span)):
                condition = self.exprs.visit(band.requires)
                out.writeline(f"if QB == {b_index} and not ({condition}):")
                with out.indent():
                    record(f"EF.append(('requires', {b_index}, None, RATING, {band_ratings[lower]}))")
                    out.writeline(f"QB = {lower}")
                    out.writeline(f"RATING = {band_ratings[lower]}")
        for kind in ("cap", "downgrade", "rating"):
            if kind == "rating":
                out.writeline("FF = False")  # a forced rating met yet: the first one sets, later ones only worsen
            for i, veto in enumerate(plan.vetoes):
                effect = veto.effect
                if kind == "rating":
                    if effect is not None and effect.kind != "rating":
                        continue
                    forced = ratings.index(effect.rating) if effect is not None and effect.rating else vetoed
                    with out.at(Site(LATE_WHERE, veto.span)):
                        out.writeline(f"if K{i} is not None:")
                        with out.indent():
                            out.writeline(f"_r = {forced} if not FF or {forced} > RATING else RATING")
                            record(f"EF.append(({'rating' if effect else 'vetoed'!r}, {i}, {forced}, RATING, _r))")
                            out.writeline("RATING = _r")
                            out.writeline("FF = True")
                    continue
                if effect is None or effect.kind != kind:
                    continue
                with out.at(Site(LATE_WHERE, veto.span)):
                    out.writeline(f"if K{i} is not None:")
                    with out.indent():
                        if kind == "cap":
                            cap = ratings.index(effect.rating or "")
                            out.writeline(f"_r = RATING if RATING >= {cap} else {cap}")
                            record(f"EF.append(('cap', {i}, {cap}, RATING, _r))")
                        else:
                            steps = downgrade_steps(self.policy, effect)
                            out.writeline(f"_r = RATING + {steps} if RATING + {steps} < {worst} else {worst}")
                            record(f"EF.append(('downgrade', {i}, {steps}, RATING, _r))")
                        out.writeline("RATING = _r")
        out.writeline("OUT = None")
        self._effects_value = "(RAW, EF)"

    # ------------------------------------------------------------ periods (issue #11 P)
    def _period_loop(self, loop: ExitStack) -> None:
        """Open the loop over the periods: each per-period fact's local holds this period's value.

        Everything up to the score (defers, the lets read before it, targets, sections, base and
        bonus) is written inside the loop, once, and runs once per period; ``PI`` is the period
        being scored (``period``).  The traced evaluator records each period's events apart
        (``T`` is a fresh list per period), handed over in the period's trace event.
        """
        out, traced = self.out, self.frame.traced
        out.writeline("PR = []")
        per_period = [name for name in self.policy.period_facts if name in self.symbols]
        for name in per_period:
            local = self.symbols[name]
            out.writeline(f"P{local} = {local}")
        if traced:
            out.writeline("TU = T")
            out.writeline("PT = []")
        assert self.policy.periods is not None
        out.writeline(f"for PI in ({''.join(f'{i}, ' for i in range(len(self.policy.periods.items)))}):")
        loop.enter_context(out.indent())
        for name in per_period:
            local = self.symbols[name]
            out.writeline(f"{local} = P{local}[PI]")
        if traced:
            out.writeline("T = []")

    def _period_results(self, loop: ExitStack, order: list[tuple[str, ...]], section_locals: dict[tuple[str, ...], str],
                        target_locals: list[str]) -> None:
        """Close the loop: each period's result into ``PR``; then the weighted combination into the locals
        the assessment stage reads (``SCORE``, sections, targets, base and bonus) and ``PRS``, the
        period records ``periods`` and ``一季度.score`` read.

        ``PR`` items: (score, section scores, target scores, band, rating, base, bonus, None); the traced
        evaluator keeps each period's events in ``PT`` for the period's trace event.  The
        combination is Σ weight × period score in the engine's Decimal context, exact for scores of
        ordinary length (the reference interpreter multiplies and adds in the same order).
        """
        out, ctx, plan, traced = self.out, self.ctx, self.plan, self.frame.traced
        assert self.policy.periods is not None
        items = self.policy.periods.items
        ratings = self._ratings
        vetoed = ratings.index(self.policy.ratings.vetoed)
        self._band_chain()
        band_ratings = tuple(ratings.index(b.rating) for b in plan.bands)
        sections = "(" + "".join(f"{section_locals[p]}, " for p in order) + ")"
        targets = "(" + "".join(f"{t}, " for t in target_locals) + ")"
        bonus = "BASE, BONUS" if plan.category.has_bonus else "SCORE, 0"
        out.writeline(f"PR.append((SCORE, {sections}, {targets}, BAND, "
                      f"{ctx.const(band_ratings)}[BAND] if BAND >= 0 else {vetoed}, {bonus}, None))")
        if traced:
            out.writeline("PT.append(T)")
        loop.close()
        if traced:
            out.writeline("T = TU")
        weights = [ctx.const(item.weight / 100) for item in items]
        counted = [i for i, item in enumerate(items) if item.weight != 0]

        def combined(part: str) -> str:
            terms = [f"{weights[i]} * PR[{i}]{part}" for i in counted]
            return " + ".join(terms) if terms else "0"

        for k, path in enumerate(order):
            out.writeline(f"{section_locals[path]} = {combined(f'[1][{k}]')}")
        for k, local in enumerate(target_locals):
            out.writeline(f"{local} = {combined(f'[2][{k}]')}")
        # The combined score is the sum of the combined top-level sections, added as an assessment
        # without periods adds them: Σ w × (s1 + s2) and Σ w × s1 + Σ w × s2 are equal, but a period
        # score with a repeating decimal (an average of 3 raters) rounds at the 34th digit, and the
        # sections must add up to the score exactly.  A bonus is capped per period, so it is combined
        # as it was counted (Σ weight × each period's counted bonus).
        category = plan.category
        tops = [section_locals[s.path] for s in category.sections if not (category.has_bonus and s.bonus)]
        if category.has_bonus:
            out.writeline(f"BASE = {' + '.join(tops) if tops else '0'}")
            out.writeline(f"BONUS = {combined('[6]')}")
            out.writeline("SCORE = BASE + BONUS")
        else:
            out.writeline(f"SCORE = {' + '.join(tops) if tops else '0'}")
        facts = [name for name in self.policy.period_facts if name in self.symbols]
        records = []
        for i, item in enumerate(items):
            record_fields = "".join(f"{ctx.key(name)}: P{self.symbols[name]}[{i}], " for name in facts)
            records.append(f"{{{ctx.key('score')}: PR[{i}][0], {ctx.key('rating')}: PR[{i}][4], "
                           f"{ctx.key('weight')}: {ctx.const(item.weight)}, {record_fields}}}")
        out.writeline(f"PRS = ({''.join(r + ', ' for r in records)})")
        if traced:
            for i in range(len(items)):
                out.writeline(f"T.append(('period', {i}, PR[{i}][0], PR[{i}][4], PT[{i}]))")

    def _only_in(self, placed: PlacedTarget) -> tuple[int, ...]:
        """The periods (indices) a target is scored in, when its top-level section is ``only in`` some (issue #11 P)."""
        periods = self.policy.periods
        if periods is None:
            return ()
        top = next(s for s in self.plan.category.sections if s.name == placed.section[0])
        if not top.periods:
            return ()
        return tuple(i for i, item in enumerate(periods.items) if item.name in top.periods)

    def _period_target(self, placed: PlacedTarget, index: int) -> str:
        """A target of an ``only in`` section: scored in its periods, 0 (and not evaluated) in the others."""
        out = self.out
        with out.at(self.sites.rule(index, len(placed.target.rules))):
            out.writeline(f"if PI in ({''.join(f'{i}, ' for i in self._only_in(placed))}):")
        with out.indent():
            local = self._target(placed, index)
        with out.at(self.sites.rule(index, len(placed.target.rules))):
            out.writeline("else:")
            out.writeline(f"    {local} = 0")
        return local


    # ------------------------------------------------------------- cohorts (issue #11 C)
    def _cohort(self) -> None:
        """The ranking keys and ``among`` (``CO``), then step 10 of the documented order: the quota.

        ``CO`` is ``(ranked, keys)``: ``ranked`` whether the category is ranked and ``among``
        holds, ``keys`` oriented larger-is-better (a ``lower first`` key negated), computed
        only for a ranked unit.  The whole key ``score`` is the final score (after score
        effects).  The quota step applies the band the cohort stage left the unit in
        (``C.demoted_to``, an index into the category's bands best first) when it is worse.
        """
        out, plan, ctx, traced = self.out, self.plan, self.ctx, self.frame.traced
        cohort = self.policy.cohort
        assert cohort is not None
        category = plan.category.name
        decl = cohort.decl
        if category not in cohort.categories:
            out.writeline("CO = (False, ())")
        else:
            with out.at(Site(f"cohort {decl.name}", decl.span)):
                keys = []
                for key in decl.keys:
                    res = self.policy.resolutions.get(key.value)
                    value = "SCORE" if res is not None and res.kind == "score" else self.exprs.visit(key.value)
                    keys.append(f"-({value})" if key.lower_first else value)
                ranked = "(True, (" + "".join(f"{k}, " for k in keys) + "))"
                if decl.among is None:
                    out.writeline(f"CO = {ranked}")
                else:
                    out.writeline(f"CO = {ranked} if {self.exprs.visit(decl.among)} else (False, ())")
        if not cohort.quotas_for(category):
            return
        if self._effects_value == "None":  # no rating effects in this category: the quota step is its only one
            out.writeline("EF = []")
            self._effects_value = "(SCORE, EF)"
        ratings = self._ratings
        best_first = tuple(ratings.index(r) for r in cohort.bands[category])
        with out.at(Site(f"cohort {decl.name} (quota)", decl.span)):
            out.writeline("if C.demoted_to is not None:")
            with out.indent():
                out.writeline(f"_r = {ctx.const(best_first)}[C.demoted_to]")
                out.writeline("if _r > RATING:")
                with out.indent():
                    out.writeline("EF.append(('quota', C.quota, C.demoted_to, RATING, _r))")
                    if traced:
                        out.writeline("T.append(('effect',) + EF[-1])")
                    out.writeline("RATING = _r")


def reads_scores(policy: CheckedPolicy) -> bool:
    """Whether any expression of the policy reads ``score`` or ``score(X)``."""
    return any(r.kind in ("score", "score_of") for r in policy.resolutions.values())


def lower_bands(plan: CategoryPlan) -> list[int | None]:
    """For each band (by index), the index of the next lower band, None for the lowest."""
    order = sorted(range(len(plan.bands)), key=lambda i: (plan.bands[i].low, not plan.bands[i].low_closed))
    below: list[int | None] = [None] * len(plan.bands)
    for lower, upper in zip(order, order[1:]):
        below[upper] = lower
    return below


def downgrade_steps(policy: CheckedPolicy, effect: ast.VetoEffect) -> int:
    """N of ``then downgrade N``: a whole-number constant (the checker proved it), folded."""
    assert effect.amount is not None
    value = _fold(policy, effect.amount)
    return int(Decimal(str(value)))


def _fold(policy: CheckedPolicy, e: ast.Expr) -> object:
    if isinstance(e, ast.Number):
        return e.value
    if isinstance(e, ast.Name) and e.ident in policy.param_values:
        return policy.param_values[e.ident]
    raise AssertionError(f"downgrade by a non-constant {e!r}")  # pragma: no cover - the checker refuses it
