"""Per-category templates of a result's parts, built once per program (issue #13: lean results).

Why: a :class:`~kaohe_rules.runtime.result.Result` used to build its sections by
walking the category's section tree, joining every path and filtering all targets
once per section, and its consequences by zipping the outcome's declarations again —
for every unit, although all of that depends on the category only.  Reading the whole
result cost several times the evaluation itself.  Here the static part of every
part (names, labels, citations, points, paths, which targets a section holds, which
money items an outcome has) is computed once per category and kept on the
:class:`~kaohe_rules.runtime.program.Program`; a result only adds what its raw tuple
says (the scores, the amounts).

The parts are frozen attrs classes with an instance ``__dict__``
(:mod:`kaohe_rules.runtime.parts`); :func:`made` creates one from a copy of a
template dict, which is several times cheaper than their ``__init__`` and gives the
very same object (same fields, same equality, repr and ``to_dict``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from ..language import ast
from ..language.model import CategoryPlan, CheckedPolicy
from ..numeric import ENGINE_CONTEXT, to_fen
from .parts import Consequences, Deferral, MoneyItem, SectionResult, TargetResult, VetoHit, applies

if TYPE_CHECKING:
    from .program import Program

T = TypeVar("T")

_ZERO = Decimal(0)

_new = object.__new__
_set = object.__setattr__


def made(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen attrs class ``cls`` whose fields are ``fields`` (every field, checked
    by the templates' construction, not here): what ``cls(**fields)`` gives, without its ``__init__``.

    The builders below fill the new instance's own ``__dict__`` in place instead (``obj.__dict__.update``):
    the same fields in the same order, about an eighth fewer instructions than setting a copy (measured
    with cachegrind, issue #13), and no template copy made first."""
    obj = _new(cls)
    _set(obj, "__dict__", fields)
    return obj


def period_points(checked: CheckedPolicy, plan: CategoryPlan, path: tuple[str, ...], points: Decimal) -> Decimal:
    """The points a combined section or target can reach (issue #11 P): its points, or for one of a section
    ``only in`` some periods, its points × the weights of those periods (日常 100 in a 30% period: 30)."""
    decl = checked.periods
    if decl is None:
        return points
    top = next(s for s in plan.category.sections if s.name == path[0])
    if not top.periods:
        return points
    share = sum((item.weight for item in decl.items if item.name in top.periods), Decimal(0))
    return ENGINE_CONTEXT.multiply(points, share / 100)


class OutcomeTemplate:
    """A rating's own outcome: its declaration and, per item, the MoneyItem fields but the amount."""

    __slots__ = ("decl", "items", "kind", "notes")

    def __init__(self, decl: ast.OutcomeDecl) -> None:
        self.decl = decl
        self.items: tuple[dict[str, Any], ...] = tuple(
            {"kind": item.kind, "name": item.name, "label": item.label, "citation": item.cite or decl.cite}
            for item in decl.items)
        #: the Consequences' kind when every item applies (an item left out by its ``for``/``when`` recomputes it)
        self.kind = _kind_of(item["kind"] for item in self.items)
        self.notes = decl.notes


def _kind_of(kinds: Any) -> str:
    """A Consequences' kind: reward if any item is a reward, else fine if any is a fine, else none."""
    kind = "none"
    for item_kind in kinds:
        if item_kind == "reward":
            return "reward"
        if item_kind == "fine":
            kind = "fine"
    return kind


class CategoryTemplate:
    """The static parts of the results of one category."""

    __slots__ = ("targets", "sections", "vetoes", "veto_reads", "defers", "outcomes", "none_consequences")

    def __init__(self, program: Program, category: str) -> None:
        checked = program.checked
        plan = program.plans[category]
        #: per placed target: TargetResult's fields but the score (its points as combined, issue #11 P)
        self.targets: tuple[dict[str, Any], ...] = tuple(
            {"name": p.target.name, "label": p.target.label, "citation": p.target.cite, "section": ".".join(p.section),
             "points": period_points(checked, plan, p.section, p.points), "bonus": p.bonus, "cap": p.cap}
            for p in plan.targets)
        infos = {s.path: s for s in plan.category.all_sections()}
        sections = []
        for path in program.section_order(category):
            info = infos[path]
            key = ".".join(path)
            held = tuple(i for i, t in enumerate(self.targets) if t["section"] == key)
            sections.append((key, {"path": key, "name": info.name, "label": info.label, "citation": info.cite,
                                   "points": period_points(checked, plan, path, info.points), "depth": len(path),
                                   "bonus": info.bonus, "cap": info.cap}, held))
        #: per section in raw order: (key, SectionResult's fields but score and targets, its targets' indexes)
        self.sections: tuple[tuple[str, dict[str, Any], tuple[int, ...]], ...] = tuple(sections)
        #: per veto: VetoHit's name, label and citation
        self.vetoes: tuple[dict[str, Any], ...] = tuple(
            {"name": v.name, "label": v.label, "citation": v.cite} for v in plan.vetoes)
        #: per veto: the names it read, in the order of the raw reads
        self.veto_reads: tuple[tuple[str, ...], ...] = tuple(tuple(checked.reads.get(v, ())) for v in plan.vetoes)
        #: per defer: Deferral's name, label, citation and authority
        self.defers: tuple[dict[str, Any], ...] = tuple(
            {"name": d.name, "label": d.label, "citation": d.cite, "to": d.to} for d in plan.defers)
        #: per rating name: its own outcome's template (None: the rating has none)
        self.outcomes: dict[str, OutcomeTemplate | None] = {
            rating: (OutcomeTemplate(checked.outcomes[rating]) if rating in checked.outcomes else None)
            for rating in program.rating_names}
        self.none_consequences: dict[str, Consequences] = {}


