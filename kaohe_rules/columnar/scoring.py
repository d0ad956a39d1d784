"""One category's plan compiled to the results columns: rules → targets → sections → bonus caps → score →
bands → vetoes and exceptions → rating → outcomes, in the reference interpreter's order and semantics
(:mod:`kaohe_rules.runtime.interpreter`).

:meth:`CategoryCompiler.columns` returns, for the rows of one category, a polars expression per results
column (``results.result_columns``) and one Boolean expression, True for a row the compiled expressions
cannot answer exactly — a negative ``deduct``/``add`` amount (the per-unit evaluator's error), a fact
beyond :data:`~.numbers.FACT_LIMIT`, a points value with more places than the results table holds, a
required fact that is null.  Those rows are assessed per unit, which gives their exact result or error.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..language import ast
from ..language.model import BandInfo, CategoryPlan, CheckedPolicy, PlacedTarget, SectionInfo
from .exprs import ExprCompiler, ListOf, Plain, Value, fact_value, text, where
from .numbers import (
    FACT_LIMIT,
    Num,
    Unsupported,
    add,
    align,
    checked,
    constant,
    half_up,
    int128,
    lit,
    mul,
    narrow,
    non_negative,
    to_decimal,
)
from .results import MONEY_SCALE, POINT_SCALE

if TYPE_CHECKING:
    import polars as pl

@attrs.frozen
class Compiled:
    """One category compiled: ``steps`` (columns computed stage by stage, each reading earlier stages'),
    the results columns, and the per-row Boolean "assess per unit instead"."""

    steps: list[dict[str, pl.Expr]]
    columns: dict[str, pl.Expr]
    per_unit: pl.Expr


#: the keys of the scores read after scoring (``score``, ``score(X)``)
SCORE_KEY = "score"


def score_key(kind: str, path: tuple[str, ...]) -> str:
    return f"{kind}:{'.'.join(path)}"


#: how many digits a results column's scaled integer may have (Decimal(38, …))
_OUT_DIGITS = 38


class CategoryCompiler:
    """The compiled columns of one category (see the module doc)."""

    def __init__(self, checked: CheckedPolicy, category: str) -> None:
        self.checked = checked
        self.category = category
        self.plan: CategoryPlan = checked.plans[category]
        self.env: dict[str, Value] = {}
        self.flags: list[pl.Expr] = []  # per-row: assess per unit
        self.guarded: set[str] = set()
        self.guarded_fields: set[tuple[str, str]] = set()
        self.lists: dict[str, str] = {}  # list fact -> its record (for field guards)
        self.rating_names = [r.name for r in checked.ratings.ratings]
        self.expr = ExprCompiler(checked, self.lookup, guard=self.guard_field)
        self.scores: dict[str, Num] = {}
        self.steps: list[dict[str, pl.Expr]] = [{}]

    # ------------------------------------------------------------------ names
    def lookup(self, e: Any, res: Any) -> Value:
        if res.kind == "fact":
            return self.fact(res.name, e)
        if res.kind in ("let", "alias"):
            if res.name not in self.env:
                if res.kind == "alias" or res.name not in self.checked.lets:
                    raise Unsupported(f"'{res.name}' read before it is computed", where(e))
                self.env[res.name] = self.expr.value(self.checked.lets[res.name].value)
            return self.env[res.name]
        if res.kind == "score":
            return self.scores[SCORE_KEY]
        if res.kind == "score_of":
            path: tuple[str, ...] = res.value
            if res.name == "section":
                info = self.plan.category.section_named(path)
                if info is None:
                    raise Unsupported(f"'{text(e)}'", where(e))
                path = info.path
            key = score_key(res.name, path)
            if key not in self.scores:
                raise Unsupported(f"'{text(e)}'", where(e))
            return self.scores[key]
        raise Unsupported(f"'{text(e)}' ({res.kind})", where(e))

    def fact(self, name: str, e: Any) -> Value:
        import polars as pl

        type_ = self.checked.fact_types[name]
        if self.checked.facts[name].per_period or self.checked.facts[name].ledger:
            raise Unsupported(f"fact {name} (per period or from a ledger)", where(e))
        value = fact_value(self.checked, name, type_, pl.col(name))
        if name not in self.guarded:
            self.guarded.add(name)
            if not type_.optional:  # a required fact is never null in a clean row: if it is, per unit
                self.flags.append(pl.col(name).is_null())
            if isinstance(value, Num) and value.scale > 0:  # a decimal fact (an int one is bounded by Int64)
                self.flags.append(pl.col(name).abs() > int128(FACT_LIMIT * 10 ** value.scale))
        if isinstance(value, ListOf):
            self.lists[name] = value.record
        return value

    def guard_field(self, record: str, field: str, scale: int) -> None:
        """A numeric record field read: rows whose lists hold a value beyond FACT_LIMIT go per unit."""
        import polars as pl

        if (record, field) in self.guarded_fields:
            return
        self.guarded_fields.add((record, field))
        bound = int128(FACT_LIMIT * 10 ** scale)
        for fact, rec in self.checked_lists(record):
            big = pl.col(fact).list.eval(pl.element().struct.field(field).abs() > bound).list.any()
            self.flags.append(big.fill_null(False))
            del rec

    def checked_lists(self, record: str) -> list[tuple[str, str]]:
        out = []
        for name in self.plan.facts:
            t = self.checked.fact_types[name]
            if t.kind == "list" and t.elem is not None and t.elem.name == record:
                out.append((name, record))
        return out

    # ------------------------------------------------------------------ rules and targets
    def amount(self, rule: Any, e: ast.Expr, applies: pl.Expr | None) -> Num:
        """A deduct/add amount; where it is negative (and evaluated) the per-unit evaluator raises: per unit."""
        value = self.expr.num(e)
        negative = value.expr < lit(0)
        self.flags.append(negative if applies is None else (applies & negative))
        return value

    def rule(self, rule: ast.Rule, points: Decimal) -> Num:
        import polars as pl

        full = constant(points)
        if isinstance(rule, ast.Full):
            cond = self.expr.boolean(rule.condition).fill_null(False)
            return Num(pl.when(cond).then(lit(0)).otherwise(full.expr), full.scale, full.bound)
        if isinstance(rule, (ast.DeductWhen, ast.AddWhen)):
            cond = self.expr.boolean(rule.condition).fill_null(False)
            amount = self.amount(rule, rule.amount, cond)
            return Num(pl.when(cond).then(amount.expr).otherwise(lit(0)), amount.scale, amount.bound)
        if isinstance(rule, (ast.DeductUnless, ast.AddUnless)):
            cond = self.expr.boolean(rule.condition).fill_null(False)
            amount = self.amount(rule, rule.amount, ~cond)
            return Num(pl.when(cond).then(lit(0)).otherwise(amount.expr), amount.scale, amount.bound)
        if isinstance(rule, (ast.DeductPer, ast.AddPer)):
            amount = self.amount(rule, rule.amount, None)
            per = self.expr.num(rule.per)
            per = Num(non_negative(per.expr), per.scale, per.bound)
            raw = mul(amount, per, False)
            return self.capped(raw, rule.cap, rule)
        if isinstance(rule, (ast.Deduct, ast.Add)):
            amount = self.amount(rule, rule.amount, None)
            return self.capped(amount, rule.cap, rule)
        if isinstance(rule, ast.Proportional):
            ratio = self.expr.num(rule.amount)
            if self.checked.types[rule.amount].kind == "percent":
                ratio = Num(ratio.expr, ratio.scale + 2, ratio.bound)
            one = constant(1).at(ratio.scale)
            clamped = Num(pl.when(ratio.expr < lit(0)).then(lit(0))
                          .when(ratio.expr > one.expr).then(one.expr).otherwise(ratio.expr), ratio.scale,
                          max(ratio.bound, one.bound))
            taken = mul(full, clamped, False)
            return add(full, taken, "-")
        if isinstance(rule, ast.Score):
            value = self.expr.num(rule.amount)
            value, top = align(value, full)
            clamped = Num(pl.when(value.expr < lit(0)).then(lit(0))
                          .when(value.expr > top.expr).then(top.expr).otherwise(value.expr), value.scale,
                          max(value.bound, top.bound))
            return add(full, clamped, "-")
        raise Unsupported(f"rule '{text(rule)}'", where(rule))

    def capped(self, raw: Num, cap_expr: ast.Expr | None, rule: Any) -> Num:
        """``_cap``: the value if below the cap, else the cap (0 if the cap is not positive)."""
        import polars as pl

        if cap_expr is None:
            return raw
        cap = self.expr.num(cap_expr)
        raw, cap = align(raw, cap)
        positive = non_negative(cap.expr)
        return Num(pl.when(raw.expr < cap.expr).then(raw.expr).otherwise(positive), raw.scale,
                   max(raw.bound, cap.bound))

    def target(self, placed: PlacedTarget) -> Num:
        import polars as pl

        rules = placed.target.rules
        if placed.bonus:
            added = Num(lit(0), 0, 0)
            for rule in rules:
                added = add(added, self.rule(rule, placed.points), "+")
            if placed.cap is None:
                return added
            value, cap = align(added, constant(placed.cap))
            return Num(pl.when(value.expr <= cap.expr).then(value.expr).otherwise(cap.expr), value.scale,
                       max(value.bound, cap.bound))
        points = constant(placed.points)
        if not rules:
            return points
        total = Num(lit(0), 0, 0)
        for rule in rules:
            total = add(total, self.rule(rule, placed.points), "+")
        total = checked(total, f"the rules of target {placed.target.name}", where(placed.target))
        score = add(points, total, "-")
        # every rule's value is >= 0 (a negative amount goes per unit), so the score is within 0..points
        return Num(non_negative(score.expr), score.scale,
                   points.at(score.scale).bound)

    # ------------------------------------------------------------------ the whole category
    def step(self) -> None:
        """Start a new stage: what is materialised from here on may read the columns of earlier stages."""
        if self.steps[-1]:
            self.steps.append({})

    def keep(self, name: str, value: Value) -> Value:
        """Materialise ``value`` as a column of the current stage and read it back by name.

        Why: a polars expression is a tree; a score read by every band test, a rating read by every
        outcome column would each copy the whole tree of targets below them, and the query planner pays
        for every copy.  Columns computed once per stage keep each expression small.
        """
        import polars as pl

        if isinstance(value, Num):  # held in Int64 when its bound allows (Int128 arithmetic costs several times more)
            value = narrow(value)
        self.steps[-1][name] = value.expr
        if isinstance(value, Num):
            return Num(pl.col(name), value.scale, value.bound)
        if isinstance(value, Plain):
            return Plain(pl.col(name), value.kind)
        return ListOf(pl.col(name), value.record, value.keep)

    def columns(self, names: tuple[str, ...]) -> Compiled:
        import polars as pl

        checked, plan = self.checked, self.plan
        if checked.periods is not None:
            raise Unsupported("periods (scored once per period)", where(checked.periods))
        if checked.cohort is not None:
            raise Unsupported("cohort (decided over the whole batch)", checked.cohort.name)
        if plan.pre_lets:
            raise Unsupported(f"let {plan.pre_lets[0]} read by a defer",
                              where(checked.lets[plan.pre_lets[0]]))
        out: dict[str, pl.Expr] = {}
        # defers: the kept list under its alias, the number of items moved
        for defer in plan.defers:
            if defer.source_list not in checked.fact_types:
                raise Unsupported(f"defer {defer.name} from '{defer.source_list}' (not a fact)", where(defer))
            if defer.item_name is not None:
                raise Unsupported(f"defer {defer.name} from … as {defer.item_name}", where(defer))
            source = self.fact(defer.source_list, defer)
            if not isinstance(source, ListOf):
                raise Unsupported(f"defer {defer.name}", where(defer))
            moved = self.expr.condition_of_items(source, defer.where)
            self.env[defer.alias] = ListOf(source.expr, source.record, ~moved)
            out[f"deferred:{defer.name}"] = source.expr.list.eval(moved).list.sum().cast(pl.Int64)
        for name in plan.lets:
            if name in checked.lets and name not in self.env:
                self.step()
                self.env[name] = self.keep(f"__let:{name}", self.expr.value(checked.lets[name].value))
        # targets and sections
        self.step()
        target_scores = [self.keep(f"__target:{placed.target.name}", self.target(placed)) for placed in plan.targets]
        sections: dict[tuple[str, ...], Num] = {}

        def section(info: SectionInfo) -> Num:
            """A section's points from its targets (a leaf) or its children's kept columns."""
            total = Num(lit(0), 0, 0)
            if not info.is_leaf:
                for child in info.children:
                    total = add(total, sections[child.path], "+")
                return total
            for placed, score in zip(plan.targets, target_scores, strict=True):
                if placed.section == info.path:
                    total = add(total, score, "+")  # type: ignore[arg-type]
            if not info.bonus:
                return Num(non_negative(total.expr), total.scale, total.bound)
            if info.cap is None:
                return total
            value, cap = align(total, constant(info.cap))
            return Num(pl.min_horizontal(value.expr, cap.expr), value.scale, max(value.bound, cap.bound))

        def height(info: SectionInfo) -> int:
            return 0 if info.is_leaf else 1 + max(height(child) for child in info.children)

        # the leaves first, then each level of parents in a stage of its own, reading its children's columns
        every = list(plan.category.all_sections())
        for level in sorted({height(info) for info in every}):
            self.step()
            for info in every:
                if height(info) == level:
                    kept = self.keep("__section:" + ".".join(info.path), section(info))
                    assert isinstance(kept, Num)
                    sections[info.path] = kept
        self.step()
        base = Num(lit(0), 0, 0)
        bonus = Num(lit(0), 0, 0)
        for top in plan.category.sections:
            if top.bonus:
                bonus = add(bonus, sections[top.path], "+")
            else:
                base = add(base, sections[top.path], "+")
        cap = plan.category.bonus_cap
        if cap is not None:
            value, limit = align(bonus, constant(cap))
            bonus = Num(pl.when(value.expr > limit.expr).then(limit.expr).otherwise(value.expr), value.scale,
                        max(value.bound, limit.bound))
        base = self.keep("__base", base)  # type: ignore[assignment]
        bonus = self.keep("__bonus", bonus)  # type: ignore[assignment]
        self.step()
        score = self.keep("__score", add(base, bonus, "+"))
        assert isinstance(score, Num)
        # the scores are values from here on (post lets, score(X))
        self.scores[SCORE_KEY] = score
        for placed, target_score in zip(plan.targets, target_scores, strict=True):
            self.scores[score_key("target", (placed.target.name,))] = target_score  # type: ignore[assignment]
        for info in plan.category.all_sections():
            self.scores[score_key("section", info.path)] = sections[info.path]
        for name in plan.post_lets:
            self.step()
            self.env[name] = self.keep(f"__let:{name}", self.expr.value(checked.lets[name].value))
        # vetoes and their exceptions
        self.step()
        fired: list[tuple[ast.VetoDecl, pl.Expr]] = []
        for veto in plan.vetoes:
            if veto.on_list is not None:
                if veto.on_name is not None:
                    raise Unsupported(f"veto {veto.name} on … as {veto.on_name}", where(veto))
                source = self.expr.value(veto.on_list)
                if not isinstance(source, ListOf):
                    raise Unsupported(f"veto {veto.name} on '{text(veto.on_list)}'", where(veto))
                hit = source.expr.list.eval(self.expr.condition_of_items(source, veto.condition)).list.any()
            else:
                hit = self.expr.boolean(veto.condition).fill_null(False)
            for exception in veto.exceptions:
                hit = hit & ~self.expr.boolean(exception.condition).fill_null(False)
            kept_hit = self.keep(f"__veto:{veto.name}", Plain(hit.fill_null(False), "bool")).expr
            fired.append((veto, kept_hit))
            out[f"veto:{veto.name}"] = kept_hit
        vetoed_index = self.rating_names.index(checked.ratings.vetoed)
        if plan.staged:
            score, any_veto, band_rating, rating = self.staged(fired, score)
        else:
            self.step()
            any_veto = self.keep("__vetoed", Plain(pl.any_horizontal([hit for _, hit in fired]) if fired
                                                   else pl.lit(False), "bool")).expr
            band_rating = self.keep("__band", Plain(self.band_rating(score), "enum")).expr
            self.step()
            rating = self.keep("__rating", Plain(pl.when(any_veto).then(pl.lit(vetoed_index, dtype=pl.Int32))
                                                 .otherwise(band_rating.fill_null(vetoed_index)), "enum")).expr
        self.step()
        out["vetoed"] = any_veto
        out["band"] = self.rating_name(band_rating)
        out["rating"] = self.rating_name(rating)
        # outcomes
        for rating_name, decl in checked.outcomes.items():
            self.outcome(decl, rating == self.rating_names.index(rating_name), rating_name, out)
        for decl in checked.general_outcomes:
            self.outcome(decl, None, "*", out)
        # the numbers
        out["score"] = self.points(score, "score")
        out["base_score"] = self.points(base if plan.category.has_bonus else score, "base_score")
        out["bonus"] = self.points(bonus, "bonus")
        for info in plan.category.all_sections():
            out["section:" + ".".join(info.path)] = self.points(sections[info.path], info.name)
        for placed, target_score in zip(plan.targets, target_scores, strict=True):
            out[f"target:{placed.target.name}"] = self.points(target_score, placed.target.name)  # type: ignore[arg-type]
        unknown = [name for name in out if name not in names]
        if unknown:  # pragma: no cover - result_columns lists every column a plan can fill
            raise Unsupported(f"results column {unknown[0]}", self.category)
        # a flag that is null (an optional fact absent, a value not computed) raises nothing per unit
        per_unit = pl.any_horizontal([flag.fill_null(False) for flag in self.flags]) if self.flags else pl.lit(False)
        return Compiled([step for step in self.steps if step], out, per_unit)

    def points(self, num: Num, what: str) -> pl.Expr:
        if num.bound * 10 ** max(POINT_SCALE - num.scale, 0) >= 10 ** _OUT_DIGITS:
            raise Unsupported(f"{what} (its exact value may not fit the results table)", self.category)
        value, unfit = to_decimal(num, POINT_SCALE)
        if unfit is not None:  # more places than the table holds: per unit gives the error row
            self.flags.append(unfit)
        return value

    def band_index(self, score: Num) -> pl.Expr:
        """The index of the band that holds ``score`` (the highest low edge first), null for none."""
        import polars as pl

        result = pl.lit(None, dtype=pl.Int32)
        order = sorted(range(len(self.plan.bands)), key=lambda i: self.plan.bands[i].low, reverse=True)
        for index in reversed(order):  # built inside out: the first band in ``order`` is tested first
            result = pl.when(self.contains(self.plan.bands[index], score)).then(
                pl.lit(index, dtype=pl.Int32)).otherwise(result)
        return result

    def band_rating(self, score: Num) -> pl.Expr:
        """The rating (index) of the band that holds ``score``, null for none."""
        import polars as pl

        result = pl.lit(None, dtype=pl.Int32)
        order = sorted(range(len(self.plan.bands)), key=lambda i: self.plan.bands[i].low, reverse=True)
        for index in reversed(order):
            rating = pl.lit(self.rating_names.index(self.plan.bands[index].rating), dtype=pl.Int32)
            result = pl.when(self.contains(self.plan.bands[index], score)).then(rating).otherwise(result)
        return result

    def staged(self, fired: list[tuple[ast.VetoDecl, pl.Expr]],
               raw: Num) -> tuple[Num, pl.Expr, pl.Expr, pl.Expr]:
        """Steps 4-9 of the documented order (docs/language.md, "Order of application"), as the interpreter's
        ``rating_effects``: the final score, whether a veto without effect fired, the band's rating, the rating."""
        import polars as pl

        plan = self.plan
        names = self.rating_names
        worst = len(names) - 1
        vetoed = names.index(self.checked.ratings.vetoed)

        def idx(value: int) -> pl.Expr:
            return pl.lit(value, dtype=pl.Int32)

        # 4: the lowest score set by a fired ``then score E`` (clamped to 0..the maximum) is the final score
        final = raw
        seen: pl.Expr = pl.lit(False)
        for veto, hit in fired:
            effect = veto.effect
            if effect is None or effect.kind != "score" or effect.amount is None:
                continue
            value = self.expr.num(effect.amount)
            if plan.maximum is None:
                value = Num(non_negative(value.expr), value.scale,
                            value.bound)
            else:
                value, top = align(value, constant(plan.maximum))
                value = Num(pl.when(value.expr < lit(0)).then(lit(0)).when(value.expr > top.expr)
                            .then(top.expr).otherwise(value.expr), value.scale, max(value.bound, top.bound))
            before, new = align(final, value)
            lower = pl.when(before.expr < new.expr).then(before.expr).otherwise(new.expr)
            final = Num(pl.when(hit).then(pl.when(seen).then(lower).otherwise(new.expr)).otherwise(before.expr),
                        before.scale, max(before.bound, new.bound))
            seen = seen | hit
        self.step()
        kept = self.keep("__final", final)
        assert isinstance(kept, Num)
        final = kept
        # 5: the band on the final score; 6: a failed ``requires`` gives the next lower band, checked in turn
        self.step()
        band = self.keep("__bandindex", Plain(self.band_index(final), "enum")).expr
        order = sorted(range(len(plan.bands)), key=lambda i: (plan.bands[i].low, not plan.bands[i].low_closed))
        qualified: dict[int, pl.Expr] = {}
        for position, index in enumerate(order):
            requires = plan.bands[index].requires
            if requires is None or position == 0:
                qualified[index] = idx(index)
            else:
                test = self.expr.boolean(requires).fill_null(False)
                qualified[index] = pl.when(test).then(idx(index)).otherwise(qualified[order[position - 1]])
        band_rating: pl.Expr = pl.lit(None, dtype=pl.Int32)
        rating: pl.Expr = idx(vetoed)
        for index in range(len(plan.bands)):
            band_rating = pl.when(band == index).then(idx(names.index(plan.bands[index].rating))).otherwise(band_rating)
            rating_of = pl.lit(None, dtype=pl.Int32)
            for other in range(len(plan.bands)):
                rating_of = pl.when(qualified[index] == other).then(
                    idx(names.index(plan.bands[other].rating))).otherwise(rating_of)
            rating = pl.when(band == index).then(rating_of).otherwise(rating)
        self.step()
        band_rating = self.keep("__band", Plain(band_rating, "enum")).expr
        rating = self.keep("__rating0", Plain(rating, "enum")).expr
        # 7: caps (the worst cap wins); 8: downgrades (never below the worst rating)
        for veto, hit in fired:
            effect = veto.effect
            if effect is not None and effect.kind == "cap" and effect.rating is not None:
                capped = pl.max_horizontal(rating, idx(names.index(effect.rating)))
                rating = pl.when(hit).then(capped).otherwise(rating)
        for veto, hit in fired:
            effect = veto.effect
            if effect is not None and effect.kind == "downgrade" and effect.amount is not None:
                type_ = self.checked.types.get(effect.amount)
                whole = (isinstance(effect.amount, ast.Number) and effect.amount.is_int) or (
                    type_ is not None and type_.kind == "int")
                if not whole:
                    raise Unsupported(f"veto {veto.name} … then downgrade by a number that is not whole",
                                      where(effect))
                steps = self.expr.num(effect.amount)
                self.flags.append(hit & (steps.expr < lit(0)))  # a negative downgrade: per unit
                down = rating.cast(pl.Int128) + steps.expr
                rating = pl.when(hit).then(pl.when(down > int128(worst)).then(idx(worst))
                                           .otherwise(down.cast(pl.Int32, strict=False))).otherwise(rating)
        # 9: forced ratings (a veto without effect forces the vetoed rating): the worst forced one wins
        forced_any: pl.Expr = pl.lit(False)
        for veto, hit in fired:
            effect = veto.effect
            if effect is not None and effect.kind != "rating":
                continue
            forced = names.index(effect.rating) if effect is not None and effect.rating else vetoed
            rating = pl.when(hit).then(pl.when(forced_any).then(pl.max_horizontal(rating, idx(forced)))
                                       .otherwise(idx(forced))).otherwise(rating)
            forced_any = forced_any | hit
        for veto, _ in fired:
            effect = veto.effect
            if effect is not None and effect.kind not in ("score", "cap", "downgrade", "rating"):
                raise Unsupported(f"veto {veto.name} … then {effect.kind}", where(effect))
        self.step()
        rating = self.keep("__rating", Plain(rating, "enum")).expr
        plain = [hit for veto, hit in fired if veto.effect is None]
        any_veto = pl.any_horizontal(plain) if plain else pl.lit(False)
        return final, any_veto, band_rating, rating

    @staticmethod
    def contains(band: BandInfo, score: Num) -> pl.Expr:
        low_value, low = align(score, constant(band.low))
        above = low_value.expr >= low.expr if band.low_closed else low_value.expr > low.expr
        if band.high.is_infinite():
            return above
        high_value, high = align(score, constant(band.high))
        below = high_value.expr <= high.expr if band.high_closed else high_value.expr < high.expr
        return above & below

    def rating_name(self, index: pl.Expr) -> pl.Expr:
        import polars as pl

        result = pl.lit(None, dtype=pl.String)
        for position, name in enumerate(self.rating_names):
            result = pl.when(index == position).then(pl.lit(name)).otherwise(result)
        return result

    # ------------------------------------------------------------------ outcomes
    def outcome(self, decl: ast.OutcomeDecl, given: pl.Expr | None, prefix: str, out: dict[str, pl.Expr]) -> None:
        """The outcome's items (money to the fen half up, ``rest`` shares, sanctions), null unless ``given``."""
        import polars as pl

        zero_fen = Num(lit(0), MONEY_SCALE, 0)
        items: dict[str, Num] = {}
        compiler = ExprCompiler(self.checked, self.lookup, None, items, self.guard_field)
        total = zero_fen
        shares = zero_fen
        rest: str | None = None
        values: dict[str, pl.Expr] = {}
        for item in decl.items:
            column = f"outcome:{prefix}.{item.name}"
            applies = not item.categories or self.category in item.categories
            if not applies:
                if item.kind in ("reward", "fine") and item.name not in items:
                    items[item.name] = zero_fen
                continue
            cond = None
            if item.condition is not None:  # computed once (a column), read by the amount and the cell
                self.step()
                cond = self.keep(f"__when:{prefix}.{item.name}",
                                 Plain(compiler.boolean(item.condition).fill_null(False), "bool")).expr
            if item.kind in ("reward", "fine", "share") and item.amount is not None:
                amount = half_up(compiler.num(item.amount), MONEY_SCALE)
                if amount.bound >= 10 ** 30:
                    raise Unsupported(f"outcome item {item.name} (its amount may not fit)", where(item))
                if cond is not None:
                    amount = Num(pl.when(cond).then(amount.expr).otherwise(lit(0)), MONEY_SCALE, amount.bound)
                self.step()  # the amount to the fen, once: later items, the total and the rest read it
                kept = self.keep(f"__amount:{prefix}.{item.name}", amount)
                assert isinstance(kept, Num)
                amount = kept
                if item.kind == "share":
                    shares = add(shares, amount, "+")
                else:
                    items[item.name] = amount
                    total = add(total, amount, "+")
                values[column] = self.money(amount) if cond is None else pl.when(cond).then(self.money(amount))
            elif item.kind == "share":
                rest = column
                if cond is not None:
                    raise Unsupported(f"a conditional rest share {item.name}", where(item))
            elif item.kind == "sanction":
                values[column] = pl.lit(True) if cond is None else pl.when(cond).then(pl.lit(True))
            else:  # pragma: no cover - the checker knows no other kind
                raise Unsupported(f"outcome item {item.kind} {item.name}", where(item))
        if rest is not None:
            values[rest] = self.money(add(total, shares, "-"))
        for column, value in values.items():
            out[column] = value if given is None else pl.when(given).then(value)

    @staticmethod
    def money(num: Num) -> pl.Expr:
        value, unfit = to_decimal(num, MONEY_SCALE)
        assert unfit is None
        return value
