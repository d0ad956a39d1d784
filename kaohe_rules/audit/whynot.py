""""Why not a better band?" — exact counterfactuals on deductions.

For one unit: the points it lacks for each better band, the vetoes that block
a better rating whatever the score, and the *smallest* set of deductions whose
removal lifts it to a band — counted two ways:

* **target losses** — a target's whole loss (points − score).  Removing one
  restores exactly that many points (targets are never below 0, so sections
  and the unit's score are plain sums of them).  The smallest set is the k
  largest losses for the least k whose sum reaches the gap: any k losses sum
  to at most the k largest, so when the k−1 largest fall short every set of
  k−1 does.  That bound is reported as the proof.
* **rule deductions** — one ``deduct``/``full``/… rule of a target.  Within a
  target removals do not simply add up (a target cannot go below 0, so when
  its rules deduct more than its points, removing one rule may restore less
  than it deducted).  For a target, the best gain from removing j of its rules
  comes from its j largest deductions; choosing j per target is a group
  knapsack solved exactly by dynamic programming over the number of removals.
  The best gain with one removal fewer than the answer is reported as the proof.

Both are exact (not heuristic) because kaohe scores are sums of target scores
and every rule's deduction is computed independently of the others.

Bonus points (加分) are not deductions: a bonus target is never removed.  Instead the
answer says whether more bonus alone could reach a band — when the room the caps
leave (the checker's maximum − the total − the bonus counted) covers the gap, or the
bonus is uncapped.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..language import formatter
from ..numeric import ENGINE_CONTEXT
from ..runtime.explain import effect_lines, outside_periods
from ..runtime.parts import EffectStep
from ..runtime.trace import TraceEvent, canonical, plain_decimal

if TYPE_CHECKING:
    from ..runtime.result import Result

# English names for the ratings, best first; mapped onto a policy's ratings in order.
RATING_ALIASES = ("excellent", "good", "pass", "fail")


@attrs.frozen
class Deduction:
    """A deduction that could be removed: a target's whole loss or one rule's deduction."""

    kind: str  # "target" | "rule"
    id: str  # target name, or "target#n" for the n-th rule of a target
    target: str
    label: str | None
    citation: str | None
    text: str | None  # the rule as written (rules only)
    points: Decimal  # what it deducts (rules) or the target's loss (targets)
    reads: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "id": self.id, "target": self.target, "label": self.label,
                "citation": self.citation, "text": self.text, "points": plain_decimal(self.points),
                "reads": canonical(self.reads)}


@attrs.frozen
class Removal:
    """A smallest set of deductions whose removal reaches a band, with the proof of minimality."""

    items: tuple[Deduction, ...]
    gain: Decimal  # points restored by removing all of them together
    bound: Decimal  # the most any set of one fewer item restores (< what is needed)

    def to_dict(self) -> dict[str, object]:
        return {"count": len(self.items), "gain": plain_decimal(self.gain),
                "best_with_one_fewer": plain_decimal(self.bound), "items": [d.to_dict() for d in self.items]}


@attrs.frozen
class BandGoal:
    """One better band: how far it is and what would reach it."""

    rating: str
    label: str
    citation: str | None
    interval: str
    low: Decimal
    low_closed: bool
    lacking: Decimal  # points lacking to reach the band's lower edge (more than this, if the edge is open)
    targets: Removal | None  # None: unreachable even with every target at full points
    rules: Removal | None
    blocked: bool  # a veto keeps the rating at the vetoed rating anyway
    # issue #11 P: how much each counted period alone would have to rise (only for a policy with periods)
    periods: tuple[PeriodNeed, ...] = ()

    @property
    def strict(self) -> bool:
        return not self.low_closed

    def to_dict(self) -> dict[str, object]:
        return {"rating": self.rating, "label": self.label, "citation": self.citation, "interval": self.interval,
                "lacking": plain_decimal(self.lacking), "strict": self.strict, "blocked_by_veto": self.blocked,
                "targets": self.targets.to_dict() if self.targets else None,
                "rules": self.rules.to_dict() if self.rules else None,
                **({"periods": [p.to_dict() for p in self.periods]} if self.periods else {})}


@attrs.frozen
class PeriodNeed:
    """What one period alone would have to gain for a better band (issue #11 P): Δ / its weight."""

    name: str
    label: str | None
    weight: Decimal  # the percent (25 for 25%)
    rise: Decimal  # the points the period's score would have to rise by (at least; more than, if strict)
    exact: bool  # False: Δ / weight does not end, ``rise`` is rounded up to the cent (raising by it is enough)
    room: Decimal | None  # what the period can still gain (None: unbounded)

    @property
    def reachable(self) -> bool:
        return self.room is None or self.rise <= self.room

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "weight": plain_decimal(self.weight),
                "rise": plain_decimal(self.rise), "exact": self.exact, "reachable": self.reachable,
                "room": None if self.room is None else plain_decimal(self.room)}


