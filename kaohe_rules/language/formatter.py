"""AST → canonical policy text (``kaohe fmt``).

The formatter is the inverse of the parser up to layout: for every policy,
``parse(format(parse(text)))`` equals ``parse(text)`` ignoring source spans, and
formatting is idempotent.  Both laws are property-tested.  It also lets tools
(diff, the testing package) print a declaration the way a person writes it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from . import ast

_INDENT = "  "

# precedence of expression forms, low to high (see grammar/kaohe.lark)
_IF, _OR, _AND, _NOT, _CMP, _COALESCE, _SUM, _PRODUCT, _UNARY, _POSTFIX, _ATOM = range(11)


def quote(text: str) -> str:
    """A double-quoted policy string literal for any text."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def number(value: Decimal, is_int: bool = False) -> str:
    text = format(value, "f")
    if is_int and "." in text:
        text = text.split(".")[0]
    return text


def expr(e: ast.Expr, min_prec: int = _IF) -> str:
    """Format an expression, parenthesised where its context binds tighter."""
    text, prec = _expr(e)
    return f"({text})" if prec < min_prec else text


def _expr(e: ast.Expr) -> tuple[str, int]:
    if isinstance(e, ast.Number):
        return number(e.value, e.is_int), _ATOM
    if isinstance(e, ast.MoneyLit):
        return e.text if e.text else f"{number(e.value)}元", _ATOM
    if isinstance(e, ast.PercentLit):
        return f"{number(e.value)}%", _ATOM
    if isinstance(e, ast.DateLit):
        return e.value.isoformat(), _ATOM
    if isinstance(e, ast.TextLit):
        return quote(e.value), _ATOM
    if isinstance(e, ast.BoolLit):
        return ("true" if e.value else "false"), _ATOM
    if isinstance(e, ast.NoneLit):
        return "none", _ATOM
    if isinstance(e, ast.EmptyList):
        return "[]", _ATOM
    if isinstance(e, ast.It):
        return "it", _ATOM
    if isinstance(e, ast.Name):
        return e.ident, _ATOM
    if isinstance(e, ast.Member):
        return f"{expr(e.obj, _POSTFIX)}.{e.field}", _POSTFIX
    if isinstance(e, ast.Neg):
        inner = expr(e.operand, _UNARY)
        return f"-{inner}" if not inner.startswith("-") else f"-({inner})", _UNARY
    if isinstance(e, ast.Binary):
        prec = _SUM if e.op in "+-" else _PRODUCT
        return f"{expr(e.left, prec)} {e.op} {expr(e.right, prec + 1)}", prec
    if isinstance(e, ast.Compare):
        return f"{expr(e.left, _COALESCE)} {e.op} {expr(e.right, _COALESCE)}", _CMP
    if isinstance(e, ast.InRange):
        return f"{expr(e.value, _COALESCE)} in {expr(e.low, _COALESCE)}..{expr(e.high, _COALESCE)}", _CMP
    if isinstance(e, ast.IsSet):
        return f"{expr(e.operand, _COALESCE)} is {'set' if e.expect_set else 'none'}", _CMP
    if isinstance(e, ast.Coalesce):
        return f"{expr(e.left, _SUM)} ?? {expr(e.right, _SUM)}", _COALESCE
    if isinstance(e, ast.And):
        return f"{expr(e.left, _AND)} and {expr(e.right, _NOT)}", _AND
    if isinstance(e, ast.Or):
        return f"{expr(e.left, _OR)} or {expr(e.right, _AND)}", _OR
    if isinstance(e, ast.Not):
        return f"not {expr(e.operand, _NOT)}", _NOT
    if isinstance(e, ast.If):
        return f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.otherwise)}", _IF
    if isinstance(e, ast.Call):
        return f"{e.func}({', '.join(expr(a) for a in e.args)})", _ATOM
    if isinstance(e, ast.Aggregate):
        parts = [expr(e.source)]
        if e.of is not None:
            parts.append(f"of {expr(e.of)}")
        if e.where is not None:
            parts.append(f"where {expr(e.where)}")
        return f"{e.func}({' '.join(parts)})", _ATOM
    if isinstance(e, ast.Extremum):
        return f"{e.func}({', '.join(expr(a) for a in e.args)})", _ATOM
    raise TypeError(f"cannot format {type(e).__name__}")  # pragma: no cover


def _label(label: str | None) -> str:
    return f" {quote(label)}" if label is not None else ""


def _cite(cite: str | None) -> str:
    return f" cite {quote(cite)}" if cite is not None else ""


def _note(note: str | None) -> str:
    return f" note {quote(note)}" if note is not None else ""


