"""A reference interpreter: the checked policy evaluated by walking its AST, slowly and plainly.

The compiler (:mod:`kaohe_rules.codegen.compiler`) turns a policy into generated Python and
is tuned for speed: integer points, folded constants, inlined helpers, skipped
generators.  This module states the same semantics the obvious way — one small
function per construct, Decimal constants as the checker produced them, no
shortcuts — so that a differential test (tests/codegen/test_interpreter_differential.py)
can run both on generated units and demand identical results.  It is the guard
that keeps optimisation from changing meaning; it is not used to assess units.

:func:`interpret` takes the coerced facts of one unit (as the fact coercer
returns them) and returns the raw tuple the compiled evaluator returns:
``(score, sections, targets, vetoes, excepted, deferred, band, rating, outcome)``
(see :data:`kaohe_rules.language.abi.RAW_FIELDS`).  Record ``let`` fields are
recomputed here from the record's own fields rather than trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol, assert_never

from ..codegen.frame import SCORE_KEY, score_key
from ..language import ast
from ..language.abi import NOT_APPLICABLE
from ..language.model import CategoryPlan, CheckedPolicy, LedgerRulePlan, PlacedTarget, SectionInfo
from ..language.visitor import ExprVisitor
from ..numeric import ceil_int, checked_amount, divide, floor_int, round_half_up, scales_by_percent, to_fen
from .cohort import NO_STANDING
from .ledger import LedgerSpec
from .ledger_specs import build_spec
from .standing import Standing

Env = dict[str, object]


class Observer(Protocol):
    """What :mod:`kaohe_rules.testing.boundary` watches while a unit is interpreted.

    The interpreter calls it at every comparison, range test, ``and``/``or`` and
    ``??`` it evaluates, with the operand values, so boundary coverage can tell
    which side of each edge a case sits on without touching the compiled path.
    ``right`` of :meth:`junction` is None when it could not be evaluated (it was
    short-circuited and evaluating it on its own failed).
    """

    def compare(self, node: ast.Compare, left: Any, right: Any) -> None: ...

    def in_range(self, node: ast.InRange, value: Any, low: Any, high: Any) -> None: ...

    def junction(self, node: ast.And | ast.Or, left: bool, right: bool | None) -> None: ...

    def coalesce(self, node: ast.Coalesce, defaulted: bool) -> None: ...


class Interpreter:
    """Evaluates units of one category of a checked policy."""

    def __init__(self, policy: CheckedPolicy, observer: Observer | None = None) -> None:
        self.policy = policy
        self.observer = observer
        self.rating_names = [r.name for r in policy.ratings.ratings]
        self.positions: dict[int, int] = {}  # item depth -> the 1-based position of the item being evaluated
        self._indexed: dict[ast.Aggregate, bool] = {}

    # ----------------------------------------------------------------- unit
    def score_stage(self, plan: CategoryPlan, env: Env) -> tuple[Any, dict[tuple[str, ...], Any], list[tuple[str, ...]],
                                                                  list[Any], Any, Any, list[tuple[int, list[Any]]]]:
        """Everything up to the score: defers, the lets read before it, targets, sections, base and bonus."""
        policy = self.policy
        deferred: list[tuple[int, list[Any]]] = []
        for name in plan.pre_lets:  # issue #16: the lets a defer takes items from
            env[name] = self.eval(policy.lets[name].value, env, [])
        for index, defer in enumerate(plan.defers):
            source = env[defer.source_list] if defer.source_list in env else self.constant(defer.source_list)
            kept: list[Any] = []
            moved: list[Any] = []
            for position, item in enumerate(source, 1):  # type: ignore[arg-type, var-annotated]
                (moved if self.at(position, defer.where, env, [item]) else kept).append(item)
            if moved:
                deferred.append((index, moved))
            env[defer.alias] = kept
        for name in plan.lets:
            if name in policy.lets:
                env[name] = self.eval(policy.lets[name].value, env, [])
        target_scores = [self.target(placed, env) if self.scored_now(plan, placed) else 0 for placed in plan.targets]
        section_scores: dict[tuple[str, ...], Any] = {}

        def section(info: SectionInfo) -> Any:
            if info.path not in section_scores:
                if info.is_leaf:
                    total: Any = 0
                    for placed, score in zip(plan.targets, target_scores, strict=True):
                        if placed.section == info.path:
                            total = total + score
                    if info.bonus:  # a bonus section (加分): at most its cap
                        section_scores[info.path] = total if info.cap is None or total <= info.cap else info.cap
                    else:
                        section_scores[info.path] = total if total >= 0 else 0
                else:
                    total = 0
                    for child in info.children:
                        total = total + section(child)
                    section_scores[info.path] = total
            return section_scores[info.path]

        base: Any = 0
        bonus: Any = 0
        for top in plan.category.sections:
            if top.bonus:
                bonus = bonus + section(top)
            else:
                base = base + section(top)
        cap = plan.category.bonus_cap
        if cap is not None and bonus > cap:
            bonus = cap
        score = base + bonus
        order = [info.path for info in plan.category.all_sections()]
        for info in plan.category.all_sections():
            section(info)
        return score, section_scores, order, target_scores, base, bonus, deferred

    def run(self, category: str, facts: Mapping[str, object], standing: Standing | None = None) -> tuple[Any, ...]:
        """The raw result; ``standing``: the unit's standing in a cohort policy (None: the no-standing marker)."""
        policy = self.policy
        self.category = category
        self.standing = standing if standing is not None else NO_STANDING
        plan: CategoryPlan = policy.plans[category]
        env: Env = {name: self._rederive(name, facts[name]) for name in plan.facts}
        if policy.periods is not None:  # issue #11 P: scored once per period, then combined by weight
            score, section_scores, order, target_scores, base, bonus, deferred, periods = self.periods_stage(plan, env)
        else:
            score, section_scores, order, target_scores, base, bonus, deferred = self.score_stage(plan, env)
        # the post-scoring stage (issue #10 A2): the scores are values, then the lets that read them
        env[SCORE_KEY] = score
        for placed, target_score in zip(plan.targets, target_scores):
            env[score_key("target", (placed.target.name,))] = target_score
        for info in plan.category.all_sections():
            env[score_key("section", info.path)] = section_scores[info.path]
        for name in plan.post_lets:
            env[name] = self.eval(policy.lets[name].value, env, [])
        vetoes: list[tuple[Any, ...]] = []
        excepted: list[tuple[Any, ...]] = []
        fired_effects: dict[int, Any] = {}  # veto index -> the value of its effect (True when it has none)
        for index, veto in enumerate(plan.vetoes):
            if veto.on_list is not None:
                source = self.eval(veto.on_list, env, [])
                evidence: Any = [item for position, item in enumerate(source, 1)
                                 if self.at(position, veto.condition, env, [item])]
                fired = bool(evidence)
            else:
                fired = bool(self.eval(veto.condition, env, []))
                evidence = None
            if not fired:
                continue
            reads = tuple(self._read(name, env) for name in policy.reads.get(veto, ()))
            exception = next((i for i, exc in enumerate(veto.exceptions) if self.eval(exc.condition, env, [])), -1)
            if exception < 0:
                vetoes.append((index, evidence, reads))
                effect = veto.effect
                fired_effects[index] = self.eval(effect.amount, env, []) \
                    if effect is not None and effect.kind == "score" and effect.amount is not None else True
            else:
                excepted.append((index, exception, evidence, reads))
        effects: Any = None
        if plan.staged:
            score, band, rating, effects = self.rating_effects(plan, env, score, fired_effects)
        else:
            band = self.band(plan, score)
            vetoed = self.rating_names.index(policy.ratings.vetoed)
            rating = vetoed if vetoes else (self.rating_names.index(plan.bands[band].rating) if band >= 0 else vetoed)
        cohort: Any = None
        if policy.cohort is not None:  # issue #11 C: the ranking keys and ``among``, then step 10, the quota
            cohort, rating, effects = self.cohort(plan, env, score, rating, effects)
        outcome: Any = None
        category = plan.category.name
        for rating_name, decl in policy.outcomes.items():
            if self.rating_names.index(rating_name) == rating:
                outcome = self.outcome(decl, env, category)
        if policy.general_outcomes:  # then every outcome for every rating, in order (issue #10)
            outcome = (outcome, tuple(self.outcome(decl, env, category) for decl in policy.general_outcomes))
        raw: tuple[Any, ...] = (score, tuple(section_scores[p] for p in order), tuple(target_scores), vetoes,
                                excepted, deferred, band, rating, outcome, effects,
                                base if plan.category.has_bonus else score, bonus)
        if cohort is not None:
            raw = (*raw, cohort)
        return raw + (periods,) if policy.periods is not None else raw  # issue #11 P: the periods last

    def cohort(self, plan: CategoryPlan, env: Env, score: Any, rating: int,
               effects: Any) -> tuple[tuple[bool, tuple[Any, ...]], int, Any]:
        """A cohort policy's part of a unit (issue #11 C), plainly: ``(ranked, keys)``, the rating after the
        quota step (step 10) and the effects with it.

        A unit is ranked when its category is and ``among`` holds; its keys are then computed, the
        whole key ``score`` being the final score and a ``lower first`` key negated (larger is better).
        The quota step demotes the rating to the band the cohort stage left the unit in, when worse.
        """
        cohort = self.policy.cohort
        assert cohort is not None
        category = plan.category.name
        ranked: tuple[bool, tuple[Any, ...]] = (False, ())
        if category in cohort.categories and (cohort.decl.among is None or self.eval(cohort.decl.among, env, [])):
            keys = []
            for key in cohort.decl.keys:
                res = self.policy.resolutions.get(key.value)
                value = score if res is not None and res.kind == "score" else self.eval(key.value, env, [])
                keys.append(-value if key.lower_first else value)
            ranked = (True, tuple(keys))
        if not cohort.quotas_for(category):
            return ranked, rating, effects
        if effects is None:
            effects = (score, [])
        standing = self.standing
        if standing.demoted_to is not None:
            demoted = self.rating_names.index(cohort.bands[category][standing.demoted_to])
            if demoted > rating:
                effects[1].append(("quota", standing.quota, standing.demoted_to, rating, demoted))
                rating = demoted
        return ranked, rating, effects

    @staticmethod
    def band(plan: CategoryPlan, score: Any) -> int:
        """The index of the band that holds ``score`` (-1 for none)."""
        for b_index in sorted(range(len(plan.bands)), key=lambda i: plan.bands[i].low, reverse=True):
            if plan.bands[b_index].contains(score):
                return b_index
        return -1

    def rating_effects(self, plan: CategoryPlan, env: Env, raw: Any,
                       fired: dict[int, Any]) -> tuple[Any, int, int, tuple[Any, list[tuple[Any, ...]]]]:
        """Steps 4-9 of the documented order (docs/language.md, "Order of application"), plainly.

        Returns the final score, the band, the rating and ``(raw score, effects)``, each effect
        ``(kind, index, value, before, after)``; ratings are indices, 0 the best.
        """
        names = self.rating_names
        worst = len(names) - 1
        vetoed = names.index(self.policy.ratings.vetoed)
        steps: list[tuple[Any, ...]] = []

        def fired_of(kind: str) -> list[tuple[int, Any]]:
            out = []
            for index, value in sorted(fired.items()):
                effect = plan.vetoes[index].effect
                if (effect.kind if effect is not None else "vetoed") == kind:
                    out.append((index, value))
            return out

        # 4: the lowest score set by a fired ``then score E`` (clamped to 0..the maximum score) is the final score
        score = raw
        for n, (index, value) in enumerate(fired_of("score")):
            new = (value if value > 0 else 0) if plan.maximum is None else _clamp(value, 0, plan.maximum)
            if n > 0 and score < new:
                new = score
            steps.append(("score", index, value, score, new))
            score = new
        # 5: the band on the final score
        band = self.band(plan, score)
        rating = names.index(plan.bands[band].rating) if band >= 0 else vetoed
        # 6: a band whose ``requires`` fails gives the next lower band, whose own requires is checked in turn
        order = sorted(range(len(plan.bands)), key=lambda i: (plan.bands[i].low, not plan.bands[i].low_closed))
        qualified = band  # ``band`` stays the band of the score
        while qualified >= 0:
            requires = plan.bands[qualified].requires
            position = order.index(qualified)
            if requires is None or position == 0 or self.eval(requires, env, []):
                break
            lower = order[position - 1]
            lower_rating = names.index(plan.bands[lower].rating)
            steps.append(("requires", qualified, None, rating, lower_rating))
            qualified, rating = lower, lower_rating
        # 7: caps (at most R: the worst cap wins)
        for index, _ in fired_of("cap"):
            effect = plan.vetoes[index].effect
            assert effect is not None and effect.rating is not None
            cap = names.index(effect.rating)
            new = max(rating, cap)
            steps.append(("cap", index, cap, rating, new))
            rating = new
        # 8: downgrades (their N add up; never below the worst rating)
        for index, _ in fired_of("downgrade"):
            effect = plan.vetoes[index].effect
            assert effect is not None and effect.amount is not None
            n = int(self.eval(effect.amount, env, []))
            new = min(rating + n, worst)
            steps.append(("downgrade", index, n, rating, new))
            rating = new
        # 9: forced ratings (a veto without effect forces the vetoed rating): the worst forced one wins
        forced_any = False
        for index in sorted(i for i, v in fired.items()
                            if plan.vetoes[i].effect is None or plan.vetoes[i].effect.kind == "rating"):  # type: ignore[union-attr]
            effect = plan.vetoes[index].effect
            forced = names.index(effect.rating) if effect is not None and effect.rating else vetoed
            new = forced if not forced_any else max(rating, forced)
            steps.append(("rating" if effect is not None else "vetoed", index, forced, rating, new))
            rating, forced_any = new, True
        return score, band, rating, (raw, steps)

    def _rederive(self, name: str, value: object) -> object:
        """Records of a list fact with their ``let`` fields computed here, from the record's own fields."""
        t = self.policy.fact_types[name]
        if t.kind != "list" or t.elem is None or t.elem.kind != "record" or not isinstance(value, list):
            return value
        record = self.policy.records[t.elem.name or ""]
        if not record.lets:
            return value
        out = []
        for item in value:
            fresh = {field.name: item[field.name] for field in record.fields}
            for let in record.lets:
                fresh[let.name] = self.eval(let.value, {}, [], record=fresh)
            out.append(fresh)
        return out

    def constant(self, name: str) -> object:
        if name in self.policy.params:
            return self.policy.param_values.get(name)
        if name in self.policy.checkpoints:
            return self.policy.checkpoints[name].end
        return None

    def _read(self, name: str, env: Env) -> object:
        return env[name] if name in env else self.constant(name)

    # --------------------------------------------------------------- targets
    def target(self, placed: PlacedTarget, env: Env) -> Any:
        if placed.bonus:  # a bonus target (加分): starts at 0, adds its rules, at most its item cap
            added: Any = 0
            for rule in placed.target.rules:
                added = added + self.rule(rule, placed.points, env)
            return added if placed.cap is None or added <= placed.cap else placed.cap
        points = placed.points
        if not placed.target.rules:
            return points
        total: Any = 0
        for rule in placed.target.rules:
            total = total + self.rule(rule, points, env)
        score = points - total
        return score if score >= 0 else 0

    def rule(self, rule: ast.Rule, points: Decimal, env: Env) -> Any:
        def value(e: ast.Expr) -> Any:
            return self.eval(e, env, [])

        if isinstance(rule, ast.Full):
            return 0 if value(rule.condition) else points
        # an amount to deduct or add that is negative: NegativeAmount, never a silent 0 (issue #10)
        if isinstance(rule, (ast.DeductWhen, ast.AddWhen)):
            return checked_amount(value(rule.amount), _verb(rule)) if value(rule.condition) else 0
        if isinstance(rule, (ast.DeductUnless, ast.AddUnless)):
            return 0 if value(rule.condition) else checked_amount(value(rule.amount), _verb(rule))
        if isinstance(rule, (ast.DeductPer, ast.AddPer)):
            raw = checked_amount(value(rule.amount), _verb(rule)) * _nonneg(value(rule.per))
            return _cap(raw, value(rule.cap)) if rule.cap is not None else raw
        if isinstance(rule, (ast.Deduct, ast.Add)):
            amount = checked_amount(value(rule.amount), _verb(rule))
            return _cap(amount, value(rule.cap)) if rule.cap is not None else amount
        if isinstance(rule, ast.Proportional):
            ratio = value(rule.amount)
            if self.policy.types[rule.amount].kind == "percent":
                ratio = divide(ratio, 100)
            return points - points * _clamp(ratio, 0, 1)
        if isinstance(rule, ast.Score):
            return points - _clamp(value(rule.amount), 0, points)
        assert_never(rule)  # a new rule class: mypy names this line until it is interpreted

    def outcome(self, decl: ast.OutcomeDecl, env: Env, category: str) -> tuple[Any, tuple[Any, ...]]:
        """(total, amounts); an item that does not apply has ``NOT_APPLICABLE`` and reads as 0 later."""
        items: dict[str, object] = {}
        amounts: list[Any] = []
        total: Any = 0
        shares: Any = 0
        rest = None
        for index, item in enumerate(decl.items):
            applies = not item.categories or category in item.categories
            if not applies:  # left out by ``for``: as if not written
                if item.kind in ("reward", "fine") and item.name not in items:
                    items[item.name] = Decimal("0.00")
                amounts.append(NOT_APPLICABLE)
                continue
            if item.condition is not None and not self.eval(item.condition, env, [], outcome=items):
                if item.kind in ("reward", "fine"):  # left out by ``when``: 0.00 to the total and later items
                    items[item.name] = Decimal("0.00")
                    total = total + items[item.name]
                elif item.kind == "share" and item.amount is not None:  # and 0.00 to the shares: a `rest` share
                    shares = shares + Decimal("0.00")  # is then to the fen (0.00, not 0) even when the total is 0
                amounts.append(NOT_APPLICABLE)
                continue
            if item.kind in ("reward", "fine"):
                assert item.amount is not None
                amount = to_fen(self.eval(item.amount, env, [], outcome=items))
                items[item.name] = amount
                total = total + amount
            elif item.kind == "share" and item.amount is not None:
                amount = to_fen(self.eval(item.amount, env, [], outcome=items))
                shares = shares + amount
            else:
                amount = None
                if item.kind == "share":
                    rest = index
            amounts.append(amount)
        if rest is not None:
            amounts[rest] = total - shares
        return total, tuple(amounts)

    # ----------------------------------------------------------- expressions
    # ------------------------------------- named items, index, group-by, order tests (issue #10 C)
    def at(self, position: int, e: ast.Expr, env: Env, items: list[Any], record: Mapping[str, object] | None = None,
           outcome: Mapping[str, object] | None = None) -> Any:
        """``e`` evaluated for the item at 1-based ``position`` of its list (what ``index(NAME)`` reads)."""
        depth = len(items) - 1  # the item just added; an enclosing aggregate without index() set none
        outer = self.positions.get(depth)
        self.positions[depth] = position
        try:
            return self.eval(e, env, items, record, outcome)
        finally:
            if outer is None:
                del self.positions[depth]
            else:
                self.positions[depth] = outer

    def aggregate_named(self, e: ast.Aggregate, source: Any, env: Env, items: list[Any],
                        record: Mapping[str, object] | None, outcome: Mapping[str, object] | None) -> Any:
        """An aggregate over positioned items: the semantics of ``as``, ``by`` and the order tests, spelt out.

        Item by item, as a generator runs: the item's ``where``, then its key, then its value
        (so a failing item fails at the same point as in the compiled evaluator).
        """
        def run(part: ast.Expr, position: int, item: Any) -> Any:
            return self.at(position, part, env, [*items, item], record, outcome)

        def chosen() -> Iterator[tuple[int, Any]]:
            for position, item in enumerate(source, 1):
                if e.where is None or run(e.where, position, item):
                    yield position, item

        def value(position: int, item: Any) -> Any:
            return item if e.of is None else run(e.of, position, item)

        by = e.by
        if by is not None:
            if e.func == "count":
                return len({run(by, p, i) for p, i in chosen()})
            best: dict[Any, Any] = {}  # 同项按最高计分，只计一次: the highest value of each key
            for p, i in chosen():
                key = run(by, p, i)
                v = value(p, i)
                if key not in best or v > best[key]:
                    best[key] = v
            return sum(best.values(), 0)
        if e.func == "count":
            return sum(1 for _ in chosen())
        if e.func in ("any", "all"):
            if e.of is None:
                where = e.where
                assert where is not None
                tests: Iterator[Any] = (run(where, p, i) for p, i in enumerate(source, 1))
            else:
                tests = (value(p, i) for p, i in chosen())
            return any(tests) if e.func == "any" else all(tests)
        values = [value(p, i) for p, i in chosen()]
        if e.func == "increasing":
            return all(values[k] < values[k + 1] for k in range(len(values) - 1))
        if e.func == "decreasing":
            return all(values[k] > values[k + 1] for k in range(len(values) - 1))
        if e.func == "sum":
            return sum(values, 0)
        if not values:
            return None
        return min(values) if e.func == "min" else max(values)

    def indexed(self, e: ast.Aggregate, depth: int) -> bool:
        """Whether an ``index(…)`` inside ``e`` reads the position of ``e``'s own item (at ``depth``)."""
        if e not in self._indexed:
            self._indexed[e] = any(
                isinstance(node, ast.Call) and node.func == "index"
                and (res := self.policy.resolutions.get(node)) is not None and res.depth == depth
                for node in ast.walk(e.of, e.where, e.by))
        return self._indexed[e]

    def eval(self, e: ast.Expr, env: Env, items: list[Any], record: Mapping[str, object] | None = None,
             outcome: Mapping[str, object] | None = None) -> Any:
        return _Frame(self, env, items, record, outcome).visit(e)

    def binary(self, e: ast.Binary, a: Any, b: Any) -> Any:
        ka, kb = self.policy.types[e.left].kind, self.policy.types[e.right].kind
        if e.op == "-" and ka == "date" and kb == "date":
            return (a - b).days
        if e.op == "*" and scales_by_percent(ka, kb):
            return divide(a * b, 100)
        if e.op == "/":
            if ka == "money" and kb == "percent":
                return divide(a * 100, b)
            return divide(a, b)
        return _ARITH[e.op](a, b)

    def call(self, e: ast.Call, args: list[Any]) -> Any:
        func = e.func
        if func == "index":
            return self.positions[self.policy.resolutions[e].depth]
        if func == "round":
            if len(args) == 1 and self.policy.types[e.args[0]].kind in ("int", "decimal"):
                return int(round_half_up(args[0], 0))
            return round_half_up(args[0], args[1] if len(args) > 1 else 0)
        if func in ("floor", "ceil"):
            whole = floor_int(args[0]) if func == "floor" else ceil_int(args[0])
            return whole if self.policy.types[e].kind == "int" else Decimal(whole)
        if func == "abs":
            return abs(args[0])
        if func in ("year", "month", "day"):
            return getattr(args[0], func)
        raise AssertionError(func)  # pragma: no cover

    def aggregate(self, e: ast.Aggregate, env: Env, items: list[Any], record: Mapping[str, object] | None,
                  outcome: Mapping[str, object] | None) -> Any:
        source = self.eval(e.source, env, items, record, outcome)
        if e.func == "streak":  # issue #11 P
            assert e.where is not None
            return self.streak([self.at(position, e.where, env, [*items, item], record, outcome)
                                for position, item in enumerate(source, 1)])

        if e.by is not None or e.func in ("increasing", "decreasing") or e.name is not None or self.indexed(e, len(items)):
            return self.aggregate_named(e, source, env, items, record, outcome)

        def where(item: Any) -> Any:
            return True if e.where is None else self.eval(e.where, env, [*items, item], record, outcome)

        def of(item: Any) -> Any:
            return item if e.of is None else self.eval(e.of, env, [*items, item], record, outcome)

        if e.func == "count":
            return len(source) if e.where is None else sum(1 for item in source if where(item))
        if e.func in ("any", "all"):
            test = (where(item) for item in source) if e.of is None else (of(item) for item in source if where(item))
            return any(test) if e.func == "any" else all(test)
        values = [of(item) for item in source if where(item)]
        if e.func == "sum":
            return sum(values, 0)
        if not values:
            return None
        return min(values) if e.func == "min" else max(values)


    # ------------------------------------------------------------ periods (issue #11 P)
    period_index: int = -1  # the period being scored (``period``)
    period_records: tuple[dict[str, Any], ...] = ()  # ``periods`` once every period is scored

    def periods_stage(self, plan: CategoryPlan, env: Env) -> tuple[Any, ...]:
        """The scoring once per period (its per-period facts' values in ``env``), then the combination:
        the score, each section and each target is Σ weight × the period's, exact.  Returns what
        :meth:`score_stage` returns plus the periods' raw results, laid out as the compiled code's."""
        policy = self.policy
        assert policy.periods is not None
        items = policy.periods.items
        per_period = [name for name in policy.period_facts if name in env]
        vetoed = self.rating_names.index(policy.ratings.vetoed)
        has_bonus = plan.category.has_bonus
        results: list[tuple[Any, ...]] = []
        deferred: list[tuple[int, list[Any]]] = []
        order: list[tuple[str, ...]] = []
        for index in range(len(items)):
            period_env = dict(env)
            for name in per_period:
                period_env[name] = self._rederive(name, env[name][index])  # type: ignore[index]
            self.period_index = index
            score, sections, order, targets, base, bonus, moved = self.score_stage(plan, period_env)
            band = self.band(plan, score)
            rating = self.rating_names.index(plan.bands[band].rating) if band >= 0 else vetoed
            results.append((score, tuple(sections[p] for p in order), tuple(targets), band, rating,
                            base if has_bonus else score, bonus if has_bonus else 0, None))
            deferred.extend(moved)
            # What the scoring stage named that does not vary by period (a let of unit-wide facts, a
            # deferral's kept list of a unit-wide list) stays readable after it, as the compiled code's
            # locals do (the checker refuses a bare read of a per-period one there, K243).
            for name in [*plan.pre_lets, *plan.lets, *(defer.alias for defer in plan.defers)]:
                if name in period_env and name not in per_period:
                    env[name] = period_env[name]
        self.period_index = -1
        weights = [item.weight / 100 for item in items]

        def added(values: list[Any]) -> Any:
            """The values added left to right, as the compiled ``a + b + c`` adds them (0 for none)."""
            if not values:
                return 0
            total = values[0]
            for value in values[1:]:
                total = total + value
            return total

        def combined(values: list[Any]) -> Any:
            return added([w * v for w, v in zip(weights, values) if w != 0])

        section_scores = {path: combined([r[1][k] for r in results]) for k, path in enumerate(order)}
        target_scores = [combined([r[2][k] for r in results]) for k in range(len(plan.targets))]

        # the sum of the combined top-level sections (the compiled code's order; see UnitCompiler)
        tops = [section_scores[s.path] for s in plan.category.sections if not (has_bonus and s.bonus)]
        if has_bonus:
            base = added(tops)
            bonus = combined([r[6] for r in results])
            score = base + bonus
        else:
            score = added(tops)
            base, bonus = score, 0
        self.period_records = tuple(
            {"score": r[0], "rating": r[4], "weight": item.weight, **{name: env[name][i] for name in per_period}}  # type: ignore[index]
            for i, (r, item) in enumerate(zip(results, items)))
        return score, section_scores, order, target_scores, base, bonus, deferred, tuple(results)

    def scored_now(self, plan: CategoryPlan, placed: PlacedTarget) -> bool:
        """Whether a target is scored in the period being scored (its top-level section is not ``only in`` others)."""
        periods = self.policy.periods
        if periods is None or self.period_index < 0:
            return True
        top = next(s for s in plan.category.sections if s.name == placed.section[0])
        return top.in_period(periods.items[self.period_index].name)

    @staticmethod
    def streak(tests: list[Any]) -> int:
        """``streak(L where C)``: the longest run of consecutive items meeting C, counted plainly."""
        best = 0
        for start in range(len(tests)):
            length = 0
            while start + length < len(tests) and tests[start + length]:
                length += 1
            best = max(best, length)
        return best

