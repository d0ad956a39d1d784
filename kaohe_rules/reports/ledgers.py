"""What the attribution stage decided for a batch, for people (issue #16 L3): counts, lines, tables.

``kaohe eval`` prints a short summary on standard error (every unattributed event and
every ledger problem, up to a limit, the counts always), and ``kaohe report`` a 台账归属
section (:mod:`kaohe_rules.audit.report`) with every rule's count, the excluded and
handed-over events with their reasons and clauses, EVERY unattributed event with why, and
the ledger problems.  An event no rule charged to anyone is never dropped silently: both
say so.  Everything here reads an :class:`~kaohe_rules.runtime.ledger.Attribution` and the
compiled ledger declarations (``Program.ledgers``), never the policy text.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..messages import fact_message_zh
from ..runtime.ledger import Attribution, EventRef, LedgerProblem, LedgerSpec

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "event": "{ledger}第{row}条", "key": "（{key}）",
        "summary": "台账 {ledger}：{total} 条事件；计入单位 {charged} 条，排除 {excluded} 条，移交 {handed} 条，"
                   "未归属 {unattributed} 条，有问题 {problems} 条",
        "unattributed": "未归属：{event} {shown}：{why}",
        "problem": "台账问题：{event}{field}：{message}",
        "field": " 字段 {field}",
        "more": "……另有 {n} 条（kaohe report 逐条列出）",
        "unreadable": "台账问题：{event}（{location}）无法读取：{error}",
        "charge": "计入", "exclude": "排除", "hand_over": "移交",
    },
    "en": {
        "event": "{ledger} row {row}", "key": " ({key})",
        "summary": "ledger {ledger}: {total} event(s); {charged} charged to units, {excluded} excluded, "
                   "{handed} handed over, {unattributed} unattributed, {problems} with problems",
        "unattributed": "unattributed: {event} {shown}: {why}",
        "problem": "ledger problem: {event}{field}: {message}",
        "field": " field {field}",
        "more": "… and {n} more (kaohe report lists every one)",
        "unreadable": "ledger problem: {event} ({location}) could not be read: {error}",
        "charge": "charge", "exclude": "exclude", "hand_over": "hand over",
    },
}


def texts(lang: str | None) -> dict[str, str]:
    """The texts in ``lang`` ("zh"; anything else English, as the CLI's messages)."""
    return _TEXT["zh" if lang == "zh" else "en"]


def event_name(ledger: str, row: int, key: str | None, lang: str | None = "zh") -> str:
    """"事故台账第3条（A-17）" / "事故台账 row 3 (A-17)": how every report names an event."""
    t = texts(lang)
    return t["event"].format(ledger=ledger, row=row) + (t["key"].format(key=key) if key else "")


def ref_name(ref: EventRef, lang: str | None = "zh") -> str:
    return event_name(ref.ledger, ref.row, ref.key, lang)


def problem_name(problem: LedgerProblem, lang: str | None = "zh") -> str:
    return event_name(problem.ledger, problem.row, problem.key, lang)


def problem_message(problem: LedgerProblem, lang: str | None = "zh") -> str:
    """A ledger problem's message in ``lang`` (Chinese by the fact-message catalogue, else as the engine wrote it)."""
    return fact_message_zh(problem.message) if lang == "zh" else problem.message


@attrs.frozen
class LedgerCounts:
    """One ledger's events by what became of them (an event charged to two units counts once)."""

    ledger: str
    total: int
    charged: int
    excluded: int
    handed: int
    unattributed: int
    problems: int  # events with a problem (several problems of one event count once)


@attrs.frozen
class RuleCount:
    """How many events one rule decided: charged (and to how many units), excluded or handed over."""

    ledger: str
    kind: str  # "exclude", "hand_over", "charge"
    name: str
    label: str | None
    cite: str | None
    events: int
    charges: int = 0  # charge rules: (unit, event) pairs


def _ledgers(attribution: Attribution, specs: Sequence[LedgerSpec]) -> list[str]:
    names = [s.name for s in specs]
    seen = {c.event.ledger for cs in attribution.charged.values() for c in cs}
    seen |= {r.event.ledger for r in attribution.removed} | {u.event.ledger for u in attribution.unattributed}
    seen |= {p.ledger for p in attribution.problems}
    return names + sorted(seen - set(names))


def ledger_counts(attribution: Attribution, specs: Sequence[LedgerSpec] = ()) -> list[LedgerCounts]:
    """Per ledger (declaration order): how many events, and what became of them."""
    out = []
    for ledger in _ledgers(attribution, specs):
        charged = {c.event.row for cs in attribution.charged.values() for c in cs if c.event.ledger == ledger}
        excluded = {r.event.row for r in attribution.removed if r.event.ledger == ledger and r.kind == "excluded"}
        handed = {r.event.row for r in attribution.removed if r.event.ledger == ledger and r.kind == "handed_over"}
        unattributed = {u.event.row for u in attribution.unattributed if u.event.ledger == ledger}
        problems = {p.row for p in attribution.problems if p.ledger == ledger}
        total = len(charged | excluded | handed | unattributed | problems)
        out.append(LedgerCounts(ledger, total, len(charged), len(excluded), len(handed), len(unattributed),
                                len(problems)))
    return out


def rule_counts(attribution: Attribution, specs: Sequence[LedgerSpec]) -> list[RuleCount]:
    """Every rule of every ledger, in declaration order, with the events it decided (0 included)."""
    charged: dict[tuple[str, str], set[int]] = {}
    charges: dict[tuple[str, str], int] = {}
    for events in attribution.charged.values():
        for c in events:
            for ref in c.rules:
                key = (c.event.ledger, ref.name)
                charged.setdefault(key, set()).add(c.event.row)
                charges[key] = charges.get(key, 0) + 1
    removed: dict[tuple[str, str], int] = {}
    for r in attribution.removed:
        key = (r.event.ledger, r.rule.name)
        removed[key] = removed.get(key, 0) + 1
    out = []
    for spec in specs:
        for rule in spec.rules:
            key = (spec.name, rule.name)
            if rule.kind == "charge":
                out.append(RuleCount(spec.name, rule.kind, rule.name, rule.label, rule.cite,
                                     len(charged.get(key, ())), charges.get(key, 0)))
            else:
                out.append(RuleCount(spec.name, rule.kind, rule.name, rule.label, rule.cite, removed.get(key, 0)))
    return out


def summary_lines(attribution: Attribution, specs: Sequence[LedgerSpec] = (), lang: str | None = None,
                  limit: int = 20, unreadable: Sequence[tuple[str, int, str, str]] = ()) -> list[str]:
    """``kaohe eval``'s standard-error summary: the counts per ledger, then every row that could not be
    read (``unreadable``: ledger, row, location, why), every unattributed event and every ledger
    problem, up to ``limit`` lines (then how many more; the report lists them all)."""
    t = texts(lang)
    lines = [t["summary"].format(**attrs.asdict(c)) for c in ledger_counts(attribution, specs)]
    details = [t["unreadable"].format(event=event_name(ledger, row, None, lang), location=location,
                                      error=fact_message_zh(error) if lang == "zh" else error)
               for ledger, row, location, error in unreadable]
    details += [t["unattributed"].format(event=ref_name(u.event, lang), shown=u.event.shown,
                                        why=u.why if lang == "zh" else u.why_en)
               for u in attribution.unattributed]
    unread = {(ledger, row) for ledger, row, _, _ in unreadable}  # their fields are "missing": the reason is above
    details += [t["problem"].format(event=problem_name(p, lang), message=problem_message(p, lang),
                                    field=t["field"].format(field=p.field) if p.field else "")
                for p in attribution.problems if (p.ledger, p.row) not in unread]
    if len(details) > limit:
        details = details[:limit] + [t["more"].format(n=len(details) - limit)]
    return lines + details


def problem_text(problem: LedgerProblem, lang: str | None = "zh") -> str:
    """One ledger problem as the summary writes it ("台账问题：事故台账第3条（A-3） 字段 死亡人数：…"): for the what-if."""
    t = texts(lang)
    return t["problem"].format(event=problem_name(problem, lang), message=problem_message(problem, lang),
                               field=t["field"].format(field=problem.field) if problem.field else "")
