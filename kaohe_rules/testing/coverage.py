"""Coverage of a policy by its test cases: what the cases exercised, and what they never did.

An item is *exercised* when at least one assessed case shows it doing its job:

* band — a case's score falls in the band (per category);
* veto — the veto fires;
* exception — a veto's ``unless … because …`` stops it;
* deferral — items are handed to the other authority;
* target — the target loses points (per category it is placed in);
* rule — the rule makes a deduction (seen in the trace);
* effect — a veto's rating effect (``then rating/downgrade/cap/score``) applies;
* requires — a band's requirement fails and the unit falls to the next lower band (per category).
* outcome — an outcome item with ``when C`` applies (issue #10: a conditional
  sanction nobody saw imposed is unchecked; listed only for policies that have them).

A target that never loses points in any case is one whose deductions nobody has
checked; that is what the report lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from ..language import ast
from ..language.abi import RAW_OUTCOME
from ..runtime.parts import applies, outcome_lines

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result

KINDS = ("bands", "vetoes", "exceptions", "deferrals", "targets", "rules")
#: Kinds only some policies have, reported only when the policy has an item of the kind
#: (the reports of other policies stay as they were).
OPTIONAL_KINDS = ("effects", "requires", "outcomes")


@attrs.frozen
class Item:
    kind: str
    key: str  # stable id, e.g. "企业/优秀", "较大以上事故", "区政府/控制指标_区#2"
    label: str
    citation: str | None


@attrs.frozen
class Coverage:
    policy: str
    items: tuple[Item, ...]
    exercised: frozenset[str]  # "kind:key"
    cases: int

    def covered(self, kind: str | None = None) -> list[Item]:
        return [i for i in self.items if (kind is None or i.kind == kind) and f"{i.kind}:{i.key}" in self.exercised]

    def missed(self, kind: str | None = None) -> list[Item]:
        return [i for i in self.items if (kind is None or i.kind == kind) and f"{i.kind}:{i.key}" not in self.exercised]

    def percent(self, kind: str | None = None) -> Decimal:
        total = [i for i in self.items if kind is None or i.kind == kind]
        if not total:
            return Decimal(100)
        return (Decimal(100) * len(self.covered(kind)) / len(total)).quantize(Decimal("0.1"))

    def to_dict(self) -> dict[str, object]:
        return {
            "policy": self.policy, "cases": self.cases, "percent": str(self.percent()),
            "kinds": {kind: {"covered": len(self.covered(kind)), "total": len(self.covered(kind)) + len(self.missed(kind)),
                             "percent": str(self.percent(kind)),
                             "missed": [{"key": i.key, "label": i.label, "citation": i.citation} for i in self.missed(kind)]}
                      for kind in self.kinds},
        }

    @property
    def kinds(self) -> tuple[str, ...]:
        return KINDS + tuple(k for k in OPTIONAL_KINDS if any(i.kind == k for i in self.items))

    def render(self, show_missed: int = 50) -> str:
        lines = [f"coverage of {self.policy} by {self.cases} case(s): {self.percent()}%"]
        for kind in self.kinds:
            covered, missed = self.covered(kind), self.missed(kind)
            total = len(covered) + len(missed)
            if total:
                lines.append(f"  {kind:<11} {len(covered):>4}/{total:<4} {self.percent(kind):>6}%")
        for kind in self.kinds:
            missed = self.missed(kind)
            if not missed:
                continue
            lines.append(f"  never exercised — {kind}:")
            for item in missed[:show_missed]:
                cite = f" 〔{item.citation}〕" if item.citation else ""
                lines.append(f"    {item.key}  {item.label}{cite}")
            if len(missed) > show_missed:
                lines.append(f"    … and {len(missed) - show_missed} more")
        return "\n".join(lines)


def universe(policy: Policy) -> list[Item]:
    """Everything a policy's test cases could exercise."""
    checked = policy.checked
    items: list[Item] = []
    for category, plan in checked.plans.items():
        for band in plan.bands:
            items.append(Item("bands", f"{category}/{band.rating}", f"{checked.rating_label(band.rating)} {band.describe()}",
                              band.cite))
    for veto in checked.vetoes:
        items.append(Item("vetoes", veto.name, veto.label or veto.name, veto.cite))
        for index, exc in enumerate(veto.exceptions):
            items.append(Item("exceptions", f"{veto.name}#{index + 1}", exc.because or "exception", veto.cite))
    for veto in checked.vetoes:
        if veto.effect is not None:
            items.append(Item("effects", veto.name, f"then {veto.effect.kind} of {veto.name}", veto.cite))
    for category, plan in checked.plans.items():
        for band in plan.bands:
            if band.requires is not None:
                items.append(Item("requires", f"{category}/{band.rating}",
                                  f"{checked.rating_label(band.rating)} requires", band.cite))
    for defer in checked.defers:
        items.append(Item("deferrals", defer.name, defer.label or defer.name, defer.cite))
    for category, plan in checked.plans.items():
        for placed in plan.targets:
            target = placed.target
            items.append(Item("targets", f"{category}/{target.name}", target.label or target.name, target.cite))
            for index, rule in enumerate(target.rules):
                items.append(Item("rules", f"{category}/{target.name}#{index + 1}", f"{rule.KIND} rule of {target.name}",
                                  rule.cite or target.cite))
    for outcome in [*checked.outcomes.values(), *checked.general_outcomes]:
        for index, item in enumerate(outcome.items):
            if item.condition is not None:
                items.append(Item("outcomes", consequence_key(outcome, index), item.label or item.name,
                                  item.cite or outcome.cite))
    return items


