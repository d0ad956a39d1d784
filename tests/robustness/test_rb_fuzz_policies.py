"""Policies generated from the grammar and mutated token by token (issue #9), bounded for CI.

``load`` returns a Policy or raises a PolicyError whose diagnostics all carry a K code and
render; accepted policies are then fed generated (and mutated) units.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules import PolicyError
from kaohe_rules.testing import fuzz

# No shrinking: a failing row can be slow (a 200,000-character value), and shrinking would repeat it
# hundreds of times; the failure message names the case's steps instead.
NO_SHRINK = tuple(Phase[name] for name in fuzz.NO_SHRINK_PHASES)




def test_generated_policies_are_mostly_accepted() -> None:
    """The generator builds well-formed policies (else it would only test the parser's error path)."""
    accepted = 0
    for i in range(30):
        try:
            kaohe_rules.load(fuzz.generate_policy(fuzz.RandomChooser(f"accept-{i}")), name="gen.kh")
        except PolicyError:
            continue
        accepted += 1
    assert accepted >= 20


@settings(phases=NO_SHRINK, max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_policies_load_and_evaluate(data: st.DataObject) -> None:
    ch = fuzz.DrawChooser(data)
    tally = fuzz.Tally()
    fuzz.check_policy(fuzz.generate_policy(ch), ch, tally, fuzz.Case("generated", "hypothesis", 0, "generated", ()),
                      mutated=False, monsters=False, units=2)
    assert tally.generated == 1
    assert not tally.failures, tally.failures_text()


@settings(phases=NO_SHRINK, max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_policies_give_policies_or_diagnostics(policies: fuzz.Policies, data: st.DataObject) -> None:
    ch = fuzz.DrawChooser(data)
    source = ch.choice(["karamay", "small", "all-types", "generated"])
    text = policies.texts[source] if source in policies.texts else fuzz.generate_policy(ch)
    mutated, steps = fuzz.mutate_policy(text, ch, monsters=False)
    tally = fuzz.Tally()
    fuzz.check_policy(mutated, ch, tally, fuzz.Case("policy", "hypothesis", 0, source, tuple(steps)),
                      mutated=True, monsters=False, units=1)
    assert tally.mutations == 1
    assert not tally.failures, tally.failures_text()


@pytest.mark.parametrize("token", fuzz.HOSTILE_TOKENS, ids=lambda t: fuzz.shown(t)[:20])
def test_hostile_literals_in_a_policy(token: str) -> None:
    """Each hostile literal where a number, a name and a string stand in the small policy."""
    tally = fuzz.Tally()
    for old in ("100万元", "指标", "30"):
        text = fuzz.SMALL_POLICY.replace(old, token, 1)
        fuzz.check_policy(text, fuzz.RandomChooser(old), tally, fuzz.Case("policy", "ci", 0, "small", (old,)),
                          mutated=True, monsters=False, units=1)
    assert tally.mutations == 3
    assert not tally.failures, tally.failures_text()


@settings(phases=NO_SHRINK, max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_rich_generated_policies_load_and_survive_hostile_units(data: st.DataObject) -> None:
    """The policies of policygen (every issue-#10 construct): accepted, and hostile rows give kaohe errors."""
    ch = fuzz.DrawChooser(data)
    tally = fuzz.Tally()
    accepted = fuzz.check_policy(fuzz.rich_policy(ch), ch, tally, fuzz.Case("generated", "hypothesis", 1, "rich", ()),
                                 mutated=False, monsters=False, units=2)
    assert accepted, "the checker refuses a rich generated policy (a generator bug)"
    assert not tally.failures, tally.failures_text()