class _Frame(ExprVisitor[Any]):
    """One evaluation context: the unit's values, the enclosing list items, the record or outcome."""

    def __init__(self, interp: Interpreter, env: Env, items: list[Any], record: Mapping[str, object] | None,
                 outcome: Mapping[str, object] | None) -> None:
        self.interp = interp
        self.policy = interp.policy
        self.env = env
        self.items = items
        self.record = record
        self.outcome = outcome

    def visit_Number(self, e: ast.Number) -> Any:
        return int(e.value) if e.is_int else e.value

    def visit_MoneyLit(self, e: ast.MoneyLit) -> Any:
        return e.value

    def visit_PercentLit(self, e: ast.PercentLit) -> Any:
        return e.value

    def visit_DateLit(self, e: ast.DateLit) -> Any:
        return e.value

    def visit_TextLit(self, e: ast.TextLit) -> Any:
        return e.value

    def visit_BoolLit(self, e: ast.BoolLit) -> Any:
        return e.value

    def visit_NoneLit(self, e: ast.NoneLit) -> Any:
        return None

    def visit_EmptyList(self, e: ast.EmptyList) -> Any:
        return ()

    def visit_It(self, e: ast.It) -> Any:
        return self.items[self.policy.resolutions[e].depth]

    def visit_Name(self, e: ast.Name) -> Any:
        res = self.policy.resolutions[e]
        if res.kind in ("fact", "let", "alias"):
            return self.env[res.name]
        if res.kind in ("param", "checkpoint"):
            return self.interp.constant(res.name)
        if res.kind == "enum":
            return int(res.value)  # type: ignore[call-overload]
        if res.kind == "field":
            return self.items[res.depth][res.name]
        if res.kind == "it":  # a named item (``L as a``)
            return self.items[res.depth]
        if res.kind == "record_field":
            assert self.record is not None
            return self.record[res.name]
        if res.kind == "outcome_item":
            assert self.outcome is not None
            return self.outcome[res.name]
        if res.kind == "score":
            return self.env[SCORE_KEY]
        if res.kind == "periods":  # issue #11 P
            return self.interp.period_records
        if res.kind == "period":
            return self.interp.period_index
        if res.kind == "period_record":
            return self.interp.period_records[int(res.value)]  # type: ignore[call-overload]
        if res.kind in ("period_name", "rating"):
            return int(res.value)  # type: ignore[call-overload]
        if res.kind == "cohort":  # a cohort value (issue #11 C): the unit's standing
            return _COHORT_VALUE[res.name](self.interp.standing)
        raise AssertionError(res.kind)  # pragma: no cover

    def visit_Member(self, e: ast.Member) -> Any:
        member = self.policy.resolutions.get(e)
        if member is not None and member.kind == "enum":
            return int(member.value)  # type: ignore[call-overload]
        return self.visit(e.obj)[e.field]

    def visit_Neg(self, e: ast.Neg) -> Any:
        return -self.visit(e.operand)

    def visit_Binary(self, e: ast.Binary) -> Any:
        return self.interp.binary(e, self.visit(e.left), self.visit(e.right))

    def visit_Compare(self, e: ast.Compare) -> Any:
        left, right = self.visit(e.left), self.visit(e.right)
        if self.interp.observer is not None:
            self.interp.observer.compare(e, left, right)
        return _COMPARE[e.op](left, right)

    def visit_InRange(self, e: ast.InRange) -> Any:
        low, value = self.visit(e.low), self.visit(e.value)
        if self.interp.observer is not None:
            high = self.visit(e.high)
            self.interp.observer.in_range(e, value, low, high)
            return low <= value <= high
        return low <= value and value <= self.visit(e.high)

    def visit_And(self, e: ast.And) -> Any:
        left = self.visit(e.left)
        if self.interp.observer is not None:
            right = self.visit(e.right) if left else self._unobserved(e.right)
            self.interp.observer.junction(e, bool(left), None if right is _FAILED else bool(right))
            return right if left else left
        return self.visit(e.right) if left else left

    def visit_Or(self, e: ast.Or) -> Any:
        left = self.visit(e.left)
        if self.interp.observer is not None:
            right = self._unobserved(e.right) if left else self.visit(e.right)
            self.interp.observer.junction(e, bool(left), None if right is _FAILED else bool(right))
            return left if left else right
        return left if left else self.visit(e.right)

    def _unobserved(self, e: ast.Expr) -> Any:
        """A short-circuited operand evaluated for MC/DC only: its own comparisons are not observed
        (the real evaluation never reached them) and a failure (a None compared) is no value."""
        observer, self.interp.observer = self.interp.observer, None
        try:
            return self.visit(e)
        except Exception:
            return _FAILED
        finally:
            self.interp.observer = observer

    def visit_Not(self, e: ast.Not) -> Any:
        return not self.visit(e.operand)

    def visit_If(self, e: ast.If) -> Any:
        return self.visit(e.then) if self.visit(e.cond) else self.visit(e.otherwise)

    def visit_IsSet(self, e: ast.IsSet) -> Any:
        return (self.visit(e.operand) is not None) == e.expect_set

    def visit_Coalesce(self, e: ast.Coalesce) -> Any:
        left, right = self.visit(e.left), self.visit(e.right)
        if self.interp.observer is not None:
            self.interp.observer.coalesce(e, left is None)
        return right if left is None else left

    def visit_Call(self, e: ast.Call) -> Any:
        mapped = self.policy.resolutions.get(e)
        if mapped is not None and mapped.kind == "map":  # a map (issue #16): none in, none out
            return self.policy.map_values[mapped.name].get(self.visit(e.args[0]))
        if e.func == "index":  # its argument names an item, it is not a value to compute
            return self.interp.call(e, [])
        res = self.policy.resolutions.get(e)
        if res is not None and res.kind == "score_of":  # score(X), issue #10 A2
            path: tuple[str, ...] = res.value  # type: ignore[assignment]
            if res.name == "section":
                plan = self.policy.plans[self.interp.category]
                section = plan.category.section_named(path)
                assert section is not None
                path = section.path
            return self.env[score_key(res.name, path)]
        return self.interp.call(e, [self.visit(a) for a in e.args])

    def visit_Aggregate(self, e: ast.Aggregate) -> Any:
        return self.interp.aggregate(e, self.env, self.items, self.record, self.outcome)

    def visit_Extremum(self, e: ast.Extremum) -> Any:
        values = [self.visit(a) for a in e.args]
        return min(values) if e.func == "min" else max(values)

    def visit_ListLit(self, e: ast.ListLit) -> Any:  # issue #16
        return tuple(self.visit(item) for item in e.items)

    def visit_InList(self, e: ast.InList) -> Any:  # issue #16: none is in no list
        value = self.visit(e.value)
        return value is not None and value in self.visit(e.container)