def consequence_key(outcome: ast.OutcomeDecl, index: int) -> str:
    """``优秀/追加#3``, ``*/警示约谈#1`` (an outcome for every rating: ``*``)."""
    return f"{outcome.rating or '*'}/{outcome.items[index].name}#{index + 1}"


def exercised(policy: Policy, result: Result) -> set[str]:
    """The coverage items one result exercises (reads its trace for rules)."""
    out = {f"bands:{result.category}/{result.band}"} if result.band else set()
    for hit in result.vetoes:
        out.add(f"vetoes:{hit.name}")
    vetoes = {v.name: v for v in policy.checked.vetoes}
    for hit in result.excepted:
        veto = vetoes.get(hit.name)
        index = next((i for i, e in enumerate(veto.exceptions) if e.because == hit.exception), 0) if veto else 0
        out.add(f"exceptions:{hit.name}#{index + 1}")
    for step in result.effects:
        if step.kind == "requires":
            out.add(f"requires:{result.category}/{step.clause}")
        elif step.kind not in ("vetoed", "quota"):  # a quota step (issue #11 C) is the cohort's, no veto's
            out.add(f"effects:{step.clause}")
    for deferral in result.deferred:
        out.add(f"deferrals:{deferral.name}")
    for target in result.targets:
        if (target.score > 0) if target.bonus else (target.score < target.points):  # a bonus target: it added
            out.add(f"targets:{result.category}/{target.name}")
    for event in result.trace.walk():
        if event.kind == "rule" and isinstance(event.value, Decimal) and event.value > 0:
            out.add(f"rules:{result.category}/{event.id}")
    checked = policy.checked
    if any(i.condition is not None for o in [*checked.outcomes.values(), *checked.general_outcomes] for i in o.items):
        raw = result.raw[RAW_OUTCOME]
        for outcome, _, pairs in outcome_lines(checked, result.rating, raw):
            for index, (item, amount) in enumerate(pairs):
                if item.condition is not None and applies(amount):
                    out.add(f"outcomes:{consequence_key(outcome, index)}")
    return out


def coverage(policy: Policy, results: Iterable[Result]) -> Coverage:
    seen: set[str] = set()
    count = 0
    for result in results:
        count += 1
        seen |= exercised(policy, result)
    return Coverage(policy.label or policy.name, tuple(universe(policy)), frozenset(seen), count)
