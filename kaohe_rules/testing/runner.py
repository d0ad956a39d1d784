"""Running the laws under hypothesis: generate, check, shrink, collect the violations.

Kept apart from :mod:`.laws` so that the laws themselves (``check_result``,
``check_pair``) can be used without hypothesis, e.g. on a batch of real units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

from ..errors import KaoheError
from .landmarks import landmarks
from .laws import LawViolation, assess_alone, check_pair, check_result, evaluate_checked
from .strategies import units

if TYPE_CHECKING:
    from ..policy import Policy


def run_laws(policy: Policy, category: str, *, examples: int, near: Sequence[Mapping[str, Any]] = (),
             seed: int | None = None, counter: list[int] | None = None) -> list[LawViolation]:
    """Check every law on ``examples`` generated pairs of units of ``category``; the shrunk violations."""
    bases = landmarks(policy, category, with_ladder=True) + [dict(u) for u in near if _valid(policy, u)]
    first = st.one_of(units(policy, category), units(policy, category, near=bases))
    pairs = first.flatmap(lambda u: st.tuples(st.just(u), units(policy, category, near=[u], max_changes=3)))
    tally = counter if counter is not None else [0]

    @settings(max_examples=examples, database=None, deadline=None, derandomize=seed is None,
              report_multiple_bugs=True, suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              phases=(Phase.explicit, Phase.generate, Phase.shrink))
    @given(pairs)
    def laws_hold(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
        a, b = pair
        tally[0] += 2
        result_a = evaluate_checked(policy, a)
        check_result(policy, a, result_a)
        result_b = evaluate_checked(policy, b)
        check_result(policy, b, result_b, deterministic=False)
        check_pair(policy, (a, result_a), (b, result_b))

    test = hypothesis.seed(seed)(laws_hold) if seed is not None else laws_hold
    try:
        test()
    except LawViolation as exc:
        return [exc]
    except BaseExceptionGroup as group:
        found = _violations(group)
        if not found:
            raise
        return found
    return []


def _violations(group: BaseExceptionGroup[Any]) -> list[LawViolation]:
    out: list[LawViolation] = []
    for exc in group.exceptions:
        if isinstance(exc, LawViolation):
            out.append(exc)
        elif isinstance(exc, BaseExceptionGroup):
            out.extend(_violations(exc))
    return out


def _valid(policy: Policy, unit: Mapping[str, Any]) -> bool:
    try:
        assess_alone(policy, unit)
    except KaoheError:
        return False
    return True
