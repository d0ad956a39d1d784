"""Landmark units: the simplest unit, and the best and worst a greedy search finds.

Units drawn independently fact by fact land in the middle of the score range
(every duty a coin flip), so the top bands and their rewards are rarely seen.
A greedy coordinate search over each fact's telling values (see
:meth:`~kaohe_rules.testing.domains.Domain.candidates`) finds a full-marks unit
in a few hundred evaluations; units drawn *near* it (a few facts changed) then
cross every band edge.  Deterministic, and needs nothing from hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import KaoheError
from .domains import ABSENT, Domain, Domains
from .laws import assess_alone

if TYPE_CHECKING:
    from ..policy import Policy

MAX_PASSES = 3

_SPACES: dict[int, tuple[object, Domains]] = {}


def space_of(policy: Policy) -> Domains:
    """The domains of a policy's facts, built once per checked policy (each search, ladder and
    directed diff asks for them; building them walks the whole policy)."""
    key = id(policy.checked)
    cached = _SPACES.get(key)
    if cached is None or cached[0] is not policy.checked:
        cached = (policy.checked, Domains(policy.checked))
        _SPACES[key] = cached
    return cached[1]


def simplest_unit(policy: Policy, category: str, unit_id: str = "simplest") -> dict[str, Any]:
    """Every fact at its simplest value (left out where allowed)."""
    space = space_of(policy)
    facts: dict[str, Any] = {}
    for name, domain in space.facts_for(category):
        value = domain.simplest()
        if value is not ABSENT:
            facts[name] = value
    return {"id": unit_id, "category": category, "facts": facts}


def landmarks(policy: Policy, category: str | None = None, *, with_ladder: bool = False) -> list[dict[str, Any]]:
    """For each category: the best unit found (highest score, no veto), the worst, and the simplest;
    with ``with_ladder``, also the :func:`ladder` from the best unit down."""
    out: list[dict[str, Any]] = []
    for cat in [category] if category is not None else list(policy.categories):
        best = search(policy, cat, _best_key, f"best-{cat}")
        worst = search(policy, cat, _worst_key, f"worst-{cat}")
        out += [best, worst, simplest_unit(policy, cat, f"simplest-{cat}")]
        if with_ladder:
            out += ladder(policy, cat, best)
    return out


def _best_key(result: Any) -> tuple[int, Decimal]:
    return (0 if result.vetoed else 1, result.score)


def _worst_key(result: Any) -> tuple[int, Decimal]:
    return (0 if result.vetoed else 1, -result.score)


def search(policy: Policy, category: str, key: Callable[[Any], Any], unit_id: str) -> dict[str, Any]:
    """Greedy coordinate ascent of ``key(result)`` over each fact's candidate values."""
    space = space_of(policy)
    unit = simplest_unit(policy, category, unit_id)
    facts: dict[str, Any] = unit["facts"]
    best = _score(policy, unit, key)
    for _ in range(MAX_PASSES):
        improved = False
        for name, domain in space.facts_for(category):
            for value in _options(domain, facts.get(name, ABSENT)):
                trial = dict(facts)
                if value is ABSENT:
                    trial.pop(name, None)
                else:
                    trial[name] = value
                score = _score(policy, {"id": unit_id, "category": category, "facts": trial}, key)
                if score is not None and (best is None or score > best):
                    facts, best, improved = trial, score, True
        if not improved:
            break
    # amounts of money that do not move the score (a reward amount, say) get a non-zero value,
    # so the outcomes of units near this one divide real money
    for name, domain in space.facts_for(category):
        if domain.kind == "money" and facts.get(name, ABSENT) in (ABSENT, 0):
            for value in domain.candidates():
                if value is ABSENT or value == 0:
                    continue
                trial = {**facts, name: value}
                if _score(policy, {"id": unit_id, "category": category, "facts": trial}, key) == best:
                    facts = trial
                    break
    return {"id": unit_id, "category": category, "facts": facts}


def _options(domain: Domain, current: Any) -> list[Any]:
    if domain.kind == "list" and domain.elem is not None:
        base = current if isinstance(current, list) else []
        return [[], *([*base, variant] for variant in domain.record_variants())]
    return domain.candidates()


def _score(policy: Policy, unit: dict[str, Any], key: Callable[[Any], Any]) -> Any:
    try:
        return key(assess_alone(policy, unit))
    except KaoheError:
        return None


def ladder(policy: Policy, category: str, best: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Units stepping down from the best unit one lost duty at a time, across every band.

    Each single change of a fact that costs points (without a veto) is measured
    from the best unit; the changes are then applied one after another, so the
    rungs' scores fall from the top to the bottom of the range in steps of one
    target's points.  Units drawn near the rungs cross every band edge.
    """
    space = space_of(policy)
    top = best or search(policy, category, _best_key, f"best-{category}")
    base_result = _evaluate(policy, top)
    if base_result is None:
        return []
    drops: list[tuple[str, Any]] = []
    for name, domain in space.facts_for(category):
        current = top["facts"].get(name, ABSENT)
        for value in _options(domain, current):
            trial = _with(top, name, value)
            result = _evaluate(policy, trial)
            if result is not None and not result.vetoed and result.score < base_result.score:
                drops.append((name, value))
                break
    rungs = []
    unit = top
    for index, (name, value) in enumerate(sorted(drops, key=lambda d: _spread(d[0]))):
        unit = _with(unit, name, value, f"ladder-{category}-{index + 1}")
        rungs.append(unit)
    return rungs


def _spread(name: str) -> int:
    """A fixed, name-based order that interleaves the sections (deterministic across runs)."""
    import zlib

    return zlib.crc32(name.encode("utf-8"))


def _with(unit: dict[str, Any], name: str, value: Any, unit_id: str | None = None) -> dict[str, Any]:
    facts = dict(unit["facts"])
    if value is ABSENT:
        facts.pop(name, None)
    else:
        facts[name] = value
    return {"id": unit_id or unit["id"], "category": unit["category"], "facts": facts}


def _evaluate(policy: Policy, unit: dict[str, Any]) -> Any:
    try:
        return policy.evaluate(unit)
    except KaoheError:
        return None
