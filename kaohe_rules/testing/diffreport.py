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
from .diff import differences, kind_of

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result
    from .diff import Behaviour, DiffReport, Example, Finding, Transition
    from .directed import Probe

MAX_EXPLAIN_LINES = 40


def _title(policy: Policy) -> str:
    doc = policy.checked.header.document
    return f"{policy.label or policy.name}" + (f"（{doc}）" if doc else "")


def _year(policy: Policy) -> str:
    period = policy.checked.header.period
    return str(period[0].year) if period is not None else policy.name


def _years(report: DiffReport) -> tuple[str, str]:
    """How the two policies are called in the report: their years, or "old" and "new" when those are the same."""
    a, b = _year(report.old), _year(report.new)
    return (a, b) if a != b else ("old", "new")


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


def _cohort_note(report: DiffReport) -> str:
    """What a diff of cohort policies compares (issue #11): units as each is assessed alone."""
    if report.old.cohort is None and report.new.cohort is None:
        return ""
    return ("Cohort policy: every unit is compared as assessed alone (a provisional result: no rank, "
            "no quota, and what reads them unset); run both policies' `kaohe eval` on the batch to compare ranks.")


def render_text(report: DiffReport, lang: str = "zh") -> str:
    old_year, new_year = _years(report)
    lines = [f"kaohe diff: {_title(report.old)}", f"        → {_title(report.new)}", "",
             f"Structural changes ({len(report.changes)})"]
    for change in report.changes:
        cite = f" 〔{change.citation}〕" if change.citation else ""
        lines.append(f"  [{change.change}] {change.summary}{cite}")
        if change.kind != "header" and change.change == "changed":
            lines.extend("      " + line for line in change.lines())
    if _cohort_note(report):
        lines += ["", _cohort_note(report)]
    for b in report.behaviour:
        lines += ["", "Behavioural changes — " + _behaviour_summary(b)]
        if not b.transitions:
            lines.append(f"  none found among these {b.compared} units")
        for t in b.transitions:
            lines.extend(_transition_text(t, report, old_year, new_year, lang, "  "))
    if report.directed_run:
        lines += ["", f"Directed search — {report.directed_units} units built on and beside each changed edge"]
        if not report.directed:
            lines.append("  no change to search: the policies declare the same rules")
        for f in report.directed:
            lines.append(f"  [{f.change.kind} {f.change.name}] " + _finding_summary(f))
            lines.extend(f"    exactly: {text}" for text in f.exact)
            if f.probes:
                lines.append(f"    units on and beside the edges (score, {old_year} → {new_year}):")
            for probe, r_old, r_new in f.probes:
                mark = "  ← changes" if kind_of(r_old, r_new) else ""
                lines.append(f"      {plain(probe.score):>8}  {probe.where}: {old_year} {r_old.band}, "
                             f"{new_year} {r_new.band}{mark}")
                lines.append(f"                {_probe_unit(probe)}")
            for t in f.transitions:
                lines.extend(_transition_text(t, report, old_year, new_year, lang, "    "))
    lines += ["", "Verdict: " + report.verdict()]
    return "\n".join(lines)


def _transition_text(t: Transition, report: DiffReport, old_year: str, new_year: str, lang: str,
                     indent: str) -> list[str]:
    e = t.example
    lines = [f"{indent}{t.count:>4} × {t.kind}",
             f"{indent}       smallest example: {e.reference} with" if e.differences
             else f"{indent}       smallest example: {_unit_name(e)} as it is"]
    for name, value in e.differences:
        lines.append(f"{indent}         {name} = {_value(value)}")
    lines.append(f"{indent}       {old_year}: {headline(e.old)}")
    lines.append(f"{indent}       {new_year}: {headline(e.new)}")
    delta = explanation_delta(e, report.old, report.new, lang)
    if delta:
        lines.append(f"{indent}       explanation, {old_year} (-) vs {new_year} (+):")
        lines.extend(f"{indent}         " + line for line in delta)
    return lines


