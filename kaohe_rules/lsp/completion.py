"""Completion: the names a policy can read at the cursor, Chinese names included, labels as detail.

After ``x.`` (``事故.``, ``a.`` for ``as a``, an enum's name, a chain ``x.y.``) the fields of
``x``'s record or the members of the enum; elsewhere the facts, params, lets, kept lists,
targets, sections, categories, enum members, ratings and maps of the policy, then the keywords.
Types come from the checker's tables of the latest text that parsed, so completion still works
while the line being typed does not parse.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from ..language.index import Definition, PolicyIndex
from ..language.keywords import KEYWORDS
from ..language.types import Type

_CHAIN = re.compile(r"((?:[^\W\d]\w*\s*\.\s*)+)[^\W\d]?\w*$")

_KIND = {
    "fact": lsp.CompletionItemKind.Variable, "param": lsp.CompletionItemKind.Constant,
    "let": lsp.CompletionItemKind.Variable, "alias": lsp.CompletionItemKind.Variable,
    "target": lsp.CompletionItemKind.Function, "section": lsp.CompletionItemKind.Module,
    "category": lsp.CompletionItemKind.Module, "member": lsp.CompletionItemKind.EnumMember,
    "rating": lsp.CompletionItemKind.EnumMember, "map": lsp.CompletionItemKind.Function,
    "field": lsp.CompletionItemKind.Field, "enum": lsp.CompletionItemKind.Enum,
    "record": lsp.CompletionItemKind.Struct, "checkpoint": lsp.CompletionItemKind.Constant,
    "period": lsp.CompletionItemKind.Value,
}
#: What a bare name may complete to, in the order offered.
_GENERAL = ("fact", "let", "param", "alias", "member", "target", "section", "category", "rating", "map",
            "checkpoint", "period", "enum", "record")


def _item(d: Definition, rank: int) -> lsp.CompletionItem:
    detail = " — ".join(x for x in (d.type_text, d.label) if x) or d.kind
    return lsp.CompletionItem(label=d.name, kind=_KIND.get(d.kind, lsp.CompletionItemKind.Text),
                              detail=f"{d.kind}: {detail}", documentation=f"cite: {d.cite}" if d.cite else None,
                              sort_text=f"{rank:02d}{d.name}")


def _record_of(t: Type | None) -> str | None:
    return t.name if t is not None and t.kind == "record" else None


def _chain_target(index: PolicyIndex, names: list[str]) -> tuple[str, str] | None:
    """("record", R) or ("enum", E) for the value ``names[0].names[1]…`` (None: not known)."""
    analysis = index.analysis
    ctx = analysis.context if analysis is not None else None
    first = names[0]
    enum = index.lookup("enum", first)
    if enum is not None and len(names) == 1:
        return ("enum", first)
    record: str | None = None
    if ctx is not None:
        record = (_record_of(ctx.fact_types.get(first)) or _record_of(ctx.let_types.get(first))
                  or _record_of(ctx.param_types.get(first)))
    if record is None:
        item = next((d for d in index.all_definitions() if d.kind == "item" and d.name == first and d.type_text), None)
        record = item.type_text if item is not None else None
    if record is None and ctx is not None:  # a bare field of the items in scope (``a.b`` where a is a field)
        owners = {rec for rec, fields in ctx.record_fields.items() if _record_of(fields.get(first))}
        if len(owners) == 1:
            record = _record_of(ctx.record_fields[owners.pop()][first])
    for name in names[1:]:
        if record is None or ctx is None:
            return None
        record = _record_of(ctx.record_fields.get(record, {}).get(name))
    return ("record", record) if record is not None else None


def completions(index: PolicyIndex, line_prefix: str) -> list[lsp.CompletionItem]:
    """The completion items for the cursor after ``line_prefix`` (the line's text up to the cursor)."""
    match = _CHAIN.search(line_prefix)
    if match:
        names = [n.strip() for n in match.group(1).split(".") if n.strip()]
        target = _chain_target(index, names)
        if target is None:
            return []
        kind, name = target
        wanted = "member" if kind == "enum" else "field"
        return [_item(d, 0) for d in index.all_definitions() if d.kind == wanted and d.container == name]
    out: list[lsp.CompletionItem] = []
    seen: set[tuple[str, str]] = set()
    for d in index.all_definitions():
        if d.kind not in _GENERAL or (d.kind, d.name) in seen:
            continue
        seen.add((d.kind, d.name))
        out.append(_item(d, _GENERAL.index(d.kind)))
    labels = {item.label for item in out}
    out.extend(lsp.CompletionItem(label=k, kind=lsp.CompletionItemKind.Keyword, sort_text=f"99{k}")
               for k in sorted(KEYWORDS) if k not in labels)
    return out