def period_needs(result: Result, need: Decimal) -> tuple[PeriodNeed, ...]:
    """Per counted period (weight > 0): how much its score alone would have to rise to add ``need`` to the
    combined score (``need`` / weight), and what it can still gain (the category's maximum − its score)."""
    plan = result._plan
    checked = result.program.checked
    if checked.periods is None or need <= 0:
        return ()
    out: list[PeriodNeed] = []
    for item, period in zip(checked.periods.items, result.periods):
        if item.weight <= 0:
            continue
        context = ENGINE_CONTEXT.copy()
        context.clear_flags()
        rise = context.divide(need * 100, item.weight)
        exact = not context.flags[decimal.Inexact]
        if not exact:
            rise = rise.quantize(Decimal("0.01"), rounding=decimal.ROUND_CEILING)
        room = None if plan.maximum is None else plan.maximum - period.score
        out.append(PeriodNeed(item.name, item.label, item.weight, rise, exact, room))
    return tuple(out)


@attrs.frozen
class WhyNot:
    unit_id: str
    name: str | None
    score: Decimal
    total: Decimal
    band: str | None
    rating: str
    rating_label: str
    vetoed_rating: str
    vetoes: tuple[TraceEvent, ...]  # fired vetoes: they block every better rating regardless of score
    goals: tuple[BandGoal, ...]  # better bands, nearest first
    deductions: tuple[Deduction, ...]  # every target loss (for reference)
    wanted: str | None = None  # the one rating asked about, if any
    # rating effects that applied (issue #10 A3): a downgrade, a cap or a forced rating keeps the
    # rating below the band even when the points are there; with the better bands' requirements
    effects: tuple[EffectStep, ...] = ()
    requirements: tuple[tuple[str, str], ...] = ()  # (rating, the `requires` condition as written)
    # bonus points (加分): how much more bonus the caps allow (None: unbounded); only with bonus sections
    bonus_room: Decimal | None = None
    has_bonus: bool = False

    def bonus_reaches(self, goal: BandGoal) -> bool:
        """Whether more bonus alone could lift the unit to ``goal`` (the caps allow enough)."""
        return self.has_bonus and (self.bonus_room is None or meets(self.bonus_room, goal.lacking, goal.strict))

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "unit": self.unit_id, "name": self.name, "score": plain_decimal(self.score),
            "total": plain_decimal(self.total), "band": self.band, "rating": self.rating,
            "vetoed_rating": self.vetoed_rating, "wanted": self.wanted,
            "vetoes": [{"name": v.id, "label": v.label, "citation": v.citation} for v in self.vetoes],
            "goals": [g.to_dict() for g in self.goals],
            "effects": [e.to_dict() for e in self.effects],
            "requirements": [{"rating": r, "requires": text} for r, text in self.requirements],
        }
        if self.has_bonus:  # only then: the answers for policies without bonus points keep their shape
            out["bonus_room"] = None if self.bonus_room is None else plain_decimal(self.bonus_room)
            out["bonus_reaches"] = [g.rating for g in self.goals if self.bonus_reaches(g)]
        return out