def _for(categories: tuple[str, ...]) -> str:
    return f" for {', '.join(categories)}" if categories else ""


def _date(value: datetime.date) -> str:
    return value.isoformat()


def type_ref(t: ast.TypeRef) -> str:
    base = f"list of {t.name}" if t.is_list else t.name
    return base + ("?" if t.optional else "")


def constraint(c: ast.Constraint) -> str:
    if c.op is None:
        assert c.high is not None
        return f"in {expr(c.low, _SUM)}..{expr(c.high, _SUM)}"
    return f"{c.op} {expr(c.low, _SUM)}"


def header(h: ast.Header) -> str:
    lines = [f"policy {h.name}{_label(h.label)}" + (f" extends {quote(h.extends)}" if h.extends else "") + " {"]
    if h.document is not None:
        lines.append(f"{_INDENT}document {quote(h.document)}")
    if h.issuer is not None:
        lines.append(f"{_INDENT}issuer {quote(h.issuer)}")
    if h.adopted is not None:
        lines.append(f"{_INDENT}adopted {_date(h.adopted)}")
    if h.issued is not None:
        lines.append(f"{_INDENT}issued {_date(h.issued)}")
    if h.period is not None:
        lines.append(f"{_INDENT}period {_date(h.period[0])} .. {_date(h.period[1])}")
    if h.cite is not None:
        lines.append(f"{_INDENT}cite {quote(h.cite)}")
    for note in h.notes:
        lines.append(f"{_INDENT}note {quote(note)}")
    lines.append("}")
    return "\n".join(lines)


def _section(s: ast.Section, depth: int) -> list[str]:
    pad = _INDENT * depth
    head = f"{pad}section {s.name}{_label(s.label)} {expr(s.points)}{_cite(s.cite)}"
    if not s.children:
        return [head]
    lines = [head + " {"]
    for child in s.children:
        lines.extend(_section(child, depth + 1))
    lines.append(pad + "}")
    return lines


def _rule(r: ast.Rule) -> str:
    cap = f" cap {expr(r.cap)}" if r.cap is not None else ""
    if r.kind == "full":
        assert r.condition is not None
        return f"full when {expr(r.condition)}"
    if r.kind == "proportional":
        assert r.amount is not None
        return f"proportional {expr(r.amount)}"
    if r.kind == "score":
        assert r.amount is not None
        return f"score {expr(r.amount)}"
    assert r.amount is not None
    head = f"deduct {expr(r.amount)}"
    if r.kind == "deduct_when":
        assert r.condition is not None
        return f"{head} when {expr(r.condition)}{_cite(r.cite)}"
    if r.kind == "deduct_unless":
        assert r.condition is not None
        return f"{head} unless {expr(r.condition)}{_cite(r.cite)}"
    if r.kind == "deduct_per":
        assert r.per is not None
        return f"{head} per {expr(r.per)}{cap}{_cite(r.cite)}"
    return f"{head}{cap}{_cite(r.cite)}"


