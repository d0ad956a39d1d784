"""The maps pass (issue #16): ``map NAME from ENUM to TYPE { A -> B … }``, a constant function.

A map turns a member of its source enum into a constant of its target type (a member of
another — or the same — enum, a text or an int): ``对口区(发生地)``.  It is checked once,
here, before anything that may call it (record lets, facts' defaults, ledger rules, targets),
and its values are folded into :attr:`Context.map_values` so the compiler writes a constant
dict lookup and the interpreter reads the same table.

Why the result is optional unless the map lists every member of its source enum: a member
without an entry has no value, and reading it as some default would be a silent guess; the
author then writes ``对口区(x) ?? x`` or lists every member (the map is *total*).
"""

from __future__ import annotations

from .. import ast
from ..types import ERROR, INT, TEXT, TYPE_ALIASES, Type
from .api import Context
from .diagnostics import did_you_mean


def check_maps(ctx: Context) -> None:
    """The pass: each map's enums, keys (known, once each) and values (of the target type)."""
    for decl in ctx.sym.maps.values():
        ctx.map_types[decl.name] = _check_map(ctx, decl)


def _target_type(ctx: Context, decl: ast.MapDecl) -> Type:
    sym = ctx.sym
    if decl.target in sym.enums:
        return Type("enum", decl.target)
    if TYPE_ALIASES.get(decl.target) in ("text", "int"):
        return TEXT if TYPE_ALIASES[decl.target] == "text" else INT
    return ctx.diag.error("K268", f"map '{decl.name}' maps to '{decl.target}', which is no enum, text or int", decl.span,
                          hint=did_you_mean(decl.target, [*sym.enums, "text", "int"]))


def _check_map(ctx: Context, decl: ast.MapDecl) -> Type:
    sym, diag = ctx.sym, ctx.diag
    source = sym.enums.get(decl.source)
    if source is None:
        diag.error("K268", f"map '{decl.name}' maps from '{decl.source}', which is no enum", decl.span,
                   hint=did_you_mean(decl.source, sym.enums) or "a map takes the members of an enum")
    target = _target_type(ctx, decl)
    values: dict[str, object] = {}
    members = [m.name for m in source.members] if source is not None else []
    for entry in decl.entries:
        if source is not None and entry.key not in members:
            diag.error("K268", f"map '{decl.name}': '{entry.key}' is no member of {decl.source}", entry.span,
                       hint=did_you_mean(entry.key, members))
            continue
        if entry.key in values:
            diag.error("K268", f"map '{decl.name}' gives '{entry.key}' twice", entry.span,
                       hint="a map gives each member one value: remove one of the lines")
            continue
        value = _value(ctx, decl, entry, target)
        values[entry.key] = value
    ctx.map_values[decl.name] = {members.index(k): v for k, v in values.items() if k in members}
    if target.is_error or source is None:
        return ERROR
    total = all(m in values for m in members)
    return target if total else target.as_optional()


def _value(ctx: Context, decl: ast.MapDecl, entry: ast.MapEntry, target: Type) -> object:
    """The constant an entry gives: an enum member's index, a text, an int (K268 for another value)."""
    e = entry.value
    if target.is_error:
        return None
    if target.kind == "enum":
        enum = ctx.sym.enums[decl.target]
        names = [m.name for m in enum.members]
        if isinstance(e, ast.Name) and e.ident in names:
            return names.index(e.ident)
        what = e.ident if isinstance(e, ast.Name) else "this value"
        ctx.diag.error("K268", f"map '{decl.name}': '{what}' is no member of {decl.target}", e.span,
                       hint=did_you_mean(what, names) if isinstance(e, ast.Name) else f"write a member of {decl.target}")
        return None
    if target.kind == "text":
        if isinstance(e, ast.TextLit):
            return e.value
        ctx.diag.error("K268", f"map '{decl.name}' gives texts: write \"…\"", e.span)
        return None
    negative = isinstance(e, ast.Neg)
    number = e.operand if isinstance(e, ast.Neg) else e
    if isinstance(number, ast.Number) and number.is_int:
        value = int(number.value)
        return -value if negative else value
    ctx.diag.error("K268", f"map '{decl.name}' gives whole numbers", e.span)
    return None