# --------------------------------------------------------------------- solvers
def meets(gain: Decimal, need: Decimal, strict: bool) -> bool:
    return gain > need if strict else gain >= need


def smallest_target_set(losses: Sequence[Deduction], need: Decimal, strict: bool) -> Removal | None:
    """The fewest target losses whose removal restores at least ``need`` (more than, if ``strict``)."""
    ordered = sorted((d for d in losses if d.points > 0), key=lambda d: -d.points)  # stable: plan order on ties
    total = Decimal(0)
    for count, item in enumerate(ordered, 1):
        before = total
        total += item.points
        if meets(total, need, strict):
            return Removal(tuple(ordered[:count]), total, before)
    if meets(Decimal(0), need, strict):
        return Removal((), Decimal(0), Decimal(0))
    return None


@attrs.frozen
class _Group:
    """The removable rule deductions of one target, largest first, with the gain of removing the first j."""

    rules: tuple[Deduction, ...]
    gains: tuple[Decimal, ...]  # gains[j] = points restored by removing rules[:j]


def _groups(targets: Sequence[TraceEvent]) -> list[_Group]:
    groups = []
    for target in targets:
        if target.detail.get("bonus"):  # a bonus target's rules add points: nothing to remove
            continue
        points = _dec(target.detail.get("points"))
        rules = [_rule_deduction(target, r) for r in target.children if r.kind == "rule"]
        total = sum((r.points for r in rules), Decimal(0))
        current = max(points - total, Decimal(0))
        ordered = tuple(sorted((r for r in rules if r.points > 0), key=lambda r: -r.points))
        gains = [Decimal(0)]
        removed = Decimal(0)
        for rule in ordered:
            removed += rule.points
            gains.append(max(points - (total - removed), Decimal(0)) - current)
        if ordered:
            groups.append(_Group(ordered, tuple(gains)))
    return groups


def smallest_rule_set(targets: Sequence[TraceEvent], need: Decimal, strict: bool) -> Removal | None:
    """The fewest rule deductions whose removal restores at least ``need`` — exact group knapsack."""
    if meets(Decimal(0), need, strict):
        return Removal((), Decimal(0), Decimal(0))
    groups = _groups(targets)
    capacity = sum(len(g.rules) for g in groups)
    unset = Decimal(-1)
    # best[c] = most points restorable with exactly c removals over the groups seen so far; choice for rebuild
    best: list[Decimal] = [Decimal(0)] + [unset] * capacity
    choices: list[list[int]] = []
    for group in groups:
        new = [unset] * (capacity + 1)
        pick = [0] * (capacity + 1)
        for c in range(capacity + 1):
            for j in range(min(c, len(group.rules)) + 1):
                if best[c - j] == unset:
                    continue
                value = best[c - j] + group.gains[j]
                if value > new[c]:
                    new[c], pick[c] = value, j
        best = new
        choices.append(pick)
    for count in range(1, capacity + 1):
        if best[count] != unset and meets(best[count], need, strict):
            items: list[Deduction] = []
            c = count
            for group, pick in zip(reversed(groups), reversed(choices)):
                j = pick[c]
                items.extend(group.rules[:j])
                c -= j
            bound = max((b for b in best[:count] if b != unset), default=Decimal(0))
            items.sort(key=lambda d: (-d.points, d.id))
            return Removal(tuple(items), best[count], bound)
    return None


# --------------------------------------------------------------------- analysis
def resolve_band(result: Result, name: str) -> str:
    """A rating named by the policy's name or label, or by an English alias (excellent/good/pass/fail)."""
    ratings = result.program.checked.ratings.ratings
    for rating in ratings:
        if name in (rating.name, rating.label):
            return rating.name
    lowered = name.strip().lower()
    if lowered in RATING_ALIASES and RATING_ALIASES.index(lowered) < len(ratings):
        index = RATING_ALIASES.index(lowered)
        if index == len(RATING_ALIASES) - 1:
            index = len(ratings) - 1  # "fail" is the worst rating whatever their number
        return ratings[index].name
    options = ", ".join([r.name for r in ratings] + list(RATING_ALIASES[: len(ratings)]))
    raise ValueError(f"unknown rating {name!r}; use one of {options}")


