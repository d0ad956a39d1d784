"""Hover: what a name is — its kind, type, label and clause — in Markdown.

For a target, its points in each category it is placed in and the section (path and budget)
it sits in; for a fact, where its value comes from (``source``), its default and its bounds; for
a section, its budget and its category's total.  Values come from the checked model when the
policy checks, else they are shown as written (an author mid-edit still sees ``points 分值_x``).
"""

from __future__ import annotations

import os
from decimal import Decimal

from ..language import ast
from ..language.index import Definition, PolicyIndex, span_text
from ..language.model import MISSING, CheckedPolicy


def _no_default(node: ast.FactDecl) -> str:
    if node.type.optional:
        return "none (optional: a unit may leave it out, and then it is none)"
    return "none (a unit must supply it)"


def _number(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return "[]" if not value else "[" + ", ".join(_number(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _checked(index: PolicyIndex) -> CheckedPolicy | None:
    return index.checked


def markdown(d: Definition, index: PolicyIndex) -> str:
    """The hover text of ``d``."""
    title = f"**{d.kind}** `{d.name}`"
    if d.type_text:
        title += f": `{d.type_text}`"
    lines = [title]
    if d.label:
        lines.append(f"“{d.label}”")
    if d.cite:
        lines.append(f"cite: {d.cite}")
    details = _details(d, index)
    if details:
        lines.append("")
        lines.extend(details)
    if d.file != index.source.name:
        lines.append("")
        lines.append(f"declared in `{os.path.basename(d.file)}` line {d.name_span.line} (through `extends`)")
    return "\n\n".join(_merge(lines))


def _merge(lines: list[str]) -> list[str]:
    """Table rows stay together (one paragraph); other lines are paragraphs of their own."""
    out: list[str] = []
    for line in lines:
        if line == "":
            continue
        if line.startswith("|") and out and out[-1].startswith("|"):
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def _details(d: Definition, index: PolicyIndex) -> list[str]:
    node = d.node
    if isinstance(node, ast.TargetDecl):
        return _target(node, index)
    if isinstance(node, ast.FactDecl):
        return _fact(node, index)
    if isinstance(node, ast.ParamDecl):
        checked = _checked(index)
        value = checked.param_values.get(node.name) if checked is not None else None
        shown = _number(value) if value is not None else span_text(node.value.span)
        out = [f"value: `{shown}`"]
        if node.periods:
            out.append("dated: " + ", ".join(f"from {day}: `{span_text(v.span)}`" for day, v in node.periods))
        if node.note:
            out.append(f"note: {node.note}")
        return out
    if isinstance(node, ast.LetDecl):
        return [f"`= {span_text(node.value.span)}`"] + (["reported"] if node.report else [])
    if isinstance(node, ast.Section) and d.kind == "section":
        return _section(d, node, index)
    if isinstance(node, ast.Category):
        checked = _checked(index)
        info = checked.categories.get(node.name) if checked is not None else None
        total = _number(info.total) if info is not None else span_text(node.total.span)
        return [f"total: {total} points", "sections: " + ", ".join(s.name for s in node.sections)]
    if isinstance(node, ast.VetoDecl):
        out = [f"for: {', '.join(node.categories)}"] if node.categories else []
        test = "when" if node.on_list is None else f"on `{span_text(node.on_list.span)}` where"
        out.append(f"{test} `{span_text(node.condition.span)}`")
        if node.note:
            out.append(f"note: {node.note}")
        return out
    if isinstance(node, ast.EnumDecl):
        return ["members: " + ", ".join(m.name for m in node.members) + (" (ordered)" if node.ordered else "")]
    if isinstance(node, ast.RecordDecl):
        return ["fields: " + ", ".join(f.name for f in node.fields) + (
            "; lets: " + ", ".join(let.name for let in node.lets) if node.lets else "")]
    if isinstance(node, ast.FieldDecl):
        out = [f"field of record `{d.container}`"]
        if node.default is not None:
            out.append(f"default: `{span_text(node.default.span)}`")
        if node.constraint is not None:
            out.append(f"bounds: `{span_text(node.constraint.span)}`")
        return out
    if isinstance(node, ast.LetDecl) and d.kind == "field":
        return [f"let of record `{d.container}`: `= {span_text(node.value.span)}`"]
    if isinstance(node, ast.EnumMember):
        return [f"member of enum `{d.container}`"]
    if isinstance(node, ast.DeferDecl) and d.kind == "defer":
        return [f"from `{node.source_list}` where `{span_text(node.where.span)}`, kept as `{node.alias}`"]
    if isinstance(node, ast.Band):
        low = span_text(node.low.span)
        if node.open_top:
            interval = f"{'>=' if node.low_closed else '>'} {low}"
        else:
            interval = (f"{'[' if node.low_closed else '('}{low}, {span_text(node.high.span)}"
                        f"{']' if node.high_closed else ')'}")
        return [f"band of category `{d.container}`: {interval}"]
    if isinstance(node, ast.OutcomeItem):
        amount = span_text(node.amount.span) if node.amount is not None else ("rest" if node.kind == "share" else "")
        return [f"{node.kind} in outcome `{d.container}`" + (f": `{amount}`" if amount else "")]
    return []


def _fact(node: ast.FactDecl, index: PolicyIndex) -> list[str]:
    out: list[str] = []
    if node.source:
        out.append(f"source: {node.source}")
    checked = _checked(index)
    if checked is not None and node.name in checked.fact_defaults:
        default = checked.fact_defaults[node.name]
        out.append("default: " + (_no_default(node) if default is MISSING or default is None
                                  else f"`{_number(default)}`"))
    elif node.default is not None:
        out.append(f"default: `{span_text(node.default.span)}`")
    else:
        out.append(f"default: {_no_default(node)}")
    if node.constraint is not None:
        out.append(f"bounds: `{span_text(node.constraint.span)}`")
    if node.categories:
        out.append(f"supplied by: {', '.join(node.categories)}")
    if node.ledger:
        out.append(f"from ledger `{node.ledger}`")
    if node.per_period:
        out.append("one value per period")
    if node.note:
        out.append(f"note: {node.note}")
    return out


def _target(node: ast.TargetDecl, index: PolicyIndex) -> list[str]:
    checked = _checked(index)
    rows = ["| category | section | points | section budget |", "|---|---|---|---|"]
    for placement in node.placements:
        if not placement.path:
            continue
        category, path = placement.path[0], tuple(placement.path[1:])
        points = "bonus" if placement.bonus else span_text(placement.points.span)
        budget = ""
        if checked is not None and category in checked.plans:
            for placed in checked.plans[category].targets:
                if placed.target.name == node.name and placed.section == path:
                    points = "bonus" if placed.bonus else _number(placed.points)
            info = checked.categories[category]
            section = next((s for s in info.all_sections() if s.path == path), None)
            if section is not None:
                budget = "bonus" if section.bonus else _number(section.points)
        else:
            found = index.lookup_key(("section", category) + path)
            if found is not None and isinstance(found.node, ast.Section):
                budget = "bonus" if found.node.bonus else span_text(found.node.points.span)
        rows.append(f"| {category} | {'.'.join(path)} | {points} | {budget} |")
    out = rows if len(rows) > 2 else []
    out.append(f"{len(node.rules)} rule{'s' if len(node.rules) != 1 else ''}: "
               + ", ".join(dict.fromkeys(rule.KIND.replace('_', ' ') for rule in node.rules)))
    if node.note:
        out.append(f"note: {node.note}")
    return out


def _section(d: Definition, node: ast.Section, index: PolicyIndex) -> list[str]:
    category = d.key[1]
    path = tuple(d.key[2:])
    checked = _checked(index)
    budget = "bonus" if node.bonus else span_text(node.points.span)
    total = ""
    if checked is not None and category in checked.categories:
        info = checked.categories[category]
        section = next((s for s in info.all_sections() if s.path == path), None)
        if section is not None and not section.bonus:
            budget = _number(section.points)
        total = f" of the category's {_number(info.total)}"
    return [f"path: `{'.'.join((category,) + path)}`", f"budget: {budget} points{total}"]