def decl(d: ast.Decl) -> str:
    """One declaration as canonical text."""
    if isinstance(d, ast.Checkpoint):
        when = f"due {_date(d.end)}" if d.start is None else f"from {_date(d.start)} to {_date(d.end)}"
        return f"checkpoint {d.name}{_label(d.label)} {when}{_for(d.categories)}{_cite(d.cite)}{_note(d.note)}"
    if isinstance(d, ast.Category):
        lines = [f"category {d.name}{_label(d.label)} total {expr(d.total)}{_cite(d.cite)} {{"]
        for s in d.sections:
            lines.extend(_section(s, 1))
        lines.append("}")
        return "\n".join(lines)
    if isinstance(d, ast.EnumDecl):
        members = ",\n".join(f"{_INDENT}{m.name}{_label(m.label)}" for m in d.members)
        return f"enum {d.name}{_label(d.label)}{' ordered' if d.ordered else ''} {{\n{members}\n}}"
    if isinstance(d, ast.RecordDecl):
        lines = [f"record {d.name}{_label(d.label)} {{"]
        for f in d.fields:
            parts = [f"{_INDENT}{f.name}: {type_ref(f.type)}"]
            if f.constraint is not None:
                parts.append(constraint(f.constraint))
            if f.default is not None:
                parts.append(f"= {expr(f.default)}")
            lines.append(" ".join(parts) + _label(f.label) + _cite(f.cite))
        for let in d.lets:
            lines.append(_INDENT + _let(let))
        lines.append("}")
        return "\n".join(lines)
    if isinstance(d, ast.FactDecl):
        parts = [f"fact {d.name}: {type_ref(d.type)}"]
        if d.constraint is not None:
            parts.append(constraint(d.constraint))
        if d.default is not None:
            parts.append(f"= {expr(d.default)}")
        source = f" source {quote(d.source)}" if d.source is not None else ""
        return " ".join(parts) + _label(d.label) + _for(d.categories) + _cite(d.cite) + source + _note(d.note)
    if isinstance(d, ast.ParamDecl):
        typed = f": {type_ref(d.type)}" if d.type is not None else ""
        if d.periods:
            values = "\n".join(f"{_INDENT}from {_date(start)}: {expr(value)}" for start, value in d.periods)
            return f"param {d.name}{typed}{_label(d.label)}{_cite(d.cite)}{_note(d.note)} {{\n{values}\n}}"
        return f"param {d.name}{typed} = {expr(d.value)}{_label(d.label)}{_cite(d.cite)}{_note(d.note)}"
    if isinstance(d, ast.LetDecl):
        return _let(d)
    if isinstance(d, ast.DeferDecl):
        to = f" to {quote(d.to)}" if d.to is not None else ""
        return (f"defer {d.name}{_label(d.label)}\n{_INDENT}from {d.source_list} where {expr(d.where)}\n"
                f"{_INDENT}as {d.alias}{to}{_for(d.categories)}{_cite(d.cite)}{_note(d.note)}")
    if isinstance(d, ast.TargetDecl):
        placements = (",\n" + _INDENT * 2).join(f"{'.'.join(p.path)} points {expr(p.points)}" for p in d.placements)
        lines = [f"target {d.name}{_label(d.label)}{_cite(d.cite)}{_note(d.note)}"]
        if placements:
            lines.append(f"{_INDENT}in {placements} {{")
        else:
            lines[0] += " {"
        lines.extend(f"{_INDENT}{_rule(r)}" for r in d.rules)
        lines.append("}")
        return "\n".join(lines)
    if isinstance(d, ast.VetoDecl):
        if d.on_list is not None:
            test = f"on {expr(d.on_list)} where {expr(d.condition)}"
        else:
            test = f"when {expr(d.condition)}"
        lines = [f"veto {d.name}{_label(d.label)}{_for(d.categories)}{_cite(d.cite)}{_note(d.note)}", f"{_INDENT}{test}"]
        for x in d.exceptions:
            because = f" because {quote(x.because)}" if x.because is not None else ""
            lines.append(f"{_INDENT}unless {expr(x.condition)}{because}")
        return "\n".join(lines)
    if isinstance(d, ast.RatingsDecl):
        body = "\n".join(f"{_INDENT}{r.name}{_label(r.label)}" for r in d.ratings)
        return f"ratings {{\n{body}\n}} vetoed {d.vetoed}{_cite(d.cite)}"
    if isinstance(d, ast.BandsDecl):
        lines = [f"bands {d.category}{_cite(d.cite)} {{"]
        for b in d.bands:
            low = "[" if b.low_closed else "("
            high = "]" if b.high_closed else ")"
            lines.append(f"{_INDENT}{b.rating} {low}{expr(b.low)}, {expr(b.high)}{high}{_cite(b.cite)}")
        lines.append("}")
        return "\n".join(lines)
    if isinstance(d, ast.OutcomeDecl):
        lines = [f"outcome {d.rating}{_cite(d.cite)} {{"]
        for item in d.items:
            if item.kind == "sanction":
                lines.append(f"{_INDENT}sanction {item.name}{_label(item.label)}{_cite(item.cite)}")
                continue
            amount = expr(item.amount) if item.amount is not None else "rest"
            lines.append(f"{_INDENT}{item.kind} {item.name}{_label(item.label)} = {amount}{_cite(item.cite)}")
        for note in d.notes:
            lines.append(f"{_INDENT}note {quote(note)}")
        lines.append("}")
        return "\n".join(lines)
    raise TypeError(f"cannot format {type(d).__name__}")  # pragma: no cover


def _let(d: ast.LetDecl) -> str:
    typed = f": {type_ref(d.type)}" if d.type is not None else ""
    return f"let {d.name}{typed} = {expr(d.value)}{_label(d.label)}{_cite(d.cite)}"


def item(i: ast.Item) -> str:
    if isinstance(i, ast.Override):
        return "override " + decl(i.decl)
    if isinstance(i, ast.Remove):
        return f"remove {i.kind} {i.name}"
    return decl(i)


def format_policy(policy: ast.PolicyFile) -> str:
    """The whole file as canonical text (comments are not kept: the AST has none)."""
    parts = [header(policy.header)] + [item(i) for i in policy.items]
    return "\n\n".join(parts) + "\n"