def why_not(result: Result, band: str | None = None) -> WhyNot:
    """Why the unit is not in a better band; ``band`` limits the answer to one rating."""
    checked = result.program.checked
    trace = result.trace
    wanted = resolve_band(result, band) if band is not None else None
    plan = result._plan
    band_events = {e.id: e for e in trace.of_kind("band_test")}
    current = next((b for b in plan.bands if b.rating == result.band), None)
    target_events = outside_periods(trace, "target")  # a period's own targets are inside its event (issue #11 P)
    losses = tuple(_target_loss(t) for t in target_events if _dec(t.detail.get("lost")) > 0)
    effect_vetoes = {v.name for v in plan.vetoes if v.effect is not None}
    vetoes = tuple(v for v in trace.of_kind("veto") if v.value and v.id not in effect_vetoes)  # 一票否决 only
    goals = []
    # better bands: above the current one, nearest first
    for info in sorted(plan.bands, key=lambda b: b.low):
        if current is not None and info.low <= current.low:
            continue
        if wanted is not None and info.rating != wanted:
            continue
        need = info.low - result.score
        strict = not info.low_closed
        event = band_events.get(info.rating)
        goals.append(BandGoal(info.rating, checked.rating_label(info.rating), info.cite,
                              str(event.detail.get("interval", info.describe())) if event else info.describe(),
                              info.low, info.low_closed, need,
                              smallest_target_set(losses, need, strict), smallest_rule_set(target_events, need, strict),
                              bool(vetoes), period_needs(result, need)))
    blocking = tuple(e for e in result.effects if e.kind != "vetoed")  # 一票否决 is listed with the vetoes
    rank = checked.rating_index
    requirements = tuple((b.rating, formatter.expr(b.requires)) for b in sorted(plan.bands, key=lambda b: b.low)
                         if b.requires is not None and (wanted is None or b.rating == wanted)
                         and rank(b.rating) <= rank(result.rating) and b.rating != result.rating)
    has_bonus = plan.category.has_bonus
    room = None if plan.maximum is None else plan.maximum - plan.category.total - result.bonus
    return WhyNot(result.unit_id, result.name, result.score, result.total, result.band, result.rating,
                  result.rating_label, checked.ratings.vetoed, vetoes, tuple(goals), losses, wanted,
                  blocking, requirements, room if has_bonus else None, has_bonus)


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(0)


def _target_loss(target: TraceEvent) -> Deduction:
    return Deduction("target", target.id, target.id, target.label, target.citation, None,
                     _dec(target.detail.get("lost")), {})


def _rule_deduction(target: TraceEvent, rule: TraceEvent) -> Deduction:
    return Deduction("rule", rule.id, target.id, target.label, rule.citation, rule.text, _dec(rule.value),
                     dict(rule.reads))


