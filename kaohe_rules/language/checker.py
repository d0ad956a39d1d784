"""Stage 3: the static checker — names, types, units, budgets, bands and rules.

The checker turns a :class:`~kaohe_rules.language.linker.LinkedPolicy` into a
:class:`~kaohe_rules.language.model.CheckedPolicy` or a list of diagnostics.  It collects
every error it can find in one pass (it does not stop at the first), because a
policy author fixes a file best when they see all of its problems at once.

What it proves, so that the evaluator need not check at run time:

* every name resolves, every expression is well typed (money is not mixed with
  plain numbers, optional values are tested before use);
* the sections of each category add up to its total and the targets of each
  leaf section add up to the section;
* the bands of each category cover ``[0, total]`` without gap or overlap, and
  better ratings sit higher;
* ``let`` declarations have no cycles; outcomes divide money with one ``rest``.
"""

from __future__ import annotations

import datetime
import decimal
import difflib
import hashlib
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

import attrs

from ..errors import Diagnostic
from ..numeric import ENGINE_CONTEXT
from ..source import Span
from . import ast
from .linker import LinkedPolicy
from .model import (
    BandInfo,
    CategoryInfo,
    CategoryPlan,
    CheckedPolicy,
    PlacedTarget,
    Reader,
    Resolution,
    SectionInfo,
)
from .parser import KEYWORDS
from .types import (
    BOOL,
    DATE,
    DECIMAL,
    EMPTY,
    ERROR,
    INT,
    MONEY,
    NONE,
    NUMERIC,
    PERCENT,
    TEXT,
    TYPE_ALIASES,
    Type,
    arithmetic,
    assignable,
    comparable,
)

FUNCTIONS = ("round", "floor", "ceil", "abs", "year", "month", "day")


@attrs.frozen
class Scope:
    """Where an expression is checked: enclosing list items, record, categories, narrowed names."""

    items: tuple[Type, ...] = ()
    record: str | None = None
    categories: frozenset[str] | None = None  # None: every category
    narrowed: frozenset[str] = frozenset()
    outcome_items: tuple[str, ...] = ()
    constants_only: bool = False

    def narrow(self, names: Iterable[str]) -> Scope:
        names = frozenset(names)
        return attrs.evolve(self, narrowed=self.narrowed | names) if names else self


