"""Rendering a :class:`~kaohe_rules.testing.diff.DiffReport` as text (terminal) or Markdown (docs).

The example of each kind of change is shown as the facts that differ from a
reference unit, the headline under each policy, and the lines of the two full
explanations that differ: exactly the clauses whose outcome changed.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import TYPE_CHECKING

from ..runtime.result import jsonable, plain

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result
    from .diff import Behaviour, DiffReport, Example

MAX_EXPLAIN_LINES = 40


def _title(policy: Policy) -> str:
    doc = policy.checked.header.document
    return f"{policy.label or policy.name}" + (f"（{doc}）" if doc else "")


def _year(policy: Policy) -> str:
    period = policy.checked.header.period
    return str(period[0].year) if period is not None else policy.name


def headline(result: Result) -> str:
    vetoes = ", ".join(v.name for v in result.vetoes)
    text = f"{plain(result.score)} / {plain(result.total)}, band {result.band}, rating {result.rating}"
    return text + (f" (vetoed: {vetoes})" if vetoes else "")


def explanation_delta(example: Example, old_policy: Policy, new_policy: Policy, lang: str = "zh") -> list[str]:
    """The lines of the two full explanations that differ (ndiff ``-``/``+``).

    Left out: the lines naming the policy, and pairs of lines that differ only in
    the year (a checkpoint of 2013 against the same checkpoint of 2014).
    """
    titles = [p.label or p.name for p in (old_policy, new_policy)]

    def keep(line: str) -> bool:
        return not any(t in line for t in titles)

    old = [line for line in example.old.explain(lang=lang).splitlines() if keep(line)]
    new = [line for line in example.new.explain(lang=lang).splitlines() if keep(line)]
    raw = [line for line in difflib.ndiff(old, new) if line.startswith(("- ", "+ "))]
    lines = _drop_year_only(raw)
    if len(lines) > MAX_EXPLAIN_LINES:
        lines = lines[:MAX_EXPLAIN_LINES] + [f"  … {len(lines) - MAX_EXPLAIN_LINES} more lines"]
    return lines


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?=-\d\d-\d\d)")


def _drop_year_only(lines: list[str]) -> list[str]:
    """Drop each ``-`` line whose ``+`` twin is the same text once the years are blanked out."""

    def blank(text: str) -> str:
        return _YEAR.sub("YYYY", text[2:])

    removed = [line for line in lines if line.startswith("- ")]
    added = [line for line in lines if line.startswith("+ ")]
    same = {blank(line) for line in removed} & {blank(line) for line in added}
    return [line for line in lines if blank(line) not in same]


def _unit_name(e: Example) -> str:
    name = e.unit.get("name")
    return f"{e.reference} ({name})" if isinstance(name, str) and name else e.reference


def _value(value: object) -> str:
    if value is None:
        return "(left out)"
    return json.dumps(jsonable(value), ensure_ascii=False)


def _behaviour_summary(b: Behaviour) -> str:
    text = (f"{b.source}: {b.compared} assessed under both — {b.band_changed} change band, "
            f"{b.rating_changed} change rating, {b.score_changed} change score")
    if b.skipped:
        text += f" ({b.skipped} refused by one of the policies)"
    return text


def render_text(report: DiffReport, lang: str = "zh") -> str:
    old_year, new_year = _year(report.old), _year(report.new)
    lines = [f"kaohe diff: {_title(report.old)}", f"        → {_title(report.new)}", "",
             f"Structural changes ({len(report.changes)})"]
    for change in report.changes:
        cite = f" 〔{change.citation}〕" if change.citation else ""
        lines.append(f"  [{change.change}] {change.summary}{cite}")
        if change.kind != "header" and change.change == "changed":
            lines.extend("      " + line for line in change.lines())
    for b in report.behaviour:
        lines += ["", "Behavioural changes — " + _behaviour_summary(b)]
        if not b.transitions:
            lines.append("  no unit changes")
        for t in b.transitions:
            e = t.example
            lines.append(f"  {t.count:>4} × {t.kind}")
            lines.append(f"         smallest example: {e.reference} with" if e.differences
                         else f"         smallest example: {_unit_name(e)} as it is")
            for name, value in e.differences:
                lines.append(f"           {name} = {_value(value)}")
            lines.append(f"         {old_year}: {headline(e.old)}")
            lines.append(f"         {new_year}: {headline(e.new)}")
            delta = explanation_delta(e, report.old, report.new, lang)
            if delta:
                lines.append(f"         explanation, {old_year} (-) vs {new_year} (+):")
                lines.extend("           " + line for line in delta)
    return "\n".join(lines)


def render_markdown(report: DiffReport, lang: str = "zh") -> str:
    old_year, new_year = _year(report.old), _year(report.new)
    lines = [f"# {old_year} → {new_year}: what changed", "",
             f"- old: {_title(report.old)}", f"- new: {_title(report.new)}", "",
             "Generated by `kaohe diff` (see docs/testing.md).", "",
             f"## Structural changes ({len(report.changes)})", "",
             "| change | what | citation |", "|---|---|---|"]
    for change in report.changes:
        lines.append(f"| {change.change} | {change.summary.replace('|', '/')} | {change.citation or ''} |")
    detailed = [c for c in report.changes if c.kind != "header"]
    if detailed:
        lines += ["", "### The changed text", ""]
        for change in detailed:
            lines += [f"**{change.kind} {change.name}** ({change.change})", "", "```diff"]
            lines.extend(change.lines())
            lines += ["```", ""]
    for b in report.behaviour:
        lines += ["", f"## Behavioural changes — {b.source}", "", _behaviour_summary(b) + ".", ""]
        if not b.transitions:
            lines.append("No unit changes.")
            continue
        lines += ["| units | kind of change |", "|---:|---|"]
        lines.extend(f"| {t.count} | {t.kind} |" for t in b.transitions)
        for t in b.transitions:
            e = t.example
            if e.differences:
                lines += ["", f"### {t.kind}", "", f"Smallest example: `{e.reference}` with:", ""]
            else:
                lines += ["", f"### {t.kind}", "", f"Smallest example: `{_unit_name(e)}` as it is."]
            lines.extend(f"- `{name}` = `{_value(value)}`" for name, value in e.differences)
            lines += ["", f"- {old_year}: {headline(e.old)}", f"- {new_year}: {headline(e.new)}", ""]
            delta = explanation_delta(e, report.old, report.new, lang)
            if delta:
                lines += [f"Explanation, {old_year} (`-`) against {new_year} (`+`), lines that differ:", "", "```diff"]
                lines.extend(delta)
                lines += ["```"]
    return "\n".join(lines) + "\n"


def render_json(report: DiffReport, lang: str = "zh") -> str:
    doc = report.to_dict()
    for b_doc, b in zip(doc["behavioural"], report.behaviour):  # type: ignore[call-overload]
        for t_doc, t in zip(b_doc["transitions"], b.transitions):
            t_doc["example"]["explanation_delta"] = explanation_delta(t.example, report.old, report.new, lang)
    return json.dumps(doc, ensure_ascii=False, indent=2)