# --------------------------------------------------------------------- rendering
_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "为什么没有评为更高等次：{unit}",
        "headline": "综合评分 {score} / {total}；按分数应评 {band}；评定等次 {rating}",
        "vetoes": "一票否决（无论得分多少都评为{rating}）：",
        "no_vetoes": "未发生一票否决情形",
        "top": "已在最高等次，没有更高的等次。",
        "reached": "得分已达到{label}或更高的分数段。",
        "goal": "→ {label} {interval} {cite}：还差 {gap} 分",
        "goal_strict": "→ {label} {interval} {cite}：须多于 {gap} 分",
        "blocked": "   即使分数达到，也因一票否决评为{rating}。",
        "targets": "   最少恢复 {n} 个目标的失分（共 +{gain} 分）即可达到：",
        "rules": "   按扣分规则计，最少去掉 {n} 条扣分（共 +{gain} 分）：",
        "proof": "     （最少：任意 {k} 项最多只能恢复 {bound} 分）",
        "unreachable": "   即使所有目标都得满分也达不到。",
        "effects": "等次调整（分数达到也同样适用）：",
        "top_effects": "得分已在最高分数段；评定等次由上述等次调整决定。",
        "requires": "{label}还须满足评定条件：{condition}",
        "bonus": "   或者：再获加分即可达到（加分上限还允许再加 {room} 分）",
        "bonus_unbounded": "   或者：再获加分即可达到（加分不设上限）",
        "period_rise": "   或者：{period}（权重{weight}%）提高{more}{rise}分即可（该期还能提高{room}分）",
        "period_rise_unbounded": "   或者：{period}（权重{weight}%）提高{more}{rise}分即可",
        "period_short": "   {period}（权重{weight}%）单独须提高{more}{rise}分，但该期最多还能提高{room}分，单靠该期达不到",
        "more": "超过",
        "at_least": "至少",
    },
    "en": {
        "title": "Why not a better band: {unit}",
        "headline": "Score {score} / {total}; band by score {band}; rating {rating}",
        "vetoes": "Vetoes (rated {rating} whatever the score):",
        "no_vetoes": "no veto applies",
        "top": "Already in the best band.",
        "reached": "The score already reaches {label} or better.",
        "goal": "→ {label} {interval} {cite}: {gap} pts lacking",
        "goal_strict": "→ {label} {interval} {cite}: more than {gap} pts lacking",
        "blocked": "   Even with the points it would be rated {rating}: a veto applies.",
        "targets": "   Restoring the losses of at least {n} target(s) (+{gain} pts) reaches it:",
        "rules": "   Counting rule by rule, removing at least {n} deduction(s) (+{gain} pts):",
        "proof": "     (minimal: any {k} restore at most {bound} pts)",
        "unreachable": "   Not reachable even with full points on every target.",
        "effects": "Rating effects (they apply whatever the points):",
        "top_effects": "The score is in the best band; the rating effects above decide the rating.",
        "requires": "{label} also requires: {condition}",
        "bonus": "   Or: more bonus points reach it (the caps allow {room} pts more)",
        "bonus_unbounded": "   Or: more bonus points reach it (the bonus is not capped)",
        "period_rise": "   Or: raising {period} (weight {weight}%) by {more}{rise} pts is enough (it can gain {room} more)",
        "period_rise_unbounded": "   Or: raising {period} (weight {weight}%) by {more}{rise} pts is enough",
        "period_short": "   {period} (weight {weight}%) alone would need {more}{rise} pts, but it can gain at most {room}: "
                        "not by that period alone",
        "more": "more than ",
        "at_least": "at least ",
    },
}


