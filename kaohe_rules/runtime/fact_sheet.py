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
        per_period = "，每期一值" if checked.periods is not None and decl.per_period else ""  # issue #11 P
        rows.append([name, _type_text(policy, t) + per_period, required, _range_text(checked.fact_bounds.get(name)),
                     decl.label or "", decl.cite or ""])
    return rows


def unit_template(policy: Policy, category: str) -> dict[str, object]:
    """A unit to fill in: every fact of the category, a required one as ``null``.

    A template must fail until someone fills it in: a placeholder value for a
    required fact (true for a bool, 100% for a percentage) would be scored as if a
    clerk had given it.  So a required fact is ``null`` — refused as empty, each one
    named — and so is the id; a fact with a default carries the default (what the
    policy assumes when it is left out) and an optional fact ``null``.  A required
    record shows its fields, each ``null``.
    """
    checked = policy.checked
    facts: dict[str, object] = {}
    for name in policy.facts_for(category):
        default = checked.fact_defaults.get(name, MISSING)
        if default is not MISSING and default is not None:
            value: object = list(default) if isinstance(default, tuple) else default
            facts[name] = str(value) if isinstance(value, Decimal) else value
        else:
            facts[name] = _record_shape(policy, checked.fact_types[name])
        if checked.periods is not None and checked.facts[name].per_period:  # issue #11 P: one value per period
            facts[name] = {item.name: facts[name] for item in checked.periods.items}
    return {"id": None, "name": None, "category": category, "facts": facts}


def period_columns(policy: Policy, name: str) -> tuple[str, ...]:
    """The flat columns of a fact (issue #11 P): ``季度扣分.一季度`` … for a per-period one, else the name."""
    checked = policy.checked
    if checked.periods is None or not checked.facts[name].per_period:
        return (name,)
    return tuple(f"{name}.{item.name}" for item in checked.periods.items)


def _record_shape(policy: Policy, t: Type) -> dict[str, object] | None:
    """A required record-valued fact shows its fields, each ``null`` (it still fails until filled in,
    and the clerk sees what to fill); anything else, and an optional record, is ``null``."""
    if t.kind != "record" or t.optional or t.name is None:
        return None
    return {f.name: None for f in policy.checked.records[t.name].fields}
