"""The explanation trace: a tree of events, one per deferral, derived value, target,
rule, section, veto, band test and consequence, each with its citation, the
values it read, the value it produced and its place in the policy source.

The traced evaluator records flat raw tuples (cheap); this module turns them
into the tree using the checked policy's static metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..model import CategoryPlan
from ..source import Span
from .result import jsonable, plain

if TYPE_CHECKING:
    from ..policy import Policy
    from .result import Result

TRACE_FORMAT_VERSION = "1"

_RULE_TEXT = {
    "full": "full when",
    "deduct_when": "deduct when",
    "deduct_unless": "deduct unless",
    "deduct_per": "deduct per",
    "deduct": "deduct",
    "proportional": "proportional",
    "score": "score",
}


@attrs.frozen
class TraceEvent:
    kind: str  # deferral | let | section | target | rule | veto | band | rating | consequence
    id: str
    label: str | None
    citation: str | None
    value: object
    reads: dict[str, object]
    span: Span | None
    children: tuple[TraceEvent, ...] = ()
    detail: dict[str, object] = attrs.Factory(dict)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "id": self.id,
            "label": self.label,
            "citation": self.citation,
            "value": jsonable(self.value),
        }
        if self.reads:
            out["reads"] = jsonable(self.reads)
        if self.detail:
            out["detail"] = jsonable(self.detail)
        if self.span is not None:
            out["span"] = {"file": _short_file(self.span.file), "line": self.span.line, "column": self.span.column}
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out

    def walk(self) -> list[TraceEvent]:
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@attrs.frozen
class Trace:
    policy: str
    policy_hash: str
    unit: str
    category: str
    events: tuple[TraceEvent, ...]

    def walk(self) -> list[TraceEvent]:
        out: list[TraceEvent] = []
        for event in self.events:
            out.extend(event.walk())
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "format": TRACE_FORMAT_VERSION,
            "policy": self.policy,
            "policy_hash": self.policy_hash,
            "unit": self.unit,
            "category": self.category,
            "events": [e.to_dict() for e in self.events],
        }


def _short_file(path: str) -> str:
    """File names in traces are the base name, so traces do not depend on where a checkout lives."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def build_trace(policy: Policy, plan: CategoryPlan, result: Result, raw: Sequence[tuple[Any, ...]]) -> Trace:
    checked = policy.checked
    events: list[TraceEvent] = []
    # deferrals
    for deferral, defer in zip(result.deferred, [plan.defers[i] for i, _ in result._raw[5]]):
        events.append(TraceEvent("deferral", defer.name, defer.label, defer.cite, len(deferral.items), {},
                                 defer.span, detail={"to": defer.to, "items": list(deferral.items)}))
    # lets
    for entry in raw:
        if entry[0] == "let":
            name = entry[1]
            decl = checked.lets[name]
            events.append(TraceEvent("let", name, decl.label, decl.cite, policy.display_value(name, entry[2]), {}, decl.span))
    # targets and rules
    rules: dict[int, list[tuple[int, Any, tuple[Any, ...]]]] = {}
    for entry in raw:
        if entry[0] == "rule":
            rules.setdefault(entry[1], []).append((entry[2], entry[3], entry[4]))
    target_events: dict[str, list[TraceEvent]] = {}
    for t_index, (placed, target_result) in enumerate(zip(plan.targets, result.targets)):
        target = placed.target
        children = []
        for r_index, deduction, reads in rules.get(t_index, []):
            rule = target.rules[r_index]
            names = checked.reads.get(id(rule), ())
            read_values = {n: policy.display_value(n, v) for n, v in zip(names, reads)}
            children.append(TraceEvent("rule", f"{target.name}#{r_index + 1}", _RULE_TEXT[rule.kind], rule.cite or target.cite,
                                       Decimal(deduction), read_values, rule.span,
                                       detail={"rule": rule.kind, "deduction": plain(Decimal(deduction))}))
        event = TraceEvent("target", target.name, target.label, target.cite, target_result.score, {}, target.span,
                           tuple(children), detail={"points": plain(placed.points), "lost": plain(target_result.lost)})
        target_events.setdefault(".".join(placed.section), []).append(event)
    sections = result.sections

    def section_event(info: Any) -> TraceEvent:
        key = ".".join(info.path)
        section = sections[key]
        kids = tuple(section_event(c) for c in info.children) + tuple(target_events.get(key, []))
        return TraceEvent("section", key, info.label, info.cite, section.score, {},
                          info.span if isinstance(info.span, Span) else None, kids,
                          detail={"points": plain(info.points)})

    for info in plan.category.sections:
        events.append(section_event(info))
    events.append(TraceEvent("score", "score", "综合评分", plan.category.cite, result.score, {},
                             plan.category.span if isinstance(plan.category.span, Span) else None,
                             detail={"total": plain(plan.category.total)}))
    # vetoes: every veto of the category, fired or not
    fired = {v.name for v in result.vetoes}
    excepted = {v.name: v for v in result.excepted}
    hits = {v.name: v for v in result.vetoes}
    veto_reads: dict[int, tuple[Any, ...]] = {}
    for entry in raw:
        if entry[0] == "veto":
            veto_reads[entry[1]] = entry[5]
    for v_index, veto in enumerate(plan.vetoes):
        names = checked.reads.get(id(veto), ())
        reads = {n: policy.display_value(n, v) for n, v in zip(names, veto_reads.get(v_index, ()))}
        detail: dict[str, object] = {}
        if veto.name in hits:
            detail["evidence"] = list(hits[veto.name].evidence)
        if veto.name in excepted:
            detail["exception"] = excepted[veto.name].exception
            detail["evidence"] = list(excepted[veto.name].evidence)
        events.append(TraceEvent("veto", veto.name, veto.label, veto.cite, veto.name in fired, reads, veto.span,
                                 detail=detail))
    # bands
    band_children = []
    for band in plan.bands:
        band_children.append(TraceEvent("band_test", band.rating, checked.rating_label(band.rating), band.cite,
                                        band.contains(result.score), {}, band.span if isinstance(band.span, Span) else None,
                                        detail={"interval": band.describe()}))
    events.append(TraceEvent("band", result.band or "", checked.rating_label(result.band or ""), result.band_citation,
                             result.band, {"score": result.score}, None, tuple(band_children)))
    events.append(TraceEvent("rating", result.rating, result.rating_label,
                             checked.ratings.cite if result.vetoed else result.band_citation, result.rating, {}, None,
                             detail={"vetoed": result.vetoed, "vetoes": [v.name for v in result.vetoes]}))
    consequences = result.consequences
    outcome = checked.outcomes.get(result.rating)
    events.append(TraceEvent("consequence", result.rating, result.rating_label, consequences.citation,
                             consequences.total, {}, outcome.span if outcome else None,
                             tuple(TraceEvent(i.kind, i.name, i.label, i.citation, i.amount, {}, None)
                                   for i in consequences.items),
                             detail={"kind": consequences.kind, "notes": list(consequences.notes)}))
    return Trace(checked.header.name, checked.content_hash, result.unit_id, result.category, tuple(events))
