"""The stable JSON trace document (format ``kaohe-trace``, version 1).

One document records one assessment completely enough to be checked later by
someone who trusts neither the person who produced it nor the file's storage:

* ``policy`` — name, label, document number and the SHA-256 content hash of the
  policy text (with every ``extends`` ancestor);
* ``engine`` — the kaohe_rules version that produced it;
* ``unit`` and ``facts`` — the unit and its facts *as the engine read them*
  (after coercion, defaults filled in, enum members by name, derived record
  fields left out), with ``facts_digest``, a SHA-256 over their canonical JSON;
* ``events`` — the full event tree (see :mod:`kaohe_rules.runtime.trace`);
* ``result`` — score, band, rating, vetoes, deferrals, sections, targets, money.

Determinism is part of the format: keys are sorted by code point, numbers are
plain decimal strings (``5.0`` and ``5`` are one number, so one string), money
is yuan with two decimals, file names are base names, nothing depends on the
time, the machine, the input file's spelling or ``PYTHONHASHSEED``.  The same
policy and facts give byte-identical output from :func:`dumps`.  The JSON
Schema is ``docs/trace-schema.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..runtime.trace import canonical, money_text, short_file
from ..types import Type

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result

FORMAT = "kaohe-trace"
VERSION = 1
HASH_PREFIX = "sha256:"


def trace_document(result: Result) -> dict[str, Any]:
    """The stable trace document of a result (evaluates again with tracing on if needed)."""
    from .. import __version__

    policy: Policy = result._policy
    checked = policy.checked
    header = checked.header
    facts = canonical_facts(policy, result.category, result.facts)
    return {
        "format": FORMAT,
        "version": VERSION,
        "engine": {"name": "kaohe_rules", "version": __version__},
        "policy": {
            "name": header.name,
            "label": header.label,
            "document": header.document,
            "file": short_file(header.span.file),
            "hash": HASH_PREFIX + checked.content_hash,
        },
        "unit": {"id": result.unit_id, "name": result.name, "category": result.category},
        "facts": facts,
        "facts_digest": facts_digest(facts),
        "result": result_section(result),
        "events": [e.to_dict() for e in result.trace.events],
    }


def dumps(document: object) -> str:
    """Canonical text of a document: sorted keys, two-space indent, UTF-8 characters kept, final newline."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, separators=(",", ": ")) + "\n"


def canonical_json(value: object) -> str:
    """The compact canonical JSON used for digests (sorted keys, no spaces)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def facts_digest(facts: Mapping[str, object]) -> str:
    """``sha256:`` + hex SHA-256 of the UTF-8 canonical compact JSON of the canonical facts."""
    return HASH_PREFIX + hashlib.sha256(canonical_json(dict(facts)).encode("utf-8")).hexdigest()


def canonical_facts(policy: Policy, category: str, facts: Mapping[str, object]) -> dict[str, object]:
    """A unit's coerced facts as canonical JSON values that the engine reads back to the same facts.

    Enum members by name, records without their derived (``let``) fields,
    numbers as plain decimal strings, dates ISO, absent optional facts ``null``.
    """
    checked = policy.checked
    out: dict[str, object] = {}
    for name in policy.facts_for(category):
        if name in facts:
            out[name] = _value(policy, checked.fact_types[name], facts[name])
    return out


def _value(policy: Policy, t: Type, value: object) -> object:
    if value is None:
        return None
    if t.kind == "list" and isinstance(value, (list, tuple)):
        elem = t.elem
        return [_value(policy, elem, v) if elem is not None else canonical(v) for v in value]
    if t.kind == "record" and isinstance(value, Mapping):
        decl = policy.checked.records[t.name or ""]
        fields = policy.checked.record_fields[decl.name]
        return {f.name: _value(policy, fields[f.name], value.get(f.name)) for f in decl.fields}
    if t.kind == "enum" and isinstance(value, int) and not isinstance(value, bool):
        members = policy.checked.enums[t.name or ""].members
        return members[value].name
    return canonical(value)


def result_section(result: Result) -> dict[str, Any]:
    """The outcome of the assessment in canonical form (what replay compares first)."""
    c = result.consequences
    return {
        "score": canonical(result.score),
        "total": canonical(result.total),
        "band": result.band,
        "rating": result.rating,
        "rating_label": result.rating_label,
        "vetoed": result.vetoed,
        "vetoes": [{"name": v.name, "citation": v.citation, "evidence": canonical(list(v.evidence))}
                   for v in result.vetoes],
        "excepted": [{"name": v.name, "citation": v.citation, "exception": v.exception} for v in result.excepted],
        "deferred": [{"name": d.name, "citation": d.citation, "to": d.to, "items": canonical(list(d.items))}
                     for d in result.deferred],
        "sections": {path: canonical(s.score) for path, s in result.sections.items()},
        "targets": {t.name: canonical(t.score) for t in result.targets},
        "consequences": {
            "kind": c.kind,
            "citation": c.citation,
            "total": money_text(c.total),
            "items": [{"kind": i.kind, "name": i.name, "amount": None if i.amount is None else money_text(i.amount)}
                      for i in c.items],
            "notes": list(c.notes),
        },
    }


def unit_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """The unit a trace document describes, in the form ``Policy.evaluate`` takes."""
    unit = document.get("unit") or {}
    return {"id": unit.get("id"), "name": unit.get("name"), "category": unit.get("category"),
            "facts": document.get("facts") or {}}