def _finding_summary(f: Finding) -> str:
    """One line: how many units were built and what changed — or exactly why nothing can."""
    if f.reason and not f.transitions:
        return f"no unit can change: {f.reason}"
    if f.pieces and not f.probes:
        return ("no unit could be built at the moved edges (no single fact or list record near a landmark "
                "moves the score there linearly); the intervals below are exact")
    if not f.transitions:
        return f"none found among {f.compared} directed units"
    found = ", ".join(f"{t.count} {t.kind}" for t in f.transitions)
    return f"{f.compared} directed units: {found}"


def _probe_unit(probe: Probe) -> str:
    diffs = differences(probe.unit, probe.base)
    shown = "; ".join(f"{name} = {_value(value)}" for name, value in diffs)
    return f"{probe.base.get('id')} with {shown}" if shown else f"{probe.base.get('id')} as it is"


def render_markdown(report: DiffReport, lang: str = "zh") -> str:
    old_year, new_year = _years(report)
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
    if _cohort_note(report):
        lines += ["", _cohort_note(report)]
    for b in report.behaviour:
        lines += ["", f"## Behavioural changes — {b.source}", "", _behaviour_summary(b) + ".", ""]
        if not b.transitions:
            lines.append(f"None found among these {b.compared} units.")
            continue
        lines += ["| units | kind of change |", "|---:|---|"]
        lines.extend(f"| {t.count} | {t.kind} |" for t in b.transitions)
        for t in b.transitions:
            lines.extend(_transition_markdown(t, report, old_year, new_year, lang, "###"))
    if report.directed_run:
        lines += ["", f"## Directed search — {report.directed_units} units built on and beside each changed edge", ""]
        if not report.directed:
            lines.append("No change to search: the policies declare the same rules.")
        for f in report.directed:
            lines += [f"### {f.change.kind} {f.change.name}", "", _finding_summary(f) + ".", ""]
            lines.extend(f"- exactly: {text}" for text in f.exact)
            if f.probes:
                lines += ["", f"| score | where | {old_year} | {new_year} | unit |", "|---:|---|---|---|---|"]
                for probe, r_old, r_new in f.probes:
                    lines.append(f"| {plain(probe.score)} | {probe.where} | {r_old.band} | {r_new.band} | "
                                 f"{_probe_unit(probe).replace('|', '/')} |")
            for t in f.transitions:
                lines.extend(_transition_markdown(t, report, old_year, new_year, lang, "####"))
            lines.append("")
    lines += ["", f"**Verdict:** {report.verdict()}."]
    return "\n".join(lines) + "\n"


def _transition_markdown(t: Transition, report: DiffReport, old_year: str, new_year: str, lang: str,
                         level: str) -> list[str]:
    e = t.example
    if e.differences:
        lines = ["", f"{level} {t.kind}", "", f"Smallest example: `{e.reference}` with:", ""]
    else:
        lines = ["", f"{level} {t.kind}", "", f"Smallest example: `{_unit_name(e)}` as it is."]
    lines.extend(f"- `{name}` = `{_value(value)}`" for name, value in e.differences)
    lines += ["", f"- {old_year}: {headline(e.old)}", f"- {new_year}: {headline(e.new)}", ""]
    delta = explanation_delta(e, report.old, report.new, lang)
    if delta:
        lines += [f"Explanation, {old_year} (`-`) against {new_year} (`+`), lines that differ:", "", "```diff"]
        lines.extend(delta)
        lines += ["```"]
    return lines


def render_json(report: DiffReport, lang: str = "zh") -> str:
    doc = report.to_dict()
    for b_doc, b in zip(doc["behavioural"], report.behaviour):  # type: ignore[call-overload]
        for t_doc, t in zip(b_doc["transitions"], b.transitions):
            t_doc["example"]["explanation_delta"] = explanation_delta(t.example, report.old, report.new, lang)
    for f_doc, f in zip(doc.get("directed", []), report.directed):  # type: ignore[call-overload]
        for t_doc, t in zip(f_doc["transitions"], f.transitions):
            t_doc["example"]["explanation_delta"] = explanation_delta(t.example, report.old, report.new, lang)
    return json.dumps(doc, ensure_ascii=False, indent=2)
