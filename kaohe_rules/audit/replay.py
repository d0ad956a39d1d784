"""Replay: re-evaluate a stored trace document and confirm it, or show exactly where it disagrees.

Four things are checked, each reported on its own so the kind of tampering is plain:

1. **policy** — the stored content hash against the policy given now (a changed
   parameter, rule or band changes the hash);
2. **facts** — the stored ``facts_digest`` against the stored facts (facts edited
   after the trace was written), and, when a unit file is given, the stored facts
   against that unit's facts, fact by fact;
3. **result** — the stored result against the one recomputed from the stored facts;
4. **events** — every event of the stored tree against the recomputed one, field
   by field (value, reads, citation, span, …), matched by kind and id.

The engine version is compared too, but only noted: a newer engine that gives
the same events and result confirms the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from .. import limits
from ..errors import KaoheError
from ..runtime.cohort import NO_STANDING
from ..runtime.ledger import ChargedEvent, EventRef, RuleRef
from ..runtime.standing import Standing
from .diff import EventChange, FieldChange, describe, diff_events, diff_values
from .trace_json import (
    HASH_PREFIX,
    TraceFormatError,
    canonical_facts,
    check_trace,
    facts_digest,
    trace_document,
    unit_of,
)

if TYPE_CHECKING:
    from ..language.types import Type
    from ..policy import Policy


__all__ = ["Replay", "TraceFormatError", "check_document", "render", "replay"]


@attrs.frozen
class Replay:
    unit: str
    policy_ok: bool
    facts_ok: bool
    stored_hash: str
    current_hash: str
    policy_name: str | None
    engine_note: str | None
    problems: tuple[str, ...]  # facts that could not be read again, etc.
    fact_changes: tuple[FieldChange, ...]  # stored facts against the unit file (when given)
    result_changes: tuple[FieldChange, ...]
    event_changes: tuple[EventChange, ...]
    digest_changes: tuple[FieldChange, ...]
    roots: tuple[FieldChange, ...] = ()  # facts and parameters read with a different value: the cause

    @property
    def ok(self) -> bool:
        return (self.policy_ok and self.facts_ok and not self.problems and not self.fact_changes
                and not self.result_changes and not self.event_changes and not self.digest_changes)

    def to_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit, "ok": self.ok, "policy_ok": self.policy_ok, "facts_ok": self.facts_ok,
            "stored_hash": self.stored_hash, "current_hash": self.current_hash, "engine_note": self.engine_note,
            "problems": list(self.problems),
            "fact_changes": [c.to_dict() for c in self.fact_changes],
            "result_changes": [c.to_dict() for c in self.result_changes],
            "event_changes": [c.to_dict() for c in self.event_changes],
            "digest_changes": [c.to_dict() for c in self.digest_changes],
            "roots": [c.to_dict() for c in self.roots],
        }


def check_document(document: object) -> Mapping[str, Any]:
    """The document if it has the shape of a version-1 trace; TraceFormatError saying where and why otherwise.

    The whole document is checked before replay reads any key of it (depth,
    numbers, text, then the schema: see :func:`.trace_json.check_trace`), so a
    forged or hostile document is refused with a message, never an internal error.
    """
    return check_trace(document)


def replay(policy: Policy, document: object, unit: Mapping[str, Any] | None = None) -> Replay:
    """Re-evaluate the document's unit under ``policy``; ``unit`` is the unit as it stands in a unit file."""
    from .._version import __version__

    doc = check_document(document)
    stored_policy = doc["policy"]
    stored_hash = str(stored_policy.get("hash"))
    current_hash = HASH_PREFIX + policy.content_hash
    facts = doc["facts"]
    facts_ok = facts_digest(facts) == doc["facts_digest"]
    engine = doc["engine"].get("version")
    engine_note = None if engine == __version__ else f"trace written by kaohe_rules {engine}, replayed by {__version__}"
    unit_id = str(doc["unit"].get("id"))
    problems: list[str] = []
    fact_changes: list[FieldChange] = []
    result_changes: list[FieldChange] = []
    event_changes: list[EventChange] = []
    digest_changes: list[FieldChange] = []
    problems.extend(_number_problems(policy, facts))
    result = None
    try:
        if problems:
            result = None
        elif policy.cohort is not None:  # issue #11 C: replayed with the standing the trace recorded
            result = policy.evaluate_in_cohort(unit_of(doc), recorded_standing(doc), trace=True)
        else:
            result = policy.evaluate(unit_of(doc), trace=True)
        if result is not None and "charged" in (doc.get("result") or {}):  # issue #16: the recorded attribution
            result.set_charged(recorded_charged(doc))
    except KaoheError as exc:
        problems.append(str(exc))
        for p in getattr(exc, "problems", ()):
            problems.append(f"{p.fact}: {p.message}")
    if result is not None:
        problems.extend(_number_problems(policy, result.facts))
    if result is not None and not problems:
        again = trace_document(result)
        again["result"] = without_new_keys(doc["result"], again["result"])  # facts are compared whole
        again["events"] = without_new_keys(doc["events"], again["events"])
        fact_changes.extend(diff_values(facts, again["facts"], "facts"))
        for key in ("unit",):
            result_changes.extend(diff_values(doc.get(key), again[key], key))
        result_changes.extend(diff_values(doc["result"], again["result"], "result"))
        event_changes.extend(diff_events(doc["events"], again["events"]))
        if facts_ok and again["facts_digest"] != doc["facts_digest"]:
            digest_changes.append(FieldChange("facts_digest", doc["facts_digest"], again["facts_digest"]))
        if unit is not None:
            try:
                current = policy.evaluate_in_cohort(unit, recorded_standing(doc)) if policy.cohort is not None \
                    else policy.evaluate(unit)
            except KaoheError as exc:
                problems.append(f"the unit file's {unit_id}: {exc}")
            else:
                out_of_range = _number_problems(policy, current.facts)
                problems.extend(f"the unit file's {unit_id}: {p}" for p in out_of_range)
                if not out_of_range:
                    now = canonical_facts(policy, current.category, current.facts)
                    fact_changes.extend(FieldChange(f"unit file: {c.field}", c.before, c.after)
                                        for c in diff_values(facts, now, "facts"))
    return Replay(unit_id, stored_hash == current_hash, facts_ok, stored_hash, current_hash,
                  stored_policy.get("name"), engine_note, tuple(problems), tuple(fact_changes),
                  tuple(result_changes), tuple(event_changes), tuple(digest_changes),
                  _roots(policy, event_changes))