def render(answer: WhyNot, result: Result, lang: str = "zh") -> str:
    """The why-not answer as text (``lang`` "zh" or "en")."""
    if lang not in _TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
    t = _TEXT[lang]
    checked = result.program.checked
    lines = [t["title"].format(unit=f"{answer.name or answer.unit_id} ({answer.unit_id})"),
             t["headline"].format(score=plain_decimal(answer.score), total=plain_decimal(answer.total),
                                  band=checked.rating_label(answer.band) if answer.band else "—",
                                  rating=answer.rating_label)]
    vetoed_label = checked.rating_label(answer.vetoed_rating)
    if answer.vetoes:
        lines.append(t["vetoes"].format(rating=vetoed_label))
        for veto in answer.vetoes:
            lines.append(f"  ✗ {veto.label or veto.id} {_cite(veto.citation)}")
    else:
        lines.append(t["no_vetoes"])
    if answer.effects:
        lines.append(t["effects"])
        lines.extend(f"  ↓ {line}" for line in effect_lines(result, lang, answer.effects))
    for rating, condition in answer.requirements:
        lines.append(t["requires"].format(label=checked.rating_label(rating), condition=condition))
    if not answer.goals and answer.wanted is None and answer.effects and answer.rating != answer.band:
        lines.append(t["top_effects"])
    elif not answer.goals:
        lines.append(t["reached"].format(label=checked.rating_label(answer.wanted)) if answer.wanted else t["top"])
    for goal in answer.goals:
        key = "goal_strict" if goal.strict else "goal"
        lines.append(t[key].format(label=goal.label, interval=goal.interval, cite=_cite(goal.citation),
                                   gap=plain_decimal(goal.lacking)).replace("  ", " "))
        if goal.blocked:
            lines.append(t["blocked"].format(rating=vetoed_label))
        if answer.bonus_reaches(goal):  # a bonus can lift the unit to a better band (加分)
            lines.append(t["bonus_unbounded"] if answer.bonus_room is None
                         else t["bonus"].format(room=plain_decimal(answer.bonus_room)))
        for period in goal.periods:  # issue #11 P: what one period alone would have to gain
            lines.append(period_line(t, period, goal.strict))
        if goal.targets is None:
            lines.append(t["unreachable"])
            continue
        lines.extend(_removal_lines(t, "targets", goal.targets))
        if goal.rules is not None:
            lines.extend(_removal_lines(t, "rules", goal.rules))
    return "\n".join(lines) + "\n"


def period_line(t: dict[str, str], period: PeriodNeed, strict: bool) -> str:
    """「三季度提高4分即可」: one period's rise, within what it can still gain (issue #11 P)."""
    more = t["more"] if strict else ("" if period.exact else t["at_least"])
    values = {"period": period.label or period.name, "weight": plain_decimal(period.weight), "more": more,
              "rise": plain_decimal(period.rise), "room": "" if period.room is None else plain_decimal(period.room)}
    if not period.reachable:
        return t["period_short"].format(**values)
    return t["period_rise_unbounded" if period.room is None else "period_rise"].format(**values)


def _removal_lines(t: dict[str, str], key: str, removal: Removal) -> list[str]:
    out = [t[key].format(n=len(removal.items), gain=plain_decimal(removal.gain))]
    for item in removal.items:
        what = f"{item.label or item.target}" + (f" — {item.text}" if item.text else "")
        out.append(f"     +{plain_decimal(item.points)}  {what} {_cite(item.citation)}".rstrip())
    if len(removal.items) > 1:  # one item is minimal by itself: no removal restores nothing
        out.append(t["proof"].format(k=len(removal.items) - 1, bound=plain_decimal(removal.bound)))
    return out


def _cite(citation: str | None) -> str:
    return f"〔{citation}〕" if citation else ""


def as_json(answer: WhyNot) -> dict[str, Any]:
    return answer.to_dict()


# --------------------------------------------------------------------- ledgers (issue #16)
@attrs.frozen
class EventEffect:
    """What read a unit's charged events: a fired veto (with the events it cites), or a rule that deducted."""

    kind: str  # "veto", "rule", "deferral"
    name: str
    label: str | None
    citation: str | None
    fact: str  # the ledger-fed fact it read
    points: Decimal | None  # rule: the points it deducted
    events: tuple[int, ...]  # veto/deferral: the 1-based positions in the fact's list it cites; rule: () (all read)
    text: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "label": self.label, "citation": self.citation,
                "fact": self.fact, "points": None if self.points is None else plain_decimal(self.points),
                "events": list(self.events)}