_FAILED = object()


def _verb(rule: ast.Rule) -> str:
    return "add" if isinstance(rule, (ast.AddWhen, ast.AddUnless, ast.AddPer, ast.Add)) else "deduct"


def _nonneg(value: Any) -> Any:
    return value if value > 0 else 0


def _cap(value: Any, cap: Any) -> Any:
    return value if value < cap else (cap if cap > 0 else 0)


def _clamp(value: Any, low: Any, high: Any) -> Any:
    return low if value < low else high if value > high else value


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
}


#: the cohort values, read from a standing (issue #11 C)
_COHORT_VALUE: dict[str, Callable[[Standing], Any]] = {
    "rank": lambda s: s.rank, "ranked_count": lambda s: s.ranked_count, "unit_count": lambda s: s.unit_count,
    "best": lambda s: s.best, "average": lambda s: s.average,
}


def interpret(policy: CheckedPolicy, category: str, facts: Mapping[str, object],
              standing: Standing | None = None) -> tuple[Any, ...]:
    """The raw result of one unit (coerced ``facts``) by the reference interpreter.

    Run it inside the engine's decimal context (``numeric.engine_context()``), as the
    compiled evaluator is run.  ``standing``: the unit's standing in a cohort policy.
    """
    return Interpreter(policy).run(category, facts, standing)


def ledger_specs(policy: CheckedPolicy) -> tuple[LedgerSpec, ...]:
    """The policy's ledgers with the interpreter's own reading of each rule (issue #16).

    The same specs as the compiled module's (``Program.ledgers``) except for the callables:
    each ``when`` and join key evaluates the checked AST over the event (the event is the
    record in scope, as for a record's let), so the differential test can compare the two
    on generated events.
    """
    interp = Interpreter(policy)

    def when(plan: LedgerRulePlan) -> Callable[[Mapping[str, object]], bool] | None:
        condition = plan.condition
        if condition is None:
            return None
        return lambda event: bool(interp.eval(condition, {}, [], record=event))

    def key(plan: LedgerRulePlan, k: int) -> Callable[[Mapping[str, object]], object]:
        value = plan.joins[k].value
        return lambda event: interp.eval(value, {}, [], record=event)

    return tuple(build_spec(plan, when, key) for plan in policy.ledgers)