_NUMBER_KINDS = ("int", "decimal", "money", "percent")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
_OUT_OF_RANGE = "the trace holds a number outside the range kaohe represents"


def _number_facts(policy: Policy, facts: Mapping[str, object]) -> Iterator[tuple[object, str]]:
    """Every value of a number type among the facts (inside lists and records too), with its path.

    Typed by the policy, so a text fact that happens to be digits is never taken
    for a number; derived record fields are skipped (the trace does not hold them).
    An explicit stack: the document's depth is bounded, but this never recurses.
    """
    checked = policy.checked
    stack: list[tuple[object, Type, str]] = [(value, checked.fact_types[name], f"facts.{name}")
                                             for name, value in facts.items() if name in checked.fact_types]
    while stack:
        value, kind, path = stack.pop()
        if kind.kind == "list" and kind.elem is not None and isinstance(value, (list, tuple)):
            stack.extend((item, kind.elem, f"{path}[{index}]") for index, item in enumerate(value))
        elif kind.kind == "record" and isinstance(value, Mapping) and kind.name in checked.records:
            fields = checked.record_fields[kind.name]
            stack.extend((value[f.name], fields[f.name], f"{path}.{f.name}")
                         for f in checked.records[kind.name].fields if f.name in value)
        elif kind.kind in _NUMBER_KINDS:
            yield value, path


