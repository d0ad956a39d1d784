"""Stage 4: checked policy → Python source of a fast evaluator.

The compiler writes one plain Python function per category (and a traced twin
that also records what each rule read and produced), in the way Jinja2 compiles
templates.  Safety rules, tested with hostile names:

* no text from the policy is ever pasted into the generated source, not even in
  comments: identifiers are generated (``F3``, ``L2``, ``_k7``) and every
  string, amount, date and parameter value lives in a constants table that
  becomes the module's namespace;
* the source is generated only from the checked AST, so every name resolves
  and every operation is well typed before a line is written.

The generated function takes the coerced facts of one unit and returns a raw
tuple (see :data:`RAW_FIELDS`) that :mod:`kaohe_rules.runtime.result` wraps
lazily, so a caller who only needs the score and rating pays for nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from ..language import ast
from ..language.abi import RAW_FIELDS as RAW_FIELDS  # the layout lives in abi; named here for old importers
from ..language.model import CategoryPlan, CheckedPolicy, PlacedTarget, Reader
from ..language.types import Type

# generated operands that are a local, a table constant or a literal: no side effect, cannot raise
_SIMPLE = re.compile(r"^(?:[A-Z]+\d+(?:_\d+)?|_[a-z]+\d+|-?\d+|True|False|None)$")

_EMPTY_AGGREGATE = {"count": "0", "sum": "0", "any": "False", "all": "True", "min": "None", "max": "None"}



@attrs.frozen
class CompiledSource:
    """Generated source plus the constants table it runs against."""

    source: str  # derive functions and the plain evaluators: compiled at load
    constants: dict[str, object]
    functions: dict[str, tuple[str, str]]  # category -> (plain function name, traced function name)
    derive: dict[str, str]  # record name -> derive function name
    section_order: dict[str, tuple[tuple[str, ...], ...]]  # category -> section paths in output order
    # the traced evaluators, kept apart so a load does not pay for compiling code
    # that only trace=True, explain and error location run (compiled on first use)
    traced_source: str = ""
    # category -> the plain evaluator's body after it has read the facts into locals
    # F0, F1, ... (in CategoryPlan.facts order), and the raw-result tuple it returns:
    # runtime.fastfacts splices it after its own fact checks into one function
    bodies: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    # record name -> its derived fields as (name, expression) in order, the expressions
    # reading the record's fields from locals v0, v1, ... (declaration order) and earlier
    # derived fields from w0, w1, ...: runtime.fastfacts computes them as it builds the record
    derive_inline: dict[str, tuple[tuple[str, str], ...]] = attrs.field(factory=dict)


class ConstantTable:
    """The values generated code reads by generated names (``_c3``, ``_k0``, ``_p1``).

    Policy text, amounts and dates never appear in generated source; they live here
    and become the module's namespace.  Equal values share a name, except Decimals
    written differently (``1.0`` and ``1`` keep their own exponents).
    """

    def __init__(self, tag: str = "") -> None:
        self.values: dict[str, object] = {}
        self._names: dict[tuple[str, object], str] = {}
        self._tag = tag  # tables whose code shares one namespace need different tags

    def name(self, value: object, prefix: str = "_c") -> str:
        key = _constant_key(value)
        name = self._names.get(key)
        if name is None:
            name = f"{prefix}{self._tag}{len(self._names)}"
            self._names[key] = name
            self.values[name] = value
        return name


def _constant_key(value: object) -> tuple[str, object]:
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    try:
        hash(value)
    except TypeError:  # lists, dicts: shared only by identity
        return (type(value).__name__, id(value))
    return (type(value).__name__, value)


class _Emitter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = 0

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)


class Compiler:
    """Generates the evaluator module for one checked policy."""

    def __init__(self, policy: CheckedPolicy) -> None:
        self.policy = policy
        self.table = ConstantTable()
        self.constants = self.table.values
        self.out = _Emitter()
        self._locals: dict[str, str] = {}
        self._outcome_locals: dict[str, str] = {}
        self._temps = 0
        self._last_body = ("", "")
        self._record_locals: dict[str, str] | None = None  # set while compiling derive_inline
        self._traced = False  # compiling a traced evaluator: aggregates stay expressions (see _hoisted)
        self._flags_read = False
        self._hoistable = self._unconditional_aggregates()

    # --------------------------------------------------------------- tables
    def const(self, value: object, prefix: str = "_c") -> str:
        return self.table.name(value, prefix)

    def key(self, text: str) -> str:
        return self.const(text, "_k")

    def number(self, value: object) -> str:
        """A constant number as source: an integral Decimal with exponent 0 as an int literal.

        ``int`` arithmetic is several times faster than ``Decimal`` and, for such
        values, gives the same numbers (``Decimal(5) - x`` and ``5 - x`` agree), so
        scores are unchanged; other values stay Decimal constants in the table.
        """
        if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent == 0 and value >= 0:
            return str(int(value))
        return self.const(value)

    def _nonneg(self, e: ast.Expr) -> str:
        """``max(e, 0)`` as the helper ``_nonneg`` computes it, folded or inlined (no call per rule)."""
        value = self._constant_of(e)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return self._e(e) if value > 0 else "0"
        self._temps += 1
        return f"(_n{self._temps} if (_n{self._temps} := {self._e(e)}) > 0 else 0)"

    def _constant_of(self, e: ast.Expr) -> object:
        """The value of a number literal or a parameter, else None."""
        if isinstance(e, ast.Number):
            return e.value
        if isinstance(e, ast.Name):
            res = self.policy.resolutions.get(e)
            if res is not None and res.kind == "param":
                return self.policy.param_values.get(res.name)
        return None

    # ----------------------------------------------------------------- entry
    def compile(self) -> CompiledSource:
        emit = self.out
        emit("# generated by kaohe_rules.codegen.compiler from a checked policy; do not edit")
        traced_out = _Emitter()
        traced_out("# generated by kaohe_rules.codegen.compiler: the traced evaluators; do not edit")
        derive: dict[str, str] = {}
        derive_inline: dict[str, tuple[tuple[str, str], ...]] = {}
        for index, (rname, record) in enumerate(self.policy.records.items()):
            if not record.lets:
                continue
            fname = f"derive_{index}"
            derive[rname] = fname
            emit(f"def {fname}(r):")
            emit.indent += 1
            for let in record.lets:
                emit(f"r[{self.key(let.name)}] = {self.expr(let.value)}")
            emit("return r")
            emit.indent -= 1
            emit("")
            self._record_locals = {field.name: f"v{i}" for i, field in enumerate(record.fields)}
            inline: list[tuple[str, str]] = []
            for i, let in enumerate(record.lets):
                inline.append((let.name, self.expr(let.value)))
                self._record_locals[let.name] = f"w{i}"
            self._record_locals = None
            derive_inline[rname] = tuple(inline)
        functions: dict[str, tuple[str, str]] = {}
        section_order: dict[str, tuple[tuple[str, ...], ...]] = {}
        bodies: dict[str, tuple[str, str]] = {}
        for index, (cname, plan) in enumerate(self.policy.plans.items()):
            assert isinstance(plan, CategoryPlan)
            plain, traced = f"evaluate_{index}", f"evaluate_{index}_traced"
            order = self._function(plan, plain, traced=False)
            bodies[cname] = self._last_body
            self.out = traced_out
            self._function(plan, traced, traced=True)
            self.out = emit
            functions[cname] = (plain, traced)
            section_order[cname] = order
        return CompiledSource("\n".join(emit.lines) + "\n", self.constants, functions, derive, section_order,
                              "\n".join(traced_out.lines) + "\n", bodies, derive_inline)

    # ------------------------------------------------------------- function
    def _function(self, plan: CategoryPlan, name: str, traced: bool) -> tuple[tuple[str, ...], ...]:
        emit = self.out
        self._locals = {}
        self._traced = traced
        self._flags_read = False  # _fl, the decimal context's flags, read once a function
        emit(f"def {name}(f, T):")
        emit.indent += 1
        # facts into locals
        for index, fact in enumerate(plan.facts):
            local = f"F{index}"
            self._locals[fact] = local
            emit(f"{local} = f[{self.key(fact)}]")
        body_start = len(emit.lines)
        # deferrals and lets, in dependency order
        defers_done: set[str] = set()
        emit("DF = []")
        for defer_index, defer in enumerate(plan.defers):
            self._defer(defer, defer_index, traced)
            defers_done.add(defer.alias)
        for let_name in plan.lets:
            if let_name in self.policy.lets:
                local = f"L{len(self._locals)}"
                emit(f"{local} = {self.expr(self.policy.lets[let_name].value)}")
                self._locals[let_name] = local
                if traced:
                    emit(f"T.append(('let', {self.const(let_name)}, {local}))")
        # targets
        target_locals: list[str] = []
        by_section: dict[tuple[str, ...], list[str]] = {}
        int_targets: set[str] = set()
        for t_index, placed in enumerate(plan.targets):
            local = self._target(placed, t_index, traced)
            target_locals.append(local)
            if self._int_valued(placed):
                int_targets.add(local)
            by_section.setdefault(placed.section, []).append(local)
        # sections, leaves first then parents; output order is pre-order
        order: list[tuple[str, ...]] = []
        section_locals: dict[tuple[str, ...], str] = {}
        for section in plan.category.all_sections():
            order.append(section.path)

        def section_value(path: tuple[str, ...]) -> str:
            if path in section_locals:
                return section_locals[path]
            info = next(s for s in plan.category.all_sections() if s.path == path)
            if info.is_leaf:
                local = f"S{len(section_locals)}"
                parts = by_section.get(path, [])
                quick = sorted(parts, key=lambda part: part not in int_targets)
                if not traced and quick != parts:
                    # The scores that are surely ints first: sum() adds ints in C until the first
                    # Decimal and falls back to generic addition for every later term.  Scores
                    # are never negative, so if this order rounds nothing (34 digits), neither
                    # does declaration order and both give the exact sum; if it does round
                    # (a proportional score has 34 digits), add again in declaration order.
                    if not self._flags_read:
                        emit("_fl = _context_flags()")
                        self._flags_read = True
                    emit("_fl[_ROUNDED] = False")
                    emit(f"{local} = {_flat_sum(quick)}")
                    emit(f"if _fl[_ROUNDED]: {local} = {_flat_sum(parts)}")
                else:  # declaration order, as the reference interpreter adds
                    emit(f"{local} = {_flat_sum(parts)}")
                emit(f"if {local} < 0: {local} = 0")
            else:
                parts = [section_value(c.path) for c in info.children]
                # named after the children, so a parent never shares a local with its first child
                local = f"S{len(section_locals)}"
                emit(f"{local} = {' + '.join(parts)}")
            section_locals[path] = local
            return local

        tops = [section_value(s.path) for s in plan.category.sections]
        for path in order:
            section_value(path)
        emit(f"SCORE = {' + '.join(tops) if tops else '0'}")
        # vetoes
        emit("V = []")
        emit("XV = []")
        for v_index, veto in enumerate(plan.vetoes):
            self._veto(veto, v_index, traced)
        # band and rating
        ratings = [r.name for r in self.policy.ratings.ratings]
        emit("BAND = -1")
        keyword = "if"  # the first band (highest first) that holds: one if/elif chain
        for b_index in sorted(range(len(plan.bands)), key=lambda i: plan.bands[i].low, reverse=True):
            band = plan.bands[b_index]
            low_op = ">=" if band.low_closed else ">"
            high_op = "<=" if band.high_closed else "<"
            emit(f"{keyword} SCORE {low_op} {self.number(band.low)} and SCORE {high_op} {self.number(band.high)}: BAND = {b_index}")
            keyword = "elif"
        band_ratings = tuple(ratings.index(b.rating) for b in plan.bands)
        vetoed = ratings.index(self.policy.ratings.vetoed)
        emit(f"RATING = {vetoed} if V else ({self.const(band_ratings)}[BAND] if BAND >= 0 else {vetoed})")
        # outcomes
        emit("OUT = None")
        for rating_name, outcome in self.policy.outcomes.items():
            self._outcome(outcome, ratings.index(rating_name))
        sections_tuple = "(" + "".join(f"{section_locals[p]}, " for p in order) + ")"
        targets_tuple = "(" + "".join(f"{t}, " for t in target_locals) + ")"
        returned = f"(SCORE, {sections_tuple}, {targets_tuple}, V, XV, DF, BAND, RATING, OUT)"
        self._last_body = ("\n".join(emit.lines[body_start:]), returned)
        emit(f"return {returned}")
        emit.indent -= 1
        emit("")
        return tuple(order)

    def _reads_tuple(self, node: Reader) -> str:
        names = self.policy.reads.get(node, ())
        parts = [self._value_of(n) for n in names]
        return "(" + "".join(f"{p}, " for p in parts) + ")"

    def _value_of(self, name: str) -> str:
        if name in self._locals:
            return self._locals[name]
        if name in self.policy.params:
            return self.const(self.policy.param_values.get(name), "_p")
        if name in self.policy.checkpoints:
            return self.const(self.policy.checkpoints[name].end)
        return "None"

    def _defer(self, defer: ast.DeferDecl, index: int, traced: bool) -> None:
        emit = self.out
        source = self._locals.get(defer.source_list) or self._value_of(defer.source_list)
        keep, moved = f"A{index}", f"M{index}"
        cond = self.expr(defer.where)
        emit(f"{keep} = []")
        emit(f"{moved} = []")
        emit(f"for _it0 in {source}:")
        emit(f"    ({moved} if {cond} else {keep}).append(_it0)")
        emit(f"if {moved}: DF.append(({index}, {moved}))")
        self._locals[defer.alias] = keep

    def _target(self, placed: PlacedTarget, index: int, traced: bool) -> str:
        emit = self.out
        points = self.number(placed.points)
        parts: list[str] = []
        rules = placed.target.rules
        if not traced and len(rules) == 1 and isinstance(rules[0], ast.Full) and points.isdigit():
            # points - (0 if c else points), never negative: the same ints without the arithmetic
            emit(f"T{index} = {points} if {self.expr(rules[0].condition)} else 0")
            return f"T{index}"
        for r_index, rule in enumerate(placed.target.rules):
            local = f"D{index}_{r_index}"
            emit(f"{local} = {self._rule(rule, points)}")
            parts.append(local)
            if traced:
                emit(f"T.append(('rule', {index}, {r_index}, {local}, {self._reads_tuple(rule)}))")
        local = f"T{index}"
        if parts:
            emit(f"{local} = {points} - ({' + '.join(parts)})")
            emit(f"if {local} < 0: {local} = 0")
        else:
            emit(f"{local} = {points}")
        if traced:
            emit(f"T.append(('target', {index}, {local}))")
        return local

    def _int_valued(self, placed: PlacedTarget) -> bool:
        """True when the target's score is surely an ``int`` at run time: int points, int deductions."""
        if not self.number(placed.points).isdigit():
            return False
        types = self.policy.types
        for rule in placed.target.rules:
            if isinstance(rule, (ast.Proportional, ast.Score)):
                return False
            parts = ast.rule_parts(rule)
            for operand in (parts.amount, parts.per, parts.cap):
                if operand is not None and types[operand].kind != "int":
                    return False
        return True

    def _rule(self, rule: ast.Rule, points: str) -> str:
        if isinstance(rule, ast.Full):
            return f"(0 if {self.expr(rule.condition)} else {points})"
        # computed for every kind with an amount, as before the rule classes (proportional and
        # score discard it): keeps the generated temporaries and their numbering unchanged
        amount = self._nonneg(rule.amount)
        if isinstance(rule, ast.DeductWhen):
            return f"({amount} if {self.expr(rule.condition)} else 0)"
        if isinstance(rule, ast.DeductUnless):
            return f"(0 if {self.expr(rule.condition)} else {amount})"
        if isinstance(rule, ast.DeductPer):
            raw = f"({amount} * {self._nonneg(rule.per)})"
            return f"_cap({raw}, {self.expr(rule.cap)})" if rule.cap is not None else raw
        if isinstance(rule, ast.Deduct):
            return f"_cap({amount}, {self.expr(rule.cap)})" if rule.cap is not None else amount
        if isinstance(rule, ast.Proportional):
            ratio = self.expr(rule.amount)
            if self.policy.types[rule.amount].kind == "percent":
                ratio = f"_div({ratio}, 100)"
            return f"({points} - {points} * _clamp({ratio}, 0, 1))"
        return f"({points} - _clamp({self.expr(rule.amount)}, 0, {points}))"  # ast.Score
    def _veto(self, veto: ast.VetoDecl, index: int, traced: bool) -> None:
        emit = self.out
        reads = self._reads_tuple(veto)
        if veto.on_list is not None:
            source = self.expr(veto.on_list)
            cond = self.expr(veto.condition)
            emit(f"E{index} = []")  # a loop, not a list display: no function and frame per unit
            emit(f"for _it0 in {source}:")
            emit(f"    if {cond}: E{index}.append(_it0)")
        else:
            emit(f"E{index} = {self.expr(veto.condition)}")
        emit(f"if E{index}:")
        emit.indent += 1
        emit("X = -1")
        for e_index, exc in enumerate(veto.exceptions):
            emit(f"if X < 0 and {self.expr(exc.condition)}: X = {e_index}")
        evidence = f"E{index}" if veto.on_list is not None else "None"
        emit(f"if X < 0: V.append(({index}, {evidence}, {reads}))")
        emit(f"else: XV.append(({index}, X, {evidence}, {reads}))")
        if traced:
            emit(f"T.append(('veto', {index}, X < 0, X, {evidence}, {reads}))")
        emit.indent -= 1
        if traced:
            emit("else:")
            emit(f"    T.append(('veto', {index}, False, -1, None, {reads}))")

    def _outcome(self, outcome: ast.OutcomeDecl, rating_index: int) -> None:
        emit = self.out
        emit(f"if RATING == {rating_index}:")
        emit.indent += 1
        self._outcome_locals = {}
        amounts: list[str] = []
        total_parts: list[str] = []
        shares: list[str] = []
        rest_local = None
        for i_index, item in enumerate(outcome.items):
            local = f"O{i_index}"
            if item.kind in ("reward", "fine"):
                emit(f"{local} = _fen({self.expr(item.amount)})")  # type: ignore[arg-type]
                self._outcome_locals[item.name] = local
                total_parts.append(local)
            elif item.kind == "share":
                if item.amount is None:
                    rest_local = local
                    emit(f"{local} = None")
                else:
                    emit(f"{local} = _fen({self.expr(item.amount)})")
                    shares.append(local)
            else:
                emit(f"{local} = None")
            amounts.append(local)
        total = " + ".join(total_parts) if total_parts else "0"
        emit(f"TOTAL = {total}")
        if rest_local is not None:
            emit(f"{rest_local} = TOTAL - ({' + '.join(shares) if shares else '0'})")
        emit(f"OUT = (TOTAL, ({''.join(a + ', ' for a in amounts)}))")
        emit.indent -= 1
        self._outcome_locals = {}

    # ---------------------------------------------------------- expressions
    def expr(self, e: ast.Expr) -> str:
        return self._e(e)

    def _t(self, e: ast.Expr) -> Type:
        return self.policy.types[e]

    def _e(self, e: ast.Expr) -> str:
        method: Callable[[Any], str] = getattr(self, "_e_" + type(e).__name__)
        return method(e)

    def _e_Number(self, e: ast.Number) -> str:
        if e.is_int:
            return str(int(e.value))
        return self.const(e.value)

    def _e_MoneyLit(self, e: ast.MoneyLit) -> str:
        return self.const(e.value)

    def _e_PercentLit(self, e: ast.PercentLit) -> str:
        return self.const(e.value)

    def _e_DateLit(self, e: ast.DateLit) -> str:
        return self.const(e.value)

    def _e_TextLit(self, e: ast.TextLit) -> str:
        return self.const(e.value)

    def _e_BoolLit(self, e: ast.BoolLit) -> str:
        return "True" if e.value else "False"

    def _e_NoneLit(self, e: ast.NoneLit) -> str:
        return "None"

    def _e_EmptyList(self, e: ast.EmptyList) -> str:
        return "()"

    def _e_It(self, e: ast.It) -> str:
        res = self.policy.resolutions[e]
        return f"_it{res.depth}"

    def _e_Name(self, e: ast.Name) -> str:
        res = self.policy.resolutions[e]
        kind = res.kind
        if kind in ("fact", "let", "alias"):
            local = self._locals.get(res.name)
            if local is None:  # pragma: no cover - plans include every read
                raise AssertionError(f"no local for {res.name!r}")
            return local
        if kind == "param":
            return self.const(self.policy.param_values.get(res.name), "_p")
        if kind == "checkpoint":
            return self.const(self.policy.checkpoints[res.name].end)
        if kind == "enum":
            return str(int(res.value))  # type: ignore[call-overload]
        if kind == "field":
            return f"_it{res.depth}[{self.key(res.name)}]"
        if kind == "record_field":
            if self._record_locals is not None:
                return self._record_locals[res.name]
            return f"r[{self.key(res.name)}]"
        if kind == "outcome_item":
            return self._outcome_locals[res.name]
        raise AssertionError(kind)  # pragma: no cover

    def _e_Member(self, e: ast.Member) -> str:
        res = self.policy.resolutions.get(e)
        if res is not None and res.kind == "enum":
            return str(int(res.value))  # type: ignore[call-overload]
        return f"{self._e(e.obj)}[{self.key(e.field)}]"

    def _e_Neg(self, e: ast.Neg) -> str:
        return f"(-{self._e(e.operand)})"

    def _plain_chain(self, e: ast.Expr, ops: str) -> str | None:
        """Unparenthesised text of a left-leaning chain ``a + b - c`` (Python's own associativity).

        Long chains would otherwise nest one pair of parentheses per term, and CPython
        refuses source nested more than 200 deep.
        """
        if isinstance(e, ast.Binary) and e.op in ops and self._is_plain_arith(e):
            left = self._plain_chain(e.left, ops) or self._e(e.left)
            return f"{left} {e.op} {self._e(e.right)}"
        return None

    def _is_plain_arith(self, e: ast.Binary) -> bool:
        ka, kb = self._t(e.left).kind, self._t(e.right).kind
        if e.op == "-" and ka == "date" and kb == "date":
            return False
        return not (e.op == "*" and {ka, kb} == {"money", "percent"})

    def _e_Binary(self, e: ast.Binary) -> str:
        if e.op in "+-*" and self._is_plain_arith(e):
            ops = "+-" if e.op in "+-" else "*"
            return f"({self._plain_chain(e, ops)})"
        a, b = self._e(e.left), self._e(e.right)
        ka, kb = self._t(e.left).kind, self._t(e.right).kind
        if e.op == "-" and ka == "date" and kb == "date":
            return f"({a} - {b}).days"
        if e.op == "*" and {ka, kb} == {"money", "percent"}:
            return f"_div({a} * {b}, 100)"
        if e.op == "/":
            if ka == "money" and kb == "percent":
                return f"_div({a} * 100, {b})"
            return f"_div({a}, {b})"
        return f"({a} {e.op} {b})"

    def _e_Compare(self, e: ast.Compare) -> str:
        return f"({self._e(e.left)} {e.op} {self._e(e.right)})"

    def _e_InRange(self, e: ast.InRange) -> str:
        return f"({self._e(e.low)} <= {self._e(e.value)} <= {self._e(e.high)})"

    def _e_And(self, e: ast.And) -> str:
        return self._logic_chain(e, ast.And, "and")

    def _e_Or(self, e: ast.Or) -> str:
        return self._logic_chain(e, ast.Or, "or")

    def _logic_chain(self, e: ast.And | ast.Or, kind: type, word: str) -> str:
        """``a and b and c`` flat (not one parenthesis per operand: CPython limits nesting)."""
        parts: list[ast.Expr] = []
        node: ast.Expr = e
        while isinstance(node, kind):
            parts.append(node.right)  # type: ignore[union-attr]
            node = node.left  # type: ignore[union-attr]
        parts.append(node)
        return "(" + f" {word} ".join(self._e(p) for p in reversed(parts)) + ")"

    def _e_Not(self, e: ast.Not) -> str:
        return f"(not {self._e(e.operand)})"

    def _e_If(self, e: ast.If) -> str:
        return f"({self._e(e.then)} if {self._e(e.cond)} else {self._e(e.otherwise)})"

    def _e_IsSet(self, e: ast.IsSet) -> str:
        operand_type = self._t(e.operand)
        if not operand_type.optional:  # never none (the checker warned, K162): a constant, not `1 is None`
            return "True" if e.expect_set else "False"
        op = "is not" if e.expect_set else "is"
        return f"({self._e(e.operand)} {op} None)"

    def _e_Coalesce(self, e: ast.Coalesce) -> str:
        left, right = self._e(e.left), self._e(e.right)
        if _SIMPLE.match(left) and _SIMPLE.match(right):  # a local or constant: evaluating it twice costs nothing
            return f"({right} if {left} is None else {left})"
        return f"_coalesce({left}, {right})"

    def _e_Call(self, e: ast.Call) -> str:
        args = [self._e(a) for a in e.args]
        if e.func == "round":
            places = args[1] if len(args) > 1 else "0"
            if len(args) == 1 and self._t(e.args[0]).kind in ("int", "decimal"):
                return f"int(_round({args[0]}, 0))"
            return f"_round({args[0]}, {places})"
        if e.func == "floor":
            return f"_floor({args[0]})" if self._t(e).kind == "int" else f"_floor_d({args[0]})"
        if e.func == "ceil":
            return f"_ceil({args[0]})" if self._t(e).kind == "int" else f"_ceil_d({args[0]})"
        if e.func == "abs":
            return f"abs({args[0]})"
        if e.func in ("year", "month", "day"):
            return f"{args[0]}.{e.func}"
        raise AssertionError(e.func)  # pragma: no cover

    # ------------------------------------------------ aggregates as loops
    def _unconditional_aggregates(self) -> set[int]:
        """The aggregates a category function always evaluates, as statements.

        A generator expression costs a function object, a frame and a resume per
        item; for the short lists of a unit (a few accidents, a few records) that
        dwarfs the work.  An aggregate that is evaluated whenever the statement
        holding it runs — not under ``and``/``or``/``if``/``??`` or a rule's
        conditional part, not inside another aggregate — can instead be computed
        by a plain loop emitted just before that statement: the same values, so the
        same result.  Not always the same *first* error: the loop runs before the
        operands to its left, so with two faults in one statement the other may
        surface first.  The traced evaluator therefore keeps every aggregate an
        expression, and ``Policy`` reports an evaluation error from a traced re-run
        (which also locates it), in the reference interpreter's order.
        """
        roots: list[ast.Expr | None] = [let.value for let in self.policy.lets.values()]
        for target in self.policy.targets:
            for rule in target.rules:
                parts = ast.rule_parts(rule)
                if isinstance(rule, (ast.DeductWhen, ast.DeductUnless, ast.Full)):
                    roots.append(parts.condition)  # the amount is evaluated only on one branch
                else:
                    roots.extend((parts.amount, parts.per, parts.cap))
        roots.extend(veto.condition for veto in self.policy.vetoes if veto.on_list is None)
        found: set[int] = set()
        while roots:
            e = roots.pop()
            if isinstance(e, ast.Aggregate):
                if e.func in ("count", "sum", "any", "all") and not (e.func == "count" and e.where is None):
                    found.add(id(e))
            elif isinstance(e, (ast.Compare, ast.Binary)):
                roots.extend((e.left, e.right))
            elif isinstance(e, (ast.Not, ast.Neg)):
                roots.append(e.operand)
        return found

    def _hoisted(self, e: ast.Aggregate) -> str:
        """Emit ``e`` as a loop before the current statement; return the local holding its value."""
        self._temps += 1
        local = f"_a{self._temps}"
        source = self._e(e.source)
        where = f"({self._e(e.where)})" if e.where is not None else None
        of = f"({self._e(e.of)})" if e.of is not None else None
        emit = self.out
        if e.func in ("count", "sum"):
            step = f"{local} += 1" if e.func == "count" else f"{local} += {of if of is not None else '_it0'}"
            emit(f"{local} = 0")
            emit(f"for _it0 in {source}:")
            emit(f"    if {where}: {step}" if where is not None else f"    {step}")
        else:  # any/all: stop at the first deciding item, as any()/all() do
            if of is None:
                test, where = where, None
            else:
                test = of
            assert test is not None
            found, decided = ("True", test) if e.func == "any" else ("False", f"not {test}")
            guard = f"{where} and {decided}" if where is not None else decided
            emit(f"{local} = {'False' if e.func == 'any' else 'True'}")
            emit(f"for _it0 in {source}:")
            emit(f"    if {guard}:")
            emit(f"        {local} = {found}")
            emit("        break")
        return local

    def _e_Aggregate(self, e: ast.Aggregate) -> str:
        if (id(e) in self._hoistable and not self._traced and self._record_locals is None
                and self._depth_of(e) == 0):
            return self._hoisted(e)
        text = self._aggregate(e)
        source = self._e(e.source)
        if e.func in _EMPTY_AGGREGATE and _SIMPLE.match(source) and not text.startswith("len("):
            # most lists are empty: skip creating a generator for them (same value as the generator gives)
            return f"({text} if {source} else {_EMPTY_AGGREGATE[e.func]})"
        return text

    def _aggregate(self, e: ast.Aggregate) -> str:
        source = self._e(e.source)
        depth = self._depth_of(e)
        var = f"_it{depth}"
        where = f" if {self._e(e.where)}" if e.where is not None else ""
        if e.func == "count":
            return f"len({source})" if e.where is None else f"sum(1 for {var} in {source}{where})"
        if e.func in ("any", "all"):
            test = self._e(e.of) if e.of is not None else None
            if test is None:
                assert e.where is not None
                return f"{e.func}({self._e(e.where)} for {var} in {source})"
            if e.func == "any":
                return f"any({test} for {var} in {source}{where})"
            return f"all({test} for {var} in {source}{where})"
        value = self._e(e.of) if e.of is not None else var
        if e.func == "sum":
            return f"sum(({value} for {var} in {source}{where}), 0)"
        return f"{e.func}(({value} for {var} in {source}{where}), default=None)"

    def _depth_of(self, e: ast.Aggregate) -> int:
        # the depth of an aggregate's item is recorded on the names inside it; find one, else count nesting
        return self._aggregate_depths.get(id(e), 0)

    @property
    def _aggregate_depths(self) -> dict[int, int]:
        if not hasattr(self, "_agg_depth_cache"):
            self._agg_depth_cache: dict[int, int] = {}
            self._index_depths()
        return self._agg_depth_cache

    def _index_depths(self) -> None:
        """Number aggregates by nesting: the item of an aggregate nested in n others is ``_it{n}``."""
        roots: list[tuple[ast.Expr, int]] = []
        for let in self.policy.lets.values():
            roots.append((let.value, 0))
        for record in self.policy.records.values():
            for rlet in record.lets:
                roots.append((rlet.value, 0))
        for defer in self.policy.defers:
            roots.append((defer.where, 1))
        for target in self.policy.targets:
            for rule in target.rules:
                for part in ast.rule_parts(rule):
                    if part is not None:
                        roots.append((part, 0))
        for veto in self.policy.vetoes:
            roots.append((veto.condition, 1 if veto.on_list is not None else 0))
            if veto.on_list is not None:
                roots.append((veto.on_list, 0))
            for exc in veto.exceptions:
                roots.append((exc.condition, 0))
        for outcome in self.policy.outcomes.values():
            for item in outcome.items:
                if item.amount is not None:
                    roots.append((item.amount, 0))
        for root, depth in roots:
            self._walk_depth(root, depth)

    def _walk_depth(self, e: object, depth: int) -> None:
        if isinstance(e, ast.Aggregate):
            self._agg_depth_cache[id(e)] = depth
            self._walk_depth(e.source, depth)
            for part in (e.of, e.where):
                if part is not None:
                    self._walk_depth(part, depth + 1)
            return
        if attrs.has(type(e)):
            for field in attrs.fields(type(e)):  # type: ignore[arg-type]
                value = getattr(e, field.name)
                if isinstance(value, tuple):
                    for v in value:
                        if attrs.has(type(v)):
                            self._walk_depth(v, depth)
                elif attrs.has(type(value)) and field.name != "span":
                    self._walk_depth(value, depth)

    def _e_Extremum(self, e: ast.Extremum) -> str:
        return f"{e.func}({', '.join(self._e(a) for a in e.args)})"


def _flat_sum(parts: list[str]) -> str:
    """Left to right as a chain of ``+`` adds, but flat and in C: ``sum(rest, first)``."""
    if len(parts) > 2:
        return f"sum(({', '.join(parts[1:])},), {parts[0]})"
    return " + ".join(parts) if parts else "0"


def compile_policy(policy: CheckedPolicy) -> CompiledSource:
    """Generate the evaluator source and constants for a checked policy."""
    return Compiler(policy).compile()

