"""What ``GET /policies`` says of a loaded policy: everything a form needs to collect a unit.

A web front end or an OA system builds its input form from this document and nothing else:
the categories (with their sections and point budgets), the facts each category reads (type,
unit of measure, bounds, default, label, the clause it serves, enum members, record fields),
the ratings and each category's bands.  Numbers are decimal strings (never floats: ``"0.5"``
stays exact in every client); a value with no meaning for a fact is ``null``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..language.abi import MISSING
from ..language.kinds import describe as describe_kind
from ..language.model import CategoryInfo, CheckedPolicy, SectionInfo
from ..language.types import Type
from ..runtime.parts import plain

if TYPE_CHECKING:
    from ..policy import Policy

#: the unit of measure of a value of each kind, as a form shows it beside the field
MEASURE = {"money": "元", "percent": "%"}


def json_value(value: object) -> object:
    """A declared value (default, bound) as JSON: Decimal as a plain string, dates ISO, tuples as lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (Decimal, int)):
        return plain(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def type_dict(checked: CheckedPolicy, t: Type) -> dict[str, object]:
    """A fact's type for a form: its kind, what it reads as, and the members or fields it is made of."""
    out: dict[str, object] = {"kind": t.kind, "name": t.describe(), "optional": t.optional,
                              "expects": describe_kind(checked, t), "unit": MEASURE.get(t.kind)}
    if t.kind == "enum" and t.name in checked.enums:
        out["members"] = [{"name": m.name, "label": m.label} for m in checked.enums[t.name].members]
    if t.kind == "list" and t.elem is not None:
        out["items"] = type_dict(checked, t.elem)
    if t.kind == "record" and t.name in checked.records:
        record = checked.records[t.name]
        fields = checked.record_fields.get(t.name, {})
        out["fields"] = [{"name": f.name, "label": f.label, "cite": f.cite,
                          "type": type_dict(checked, fields[f.name]) if f.name in fields else None,
                          "bounds": bounds_dict(checked.field_bounds.get((t.name, f.name))),
                          "default": _default(checked.field_defaults.get((t.name, f.name), MISSING))}
                         for f in record.fields]
    return out


def bounds_dict(bounds: tuple[object, object, bool, bool] | None) -> dict[str, object] | None:
    if bounds is None:
        return None
    low, high, low_closed, high_closed = bounds
    return {"low": json_value(low), "high": json_value(high), "low_closed": low_closed, "high_closed": high_closed}


def _default(default: object) -> dict[str, object] | None:
    """``{"value": …}`` for a declared default (so a default of ``none`` differs from no default), else null."""
    return None if default is MISSING else {"value": json_value(default)}


def section_dict(section: SectionInfo) -> dict[str, object]:
    return {"name": section.name, "path": list(section.path), "label": section.label, "points": plain(section.points),
            "cite": section.cite, "bonus": section.bonus, "cap": None if section.cap is None else plain(section.cap),
            "sections": [section_dict(s) for s in section.children]}


def fact_dict(policy: Policy, name: str) -> dict[str, object]:
    checked = policy.checked
    decl = checked.facts[name]
    t = checked.fact_types[name]
    default = checked.fact_defaults.get(name, MISSING)
    required = (default is MISSING or default is None) and not t.optional
    return {"name": name, "label": decl.label, "cite": decl.cite, "note": decl.note, "type": type_dict(checked, t),
            "unit": MEASURE.get(t.kind), "required": required, "default": _default(default),
            "bounds": bounds_dict(checked.fact_bounds.get(name)), "per_period": decl.per_period,
            "ledger": decl.ledger}


def category_dict(policy: Policy, info: CategoryInfo) -> dict[str, object]:
    plan = policy.checked.plans[info.name]
    return {"name": info.name, "label": info.label, "total": plain(info.total), "cite": info.cite,
            "maximum": None if plan.maximum is None else plain(plan.maximum),
            "sections": [section_dict(s) for s in info.sections],
            "facts": [fact_dict(policy, name) for name in plan.facts],
            "bands": [{"rating": b.rating, "label": policy.checked.rating_label(b.rating), "low": plain(b.low),
                       "low_closed": b.low_closed, "high": None if b.open_top else plain(b.high),
                       "high_closed": b.high_closed, "interval": b.describe(), "cite": b.cite}
                      for b in plan.bands]}


def policy_summary(policy: Policy, file: str, aliases: tuple[str, ...]) -> dict[str, object]:
    """The short entry of ``GET /policies``' list and of ``/readyz``: identity only."""
    header = policy.checked.header
    return {"name": policy.name, "label": policy.label, "document": header.document, "file": file,
            "aliases": list(aliases), "hash": "sha256:" + policy.content_hash}


def policy_dict(policy: Policy, file: str, aliases: tuple[str, ...]) -> dict[str, Any]:
    """The whole description of ``GET /policies/{name}`` (and each entry of ``GET /policies``)."""
    checked = policy.checked
    header = checked.header
    ratings = checked.ratings
    return {
        **policy_summary(policy, file, aliases),
        "issuer": header.issuer,
        "period": None if header.period is None else [d.isoformat() for d in header.period],
        "cite": header.cite,
        "extends": list(checked.lineage[1:]),
        "categories": [category_dict(policy, info) for info in checked.categories.values()],
        "ratings": [{"name": r.name, "label": r.label} for r in ratings.ratings],
        "vetoed_rating": ratings.vetoed,
        "cohort": checked.cohort is not None,
        "ledgers": [{"name": spec.name, "fact": spec.fact} for spec in policy.ledgers],
        "warnings": [d.to_dict() for d in policy.warnings],
    }