def _number_problems(policy: Policy, facts: Mapping[str, object]) -> list[str]:
    """The number facts outside the range kaohe represents, stored (text) or read (Decimal, int).

    Checked on the stored facts before they are read again (a trace holds
    numbers as plain decimal strings, and a 5,000-digit one must meet no
    arithmetic: text longer than ``limits.MAX_NUMBER_TEXT`` is no number, a
    plain decimal is checked by ``limits.number_problem``), and on the facts as
    the engine read them before they are written out again (another spelling,
    "9…9万元", can read as a number no text check saw; ``trace_document``
    refuses numbers wider than the engine's precision).
    """
    problems: list[str] = []
    for value, path in _number_facts(policy, facts):
        problem: str | None = None
        if isinstance(value, str):
            if len(value) > limits.MAX_NUMBER_TEXT:
                problem = (f"{limits.shown(value)} is longer than any number kaohe reads "
                           f"(at most {limits.MAX_NUMBER_TEXT} characters)")
            elif _PLAIN_NUMBER.match(value):
                problem = limits.number_problem(Decimal(value))
        elif isinstance(value, Decimal):
            problem = limits.number_problem(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            problem = limits.int_problem(value)
        if problem:
            problems.append(f"{path}: {_OUT_OF_RANGE}: {problem}")
    return sorted(problems)


def _roots(policy: Policy, changes: Sequence[EventChange]) -> tuple[FieldChange, ...]:
    """The facts and parameters that were read with another value: where a disagreement starts."""
    checked = policy.checked
    seen: dict[str, FieldChange] = {}
    for change in changes:
        for field in change.fields:
            name = field.field[len("reads."):] if field.field.startswith("reads.") else None
            if name and (name in checked.facts or name in checked.params) and name not in seen:
                seen[name] = FieldChange(name, field.before, field.after)
    return tuple(seen.values())


_TEXT = {
    "zh": {
        "title": "回放：{unit}",
        "policy_ok": "✓ 政策一致（{hash}）",
        "policy_bad": "✗ 政策已改变：记录依据 {name} {stored}，现为 {current}",
        "facts_ok": "✓ 事实数据与摘要一致",
        "facts_bad": "✗ 事实数据与记录的摘要不符：记录写成后事实被改动",
        "unit_file": "✗ 记录中的事实与单位文件不同：",
        "roots": "✗ 以下数据读取的值与记录不同（分歧的起点）：",
        "problems": "✗ 记录中的事实无法重新读取：",
        "result_ok": "✓ 重新计算的结果与记录一致（得分 {score}，评定等次 {rating}）",
        "result_bad": "✗ 结果与记录不一致：",
        "events_ok": "✓ 全部 {n} 个事件与记录一致",
        "events_bad": "✗ {n} 个事件与重新计算不一致：",
        "stored": "记录",
        "recomputed": "重新计算",
        "added": "重新计算中有、记录中没有",
        "removed": "记录中有、重新计算中没有",
        "moved": "另有 {n} 个事件仅在政策文件中的位置不同",
        "engine": "注意：{note}",
        "confirmed": "结论：记录得到确认。",
        "rejected": "结论：记录与重新计算不一致。",
    },
    "en": {
        "title": "Replay: {unit}",
        "policy_ok": "✓ same policy ({hash})",
        "policy_bad": "✗ the policy changed: the trace was made under {name} {stored}, this one is {current}",
        "facts_ok": "✓ the facts match their digest",
        "facts_bad": "✗ the facts do not match the stored digest: they were changed after the trace was written",
        "unit_file": "✗ the trace's facts differ from the unit file:",
        "roots": "✗ these facts/parameters were read with other values (where the disagreement starts):",
        "problems": "✗ the trace's facts cannot be read again:",
        "result_ok": "✓ the recomputed result matches (score {score}, rating {rating})",
        "result_bad": "✗ the result disagrees:",
        "events_ok": "✓ all {n} events match",
        "events_bad": "✗ {n} event(s) disagree with the recomputation:",
        "stored": "stored",
        "recomputed": "recomputed",
        "added": "in the recomputation, not in the trace",
        "removed": "in the trace, not in the recomputation",
        "moved": "{n} more event(s) differ only in their position in the policy file",
        "engine": "note: {note}",
        "confirmed": "Confirmed: the trace is what the policy produces.",
        "rejected": "Not confirmed: the trace disagrees with the recomputation.",
    },
}


def render(report: Replay, document: Mapping[str, Any], lang: str = "zh") -> str:
    if lang not in _TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
    from .whatif import KIND_NAMES, headline

    t = _TEXT[lang]
    kinds = KIND_NAMES[lang]
    unit = document.get("unit") or {}
    lines = [t["title"].format(unit=f"{unit.get('name') or report.unit} ({report.unit})")]
    if report.policy_ok:
        lines.append(t["policy_ok"].format(hash=_short(report.current_hash)))
    else:
        lines.append(t["policy_bad"].format(name=report.policy_name, stored=_short(report.stored_hash),
                                            current=_short(report.current_hash)))
    lines.append(t["facts_ok"] if report.facts_ok and not report.digest_changes else t["facts_bad"])
    if report.roots:
        lines.append(t["roots"])
        lines.extend(_field_lines(t, report.roots))
    if report.fact_changes:
        lines.append(t["unit_file"])
        lines.extend(_field_lines(t, report.fact_changes))
    if report.problems:
        lines.append(t["problems"])
        lines.extend(f"    {p}" for p in report.problems)
    if not report.problems:
        stored = document.get("result") or {}
        if report.result_changes:
            lines.append(t["result_bad"])
            lines.extend(_field_lines(t, report.result_changes))
        else:
            lines.append(t["result_ok"].format(score=stored.get("score"), rating=stored.get("rating_label")))
        moved = [c for c in report.event_changes if c.status == "changed" and {f.field for f in c.fields} <= {"span"}]
        shown = [c for c in report.event_changes if c not in moved]
        if shown or moved:
            lines.append(t["events_bad"].format(n=len(report.event_changes)))
            for change in shown:
                lines.append("    " + headline(change, kinds))
                if change.status != "changed":
                    lines.append(f"        {t[change.status]}")
                    continue
                lines.extend("    " + line for line in _field_lines(t, change.fields))
            if moved:
                lines.append("    " + t["moved"].format(n=len(moved)))
        else:
            lines.append(t["events_ok"].format(n=_count(document.get("events") or [])))
    if report.engine_note:
        lines.append(t["engine"].format(note=report.engine_note))
    lines.append(t["confirmed"] if report.ok else t["rejected"])
    return "\n".join(lines) + "\n"


def _field_lines(t: Mapping[str, str], changes: Sequence[FieldChange]) -> list[str]:
    return [f"    {c.field}: {t['stored']} {describe(c.before)}，{t['recomputed']} {describe(c.after)}"
            if t is _TEXT["zh"] else
            f"    {c.field}: {t['stored']} {describe(c.before)}, {t['recomputed']} {describe(c.after)}"
            for c in changes]


def _short(digest: str) -> str:
    return digest[: len(HASH_PREFIX) + 16] + "…" if len(digest) > len(HASH_PREFIX) + 16 else digest


def _count(events: Sequence[Any]) -> int:
    total = 0
    for event in events:
        if isinstance(event, Mapping):
            total += 1 + _count(event.get("children") or [])
    return total


#: Keys a version-1 trace gained later (optional in the schema); see :func:`without_new_keys`.
ADDED_KEYS = frozenset({"positions"})


def without_new_keys(old: object, new: Any) -> Any:
    """``new`` without the keys a version-1 document written before they existed does not have.

    Why: the trace format stays version 1 when it only gains optional keys (the 1-based
    ``positions`` of evidence and deferred items, issue #10 C), so an older trace must still
    replay clean; where the stored document has the key, it is compared as any other.
    """
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: without_new_keys(old.get(k), v) for k, v in new.items() if k not in ADDED_KEYS or k in old}
    if isinstance(new, list) and isinstance(old, list):
        return [without_new_keys(o, n) for o, n in zip(old, new)] + new[len(old):]
    return new


