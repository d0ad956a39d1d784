"""The why-not answer is exact: checked against brute force on generated policies and units.

Every rule of a generated policy reads its own fact, so "removing a deduction" can be done
for real — by giving that fact its harmless value and evaluating again with the engine —
and every subset of the removable deductions can be tried.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.audit.whynot import resolve_band, smallest_rule_set, smallest_target_set, why_not

RATINGS = ("A", "B", "C", "D")


# --------------------------------------------------------------- generated policies
@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    """A small policy (targets with full/deduct-when/deduct-per rules, four bands, a veto) and one unit."""
    targets = []
    for t in range(draw(st.integers(2, 5))):
        points = draw(st.integers(1, 30))
        rules = []
        for r in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["full", "when", "per"]))
            amount = draw(st.sampled_from(["1", "2", "2.5", "4", "5", "8", "10", "15"]))
            cap = draw(st.sampled_from([None, "6", "12"])) if kind == "per" else None
            fact = f"f{t}_{r}"
            if kind == "full":
                value = draw(st.booleans())  # true = met
            elif kind == "when":
                value = draw(st.booleans())  # true = deduct
            else:
                value = draw(st.integers(0, 4))  # occurrences
            rules.append({"kind": kind, "amount": amount, "cap": cap, "fact": fact, "value": value})
        targets.append({"name": f"t{t}", "points": points, "rules": rules})
    total = sum(t["points"] for t in targets)
    cuts = sorted(draw(st.sets(st.integers(1, max(total - 1, 1)), min_size=3, max_size=3))) if total >= 4 else None
    if cuts is None:
        cuts = [Decimal(total) / 4, Decimal(total) / 2, Decimal(total) * 3 / 4]
    open_top = draw(st.booleans())
    return {"targets": targets, "total": total, "cuts": cuts, "open_top": open_top, "veto": draw(st.booleans())}


def policy_text(s: dict[str, Any]) -> str:
    total = s["total"]
    c1, c2, c3 = (str(c) for c in s["cuts"])
    top = f"A ({c3}, {total}] B [{c2}, {c3}]" if s["open_top"] else f"A [{c3}, {total}] B [{c2}, {c3})"
    lines = [
        'policy G "generated" { }',
        f'category U "unit" total {total} {{ section S "section" {total} }}',
        'ratings { A "best" B "good" C "pass" D "fail" } vetoed D',
        f"bands U {{ {top} C [{c1}, {c2}) D [0, {c1}) }}",
        'fact v: bool "veto fact"',
        'veto V "vetoed" cite "9" when v',
    ]
    for t in s["targets"]:
        rules = []
        for r in t["rules"]:
            if r["kind"] == "full":
                lines.append(f"fact {r['fact']}: bool")
                rules.append(f"full when {r['fact']}")
            elif r["kind"] == "when":
                lines.append(f"fact {r['fact']}: bool")
                rules.append(f"deduct {r['amount']} when {r['fact']}")
            else:
                lines.append(f"fact {r['fact']}: int >= 0")
                rules.append(f"deduct {r['amount']} per {r['fact']}" + (f" cap {r['cap']}" if r["cap"] else ""))
        lines.append(f'target {t["name"]} "{t["name"]}" cite "1" in U.S points {t["points"]} {{ {" ".join(rules)} }}')
    return "\n".join(lines) + "\n"


def harmless(rule: dict[str, Any]) -> object:
    return {"full": True, "when": False, "per": 0}[rule["kind"]]


def unit_facts(s: dict[str, Any], removed: set[str]) -> dict[str, object]:
    facts: dict[str, object] = {"v": s["veto"]}
    for t in s["targets"]:
        for r in t["rules"]:
            facts[r["fact"]] = harmless(r) if r["fact"] in removed else r["value"]
    return facts


def evaluate(policy: kaohe_rules.Policy, s: dict[str, Any], removed: set[str] = frozenset()) -> Any:  # type: ignore[assignment]
    return policy.evaluate({"id": "u", "category": "U", "facts": unit_facts(s, set(removed))})


def reaches(result: Any, rating: str) -> bool:
    """The score alone earns ``rating`` or better (ratings are listed best first)."""
    return result.band is not None and RATINGS.index(result.band) <= RATINGS.index(rating)


def brute_minimum(policy: kaohe_rules.Policy, s: dict[str, Any], groups: list[set[str]], rating: str) -> int | None:
    """The fewest groups of facts whose neutralisation reaches the band, by trying every subset."""
    for size in range(len(groups) + 1):
        for combo in itertools.combinations(groups, size):
            removed: set[str] = set().union(*combo) if combo else set()
            if reaches(evaluate(policy, s, removed), rating):
                return size
    return None


# ------------------------------------------------------------------------- laws
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_law_why_not_minimal_sets_match_brute_force(s: dict[str, Any]) -> None:
    policy = kaohe_rules.load(policy_text(s))
    result = evaluate(policy, s)
    answer = why_not(result)
    trace = result.trace
    rule_facts = {f"{t['name']}#{i + 1}": r["fact"] for t in s["targets"] for i, r in enumerate(t["rules"])}
    removable_rules = [{rule_facts[e.id]} for e in trace.of_kind("rule") if e.value > 0]
    losing_targets = [{r["fact"] for r in t["rules"]} for t in s["targets"]
                      if result.sections["S"].targets and
                      next(x for x in result.targets if x.name == t["name"]).lost > 0]
    better = [r for r in RATINGS if result.band is not None and RATINGS.index(r) < RATINGS.index(result.band)]
    assert [g.rating for g in answer.goals] == list(reversed(better))  # nearest first
    assert answer.vetoes == tuple(v for v in trace.of_kind("veto") if v.value)
    assert bool(answer.vetoes) == s["veto"]
    for goal in answer.goals:
        assert goal.blocked == s["veto"]
        # the points lacking are exactly the distance to the band's lower edge
        assert goal.lacking == goal.low - result.score
        expected_rules = brute_minimum(policy, s, removable_rules, goal.rating)
        expected_targets = brute_minimum(policy, s, losing_targets, goal.rating)
        if expected_targets is None:
            assert goal.targets is None and goal.rules is None
            continue
        assert goal.targets is not None and goal.rules is not None
        assert len(goal.targets.items) == expected_targets
        assert len(goal.rules.items) == expected_rules
        # and the sets reported really do it, restoring exactly the gain they claim
        by_name = {t["name"]: t for t in s["targets"]}
        removed_t = {r["fact"] for d in goal.targets.items for r in by_name[d.target]["rules"]}
        lifted = evaluate(policy, s, removed_t)
        assert reaches(lifted, goal.rating)
        assert lifted.score - result.score == goal.targets.gain
        removed_r = {rule_facts[d.id] for d in goal.rules.items}
        lifted = evaluate(policy, s, removed_r)
        assert reaches(lifted, goal.rating)
        assert lifted.score - result.score == goal.rules.gain
        # the proof bound: one fewer item never restores enough
        assert not _meets(goal.targets.bound, goal.lacking, goal.strict)
        assert not _meets(goal.rules.bound, goal.lacking, goal.strict)


def _meets(gain: Decimal, need: Decimal, strict: bool) -> bool:
    return gain > need if strict else gain >= need


# ------------------------------------------------------------------ unit tests
def _deduction(name: str, points: str) -> Any:
    from kaohe_rules.audit.whynot import Deduction

    return Deduction("target", name, name, None, None, None, Decimal(points), {})


def test_target_set_takes_the_largest_losses_and_proves_minimality() -> None:
    losses = [_deduction("a", "5"), _deduction("b", "20"), _deduction("c", "12"), _deduction("d", "3")]
    removal = smallest_target_set(losses, Decimal(30), strict=False)
    assert removal is not None
    assert [d.id for d in removal.items] == ["b", "c"]
    assert removal.gain == 32 and removal.bound == 20
    assert smallest_target_set(losses, Decimal(32), strict=True) is not None
    assert len(smallest_target_set(losses, Decimal(32), strict=True).items) == 3  # type: ignore[union-attr]
    assert smallest_target_set(losses, Decimal(41), strict=False) is None  # 40 is all there is


def test_rule_set_accounts_for_the_floor_at_zero() -> None:
    # a target of 10 points whose rules deduct 10 + 8: the floor at 0 makes removals interact
    policy = kaohe_rules.load(
        'policy G "g" { }\ncategory U "u" total 20 { section S "s" 20 }\n'
        'ratings { A "a" B "b" } vetoed B\nbands U { A [19, 20] B [0, 19) }\n'
        "fact ok: bool\nfact bad: bool\nfact k: bool\n"
        'target t "t" in U.S points 10 { full when ok deduct 8 when bad }\n'
        'target u "u" in U.S points 10 { deduct 1 when k }\n')
    result = policy.evaluate({"id": "x", "category": "U", "facts": {"ok": False, "bad": True, "k": True}})
    assert result.score == 9
    rules = smallest_rule_set(result.trace.of_kind("target"), Decimal(10), strict=False)
    assert rules is not None
    # alone: the full-when rule restores 2 (10 - 8), the 8-point rule 0, u's rule 1; together t's two restore 10
    assert sorted(d.id for d in rules.items) == ["t#1", "t#2"]
    assert rules.gain == 10
    assert rules.bound == 2
    answer = why_not(result)
    assert answer.goals[0].lacking == 10
    assert len(answer.goals[0].rules.items) == 2  # type: ignore[union-attr]
    assert len(answer.goals[0].targets.items) == 1  # type: ignore[union-attr]  # t's whole loss of 10


def test_resolve_band_by_name_label_and_english_alias() -> None:
    policy = kaohe_rules.load(
        'policy G "g" { }\ncategory U "u" total 10 { section S "s" 10 }\n'
        'ratings { 优秀 "优秀单位" 良好 "良好单位" 合格 "合格单位" 不合格 "不合格单位" } vetoed 不合格\n'
        "bands U { 优秀 [9, 10] 良好 [8, 9) 合格 [6, 8) 不合格 [0, 6) }\n"
        'fact n: int >= 0\ntarget t "t" in U.S points 10 { deduct 1 per n }\n')
    result = policy.evaluate({"id": "x", "category": "U", "facts": {"n": 5}})
    assert resolve_band(result, "优秀") == "优秀"
    assert resolve_band(result, "良好单位") == "良好"
    assert resolve_band(result, "excellent") == "优秀"
    assert resolve_band(result, "Good") == "良好"
    assert resolve_band(result, "pass") == "合格"
    assert resolve_band(result, "fail") == "不合格"
    with pytest.raises(ValueError, match="unknown rating"):
        resolve_band(result, "superb")
    answer = why_not(result, band="excellent")
    assert [g.rating for g in answer.goals] == ["优秀"]
    assert answer.goals[0].lacking == 4


def test_karamay_answers_are_consistent(karamay: Any) -> None:
    policy, units = karamay
    for unit in units:
        result = policy.evaluate(unit)
        answer = why_not(result)
        for goal in answer.goals:
            assert goal.targets is not None
            losses = sorted((t.lost for t in result.targets if t.lost > 0), reverse=True)
            k = len(goal.targets.items)
            assert sum(losses[:k]) == goal.targets.gain
            assert _meets(goal.targets.gain, goal.lacking, goal.strict)
            assert not _meets(sum(losses[: k - 1], Decimal(0)), goal.lacking, goal.strict)
            assert goal.rules is not None and len(goal.rules.items) >= k


@pytest.fixture(scope="module")
def karamay() -> Any:
    from kaohe_rules.unitio import read_units

    policy = kaohe_rules.load("policies/karamay-2013.kh")
    return policy, [row.unit for row in read_units("policies/karamay-2013/units.json")]
