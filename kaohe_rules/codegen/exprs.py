"""The expression compiler: one ``visit_<ClassName>`` per AST expression class, returning Python source.

Why a class per frame: a visit's output depends on where it is emitted (which
locals hold facts and lets, whether a record's fields are locals ``v#`` or
``r[...]``, how deep the enclosing loops are, whether the function is traced).
All of that is the :class:`~kaohe_rules.codegen.frame.Frame` the compiler is
built with; :meth:`ExprCompiler.inner` gives the compiler of a nested scope.  The
visit methods take only the node, with exactly the class name, so the compiler
can be based on the language's ``ExprVisitor[str]``.

Decisions such as "this operand is a simple local or constant" and "this score
is surely an int" are taken on the AST and its types, never on emitted text.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from ..language import ast
from ..language.model import CheckedPolicy
from ..language.types import Type
from ..language.visitor import ExprVisitor
from ..numeric import scales_by_percent
from .constants import ConstantTable, int_literal
from .emitter import Emitter
from .frame import COHORT_ATTRIBUTES, SCORE_KEY, Frame, score_key

_EMPTY_AGGREGATE = {"count": "0", "sum": "0", "any": "False", "all": "True", "min": "None", "max": "None",
                    "increasing": "True", "decreasing": "True"}
# resolutions whose generated text is a local, a table constant or an int literal
_SIMPLE_KINDS = frozenset({"fact", "let", "alias", "param", "checkpoint", "enum", "outcome_item"})
_LITERALS = (ast.Number, ast.MoneyLit, ast.PercentLit, ast.DateLit, ast.TextLit, ast.BoolLit, ast.NoneLit, ast.It)


@attrs.define
class Context:
    """What every expression compiler of one policy shares: the model, the constants, the output."""

    policy: CheckedPolicy
    table: ConstantTable
    out: Emitter
    hoistable: frozenset[ast.Aggregate] = frozenset()  # see unit.unconditional_aggregates

    def const(self, value: object, prefix: str = "_c") -> str:
        return self.table.name(value, prefix)

    def key(self, text: str) -> str:
        return self.const(text, "_k")

    def number(self, value: object) -> str:
        """A constant number as source: an int literal when :func:`int_literal` allows, else a table constant."""
        as_int = int_literal(value)
        return str(as_int) if as_int is not None else self.const(value)

    def type_of(self, e: ast.Expr) -> Type:
        return self.policy.types[e]


class ExprCompiler(ExprVisitor[str]):
    """Python source for the expressions of one frame (``visit`` dispatches on the node's class)."""

    def __init__(self, ctx: Context, frame: Frame) -> None:
        self.ctx = ctx
        self.frame = frame

    def inner(self, frame: Frame) -> ExprCompiler:
        return ExprCompiler(self.ctx, frame)

    # ------------------------------------------------------- AST decisions
    def is_simple(self, e: ast.Expr) -> bool:
        """The operand compiles to a local, a table constant or a literal: no side effect, cannot raise."""
        if isinstance(e, _LITERALS):
            return True
        if isinstance(e, (ast.Name, ast.Member)):
            res = self.ctx.policy.resolutions.get(e)
            if res is None:
                return False
            if res.kind == "record_field":
                return self.frame.kind == "record"  # a local v#/w#, not r[...]
            return res.kind in _SIMPLE_KINDS
        return False

    def constant_of(self, e: ast.Expr) -> object:
        """The value of a number literal or a parameter, else None."""
        if isinstance(e, ast.Number):
            return e.value
        if isinstance(e, ast.Name):
            res = self.ctx.policy.resolutions.get(e)
            if res is not None and res.kind == "param":
                return self.ctx.policy.param_values.get(res.name)
        return None

    def nonneg(self, e: ast.Expr) -> str:
        """``max(e, 0)`` as the helper ``_nonneg`` computes it, folded or inlined (no call per rule)."""
        value = self.constant_of(e)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return self.visit(e) if value > 0 else "0"
        temp = self.frame.symbols.temp("_n")
        return f"({temp} if ({temp} := {self.visit(e)}) > 0 else 0)"

    def amount(self, e: ast.Expr, kind: str) -> str:
        """A ``deduct``/``add`` amount (``kind``), refused when negative at run time (issue #10):
        the helper ``_amount`` raises NegativeAmount, an EvaluationError naming the rule, never a
        silent 0.  A constant is folded (the checker refused a negative one, K194)."""
        value = self.constant_of(e)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value >= 0:
            return self.visit(e)
        temp = self.frame.symbols.temp("_n")
        return f"({temp} if ({temp} := {self.visit(e)}) >= 0 else _amount({temp}, {kind!r}))"

    # ------------------------------------------------------------ literals
    def visit_Number(self, e: ast.Number) -> str:
        if e.is_int:
            return str(int(e.value))
        return self.ctx.const(e.value)

    def visit_MoneyLit(self, e: ast.MoneyLit) -> str:
        return self.ctx.const(e.value)

    def visit_PercentLit(self, e: ast.PercentLit) -> str:
        return self.ctx.const(e.value)

    def visit_DateLit(self, e: ast.DateLit) -> str:
        return self.ctx.const(e.value)

    def visit_TextLit(self, e: ast.TextLit) -> str:
        return self.ctx.const(e.value)

    def visit_BoolLit(self, e: ast.BoolLit) -> str:
        return "True" if e.value else "False"

    def visit_NoneLit(self, e: ast.NoneLit) -> str:
        return "None"

    def visit_EmptyList(self, e: ast.EmptyList) -> str:
        return "()"

    # --------------------------------------------------------------- names
    def visit_It(self, e: ast.It) -> str:
        res = self.ctx.policy.resolutions[e]
        return f"_it{res.depth}"

    def visit_Name(self, e: ast.Name) -> str:
        ctx = self.ctx
        res = ctx.policy.resolutions[e]
        kind = res.kind
        if kind in ("fact", "let", "alias", "outcome_item"):
            return self.frame.symbols[res.name]
        if kind == "param":
            return ctx.const(ctx.policy.param_values.get(res.name), "_p")
        if kind == "checkpoint":
            return ctx.const(ctx.policy.checkpoints[res.name].end)
        if kind == "enum":
            return str(int(res.value))  # type: ignore[call-overload]
        if kind == "field":
            return f"_it{res.depth}[{ctx.key(res.name)}]"
        if kind == "it":  # a named item (``L as a``)
            return f"_it{res.depth}"
        if kind == "record_field":
            if self.frame.kind == "record":
                return self.frame.symbols[res.name]
            return f"r[{ctx.key(res.name)}]"
        if kind == "score":  # the unit's score before score effects (issue #10 A2)
            return self.frame.symbols[SCORE_KEY]
        if kind in _PERIOD_KINDS:  # issue #11 P
            return period_name(res.kind, res.value)
        if kind == "cohort":  # a cohort value: read from the unit's standing ``C`` (issue #11 C)
            return COHORT_ATTRIBUTES[res.name]
        raise AssertionError(kind)  # pragma: no cover

    def visit_Member(self, e: ast.Member) -> str:
        res = self.ctx.policy.resolutions.get(e)
        if res is not None and res.kind == "enum":
            return str(int(res.value))  # type: ignore[call-overload]
        return f"{self.visit(e.obj)}[{self.ctx.key(e.field)}]"

    # ---------------------------------------------------------- arithmetic
    def visit_Neg(self, e: ast.Neg) -> str:
        return f"(-{self.visit(e.operand)})"

    def _plain_chain(self, e: ast.Expr, ops: str) -> str | None:
        """Unparenthesised text of a left-leaning chain ``a + b - c`` (Python's own associativity).

        Long chains would otherwise nest one pair of parentheses per term, and CPython
        refuses source nested more than 200 deep.
        """
        if isinstance(e, ast.Binary) and e.op in ops and self._is_plain_arith(e):
            left = self._plain_chain(e.left, ops) or self.visit(e.left)
            return f"{left} {e.op} {self.visit(e.right)}"
        return None

    def _is_plain_arith(self, e: ast.Binary) -> bool:
        ka, kb = self.ctx.type_of(e.left).kind, self.ctx.type_of(e.right).kind
        if e.op == "-" and ka == "date" and kb == "date":
            return False
        return not (e.op == "*" and scales_by_percent(ka, kb))

    def visit_Binary(self, e: ast.Binary) -> str:
        if e.op in "+-*" and self._is_plain_arith(e):
            ops = "+-" if e.op in "+-" else "*"
            return f"({self._plain_chain(e, ops)})"
        a, b = self.visit(e.left), self.visit(e.right)
        ka, kb = self.ctx.type_of(e.left).kind, self.ctx.type_of(e.right).kind
        if e.op == "-" and ka == "date" and kb == "date":
            return f"({a} - {b}).days"
        if e.op == "*" and scales_by_percent(ka, kb):  # ÷ 100 cannot divide by zero: the division itself
            return f"_div100({a} * {b}, 100)"
        if e.op == "/":
            if ka == "money" and kb == "percent":
                return f"_div({a} * 100, {b})"
            return f"_div({a}, {b})"
        return f"({a} {e.op} {b})"

    def visit_Compare(self, e: ast.Compare) -> str:
        return f"({self.visit(e.left)} {e.op} {self.visit(e.right)})"

    def visit_InRange(self, e: ast.InRange) -> str:
        return f"({self.visit(e.low)} <= {self.visit(e.value)} <= {self.visit(e.high)})"

    # --------------------------------------------------------------- logic
    def visit_And(self, e: ast.And) -> str:
        return self._logic_chain(e, ast.And, "and")

    def visit_Or(self, e: ast.Or) -> str:
        return self._logic_chain(e, ast.Or, "or")

    def _logic_chain(self, e: ast.And | ast.Or, kind: type, word: str) -> str:
        """``a and b and c`` flat (not one parenthesis per operand: CPython limits nesting)."""
        parts: list[ast.Expr] = []
        node: ast.Expr = e
        while isinstance(node, kind):
            parts.append(node.right)  # type: ignore[union-attr]
            node = node.left  # type: ignore[union-attr]
        parts.append(node)
        return "(" + f" {word} ".join(self.visit(p) for p in reversed(parts)) + ")"

    def visit_Not(self, e: ast.Not) -> str:
        return f"(not {self.visit(e.operand)})"

    def visit_If(self, e: ast.If) -> str:
        return f"({self.visit(e.then)} if {self.visit(e.cond)} else {self.visit(e.otherwise)})"

    def visit_IsSet(self, e: ast.IsSet) -> str:
        if not self.ctx.type_of(e.operand).optional:  # never none (the checker warned, K162): a constant
            return "True" if e.expect_set else "False"
        op = "is not" if e.expect_set else "is"
        return f"({self.visit(e.operand)} {op} None)"

    def visit_Coalesce(self, e: ast.Coalesce) -> str:
        left, right = self.visit(e.left), self.visit(e.right)
        if self.is_simple(e.left) and self.is_simple(e.right):  # evaluating a local twice costs nothing
            return f"({right} if {left} is None else {left})"
        return f"_coalesce({left}, {right})"

    def visit_Call(self, e: ast.Call) -> str:
        res = self.ctx.policy.resolutions.get(e)
        if res is not None and res.kind == "map":  # a map (issue #16): a constant dict lookup; none in, none out
            table = self.ctx.const(self.ctx.policy.map_values[res.name], "_m")
            return f"{table}.get({self.visit(e.args[0])})"
        if e.func == "index":  # the loop that binds the item counts from 1 (_aggregate_extras, a veto or defer loop)
            return f"_ix{self.ctx.policy.resolutions[e].depth}"
        if e.func == "score":  # score(X): a target's or a section's score, already a local (issue #10 A2)
            res = self.ctx.policy.resolutions.get(e)
            if res is not None and res.kind == "score_of":
                return self.frame.symbols[score_key(res.name, res.value)]  # type: ignore[arg-type]
        args = [self.visit(a) for a in e.args]
        kind = self.ctx.type_of(e).kind
        if e.func == "round":
            places = args[1] if len(args) > 1 else "0"
            if len(args) == 1 and self.ctx.type_of(e.args[0]).kind in ("int", "decimal"):
                return f"int(_round({args[0]}, 0))"
            return f"_round({args[0]}, {places})"
        if e.func == "floor":
            return f"_floor({args[0]})" if kind == "int" else f"_floor_d({args[0]})"
        if e.func == "ceil":
            return f"_ceil({args[0]})" if kind == "int" else f"_ceil_d({args[0]})"
        if e.func == "abs":
            return f"abs({args[0]})"
        if e.func in ("year", "month", "day"):
            return f"{args[0]}.{e.func}"
        raise AssertionError(e.func)  # pragma: no cover

    def visit_Extremum(self, e: ast.Extremum) -> str:
        return f"{e.func}({', '.join(self.visit(a) for a in e.args)})"

    # issue #16: list literals and membership (none is in no list: ``None in (…)`` is False)
    def visit_ListLit(self, e: ast.ListLit) -> str:
        return f"({''.join(self.visit(item) + ', ' for item in e.items)})"

    def visit_InList(self, e: ast.InList) -> str:
        return f"({self.visit(e.value)} in {self.visit(e.container)})"

    # ---------------------------------------------------------- aggregates
    def visit_Aggregate(self, e: ast.Aggregate) -> str:
        frame = self.frame
        if (e in self.ctx.hoistable and not frame.traced and not frame.in_record and frame.depth == 0
                and not uses_iteration_extras(e, self.ctx.policy)):
            return self._hoisted(e)
        text = self._aggregate(e)
        if (e.func in _EMPTY_AGGREGATE and self.is_simple(e.source)
                and not (e.func == "count" and e.where is None)):
            # most lists are empty: skip creating a generator for them (same value as the generator gives)
            return f"({text} if {self.visit(e.source)} else {_EMPTY_AGGREGATE[e.func]})"
        return text

    def _aggregate(self, e: ast.Aggregate) -> str:
        source = self.visit(e.source)
        var = f"_it{self.frame.depth}"
        body = self.inner(self.frame.inner(loop=True))  # of/where see one more loop variable
        where = f" if {body.visit(e.where)}" if e.where is not None else ""
        if e.func == "streak":  # issue #11 P: the longest run of items meeting the condition
            assert e.where is not None
            loop = (f"for _ix{self.frame.depth}, {var} in enumerate({source}, 1)" if self._indexed(e)
                    else f"for {var} in {source}")
            return f"_streak({body.visit(e.where)} {loop})"
        if e.by is not None or e.func in ("increasing", "decreasing") or self._indexed(e):
            return self._aggregate_extras(e, source, var, body, where)
        if e.func == "count":
            return f"len({source})" if e.where is None else f"sum(1 for {var} in {source}{where})"
        if e.func in ("any", "all"):
            if e.of is None:
                assert e.where is not None
                return f"{e.func}({body.visit(e.where)} for {var} in {source})"
            return f"{e.func}({body.visit(e.of)} for {var} in {source}{where})"
        value = body.visit(e.of) if e.of is not None else var
        if e.func == "sum":
            return f"sum(({value} for {var} in {source}{where}), 0)"
        return f"{e.func}(({value} for {var} in {source}{where}), default=None)"

    def _hoisted(self, e: ast.Aggregate) -> str:
        """Emit ``e`` as a loop before the current statement; return the local holding its value."""
        local = self.frame.symbols.temp("_a")
        source = self.visit(e.source)
        body = self.inner(self.frame.inner(loop=True))
        where = f"({body.visit(e.where)})" if e.where is not None else None
        of = f"({body.visit(e.of)})" if e.of is not None else None
        out = self.ctx.out
        site = out.current
        # the loop runs before the operands to its left: with two faults in one statement, another may
        # surface first than in the reference order, so a failure here is marked for the caller
        with out.at(attrs.evolve(site, reordered=True) if site is not None else None):
            self._write_loop(e, local, source, where, of)
        return local

    def _write_loop(self, e: ast.Aggregate, local: str, source: str, where: str | None, of: str | None) -> None:
        out = self.ctx.out
        if e.func in ("count", "sum"):
            step = f"{local} += 1" if e.func == "count" else f"{local} += {of if of is not None else '_it0'}"
            out.writeline(f"{local} = 0")
            out.writeline(f"for _it0 in {source}:")
            out.writeline(f"    if {where}: {step}" if where is not None else f"    {step}")
        else:  # any/all: stop at the first deciding item, as any()/all() do
            if of is None:
                test, where = where, None
            else:
                test = of
            assert test is not None
            found, decided = ("True", test) if e.func == "any" else ("False", f"not {test}")
            guard = f"{where} and {decided}" if where is not None else decided
            out.writeline(f"{local} = {'False' if e.func == 'any' else 'True'}")
            out.writeline(f"for _it0 in {source}:")
            out.writeline(f"    if {guard}:")
            out.writeline(f"        {local} = {found}")
            out.writeline("        break")

    # ------------------------------------ index, group-by, order tests (issue #10 C)
    def _indexed(self, e: ast.Aggregate) -> bool:
        """Whether ``index(NAME)`` reads the position of this aggregate's item (its loop then counts)."""
        return indexed_at(self.ctx.policy, (e.of, e.where, e.by), self.frame.depth)

    def _aggregate_extras(self, e: ast.Aggregate, source: str, var: str, body: ExprCompiler, where: str) -> str:
        """An aggregate that counts positions, groups by a key or tests the order: code only such policies get."""
        loop = (f"for _ix{self.frame.depth}, {var} in enumerate({source}, 1)" if self._indexed(e)
                else f"for {var} in {source}")
        value = body.visit(e.of) if e.of is not None else var
        if e.func in ("increasing", "decreasing"):
            return f"_{e.func}([{value} {loop}{where}])"
        if e.by is not None:
            key = body.visit(e.by)
            if e.func == "count":
                return f"len({{{key} {loop}{where}}})"
            return f"_sum_by((({key}), ({value})) {loop}{where})"
        if e.func == "count":
            return f"sum(1 {loop}{where})"
        if e.func in ("any", "all"):
            if e.of is None:
                assert e.where is not None
                return f"{e.func}({body.visit(e.where)} {loop})"
            return f"{e.func}({value} {loop}{where})"
        if e.func == "sum":
            return f"sum(({value} {loop}{where}), 0)"
        return f"{e.func}(({value} {loop}{where}), default=None)"


#: the resolutions of period values (issue #11 P): locals of a periodic evaluator, or int literals
_PERIOD_KINDS = frozenset({"periods", "period", "period_name", "period_record", "rating"})


def period_name(kind: str, value: object) -> str:
    """The generated text of a period value (issue #11 P): ``PRS`` the period records, ``PI`` the period
    being scored, a period's or a rating's index, ``PRS[i]`` one period's record."""
    if kind == "periods":
        return "PRS"
    if kind == "period":
        return "PI"
    if kind == "period_record":
        return f"PRS[{int(value)}]"  # type: ignore[call-overload]
    return str(int(value))  # type: ignore[call-overload]


def indexed_at(policy: CheckedPolicy, roots: tuple[object, ...], depth: int) -> bool:
    """Whether an ``index(…)`` below ``roots`` reads the item bound at loop ``depth``."""
    for node in ast.walk(*(r for r in roots if r is not None)):
        if isinstance(node, ast.Call) and node.func == "index":
            res = policy.resolutions.get(node)
            if res is not None and res.depth == depth:
                return True
    return False


def uses_iteration_extras(e: ast.Aggregate, policy: CheckedPolicy) -> bool:
    """An aggregate the hoisted loop does not write (group-by, order test, a counted position)."""
    return (e.by is not None or e.func in ("increasing", "decreasing")
            or indexed_at(policy, (e.of, e.where, e.by), 0))