def category_template(program: Program, category: str) -> CategoryTemplate:
    """The template of ``category``'s results (built on first use, kept on the program)."""
    templates: dict[str, CategoryTemplate] = program.templates
    template = templates.get(category)
    if template is None:
        template = templates[category] = CategoryTemplate(program, category)
    return template


def target_results(template: CategoryTemplate, scores: Any) -> tuple[TargetResult, ...]:
    """The TargetResults of a raw result's target scores."""
    out: list[TargetResult] = []
    append = out.append
    decimal = Decimal
    new = _new
    for fields, score in zip(template.targets, scores):
        obj = new(TargetResult)
        own = obj.__dict__  # the instance's own dict, filled in place: cheaper than setting a copy (see made)
        own.update(fields)
        own["score"] = score if score.__class__ is decimal else decimal(score)
        append(obj)
    return tuple(out)


def section_results(template: CategoryTemplate, scores: Any,
                    targets: tuple[TargetResult, ...]) -> dict[str, SectionResult]:
    """The SectionResults of a raw result's section scores, in one pass (each holding its targets)."""
    out: dict[str, SectionResult] = {}
    decimal = Decimal
    pick = targets.__getitem__
    new = _new
    for (key, fields, held), score in zip(template.sections, scores):
        obj = new(SectionResult)
        own = obj.__dict__
        own.update(fields)
        own["score"] = score if score.__class__ is decimal else decimal(score)
        own["targets"] = tuple(map(pick, held)) if held else ()
        out[key] = obj
    return out


def consequences(template: CategoryTemplate, rating: str, own_raw: Any) -> Consequences:
    """The Consequences of the rating's own outcome (what ``parts.consequences_of`` builds), from its raw part."""
    outcome = template.outcomes.get(rating)
    if outcome is None:
        found = template.none_consequences.get(rating)
        if found is None:
            found = template.none_consequences[rating] = Consequences(rating, None, "none", Decimal("0.00"), (), ())
        return found
    total, amounts = own_raw if own_raw is not None else (_ZERO, ())
    items: list[MoneyItem] = []
    append = items.append
    new = _new
    left_out = False
    for fields, amount in zip(outcome.items, amounts):
        if amount.__class__ is str and not applies(amount):
            left_out = True
            continue
        item = new(MoneyItem)
        own = item.__dict__
        own.update(fields)
        own["amount"] = amount
        append(item)
    kind = _kind_of(item.kind for item in items) if left_out else outcome.kind
    made_ = new(Consequences)
    own = made_.__dict__
    own["rating"] = rating
    own["citation"] = outcome.decl.cite
    own["kind"] = kind
    own["total"] = to_fen(total)
    own["items"] = tuple(items)
    own["notes"] = outcome.notes
    return made_


def veto_hit(template: CategoryTemplate, index: int, items: tuple[dict[str, object], ...], facts: dict[str, object],
             reason: str | None, positions: tuple[int | None, ...]) -> VetoHit:
    """A VetoHit of veto ``index`` with its evidence (as people read it), the facts it read and the positions."""
    hit = _new(VetoHit)
    own = hit.__dict__
    own.update(template.vetoes[index])
    own["evidence"] = items
    own["facts"] = facts
    own["exception"] = reason
    own["positions"] = positions
    return hit


def deferral(template: CategoryTemplate, index: int, items: tuple[dict[str, object], ...],
             positions: tuple[int | None, ...]) -> Deferral:
    """A Deferral of defer ``index`` with its items (as people read them) and their positions."""
    made_ = _new(Deferral)
    own = made_.__dict__
    own.update(template.defers[index])
    own["items"] = items
    own["positions"] = positions
    return made_
