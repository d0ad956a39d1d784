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
           "period": "分期",
           "sanction": "处理", "effects": "等次调整", "effect": "等次调整"},
    "en": {"deferral": "deferral", "let": "derived value", "section": "section", "target": "target", "rule": "rule",
           "score": "score", "veto": "veto", "exception": "exception", "band": "band", "band_test": "band test",
           "rating": "rating", "consequence": "consequence", "reward": "reward", "fine": "fine", "share": "share",
           "sanction": "sanction", "effects": "rating effects", "effect": "rating effect", "period": "period"},
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
