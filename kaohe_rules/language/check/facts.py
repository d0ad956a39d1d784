"""The facts pass family: enum and record types, facts, record lets, unused facts.

Facts are what a unit supplies; their types, defaults and bounds are fixed here so
that the fact coercers can check input rows against them.  Record ``let`` fields
are typed in the record's own scope (its fields and params only).
"""

from __future__ import annotations

from .. import ast
from ..keywords import NAMES_READ_AS_KEYWORDS
from ..types import ERROR, Type, assignable
from .api import Context, Scope


def check_types(ctx: Context) -> None:
    """The pass: enum members unique; record fields unique, scalar, with checked defaults and bounds."""
    diag = ctx.diag
    for enum in ctx.sym.enums.values():
        seen: set[str] = set()
        for member in enum.members:
            if member.name in seen:
                diag.error("K100", f"enum '{enum.name}' lists '{member.name}' twice", member.span)
            seen.add(member.name)
    for record in ctx.sym.records.values():
        fields: dict[str, Type] = {}
        for field in record.fields:
            if field.name in fields:
                diag.error("K100", f"record '{record.name}' declares field '{field.name}' twice", field.span)
                continue
            if field.name in NAMES_READ_AS_KEYWORDS:
                diag.error("K170", f"'{field.name}' is a keyword in expressions and cannot name a field", field.span)
            ftype = ctx.resolve_type(field.type)
            if ftype.kind in ("record", "list"):
                diag.error("K103", f"field '{field.name}' cannot hold a {ftype.describe()}", field.type.span,
                           hint="record fields are scalars or enums; use a separate list fact instead")
                ftype = ERROR
            fields[field.name] = ftype
            key = (record.name, field.name)
            ctx.field_defaults[key] = ctx.consts.default_value(field.default, ftype, field.name)
            ctx.field_bounds[key] = ctx.consts.bounds(field.constraint, ftype, field.name)
        ctx.record_fields[record.name] = fields


def check_facts(ctx: Context) -> None:
    """The pass: each fact's type (not a single record), default, bound and ``for`` list."""
    for name, decl in ctx.sym.facts.items():
        ftype = ctx.resolve_type(decl.type)
        ctx.fact_types[name] = ftype
        ctx.fact_defaults[name] = ctx.consts.default_value(decl.default, ftype, name)
        ctx.fact_bounds[name] = ctx.consts.bounds(decl.constraint, ftype, name)
        ctx.category_refs(decl.categories, decl.span, f"fact '{name}'")


def check_record_lets(ctx: Context) -> None:
    """The pass: each record's lets, typed in order (a let may read the fields and lets before it)."""
    for record in ctx.sym.records.values():
        _record_lets(ctx, record)


def _record_lets(ctx: Context, record: ast.RecordDecl) -> None:
    order: list[str] = []
    fields = ctx.record_fields.setdefault(record.name, {})
    for let in record.lets:
        if let.name in fields:
            ctx.diag.error("K100", f"record '{record.name}' already has a field '{let.name}'", let.span)
            continue
        if let.report:
            ctx.diag.error("K134", f"'report' on the field '{let.name}' of record '{record.name}'", let.span,
                           hint="a field has a value per item, not per unit: report a top-level let, "
                                "e.g. a count or sum over the list")
        vtype = ctx.exprs.expr(let.value, Scope(record=record.name))
        if let.type is not None:
            declared = ctx.resolve_type(let.type)
            if not assignable(vtype, declared):
                ctx.diag.type_mismatch(f"'{let.name}'", vtype, declared, let.value)
            vtype = declared
        fields[let.name] = vtype
        order.append(let.name)
    ctx.record_let_order[record.name] = tuple(order)


def warn_unused_facts(ctx: Context) -> None:
    """The last pass before plans: K180 for facts no rule, veto, let or outcome reads."""
    for name, decl in ctx.sym.facts.items():
        if name not in ctx.facts_read:
            ctx.diag.warn("K180", f"fact '{name}' is declared but no rule reads it", decl.span,
                          hint="remove it, or add the target that uses it")
