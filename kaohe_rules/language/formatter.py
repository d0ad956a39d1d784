"""AST → policy text: how tools (``kaohe diff``, explanations, the testing package) print declarations.

Not ``kaohe fmt``: the AST keeps no comments, so printing a whole file from it would lose
them; ``kaohe fmt`` is the concrete-syntax formatter :mod:`kaohe_rules.language.fmt`, which
lays out the tokens and comments as written.  This printer is the inverse of the parser up
to layout: for every policy,
``parse(format(parse(text)))`` equals ``parse(text)`` ignoring source spans, and
formatting is idempotent.  Both laws are property-tested.  It also lets tools
(diff, the testing package) print a declaration the way a person writes it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from . import ast
from .visitor import DeclVisitor, ExprVisitor

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
    text, prec = _EXPRS.visit(e)
    return f"({text})" if prec < min_prec else text


class _ExprFormatter(ExprVisitor[tuple[str, int]]):
    """An expression as text and the precedence of its outermost form."""

    def visit_Number(self, e: ast.Number) -> tuple[str, int]:
        return number(e.value, e.is_int), _ATOM

    def visit_MoneyLit(self, e: ast.MoneyLit) -> tuple[str, int]:
        return e.text if e.text else f"{number(e.value)}元", _ATOM

    def visit_PercentLit(self, e: ast.PercentLit) -> tuple[str, int]:
        return f"{number(e.value)}%", _ATOM

    def visit_DateLit(self, e: ast.DateLit) -> tuple[str, int]:
        return e.value.isoformat(), _ATOM

    def visit_TextLit(self, e: ast.TextLit) -> tuple[str, int]:
        return quote(e.value), _ATOM

    def visit_BoolLit(self, e: ast.BoolLit) -> tuple[str, int]:
        return ("true" if e.value else "false"), _ATOM

    def visit_NoneLit(self, e: ast.NoneLit) -> tuple[str, int]:
        return "none", _ATOM

    def visit_EmptyList(self, e: ast.EmptyList) -> tuple[str, int]:
        return "[]", _ATOM

    def visit_It(self, e: ast.It) -> tuple[str, int]:
        return "it", _ATOM

    def visit_Name(self, e: ast.Name) -> tuple[str, int]:
        return e.ident, _ATOM

    def visit_Member(self, e: ast.Member) -> tuple[str, int]:
        return f"{expr(e.obj, _POSTFIX)}.{e.field}", _POSTFIX

    def visit_Neg(self, e: ast.Neg) -> tuple[str, int]:
        inner = expr(e.operand, _UNARY)
        return f"-{inner}" if not inner.startswith("-") else f"-({inner})", _UNARY

    def visit_Binary(self, e: ast.Binary) -> tuple[str, int]:
        prec = _SUM if e.op in "+-" else _PRODUCT
        return f"{expr(e.left, prec)} {e.op} {expr(e.right, prec + 1)}", prec

    def visit_Compare(self, e: ast.Compare) -> tuple[str, int]:
        return f"{expr(e.left, _COALESCE)} {e.op} {expr(e.right, _COALESCE)}", _CMP

    def visit_InList(self, e: ast.InList) -> tuple[str, int]:  # issue #16
        return f"{expr(e.value, _COALESCE)} in {expr(e.container, _COALESCE)}", _CMP

    def visit_ListLit(self, e: ast.ListLit) -> tuple[str, int]:  # issue #16
        return f"[{', '.join(expr(i) for i in e.items)}]", _ATOM

    def visit_InRange(self, e: ast.InRange) -> tuple[str, int]:
        return f"{expr(e.value, _COALESCE)} in {expr(e.low, _COALESCE)}..{expr(e.high, _COALESCE)}", _CMP

    def visit_IsSet(self, e: ast.IsSet) -> tuple[str, int]:
        return f"{expr(e.operand, _COALESCE)} is {'set' if e.expect_set else 'none'}", _CMP

    def visit_Coalesce(self, e: ast.Coalesce) -> tuple[str, int]:
        return f"{expr(e.left, _SUM)} ?? {expr(e.right, _SUM)}", _COALESCE

    def visit_And(self, e: ast.And) -> tuple[str, int]:
        return f"{expr(e.left, _AND)} and {expr(e.right, _NOT)}", _AND

    def visit_Or(self, e: ast.Or) -> tuple[str, int]:
        return f"{expr(e.left, _OR)} or {expr(e.right, _AND)}", _OR

    def visit_Not(self, e: ast.Not) -> tuple[str, int]:
        return f"not {expr(e.operand, _NOT)}", _NOT

    def visit_If(self, e: ast.If) -> tuple[str, int]:
        return f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.otherwise)}", _IF

    def visit_Call(self, e: ast.Call) -> tuple[str, int]:
        return f"{e.func}({', '.join(expr(a) for a in e.args)})", _ATOM

    def visit_Aggregate(self, e: ast.Aggregate) -> tuple[str, int]:
        parts = [expr(e.source)]
        if e.name is not None:
            parts.append(f"as {e.name}")
        if e.of is not None:
            parts.append(f"of {expr(e.of)}")
        if e.where is not None:
            parts.append(f"where {expr(e.where)}")
        if e.by is not None:
            parts.append(f"by {expr(e.by)}")
        return f"{e.func}({' '.join(parts)})", _ATOM

    def visit_Extremum(self, e: ast.Extremum) -> tuple[str, int]:
        return f"{e.func}({', '.join(expr(a) for a in e.args)})", _ATOM



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
    if s.bonus:  # a bonus section (加分): no points, an optional cap
        cap = f" cap {expr(s.cap)}" if s.cap is not None else ""
        return [f"{pad}section {s.name}{_label(s.label)} bonus{cap}{_cite(s.cite)}"]
    only = f" only in {', '.join(s.periods)}" if s.periods else ""  # issue #11 P
    head = f"{pad}section {s.name}{_label(s.label)} {expr(s.points)}{only}{_cite(s.cite)}"
    if not s.children:
        return [head]
    lines = [head + " {"]
    for child in s.children:
        lines.extend(_section(child, depth + 1))
    lines.append(pad + "}")
    return lines


def _rule(r: ast.Rule) -> str:
    if isinstance(r, ast.Full):
        return f"full when {expr(r.condition)}"
    if isinstance(r, ast.Proportional):
        return f"proportional {expr(r.amount)}"
    if isinstance(r, ast.Score):
        return f"score {expr(r.amount)}"
    head = f"{'add' if isinstance(r, ast.BONUS_RULE_CLASSES) else 'deduct'} {expr(r.amount)}"
    if isinstance(r, (ast.DeductWhen, ast.AddWhen)):
        return f"{head} when {expr(r.condition)}{_cite(r.cite)}"
    if isinstance(r, (ast.DeductUnless, ast.AddUnless)):
        return f"{head} unless {expr(r.condition)}{_cite(r.cite)}"
    cap = f" cap {expr(r.cap)}" if r.cap is not None else ""
    if isinstance(r, (ast.DeductPer, ast.AddPer)):
        return f"{head} per {expr(r.per)}{cap}{_cite(r.cite)}"
    return f"{head}{cap}{_cite(r.cite)}"


def _placement(p: ast.Placement) -> str:
    if p.bonus:  # in a bonus section (加分): no points, an optional item cap
        return ".".join(p.path) + (f" cap {expr(p.cap)}" if p.cap is not None else "")
    return f"{'.'.join(p.path)} points {expr(p.points)}"


def _percent(value: Decimal) -> str:
    """A period's weight as written (issue #11 P): ``25%``."""
    return f"{number(value)}%"