class _Collector:
    """Collects diagnostics; ``error`` returns ERROR so callers can recover and go on."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> Type:
        self.items.append(Diagnostic(code, message, span, hint))
        return ERROR

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, hint, severity="warning"))


def did_you_mean(name: str, options: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"did you mean '{match[0]}'?" if match else None


def check(linked: LinkedPolicy) -> CheckedPolicy | list[Diagnostic]:
    """Check a linked policy; return the checked model, or every diagnostic (errors first)."""
    checker = _Checker(linked)
    try:
        result = checker.run()
    except RecursionError:
        return [Diagnostic("K009", "policy expressions nest too deeply to check", linked.header.span,
                           hint="split deeply nested expressions into let declarations")]
    errors = [d for d in checker.diag.items if d.severity == "error"]
    if errors or result is None:
        return sorted(checker.diag.items, key=_diag_order)
    return result


def _diag_order(d: Diagnostic) -> tuple[int, str, int, int]:
    return (0 if d.severity == "error" else 1, d.file or "", d.line or 0, d.column or 0)


class _Checker:
    def __init__(self, linked: LinkedPolicy) -> None:
        self.linked = linked
        self.diag = _Collector()
        self.types: dict[ast.Expr, Type] = {}
        self.res: dict[ast.Expr, Resolution] = {}
        self.reads: dict[Reader, tuple[str, ...]] = {}
        self._reading: list[set[str]] = []
        self.categories: dict[str, CategoryInfo] = {}
        self.enums: dict[str, ast.EnumDecl] = {}
        self.records: dict[str, ast.RecordDecl] = {}
        self.record_fields: dict[str, dict[str, Type]] = {}
        self.record_let_order: dict[str, tuple[str, ...]] = {}
        self.facts: dict[str, ast.FactDecl] = {}
        self.fact_types: dict[str, Type] = {}
        self.fact_defaults: dict[str, object] = {}
        self.fact_bounds: dict[str, tuple[object, object, bool, bool] | None] = {}
        self.field_defaults: dict[tuple[str, str], object] = {}
        self.field_bounds: dict[tuple[str, str], tuple[object, object, bool, bool] | None] = {}
        self.params: dict[str, ast.ParamDecl] = {}
        self.param_values: dict[str, object] = {}
        self.param_types: dict[str, Type] = {}
        self._param_state: dict[str, str] = {}
        self.lets: dict[str, ast.LetDecl] = {}
        self.let_types: dict[str, Type] = {}
        self.let_deps: dict[str, set[str]] = {}
        self.let_avail: dict[str, frozenset[str] | None] = {}
        self._let_state: dict[str, str] = {}
        self.defers: list[ast.DeferDecl] = []
        self.aliases: dict[str, ast.DeferDecl] = {}
        self.targets: list[ast.TargetDecl] = []
        self.vetoes: list[ast.VetoDecl] = []
        self._seen: set[tuple[str, str]] = set()  # (kind, name) of targets and vetoes: duplicates in O(1)
        self.ratings: ast.RatingsDecl | None = None
        self.bands: dict[str, ast.BandsDecl] = {}
        self.outcomes: dict[str, ast.OutcomeDecl] = {}
        self.checkpoints: dict[str, ast.Checkpoint] = {}
        self.global_names: dict[str, tuple[str, Span]] = {}
        self.facts_read: set[str] = set()
        self._fact_restrictions: list[set[str]] = []

    # ================================================================ driver
    def run(self) -> CheckedPolicy | None:
        self._collect()
        self._check_types_decls()
        self._check_categories()
        for name in list(self.params):
            self._param_value(name)
        self._check_facts()
        for record in self.records.values():
            self._check_record_lets(record)
        for name in list(self.lets):
            self._check_let(name)
        for defer in self.defers:
            self._check_defer(defer)
        placed = self._check_targets()
        for veto in self.vetoes:
            self._check_veto(veto)
        self._check_ratings()
        bands = self._check_bands()
        for outcome in self.outcomes.values():
            self._check_outcome(outcome)
        self._warn_unused_facts()
        if any(d.severity == "error" for d in self.diag.items) or self.ratings is None:
            return None
        plans = self._plans(placed, bands)
        return CheckedPolicy(
            header=self.linked.header, lineage=self.linked.lineage, categories=self.categories,
            enums=self.enums, records=self.records, record_fields=self.record_fields,
            record_let_order=self.record_let_order, facts=self.facts, fact_types=self.fact_types,
            fact_defaults=self.fact_defaults, fact_bounds=self.fact_bounds,
            field_defaults=self.field_defaults, field_bounds=self.field_bounds, params=self.params,
            param_values=self.param_values, param_types=self.param_types, lets=self.lets,
            let_types=self.let_types, defers=tuple(self.defers), targets=tuple(self.targets),
            vetoes=tuple(self.vetoes), ratings=self.ratings, outcomes=self.outcomes,
            checkpoints=self.checkpoints, plans=plans, types=self.types, resolutions=self.res,
            reads=self.reads, warnings=tuple(d for d in self.diag.items if d.severity == "warning"),
            content_hash=content_hash(self.linked),
        )

    # ============================================================ collection
    def _declare_global(self, kind: str, name: str, span: Span) -> bool:
        if name in KEYWORDS:
            self.diag.error("K170", f"'{name}' is a keyword and cannot name a {kind}", span,
                            hint=f"choose another name, e.g. {name}_值")
            return False
        if name in self.global_names:
            other_kind, other_span = self.global_names[name]
            self.diag.error("K100", f"{kind} '{name}' is already declared as a {other_kind} at {other_span.location()}",
                            span, hint="names of facts, params, lets, checkpoints and deferred lists share one namespace")
            return False
        self.global_names[name] = (kind, span)
        return True

    def _collect(self) -> None:
        for decl in self.linked.decls:
            if isinstance(decl, ast.EnumDecl):
                if decl.name in self.enums or decl.name in self.records:
                    self.diag.error("K100", f"type '{decl.name}' is declared twice", decl.span)
                    continue
                self.enums[decl.name] = decl
            elif isinstance(decl, ast.RecordDecl):
                if decl.name in self.enums or decl.name in self.records:
                    self.diag.error("K100", f"type '{decl.name}' is declared twice", decl.span)
                    continue
                self.records[decl.name] = decl
            elif isinstance(decl, ast.FactDecl):
                if self._declare_global("fact", decl.name, decl.span):
                    self.facts[decl.name] = decl
            elif isinstance(decl, ast.ParamDecl):
                if self._declare_global("param", decl.name, decl.span):
                    self.params[decl.name] = decl
            elif isinstance(decl, ast.LetDecl):
                if self._declare_global("let", decl.name, decl.span):
                    self.lets[decl.name] = decl
            elif isinstance(decl, ast.Checkpoint):
                if self._declare_global("checkpoint", decl.name, decl.span):
                    self.checkpoints[decl.name] = decl
            elif isinstance(decl, ast.DeferDecl):
                if any(d.name == decl.name for d in self.defers):
                    self.diag.error("K100", f"defer '{decl.name}' is declared twice", decl.span)
                    continue
                if self._declare_global("deferred list", decl.alias, decl.span):
                    self.aliases[decl.alias] = decl
                self.defers.append(decl)
            elif isinstance(decl, ast.TargetDecl):
                if ("target", decl.name) in self._seen:
                    self.diag.error("K100", f"target '{decl.name}' is declared twice", decl.span,
                                    hint="give each target its own name, e.g. with the clause number")
                    continue
                self._seen.add(("target", decl.name))
                self.targets.append(decl)
            elif isinstance(decl, ast.VetoDecl):
                if ("veto", decl.name) in self._seen:
                    self.diag.error("K100", f"veto '{decl.name}' is declared twice", decl.span)
                    continue
                self._seen.add(("veto", decl.name))
                self.vetoes.append(decl)
            elif isinstance(decl, ast.RatingsDecl):
                if self.ratings is not None:
                    self.diag.error("K100", "ratings are declared twice", decl.span)
                    continue
                self.ratings = decl
            elif isinstance(decl, ast.BandsDecl):
                if decl.category in self.bands:
                    self.diag.error("K100", f"bands for '{decl.category}' are declared twice", decl.span)
                    continue
                self.bands[decl.category] = decl
            elif isinstance(decl, ast.OutcomeDecl):
                if decl.rating in self.outcomes:
                    self.diag.error("K100", f"outcome for '{decl.rating}' is declared twice", decl.span)
                    continue
                self.outcomes[decl.rating] = decl
        for decl in self.linked.decls:
            if isinstance(decl, ast.Category):
                if decl.name in self.categories:
                    self.diag.error("K100", f"category '{decl.name}' is declared twice", decl.span)
                    continue
                if decl.name in KEYWORDS:
                    self.diag.error("K170", f"'{decl.name}' is a keyword and cannot name a category", decl.span)
                    continue
                # placeholder; filled by _check_categories
                self.categories[decl.name] = CategoryInfo(decl.name, decl.label, Decimal(0), decl.cite, (), decl.span)
        if self.ratings is None:
            self.diag.error("K126", "the policy declares no ratings", self.linked.header.span,
                            hint='add: ratings { 优秀 良好 合格 不合格 } vetoed 不合格')

    def _category_decls(self) -> dict[str, ast.Category]:
        out: dict[str, ast.Category] = {}
        for decl in self.linked.decls:
            if isinstance(decl, ast.Category) and decl.name not in out:
                out[decl.name] = decl
        return out

    # ============================================================== types
    def _resolve_type(self, ref: ast.TypeRef) -> Type:
        if ref.is_list:
            if ref.name in self.records:
                elem = Type("record", ref.name)
            elif ref.name in self.enums:
                elem = Type("enum", ref.name)
            elif ref.name in TYPE_ALIASES:
                elem = Type(TYPE_ALIASES[ref.name])
            else:
                return self.diag.error("K102", f"unknown type '{ref.name}'", ref.span,
                                       hint=did_you_mean(ref.name, list(self.records) + list(self.enums)))
            return Type("list", elem=elem, optional=ref.optional)
        if ref.name in TYPE_ALIASES:
            return Type(TYPE_ALIASES[ref.name], optional=ref.optional)
        if ref.name in self.enums:
            return Type("enum", ref.name, optional=ref.optional)
        if ref.name in self.records:
            return Type("record", ref.name, optional=ref.optional)
        return self.diag.error("K102", f"unknown type '{ref.name}'", ref.span,
                               hint=did_you_mean(ref.name, list(TYPE_ALIASES) + list(self.enums) + list(self.records)))

    def _check_types_decls(self) -> None:
        for enum in self.enums.values():
            seen: set[str] = set()
            for member in enum.members:
                if member.name in seen:
                    self.diag.error("K100", f"enum '{enum.name}' lists '{member.name}' twice", member.span)
                seen.add(member.name)
        for record in self.records.values():
            fields: dict[str, Type] = {}
            for field in record.fields:
                if field.name in fields:
                    self.diag.error("K100", f"record '{record.name}' declares field '{field.name}' twice", field.span)
                    continue
                if field.name in KEYWORDS:
                    self.diag.error("K170", f"'{field.name}' is a keyword and cannot name a field", field.span)
                ftype = self._resolve_type(field.type)
                if ftype.kind in ("record", "list"):
                    self.diag.error("K103", f"field '{field.name}' cannot hold a {ftype.describe()}", field.type.span,
                                    hint="record fields are scalars or enums; use a separate list fact instead")
                    ftype = ERROR
                fields[field.name] = ftype
                key = (record.name, field.name)
                self.field_defaults[key] = self._default_value(field.default, ftype, field.name)
                self.field_bounds[key] = self._bounds(field.constraint, ftype, field.name)
            self.record_fields[record.name] = fields

    # ============================================================ constants
    def _const(self, expr: ast.Expr, what: str) -> object:
        """Evaluate a constant expression (literals, params, arithmetic); report if not constant."""
        try:
            return self._const_eval(expr)
        except _NotConstant as exc:
            self.diag.error("K114", f"{what} must be a constant (numbers and params only)", exc.span or expr.span,
                            hint="move the computation into a param, or use a literal")
            return None
        except (InvalidOperation, ZeroDivisionError, ArithmeticError):
            self.diag.error("K115", f"{what} cannot be computed (division by zero or overflow)", expr.span)
            return None

    def _const_eval(self, expr: ast.Expr) -> object:
        with decimal.localcontext(ENGINE_CONTEXT):
            return self._const_eval_inner(expr)

    def _const_eval_inner(self, e: ast.Expr) -> object:
        if isinstance(e, ast.Number):
            return int(e.value) if e.is_int else e.value
        if isinstance(e, (ast.MoneyLit, ast.PercentLit, ast.DateLit, ast.TextLit, ast.BoolLit)):
            return e.value
        if isinstance(e, ast.NoneLit):
            return None
        if isinstance(e, ast.EmptyList):
            return ()
        if isinstance(e, ast.Name):
            if e.ident in self.params:
                value = self._param_value(e.ident)
                self.res[e] = Resolution("param", e.ident)
                self.types[e] = self.param_types.get(e.ident, ERROR)
                return value
            if e.ident in self.checkpoints:
                self.res[e] = Resolution("checkpoint", e.ident)
                self.types[e] = DATE
                return self.checkpoints[e.ident].end
            for enum in self.enums.values():
                names = [m.name for m in enum.members]
                if e.ident in names:
                    self.res[e] = Resolution("enum", enum.name, names.index(e.ident))
                    self.types[e] = Type("enum", enum.name)
                    return names.index(e.ident)
            raise _NotConstant(e.span)
        if isinstance(e, ast.Neg):
            value = self._const_eval_inner(e.operand)
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                return -value
            raise _NotConstant(e.span)
        if isinstance(e, ast.Binary):
            left = self._const_eval_inner(e.left)
            right = self._const_eval_inner(e.right)
            lt, rt = self._type_of_const(e.left, left), self._type_of_const(e.right, right)
            result_type = arithmetic(e.op, lt, rt)
            if result_type is None or not isinstance(left, (int, Decimal)) or not isinstance(right, (int, Decimal)):
                raise _NotConstant(e.span)
            self.types[e] = result_type
            return _apply(e.op, left, right, lt, rt)
        raise _NotConstant(e.span)

    def _type_of_const(self, expr: ast.Expr, value: object) -> Type:
        if isinstance(expr, ast.MoneyLit):
            return MONEY
        if isinstance(expr, ast.PercentLit):
            return PERCENT
        if expr in self.types:
            return self.types[expr]
        if isinstance(value, bool):
            return BOOL
        if isinstance(value, int):
            return INT
        if isinstance(value, Decimal):
            return DECIMAL
        if isinstance(value, datetime.date):
            return DATE
        if isinstance(value, str):
            return TEXT
        return ERROR

    def _param_value(self, name: str) -> object:
        state = self._param_state.get(name)
        if state == "done":
            return self.param_values.get(name)
        decl = self.params[name]
        if state == "busy":
            self.diag.error("K131", f"param '{name}' is defined in terms of itself", decl.span)
            self._param_state[name] = "done"
            return None
        self._param_state[name] = "busy"
        declared = self._resolve_type(decl.type) if decl.type else None
        value_expr = self._value_in_force(decl) if decl.periods else decl.value
        for _, other in decl.periods:  # every dated value must be well typed, not only the one in force
            if other is not value_expr:
                self._check_dated_value(name, other, declared)
        try:
            value = self._const_eval(value_expr)
        except _NotConstant as exc:
            self.diag.error("K131", f"param '{name}' must be a constant", exc.span or value_expr.span,
                            hint="params hold numbers, amounts, percentages, dates or text; use let for derived values")
            value, vtype = None, ERROR
        except (InvalidOperation, ArithmeticError):
            self.diag.error("K115", f"param '{name}' cannot be computed", value_expr.span)
            value, vtype = None, ERROR
        else:
            vtype = self._type_of_const(value_expr, value)
        if declared is not None and not vtype.is_error:
            if not assignable(vtype, declared):
                self._type_mismatch(f"param '{name}'", vtype, declared, value_expr)
            elif declared.kind == "decimal" and isinstance(value, int):
                value = Decimal(value)
            vtype = declared
        self.param_values[name] = value
        self.param_types[name] = vtype
        self._param_state[name] = "done"
        return value

    def _value_in_force(self, decl: ast.ParamDecl) -> ast.Expr:
        """The value of a dated param on the first day of the policy's period."""
        period = self.linked.header.period
        dates = [d for d, _ in decl.periods]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            self.diag.error("K133", f"the dates of param '{decl.name}' must be in increasing order", decl.span)
        if period is None:
            self.diag.error("K132", f"param '{decl.name}' has dated values but the policy declares no period",
                            decl.span, hint="add to the policy header: period 2013-01-01 .. 2013-12-31")
            return decl.periods[-1][1]
        in_force = [value for start, value in decl.periods if start <= period[0]]
        if not in_force:
            self.diag.error("K133", f"no value of param '{decl.name}' is in force on {period[0].isoformat()}",
                            decl.span, hint=f"the earliest value starts on {min(dates).isoformat()}")
            return decl.periods[0][1]
        return in_force[-1]

    def _check_dated_value(self, name: str, expr: ast.Expr, declared: Type | None) -> None:
        try:
            value = self._const_eval(expr)
        except (_NotConstant, InvalidOperation, ArithmeticError):
            self.diag.error("K131", f"param '{name}' must be a constant", expr.span)
            return
        vtype = self._type_of_const(expr, value)
        if declared is not None and not vtype.is_error and not assignable(vtype, declared):
            self._type_mismatch(f"param '{name}'", vtype, declared, expr)

    def _type_mismatch(self, what: str, got: Type, expected: Type, expr: ast.Expr) -> None:
        hint = None
        if expected.kind == "money" and got.is_numeric and isinstance(expr, ast.Number):
            hint = f"write {expr.value}元 (or {expr.value / 10000}万元) for an amount of money"
        elif expected.kind == "percent" and got.is_numeric and isinstance(expr, ast.Number):
            hint = f"write {expr.value}% for a percentage"
        self.diag.error("K103", f"{what} should be {expected.describe()} but is {got.describe()}", expr.span, hint=hint)

    def _default_value(self, expr: ast.Expr | None, ftype: Type, name: str) -> object:
        if expr is None:
            return _MISSING
        if isinstance(expr, ast.EmptyList):
            if ftype.kind != "list" and not ftype.is_error:
                self.diag.error("K103", f"default of '{name}' is an empty list but the type is {ftype.describe()}", expr.span)
            return ()
        value = self._const(expr, f"the default of '{name}'")
        if value is None and not isinstance(expr, ast.NoneLit):
            return _MISSING
        vtype = self._type_of_const(expr, value) if value is not None else NONE
        if not ftype.is_error and not assignable(vtype, ftype):
            self._type_mismatch(f"the default of '{name}'", vtype, ftype, expr)
        if ftype.kind == "decimal" and isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        return value

    def _bounds(self, constraint: ast.Constraint | None, ftype: Type, name: str) -> tuple[object, object, bool, bool] | None:
        if constraint is None:
            return None
        if ftype.kind not in (*NUMERIC, "money", "percent", "date") and not ftype.is_error:
            self.diag.error("K103", f"'{name}' is {ftype.describe()}; only numbers, amounts, percentages and dates take bounds",
                            constraint.span)
            return None
        low = self._const(constraint.low, f"the bound of '{name}'")
        high = self._const(constraint.high, f"the bound of '{name}'") if constraint.high is not None else None
        for expr, value in ((constraint.low, low), (constraint.high, high)):
            if expr is None or value is None:
                continue
            vtype = self._type_of_const(expr, value)
            if _is_zero_literal(expr):
                continue
            if not ftype.is_error and not comparable(vtype, ftype.required(), "<"):
                self._type_mismatch(f"the bound of '{name}'", vtype, ftype.required(), expr)
        if constraint.op is None:
            return (low, high, True, True)
        if constraint.op in (">=", ">"):
            return (low, None, constraint.op == ">=", True)
        return (None, low, True, constraint.op == "<=")

    # ============================================================ categories
    def _check_categories(self) -> None:
        for name, decl in self._category_decls().items():
            total = self._const(decl.total, f"the total of category '{name}'")
            total_d = _as_decimal(total)
            sections = tuple(self._section(s, (), name) for s in decl.sections)
            names = [s.name for s in sections]
            for dup in {n for n in names if names.count(n) > 1}:
                self.diag.error("K100", f"category '{name}' has two sections named '{dup}'", decl.span)
            if total_d is not None and sections:
                total_sections = sum((s.points for s in sections), Decimal(0))
                if total_sections != total_d:
                    detail = " + ".join(f"{s.name} {s.points}" for s in sections)
                    self.diag.error("K110", f"the sections of '{name}' add up to {total_sections}, not its total {total_d}",
                                    decl.span, hint=f"{detail} = {total_sections}")
            self.categories[name] = CategoryInfo(name, decl.label, total_d or Decimal(0), decl.cite, sections, decl.span)

    def _section(self, decl: ast.Section, prefix: tuple[str, ...], category: str) -> SectionInfo:
        points = _as_decimal(self._const(decl.points, f"the points of section '{decl.name}'")) or Decimal(0)
        if points < 0:
            self.diag.error("K116", f"section '{decl.name}' has negative points", decl.points.span)
        path = prefix + (decl.name,)
        children = tuple(self._section(c, path, category) for c in decl.children)
        if children:
            names = [c.name for c in children]
            for dup in {n for n in names if names.count(n) > 1}:
                self.diag.error("K100", f"section '{decl.name}' has two subsections named '{dup}'", decl.span)
            subtotal = sum((c.points for c in children), Decimal(0))
            if subtotal != points:
                detail = " + ".join(f"{c.name} {c.points}" for c in children)
                self.diag.error("K110", f"the subsections of '{category}.{'.'.join(path)}' add up to {subtotal}, not {points}",
                                decl.span, hint=f"{detail} = {subtotal}")
        return SectionInfo(decl.name, path, decl.label, points, decl.cite, children, decl.span)

    def _check_category_refs(self, names: tuple[str, ...], span: Span, what: str) -> frozenset[str] | None:
        for name in names:
            if name not in self.categories:
                self.diag.error("K112", f"{what} names unknown category '{name}'", span,
                                hint=did_you_mean(name, self.categories))
        return frozenset(names) if names else None

    # ================================================================= facts
    def _check_facts(self) -> None:
        for name, decl in self.facts.items():
            ftype = self._resolve_type(decl.type)
            if ftype.kind == "record" and not ftype.is_error:
                self.diag.error("K103", f"fact '{name}' cannot be a single record", decl.type.span,
                                hint=f"use 'list of {ftype.name}', or separate facts")
                ftype = ERROR
            self.fact_types[name] = ftype
            self.fact_defaults[name] = self._default_value(decl.default, ftype, name)
            self.fact_bounds[name] = self._bounds(decl.constraint, ftype, name)
            self._check_category_refs(decl.categories, decl.span, f"fact '{name}'")

    def _warn_unused_facts(self) -> None:
        for name, decl in self.facts.items():
            if name not in self.facts_read:
                self.diag.warn("K180", f"fact '{name}' is declared but no rule reads it", decl.span,
                               hint="remove it, or add the target that uses it")

    # ================================================================== lets
    def _check_record_lets(self, record: ast.RecordDecl) -> None:
        order: list[str] = []
        fields = self.record_fields.setdefault(record.name, {})
        for let in record.lets:
            if let.name in fields:
                self.diag.error("K100", f"record '{record.name}' already has a field '{let.name}'", let.span)
                continue
            scope = Scope(record=record.name)
            vtype = self._expr(let.value, scope)
            if let.type is not None:
                declared = self._resolve_type(let.type)
                if not assignable(vtype, declared):
                    self._type_mismatch(f"'{let.name}'", vtype, declared, let.value)
                vtype = declared
            fields[let.name] = vtype
            order.append(let.name)
        self.record_let_order[record.name] = tuple(order)

    def _check_let(self, name: str) -> Type:
        state = self._let_state.get(name)
        decl = self.lets[name]
        if state == "done":
            return self.let_types[name]
        if state == "busy":
            self.diag.error("K130", f"let '{name}' depends on itself", decl.span,
                            hint="break the cycle: one of the values must be computed from facts alone")
            self.let_types[name] = ERROR
            return ERROR
        self._let_state[name] = "busy"
        self._reading.append(set())
        self._fact_restrictions.append(set())
        vtype = self._expr(decl.value, Scope())
        deps = self._reading.pop()
        restriction = self._fact_restrictions.pop()
        if decl.type is not None:
            declared = self._resolve_type(decl.type)
            if not assignable(vtype, declared):
                self._type_mismatch(f"'{name}'", vtype, declared, decl.value)
            vtype = declared
        self.let_types[name] = vtype
        self.let_deps[name] = {d for d in deps if d in self.lets or d in self.aliases}
        self.reads[decl] = tuple(sorted(deps))
        self.let_avail[name] = frozenset(restriction) if restriction else None
        self._let_state[name] = "done"
        return vtype

    def _check_defer(self, decl: ast.DeferDecl) -> None:
        cats = self._check_category_refs(decl.categories, decl.span, f"defer '{decl.name}'")
        source = ast.Name(ident=decl.source_list, span=decl.span)
        stype = self._expr(source, Scope(categories=cats))
        if stype.is_error:
            return
        if stype.kind != "list" or stype.elem is None:
            self.diag.error("K103", f"defer '{decl.name}' must take items from a list, not {stype.describe()}", decl.span)
            return
        if decl.source_list not in self.facts:
            self.diag.error("K103", f"defer '{decl.name}' must take items from a fact, and '{decl.source_list}' is not one",
                            decl.span, hint="defer from the list fact itself; derived lists can filter the deferred list")
            return
        self._expect_required(stype, source)
        self._reading.append(set())
        ctype = self._expr(decl.where, Scope(items=(stype.elem,), categories=cats))
        self.reads[decl] = tuple(sorted(self._reading.pop()))
        self._expect_bool(ctype, decl.where, f"the condition of defer '{decl.name}'")

    # =============================================================== targets
    def _check_targets(self) -> list[PlacedTarget]:
        placed: list[PlacedTarget] = []
        leaf_points: dict[tuple[str, tuple[str, ...]], list[tuple[str, Decimal]]] = {}
        for target in self.targets:
            if target.name in KEYWORDS:
                self.diag.error("K170", f"'{target.name}' is a keyword and cannot name a target", target.span)
            if not target.placements:
                self.diag.error("K117", f"target '{target.name}' is not placed in any section", target.span,
                                hint="add: in 区政府.管理目标.考核细则 points 20")
                continue
            if not target.rules:
                self.diag.error("K118", f"target '{target.name}' has no scoring rule", target.span,
                                hint="add a rule such as: full when <condition>")
            cats: set[str] = set()
            for placement in target.placements:
                info = self._placement(target, placement)
                if info is None:
                    continue
                if info.category in cats:
                    self.diag.error("K100", f"target '{target.name}' is placed twice in category '{info.category}'",
                                    placement.span)
                    continue
                cats.add(info.category)
                placed.append(info)
                leaf_points.setdefault((info.category, info.section), []).append((target.name, info.points))
            scope = Scope(categories=frozenset(cats) if cats else None)
            self._check_rules(target, scope)
        for name, category in self.categories.items():
            for section in category.all_sections():
                if not section.is_leaf:
                    continue
                entries = leaf_points.get((name, section.path), [])
                total = sum((p for _, p in entries), Decimal(0))
                if total != section.points:
                    path = ".".join((name,) + section.path)
                    detail = " + ".join(f"{n} {p}" for n, p in entries) or "no targets"
                    span = section.span if isinstance(section.span, Span) else None
                    self.diag.error("K111", f"the targets in {path} add up to {total}, not the section's {section.points}",
                                    span, hint=f"{detail} = {total}")
        return placed

    def _placement(self, target: ast.TargetDecl, placement: ast.Placement) -> PlacedTarget | None:
        path = placement.path
        category = self.categories.get(path[0])
        if category is None:
            self.diag.error("K112", f"target '{target.name}' is placed in unknown category '{path[0]}'", placement.span,
                            hint=did_you_mean(path[0], self.categories))
            return None
        sections = category.sections
        current: SectionInfo | None = None
        for step in path[1:]:
            match = next((s for s in sections if s.name == step), None)
            if match is None:
                where = ".".join(path[: path.index(step)])
                self.diag.error("K112", f"'{where}' has no section '{step}'", placement.span,
                                hint=did_you_mean(step, [s.name for s in sections]))
                return None
            current = match
            sections = match.children
        if current is None:
            self.diag.error("K113", f"target '{target.name}' must be placed in a section, not a whole category",
                            placement.span, hint=f"e.g. in {path[0]}.{category.sections[0].name if category.sections else '...'}")
            return None
        if not current.is_leaf:
            self.diag.error("K113", f"'{'.'.join(path)}' has subsections; place the target in one of them", placement.span,
                            hint="one of: " + ", ".join(c.name for c in current.children))
            return None
        points = _as_decimal(self._const(placement.points, f"the points of target '{target.name}'"))
        if points is None:
            return None
        if points < 0:
            self.diag.error("K116", f"target '{target.name}' has negative points", placement.points.span)
        return PlacedTarget(target, path[0], current.path, points)

    def _check_rules(self, target: ast.TargetDecl, scope: Scope) -> None:
        seen: list[object] = []
        several = len(target.rules) > 1  # a single rule cannot repeat: skip its (deep, costly) shape
        for rule in target.rules:
            if several:
                rule_shape = ast.shape(rule)
                if rule_shape in seen:
                    self.diag.error("K160", f"target '{target.name}' repeats the same rule", rule.span,
                                    hint="a duplicated rule deducts twice; remove one")
                seen.append(rule_shape)
            self._reading.append(set())
            parts = ast.rule_parts(rule)
            if parts.condition is not None:
                ctype = self._expr(parts.condition, scope)
                self._expect_bool(ctype, parts.condition, "a rule's condition")
                if isinstance(parts.condition, ast.BoolLit) and not (isinstance(rule, ast.Full) and parts.condition.value):
                    fires = parts.condition.value == isinstance(rule, ast.DeductWhen)
                    self.diag.warn("K161", f"this rule's condition is always {str(parts.condition.value).lower()}"
                                   + ("; the rule never deducts" if not fires else "; the rule always deducts"),
                                   parts.condition.span)
            if parts.amount is not None:
                atype = self._expr(parts.amount, scope)
                if isinstance(rule, ast.Proportional):
                    if not atype.is_error and atype.kind not in ("percent", "decimal", "int"):
                        self.diag.error("K103", f"proportional needs a percentage or a ratio, not {atype.describe()}",
                                        parts.amount.span)
                else:
                    self._expect_points(atype, parts.amount, "the amount of points")
                self._expect_required(atype, parts.amount)
            if parts.per is not None:
                ptype = self._expr(parts.per, scope)
                self._expect_points(ptype, parts.per, "the count after 'per'")
                self._expect_required(ptype, parts.per)
            if parts.cap is not None:
                ctype = self._expr(parts.cap, scope)
                self._expect_points(ctype, parts.cap, "the cap")
                self._expect_required(ctype, parts.cap)
            self.reads[rule] = tuple(sorted(self._reading.pop()))

    def _expect_points(self, t: Type, expr: ast.Expr, what: str) -> None:
        if t.is_error:
            return
        if t.required().kind not in NUMERIC:
            hint = "points are plain numbers" if t.kind in ("money", "percent") else None
            self.diag.error("K103", f"{what} should be a number, not {t.describe()}", expr.span, hint=hint)

    def _expect_bool(self, t: Type, expr: ast.Expr, what: str) -> None:
        if t.is_error:
            return
        if t.kind != "bool":
            self.diag.error("K106", f"{what} should be true or false, not {t.describe()}", expr.span,
                            hint="compare it, e.g. x >= 1" if t.kind != "bool" else None)
        elif t.optional:
            self._optional_error(expr, t)

    def _expect_required(self, t: Type, expr: ast.Expr) -> None:
        if t.optional and not t.is_error and t.kind != "none":
            self._optional_error(expr, t)

    def _optional_error(self, expr: ast.Expr, t: Type | None = None) -> None:
        name = expr.ident if isinstance(expr, ast.Name) else "this value"
        fallback = {"list": "[]", "bool": "false", "money": "0元", "percent": "0%", "text": '""'}.get(
            t.kind if t is not None else "", "0")
        self.diag.error("K105", f"'{name}' may be absent (none) here", expr.span,
                        hint=f"test it first ('{name} is set and ...') or give a fallback ('{name} ?? {fallback}')")

    # ================================================================= vetoes
    def _check_veto(self, veto: ast.VetoDecl) -> None:
        if veto.name in KEYWORDS:
            self.diag.error("K170", f"'{veto.name}' is a keyword and cannot name a veto", veto.span)
        cats = self._check_category_refs(veto.categories, veto.span, f"veto '{veto.name}'")
        scope = Scope(categories=cats)
        self._reading.append(set())
        if veto.on_list is not None:
            ltype = self._expr(veto.on_list, scope)
            if not ltype.is_error and (ltype.kind != "list" or ltype.elem is None):
                self.diag.error("K103", f"'on' needs a list, and '{_name_of(veto.on_list)}' is {ltype.describe()}",
                                veto.on_list.span)
                ltype = ERROR
            self._expect_required(ltype, veto.on_list)
            item_scope = attrs.evolve(scope, items=(ltype.elem,)) if ltype.elem is not None else scope
            ctype = self._expr(veto.condition, item_scope) if not ltype.is_error else ERROR
        else:
            ctype = self._expr(veto.condition, scope)
        self._expect_bool(ctype, veto.condition, f"the condition of veto '{veto.name}'")
        if isinstance(veto.condition, ast.BoolLit):
            self.diag.warn("K161", f"veto '{veto.name}' is always {'on' if veto.condition.value else 'off'}",
                           veto.condition.span)
        for exc in veto.exceptions:
            etype = self._expr(exc.condition, scope)
            self._expect_bool(etype, exc.condition, "the exception's condition")
        self.reads[veto] = tuple(sorted(self._reading.pop()))

    # ================================================================ ratings
    def _check_ratings(self) -> None:
        if self.ratings is None:
            return
        names = [r.name for r in self.ratings.ratings]
        for rating in self.ratings.ratings:
            if names.count(rating.name) > 1:
                self.diag.error("K100", f"rating '{rating.name}' is listed twice", rating.span)
                break
        if self.ratings.vetoed not in names:
            self.diag.error("K125", f"the vetoed rating '{self.ratings.vetoed}' is not one of the ratings",
                            self.ratings.vetoed_span, hint=did_you_mean(self.ratings.vetoed, names))

    def _check_bands(self) -> dict[str, tuple[BandInfo, ...]]:
        out: dict[str, tuple[BandInfo, ...]] = {}
        names = [r.name for r in self.ratings.ratings] if self.ratings else []
        for band_category in self.bands:
            if band_category not in self.categories:
                self.diag.error("K112", f"bands for unknown category '{band_category}'", self.bands[band_category].span,
                                hint=did_you_mean(band_category, self.categories))
        for name, category in self.categories.items():
            decl = self.bands.get(name)
            if decl is None:
                self.diag.error("K124", f"category '{name}' has no bands", category.span if isinstance(category.span, Span) else None,
                                hint=f"add: bands {name} {{ 优秀 [..., {category.total}] ... }}")
                continue
            infos: list[BandInfo] = []
            for band in decl.bands:
                if names and band.rating not in names:
                    self.diag.error("K125", f"band names unknown rating '{band.rating}'", band.span,
                                    hint=did_you_mean(band.rating, names))
                    continue
                low = _as_decimal(self._const(band.low, "a band edge"))
                high = _as_decimal(self._const(band.high, "a band edge"))
                if low is None or high is None:
                    continue
                info = BandInfo(band.rating, low, band.low_closed, high, band.high_closed, band.cite or decl.cite, band.span)
                if low > high or (low == high and not (band.low_closed and band.high_closed)):
                    self.diag.error("K127", f"band '{band.rating}' {info.describe()} contains no score", band.span,
                                    hint="the lower edge must be below the upper edge")
                    continue
                infos.append(info)
            infos.sort(key=lambda b: (b.low, not b.low_closed))
            self._band_coverage(name, category, infos, decl)
            out[name] = tuple(infos)
        return out

    def _band_coverage(self, name: str, category: CategoryInfo, infos: list[BandInfo], decl: ast.BandsDecl) -> None:
        """Prove the bands partition [0, total] and that better ratings sit higher."""
        if not infos:
            return
        total = category.total
        first, last = infos[0], infos[-1]
        if first.low > 0 or (first.low == 0 and not first.low_closed):
            self.diag.error("K120", f"no band of '{name}' covers scores from 0 up to {first.low}", first.span,
                            hint="the lowest band should start at [0, ...")
        if first.low < 0:
            self.diag.error("K122", f"band '{first.rating}' of '{name}' starts below 0, where no score can be", first.span)
        if last.high < total or (last.high == total and not last.high_closed):
            self.diag.error("K120", f"no band of '{name}' covers scores from {last.high} up to the total {total}", last.span,
                            hint=f"the highest band should end at ..., {total}]")
        if last.high > total:
            self.diag.error("K122", f"band '{last.rating}' of '{name}' ends at {last.high}, above the total {total}",
                            last.span, hint=f"end it at {total}]")
        for lower, upper in zip(infos, infos[1:]):
            if lower.high < upper.low or (lower.high == upper.low and not lower.high_closed and not upper.low_closed):
                self.diag.error("K120", f"scores between {lower.high} and {upper.low} of '{name}' fall in no band",
                                upper.span, hint=f"'{lower.rating}' {lower.describe()} and '{upper.rating}' {upper.describe()} leave a gap")
            elif lower.high > upper.low or (lower.high == upper.low and lower.high_closed and upper.low_closed):
                self.diag.error("K121", f"bands '{lower.rating}' {lower.describe()} and '{upper.rating}' {upper.describe()} of '{name}' overlap",
                                upper.span, hint="make one edge open: [a, b) then [b, c]")
            if self.ratings:
                order = [r.name for r in self.ratings.ratings]
                if order.index(upper.rating) >= order.index(lower.rating):
                    self.diag.error("K123", f"band '{upper.rating}' sits above '{lower.rating}' but is not a better rating",
                                    upper.span, hint="ratings are listed best first in 'ratings'; higher scores need better ratings")

    # =============================================================== outcomes
    def _check_outcome(self, outcome: ast.OutcomeDecl) -> None:
        names = [r.name for r in self.ratings.ratings] if self.ratings else []
        if names and outcome.rating not in names:
            self.diag.error("K125", f"outcome for unknown rating '{outcome.rating}'", outcome.span,
                            hint=did_you_mean(outcome.rating, names))
        kinds = {i.kind for i in outcome.items}
        if {"reward", "fine"} <= kinds:
            self.diag.error("K140", f"outcome '{outcome.rating}' has both rewards and fines", outcome.span,
                            hint="a rating either pays or fines; split them into separate outcomes")
        shares = [i for i in outcome.items if i.kind == "share"]
        if shares and not kinds & {"reward", "fine"}:
            self.diag.error("K141", f"outcome '{outcome.rating}' shares money but has no reward or fine", shares[0].span)
        rests = [i for i in shares if i.amount is None]
        if shares and len(rests) != 1:
            self.diag.error("K142", f"outcome '{outcome.rating}' needs exactly one 'share ... = rest', found {len(rests)}",
                            (rests[1] if len(rests) > 1 else shares[0]).span,
                            hint="one share takes the remainder, so the parts always sum to the whole")
        local: list[str] = []
        for item in outcome.items:
            if item.name in local:
                self.diag.error("K100", f"outcome '{outcome.rating}' names '{item.name}' twice", item.span)
            if item.amount is not None:
                self._reading.append(set())
                t = self._expr(item.amount, Scope(outcome_items=tuple(local)))
                self.reads[item] = tuple(sorted(self._reading.pop()))
                if not t.is_error and t.kind != "money":
                    hint = f"write {item.amount.value}元" if isinstance(item.amount, ast.Number) else None
                    self.diag.error("K103", f"'{item.name}' should be an amount of money, not {t.describe()}",
                                    item.amount.span, hint=hint)
                self._expect_required(t, item.amount)
            if item.kind in ("reward", "fine"):
                local.append(item.name)

    # ================================================================== plans
    def _plans(self, placed: list[PlacedTarget], bands: dict[str, tuple[BandInfo, ...]]) -> dict[str, CategoryPlan]:
        plans: dict[str, CategoryPlan] = {}
        for name, category in self.categories.items():
            targets = tuple(p for p in placed if p.category == name)
            vetoes = tuple(v for v in self.vetoes if not v.categories or name in v.categories)
            defers = tuple(d for d in self.defers if not d.categories or name in d.categories)
            roots: set[str] = set()
            for p in targets:
                for rule in p.target.rules:
                    roots |= set(self.reads.get(rule, ()))
            for v in vetoes:
                roots |= set(self.reads.get(v, ()))
            for d in defers:
                roots |= set(self.reads.get(d, ()))
            for outcome in self.outcomes.values():
                for item in outcome.items:
                    roots |= set(self.reads.get(item, ()))
            lets = self._let_order(roots)
            for let in lets:
                avail = self.let_avail.get(let)
                if avail is not None and name not in avail:
                    decl = self.lets[let]
                    self.diag.error("K108", f"let '{let}' reads facts that units of '{name}' do not supply",
                                    decl.span, hint="restrict the rules that use it with 'for', or the facts' 'for' lists")
            for alias in [a for a in roots if a in self.aliases]:
                d = self.aliases[alias]
                if d.categories and name not in d.categories:
                    self.diag.error("K108", f"'{alias}' is only defined for {', '.join(d.categories)}, not '{name}'", d.span)
            facts = tuple(f for f, decl in self.facts.items() if not decl.categories or name in decl.categories)
            plans[name] = CategoryPlan(category, lets, defers, targets, vetoes, bands.get(name, ()), facts)
        return plans

    def _let_order(self, roots: set[str]) -> tuple[str, ...]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            if name in self.lets:
                for dep in sorted(self.let_deps.get(name, ())):
                    visit(dep)
                order.append(name)
            elif name in self.aliases:
                d = self.aliases[name]
                for dep in sorted(self.reads.get(d, ())):
                    visit(dep)
                src = d.source_list
                visit(src)

        for root in sorted(roots):
            visit(root)
        return tuple(order)

    # ============================================================ expressions
    def _expr(self, e: ast.Expr, scope: Scope) -> Type:
        t = self._expr_inner(e, scope)
        self.types[e] = t
        return t

    def _expr_inner(self, e: ast.Expr, scope: Scope) -> Type:
        if isinstance(e, ast.Number):
            return INT if e.is_int else DECIMAL
        if isinstance(e, ast.MoneyLit):
            return MONEY
        if isinstance(e, ast.PercentLit):
            return PERCENT
        if isinstance(e, ast.DateLit):
            return DATE
        if isinstance(e, ast.TextLit):
            return TEXT
        if isinstance(e, ast.BoolLit):
            return BOOL
        if isinstance(e, ast.NoneLit):
            return NONE
        if isinstance(e, ast.EmptyList):
            return EMPTY
        if isinstance(e, ast.It):
            if not scope.items:
                return self.diag.error("K101", "'it' is only meaningful inside where/of of an aggregate or a veto 'on'", e.span)
            self.res[e] = Resolution("it", "", depth=len(scope.items) - 1)
            return scope.items[-1]
        if isinstance(e, ast.Name):
            return self._name(e, scope)
        if isinstance(e, ast.Member):
            return self._member(e, scope)
        if isinstance(e, ast.Neg):
            t = self._expr(e.operand, scope)
            if t.is_error:
                return t
            self._expect_required(t, e.operand)
            if t.kind not in (*NUMERIC, "money", "percent"):
                return self.diag.error("K103", f"cannot negate {t.describe()}", e.span)
            return t.required()
        if isinstance(e, ast.Binary):
            return self._binary(e, scope)
        if isinstance(e, ast.Compare):
            return self._compare(e, scope)
        if isinstance(e, ast.InRange):
            v = self._expr(e.value, scope)
            lo = self._expr(e.low, scope)
            hi = self._expr(e.high, scope)
            for part, t in ((e.value, v), (e.low, lo), (e.high, hi)):
                self._expect_required(t, part)
            if not (v.is_error or lo.is_error or hi.is_error):
                for bound_type, bound in ((lo, e.low), (hi, e.high)):
                    if not comparable(v.required(), bound_type.required(), "<"):
                        return self._unit_error(e, v, bound_type, bound)
            return BOOL
        if isinstance(e, (ast.And, ast.Or)):
            # the right side runs only when the left was true (and) / false (or): narrow by that
            word, left_truth = ("and", True) if isinstance(e, ast.And) else ("or", False)
            lt = self._expr(e.left, scope)
            self._expect_bool(lt, e.left, f"the left side of '{word}'")
            rt = self._expr(e.right, scope.narrow(_asserted(e.left, left_truth)))
            self._expect_bool(rt, e.right, f"the right side of '{word}'")
            return BOOL
        if isinstance(e, ast.Not):
            t = self._expr(e.operand, scope)
            self._expect_bool(t, e.operand, "the operand of 'not'")
            return BOOL
        if isinstance(e, ast.If):
            ct = self._expr(e.cond, scope)
            self._expect_bool(ct, e.cond, "the condition of 'if'")
            a = self._expr(e.then, scope.narrow(_asserted(e.cond, True)))
            b = self._expr(e.otherwise, scope.narrow(_asserted(e.cond, False)))
            return self._join(a, b, e)
        if isinstance(e, ast.IsSet):
            t = self._expr(e.operand, scope)
            if not t.is_error and not t.optional:
                self.diag.warn("K162", f"'{_name_of(e.operand)}' is never none, so this test is always "
                               f"{'true' if e.expect_set else 'false'}", e.span)
            return BOOL
        if isinstance(e, ast.Coalesce):
            a = self._expr(e.left, scope)
            b = self._expr(e.right, scope)
            if a.is_error or b.is_error:
                return ERROR
            if not a.optional:
                self.diag.warn("K162", f"'{_name_of(e.left)}' is never none, so '?? ...' is never used", e.span)
            return self._join(a.required(), b, e)
        if isinstance(e, ast.Call):
            return self._call(e, scope)
        if isinstance(e, ast.Aggregate):
            return self._aggregate(e, scope)
        if isinstance(e, ast.Extremum):
            types = [self._expr(a, scope) for a in e.args]
            result = types[0]
            for arg, t in zip(e.args, types):
                self._expect_required(t, arg)
            for arg, t in zip(e.args[1:], types[1:]):
                result = self._join(result, t, arg)
            if not result.is_error and result.kind not in (*NUMERIC, "money", "percent", "date"):
                return self.diag.error("K103", f"{e.func} needs numbers, amounts, percentages or dates", e.span)
            return result.required()
        return self.diag.error("K000", "unsupported expression", getattr(e, "span", None))  # pragma: no cover

    def _join(self, a: Type, b: Type, e: ast.Expr) -> Type:
        if a.is_error or b.is_error:
            return ERROR
        if a.kind == "none":
            return b.as_optional()
        if b.kind == "none":
            return a.as_optional()
        optional = a.optional or b.optional
        if a.kind in NUMERIC and b.kind in NUMERIC:
            joined = INT if a.kind == b.kind == "int" else DECIMAL
            return joined.as_optional() if optional else joined
        if a.kind == "empty" and b.kind == "list":
            return b
        if b.kind == "empty" and a.kind == "list":
            return a
        if a.required() == b.required():
            return a.as_optional() if optional else a.required()
        return self.diag.error("K103", f"the two branches give {a.describe()} and {b.describe()}", e.span,
                               hint="both branches must give the same kind of value")

    def _name(self, e: ast.Name, scope: Scope) -> Type:
        ident = e.ident
        # 1. fields of the items in scope, innermost first
        for depth in range(len(scope.items) - 1, -1, -1):
            item = scope.items[depth]
            if item.kind == "record" and item.name is not None and ident in self.record_fields.get(item.name, {}):
                self.res[e] = Resolution("field", ident, depth=depth)
                return self.record_fields[item.name][ident]
        # 2. a record's own fields (inside its let)
        if scope.record is not None:
            fields = self.record_fields.get(scope.record, {})
            if ident in fields:
                self.res[e] = Resolution("record_field", ident)
                return fields[ident]
        if ident in scope.outcome_items:
            self.res[e] = Resolution("outcome_item", ident)
            return MONEY
        if scope.record is None:
            if ident in self.facts:
                return self._fact_ref(e, scope)
            if ident in self.lets:
                self._note_read(ident)
                t = self._check_let(ident)
                avail = self.let_avail.get(ident)
                if avail is not None and scope.categories is not None and not scope.categories <= avail:
                    missing = ", ".join(sorted(scope.categories - avail))
                    self.diag.error("K108", f"'{ident}' reads facts that units of {missing} do not supply", e.span)
                if avail is not None and self._fact_restrictions:
                    self._fact_restrictions[-1].update(avail)
                self.res[e] = Resolution("let", ident)
                return self._narrowed(ident, t, scope)
            if ident in self.aliases:
                self._note_read(ident)
                d = self.aliases[ident]
                self._note_read(d.source_list)
                self.res[e] = Resolution("alias", ident)
                source = self.fact_types.get(d.source_list)
                if d.source_list in self.facts:
                    self.facts_read.add(d.source_list)
                return source.required() if source is not None else ERROR
        if ident in self.params:
            self._note_read(ident)
            self._param_value(ident)
            self.res[e] = Resolution("param", ident)
            return self.param_types.get(ident, ERROR)
        if ident in self.checkpoints:
            self._note_read(ident)
            self.res[e] = Resolution("checkpoint", ident)
            return DATE
        matches = [enum for enum in self.enums.values() if any(m.name == ident for m in enum.members)]
        if len(matches) == 1:
            enum = matches[0]
            index = [m.name for m in enum.members].index(ident)
            self.res[e] = Resolution("enum", enum.name, index)
            return Type("enum", enum.name)
        if len(matches) > 1:
            return self.diag.error("K101", f"'{ident}' is a member of several enums: {', '.join(m.name for m in matches)}",
                                   e.span, hint=f"qualify it, e.g. {matches[0].name}.{ident}")
        if scope.record is not None and (ident in self.facts or ident in self.lets):
            return self.diag.error("K101", f"a record's let can only read its own fields and params, not '{ident}'", e.span)
        options: list[str] = list(self.facts) + list(self.lets) + list(self.params) + list(self.aliases) + list(self.checkpoints)
        for item in scope.items:
            if item.kind == "record" and item.name:
                options += list(self.record_fields.get(item.name, {}))
        if scope.record:
            options += list(self.record_fields.get(scope.record, {}))
        for enum in self.enums.values():
            options += [m.name for m in enum.members]
        hint = did_you_mean(ident, options)
        if ident in KEYWORDS:
            hint = f"'{ident}' is a keyword of the language and cannot be used as a name"
        return self.diag.error("K101", f"unknown name '{ident}'", e.span, hint=hint)

    def _fact_ref(self, e: ast.Name, scope: Scope) -> Type:
        ident = e.ident
        decl = self.facts[ident]
        self.facts_read.add(ident)
        self._note_read(ident)
        self.res[e] = Resolution("fact", ident)
        if decl.categories:
            allowed = frozenset(decl.categories)
            if self._fact_restrictions:
                self._fact_restrictions[-1].update(allowed)
                restriction = self._fact_restrictions[-1]
                restriction &= allowed
            elif scope.categories is None or not scope.categories <= allowed:
                where = "every category" if scope.categories is None else ", ".join(sorted(scope.categories - allowed))
                self.diag.error("K108", f"fact '{ident}' is only supplied by {', '.join(decl.categories)}, but is read for {where}",
                                e.span, hint="place the target only in those categories (a veto or defer: add 'for "
                                f"{', '.join(decl.categories)}'), or widen the fact's 'for' list")
        t = self.fact_types.get(ident, ERROR)
        return self._narrowed(ident, t, scope)

    def _narrowed(self, ident: str, t: Type, scope: Scope) -> Type:
        if t.optional and ident in scope.narrowed:
            return t.required()
        return t

    def _note_read(self, name: str) -> None:
        for reading in self._reading:
            reading.add(name)

    def _member(self, e: ast.Member, scope: Scope) -> Type:
        if isinstance(e.obj, ast.Name) and e.obj.ident in self.enums and not self._is_value_name(e.obj.ident, scope):
            enum = self.enums[e.obj.ident]
            names = [m.name for m in enum.members]
            if e.field not in names:
                return self.diag.error("K101", f"enum '{enum.name}' has no member '{e.field}'", e.span,
                                       hint=did_you_mean(e.field, names))
            self.res[e] = Resolution("enum", enum.name, names.index(e.field))
            return Type("enum", enum.name)
        t = self._expr(e.obj, scope)
        if t.is_error:
            return t
        if t.kind != "record" or t.name is None:
            return self.diag.error("K107", f"'.{e.field}' needs a record, and this is {t.describe()}", e.span)
        self._expect_required(t, e.obj)
        fields = self.record_fields.get(t.name, {})
        if e.field not in fields:
            return self.diag.error("K107", f"record '{t.name}' has no field '{e.field}'", e.span,
                                   hint=did_you_mean(e.field, fields))
        self.res[e] = Resolution("member", e.field)
        return fields[e.field]

    def _is_value_name(self, ident: str, scope: Scope) -> bool:
        return ident in self.facts or ident in self.lets or ident in self.params or any(
            i.kind == "record" and i.name and ident in self.record_fields.get(i.name, {}) for i in scope.items)

    def _binary(self, e: ast.Binary, scope: Scope) -> Type:
        a = self._expr(e.left, scope)
        b = self._expr(e.right, scope)
        if a.is_error or b.is_error:
            return ERROR
        self._expect_required(a, e.left)
        self._expect_required(b, e.right)
        result = arithmetic(e.op, a.required(), b.required())
        if result is None:
            return self._unit_error(e, a, b, e.right if a.kind in ("money", "percent") else e.left, op=e.op)
        return result

    def _unit_error(self, e: ast.Expr, a: Type, b: Type, culprit: ast.Expr, op: str | None = None) -> Type:
        hint = None
        kinds = {a.kind, b.kind}
        if "money" in kinds and kinds & set(NUMERIC) and isinstance(culprit, ast.Number):
            hint = f"write {culprit.value}元 to mean an amount of money"
        elif "percent" in kinds and kinds & set(NUMERIC) and isinstance(culprit, ast.Number):
            hint = f"write {culprit.value}% to mean a percentage"
        elif "money" in kinds and kinds & set(NUMERIC):
            hint = "amounts of money only combine with amounts (元) or scale by plain numbers"
        what = f"'{op}'" if op else "compare"
        verb = f"cannot apply {what} to" if op else "cannot compare"
        return self.diag.error("K104", f"{verb} {a.describe()} and {b.describe()}", e.span, hint=hint)

    def _compare(self, e: ast.Compare, scope: Scope) -> Type:
        a = self._expr(e.left, scope)
        b = self._expr(e.right, scope)
        if a.is_error or b.is_error:
            return BOOL
        if a.kind == "none" or b.kind == "none":
            return self.diag.error("K103", "compare with none using 'is none' / 'is set'", e.span)
        self._expect_required(a, e.left)
        self._expect_required(b, e.right)
        if not comparable(a.required(), b.required(), e.op):
            zero_ok = {a.kind, b.kind} & {"money", "percent"} and (_is_zero_literal(e.left) or _is_zero_literal(e.right))
            if zero_ok:
                pass
            else:
                culprit = e.right if isinstance(e.right, ast.Number) else e.left
                self._unit_error(e, a, b, culprit)
                return BOOL
        if e.op not in ("==", "!=") and a.kind == "enum":
            enum = self.enums.get(a.name or "")
            if enum is not None and not enum.ordered:
                self.diag.error("K103", f"enum '{enum.name}' is not ordered, so '{e.op}' means nothing", e.span,
                                hint=f"declare it 'enum {enum.name} ordered {{ ... }}' or use == / !=")
        if e.op not in ("==", "!=") and a.kind == "bool":
            self.diag.error("K103", f"cannot order true/false with '{e.op}'", e.span)
        return BOOL

    def _call(self, e: ast.Call, scope: Scope) -> Type:
        if e.func not in FUNCTIONS:
            return self.diag.error("K101", f"unknown function '{e.func}'", e.span,
                                   hint=did_you_mean(e.func, FUNCTIONS + ("count", "sum", "any", "all", "min", "max")))
        types = [self._expr(a, scope) for a in e.args]
        for arg, t in zip(e.args, types):
            self._expect_required(t, arg)
        want = 2 if e.func == "round" else 1
        if len(e.args) != want and not (e.func == "round" and len(e.args) == 1):
            return self.diag.error("K103", f"{e.func} takes {want} argument(s), got {len(e.args)}", e.span)
        t = types[0]
        if t.is_error:
            return t
        if e.func in ("year", "month", "day"):
            if t.kind != "date":
                return self.diag.error("K103", f"{e.func} needs a date, not {t.describe()}", e.span)
            return INT
        if t.kind not in (*NUMERIC, "money", "percent"):
            return self.diag.error("K103", f"{e.func} needs a number, not {t.describe()}", e.span)
        if e.func == "round" and len(e.args) == 2:
            if not isinstance(e.args[1], ast.Number) or not e.args[1].is_int:
                self.diag.error("K103", "round's second argument is a whole number of decimal places", e.args[1].span)
        if e.func in ("floor", "ceil") and t.kind in NUMERIC:
            return INT
        if e.func == "round" and t.kind in NUMERIC:
            return INT if len(e.args) == 1 else DECIMAL
        return t.required()

    def _aggregate(self, e: ast.Aggregate, scope: Scope) -> Type:
        lt = self._expr(e.source, scope)
        if lt.is_error:
            return ERROR
        if lt.kind == "empty":
            return self.diag.error("K103", f"{e.func} over an empty list literal is constant", e.span)
        if lt.kind != "list" or lt.elem is None:
            return self.diag.error("K103", f"{e.func} needs a list, and '{_name_of(e.source)}' is {lt.describe()}", e.source.span)
        self._expect_required(lt, e.source)
        inner = attrs.evolve(scope, items=scope.items + (lt.elem,))
        if e.where is not None:
            wt = self._expr(e.where, inner)
            self._expect_bool(wt, e.where, f"the 'where' of {e.func}")
        of_type = self._expr(e.of, inner) if e.of is not None else None
        if e.func == "count":
            if e.of is not None:
                self.diag.error("K103", "count takes no 'of'", e.of.span, hint="count(L where condition)")
            return INT
        if e.func in ("any", "all"):
            if e.where is None and of_type is None:
                return self.diag.error("K103", f"{e.func} needs a condition", e.span, hint=f"{e.func}(L where condition)")
            if of_type is not None:
                self._expect_bool(of_type, e.of, f"the 'of' of {e.func}")  # type: ignore[arg-type]
            return BOOL
        if of_type is None:
            if lt.elem.kind in (*NUMERIC, "money", "percent", "date"):
                of_type = lt.elem
            else:
                return self.diag.error("K103", f"{e.func} needs 'of' to say which value to take", e.span,
                                       hint=f"{e.func}(L of field)")
        if of_type.is_error:
            return ERROR
        self._expect_required(of_type, e.of or e.source)
        if e.func == "sum":
            if of_type.kind not in (*NUMERIC, "money", "percent"):
                return self.diag.error("K103", f"cannot sum {of_type.describe()}", e.span)
            return of_type.required()
        if of_type.kind not in (*NUMERIC, "money", "percent", "date"):
            return self.diag.error("K103", f"{e.func} needs numbers, amounts, percentages or dates", e.span)
        return of_type.required().as_optional()


