"""The built-in policy laws (``verify`` in :mod:`.verifier` checks them all on any policy with one call).

A law is something every result of every policy must satisfy, whatever the
policy says: the score stays within the points, a veto always fails the unit,
bands are monotone, more deductions never raise the rating, money parts sum to
the whole exactly to the fen, evaluation is deterministic.  The engine is built
to guarantee them; the laws check that it does, on the policy at hand, over
units hypothesis generates from the policy's own declarations (and units near
the best and worst the policy allows, and near real units when given).

When a law fails, hypothesis shrinks the unit to a small one and the report
carries it with its explanation (``result.explain()``), so the author sees a
concrete unit and the clause-by-clause reasoning that broke the law.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import KaoheError
from ..language.abi import RAW_EFFECTS
from ..numeric import engine_context, to_fen
from ..runtime.interpreter import interpret

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.parts import SectionResult
    from ..runtime.result import Result


@attrs.frozen
class Law:
    name: str
    title: str
    text: str


LAWS: tuple[Law, ...] = (
    Law("evaluates", "every valid unit is assessed",
        "a unit the policy accepts (right types, within bounds) is assessed without an evaluation error"),
    Law("score-bounds", "score within [0, the checker's maximum], each section within its points",
        "0 <= target <= its points; a section is the sum of its parts, 0 <= section <= its points; "
        "0 <= score <= the checker's maximum (the total, or more with bonus points) and the score is the "
        "base (the sum of the top base sections) plus the bonus counted after its caps"),
    Law("veto-fails", "any veto => the vetoed rating",
        "a unit with a veto is rated with the policy's vetoed rating; a unit without one is rated by its band"),
    Law("bands-monotone", "bands are monotone in the score",
        "exactly one band holds the score, and a higher score never earns a worse band"),
    Law("deductions-monotone", "more deductions never raise the rating",
        "no rule adds points; a unit that loses at least as much in every target, with every veto of another, "
        "never scores higher (before score effects) nor is rated better — unless a score effect, a band requirement "
        "the other unit fails, or a forced rating of a veto only it has decides its rating"),
    Law("money-exact", "money parts sum to the whole, exact to the fen",
        "every amount is exact to the fen and not negative; rewards (or fines) sum to the total; shares sum to the "
        "total when a `rest` share applies and to at most the total otherwise; also for each outcome for every rating"),
    Law("deterministic", "evaluation is deterministic",
        "the same unit gives the same result again, traced, with its facts in another order, "
        "and under any ambient decimal context"),
    Law("downgrade-never-raises", "a downgrade never raises the rating",
        "each `then downgrade N` step ends at the rating it started from or a worse one"),
    Law("cap-never-raises", "a cap never raises the rating",
        "each `then cap R` step ends at the rating it started from or a worse one, and never better than R"),
    Law("effects-ordered", "rating effects apply in the documented order",
        "score effects, band requirements, caps, downgrades, forced ratings, in that order; each step starts "
        "where the previous one ended, the last gives the rating; the reference interpreter takes the same steps"),
    Law("bonus-never-lowers", "a bonus never lowers the score",
        "bonus points (加分) are never negative and the score (before score effects) is at least the base score; a "
        "unit with the same base targets and at least as much in every bonus target never scores lower"),
)
LAW_NAMES = tuple(law.name for law in LAWS)
_BY_NAME = {law.name: law for law in LAWS}


class LawViolation(AssertionError):
    """A law failed on concrete units (raised inside the hypothesis test so it can shrink)."""

    law = "?"

    def __init__(self, message: str, units: Sequence[Mapping[str, Any]], results: Sequence[Result | None]) -> None:
        super().__init__(f"{self.law}: {message}")
        self.message = message
        self.units = tuple(units)
        self.results = tuple(results)


# One exception class per law, so hypothesis shrinks each failure as a distinct bug.
_VIOLATIONS: dict[str, type[LawViolation]] = {
    name: type(f"LawViolation_{name.replace('-', '_')}", (LawViolation,), {"law": name}) for name in LAW_NAMES
}


def _fail(law: str, message: str, units: Sequence[Mapping[str, Any]], results: Sequence[Result | None]) -> LawViolation:
    return _VIOLATIONS[law](message, units, results)


# ------------------------------------------------------------------ one unit
def assess_alone(policy: Policy, unit: Mapping[str, Any], *, trace: bool = False) -> Result:
    """One unit by itself: a cohort policy's unit provisionally (issue #11 C: no rank, no quota),
    for the one-unit laws, which hold of that result as of any other."""
    if policy.cohort is not None:
        return policy.evaluate(unit, trace=trace, provisional=True)
    return policy.evaluate(unit, trace=trace)


def evaluate_checked(policy: Policy, unit: Mapping[str, Any]) -> Result:
    """Evaluate, turning any refusal of a generated valid unit into an ``evaluates`` violation."""
    try:
        return assess_alone(policy, unit)
    except KaoheError as exc:
        raise _fail("evaluates", f"the unit could not be assessed: {exc}", [unit], [None]) from None


def check_result(policy: Policy, unit: Mapping[str, Any], result: Result, *, deterministic: bool = True) -> None:
    """Check every one-unit law on ``result`` (of ``unit``); raise the first :class:`LawViolation`."""
    for check in (_score_bounds, _veto_fails, _band_holds, _rules_never_add, _money_exact, _effects_lawful,
                  _bonus_never_lowers):
        # in the engine's context: a score of 34 significant digits (an average over 3 raters) summed
        # in Python's default 28 would look like a section whose parts do not add up
        with engine_context():
            message = check(policy, result)
        if message is not None:
            law, text = message
            raise _fail(law, text, [unit], [result])
    if deterministic:
        message2 = _deterministic(policy, unit, result)
        if message2 is not None:
            raise _fail("deterministic", message2, [unit], [result])


def check_pair(policy: Policy, first: tuple[Mapping[str, Any], Result], second: tuple[Mapping[str, Any], Result]) -> None:
    """The laws about two units of one category: bands monotone, more deductions never help."""
    for (ua, ra), (ub, rb) in ((first, second), (second, first)):
        if ra.category != rb.category:
            return
        rank = policy.checked.rating_index
        if ra.score < rb.score and ra.band is not None and rb.band is not None and rank(rb.band) > rank(ra.band):
            raise _fail("bands-monotone", f"score {rb.score} earns band {rb.band} but the lower score {ra.score} earns "
                        f"the better band {ra.band}", [ua, ub], [ra, rb])
        pairs = list(zip(ra.targets, rb.targets))
        has_bonus = any(getattr(ta, "bonus", False) for ta, _ in pairs)
        same_base = all(ta.score == tb.score for ta, tb in pairs if not getattr(ta, "bonus", False))
        more_bonus = all(tb.score >= ta.score for ta, tb in pairs if getattr(ta, "bonus", False))
        if has_bonus and same_base and more_bonus and rb.raw_score < ra.raw_score:  # before ``then score E``
            raise _fail("bonus-never-lowers", f"the second unit has the same base and at least as much bonus in every "
                        f"bonus target, yet scores {rb.raw_score} < {ra.raw_score}", [ua, ub], [ra, rb])
        lost_more = all(tb.score <= ta.score for ta, tb in zip(ra.targets, rb.targets))
        vetoes_a = {v.name for v in ra.vetoes}
        vetoes_b = {v.name for v in rb.vetoes}
        if lost_more and vetoes_a <= vetoes_b:
            if rb.raw_score > ra.raw_score:  # before score effects: ``then score E`` may set any score
                raise _fail("deductions-monotone", f"the second unit loses at least as much in every target yet scores "
                            f"{rb.raw_score} > {ra.raw_score}", [ua, ub], [ra, rb])
            if rank(rb.rating) < rank(ra.rating) and _rating_comparable(policy, ra, rb, vetoes_b - vetoes_a):
                raise _fail("deductions-monotone", f"the second unit loses at least as much in every target and has "
                            f"every veto of the first, yet is rated {rb.rating} where the first is rated {ra.rating}",
                            [ua, ub], [ra, rb])


def _rating_comparable(policy: Policy, ra: Result, rb: Result, extra: set[str]) -> bool:
    """Whether deductions alone order the two ratings (issue #10 effects can lawfully break the order).

    Three rating effects do not follow the deductions, and the policy means them not to: a score
    effect (``then score E``) sets the score to whatever ``E`` is; a band's ``requires`` reads facts,
    so the unit that lost less may fail a requirement the other meets; and a forced rating
    (``then rating R``) of a veto only the second unit has may be better than its band.  Where one of
    them decides, the pair says nothing about deductions (downgrade-never-raises, cap-never-raises and
    effects-ordered check the effects themselves).
    """
    if rb.score > ra.score:  # the raw scores are ordered, so a score effect reordered them
        return False
    if {s.clause for s in ra.effects if s.kind == "requires"} - {s.clause for s in rb.effects if s.kind == "requires"}:
        return False
    plan = policy.checked.plans[rb.category]
    forced = {p.name for p in plan.vetoes if p.effect is not None and p.effect.kind == "rating"}
    return not extra & forced


def _score_bounds(policy: Policy, result: Result) -> tuple[str, str] | None:
    law = "score-bounds"
    values = [result.score, *(t.score for t in result.targets), *(s.score for s in result.sections.values())]
    if any(not isinstance(v, Decimal) for v in values):
        return law, "a score is not an exact Decimal"
    for t in result.targets:
        if t.bonus:  # a bonus target (加分): from 0 up to its cap
            if t.score < 0 or (t.cap is not None and t.score > t.cap):
                return law, f"bonus target {t.name} scores {t.score}, outside [0, {t.cap}]"
        elif not 0 <= t.score <= t.points:
            return law, f"target {t.name} scores {t.score}, outside [0, {t.points}]"
    maximum = policy.checked.plans[result.category].maximum  # the checker's maximum (None: unbounded)
    if result.score < 0 or (maximum is not None and result.score > maximum):
        return law, f"score {result.score} is outside [0, {maximum}] (the checker's maximum)"
    cap = policy.checked.categories[result.category].bonus_cap
    if not result.periods:
        problem = _sections_add_up(result.sections, result.raw_score, cap)
        return (law, problem) if problem else None
    # A policy with periods (issue #11 P): each period is scored as an assessment without periods is,
    # so its sections add up exactly; the combined sections are weighted sums of the periods' — within
    # their points, and the score their sum plus Σ weight × each period's counted bonus (a bonus cap
    # applies per period, so the combined bonus sections need not add up to the counted bonus).
    for period in result.periods:
        problem = _sections_add_up(period.sections, period.score, cap)
        if problem:
            return law, f"period {period.name}: {problem}"
    for key, s in result.sections.items():
        if not s.bonus and not 0 <= s.score <= s.points:
            return law, f"section {key} scores {s.score}, outside [0, {s.points}]"
    base = sum((s.score for s in result.sections.values() if s.depth == 1 and not s.bonus), Decimal(0))
    if base + result.bonus != result.raw_score:
        return law, f"score {result.raw_score} is not the sum of the top sections ({base} + bonus {result.bonus})"
    return None


def _sections_add_up(sections: Mapping[str, SectionResult], raw_score: Decimal, cap: Decimal | None) -> str | None:
    """Why the sections of one scoring do not add up (each within its points, its parts' sum, the
    top ones the raw score), or None."""
    for key, s in sections.items():
        if s.bonus:
            parts = sum((t.score for t in s.targets), Decimal(0))
            if s.score != (parts if s.cap is None else min(parts, s.cap)):
                return f"bonus section {key} scores {s.score} but its targets add {parts} (cap {s.cap})"
            continue
        if not 0 <= s.score <= s.points:
            return f"section {key} scores {s.score}, outside [0, {s.points}]"
        parts = sum((t.score for t in s.targets), Decimal(0))
        parts += sum((c.score for c in sections.values() if c.path.startswith(key + ".") and c.depth == s.depth + 1),
                     Decimal(0))
        if max(parts, Decimal(0)) != s.score:
            return f"section {key} scores {s.score} but its parts add up to {parts}"
    base = sum((s.score for s in sections.values() if s.depth == 1 and not s.bonus), Decimal(0))
    bonus = sum((s.score for s in sections.values() if s.depth == 1 and s.bonus), Decimal(0))
    counted = bonus if cap is None else min(bonus, cap)
    if base + counted != raw_score:  # the score before score effects (``then score E``)
        return f"score {raw_score} is not the sum of the top sections ({base} + bonus {counted})"
    return None


def _bonus_never_lowers(policy: Policy, result: Result) -> tuple[str, str] | None:
    law = "bonus-never-lowers"
    if result.bonus < 0 or any(t.bonus and t.score < 0 for t in result.targets):
        return law, f"the bonus is {result.bonus}: bonus points are never negative"
    if result.raw_score < result.base_score:  # before score effects: ``then score 0`` may set any score
        return law, f"score {result.raw_score} is below the base score {result.base_score}"
    return None


def _veto_fails(policy: Policy, result: Result) -> tuple[str, str] | None:
    law = "veto-fails"
    vetoed_rating = policy.checked.ratings.vetoed
    if result.raw[RAW_EFFECTS] is not None:  # rating effects: the vetoes without ``then`` force the vetoed rating
        plan = policy.checked.plans[result.category]
        default = [v.name for v in result.vetoes if next(p for p in plan.vetoes if p.name == v.name).effect is None]
        rank = policy.checked.rating_index
        if bool(default) != result.vetoed:
            return law, f"vetoes without effect {default} but vetoed={result.vetoed}"
        if default and rank(result.rating) < rank(vetoed_rating):
            return law, f"veto {', '.join(default)} fired but the unit is rated {result.rating}, better than {vetoed_rating}"
        if not result.effects and result.rating != result.band:
            return law, f"no effect applied but the rating {result.rating} is not the band {result.band}"
        return None
    if bool(result.vetoes) != result.vetoed:
        return law, f"vetoes {[v.name for v in result.vetoes]} but vetoed={result.vetoed}"
    if result.vetoes and result.rating != vetoed_rating:
        names = ", ".join(v.name for v in result.vetoes)
        return law, f"veto {names} fired but the unit is rated {result.rating}, not {vetoed_rating}"
    if not result.vetoes and result.rating != result.band:
        return law, f"no veto fired but the rating {result.rating} is not the band {result.band} of score {result.score}"
    return None


def _band_holds(policy: Policy, result: Result) -> tuple[str, str] | None:
    bands = policy.checked.plans[result.category].bands
    holding = [b.rating for b in bands if b.contains(result.score)]
    if len(holding) != 1:
        return "bands-monotone", f"score {result.score} lies in {len(holding)} bands ({', '.join(holding) or 'none'})"
    if result.band != holding[0]:
        return "bands-monotone", f"score {result.score} lies in band {holding[0]} but the result says {result.band}"
    return None


def _rules_never_add(policy: Policy, result: Result) -> tuple[str, str] | None:
    for event in result.trace.walk():
        if event.kind == "rule" and isinstance(event.value, Decimal) and event.value < 0:
            return "deductions-monotone", f"rule {event.id} adds {-event.value} points"
    return None


def _money_exact(policy: Policy, result: Result) -> tuple[str, str] | None:
    """Checked on the rating's outcome and on each outcome for every rating (issue #10 B).

    Shares need not exhaust the pot (docs/language.md: without a ``rest`` share they are just
    what the scheme names): they add up to the whole when a ``rest`` share applied, and to at
    most the whole otherwise.
    """
    checked = policy.checked
    for c, decl in ((result.consequences, checked.outcomes.get(result.rating)),
                    *zip(result.general_consequences, checked.general_outcomes)):
        rest = {item.name for item in (decl.items if decl is not None else ()) if item.kind == "share"
                and item.amount is None}
        found = _money_parts_exact(c, rest)
        if found is not None:
            return "money-exact", found
    return None


def _money_parts_exact(c: Any, rest: set[str]) -> str | None:
    amounts = [i.amount for i in c.items if i.amount is not None]
    for value in [c.total, *amounts]:
        if not isinstance(value, Decimal) or value != to_fen(value):
            return f"amount {value!r} is not exact to the fen"
        if value < 0:
            return f"amount {value} is negative"
    wholes = [i.amount for i in c.items if i.kind in ("reward", "fine") and i.amount is not None]
    if sum(wholes, Decimal("0.00")) != c.total:
        return f"rewards/fines add up to {sum(wholes, Decimal(0))}, not the total {c.total}"
    shares = [i for i in c.items if i.kind == "share" and i.amount is not None]
    parts = sum((i.amount for i in shares), Decimal("0.00"))
    if any(i.name in rest for i in shares) and parts != c.total:
        return f"shares (with the rest) add up to {parts}, not the whole {c.total}"
    if parts > c.total:
        return f"shares add up to {parts}, more than the whole {c.total}"
    if c.kind == "reward" and any(i.kind == "fine" for i in c.items):
        return "an outcome both rewards and fines"
    return None


#: The order rating effects apply in (docs/language.md, "Order of application").
_EFFECT_ORDER = {"score": 0, "requires": 1, "cap": 2, "downgrade": 3, "rating": 4, "vetoed": 4,
                 "quota": 5}  # issue #11 C: the cohort quota step, step 10


def _effects_lawful(policy: Policy, result: Result) -> tuple[str, str] | None:
    """downgrade-never-raises, cap-never-raises and effects-ordered on one result."""
    if result.raw[RAW_EFFECTS] is None:
        return None
    rank = policy.checked.rating_index
    steps = result.effects
    for step in steps:
        if step.kind == "downgrade" and rank(str(step.after)) < rank(str(step.before)):
            return "downgrade-never-raises", f"{step.clause} downgrades {step.before} to the better {step.after}"
        if step.kind == "cap" and (rank(str(step.after)) < rank(str(step.before))
                                   or rank(str(step.after)) < rank(str(step.value))):
            return "cap-never-raises", f"{step.clause} caps at {step.value} but takes {step.before} to {step.after}"
    law = "effects-ordered"
    kinds = [_EFFECT_ORDER[s.kind] for s in steps]
    if kinds != sorted(kinds):
        return law, f"effects applied as {[s.kind for s in steps]}, not in the documented order"
    scores = [s for s in steps if s.kind == "score"]
    ratings = [s for s in steps if s.kind != "score"]
    if scores and (scores[0].before != result.raw_score or scores[-1].after != result.score):
        return law, f"score effects go {result.raw_score} → {scores[-1].after}, but the score is {result.score}"
    for earlier, later in zip(scores, scores[1:]):
        if later.before != earlier.after:
            return law, f"score effect {later.clause} starts at {later.before}, not at {earlier.after}"
    if ratings and (ratings[0].before != result.band and result.band is not None or ratings[-1].after != result.rating):
        return law, f"rating steps go {ratings[0].before} → {ratings[-1].after}; band {result.band}, rating {result.rating}"
    for earlier, later in zip(ratings, ratings[1:]):
        if later.before != earlier.after:
            return law, f"{later.kind} {later.clause} starts at {later.before}, not at {earlier.after}"
    with engine_context():
        # a cohort policy's result with the standing it was assessed with (issue #11 C)
        reference = interpret(policy.checked, result.category, dict(result.facts), result.standing)[RAW_EFFECTS]
    if [tuple(e) for e in reference[1]] != [tuple(e) for e in result.raw[RAW_EFFECTS][1]]:
        return law, f"the reference interpreter applies {reference[1]}, the evaluator {result.raw[RAW_EFFECTS][1]}"
    return None


_HOSTILE = decimal.Context(prec=3, rounding=decimal.ROUND_DOWN, traps=[])


def _deterministic(policy: Policy, unit: Mapping[str, Any], result: Result) -> str | None:
    expected = result.to_dict()
    facts = unit.get("facts")
    reordered = dict(unit)
    if isinstance(facts, Mapping):
        reordered["facts"] = dict(reversed(list(facts.items())))
    with decimal.localcontext(_HOSTILE):
        hostile = assess_alone(policy, unit).to_dict()
    trials = {
        "evaluated again": assess_alone(policy, unit).to_dict(),
        "traced": assess_alone(policy, unit, trace=True).to_dict(),
        "with its facts in another order": assess_alone(policy, reordered).to_dict(),
        "under another decimal context": hostile,
    }
    for how, other in trials.items():
        if other != expected:
            diff = _first_difference(expected, other)
            return f"the result changes when {how}: {diff}"
    if assess_alone(policy, unit).explain() != result.explain():
        return "the explanation changes when evaluated again"
    return None


def _first_difference(a: object, b: object, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or 'result'}: {a!r} then {b!r}"


# --------------------------------------------------------------- static laws
def static_violations(policy: Policy) -> Iterator[tuple[str, str, str]]:
    """(law, category, message) for what can be seen without units: the band ladder of each category."""
    rank = policy.checked.rating_index
    for category, plan in policy.checked.plans.items():
        bands = sorted(plan.bands, key=lambda b: (b.low, not b.low_closed))
        for lower, upper in zip(bands, bands[1:]):
            if rank(upper.rating) > rank(lower.rating):
                yield ("bands-monotone", category,
                       f"band {upper.rating} {upper.describe()} sits above the better band {lower.rating} {lower.describe()}")