class _DeclFormatter(DeclVisitor[str]):
    """One declaration as canonical text."""

    def visit_Checkpoint(self, d: ast.Checkpoint) -> str:
        when = f"due {_date(d.end)}" if d.start is None else f"from {_date(d.start)} to {_date(d.end)}"
        return f"checkpoint {d.name}{_label(d.label)} {when}{_for(d.categories)}{_cite(d.cite)}{_note(d.note)}"

    def visit_Category(self, d: ast.Category) -> str:
        bonus_cap = f" bonus cap {expr(d.bonus_cap)}" if d.bonus_cap is not None else ""
        lines = [f"category {d.name}{_label(d.label)} total {expr(d.total)}{bonus_cap}{_cite(d.cite)} {{"]
        for s in d.sections:
            lines.extend(_section(s, 1))
        lines.append("}")
        return "\n".join(lines)

    def visit_EnumDecl(self, d: ast.EnumDecl) -> str:
        members = ",\n".join(f"{_INDENT}{m.name}{_label(m.label)}" for m in d.members)
        return f"enum {d.name}{_label(d.label)}{' ordered' if d.ordered else ''} {{\n{members}\n}}"

    def visit_RecordDecl(self, d: ast.RecordDecl) -> str:
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

    def visit_FactDecl(self, d: ast.FactDecl) -> str:
        parts = [f"fact {d.name}: {type_ref(d.type)}"]
        if d.constraint is not None:
            parts.append(constraint(d.constraint))
        if d.default is not None:
            parts.append(f"= {expr(d.default)}")
        if d.ledger is not None:  # issue #16
            parts.append(f"from {d.ledger}")
        source = f" source {quote(d.source)}" if d.source is not None else ""
        per_period = " per period" if d.per_period else ""  # issue #11 P
        return (" ".join(parts) + _label(d.label) + per_period + _for(d.categories) + _cite(d.cite) + source
                + _note(d.note))

    def visit_ParamDecl(self, d: ast.ParamDecl) -> str:
        typed = f": {type_ref(d.type)}" if d.type is not None else ""
        if d.periods:
            values = "\n".join(f"{_INDENT}from {_date(start)}: {expr(value)}" for start, value in d.periods)
            return f"param {d.name}{typed}{_label(d.label)}{_cite(d.cite)}{_note(d.note)} {{\n{values}\n}}"
        return f"param {d.name}{typed} = {expr(d.value)}{_label(d.label)}{_cite(d.cite)}{_note(d.note)}"

    def visit_LetDecl(self, d: ast.LetDecl) -> str:
        return _let(d)

    def visit_DeferDecl(self, d: ast.DeferDecl) -> str:
        to = f" to {quote(d.to)}" if d.to is not None else ""
        named = f" as {d.item_name}" if d.item_name is not None else ""
        return (f"defer {d.name}{_label(d.label)}\n{_INDENT}from {d.source_list}{named} where {expr(d.where)}\n"
                f"{_INDENT}as {d.alias}{to}{_for(d.categories)}{_cite(d.cite)}{_note(d.note)}")

    def visit_TargetDecl(self, d: ast.TargetDecl) -> str:
        placements = (",\n" + _INDENT * 2).join(_placement(p) for p in d.placements)
        lines = [f"target {d.name}{_label(d.label)}{_cite(d.cite)}{_note(d.note)}"]
        if placements:
            lines.append(f"{_INDENT}in {placements} {{")
        else:
            lines[0] += " {"
        lines.extend(f"{_INDENT}{_rule(r)}" for r in d.rules)
        lines.append("}")
        return "\n".join(lines)

    def visit_VetoDecl(self, d: ast.VetoDecl) -> str:
        if d.on_list is not None:
            named = f" as {d.on_name}" if d.on_name is not None else ""
            test = f"on {expr(d.on_list)}{named} where {expr(d.condition)}"
        else:
            test = f"when {expr(d.condition)}"
        lines = [f"veto {d.name}{_label(d.label)}{_for(d.categories)}{_cite(d.cite)}{_note(d.note)}", f"{_INDENT}{test}"]
        for x in d.exceptions:
            because = f" because {quote(x.because)}" if x.because is not None else ""
            lines.append(f"{_INDENT}unless {expr(x.condition)}{because}")
        if d.effect is not None:
            lines.append(f"{_INDENT}then {_effect(d.effect)}")
        return "\n".join(lines)

    def visit_RatingsDecl(self, d: ast.RatingsDecl) -> str:
        body = "\n".join(f"{_INDENT}{r.name}{_label(r.label)}" for r in d.ratings)
        return f"ratings {{\n{body}\n}} vetoed {d.vetoed}{_cite(d.cite)}"

    def visit_PeriodsDecl(self, d: ast.PeriodsDecl) -> str:  # issue #11 P
        body = "\n".join(f"{_INDENT}{p.name}{_label(p.label)} weight {_percent(p.weight)}{_cite(p.cite)}"
                         for p in d.items)
        return f"periods{_cite(d.cite)} {{\n{body}\n}}"

    def visit_BandsDecl(self, d: ast.BandsDecl) -> str:
        lines = [f"bands {d.category}{_cite(d.cite)} {{"]
        for b in d.bands:
            requires = f" requires {expr(b.requires)}" if b.requires is not None else ""
            if b.open_top:  # the open top band (bonus points): 优秀 >= 90
                lines.append(f"{_INDENT}{b.rating} {'>=' if b.low_closed else '>'} {expr(b.low)}{requires}{_cite(b.cite)}")
                continue
            low = "[" if b.low_closed else "("
            high = "]" if b.high_closed else ")"
            lines.append(f"{_INDENT}{b.rating} {low}{expr(b.low)}, {expr(b.high)}{high}{requires}{_cite(b.cite)}")
        lines.append("}")
        return "\n".join(lines)

    def visit_OutcomeDecl(self, d: ast.OutcomeDecl) -> str:
        rating = f" {d.rating}" if d.rating else ""
        lines = [f"outcome{rating}{_cite(d.cite)} {{"]
        for item in d.items:
            when = f" when {expr(item.condition)}" if item.condition is not None else ""
            options = f"{when}{_for(item.categories)}{_cite(item.cite)}"
            if item.kind == "sanction":
                lines.append(f"{_INDENT}sanction {item.name}{_label(item.label)}{options}")
                continue
            amount = expr(item.amount) if item.amount is not None else "rest"
            lines.append(f"{_INDENT}{item.kind} {item.name}{_label(item.label)} = {amount}{options}")
        for note in d.notes:
            lines.append(f"{_INDENT}note {quote(note)}")
        lines.append("}")
        return "\n".join(lines)

    def visit_LedgerDecl(self, d: ast.LedgerDecl) -> str:
        """A ledger (issue #16): its head, then one attribution rule per line (or two, with a condition)."""
        key = f" key {d.key}" if d.key is not None else ""
        shown = f" shown as {quote(d.shown)}" if d.shown is not None else ""
        source = f" source {quote(d.source)}" if d.source is not None else ""
        lines = [f"ledger {d.name}{_label(d.label)} of {d.record}{key}{shown}{_cite(d.cite)}{source}{_note(d.note)} {{"]
        lines.extend(_ledger_rule(r) for r in d.rules)
        lines.append("}")
        return "\n".join(lines)

    def visit_MapDecl(self, d: ast.MapDecl) -> str:
        """A map (issue #16): one ``A -> B`` per line."""
        lines = [f"map {d.name}{_label(d.label)} from {d.source} to {d.target}{_cite(d.cite)} {{"]
        lines.extend(f"{_INDENT}{e.key} -> {expr(e.value, _SUM)}" for e in d.entries)
        lines.append("}")
        return "\n".join(lines)

    def visit_CohortDecl(self, d: ast.CohortDecl) -> str:
        """A cohort block (issue #11 C), its parts in the grammar's order, one per line."""
        lines = [f"cohort {d.name}{_label(d.label)}{_cite(d.cite)} {{"]
        if d.categories:
            lines.append(f"{_INDENT}for {', '.join(d.categories)}")
        if d.among is not None:
            lines.append(f"{_INDENT}among {expr(d.among)}")
        if d.keys:
            lines.append(f"{_INDENT}by " + ", ".join(cohort_key(k) for k in d.keys))
        if d.ties is not None:
            lines.append(f"{_INDENT}ties {d.ties}")
        for q in d.quotas:
            of = " of ranked" if q.of_ranked else ""
            lines.append(f"{_INDENT}quota {q.band} at most {expr(q.limit, _SUM)}{of}{_for(q.categories)}{_cite(q.cite)}")
        lines.append("}")
        return "\n".join(lines)


