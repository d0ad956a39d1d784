"""What-if: assess a unit again with some facts changed, and show what the change changes.

Changes come as ``NAME=VALUE`` assignments (``专项资金预算=80万元``; the value is
read as JSON when it parses — ``true``, ``3``, ``[...]`` — and as text
otherwise, then coerced like any fact) or as a JSON patch file: an object is a
merge patch (RFC 7386: ``null`` removes a fact), an array a JSON Patch
(RFC 6902: ``add``/``remove``/``replace``/``test`` with JSON Pointers into the
facts, e.g. ``/事故/0/死亡人数``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..runtime.explain import effect_lines
from ..runtime.trace import plain_decimal
from ..source import UnreadablePolicy, read_policy_file
from .diff import EventChange, describe, diff_events, diff_values

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.ledger import LedgerProblem
    from ..runtime.result import Result


class PatchError(ValueError):
    """A change that cannot be applied (bad assignment, bad patch file, failed ``test``)."""


# ------------------------------------------------------------------- changes
def parse_assignment(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` → (name, value); the value is JSON when it parses, text otherwise."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise PatchError(f"expected NAME=VALUE, got {text!r}")
    raw = raw.strip()
    try:
        value: object = json.loads(raw, parse_float=Decimal) if raw else None
    except json.JSONDecodeError:
        value = raw
    return name, value


def load_patch(path: str | Path) -> object:
    """A merge patch (JSON object) or a JSON Patch (array of operations) from a file."""
    try:  # a regular file, size-capped: a patch named /dev/zero or a FIFO must not stall
        text = read_policy_file(Path(path))
    except UnreadablePolicy as exc:
        raise PatchError(f"cannot read patch file {path}: {exc.reason}") from None
    try:
        patch = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise PatchError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
    except (RecursionError, ValueError, ArithmeticError):  # nested too deep; an integer or number beyond reach
        raise PatchError(f"{path}: the patch nests too deeply or holds a number beyond the range kaohe reads "
                         "(docs/limits.md)") from None
    if not isinstance(patch, (dict, list)):
        raise PatchError(f"{path}: a patch is a JSON object (merge patch) or an array (JSON Patch)")
    return patch


def apply_patch(facts: dict[str, Any], patch: object) -> dict[str, Any]:
    """Facts with a merge patch (dict) or JSON Patch (list) applied; the input is not modified."""
    out = copy.deepcopy(facts)
    if isinstance(patch, Mapping):
        return _merge(out, patch)
    if isinstance(patch, list):
        for index, op in enumerate(patch):
            _operation(out, op, index)
        return out
    raise PatchError("a patch is a JSON object (merge patch) or an array (JSON Patch)")


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key] = _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _pointer(path: object) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"bad JSON Pointer {path!r}")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    if parts and parts[0] == "facts":  # pointers written against the whole unit
        parts = parts[1:]
    if not parts:
        raise PatchError("a JSON Patch operation must name a fact")
    return parts


def _operation(facts: dict[str, Any], op: object, index: int) -> None:
    if not isinstance(op, Mapping) or "op" not in op or "path" not in op:
        raise PatchError(f"JSON Patch operation {index} needs 'op' and 'path'")
    parts = _pointer(op["path"])
    parent: Any = facts
    for part in parts[:-1]:
        parent = _step(parent, part, op["path"])
    last = parts[-1]
    kind = op["op"]
    if kind == "test":
        if _step(parent, last, op["path"]) != op.get("value"):
            raise PatchError(f"JSON Patch test failed at {op['path']}")
    elif kind == "remove":
        _step(parent, last, op["path"])
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            del parent[last]
    elif kind in ("add", "replace"):
        if "value" not in op:
            raise PatchError(f"JSON Patch operation {index} ({kind}) needs a 'value'")
        value = copy.deepcopy(op["value"])
        if isinstance(parent, list):
            if last == "-":
                parent.append(value)
            elif kind == "add":
                parent.insert(_list_index(parent, last, op["path"], insert=True), value)
            else:
                parent[_list_index(parent, last, op["path"])] = value
        elif isinstance(parent, dict):
            if kind == "replace" and last not in parent:
                raise PatchError(f"JSON Patch replace: nothing at {op['path']}")
            parent[last] = value
        else:
            raise PatchError(f"JSON Patch: {op['path']} is not inside an object or array")
    else:
        raise PatchError(f"JSON Patch operation {kind!r} is not supported (use add, remove, replace, test)")


def _list_index(items: list[Any], part: str, path: object, insert: bool = False) -> int:
    if not part.isdigit() or int(part) > len(items) - (0 if insert else 1):
        raise PatchError(f"JSON Patch: no index {part!r} at {path}")
    return int(part)


def _step(node: Any, part: str, path: object) -> Any:
    if isinstance(node, dict):
        if part not in node:
            raise PatchError(f"JSON Patch: nothing at {path}")
        return node[part]
    if isinstance(node, list):
        return node[_list_index(node, part, path)]
    raise PatchError(f"JSON Patch: {path} goes through a value that is not an object or array")


def changed_unit(unit: Mapping[str, Any], sets: Sequence[tuple[str, object]] = (),
                 patches: Sequence[object] = ()) -> dict[str, Any]:
    """A copy of the unit with the patches, then the assignments, applied to its facts."""
    out = dict(unit)
    if "facts" in unit and isinstance(unit["facts"], Mapping):
        facts = dict(unit["facts"])
    else:
        facts = {k: v for k, v in unit.items() if k not in ("id", "name", "category", "facts")}
        for key in facts:
            out.pop(key, None)
    for patch in patches:
        facts = apply_patch(facts, patch)
    for name, value in sets:
        head, dot, part = name.partition(".")
        if dot and name not in facts and isinstance(facts.get(head), Mapping):
            # ``季度扣分.二季度=10``: one period of a per-period fact (issue #11 P), or one field of a
            # record fact — a policy's names hold no '.', so the path reads one way only
            inner = dict(facts[head])
            if value is None:
                inner.pop(part, None)
            else:
                inner[part] = value
            facts[head] = inner
        elif value is None:
            facts.pop(name, None)
        else:
            facts[name] = value
    out["facts"] = facts
    return out


# ------------------------------------------------------------------- analysis
@attrs.frozen
class OtherUnit:
    """Another unit of the batch whose rank, rating or money changes with this unit (issue #11 C)."""

    unit_id: str
    name: str | None
    rank: tuple[int | None, int | None]
    rating: tuple[str, str]
    money: tuple[Decimal, Decimal]

    def to_dict(self) -> dict[str, object]:
        return {"unit": self.unit_id, "name": self.name, "rank": list(self.rank), "rating": list(self.rating),
                "money": [str(m) for m in self.money]}


@attrs.frozen
class WhatIf:
    before: Result
    after: Result
    changes: tuple[EventChange, ...]
    assignments: tuple[tuple[str, object], ...]
    others: tuple[OtherUnit, ...] = ()  # a cohort policy: the other units that change (issue #11 C)

    def to_dict(self) -> dict[str, object]:
        from .trace_json import result_section

        out: dict[str, object] = {"unit": self.before.unit_id, "set": {k: _json(v) for k, v in self.assignments},
                                  "before": result_section(self.before), "after": result_section(self.after),
                                  "changes": [c.to_dict() for c in self.changes]}
        if self.before.program.checked.cohort is not None:
            out["others"] = [o.to_dict() for o in self.others]
        return out


def _json(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def what_if(policy: Policy, unit: Mapping[str, Any], sets: Sequence[tuple[str, object]] = (),
            patches: Sequence[object] = (), batch: Sequence[Mapping[str, Any]] | None = None) -> WhatIf:
    """Assess the unit as it is and as changed; the difference of their traces, event by event.

    A cohort policy (issue #11 C) assesses the unit within ``batch`` (the units assessed with
    it; the unit itself is replaced by id), before and after the change: the unit's rank may
    change, and so may other units' ranks, ratings (quotas) and money, listed in ``others``.
    """
    changed = changed_unit(unit, sets, patches)
    if policy.cohort is not None:
        return _what_if_in_cohort(policy, unit, changed, sets, batch if batch is not None else [unit])
    before = policy.evaluate(unit, trace=True)
    after = policy.evaluate(changed, trace=True)
    old_memo: dict[int, tuple[object, list[object]]] = {}  # lists read by many events: canonical once
    new_memo: dict[int, tuple[object, list[object]]] = {}
    old = [e.to_dict(old_memo) for e in before.trace.events]
    new = [e.to_dict(new_memo) for e in after.trace.events]
    changes = tuple(diff_events(old, new, fields=("value", "reads")))
    return WhatIf(before, after, changes, tuple(sets))


def _what_if_in_cohort(policy: Policy, unit: Mapping[str, Any], changed: Mapping[str, Any],
                       sets: Sequence[tuple[str, object]], batch: Sequence[Mapping[str, Any]]) -> WhatIf:
    unit_id = unit.get("id")
    rows = [dict(u) for u in batch]
    if not any(row.get("id") == unit_id for row in rows):
        rows.append(dict(unit))
    position = next(i for i, row in enumerate(rows) if row.get("id") == unit_id)
    before_items = policy.evaluate_cohort(rows)
    after_items = policy.evaluate_cohort([dict(changed) if i == position else row for i, row in enumerate(rows)])
    for items in (before_items, after_items):
        if items[position].result is None:
            error = items[position].error
            assert error is not None
            raise error
    before = before_items[position].result
    after = after_items[position].result
    assert before is not None and after is not None
    others = []
    for i, (old_item, new_item) in enumerate(zip(before_items, after_items)):
        old_result, new_result = old_item.result, new_item.result
        if i == position or old_result is None or new_result is None:
            continue
        old_rank = old_result.standing.rank if old_result.standing is not None else None
        new_rank = new_result.standing.rank if new_result.standing is not None else None
        old_money, new_money = _money_of(old_result), _money_of(new_result)
        if (old_rank, old_result.rating, old_money) != (new_rank, new_result.rating, new_money):
            others.append(OtherUnit(new_result.unit_id, new_result.name, (old_rank, new_rank),
                                    (old_result.rating, new_result.rating), (old_money, new_money)))
    old_memo: dict[int, tuple[object, list[object]]] = {}
    new_memo: dict[int, tuple[object, list[object]]] = {}
    old = [e.to_dict(old_memo) for e in before.trace.events]
    new = [e.to_dict(new_memo) for e in after.trace.events]
    changes = tuple(diff_events(old, new, fields=("value", "reads")))
    return WhatIf(before, after, changes, tuple(sets), tuple(others))


def _money_of(result: Result) -> Decimal:
    """Every amount a result brings (its rating's own and the outcomes for every rating), signed."""
    total = Decimal(0)
    for c in (result.consequences, *result.general_consequences):
        if c.kind in ("reward", "fine"):
            total += c.total if c.kind == "reward" else -c.total
    return total


KIND_NAMES = {
    "zh": {"deferral": "移交", "let": "派生数值", "section": "分项", "target": "目标", "rule": "计分规则",
           "score": "综合评分", "veto": "一票否决", "exception": "例外", "band": "分数段", "band_test": "分数段判定",
           "rating": "评定等次", "consequence": "奖惩", "reward": "奖励", "fine": "罚款", "share": "分配",
           "period": "分期", "charge": "计入台账事件",
           "sanction": "处理", "effects": "等次调整", "effect": "等次调整"},
    "en": {"deferral": "deferral", "let": "derived value", "section": "section", "target": "target", "rule": "rule",
           "score": "score", "veto": "veto", "exception": "exception", "band": "band", "band_test": "band test",
           "rating": "rating", "consequence": "consequence", "reward": "reward", "fine": "fine", "share": "share",
           "sanction": "sanction", "effects": "rating effects", "effect": "rating effect", "period": "period",
           "charge": "ledger event charged"},
}

_TEXT = {
    "zh": {"title": "假设分析：{unit}", "set": "改动", "score": "综合评分", "band": "按分数应评", "rating": "评定等次",
           "money": "奖惩合计", "changes": "发生变化的环节", "none": "结果没有任何变化", "added": "新出现",
           "removed": "不再出现", "read": "读取", "value": "结果", "patch": "补丁", "colon": "：",
           "quiet": "读取了改动的数据、结果不变：", "effects": "等次调整",
           "rank": "名次", "others": "其他单位的变化", "others_none": "其他单位都不变",
           "other": "{unit}：{rating}{rank}{money}", "other_rank": "（名次 {before} → {after}）",
           "other_money": "，奖惩 {before} → {after}"},
    "en": {"title": "What if: {unit}", "set": "Changed", "score": "Score", "band": "Band by score", "rating": "Rating",
           "money": "Money total", "changes": "What changes", "none": "nothing in the result changes",
           "added": "now appears", "removed": "no longer appears", "read": "reads", "value": "value", "patch": "patch",
           "colon": ": ", "quiet": "Read the changed facts with the same outcome: ", "effects": "Rating effects",
           "rank": "Rank", "others": "Other units that change", "others_none": "no other unit changes",
           "other": "{unit}: {rating}{rank}{money}", "other_rank": " (rank {before} → {after})",
           "other_money": ", money {before} → {after}"},
}


def render(answer: WhatIf, lang: str = "zh", patch_names: Sequence[str] = ()) -> str:
    if lang not in _TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
    t, kinds = _TEXT[lang], KIND_NAMES[lang]
    b, a = answer.before, answer.after
    sep = t["colon"]
    lines = [t["title"].format(unit=f"{b.name or b.unit_id} ({b.unit_id})")]
    for name, value in answer.assignments:
        lines.append(f"{t['set']}{sep}{name} = {describe(_json(value))}")
    for name in patch_names:
        lines.append(f"{t['patch']}{sep}{name}")
    checked = b.program.checked

    def label(rating: str | None) -> str:
        return checked.rating_label(rating) if rating else "—"

    delta = a.score - b.score
    sign = "+" if delta > 0 else ""
    lines.append(f"{t['score']}{sep}{plain_decimal(b.score)} → {plain_decimal(a.score)}"
                 + (f"（{sign}{plain_decimal(delta)}）" if delta else ""))
    lines.append(f"{t['band']}{sep}{label(b.band)} → {label(a.band)}")
    lines.append(f"{t['rating']}{sep}{b.rating_label} → {a.rating_label}")
    if a.effects or b.effects:  # the rating effects that decide the new rating (issue #10 A3)
        steps = ("；" if lang == "zh" else "; ").join(effect_lines(a, lang)) or "—"
        lines.append(f"{t['effects']}{sep}{steps}")
    money_b, money_a = _signed_total(b), _signed_total(a)
    lines.append(f"{t['money']}{sep}{money_b:,.2f} → {money_a:,.2f}")
    if checked.cohort is not None:  # issue #11 C: the rank, and the other units of the batch that change
        lines.extend(_cohort_lines(answer, lang))
    lines.append("")
    lines.append(f"{t['changes']}{sep.rstrip() if lang == 'zh' else ':'}")
    decisive = [c for c in answer.changes if c.value_changed and c.kind != "band_test"]
    if not decisive:
        lines.append(f"  {t['none']}")
    for change in decisive:
        lines.append("  " + headline(change, kinds))
        if change.status != "changed":
            lines.append(f"      {t[change.status]}")
            continue
        for field in change.fields:
            if field.field == "value":
                lines.append(f"      {t['value']}: {describe(field.before)} → {describe(field.after)}")
            elif field.field.startswith("reads.") and field.field != "reads.score":
                for sub in diff_values(field.before, field.after, field.field[6:]):
                    lines.append(f"      {t['read']} {sub.field}: {describe(sub.before)} → {describe(sub.after)}")
    quiet = [c for c in answer.changes if not c.value_changed and c.kind not in ("band_test", "band")]
    if quiet:
        lines.append("")
        lines.append(t["quiet"] + "、".join(f"{kinds.get(c.kind, c.kind)} {c.id if c.kind == 'rule' else c.label or c.id}" for c in quiet))
    return "\n".join(lines) + "\n"


def _cohort_lines(answer: WhatIf, lang: str) -> list[str]:
    """"名次：5 → 3" and, per other unit that changes, "单位X：良好 → 合格（名次 3 → 4）" (issue #11 C)."""
    t = _TEXT[lang]
    sep = t["colon"]
    checked = answer.before.program.checked

    def rank_of(result: Result) -> str:
        standing = result.standing
        return str(standing.rank) if standing is not None and standing.rank is not None else "—"

    lines = [f"{t['rank']}{sep}{rank_of(answer.before)} → {rank_of(answer.after)}"]
    if not answer.others:
        lines.append(f"{t['others']}{sep}{t['others_none']}")
        return lines
    lines.append(f"{t['others']}{sep.rstrip() if lang == 'zh' else ':'}")
    for other in answer.others:
        before, after = (checked.rating_label(r) for r in other.rating)
        rating = f"{before} → {after}" if before != after else before
        ranks = tuple("—" if r is None else str(r) for r in other.rank)
        rank = t["other_rank"].format(before=ranks[0], after=ranks[1]) if ranks[0] != ranks[1] else ""
        money = t["other_money"].format(before=f"{other.money[0]:,.2f}", after=f"{other.money[1]:,.2f}") \
            if other.money[0] != other.money[1] else ""
        lines.append("  " + t["other"].format(unit=f"{other.name or other.unit_id} ({other.unit_id})", rating=rating,
                                              rank=rank, money=money))
    return lines


def headline(change: EventChange, kinds: Mapping[str, str]) -> str:
    """``目标 <label> 〔cite〕 (file:line)``; rules and vetoes show the clause as written."""
    name = change.text if change.kind in ("rule", "exception") and change.text else (change.label or change.id)
    head = f"{kinds.get(change.kind, change.kind)} {name}"
    if change.citation:
        head += f" 〔{change.citation}〕"
    where = change.where()
    if where:
        head += f"  ({where})"
    return head


def _signed_total(result: Result) -> Decimal:
    """The 奖惩合计 line: every amount, the outcomes for every rating included (as for the other units)."""
    return _money_of(result) + Decimal("0.00")


# ------------------------------------------------------------------- ledger events (issue #16)
@attrs.frozen
class EventEdit:
    """One change to a ledger: ``set`` a field of an event, ``drop`` an event, or ``add`` one at the end."""

    kind: str  # "set", "drop", "add"
    ledger: str
    selector: str | None  # the event: its row ("3") or its key ("A-17"); None for "add"
    field: str | None = None  # "set": the field
    value: object = None  # "set": the new value (None: the field removed); "add": the event

    def describe(self) -> str:
        if self.kind == "add":
            return f"+ {self.ledger} {describe(_json(self.value))}"
        where = f"{self.ledger}[{self.selector}]"
        if self.kind == "drop":
            return f"− {where}"
        return f"{where}.{self.field} = {describe(_json(self.value))}"


_EVENT_PATH = re.compile(r"\s*(?P<ledger>[^\[\]=]+?)\s*\[\s*(?P<sel>[^\]]+?)\s*\]\s*(?:\.(?P<field>[^=]+?))?\s*")


def parse_event_edit(kind: str, text: str) -> EventEdit:
    """``事故台账[3].死亡人数=0`` (set), ``事故台账[A-17]`` (drop), ``事故台账={…}`` (add: a JSON object)."""
    if kind == "add":
        name, sep, raw = text.partition("=")
        if not sep or not name.strip():
            raise PatchError(f"--add-event: expected LEDGER='{{\"field\": value, …}}', got {text!r}")
        try:
            event = json.loads(raw, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise PatchError(f"--add-event {name.strip()}: the event is not JSON ({exc.msg})") from None
        if not isinstance(event, dict):
            raise PatchError(f"--add-event {name.strip()}: the event is a JSON object {{\"field\": value, …}}")
        return EventEdit("add", name.strip(), None, None, event)
    path, sep, raw = text.partition("=") if kind == "set" else (text, "", "")
    match = _EVENT_PATH.fullmatch(path)
    if match is None or (kind == "set" and (not sep or not match.group("field"))) or \
            (kind == "drop" and match.group("field")):
        example = "事故台账[3].死亡人数=0 or 事故台账[A-17].死亡人数=0" if kind == "set" else "事故台账[3] or 事故台账[A-17]"
        raise PatchError(f"--{'event' if kind == 'set' else 'drop-event'}: expected e.g. {example}, got {text!r}")
    value: object = None
    if kind == "set":
        _, value = parse_assignment(f"x={raw}")
    field = match.group("field")
    return EventEdit(kind, match.group("ledger"), match.group("sel"), field.strip() if field else None, value)


def _event_key(event: Mapping[str, object], key_field: str | None) -> str | None:
    if key_field is None:
        return None
    value = event.get(key_field)
    return None if value is None else str(value)


def find_event(events: Sequence[Mapping[str, object]], ledger: str, selector: str, key_field: str | None) -> int:
    """The 0-based position of the event a selector names: its row (a number) or its key.

    A number that is both a row and another event's key reads two ways: refused, naming both.
    """
    by_row = int(selector) - 1 if selector.isdigit() and 1 <= int(selector) <= len(events) else None
    by_key = [i for i, e in enumerate(events) if _event_key(e, key_field) == selector]
    if len(by_key) > 1:
        rows = "、".join(str(i + 1) for i in by_key)
        raise PatchError(f"{ledger}[{selector}]: the key {selector!r} is on rows {rows}; name the event by its row")
    if by_row is not None and by_key and by_key[0] != by_row:
        raise PatchError(f"{ledger}[{selector}] reads two ways: row {selector}, or the event whose key is"
                         f" {selector!r} (row {by_key[0] + 1}); write {ledger}[{by_key[0] + 1}] for the second")
    if by_row is not None:
        return by_row
    if by_key:
        return by_key[0]
    what = f"rows 1–{len(events)}" if events else "no events"
    raise PatchError(f"{ledger}[{selector}]: no such event ({what}"
                     + (f"; keys are the field {key_field}" if key_field else "; the ledger has no key: use a row")
                     + ")")


def apply_event_edits(ledgers: Mapping[str, Sequence[Mapping[str, object]]], edits: Sequence[EventEdit],
                      key_fields: Mapping[str, str | None]) -> dict[str, list[Mapping[str, object]]]:
    """A copy of the ledgers with the edits applied in order (the input is not modified).

    Every selector is resolved against the ledgers as given (before any edit), so ``--drop-event
    事故台账[3]`` names the same event whatever the other edits do; an added event goes last.
    """
    out: dict[str, list[Mapping[str, object]]] = {name: [dict(e) for e in events] for name, events in ledgers.items()}
    for edit in edits:
        if edit.ledger not in key_fields:
            import difflib

            match = difflib.get_close_matches(edit.ledger, list(key_fields), n=1)
            raise PatchError(f"no ledger {edit.ledger!r}" + (f"; did you mean {match[0]!r}?" if match else
                                                              f"; the policy's ledgers: {', '.join(key_fields) or 'none'}"))
    dropped: set[tuple[str, int]] = set()
    positions: list[tuple[EventEdit, int | None]] = []
    for edit in edits:
        if edit.kind == "add":
            positions.append((edit, None))
            continue
        assert edit.selector is not None
        positions.append((edit, find_event(ledgers.get(edit.ledger, ()), edit.ledger, edit.selector,
                                           key_fields[edit.ledger])))
    for edit, position in positions:
        events = out.setdefault(edit.ledger, [])
        if edit.kind == "add":
            events.append(dict(edit.value) if isinstance(edit.value, Mapping) else {})
        elif edit.kind == "drop":
            assert position is not None
            dropped.add((edit.ledger, position))
        else:
            assert position is not None and edit.field is not None
            changed = dict(events[position])
            if edit.value is None:
                changed.pop(edit.field, None)
            else:
                changed[edit.field] = edit.value
            events[position] = changed
    for name in out:
        out[name] = [e for i, e in enumerate(out[name]) if (name, i) not in dropped]
    return out


def event_origins(ledgers: Mapping[str, Sequence[Mapping[str, object]]], edits: Sequence[EventEdit],
                  key_fields: Mapping[str, str | None]) -> dict[str, list[int | None]]:
    """For each ledger after :func:`apply_event_edits`: the row each event had before (None: an added event).

    A dropped event shifts the rows after it; the what-if names every event by its row as given,
    so a unit charged the same events is not listed as changed.
    """
    dropped = {(e.ledger, find_event(ledgers.get(e.ledger, ()), e.ledger, e.selector, key_fields.get(e.ledger)))
               for e in edits if e.kind == "drop" and e.selector is not None}
    out: dict[str, list[int | None]] = {}
    for name in {*ledgers, *(e.ledger for e in edits)}:
        rows: list[int | None] = [i + 1 for i in range(len(ledgers.get(name, ()))) if (name, i) not in dropped]
        rows += [None for e in edits if e.kind == "add" and e.ledger == name]
        out[name] = rows
    return out


@attrs.frozen
class ChangedUnit:
    """A unit of the batch whose score, rating, money or charged events change with the ledger edits."""

    unit_id: str
    name: str | None
    score: tuple[Decimal | None, Decimal | None]
    rating: tuple[str | None, str | None]
    money: tuple[Decimal | None, Decimal | None]
    charged: tuple[tuple[str, ...], tuple[str, ...]]
    error: tuple[str | None, str | None] = (None, None)  # why the unit was not assessed, before / after
    rank: tuple[int | None, int | None] = (None, None)  # a cohort policy's rank (issue #11 C), as OtherUnit's
    #: the error's problems (``FactProblem.to_dict()``), before / after: the text rendered in the output's language
    problems: tuple[tuple[Mapping[str, Any], ...], tuple[Mapping[str, Any], ...]] = ((), ())

    def to_dict(self) -> dict[str, object]:
        return {"unit": self.unit_id, "name": self.name, "rank": list(self.rank),
                "score": [None if s is None else plain_decimal(s) for s in self.score],
                "rating": list(self.rating), "money": [None if m is None else str(m) for m in self.money],
                "charged": [list(c) for c in self.charged], "error": list(self.error)}


@attrs.frozen
class EventWhatIf:
    """What-if over a batch with ledgers: the edits, every unit that changes, and the events' fate before/after."""

    edits: tuple[EventEdit, ...]
    changed: tuple[ChangedUnit, ...]
    unattributed: tuple[tuple[str, ...], tuple[str, ...]]  # the unattributed events before / after, named
    unit: WhatIf | None = None  # --id: that unit's own what-if (its trace, step by step)
    #: the ledger problems the edits bring in (a bad value on an event nobody is charged changes no unit: said here)
    problems: tuple[LedgerProblem, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"edits": [e.describe() for e in self.edits],
                                  "changed": [c.to_dict() for c in self.changed],
                                  "unattributed": [list(u) for u in self.unattributed]}
        if self.unit is not None:
            out["unit"] = self.unit.to_dict()
        if self.problems:
            out["problems"] = [p.to_dict() for p in self.problems]
        return out


def _charged_names(result: Result | None, origins: Mapping[str, Sequence[int | None]] | None = None,
                   lang: str = "zh") -> tuple[str, ...]:
    if result is None:
        return ()
    return tuple(_event_named(c.event, origins, lang) for c in result.charged)


def _event_named(ref: Any, origins: Mapping[str, Sequence[int | None]] | None, lang: str = "zh") -> str:
    """An event by the row it had in the ledger as given (``origins``: after the edits); an added one as such."""
    from ..reports.ledgers import event_name

    row = ref.row
    if origins is not None:
        rows = origins.get(ref.ledger, ())
        before = rows[ref.row - 1] if 0 < ref.row <= len(rows) else ref.row
        if before is None:
            return event_name(ref.ledger, ref.row, ref.key, lang) + ("（新增）" if lang == "zh" else " (added)")
        row = before
    return event_name(ref.ledger, row, ref.key, lang)


def what_if_events(policy: Policy, units: Sequence[Mapping[str, Any]],
                   ledgers: Mapping[str, Sequence[Mapping[str, object]]], edits: Sequence[EventEdit],
                   unit_id: str | None = None, sets: Sequence[tuple[str, object]] = (),
                   patches: Sequence[object] = ()) -> EventWhatIf:
    """Re-attribute and re-assess the batch with the ledger edits (and ``sets``/``patches`` on unit ``unit_id``).

    Every unit whose score, rating, money or charged events change is listed (the edited
    unit too); with ``unit_id``, that unit's own what-if (the trace, step by step) as well.
    """
    key_fields = {spec.name: spec.key_field for spec in policy.program.ledgers}
    _check_edited_fields(policy, edits)
    after_ledgers = apply_event_edits(ledgers, edits, key_fields)
    origins = event_origins(ledgers, edits, key_fields)
    rows = [dict(u) for u in units]
    changed_rows = [changed_unit(u, sets, patches) if unit_id is not None and u.get("id") == unit_id else u
                    for u in rows]
    trace = unit_id is not None
    before_ledgers = {k: list(v) for k, v in ledgers.items()}
    before_items = list(_assess_batch(policy, rows, before_ledgers, trace))
    after_items = list(_assess_batch(policy, changed_rows, after_ledgers, trace))
    changed = []
    own: WhatIf | None = None
    for unit, old, new in zip(rows, before_items, after_items):
        a, b = old.result, new.result
        if unit_id is not None and unit.get("id") == unit_id:
            if a is None or b is None:
                error = old.error if a is None else new.error
                assert error is not None
                raise error
            old_memo: dict[int, tuple[object, list[object]]] = {}
            new_memo: dict[int, tuple[object, list[object]]] = {}
            diff = tuple(diff_events([e.to_dict(old_memo) for e in a.trace.events],
                                     [e.to_dict(new_memo) for e in b.trace.events], fields=("value", "reads")))
            own = WhatIf(a, b, diff, tuple(sets))
        shown = a if a is not None else b
        entry = ChangedUnit(
            str(unit.get("id")), shown.name if shown is not None else None,
            (a.score if a else None, b.score if b else None), (a.rating if a else None, b.rating if b else None),
            (_money_of(a) if a else None, _money_of(b) if b else None), (_charged_names(a), _charged_names(b, origins)),
            (None if a else str(old.error), None if b else str(new.error)), (_rank_of(a), _rank_of(b)),
            (_problems(old.error), _problems(new.error)))
        if (entry.score[0], entry.rating[0], entry.money[0], entry.charged[0], entry.error[0], entry.rank[0]) != \
                (entry.score[1], entry.rating[1], entry.money[1], entry.charged[1], entry.error[1], entry.rank[1]):
            changed.append(entry)
    before_attr = policy.attribute(rows, before_ledgers)
    after_attr = policy.attribute(changed_rows, after_ledgers)
    unattributed = (tuple(_event_named(u.event, None) for u in before_attr.unattributed),
                    tuple(_event_named(u.event, origins) for u in after_attr.unattributed))
    # by event (its row before the edits) and field: a message may name rows, which a dropped event renumbers
    before_problems = {(p.ledger, p.row, p.field) for p in before_attr.problems}
    brought = tuple(p for p in after_attr.problems
                    if (p.ledger, _origin(origins, p.ledger, p.row), p.field) not in before_problems)
    return EventWhatIf(tuple(edits), tuple(changed), unattributed, own, brought)


def _origin(origins: Mapping[str, Sequence[int | None]], ledger: str, row: int) -> int | None:
    """The row an event had before the edits (None: added), from its row after them."""
    rows = origins.get(ledger, ())
    return rows[row - 1] if 0 < row <= len(rows) else None


def _problems(error: object) -> tuple[Mapping[str, Any], ...]:
    return tuple(p.to_dict() for p in getattr(error, "problems", ()) or ())


def _check_edited_fields(policy: Policy, edits: Sequence[EventEdit]) -> None:
    """``--event L[K].F=V`` with F not a field of L's record: refused with the did-you-mean.

    Set on an event nobody is charged, such a field changed no unit, and the what-if said so — a typo
    of the field read as "nothing changes" (the engine's own problem for the unknown field reaches only
    the units charged the event)."""
    import difflib

    records = {spec.name: spec.record for spec in policy.program.ledgers}
    for edit in edits:
        if edit.kind != "set" or edit.field is None or edit.ledger not in records:
            continue
        record = policy.checked.records.get(records[edit.ledger])
        if record is None:
            continue
        names = [f.name for f in record.fields]
        if edit.field in names:
            continue
        match = difflib.get_close_matches(edit.field, names, n=1)
        raise PatchError(f"{edit.ledger}[{edit.selector}].{edit.field}: the ledger's record {record.name} has no"
                         f" field {edit.field!r}" + (f"; did you mean {match[0]!r}?" if match else
                                                     f"; its fields: {', '.join(names)}"))


def _rank_of(result: Result | None) -> int | None:
    standing = result.standing if result is not None else None
    return standing.rank if standing is not None else None


def _assess_batch(policy: Policy, units: list[dict[str, Any]], ledgers: dict[str, list[Mapping[str, object]]],
                  trace: bool) -> Sequence[Any]:
    if policy.cohort is not None:
        return policy.evaluate_cohort(units, trace=trace, ledgers=ledgers)
    return list(policy.evaluate_many(units, trace=trace, ledgers=ledgers))


_EVENT_TEXT = {
    "zh": {"title": "假设分析：台账改动", "batch": "假设分析：本批单位", "edit": "改动", "changed": "结果变化的单位", "none": "没有单位的结果发生变化",
           "unit": "{unit}：{parts}", "score": "得分 {before} → {after}", "rating": "{before} → {after}",
           "money": "奖惩 {before} → {after}", "charged": "计入事件 {before} → {after}",
           "rank": "名次 {before} → {after}",
           "error": "未能考核：{why}", "no_error": "可以考核", "unattributed": "未归属的事件",
           "nothing": "无", "sep": "；"},
    "en": {"title": "What if: ledger edits", "batch": "What if: the batch", "edit": "Edit", "changed": "Units whose result changes",
           "none": "no unit's result changes", "unit": "{unit}: {parts}", "score": "score {before} → {after}",
           "rating": "{before} → {after}", "money": "money {before} → {after}",
           "charged": "charged {before} → {after}", "error": "not assessed: {why}", "no_error": "assessed",
           "rank": "rank {before} → {after}",
           "unattributed": "Unattributed events", "nothing": "none", "sep": "; "},
}


def render_events(answer: EventWhatIf, lang: str = "zh", policy: Policy | None = None) -> str:
    """The batch what-if as text: the edits, every unit that changes, the unattributed events before → after;
    with ``--id`` then the unit's own what-if (:func:`render`)."""
    if lang not in _EVENT_TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
    t = _EVENT_TEXT[lang]
    colon = "：" if lang == "zh" else ": "
    lines = [t["title"] if answer.edits else t["batch"]]
    lines.extend(f"{t['edit']}{colon}{e.describe()}" for e in answer.edits)

    def label(rating: str | None) -> str:
        if not rating:
            return "—"
        return policy.checked.rating_label(rating) if policy is not None else rating

    def listed(names: tuple[str, ...]) -> str:
        return "、".join(names) if names else t["nothing"]

    if not answer.changed:
        lines.append(f"{t['changed']}{colon}{t['none']}")
    else:
        lines.append(f"{t['changed']}{colon.rstrip() if lang == 'zh' else ':'}")
    for c in answer.changed:
        parts = []
        if c.error[0] != c.error[1]:
            why = c.error[1]
            if why and lang == "zh" and c.problems[1]:  # as kaohe eval --lang zh says it, not the engine's English
                from ..messages import problem_line

                why = "；".join(problem_line(p, "zh")[4:] for p in c.problems[1])
            parts.append(t["error"].format(why=why) if why else t["no_error"])
        if c.score[0] != c.score[1]:
            parts.append(t["score"].format(before="—" if c.score[0] is None else plain_decimal(c.score[0]),
                                           after="—" if c.score[1] is None else plain_decimal(c.score[1])))
        if c.rating[0] != c.rating[1]:
            parts.append(t["rating"].format(before=label(c.rating[0]), after=label(c.rating[1])))
        if c.rank[0] != c.rank[1]:
            parts.append(t["rank"].format(before="—" if c.rank[0] is None else c.rank[0],
                                          after="—" if c.rank[1] is None else c.rank[1]))
        if c.money[0] != c.money[1]:
            parts.append(t["money"].format(before="—" if c.money[0] is None else f"{c.money[0]:,.2f}",
                                           after="—" if c.money[1] is None else f"{c.money[1]:,.2f}"))
        if c.charged[0] != c.charged[1]:
            parts.append(t["charged"].format(before=listed(c.charged[0]), after=listed(c.charged[1])))
        lines.append("  " + t["unit"].format(unit=f"{c.name or c.unit_id} ({c.unit_id})", parts=t["sep"].join(parts)))
    lines.append(f"{t['unattributed']}{colon}{listed(answer.unattributed[0])} → {listed(answer.unattributed[1])}")
    if answer.problems:
        from ..reports.ledgers import problem_text

        lines += [problem_text(p, lang) for p in answer.problems]
    text = "\n".join(lines) + "\n"
    if answer.unit is not None:
        text += "\n" + render(answer.unit, lang)
    return text