def event_effects(result: Result) -> tuple[EventEffect, ...]:
    """The parts of a unit's trace that read its ledger-fed lists and cost it: fired vetoes (with the
    positions of the events they cite), deferrals that took events away, and the rules that deducted points
    while reading the list.  A rule reads the whole list, so the events it counted are not told apart (a
    deduction ``sum(事故 of 死亡人数) * 5`` owes something to each event it summed)."""
    facts = {spec.fact for spec in result.program.ledgers if spec.fact}
    if not facts or not result.charged and not result.from_ledger:
        return ()
    out: list[EventEffect] = []
    targets = {t.id: t for top in result.trace.events for t in top.walk() if t.kind == "target"}
    for top in result.trace.events:
        for event in top.walk():
            read = [f for f in (event.reads or {}) if f in facts]
            if not read:
                continue
            detail = event.detail if isinstance(event.detail, dict) else {}
            given = detail.get("positions")
            positions = tuple(int(p) for p in given if str(p).isdigit()) if isinstance(given, (list, tuple)) else ()
            if event.kind == "veto" and event.value is True:
                out.append(EventEffect("veto", event.id, event.label, event.citation, read[0], None, positions))
            elif event.kind == "rule" and isinstance(event.value, (int, Decimal)) and event.value > 0:
                target = targets.get(event.id.split("#", 1)[0])  # a rule's id is "TARGET#N"
                label = (target.label or target.id) if target is not None else event.label
                out.append(EventEffect("rule", event.id, label, event.citation or (target.citation if target else None),
                                       read[0], Decimal(event.value), (), event.text))
            elif event.kind == "deferral" and detail.get("items"):
                out.append(EventEffect("deferral", event.id, event.label, event.citation, read[0], None, positions))
    return tuple(out)


_LEDGER_TEXT = {
    "zh": {"head": "计入本单位的台账事件（{n} 条）：", "none": "没有计入本单位的台账事件。", "own": "{fact}：本单位自报清单（未使用台账）。",
           "effects": "这些事件的影响：", "veto": "  ✗ 一票否决 {label}{cite}：依据 {events}",
           "rule": "  − 扣 {points} 分 {label}{cite}：读取了计入的事件（{text}）",
           "deferral": "  → 移交 {label}{cite}：{events}", "all": "计入的全部事件", "sep": "；"},
    "en": {"head": "Ledger events charged to this unit ({n}):", "none": "No ledger event is charged to this unit.",
           "own": "{fact}: the unit's own list (no ledger used).",
           "effects": "What these events cost:", "veto": "  ✗ veto {label}{cite}: on {events}",
           "rule": "  − {points} points lost, {label}{cite}: reads the charged events ({text})",
           "deferral": "  → deferred {label}{cite}: {events}", "all": "every charged event", "sep": "; "},
}


def charged_lines(result: Result, lang: str = "zh") -> list[str]:
    """The why-not section on a unit's ledger events (issue #16): each event charged to it and by which
    rule, then the vetoes, deductions and deferrals that read them (:func:`event_effects`).  Nothing for
    a policy without ledgers."""
    from ..reports.ledgers import ref_name

    specs = result.program.ledgers
    if not specs:
        return []
    t = _LEDGER_TEXT["zh" if lang == "zh" else "en"]
    if not result.from_ledger:
        return [t["own"].format(fact=spec.fact) for spec in specs if spec.fact]
    lines = [t["head"].format(n=len(result.charged)) if result.charged else t["none"]]
    for c in result.charged:
        rules = t["sep"].join(f"{r.label or r.name}" + (f"（{r.cite}）" if lang == "zh" and r.cite else
                                                         f" ({r.cite})" if r.cite else "") for r in c.rules)
        lines.append(f"  {ref_name(c.event, lang)} {c.event.shown}{'：' if lang == 'zh' else ': '}{rules}")
    effects = event_effects(result)
    if effects:
        lines.append(t["effects"])

    def named(effect: EventEffect) -> str:
        of_fact = [c for c in result.charged if c.fact == effect.fact]
        cited = [of_fact[p - 1] for p in effect.events if 0 < p <= len(of_fact)]
        return "、".join(ref_name(c.event, lang) for c in cited) or t["all"]

    for e in effects:
        label, cite = e.label or e.name, _cite(e.citation)
        if e.kind == "rule":
            lines.append(t["rule"].format(points=plain_decimal(e.points or Decimal(0)), label=label, cite=cite,
                                          text=e.text or e.name))
        else:
            lines.append(t[e.kind].format(label=label, cite=cite, events=named(e)))
    return lines