def recorded_standing(doc: Mapping[str, Any]) -> Standing:
    """The standing a cohort policy's trace recorded (issue #11 C); the no-standing marker when it had none.

    A replay re-assesses one unit: its rank and quota are the recorded ones (the batch is not
    re-ranked), so a changed policy or fact shows in everything but the ranking itself.
    """
    raw = doc.get("result", {}).get("standing") if isinstance(doc.get("result"), Mapping) else None
    if not isinstance(raw, Mapping):
        return NO_STANDING

    def number(key: str) -> int | None:
        value = raw.get(key)
        return int(value) if isinstance(value, (str, int)) and str(value).isdigit() else None

    def decimal(key: str) -> Decimal | None:
        value = raw.get(key)
        return Decimal(value) if isinstance(value, str) else None

    return Standing(cohort=str(raw.get("cohort", "")), rank=number("rank"), ranked_count=number("ranked_count") or 0,
                    unit_count=number("unit_count") or 0, best=decimal("best"), average=decimal("average"),
                    tied=number("tied") or 1, demoted_to=number("demoted_to"), quota=number("quota"),
                    provisional=raw.get("provisional") if isinstance(raw.get("provisional"), str) else None)


def recorded_charged(doc: Mapping[str, Any]) -> tuple[ChargedEvent, ...]:
    """The ledger events a trace recorded as charged to its unit (issue #16).

    A replay re-assesses one unit from its recorded facts, which hold the charged events as its
    list; which events were charged, and by which rules, is the batch's attribution — taken as
    recorded (as a cohort's standing is), so the replayed trace is compared whole.
    """
    raw = doc.get("result", {}).get("charged") if isinstance(doc.get("result"), Mapping) else None
    out: list[ChargedEvent] = []
    for entry in raw if isinstance(raw, list) else ():
        if not isinstance(entry, Mapping):
            continue
        rules = tuple(RuleRef(str(r.get("name", "")), r.get("label"), r.get("citation"))
                      for r in entry.get("rules") or () if isinstance(r, Mapping))
        row = entry.get("row")
        event = EventRef(str(entry.get("ledger", "")), row if isinstance(row, int) else 0, entry.get("key"),
                         str(entry.get("shown", "")))
        out.append(ChargedEvent(event, str(entry.get("fact", "")), rules))
    return tuple(out)
