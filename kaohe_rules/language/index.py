"""The symbol index of a policy: every definition and every resolved reference, with spans (issue #14).

An editor asks "what is this name, where is it defined, who reads it"; the answers must be the
checker's, not a second guess, or a hover would name one fact while the evaluator reads another.
So the index is built from the checker's own side tables: :func:`build_index` links the policy
(``extends`` included), runs :func:`kaohe_rules.language.check.analyse` — which keeps the
resolutions of a policy *with* errors, so the index still works while the author types — and
walks the AST once:

* a :class:`Definition` for every declaration and every named part of one (section, enum
  member, record field and record let, rating, band, outcome item, period, ledger rule, map,
  cohort, ``as NAME`` item), with the span of the whole declaration, the span of its name, its
  label, citation and type text;
* a :class:`Reference` for every name that means a definition: names and members in
  expressions (resolved by the checker's ``Resolution``: item fields, ``as NAME``, record lets,
  enum members by context), placement paths, ``for`` category lists, type names, ratings in
  bands/outcomes/vetoes, ledger and map headers.

Spans keep their :class:`~kaohe_rules.source.SourceFile`, whose name is the file the text came
from: definitions inherited through ``extends`` carry the parent's file name, so a client can
jump there.  A policy that does not link (a syntax error in a parent, a missing parent) is
indexed from its own file alone; one that does not parse has an empty index and the parser's
diagnostic.

Name spans come from the text: the AST keeps a declaration's span, not its name's, so the
index scans the declaration's tokens (names, strings and comments told apart as the grammar's
terminals do) for the name.  Nothing here imports the parser's Lark tables beyond what
``link`` needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from .. import limits
from ..errors import Diagnostic
from ..source import SourceFile, Span, point_span, without_bom
from . import ast
from .check import Analysis, analyse
from .linker import LinkedPolicy, link, parse_source
from .model import CheckedPolicy
from .types import PERIOD_RECORD, Type

__all__ = ["Definition", "PolicyIndex", "Reference", "Token", "build_index", "span_text", "tokens"]

#: The terminals the scanner tells apart (grammar/kaohe.lark: STRING, COMMENT, NAME).
_TOKEN = re.compile(r'(?P<string>"(?:\\.|[^"\\\n])*"|“[^”\n]*”)|(?P<comment>#[^\n]*)|(?P<name>[^\W\d]\w*)|(?P<other>\S)')


@attrs.frozen
class Token:
    """A name-like token of the text: 1-based line and column, ``end`` exclusive (as spans)."""

    text: str
    line: int
    column: int
    end: int


def tokens(source: SourceFile) -> tuple[tuple[Token, ...], ...]:
    """Per line (index 0 = line 1), the name tokens of ``source``: strings and comments skipped."""
    out: list[tuple[Token, ...]] = []
    for number, line in enumerate(source.lines, start=1):
        found: list[Token] = []
        for match in _TOKEN.finditer(line):
            if match.lastgroup == "name":
                found.append(Token(match.group(), number, match.start() + 1, match.end() + 1))
        out.append(tuple(found))
    return tuple(out)


@attrs.define(eq=False)
class Definition:
    """One named thing a policy declares.

    ``key`` is its identity (kind, container…, name): the same key in two files is the same
    symbol (an inherited one).  ``span`` is the whole declaration, ``name_span`` its name;
    ``node`` the AST node, for the details a hover shows; ``children`` the named parts (a
    category's sections, an enum's members …), for an outline.
    """

    kind: str
    name: str
    key: tuple[str, ...]
    span: Span
    name_span: Span
    label: str | None = None
    cite: str | None = None
    type_text: str | None = None
    container: str | None = None
    node: object = None
    children: list[Definition] = attrs.field(factory=list)

    @property
    def file(self) -> str:
        return self.span.source.name


@attrs.frozen(eq=False)
class Reference:
    """A name in the text (``span``, the name only) that means ``target``."""

    span: Span
    target: Definition


def _contains(span: Span, line: int, column: int) -> bool:
    if line < span.line or line > span.end_line:
        return False
    if line == span.line and column < span.column:
        return False
    return not (line == span.end_line and column >= span.end_column)


@attrs.define(eq=False)
class PolicyIndex:
    """Definitions and references of one policy (and what ``extends`` brings in)."""

    source: SourceFile
    definitions: list[Definition] = attrs.field(factory=list)  # top level, in file order (parents after)
    references: list[Reference] = attrs.field(factory=list)
    diagnostics: list[Diagnostic] = attrs.field(factory=list)
    analysis: Analysis | None = None
    linked: LinkedPolicy | None = None

    def all_definitions(self) -> Iterator[Definition]:
        """Every definition, parts included, depth first."""
        stack = list(reversed(self.definitions))
        while stack:
            d = stack.pop()
            yield d
            stack.extend(reversed(d.children))

    def lookup(self, kind: str, name: str) -> Definition | None:
        """The first definition of ``kind`` named ``name`` (categories, facts, … — top-level names)."""
        for d in self.all_definitions():
            if d.kind == kind and d.name == name:
                return d
        return None

    def lookup_key(self, key: tuple[str, ...]) -> Definition | None:
        """The definition of identity ``key`` (``("section", "区政府", "管理目标")``), or None."""
        return next((d for d in self.all_definitions() if d.key == key), None)

    def at(self, file: str, line: int, column: int) -> list[Definition]:
        """What the name at a position means: the targets of a reference there, or the definition named there."""
        found = [r.target for r in self.references if r.span.source.name == file and _contains(r.span, line, column)]
        if found:
            return list(dict.fromkeys(found))
        return [d for d in self.all_definitions()
                if d.name_span.source.name == file and _contains(d.name_span, line, column)][:1]

    def spans_at(self, file: str, line: int, column: int) -> list[Span]:
        """The span of the name at a position: a reference's, else a definition's name (empty: no name there)."""
        found = [r.span for r in self.references if r.span.source.name == file and _contains(r.span, line, column)]
        found += [d.name_span for d in self.all_definitions()
                  if d.name_span.source.name == file and _contains(d.name_span, line, column)]
        return found[:1]

    def references_to(self, definition: Definition) -> list[Reference]:
        """Every reference to ``definition`` (or to a symbol of the same key: an override)."""
        return [r for r in self.references if r.target is definition or r.target.key == definition.key]

    @property
    def checked(self) -> CheckedPolicy | None:
        """The checked model when the policy has no errors (the values a hover shows), else None."""
        return self.analysis.checked if self.analysis is not None else None


# --------------------------------------------------------------------------- building


def build_index(text: str, path: str | None = None, *, root: Path | None = None) -> PolicyIndex:
    """Index policy ``text``, read from ``path`` (None: text without a file, ``extends`` from the current directory).

    Never raises for bad policy text: a policy that does not parse gives an index with only
    its diagnostics, one nested too deeply for the stages K009 (as ``kaohe check``).  ``root``
    bounds what ``extends`` may read, as for :func:`~.linker.link`.
    """
    name = path if path is not None else "<policy>"
    source = SourceFile(name, without_bom(text))
    index = PolicyIndex(source=source)
    try:
        with limits.deep_policy_stack():  # as ``policy.load``: one level of stack per level of an expression
            _fill(index, source, Path(path).parent if path is not None else None, root)
    except (RecursionError, MemoryError):
        index.definitions.clear()
        index.references.clear()
        index.diagnostics[:] = [Diagnostic(
            "K009", "an expression nests too deeply to check", point_span(source, 1, 1),
            hint="split long or deeply nested expressions into several let declarations")]
    return index


def _fill(index: PolicyIndex, source: SourceFile, base_dir: Path | None, root: Path | None) -> None:
    linked = link(source, base_dir, root=root)
    if isinstance(linked, list):
        index.diagnostics.extend(linked)
        alone = parse_source(source)
        if isinstance(alone, Diagnostic):
            return
        linked = _unlinked(alone, source)
    index.linked = linked
    index.analysis = analyse(linked)
    if not index.diagnostics:
        index.diagnostics.extend(index.analysis.diagnostics)
    _Builder(index, linked, index.analysis).run()


def _unlinked(parsed: ast.PolicyFile, source: SourceFile) -> LinkedPolicy:
    """The declarations of one file as if it extended nothing (an index while its parent is broken)."""
    decls: list[ast.Decl] = []
    for item in parsed.items:
        if isinstance(item, ast.Override):
            decls.append(item.decl)
        elif not isinstance(item, ast.Remove):
            decls.append(item)
    return LinkedPolicy(header=parsed.header, decls=tuple(decls), lineage=(parsed.header.name,), sources=(source,))


@attrs.define
class _Item:
    """One enclosing list item while walking expressions: its record (if any) and its ``as`` name."""

    record: str | None
    binding: Definition | None = None


class _Builder:
    """Walks the linked declarations once, making definitions, then references."""

    def __init__(self, index: PolicyIndex, linked: LinkedPolicy, analysis: Analysis) -> None:
        self.index = index
        self.linked = linked
        ctx = analysis.context
        self.res = ctx.res if ctx is not None else {}
        self.types: dict[ast.Expr, Type] = ctx.types if ctx is not None else {}
        self.record_fields: dict[str, dict[str, Type]] = ctx.record_fields if ctx is not None else {}
        self.fact_types: dict[str, Type] = ctx.fact_types if ctx is not None else {}
        self.let_types: dict[str, Type] = ctx.let_types if ctx is not None else {}
        self.param_types: dict[str, Type] = ctx.param_types if ctx is not None else {}
        self._tokens: dict[int, tuple[tuple[Token, ...], ...]] = {}
        self.by_key: dict[tuple[str, ...], Definition] = {}

    # ----------------------------------------------------------- tokens and spans
    def span_tokens(self, span: Span) -> list[Token]:
        """The name tokens inside ``span``, in order."""
        source = span.source
        table = self._tokens.get(id(source))
        if table is None:
            table = self._tokens[id(source)] = tokens(source)
        out: list[Token] = []
        for line in range(span.line, min(span.end_line, len(table)) + 1):
            for tok in table[line - 1]:
                if line == span.line and tok.column < span.column:
                    continue
                if line == span.end_line and tok.end > span.end_column:
                    break
                out.append(tok)
        return out

    @staticmethod
    def tok_span(source: SourceFile, tok: Token) -> Span:
        return Span(source, tok.line, tok.column, tok.line, tok.end)

    def name_span(self, span: Span, name: str, skip: int = 0) -> Span:
        """The span of the first token ``name`` in ``span`` (after ``skip`` tokens); the whole span if none."""
        for tok in self.span_tokens(span)[skip:]:
            if tok.text == name:
                return self.tok_span(span.source, tok)
        return Span(span.source, span.line, span.column, span.line, span.column + 1)

    def after(self, span: Span, keyword: str, start: Span | None = None) -> list[Token]:
        """The tokens after the first ``keyword`` token in ``span`` (after ``start``'s end when given)."""
        toks = self.span_tokens(span)
        if start is not None:
            toks = [t for t in toks if (t.line, t.column) >= (start.end_line, start.end_column)]
        for i, tok in enumerate(toks):
            if tok.text == keyword:
                return toks[i + 1:]
        return []

    # ----------------------------------------------------------------- definitions
    def define(self, kind: str, name: str, key: tuple[str, ...], span: Span, *, name_span: Span | None = None,
               label: str | None = None, cite: str | None = None, type_text: str | None = None,
               container: str | None = None, node: object = None, parent: Definition | None = None) -> Definition:
        d = Definition(kind=kind, name=name, key=key, span=span,
                       name_span=name_span if name_span is not None else self.name_span(span, name),
                       label=label, cite=cite, type_text=type_text, container=container, node=node)
        if parent is not None:
            parent.children.append(d)
        else:
            self.index.definitions.append(d)
        self.by_key.setdefault(key, d)
        return d

    def refer(self, span: Span, target: Definition | None) -> None:
        if target is not None:
            self.index.references.append(Reference(span, target))

    def refer_token(self, source: SourceFile, tok: Token, target: Definition | None) -> None:
        self.refer(self.tok_span(source, tok), target)

    def run(self) -> None:
        decls = list(self.linked.decls)
        for decl in decls:
            self.define_decl(decl)
        for decl in decls:
            self.refs_decl(decl)

    @staticmethod
    def type_text(ref: ast.TypeRef | None) -> str | None:
        if ref is None:
            return None
        return ("list of " if ref.is_list else "") + ref.name + ("?" if ref.optional else "")

    def define_decl(self, decl: ast.Decl) -> None:
        if isinstance(decl, ast.Category):
            cat = self.define("category", decl.name, ("category", decl.name), decl.span, label=decl.label,
                              cite=decl.cite, node=decl)
            self.define_sections(decl.name, (), decl.sections, cat)
        elif isinstance(decl, ast.EnumDecl):
            enum = self.define("enum", decl.name, ("enum", decl.name), decl.span, label=decl.label, node=decl)
            for m in decl.members:
                self.define("member", m.name, ("member", decl.name, m.name), m.span, label=m.label,
                            container=decl.name, node=m, parent=enum, type_text=decl.name)
        elif isinstance(decl, ast.RecordDecl):
            rec = self.define("record", decl.name, ("record", decl.name), decl.span, label=decl.label, node=decl)
            for f in decl.fields:
                self.define("field", f.name, ("field", decl.name, f.name), f.span, label=f.label, cite=f.cite,
                            type_text=self.type_text(f.type), container=decl.name, node=f, parent=rec)
            for let in decl.lets:
                t = self.record_fields.get(decl.name, {}).get(let.name)
                self.define("field", let.name, ("field", decl.name, let.name), let.span, label=let.label,
                            cite=let.cite, type_text=t.describe() if t is not None and not t.is_error
                            else self.type_text(let.type), container=decl.name, node=let, parent=rec,
                            name_span=self.name_span(let.span, let.name, skip=1))
        elif isinstance(decl, ast.FactDecl):
            self.define("fact", decl.name, ("fact", decl.name), decl.span, label=decl.label, cite=decl.cite,
                        type_text=self.type_text(decl.type), node=decl, name_span=self.name_span(decl.span, decl.name, 1))
        elif isinstance(decl, ast.ParamDecl):
            t = self.param_types.get(decl.name)
            self.define("param", decl.name, ("param", decl.name), decl.span, label=decl.label, cite=decl.cite,
                        type_text=t.describe() if t is not None and not t.is_error else self.type_text(decl.type),
                        node=decl, name_span=self.name_span(decl.span, decl.name, 1))
        elif isinstance(decl, ast.LetDecl):
            t = self.let_types.get(decl.name)
            self.define("let", decl.name, ("let", decl.name), decl.span, label=decl.label, cite=decl.cite,
                        type_text=t.describe() if t is not None and not t.is_error else self.type_text(decl.type),
                        node=decl, name_span=self.name_span(decl.span, decl.name, 1))
        elif isinstance(decl, ast.DeferDecl):
            d = self.define("defer", decl.name, ("defer", decl.name), decl.span, label=decl.label, cite=decl.cite,
                            node=decl, name_span=self.name_span(decl.span, decl.name, 1))
            where = decl.where.span
            alias_tok = [t for t in self.span_tokens(decl.span) if (t.line, t.column) >= (where.end_line, where.end_column)]
            alias_span = next((self.tok_span(decl.span.source, t) for t in alias_tok if t.text == decl.alias), None)
            self.define("alias", decl.alias, ("alias", decl.alias), decl.span, name_span=alias_span,
                        label=decl.label, container=decl.name, node=decl, parent=d,
                        type_text=f"the items of {decl.source_list} kept by defer {decl.name}")
        elif isinstance(decl, ast.TargetDecl):
            self.define("target", decl.name, ("target", decl.name), decl.span, label=decl.label, cite=decl.cite,
                        node=decl, name_span=self.name_span(decl.span, decl.name, 1))
        elif isinstance(decl, ast.VetoDecl):
            self.define("veto", decl.name, ("veto", decl.name), decl.span, label=decl.label, cite=decl.cite,
                        node=decl, name_span=self.name_span(decl.span, decl.name, 1))
        elif isinstance(decl, ast.RatingsDecl):
            group = self.define("ratings", "ratings", ("ratings",), decl.span, cite=decl.cite, node=decl,
                                name_span=self.name_span(decl.span, "ratings"))
            for r in decl.ratings:
                self.define("rating", r.name, ("rating", r.name), r.span, label=r.label, node=r, parent=group)
        elif isinstance(decl, ast.BandsDecl):
            group = self.define("bands", decl.category, ("bands", decl.category), decl.span, cite=decl.cite,
                                node=decl, name_span=self.name_span(decl.span, decl.category, 1))
            for b in decl.bands:
                self.define("band", b.rating, ("band", decl.category, b.rating), b.span, cite=b.cite,
                            container=decl.category, node=b, parent=group)
        elif isinstance(decl, ast.OutcomeDecl):
            title = decl.rating or "outcome"
            group = self.define("outcome", title, ("outcome", decl.rating or f"@{decl.span.location()}"), decl.span,
                                cite=decl.cite, node=decl,
                                name_span=self.name_span(decl.span, decl.rating, 1) if decl.rating
                                else self.name_span(decl.span, "outcome"))
            for item in decl.items:
                self.define("outcome item", item.name, ("outcome item", group.key[1], item.name), item.span,
                            label=item.label, cite=item.cite, container=title, node=item, parent=group,
                            type_text=f"{item.kind}, money" if item.kind != "sanction" else "sanction",
                            name_span=self.name_span(item.span, item.name, 1))
        elif isinstance(decl, ast.PeriodsDecl):
            group = self.define("periods", "periods", ("periods",), decl.span, cite=decl.cite, node=decl)
            for p in decl.items:
                self.define("period", p.name, ("period", p.name), p.span, label=p.label, cite=p.cite, node=p,
                            parent=group, type_text=f"weight {p.weight}%")
        elif isinstance(decl, ast.Checkpoint):
            self.define("checkpoint", decl.name, ("checkpoint", decl.name), decl.span, label=decl.label,
                        cite=decl.cite, node=decl, type_text="date", name_span=self.name_span(decl.span, decl.name, 1))
        elif isinstance(decl, ast.CohortDecl):
            self.define("cohort", decl.name, ("cohort", decl.name), decl.span, label=decl.label, cite=decl.cite,
                        node=decl, name_span=self.name_span(decl.span, decl.name, 1))
        elif isinstance(decl, ast.LedgerDecl):
            led = self.define("ledger", decl.name, ("ledger", decl.name), decl.span, label=decl.label,
                              cite=decl.cite, node=decl, type_text=f"list of {decl.record}",
                              name_span=self.name_span(decl.span, decl.name, 1))
            for rule in decl.rules:
                skip = 2 if isinstance(rule, ast.LedgerHandOver) else 1
                self.define("ledger rule", rule.name, ("ledger rule", decl.name, rule.name), rule.span,
                            label=rule.label, cite=rule.cite, container=decl.name, node=rule, parent=led,
                            type_text=rule.KIND.replace("_", " "), name_span=self.name_span(rule.span, rule.name, skip))
        elif isinstance(decl, ast.MapDecl):
            self.define("map", decl.name, ("map", decl.name), decl.span, label=decl.label, cite=decl.cite,
                        node=decl, type_text=f"{decl.source} -> {decl.target}",
                        name_span=self.name_span(decl.span, decl.name, 1))

    def define_sections(self, category: str, path: tuple[str, ...], sections: Iterable[ast.Section],
                        parent: Definition) -> None:
        for s in sections:
            here = path + (s.name,)
            d = self.define("section", s.name, ("section", category) + here, s.span, label=s.label, cite=s.cite,
                            container=".".join((category,) + path), node=s, parent=parent,
                            name_span=self.name_span(s.span, s.name, 1))
            self.define_sections(category, here, s.children, d)

    # ------------------------------------------------------------------ references
    def named(self, kind: str, *name: str) -> Definition | None:
        return self.by_key.get((kind,) + name)

    def type_ref(self, ref: ast.TypeRef | None) -> None:
        if ref is None:
            return
        target = self.named("record", ref.name) or self.named("enum", ref.name)
        if target is not None:
            for tok in self.span_tokens(ref.span):
                if tok.text == ref.name:
                    self.refer_token(ref.span.source, tok, target)

    def names_after(self, span: Span, keyword: str, names: Iterable[str], kind: str,
                    start: Span | None = None) -> None:
        """References for the comma list after ``keyword`` (a ``for`` list of categories …)."""
        wanted = list(names)
        toks = self.after(span, keyword, start)
        for tok in toks[:len(wanted)]:
            if tok.text in wanted:
                self.refer_token(span.source, tok, self.named(kind, tok.text))

    def refs_decl(self, decl: ast.Decl) -> None:
        src = decl.span.source
        if isinstance(decl, ast.Category):
            for e in self.category_exprs(decl):
                self.expr(e, [])
        elif isinstance(decl, ast.RecordDecl):
            for f in decl.fields:
                self.type_ref(f.type)
                self.field_exprs(f.constraint, f.default, [])
            for let in decl.lets:
                self.type_ref(let.type)
                self.expr(let.value, [], record=decl.name)
        elif isinstance(decl, ast.FactDecl):
            self.type_ref(decl.type)
            self.field_exprs(decl.constraint, decl.default, [])
            if decl.categories:
                self.names_after(decl.span, "for", decl.categories, "category")
            if decl.ledger:
                self.names_after(decl.span, "from", [decl.ledger], "ledger", start=decl.type.span)
        elif isinstance(decl, ast.ParamDecl):
            self.type_ref(decl.type)
            self.expr(decl.value, [])
            for _, value in decl.periods:
                if value is not decl.value:
                    self.expr(value, [])
        elif isinstance(decl, ast.LetDecl):
            self.type_ref(decl.type)
            self.expr(decl.value, [])
        elif isinstance(decl, ast.DeferDecl):
            source_def = (self.named("fact", decl.source_list) or self.named("let", decl.source_list)
                          or self.named("alias", decl.source_list))
            toks = self.after(decl.span, "from")
            if toks and toks[0].text == decl.source_list:
                self.refer_token(src, toks[0], source_def)
            binding = None
            if decl.item_name is not None and len(toks) > 2 and toks[1].text == "as":
                binding = self.define("item", decl.item_name, ("item", decl.item_name, decl.span.location()),
                                      decl.span, name_span=self.tok_span(src, toks[2]), container=decl.name,
                                      node=decl, parent=self.named("defer", decl.name))
            elem = self.elem_record_of_name(decl.source_list)
            if binding is not None:
                binding.type_text = elem
            self.expr(decl.where, [_Item(elem, binding)])
            if decl.categories:
                self.names_after(decl.span, "for", decl.categories, "category")
        elif isinstance(decl, ast.TargetDecl):
            for placement in decl.placements:
                toks = self.span_tokens(placement.span)
                category = placement.path[0] if placement.path else ""
                for i, tok in enumerate(toks[:len(placement.path)]):
                    if i == 0:
                        self.refer_token(src, tok, self.named("category", category))
                    else:
                        self.refer_token(src, tok, self.named("section", category, *placement.path[1:i + 1]))
                self.expr(placement.points, [])
                if placement.cap is not None:
                    self.expr(placement.cap, [])
            for rule in decl.rules:
                for part in ast.rule_parts(rule):
                    if part is not None:
                        self.expr(part, [])
        elif isinstance(decl, ast.VetoDecl):
            items: list[_Item] = []
            if decl.on_list is not None:
                self.expr(decl.on_list, [])
                binding = None
                if decl.on_name is not None:
                    binding = self.binding_after(decl.on_list.span, decl.span, decl.on_name, decl.name,
                                                 self.named("veto", decl.name))
                elem = self.elem_record(decl.on_list)
                if binding is not None:
                    binding.type_text = elem
                items = [_Item(elem, binding)]
            self.expr(decl.condition, items)
            for exc in decl.exceptions:
                self.expr(exc.condition, items)
            if decl.categories:
                self.names_after(decl.span, "for", decl.categories, "category")
            effect = decl.effect
            if effect is not None:
                if effect.rating is not None:
                    self.refer(self.name_span(effect.span, effect.rating, 2), self.named("rating", effect.rating))
                if effect.amount is not None:
                    self.expr(effect.amount, [])
        elif isinstance(decl, ast.RatingsDecl):
            self.refer(self.name_span(decl.vetoed_span, decl.vetoed), self.named("rating", decl.vetoed))
        elif isinstance(decl, ast.BandsDecl):
            self.refer(self.name_span(decl.span, decl.category, 1), self.named("category", decl.category))
            for band in decl.bands:
                self.refer(self.name_span(band.span, band.rating), self.named("rating", band.rating))
                for bound in (band.low, band.high, band.requires):
                    if bound is not None and not (bound is band.high and band.open_top):
                        self.expr(bound, [])
        elif isinstance(decl, ast.OutcomeDecl):
            if decl.rating:
                self.refer(self.name_span(decl.span, decl.rating, 1), self.named("rating", decl.rating))
            key = decl.rating or f"@{decl.span.location()}"
            for item in decl.items:
                for part in (item.amount, item.condition):
                    if part is not None:
                        self.expr(part, [], outcome=key)
                if item.categories:
                    self.names_after(item.span, "for", item.categories, "category")
        elif isinstance(decl, ast.Checkpoint):
            if decl.categories:
                self.names_after(decl.span, "for", decl.categories, "category")
        elif isinstance(decl, ast.CohortDecl):
            if decl.categories:
                self.names_after(decl.span, "for", decl.categories, "category")
            if decl.among is not None:
                self.expr(decl.among, [])
            for k in decl.keys:
                self.expr(k.value, [])
            for q in decl.quotas:
                self.refer(self.name_span(q.span, q.band, 1), self.named("rating", q.band))
                self.expr(q.limit, [])
        elif isinstance(decl, ast.LedgerDecl):
            if decl.record_span is not None:
                self.refer(decl.record_span, self.named("record", decl.record))
            if decl.key_span is not None and decl.key is not None:
                self.refer(decl.key_span, self.named("field", decl.record, decl.key))
            for ledger_rule in decl.rules:
                for condition in self.ledger_exprs(ledger_rule):
                    self.expr(condition, [], record=decl.record)
                if isinstance(ledger_rule, ast.LedgerCharge):
                    cats = [c for c in ledger_rule.categories if c not in ("unit", "units")]
                    self.names_after(ledger_rule.span, "to", cats, "category")
                    for term in ledger_rule.joins:  # ``unit.F == E``: F is the unit's fact
                        fact = self.named("fact", term.unit_fact) if term.unit_fact else None
                        toks = self.span_tokens(term.span)
                        for before, tok in zip(toks, toks[1:], strict=False):
                            if fact is not None and before.text == "unit" and tok.text == fact.name:
                                self.refer_token(src, tok, fact)
        elif isinstance(decl, ast.MapDecl):
            toks = self.after(decl.span, "from")
            if len(toks) >= 3:
                self.refer_token(src, toks[0], self.named("enum", decl.source))
                self.refer_token(src, toks[2], self.named("enum", decl.target))
            for entry in decl.entries:
                self.refer(self.name_span(entry.span, entry.key), self.named("member", decl.source, entry.key))
                self.expr(entry.value, [])
        elif isinstance(decl, ast.PeriodsDecl):
            pass

    @staticmethod
    def category_exprs(decl: ast.Category) -> list[ast.Expr]:
        out: list[ast.Expr] = [decl.total]
        if decl.bonus_cap is not None:
            out.append(decl.bonus_cap)
        stack = list(decl.sections)
        while stack:
            s = stack.pop()
            out.append(s.points)
            if s.cap is not None:
                out.append(s.cap)
            stack.extend(s.children)
        return out

    @staticmethod
    def ledger_exprs(rule: ast.LedgerRule) -> list[ast.Expr]:
        if isinstance(rule, ast.LedgerCharge):
            return [e for e in (rule.where, rule.condition) if e is not None]
        return [rule.condition]

    def field_exprs(self, constraint: ast.Constraint | None, default: ast.Expr | None, items: list[_Item]) -> None:
        if constraint is not None:
            self.expr(constraint.low, items)
            if constraint.high is not None:
                self.expr(constraint.high, items)
        if default is not None:
            self.expr(default, items)

    # -------------------------------------------------------------- expressions
    def elem_record(self, e: ast.Expr) -> str | None:
        """The record of the items of list expression ``e``, as the checker typed it."""
        t = self.types.get(e)
        if t is not None and t.kind == "list" and t.elem is not None and t.elem.kind == "record":
            return t.elem.name
        return None

    def elem_record_of_name(self, name: str) -> str | None:
        seen: set[str] = set()
        while name not in seen:
            seen.add(name)
            t = self.fact_types.get(name) or self.let_types.get(name)
            if t is not None:
                return t.elem.name if t.kind == "list" and t.elem is not None and t.elem.kind == "record" else None
            alias = self.named("alias", name)
            if alias is None or not isinstance(alias.node, ast.DeferDecl):
                return None
            name = alias.node.source_list
        return None

    def binding_after(self, source: Span, within: Span, name: str, container: str,
                      parent: Definition | None) -> Definition | None:
        """The ``as NAME`` after list expression ``source`` inside ``within``, as a local definition."""
        toks = self.after(within, "as", start=source)
        if not toks or toks[0].text != name:
            return None
        return self.define("item", name, ("item", name, within.location(), source.location()), within,
                           name_span=self.tok_span(within.source, toks[0]), container=container, parent=parent)

    def field_target(self, ident: str, record: str | None) -> Definition | None:
        """A record field's definition: of ``record`` when known, else of the one record that has such a field."""
        if record is not None:
            return self.named("field", record, ident)
        owners = [key for key in self.by_key if key[0] == "field" and key[2] == ident]
        return self.by_key[owners[0]] if len(owners) == 1 else None

    def expr(self, e: ast.Expr, items: list[_Item], *, record: str | None = None, outcome: str | None = None) -> None:
        """References in ``e``: ``items`` the enclosing list items (outermost first)."""
        src = e.span.source
        if isinstance(e, ast.Name):
            self.name_ref(e, items, record, outcome)
            return
        if isinstance(e, ast.Member):
            res = self.res.get(e)
            field_tok = [t for t in self.span_tokens(e.span) if t.text == e.field]
            field_span = self.tok_span(src, field_tok[-1]) if field_tok else e.span
            if res is not None and res.kind == "enum" and isinstance(e.obj, ast.Name) and e.obj.ident == res.name:
                self.refer(e.obj.span, self.named("enum", res.name))
                enum = self.named("enum", res.name)
                node = enum.node if enum is not None else None
                if isinstance(node, ast.EnumDecl) and isinstance(res.value, int) and res.value < len(node.members):
                    self.refer(field_span, self.named("member", res.name, node.members[res.value].name))
                return
            self.expr(e.obj, items, record=record, outcome=outcome)
            if res is not None and res.kind == "member":
                t = self.types.get(e.obj)
                rec = t.name if t is not None and t.kind == "record" else None
                if rec == PERIOD_RECORD:  # ``一季度.扣分``: a per-period fact (``一季度.score`` names nothing)
                    self.refer(field_span, self.named("fact", e.field))
                elif rec is not None:
                    self.refer(field_span, self.named("field", rec, e.field))
            return
        if isinstance(e, ast.Call):
            res = self.res.get(e)
            if res is not None and res.kind == "map":
                self.refer(self.name_span(e.span, e.func), self.named("map", e.func))
            elif res is not None and res.kind == "score_of" and len(e.args) == 1:
                self.score_ref(e.args[0], res.name, res.value)
                return
            for arg in e.args:
                self.expr(arg, items, record=record, outcome=outcome)
            return
        if isinstance(e, ast.Aggregate):
            self.expr(e.source, items, record=record, outcome=outcome)
            binding = None
            if e.name is not None:
                binding = self.binding_after(e.source.span, e.span, e.name, e.func, None)
            elem = self.elem_record(e.source)
            if binding is not None:
                binding.type_text = elem
            inner = items + [_Item(elem, binding)]
            for part in (e.of, e.where, e.by):
                if part is not None:
                    self.expr(part, inner, record=record, outcome=outcome)
            return
        for child in self.children(e):
            self.expr(child, items, record=record, outcome=outcome)

    @staticmethod
    def children(e: ast.Expr) -> list[ast.Expr]:
        out: list[ast.Expr] = []
        for f in attrs.fields(type(e)):
            value = getattr(e, f.name)
            if isinstance(value, tuple):
                out.extend(v for v in value if attrs.has(type(v)) and hasattr(v, "span") and not isinstance(v, Span))
            elif attrs.has(type(value)) and not isinstance(value, Span):
                out.append(value)
        return out

    def score_ref(self, arg: ast.Expr, kind: str, path: object) -> None:
        """``score(X)``: X names a target, or a section (in every category that has it)."""
        if not isinstance(path, tuple):
            return
        toks = self.span_tokens(arg.span)
        if kind == "target" and path:
            self.refer(arg.span if len(toks) != 1 else self.tok_span(arg.span.source, toks[0]),
                       self.named("target", str(path[-1])))
            return
        for key, d in self.by_key.items():
            if key[0] != "section":
                continue
            sec_path = key[2:]
            if sec_path == path or (len(path) == 1 and d.name == path[0]):
                for i, tok in enumerate(toks[:len(path)]):
                    target = d if i == len(path) - 1 else self.named("section", key[1], *sec_path[:len(sec_path) - len(path) + i + 1])
                    self.refer_token(arg.span.source, tok, target)

    def name_ref(self, e: ast.Name, items: list[_Item], record: str | None, outcome: str | None) -> None:
        res = self.res.get(e)
        if res is None:
            return
        kind, ident = res.kind, res.name or e.ident
        target: Definition | None = None
        if kind in ("fact", "param", "let", "alias", "checkpoint", "map"):
            target = self.named(kind, ident)
        elif kind == "enum":
            enum = self.named("enum", ident)
            node = enum.node if enum is not None else None
            if isinstance(node, ast.EnumDecl) and isinstance(res.value, int) and res.value < len(node.members):
                target = self.named("member", ident, node.members[res.value].name)
        elif kind == "it" and res.name:
            if 0 <= res.depth < len(items) and items[res.depth].binding is not None:
                target = items[res.depth].binding
        elif kind == "field":
            rec = items[res.depth].record if 0 <= res.depth < len(items) else None
            if rec == PERIOD_RECORD:  # ``periods of 扣分``: a per-period fact, read in each period (issue #11 P)
                target = self.named("fact", ident)
            else:
                target = self.field_target(ident, rec)
        elif kind == "record_field":
            target = self.field_target(ident, record)
        elif kind == "outcome_item" and outcome is not None:
            target = self.named("outcome item", outcome, ident)
        elif kind in ("period_name", "period_record"):
            target = self.named("period", ident)
        elif kind == "rating":
            target = self.named("rating", ident)
        self.refer(e.span, target)


def span_text(span: Span) -> str:
    """The text a span covers (lines joined with newlines), as written: a hover shows expressions so."""
    lines = [span.source.line(n) for n in range(span.line, span.end_line + 1)]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0][span.column - 1:span.end_column - 1]
    lines[0] = lines[0][span.column - 1:]
    lines[-1] = lines[-1][:span.end_column - 1]
    return "\n".join(lines)
