"""Differences between two traces (as canonical JSON events), event by event.

Events are matched by ``(kind, id)`` under the same parent, never by position,
so an event that appears, disappears or moves is reported as such and the rest
still line up.  Used by what-if (before/after a change of facts) and replay
(stored trace/recomputed trace).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

_MISSING = object()


@attrs.frozen
class FieldChange:
    """One field of one event that differs: ``field`` is e.g. ``value``, ``reads.专项资金预算``, ``span``."""

    field: str
    before: object
    after: object

    def to_dict(self) -> dict[str, object]:
        return {"field": self.field, "before": _plain(self.before), "after": _plain(self.after)}


@attrs.frozen
class EventChange:
    """An event that differs: changed fields, or present on one side only (``status`` added/removed)."""

    status: str  # changed | added | removed
    path: tuple[tuple[str, str], ...]  # (kind, id) from the root
    label: str | None
    citation: str | None
    span: Mapping[str, object] | None
    fields: tuple[FieldChange, ...] = ()
    text: str | None = None  # the clause as written, for rules, vetoes, exceptions

    @property
    def value_changed(self) -> bool:
        return self.status != "changed" or any(f.field == "value" for f in self.fields)

    @property
    def kind(self) -> str:
        return self.path[-1][0]

    @property
    def id(self) -> str:
        return self.path[-1][1]

    def where(self) -> str:
        """``file:line`` of the clause in the policy, when known."""
        if not self.span:
            return ""
        return f"{self.span.get('file')}:{self.span.get('line')}"

    def to_dict(self) -> dict[str, object]:
        return {"status": self.status, "path": [f"{k}:{i}" for k, i in self.path], "label": self.label,
                "text": self.text,
                "citation": self.citation, "span": dict(self.span) if self.span else None,
                "fields": [f.to_dict() for f in self.fields]}


def _plain(value: object) -> object:
    return None if value is _MISSING else value


def diff_events(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]],
                fields: Sequence[str] | None = None) -> list[EventChange]:
    """Every event that differs between two event lists (depth first, in ``after`` order, then removals).

    ``fields`` limits the comparison to some event fields (what-if compares
    ``value``, ``reads`` and ``detail``); None compares every field.
    """
    out: list[EventChange] = []
    _diff_level(before, after, (), fields, out)
    return out


def _key(event: Mapping[str, Any]) -> tuple[str, str]:
    return (str(event.get("kind")), str(event.get("id")))


def _index(events: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for event in events:
        if isinstance(event, Mapping):
            out.setdefault(_key(event), event)
    return out


def _diff_level(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]],
                path: tuple[tuple[str, str], ...], fields: Sequence[str] | None, out: list[EventChange]) -> None:
    old = _index(before if isinstance(before, Sequence) else [])
    new = _index(after if isinstance(after, Sequence) else [])
    for key, event in new.items():
        here = path + (key,)
        if key not in old:
            out.append(_change("added", here, event))
            continue
        previous = old[key]
        changes = compare_fields(previous, event, fields)
        if changes:
            out.append(_change("changed", here, event, changes))
        _diff_level(previous.get("children") or [], event.get("children") or [], here, fields, out)
    for key, event in old.items():
        if key not in new:
            out.append(_change("removed", path + (key,), event))
    # the same events in another order is a difference too (traces are ordered)
    if not out and [k for k in old if k in new] != [k for k in new if k in old]:
        out.append(EventChange("changed", path or (("trace", "events"),), None, None, None,
                               (FieldChange("order", list(old), list(new)),)))


def _change(status: str, path: tuple[tuple[str, str], ...], event: Mapping[str, Any],
            fields: Sequence[FieldChange] = ()) -> EventChange:
    span = event.get("span")
    text = event.get("text")
    return EventChange(status, path, event.get("label"), event.get("citation"),
                       span if isinstance(span, Mapping) else None, tuple(fields), text if isinstance(text, str) else None)


def compare_fields(before: Mapping[str, Any], after: Mapping[str, Any],
                   fields: Sequence[str] | None = None) -> list[FieldChange]:
    """The differing fields of two events (children excluded); mappings are compared key by key."""
    names = fields if fields is not None else sorted((set(before) | set(after)) - {"children"})
    out: list[FieldChange] = []
    for name in names:
        a, b = before.get(name, _MISSING), after.get(name, _MISSING)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in _ordered_keys(a, b):
                x, y = a.get(key, _MISSING), b.get(key, _MISSING)
                if x != y:
                    out.append(FieldChange(f"{name}.{key}", x, y))
        else:
            out.append(FieldChange(name, a, b))
    return out


def _ordered_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    keys = list(a)
    keys.extend(k for k in b if k not in a)
    return keys


def diff_values(before: object, after: object, path: str = "") -> list[FieldChange]:
    """Differences between two JSON values, as paths (``result.score``, ``facts.事故[0].死亡人数``)."""
    if before == after:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[FieldChange] = []
        for key in _ordered_keys(before, after):
            sub = f"{path}.{key}" if path else str(key)
            out.extend(diff_values(before.get(key, _MISSING), after.get(key, _MISSING), sub))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for index, (x, y) in enumerate(zip(before, after)):
            out.extend(diff_values(x, y, f"{path}[{index}]"))
        return out
    return [FieldChange(path, before, after)]


def _plain_json(value: object) -> str:
    """Engine values json does not know (a Decimal, a date), as their exact text; anything else bounded."""
    from ..limits import shown

    return str(value) if isinstance(value, (Decimal, datetime.date)) else shown(value)


def describe(value: object, limit: int = 80) -> str:
    """A short one-line rendering of a JSON value for messages."""
    import json

    if value is _MISSING:
        return "(absent)"
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=_plain_json)
    return text if len(text) <= limit else text[: limit - 1] + "…"
