"""Boundary coverage: did the cases try each comparison of the policy on both sides of its edge?

Rule coverage (:mod:`.coverage`) says a rule fired; it cannot say a threshold is
in the right place.  ``死亡人数 >= 10`` fires for 12 deaths just as ``> 10``
does.  Only a case *at* the edge (10) and one *just on the other side* (9) tell
the two apart, so this module counts, per comparison written in the policy,
whether the cases sat on both sides of it.

Each case's unit is re-run through the reference interpreter
(:mod:`kaohe_rules.runtime.interpreter`) with an observer that sees the operand
values of every comparison, range test, ``and``/``or`` and ``??`` it evaluates
(also inside ``where`` filters, record ``let`` fields, ``when``/``unless`` and
veto conditions); the compiled evaluator is not touched.

**At its edge.**  ``step`` is the smallest difference a fact of the operands'
kind can show: 1 for ``int`` (and ordered enum members, one grade), 0.1 for
``decimal``, 0.01 (one fen) for ``money``, 0.1 percentage point for
``percent`` (the grids the generated units use, :mod:`.domains`) — finer when
a constant compared has more decimal places (a threshold of ``45.25`` brings
0.01) — and one day for dates.  With ``d = left − right``:

* ``a >= b`` and ``a < b`` (the edge lies between ``b − step`` and ``b``): covered
  by a case with ``d = 0`` and one with ``d = −step``;
* ``a > b`` and ``a <= b``: ``d = 0`` and ``d = +step``;
* ``a == b`` / ``a != b`` on numbers or dates: ``d = 0`` and ``d = ±step``;
  on text, booleans and enum members: one case true and one false;
* ``low <= a <= high`` (``in``): two edges, ``a = low`` with ``a = low − step``,
  and ``a = high`` with ``a = high + step``;
* a band edge ``L`` between two bands of a category: a case scoring exactly
  ``L`` and one within one point on the other side (``L − 1 <= score < L`` when the
  upper band includes ``L``; ``L < score <= L + 1`` when it does not);
* ``x ?? default``: a case where ``x`` is absent (the default decides) and one
  where it is given;
* ``A and B`` / ``A or B`` (MC/DC, unique cause with masking): each operand is
  shown to decide the outcome — for ``and`` a case with both true and one with
  that operand false and the other true; for ``or`` both false, and that operand
  true with the other false.  Short-circuited operands are evaluated for this
  alone (their own comparisons are not counted).

A comparison inside a target placed in several categories is one item: any
category's cases may cover it.  A guard (``x is set and x > 3``) whose right side
cannot be evaluated without the left decides alone when false.  Only the
comparisons and bands written in the policy's own file are counted: what a
policy inherits unchanged by ``extends`` is counted for the policy that writes
it (and tested by its test files).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..language import ast
from ..numeric import engine_context
from ..runtime.interpreter import Interpreter

if TYPE_CHECKING:
    from ..language.model import CheckedPolicy
    from ..policy import Policy
    from ..runtime.result import Result

BOUNDARY_KINDS = ("edges", "conditions", "defaults")
_GRID = {"int": Decimal(1), "enum": Decimal(1), "decimal": Decimal("0.1"), "money": Decimal("0.01"),
         "percent": Decimal("0.1")}
_ORDERED = {"int", "decimal", "money", "percent", "date", "enum"}
_NEEDS = {">=": ("eq", "below"), "<": ("eq", "below"), ">": ("eq", "above"), "<=": ("eq", "above")}


@attrs.frozen
class Edge:
    """One thing the cases should show on both sides: ``needs`` are the sides, ``seen`` those shown."""

    kind: str  # edges | conditions | defaults
    key: str  # "file:line:column[/part]"
    text: str  # the source text (or the band) it is about
    needs: tuple[str, ...]  # side ids
    seen: frozenset[str]
    hints: tuple[tuple[str, str], ...]  # side id -> what a case would need, in words

    @property
    def covered(self) -> bool:
        return all(side in self.seen for side in self.needs)

    def missing(self) -> list[str]:
        hints = dict(self.hints)
        return [hints.get(side, side) for side in self.needs if side not in self.seen]


@attrs.frozen
class BoundaryCoverage:
    policy: str
    edges: tuple[Edge, ...]
    cases: int

    def items(self, kind: str | None = None) -> list[Edge]:
        return [e for e in self.edges if kind is None or e.kind == kind]

    def missed(self, kind: str | None = None) -> list[Edge]:
        return [e for e in self.items(kind) if not e.covered]

    def percent(self, kind: str | None = None) -> Decimal:
        items = self.items(kind)
        if not items:
            return Decimal(100)
        covered = sum(1 for e in items if e.covered)
        return (Decimal(100) * covered / len(items)).quantize(Decimal("0.1"))

    def to_dict(self) -> dict[str, object]:
        return {"policy": self.policy, "cases": self.cases, "percent": str(self.percent()),
                "kinds": {kind: {"covered": len(self.items(kind)) - len(self.missed(kind)), "total": len(self.items(kind)),
                                 "percent": str(self.percent(kind)),
                                 "missed": [{"at": e.key, "text": e.text, "needs": e.missing()} for e in self.missed(kind)]}
                          for kind in BOUNDARY_KINDS}}

    def render(self, show_missed: int = 50) -> str:
        lines = [f"boundary coverage of {self.policy} by {self.cases} case(s): {self.percent()}%"]
        for kind in BOUNDARY_KINDS:
            total = len(self.items(kind))
            if total:
                lines.append(f"  {kind:<11} {total - len(self.missed(kind)):>4}/{total:<4} {self.percent(kind):>6}%")
        missed = self.missed()
        if missed:
            lines.append("  edges not tried on both sides:")
            for edge in missed[:show_missed]:
                lines.append(f"    {edge.key}  {edge.text}")
                lines.extend(f"      needs {need}" for need in edge.missing())
            if len(missed) > show_missed:
                lines.append(f"    … and {len(missed) - show_missed} more")
        return "\n".join(lines)


# ------------------------------------------------------------- observing
def _step(checked: CheckedPolicy, nodes: Iterable[ast.Expr]) -> Decimal | None:
    """The operands' grid (None for dates, whose step is a day, and for unordered kinds).

    The grid of their kinds, made finer by the decimal places of the constants among them
    (literals and parameters) — never by a fact's value, so it is the same for every case.
    """
    steps = []
    for node in nodes:
        kind = checked.types[node].kind
        if kind in _GRID:
            steps.append(_GRID[kind])
        value: object = None
        if isinstance(node, (ast.Number, ast.MoneyLit, ast.PercentLit)):
            value = node.value
        elif isinstance(node, ast.Name):
            resolution = checked.resolutions.get(node)
            if resolution is not None and resolution.kind == "param":
                value = checked.param_values.get(resolution.name)
        if isinstance(value, Decimal) and value.is_finite():
            exponent = value.normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < 0:
                steps.append(Decimal(1).scaleb(exponent))
    return min(steps) if steps else None


def _side(left: Any, right: Any, step: Decimal | None) -> str | None:
    """eq / below / above: where ``left`` sits against ``right`` at the edge (None: farther away)."""
    if left is None or right is None:
        return None
    if isinstance(left, datetime.date) and isinstance(right, datetime.date):
        d = Decimal((left - right).days)
        step = Decimal(1)
    else:
        if step is None:
            return None
        try:
            d = Decimal(left) - Decimal(right)
        except (TypeError, ValueError, ArithmeticError):
            return None
    if d == 0:
        return "eq"
    if d == -step:
        return "below"
    if d == step:
        return "above"
    return None


class _Watcher:
    def __init__(self, checked: CheckedPolicy) -> None:
        self.checked = checked
        self.seen: dict[tuple[int, str], set[str]] = {}
        self.rights: dict[tuple[int, str], set[Any]] = {}
        self.steps: dict[int, Decimal | None] = {}

    def step(self, node: ast.Compare | ast.InRange) -> Decimal | None:
        if id(node) not in self.steps:
            operands = (node.left, node.right) if isinstance(node, ast.Compare) else (node.value, node.low, node.high)
            self.steps[id(node)] = _step(self.checked, operands)
        return self.steps[id(node)]

    def _mark(self, node: object, part: str, side: str) -> None:
        self.seen.setdefault((id(node), part), set()).add(side)

    def compare(self, node: ast.Compare, left: Any, right: Any) -> None:
        if _ordered(self.checked, node) and left is not None and right is not None:
            side = _side(left, right, self.step(node))
            if side is not None:
                self._mark(node, "", side)
            self.rights.setdefault((id(node), ""), set()).add(right)
        else:
            self._mark(node, "", "true" if _truth(node.op, left, right) else "false")

    def in_range(self, node: ast.InRange, value: Any, low: Any, high: Any) -> None:
        step = self.step(node)
        for part, bound in (("low", low), ("high", high)):
            side = _side(value, bound, step)
            if side is not None:
                self._mark(node, part, side)
            self.rights.setdefault((id(node), part), set()).add(bound)

    def junction(self, node: ast.And | ast.Or, left: bool, right: bool | None) -> None:
        if right is None:
            # a guard: ``x is set and x > 3`` — the right side means nothing without the left,
            # so the left decides alone (as if the right would have let it)
            right = isinstance(node, ast.And)
        self._mark(node, "", f"{'T' if left else 'F'}{'T' if right else 'F'}")

    def coalesce(self, node: ast.Coalesce, defaulted: bool) -> None:
        self._mark(node, "", "defaulted" if defaulted else "given")


def _ordered(checked: CheckedPolicy, node: ast.Compare) -> bool:
    """Compared on a scale (numbers, dates, grades): not text, booleans nor enum members by equality."""
    kind = checked.types[node.left].kind
    return kind in _ORDERED and not (kind == "enum" and node.op in ("==", "!="))


def _truth(op: str, left: Any, right: Any) -> bool:
    return (left == right) if op == "==" else (left != right) if op == "!=" else False


# ------------------------------------------------------------- the universe
def _text(span: Any) -> str:
    """The source text of a node, on one line, without the unmatched parenthesis a span may carry."""
    lines = span.source.lines
    if span.line == span.end_line:
        text = str(lines[span.line - 1][span.column - 1: span.end_column - 1]).strip()
    else:
        first = str(lines[span.line - 1][span.column - 1:]).strip()
        text = " ".join([first, *(str(lines[i]).strip() for i in range(span.line, span.end_line - 1)),
                         str(lines[span.end_line - 1][: span.end_column - 1]).strip()])
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip()
    while text.startswith("(") and text.count("(") > text.count(")"):
        text = text[1:].lstrip()
    return text


def _operand(node: ast.Expr) -> str:
    """The name a case sets: ``x`` of ``(x ?? 100%)``."""
    return _text(node.left.span) if isinstance(node, ast.Coalesce) else _text(node.span)


def _where(span: Any) -> str:
    return f"{display_path(span.source.name)}:{span.line}:{span.column}"


def display_path(name: str) -> str:
    """A policy file as the report names it: relative to the current directory when inside it."""
    import os

    try:
        relative = os.path.relpath(name)
    except ValueError:
        return name
    return name if relative.startswith("..") else relative


def _fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return str(value)


def _shift(value: Any, step: Decimal | None, sign: int, members: tuple[str, ...] = ()) -> str:
    if members:  # an ordered enum: the neighbouring grade
        index = int(value) + sign
        return members[index] if 0 <= index < len(members) else "(none: no grade there)"
    if isinstance(value, datetime.date):
        return (value + datetime.timedelta(days=sign)).isoformat()
    if isinstance(value, (Decimal, int)) and step is not None:
        return _fmt(Decimal(value) + sign * step)
    return "?"


def _compare_hints(left_text: str, right_text: str, rights: set[Any], step: Decimal | None,
                   members: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    if len(rights) == 1:
        (r,) = rights
        shown = members[int(r)] if members and 0 <= int(r) < len(members) else _fmt(r)
        edge = f"on the edge {right_text}" if shown == right_text else f"on the edge {right_text} = {shown}"
        return (("eq", f"a case where {left_text} = {shown} ({edge})"),
                ("below", f"a case where {left_text} = {_shift(r, step, -1, members)} (one step below {shown})"),
                ("above", f"a case where {left_text} = {_shift(r, step, 1, members)} (one step above {shown})"))
    unit = "one day" if step is None else f"{_fmt(step)}"
    return (("eq", f"a case where {left_text} equals {right_text}"),
            ("below", f"a case where {left_text} is {unit} below {right_text}"),
            ("above", f"a case where {left_text} is {unit} above {right_text}"))


def _junction_edges(node: ast.And | ast.Or, seen: set[str]) -> list[Edge]:
    left_text, right_text = _text(node.left.span), _text(node.right.span)
    where = _where(node.span)
    if isinstance(node, ast.And):
        pairs = {"left": ("TT", "FT"), "right": ("TT", "TF")}
        words = {"TT": f"a case where both {left_text} and {right_text} hold",
                 "FT": f"a case where {right_text} holds but {left_text} does not",
                 "TF": f"a case where {left_text} holds but {right_text} does not"}
    else:
        pairs = {"left": ("FF", "TF"), "right": ("FF", "FT")}
        words = {"FF": f"a case where neither {left_text} nor {right_text} holds",
                 "TF": f"a case where {left_text} holds and {right_text} does not",
                 "FT": f"a case where {right_text} holds and {left_text} does not"}
    op = "and" if isinstance(node, ast.And) else "or"
    out = []
    for part, text in (("left", left_text), ("right", right_text)):
        needs = pairs[part]
        out.append(Edge("conditions", f"{where}/{part}", f"{text}  decides  … {op} …", needs,
                        frozenset(seen), tuple((n, words[n]) for n in needs)))
    return out


def boundary_coverage(policy: Policy, results: Iterable[Result]) -> BoundaryCoverage:
    """Boundary coverage of ``policy`` by the results of its cases (see the module docstring)."""
    checked = policy.checked
    watcher = _Watcher(checked)
    interpreter = Interpreter(checked, watcher)
    scores: dict[str, set[Decimal]] = {}
    count = 0
    for result in results:
        count += 1
        scores.setdefault(result.category, set()).add(result.score)
        with engine_context():
            try:  # with the standing a cohort result was assessed with: edges on rank, best … (issue #11)
                interpreter.run(result.category, result.facts, result.standing)
            except Exception:  # noqa: S112 - a unit the interpreter cannot finish still counted what it saw
                continue
    edges: list[Edge] = []
    main_file = checked.header.span.source.name
    nodes = sorted((n for n in checked.types if isinstance(n, (ast.Compare, ast.InRange, ast.And, ast.Or, ast.Coalesce))
                    and n.span.source.name == main_file), key=lambda n: (n.span.line, n.span.column))
    for node in nodes:
        seen = watcher.seen.get((id(node), ""), set())
        where, text = _where(node.span), _text(node.span)
        if isinstance(node, ast.Compare):
            if _ordered(checked, node):
                step = watcher.step(node)
                rights = watcher.rights.get((id(node), ""), set())
                left_type = checked.types[node.left]
                members = (tuple(m.name for m in checked.enums[left_type.name].members)
                           if left_type.kind == "enum" and left_type.name in checked.enums else ())
                hints = _compare_hints(_operand(node.left), _text(node.right.span), rights, step, members)
                # == / !=: on the edge, and one step off it on either side
                needs = _NEEDS.get(node.op) or (("eq", "above") if "above" in seen else ("eq", "below"))
                edges.append(Edge("edges", where, text, needs, frozenset(seen), hints))
            else:
                edges.append(Edge("edges", where, text, ("true", "false"), frozenset(seen),
                                  (("true", f"a case where {text} holds"), ("false", f"a case where {text} does not hold"))))
        elif isinstance(node, ast.InRange):
            step = watcher.step(node)
            for part, side, bound in (("low", "below", node.low), ("high", "above", node.high)):
                part_seen = watcher.seen.get((id(node), part), set())
                hints = _compare_hints(_operand(node.value), _text(bound.span), watcher.rights.get((id(node), part), set()),
                                       step)
                edges.append(Edge("edges", f"{where}/{part}", text, ("eq", side), frozenset(part_seen), hints))
        elif isinstance(node, (ast.And, ast.Or)):
            edges.extend(_junction_edges(node, seen))
        else:
            edges.append(Edge("defaults", where, text, ("defaulted", "given"), frozenset(seen),
                              (("defaulted", f"a case where {_text(node.left.span)} is absent (the default decides)"),
                               ("given", f"a case where {_text(node.left.span)} is given"))))
    edges.extend(_band_edges(checked, scores, main_file))
    edges.sort(key=lambda e: _order(e.key))
    return BoundaryCoverage(policy.label or policy.name, tuple(edges), count)


def _order(key: str) -> tuple[str, int, int, str]:
    head, _, part = key.partition("/")
    bits = head.rsplit(":", 2)
    try:
        return bits[0], int(bits[1]), int(bits[2]), part
    except (IndexError, ValueError):
        return key, 0, 0, part


def _band_edges(checked: CheckedPolicy, scores: dict[str, set[Decimal]], main_file: str) -> list[Edge]:
    out: list[Edge] = []
    for category, plan in checked.plans.items():
        bands = sorted(plan.bands, key=lambda b: b.low)
        if not any(b.span.source.name == main_file for b in bands):
            continue  # inherited unchanged (``extends``): counted for the policy that writes them
        seen_scores = scores.get(category, set())
        for lower, upper in zip(bands, bands[1:], strict=False):
            edge = upper.low
            if upper.low_closed:
                near = [s for s in seen_scores if edge - 1 <= s < edge]
                other = f"a {category} case scoring in [{_fmt(edge - 1)}, {_fmt(edge)}) ({lower.rating})"
            else:
                near = [s for s in seen_scores if edge < s <= edge + 1]
                other = f"a {category} case scoring in ({_fmt(edge)}, {_fmt(edge + 1)}] ({upper.rating})"
            seen = {"eq"} if edge in seen_scores else set()
            if near:
                seen.add("near")
            on = upper.rating if upper.low_closed else lower.rating
            out.append(Edge("edges", f"{_where(upper.span)}/{category}",
                            f"band edge {_fmt(edge)} of {category}: {lower.rating} {lower.describe()} | "
                            f"{upper.rating} {upper.describe()}", ("eq", "near"), frozenset(seen),
                            (("eq", f"a {category} case scoring exactly {_fmt(edge)} ({on})"), ("near", other))))
    return out