def _ledger_rule(r: ast.LedgerRule) -> str:
    """One attribution rule of a ledger (issue #16), indented, its options after it."""
    options = f"{_cite(r.cite)}{_note(r.note)}"
    if isinstance(r, ast.LedgerExclude):
        because = f" because {quote(r.because)}" if r.because is not None else ""
        return f"{_INDENT}exclude {r.name}{_label(r.label)} when {expr(r.condition)}{because}{options}"
    if isinstance(r, ast.LedgerHandOver):
        return f"{_INDENT}hand over {r.name}{_label(r.label)} when {expr(r.condition)} to {quote(r.to)}{options}"
    where = f"\n{_INDENT * 2}where {expr(r.where)}" if r.where is not None else ""
    when = f"\n{_INDENT * 2}when {expr(r.condition)}" if r.condition is not None else ""
    return f"{_INDENT}charge {r.name}{_label(r.label)} to {', '.join(r.categories)}{where}{when}{options}"


def cohort_key(k: ast.CohortKey) -> str:
    """One ranking key as written: ``score``, ``死亡人数 lower first`` (``higher first`` is the default)."""
    return expr(k.value) + (" lower first" if k.lower_first else "")


_EXPRS = _ExprFormatter()
_DECLS = _DeclFormatter()


def decl(d: ast.Decl) -> str:
    """One declaration as canonical text."""
    return _DECLS.visit_decl(d)


def _let(d: ast.LetDecl) -> str:
    typed = f": {type_ref(d.type)}" if d.type is not None else ""
    report = " report" if d.report else ""
    return f"let {d.name}{typed} = {expr(d.value)}{_label(d.label)}{_cite(d.cite)}{report}"


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


def _effect(effect: ast.VetoEffect) -> str:
    """``rating R`` / ``downgrade N`` / ``cap R`` / ``score E``: a veto's effect after ``then``."""
    if effect.rating is not None:
        return f"{effect.kind} {effect.rating}"
    assert effect.amount is not None
    return f"{effect.kind} {expr(effect.amount)}"