class _NotConstant(Exception):
    def __init__(self, span: Span | None) -> None:
        super().__init__("not constant")
        self.span = span


class _Missing:
    def __repr__(self) -> str:
        return "<no default>"


_MISSING = _Missing()
MISSING = _MISSING


def _is_zero_literal(e: ast.Expr | None) -> bool:
    """A bare ``0`` means zero of any unit (``金额 >= 0`` needs no ``元``)."""
    return isinstance(e, ast.Number) and e.value == 0


def _name_of(e: ast.Expr) -> str:
    return e.ident if isinstance(e, ast.Name) else "this value"


def _asserted(e: ast.Expr, truth: bool) -> Iterator[str]:
    """Names known to be set when ``e`` evaluates to ``truth`` (flow typing for optionals)."""
    if isinstance(e, ast.IsSet) and isinstance(e.operand, ast.Name):
        if e.expect_set == truth:
            yield e.operand.ident
    elif isinstance(e, ast.Not):
        yield from _asserted(e.operand, not truth)
    elif isinstance(e, ast.And) and truth:
        yield from _asserted(e.left, True)
        yield from _asserted(e.right, True)
    elif isinstance(e, ast.Or) and not truth:
        yield from _asserted(e.left, False)
        yield from _asserted(e.right, False)


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    return None


def _apply(op: str, a: int | Decimal, b: int | Decimal, at: Type, bt: Type) -> int | Decimal:
    from ..numeric import arith

    return arith(op, a, b, at.kind, bt.kind)


def content_hash(linked: LinkedPolicy) -> str:
    """SHA-256 over the texts of the policy and its ancestors (child first)."""
    digest = hashlib.sha256()
    for source in linked.sources:
        digest.update(source.text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()
