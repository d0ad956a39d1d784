"""The facts a unit supplies, described for people (``kaohe facts``) and as a template to fill in.

This is the contract between a policy and the data offices collect: names,
types, which are required, their ranges and defaults, and the clause each
serves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from ..language.abi import MISSING
from ..language.model import CheckedPolicy
from ..language.types import Type
from .facts import range_text


class Policy(Protocol):
    """What the fact sheet reads: a Policy or its Program (this module never imports the facade)."""

    @property
    def checked(self) -> CheckedPolicy: ...

    def facts_for(self, category: str) -> tuple[str, ...]: ...


_EXAMPLES: dict[str, object] = {
    "int": 0, "decimal": "0", "money": "0元", "percent": "100%", "bool": True, "date": "2013-12-31", "text": "",
}


def _type_text(policy: Policy, t: Type) -> str:
    if t.kind == "enum" and t.name is not None:
        members = "/".join(m.name for m in policy.checked.enums[t.name].members)
        return f"{t.name}（{members}）" + ("?" if t.optional else "")
    return t.describe()


def _range_text(bounds: tuple[object, object, bool, bool] | None) -> str:
    return "" if bounds is None else range_text(bounds)


def fact_rows(policy: Policy, category: str) -> list[list[str]]:
    checked = policy.checked
    rows = []
    for name in policy.facts_for(category):
        decl = checked.facts[name]
        t = checked.fact_types[name]
        default = checked.fact_defaults.get(name, MISSING)
        if default is not MISSING and default is not None:
            required = f"否，默认 {list(default) if isinstance(default, tuple) else default}"
        elif t.optional:
            required = "否（可不填）"
        else:
            required = "是"
        rows.append([name, _type_text(policy, t), required, _range_text(checked.fact_bounds.get(name)),
                     decl.label or "", decl.cite or ""])
    return rows


def _example(policy: Policy, t: Type) -> object:
    checked = policy.checked
    if t.kind == "enum" and t.name is not None:
        return checked.enums[t.name].members[0].name
    if t.kind == "list" and t.elem is not None:
        if t.elem.kind == "record" and t.elem.name is not None:
            record = checked.records[t.elem.name]
            return [{f.name: _example(policy, checked.record_fields[record.name][f.name]) for f in record.fields}]
        return [_example(policy, t.elem)]
    return _EXAMPLES.get(t.kind, None)


def unit_template(policy: Policy, category: str) -> dict[str, object]:
    """A unit with every fact of the category filled with a placeholder of the right type.

    Defaults are filled with the default itself; optional facts with ``null``.
    """
    checked = policy.checked
    facts: dict[str, object] = {}
    for name in policy.facts_for(category):
        t = checked.fact_types[name]
        default = checked.fact_defaults.get(name, MISSING)
        if default is not MISSING and default is not None:
            value: object = list(default) if isinstance(default, tuple) else default
            facts[name] = str(value) if isinstance(value, Decimal) else value
        elif t.optional:
            facts[name] = None
        else:
            facts[name] = _example(policy, t)
    return {"id": "", "name": "", "category": category, "facts": facts}
