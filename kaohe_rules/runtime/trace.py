"""The explanation trace: a tree of events, one per deferral, derived value, section,
target, rule, veto (fired or not) and its exceptions, band test, rating and
consequence — each with its citation, the values it read (facts, parameters,
derived values, checkpoint dates), the value it produced and its place in the
policy source.

Recording costs nothing when tracing is off: the compiler writes a separate
traced twin of every evaluator, and only that twin appends raw tuples.  This
module turns those tuples into the tree afterwards, using the checked policy's
static metadata (which is indexed once per policy and cached).

Values inside events are engine values (``Decimal``, ``date``, enum member
names, records as dicts); :meth:`TraceEvent.to_dict` gives the canonical JSON
form used by the stable trace document (:mod:`kaohe_rules.audit.trace_json`).
"""

from __future__ import annotations

import datetime
import weakref
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..language import ast
from ..language.abi import (
    RAW_BASE_SCORE,
    RAW_BONUS,
    RAW_DEFERRED,
    RAW_EFFECTS,
    RAW_OUTCOME,
    TAG_CHARGE,
    TAG_LET,
    TAG_PERIOD,
    TAG_RULE,
    TAG_VETO,
)
from ..language.model import BandInfo, CategoryPlan, CheckedPolicy, Reader, SectionInfo
from ..numeric import to_fen
from ..source import Span
from .parts import OutcomeLines, ResultView, TargetResult, applies, item_positions, outcome_lines, plain
from .program import Program

TRACE_FORMAT_VERSION = "1"

EVENT_KINDS = (
    "deferral", "let", "section", "target", "rule", "score", "veto", "exception", "band", "band_test",
    "rating", "consequence", "reward", "fine", "share", "sanction",
    "period",  # issue #11 P: one period of a policy with periods (only there)
    "standing",  # issue #11 C: a cohort policy's unit standing (rank, counts), after the rating
    TAG_CHARGE,  # issue #16: an event of a shared ledger charged to the unit, first of all (only then)
)


@attrs.frozen(slots=False)  # an instance dict: attrs then writes the fields straight into it (cheaper per event)
class TraceEvent:
    """One step of the reasoning.

    ``value`` is what the step produced: a deduction for a rule, the score for a
    target or section, ``True``/``False`` for a veto (fired) or a band test
    (contains the score), the amount for money.  ``reads`` maps every fact,
    parameter, derived value or checkpoint the step read to its value.
    """

    kind: str
    id: str
    label: str | None
    citation: str | None
    value: object
    reads: dict[str, object]
    span: Span | None
    children: tuple[TraceEvent, ...] = ()
    detail: dict[str, object] = attrs.Factory(dict)
    text: str | None = None  # the clause as written in the policy (rules, vetoes, exceptions, deferrals)

    def to_dict(self, memo: dict[int, tuple[object, list[object]]] | None = None) -> dict[str, object]:
        """Canonical JSON form: Decimals as plain strings, dates ISO, no absolute paths.

        ``memo`` is shared by a whole event tree: a list read by many events (the
        accidents, read by a dozen rules) is made canonical once, not once per event.
        """
        if memo is None:
            memo = {}
        out: dict[str, object] = {
            "kind": self.kind,
            "id": self.id,
            "label": self.label,
            "citation": self.citation,
            "value": canonical(self.value, memo),
            "reads": canonical(self.reads, memo),
            "span": span_dict(self.span),
        }
        if self.text is not None:
            out["text"] = self.text
        if self.detail:
            out["detail"] = canonical(self.detail, memo)
        if self.children:
            out["children"] = [c.to_dict(memo) for c in self.children]
        return out

    def walk(self) -> list[TraceEvent]:
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def find(self, kind: str, id: str) -> TraceEvent | None:
        return next((e for e in self.walk() if e.kind == kind and e.id == id), None)


@attrs.frozen
class Trace:
    policy: str
    policy_hash: str
    unit: str
    category: str
    events: tuple[TraceEvent, ...]

    def walk(self) -> list[TraceEvent]:
        out: list[TraceEvent] = []
        for event in self.events:
            out.extend(event.walk())
        return out

    def find(self, kind: str, id: str) -> TraceEvent | None:
        return next((e for e in self.walk() if e.kind == kind and e.id == id), None)

    def of_kind(self, kind: str) -> list[TraceEvent]:
        return [e for e in self.walk() if e.kind == kind]

    def to_dict(self) -> dict[str, object]:
        memo: dict[int, tuple[object, list[object]]] = {}  # one for the whole tree
        return {
            "format": TRACE_FORMAT_VERSION,
            "policy": self.policy,
            "policy_hash": self.policy_hash,
            "unit": self.unit,
            "category": self.category,
            "events": [e.to_dict(memo) for e in self.events],
        }


# ----------------------------------------------------------------- canonical values
def plain_decimal(value: Decimal | int) -> str:
    """A number as a plain string without exponent or trailing zeros (``900.00`` → ``"900"``): the
    results' own spelling (:func:`.parts.plain`, remembered by the exact spelling)."""
    return plain(value)


def canonical(value: object, memo: dict[int, tuple[object, list[object]]] | None = None) -> object:
    """Engine values → JSON values that do not depend on how the input spelled them.

    Decimals become plain strings (``5.0`` and ``5`` are the same number, so the
    same string), dates ISO strings, tuples lists; mappings keep string keys.
    Floats never occur in the engine; one here is a bug, so it is refused.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return plain_decimal(value)
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): canonical(v, memo) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if memo is None:
            return [canonical(v) for v in value]
        hit = memo.get(id(value))
        if hit is not None:  # the same list object (kept alive in the memo, so its id is not reused)
            return hit[1]
        result = [canonical(v, memo) for v in value]
        memo[id(value)] = (value, result)
        return result
    raise TypeError(f"no canonical form for {type(value).__name__}")


def money_text(value: Decimal | int) -> str:
    """Money in traces: yuan exact to the fen (``"130000.00"``)."""
    return str(to_fen(value))


def span_dict(span: Span | None) -> dict[str, object] | None:
    if span is None:
        return None
    return {"file": short_file(span.file), "line": span.line, "column": span.column,
            "end_line": span.end_line, "end_column": span.end_column}


def short_file(path: str) -> str:
    """File names in traces are the base name, so traces do not depend on where a checkout lives."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def source_text(span: Span | None) -> str | None:
    """The clause as written: the spanned text with comments dropped and whitespace collapsed."""
    if span is None:
        return None
    lines = span.source.lines
    if not 1 <= span.line <= len(lines):
        return None
    parts: list[str] = []
    for number in range(span.line, min(span.end_line, len(lines)) + 1):
        text = lines[number - 1]
        if number == span.end_line:
            text = text[: max(span.end_column - 1, 0)]
        if number == span.line:
            text = text[span.column - 1:]
        parts.append(_drop_comment(text))
    return " ".join(" ".join(parts).split()) or None


def _drop_comment(line: str) -> str:
    quote: str | None = None
    for index, ch in enumerate(line):
        if quote is not None:
            if ch == quote or (quote == "“" and ch == "”"):
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in ('"', "“"):
            quote = ch
        elif ch == "#":
            return line[:index]
    return line


# ------------------------------------------------------------------ static index
@attrs.frozen
class _Static:
    """Per-policy metadata the trace builder needs, computed once."""

    names: dict[tuple[object, frozenset[str]], tuple[str, ...]]  # (node, kinds) -> names its expressions read
    texts: dict[object, str | None]  # node -> clause text (nodes hash by identity)
    # (category, expressions) -> the scores they read: (key shown, "score"/"target"/"section", target name or
    # section key); the walk of the expressions is the same for every unit (issue #13: explain() per unit)
    score_reads: dict[tuple[object, ...], tuple[tuple[str, str, str | None], ...]] = attrs.Factory(dict)
    # expressions -> the cohort values they read (names, in walk order)
    cohort_reads: dict[tuple[object, ...], tuple[str, ...]] = attrs.Factory(dict)
    # category -> what its rule, veto and band events hold whatever the unit (_CategoryStatic)
    categories: dict[str, _CategoryStatic] = attrs.Factory(dict)


@attrs.frozen
class _RuleStatic:
    """A rule's event as every unit has it, but the deduction and the values read."""

    id: str
    kind: str
    citation: str | None
    reads: tuple[str, ...]  # the names whose values the raw rule entry carries, in order
    checkpoints: tuple[str, ...]  # the checkpoint dates it reads
    span: Span | None
    text: str | None


@attrs.frozen
class _VetoStatic:
    """A veto's event as every unit has it (its expressions, the names it reads, its exceptions)."""

    exprs: tuple[object, ...]
    reads: tuple[str, ...]
    checkpoints: tuple[str, ...]
    text: str | None
    # per exception: (its id, because, the names its condition reads, span, clause text)
    exceptions: tuple[tuple[str, str | None, tuple[str, ...], Span | None, str | None], ...]


@attrs.frozen
class _CategoryStatic:
    """Per category, what the trace builder would otherwise recompute for every unit (issue #13)."""

    rules: tuple[tuple[_RuleStatic, ...], ...]  # per placed target, per rule of its target
    vetoes: tuple[_VetoStatic, ...]
    # best band first: (band, its rating's label, its span, its interval detail)
    bands: tuple[tuple[BandInfo, str, Span | None, dict[str, object]], ...]


def category_static(checked: CheckedPolicy, plan: CategoryPlan) -> _CategoryStatic:
    static = _static(checked)
    name = plan.category.name
    found = static.categories.get(name)
    if found is None:
        rules = tuple(
            tuple(_RuleStatic(f"{placed.target.name}#{r_index + 1}", rule.KIND, rule.cite or placed.target.cite,
                              tuple(checked.reads.get(rule, ())),
                              _names_read(checked, rule, _CHECKPOINT, *ast.rule_parts(rule)), rule.span,
                              _text_of(checked, rule))
                  for r_index, rule in enumerate(placed.target.rules))
            for placed in plan.targets)
        vetoes = []
        for veto in plan.vetoes:
            exprs = (veto.on_list, veto.condition, *(e.condition for e in veto.exceptions))
            vetoes.append(_VetoStatic(
                exprs, tuple(checked.reads.get(veto, ())), _names_read(checked, veto, _CHECKPOINT, *exprs),
                _text_of(checked, veto),
                tuple((f"{veto.name}#{e_index + 1}", exc.because, _names_read(checked, exc, _VALUES, exc.condition),
                       exc.span, _text_of(checked, exc)) for e_index, exc in enumerate(veto.exceptions))))
        bands = tuple((band, checked.rating_label(band.rating), _span(band.span), _interval(band))
                      for band in sorted(plan.bands, key=lambda b: b.low, reverse=True))
        found = static.categories[name] = _CategoryStatic(rules, tuple(vetoes), bands)
    return found


_STATIC: dict[int, _Static] = {}


def _static(checked: CheckedPolicy) -> _Static:
    # keyed by identity (the checked policy holds dicts, so it is not hashable); dropped with the policy
    key = id(checked)
    found = _STATIC.get(key)
    if found is None:
        found = _Static({}, {})
        _STATIC[key] = found
        weakref.finalize(checked, _STATIC.pop, key, None)
    return found


def _names_read(checked: CheckedPolicy, node: object, kinds: frozenset[str], *exprs: object) -> tuple[str, ...]:
    """Names of the given resolution kinds read by the expressions of a node (cached per node)."""
    static = _static(checked)
    key = (node, kinds)
    if key not in static.names:
        names: set[str] = set()
        for expr in exprs:
            _collect(checked, expr, kinds, names)
        static.names[key] = tuple(sorted(names))
    return static.names[key]


def _collect(checked: CheckedPolicy, node: object, kinds: frozenset[str], out: set[str]) -> None:
    if node is None or isinstance(node, (Span, str, int, Decimal, bool, datetime.date)):
        return
    if isinstance(node, ast.Name):
        res = checked.resolutions.get(node)
        if res is not None and res.kind in kinds:
            out.add(res.name)
        return
    if isinstance(node, tuple):
        for item in node:
            _collect(checked, item, kinds, out)
        return
    if attrs.has(type(node)):
        for field in attrs.fields(type(node)):  # type: ignore[arg-type]
            if field.name != "span":
                _collect(checked, getattr(node, field.name), kinds, out)


_CHECKPOINT = frozenset({"checkpoint"})
_VALUES = frozenset({"fact", "let", "alias", "param", "checkpoint"})
_OUTCOME_ITEMS = frozenset({"outcome_item"})


def _text_of(checked: CheckedPolicy, node: Any) -> str | None:
    static = _static(checked)
    key = node
    if key not in static.texts:
        static.texts[key] = source_text(node.span)
    return static.texts[key]


# -------------------------------------------------------------------- builder
class _Builder:
    """Builds the event tree of one traced evaluation."""

    def __init__(self, program: Program, plan: CategoryPlan, result: ResultView, raw: Sequence[tuple[Any, ...]]) -> None:
        self.program = program
        self.checked = program.checked
        self.plan = plan
        self.result = result
        self.raw = raw
        self.let_values: dict[str, object] = {e[1]: e[2] for e in raw if e[0] == TAG_LET}
        self.aliases = self._alias_values()
        self._display_cache: dict[tuple[str, int], object] = {}
        #: building the partial tree of an explanation (build(explanation=True)): what it never shows is left out
        self.explanation = False

    # values of names at the end of the evaluation, for steps whose raw tuple carries none
    def _alias_values(self) -> dict[str, object]:
        out: dict[str, object] = {}
        moved = dict(self.result.raw[RAW_DEFERRED])
        for index, defer in enumerate(self.plan.defers):
            name = defer.source_list  # issue #16: a fact, another defer's kept list, or a let
            source = out[name] if name in out else self.let_values.get(name, self.result.facts.get(name))
            items = source if isinstance(source, (list, tuple)) else []
            gone = {id(g) for g in moved.get(index, [])}  # a set: 200,000 accidents are not compared pairwise
            out[defer.alias] = [i for i in items if id(i) not in gone]
        return out

    def value_of(self, name: str) -> object:
        facts = self.result.facts
        if name in facts:
            return facts[name]
        if name in self.let_values:
            return self.let_values[name]
        if name in self.aliases:
            return self.aliases[name]
        if name in self.checked.param_values:
            return self.checked.param_values[name]
        if name in self.checked.checkpoints:
            return self.checked.checkpoints[name].end
        return None

    def display(self, names: Iterable[str], values: Iterable[object] | None = None) -> dict[str, object]:
        names = tuple(names)
        vals = tuple(values) if values is not None else tuple(self.value_of(n) for n in names)
        return {n: self._displayed(n, v) for n, v in zip(names, vals)}

    def _displayed(self, name: str, value: object) -> object:
        """``policy.display_value``, once per list: every rule reading a list of 200,000 accidents
        shares one displayed copy (it was rebuilt for each rule: seconds per unit)."""
        if value.__class__ is not list and value.__class__ is not tuple:
            return self.program.display_value(name, value)
        key = (name, id(value))  # the value stays alive (in the facts) while the trace is built
        shown = self._display_cache.get(key)
        if shown is None:
            shown = self._display_cache[key] = self.program.display_value(name, value)
        return shown

    def reads(self, node: Reader, values: Iterable[object] | None, *exprs: object) -> dict[str, object]:
        out = self.display(self.checked.reads.get(node, ()), values)
        for name in _names_read(self.checked, node, _CHECKPOINT, *exprs):
            out[name] = self.checked.checkpoints[name].end
        return out

    def score_reads(self, *exprs: object) -> dict[str, object]:
        """``score`` and ``score(X)`` read by ``exprs``, with their values (issue #10 A2)."""
        result, category = self.result, self.plan.category
        static = _static(self.checked)
        key = (category.name, *exprs)
        reads = static.score_reads.get(key)
        if reads is None:
            reads = static.score_reads[key] = self._score_reads_of(exprs)
        if not reads:
            return {}
        out: dict[str, object] = {}
        for shown, kind, name in reads:
            if kind == "score":
                out[shown] = result.raw_score
            elif kind == "target":
                out[shown] = next(t.score for t in result.targets if t.name == name)
            elif name is not None:
                out[shown] = result.sections[name].score
        return dict(sorted(out.items()))

    def _score_reads_of(self, exprs: tuple[object, ...]) -> tuple[tuple[str, str, str | None], ...]:
        """What :meth:`score_reads` reads of ``exprs``, found by walking them (once per category and expressions)."""
        category = self.plan.category
        out: list[tuple[str, str, str | None]] = []
        for node in ast.walk(*exprs):
            res = self.checked.resolutions.get(node) if isinstance(node, (ast.Name, ast.Call)) else None
            if res is None or res.kind not in ("score", "score_of"):
                continue
            if res.kind == "score":
                out.append(("score", "score", None))
                continue
            path: tuple[str, ...] = res.value  # type: ignore[assignment]
            if res.name == "target":
                out.append((f"score({path[0]})", "target", path[0]))
            else:
                section = category.section_named(path)
                out.append((f"score({'.'.join(path)})", "section",
                            ".".join(section.path) if section is not None else None))
        return tuple(out)

    def cohort_reads(self, *exprs: object) -> dict[str, object]:
        """The cohort values (``rank``, ``best`` …) read by ``exprs``, from the unit's standing (issue #11 C)."""
        if self.checked.cohort is None:
            return {}
        static = _static(self.checked)
        names = static.cohort_reads.get(exprs)
        if names is None:
            found = []
            for node in ast.walk(*exprs):
                res = self.checked.resolutions.get(node) if isinstance(node, ast.Name) else None
                if res is not None and res.kind == "cohort":
                    found.append(res.name)
            names = static.cohort_reads[exprs] = tuple(found)
        standing = self.result.standing
        out: dict[str, object] = {}
        for name in names:
            values: dict[str, object] = {"rank": None, "ranked_count": 0, "unit_count": 0, "best": None,
                                         "average": None}
            if standing is not None:
                values = {"rank": standing.rank, "ranked_count": standing.ranked_count,
                          "unit_count": standing.unit_count, "best": standing.best, "average": standing.average}
            out[name] = values[name]
        return dict(sorted(out.items()))

    # ---------------------------------------------------------------- events
    def build(self, explanation: bool = False) -> Trace:
        """The event tree; ``explanation`` True: only the events an explanation reads (see :func:`build_trace`)."""
        result, plan, checked = self.result, self.plan, self.checked
        self.explanation = explanation
        events: list[TraceEvent] = []
        if not explanation:
            events.extend(self.charges())
        events.extend(self.deferrals())
        events.extend(self.lets())
        target_events = self.targets()
        for info in plan.category.sections:
            events.append(self.section(info, target_events))
        category = plan.category
        score_detail: dict[str, object] = {"total": result.total}
        if category.has_bonus:  # bonus points (加分): the base, the bonus before and after the overall cap
            added = sum((result.sections[".".join(s.path)].score for s in category.sections if s.bonus), Decimal(0))
            score_detail.update({"base_score": result.raw[RAW_BASE_SCORE], "bonus": result.raw[RAW_BONUS],
                                 "bonus_added": added, "bonus_cap": category.bonus_cap, "maximum": plan.maximum})
        if checked.periods is not None:  # issue #11 P: each period scored, then the weighted combination
            if not explanation:
                events.extend(self.periods())
            score_detail["combined"] = "weighted"
        events.append(TraceEvent("score", "score", category.label or category.name, category.cite, result.score,
                                 {}, _span(category.span), detail=score_detail))
        events.extend(self.vetoes())
        events.append(self.bands())
        if explanation:
            return Trace(checked.header.name, checked.content_hash, result.unit_id, result.category, tuple(events))
        if result.raw[RAW_EFFECTS] is not None:
            events.append(self.effects())
        events.append(self.rating())
        if checked.cohort is not None:  # issue #11 C: only for a policy with a cohort block
            events.append(self.standing())
        events.append(self.consequence())
        events.extend(self.general_consequences())
        return Trace(checked.header.name, checked.content_hash, result.unit_id, result.category, tuple(events))

    def charges(self) -> list[TraceEvent]:
        """One event per ledger event charged to the unit (issue #16), in ledger order: which event (its ledger,
        row, key and shown text), the list fact it is an item of, and every rule that charged it."""
        out = []
        for charged in getattr(self.result, "charged", ()):
            event = charged.event
            cites = "；".join(r.cite for r in charged.rules if r.cite) or None
            out.append(TraceEvent(TAG_CHARGE, f"{event.ledger}[{event.row}]", event.shown, cites, charged.fact, {},
                                  None, detail={"ledger": event.ledger, "row": event.row, "key": event.key,
                                                "shown": event.shown, "fact": charged.fact,
                                                "rules": [r.to_dict() for r in charged.rules]}))
        return out

    def add_ledger_events(self, detail: dict[str, object], items: Sequence[object]) -> None:
        """``detail["ledger_events"]``: for each item that came from a ledger, the event that it is
        ("事故台账第3条（编号 A-17）"; None for an item of the unit's own) — only for a unit assessed with
        its batch's ledgers (issue #16), found by identity as positions are."""
        charged = getattr(self.result, "charged", ())
        if not charged:
            return
        names: dict[int, str] = {}
        by_fact: dict[str, list[object]] = {}
        for c in charged:
            by_fact.setdefault(c.fact, []).append(c)
        for fact, events in by_fact.items():
            values = self.result.facts.get(fact)
            if isinstance(values, (list, tuple)):
                for item, c in zip(values, events):
                    ref = c.event  # type: ignore[attr-defined]
                    spec = next((sp for sp in self.program.ledgers if sp.name == ref.ledger), None)
                    field = f"{spec.key_field} " if spec is not None and spec.key_field else ""
                    key = f"，{field}{ref.key}" if ref.key is not None else ""
                    names[id(item)] = f"{ref.ledger}第{ref.row}条{key}"
        found = [names.get(id(item)) for item in items]
        if any(found):
            detail["ledger_events"] = found

    def deferrals(self) -> list[TraceEvent]:
        moved = dict(self.result.raw[RAW_DEFERRED])
        out = []
        for index, defer in enumerate(self.plan.defers):
            items = [self.program.display_record(i) for i in moved.get(index, [])]
            reads = {} if self.explanation else self.display([defer.source_list])  # an explanation shows the items
            detail: dict[str, object] = {"to": defer.to, "alias": defer.alias, "items": items}
            if items:  # each item's place in the list fact (issue #10 C)
                detail["positions"] = list(item_positions(self.result.facts, moved.get(index, [])))
                self.add_ledger_events(detail, moved.get(index, []))
            out.append(TraceEvent("deferral", defer.name, defer.label, defer.cite, len(items), reads, defer.span,
                                  detail=detail,
                                  text=_text_of(self.checked, defer)))
        return out

    def lets(self) -> list[TraceEvent]:
        out = []
        for name in (*self.plan.pre_lets, *self.plan.lets, *self.plan.post_lets):
            decl = self.checked.lets.get(name)
            if decl is None or name not in self.let_values:
                continue
            value = self.program.display_value(name, self.let_values[name])
            reads = {} if self.explanation else self.reads(decl, None, decl.value)  # an explanation shows the value
            out.append(TraceEvent("let", name, decl.label, decl.cite, value, reads,
                                  decl.span, text=_text_of(self.checked, decl),
                                  detail={"report": True} if decl.report else {}))
        return out

    def targets(self, raw: Sequence[tuple[Any, ...]] | None = None,
                results: Sequence[TargetResult] | None = None) -> dict[str, list[TraceEvent]]:
        """The target events by section (of one period, issue #11 P, when ``raw`` and ``results`` are given)."""
        rules: dict[int, list[tuple[int, Any, tuple[Any, ...]]]] = {}
        for entry in self.raw if raw is None else raw:
            if entry[0] == TAG_RULE:
                rules.setdefault(entry[1], []).append((entry[2], entry[3], entry[4]))
        out: dict[str, list[TraceEvent]] = {}
        targets = self.result.targets if results is None else results
        statics = category_static(self.checked, self.plan).rules
        checkpoints = self.checked.checkpoints
        for t_index, (placed, target_result) in enumerate(zip(self.plan.targets, targets)):
            target = placed.target
            children = []
            for r_index, deduction, values in rules.get(t_index, []):
                rule = statics[t_index][r_index]  # self.reads(rule, values, *ast.rule_parts(rule)), its parts found once
                reads = self.display(rule.reads, values)
                for name in rule.checkpoints:
                    reads[name] = checkpoints[name].end
                children.append(TraceEvent("rule", rule.id, rule.kind, rule.citation, Decimal(deduction), reads,
                                           rule.span, detail={"rule": rule.kind}, text=rule.text))
            detail: dict[str, object] = {"points": target_result.points, "lost": target_result.lost,
                                         "section": ".".join(placed.section)}
            if placed.bonus:  # what its add rules gave before the item cap, and the cap
                detail.update({"bonus": True, "cap": placed.cap,
                               "added": sum((Decimal(c.value) for c in children), Decimal(0))})  # type: ignore[arg-type]
            event = TraceEvent("target", target.name, target.label, target.cite, target_result.score, {}, target.span,
                               tuple(children), detail=detail)
            out.setdefault(".".join(placed.section), []).append(event)
        return out

    def section(self, info: SectionInfo, target_events: dict[str, list[TraceEvent]]) -> TraceEvent:
        key = ".".join(info.path)
        score = self.result.sections[key].score
        kids = tuple(self.section(c, target_events) for c in info.children) + tuple(target_events.get(key, []))
        detail: dict[str, object] = {"points": self.result.sections[key].points}  # `only in`: weighted (issue #11 P)
        if info.bonus:  # a bonus section (加分): its targets' sum before its cap, and the cap
            detail.update({"bonus": True, "cap": info.cap,
                           "added": sum((Decimal(k.value) for k in kids), Decimal(0))})  # type: ignore[arg-type]
        return TraceEvent("section", key, info.label, info.cite, score, {}, _span(info.span), kids, detail=detail)

    def periods(self) -> list[TraceEvent]:
        """One event per period (issue #11 P): its score, rating and weight; its lets and targets as children."""
        checked, result = self.checked, self.result
        assert checked.periods is not None
        raw_periods = {entry[1]: entry for entry in self.raw if entry[0] == TAG_PERIOD}
        out: list[TraceEvent] = []
        for index, (item, period) in enumerate(zip(checked.periods.items, result.periods)):
            events: Sequence[tuple[Any, ...]] = raw_periods[index][4] if index in raw_periods else ()
            lets = []
            for entry in events:
                decl = checked.lets.get(entry[1]) if entry[0] == TAG_LET else None
                if decl is not None:
                    lets.append(TraceEvent("let", decl.name, decl.label, decl.cite,
                                           self.program.display_value(decl.name, entry[2]), {}, decl.span,
                                           text=_text_of(checked, decl)))
            by_section = self.targets(events, period.targets)
            targets = [event for key, section in by_section.items() if key in period.sections for event in section]
            detail: dict[str, object] = {"weight": item.weight, "weighted": period.weighted, "rating": period.rating,
                                         "sections": {key: s.score for key, s in period.sections.items()}}
            out.append(TraceEvent("period", item.name, item.label, item.cite or checked.periods.cite, period.score, {},
                                  item.span, tuple(lets + targets), detail=detail))
        return out

    def vetoes(self) -> list[TraceEvent]:
        raw_vetoes = {entry[1]: entry for entry in self.raw if entry[0] == TAG_VETO}
        out = []
        statics = category_static(self.checked, self.plan).vetoes
        checkpoints = self.checked.checkpoints
        lean = self.explanation
        for v_index, veto in enumerate(self.plan.vetoes):
            static = statics[v_index]
            entry = raw_vetoes.get(v_index)
            values = entry[5] if entry is not None else None
            fired = bool(entry[2]) if entry is not None else False
            exprs = static.exprs
            reads: dict[str, object] = {}
            if fired or not lean:  # an explanation shows what a veto read only when it fired
                reads = self.display(static.reads, values)  # self.reads(veto, values, *exprs)
                for name in static.checkpoints:
                    reads[name] = checkpoints[name].end
                reads.update(self.score_reads(*exprs, veto.effect))
                reads.update(self.cohort_reads(*exprs))  # issue #11 C: a veto may read the rank (not with then score)
            exc_index = entry[3] if entry is not None else -1
            evidence = entry[4] if entry is not None else None
            # the condition held if the veto fired or an exception stopped it
            held = fired or exc_index >= 0
            children = []
            for e_index, (exc_id, because, exc_reads, exc_span, exc_text) in enumerate(static.exceptions):
                if not held or (exc_index >= 0 and e_index > exc_index):
                    value: bool | None = None  # not evaluated: the condition did not hold, or an earlier exception did
                else:
                    value = e_index == exc_index
                children.append(TraceEvent("exception", exc_id, because, veto.cite, value,
                                           {} if lean else self.display(exc_reads), exc_span, text=exc_text))
            detail: dict[str, object] = {"condition": held, "mode": "on" if veto.on_list is not None else "when"}
            if veto.effect is not None:  # a rating effect, not 一票否决 (issue #10 A3)
                detail["effect"] = veto.effect.kind
            if veto.on_list is not None:
                detail["evidence"] = [self.program.display_record(i) for i in (evidence or ())]
                if evidence:  # each item's place in the list fact (issue #10 C)
                    detail["positions"] = list(item_positions(self.result.facts, evidence))
                    self.add_ledger_events(detail, evidence)
            out.append(TraceEvent("veto", veto.name, veto.label, veto.cite, fired, reads, veto.span, tuple(children),
                                  detail=detail, text=static.text))
        return out

    def bands(self) -> TraceEvent:
        result, checked = self.result, self.checked
        tests = []
        score = result.score
        for band, label, span, interval in category_static(checked, self.plan).bands:
            tests.append(TraceEvent("band_test", band.rating, label, band.cite, band.contains(score), {"score": score},
                                    span, detail=dict(interval)))
        reached = result.band
        return TraceEvent("band", "band", checked.rating_label(reached) if reached else None, result.band_citation, reached,
                          {"score": result.score}, None, tuple(tests))

    def effects(self) -> TraceEvent:
        """The rating effects in the order applied (issue #10 A3): one child per step, before→after."""
        result = self.result
        children = []
        for step in result.effects:
            children.append(TraceEvent("effect", step.clause, step.label, step.citation, step.after, {},
                                       None, detail={"effect": step.kind, "value": step.value, "before": step.before,
                                                     "after": step.after}))
        return TraceEvent("effects", "effects", None, None, len(children), {"raw_score": result.raw_score},
                          None, tuple(children), detail={"raw_score": result.raw_score, "score": result.score})

    def standing(self) -> TraceEvent:
        """The unit's place in its cohort (issue #11 C): its rank (None: not ranked), counts, keys, provisional."""
        result, checked = self.result, self.checked
        cohort = checked.cohort
        assert cohort is not None
        row = result.rank_row
        standing = result.standing
        detail: dict[str, object] = {"ranked": row.ranked, "keys": list(row.keys), "provisional": result.provisional}
        if standing is not None:
            detail.update({"ranked_count": standing.ranked_count, "unit_count": standing.unit_count,
                           "best": standing.best, "average": standing.average, "tied": standing.tied})
        return TraceEvent("standing", cohort.name, cohort.decl.label, cohort.decl.cite,
                          standing.rank if standing is not None else None, {}, _span(cohort.decl.span), detail=detail)

    def rating(self) -> TraceEvent:
        result, checked = self.result, self.checked
        ratings = checked.ratings
        return TraceEvent("rating", "rating", result.rating_label,
                          ratings.cite if result.vetoed else result.band_citation, result.rating, {},
                          ratings.vetoed_span if result.vetoed else None,
                          detail={"vetoed": result.vetoed, "vetoes": [v.name for v in result.vetoes],
                                  "band": result.band})

    def consequence(self) -> TraceEvent:
        """The rating's own outcome (as before), with items that do not apply shown as such."""
        result, checked = self.result, self.checked
        consequences = result.consequences
        lines = outcome_lines(checked, result.rating, result.raw[RAW_OUTCOME])
        own = lines[0] if lines and not lines[0][0].for_every_rating else None
        outcome = own[0] if own is not None else None
        return TraceEvent("consequence", result.rating, result.rating_label, consequences.citation,
                          money_text(consequences.total), {"rating": result.rating},
                          outcome.span if outcome else None, self._outcome_items(own),
                          detail={"kind": consequences.kind, "notes": list(consequences.notes)})

    def general_consequences(self) -> list[TraceEvent]:
        """One event per outcome for every rating (``outcome { … }``), after the rating's own."""
        result = self.result
        lines = [line for line in outcome_lines(self.checked, result.rating, result.raw[RAW_OUTCOME])
                 if line[0].for_every_rating]
        out = []
        for line, consequences in zip(lines, result.general_consequences):
            out.append(TraceEvent("consequence", "*", None, consequences.citation, money_text(consequences.total),
                                  {"rating": result.rating}, line[0].span, self._outcome_items(line),
                                  detail={"kind": consequences.kind, "notes": list(consequences.notes),
                                          "for_every_rating": True}))
        return out

    def _outcome_items(self, line: OutcomeLines | None) -> tuple[TraceEvent, ...]:
        checked = self.checked
        if line is None:
            return ()
        decl_outcome, _, pairs = line
        children = []
        amounts: dict[str, object] = {}
        for decl, raw_amount in pairs:
            names = checked.reads.get(decl, ())
            reads: dict[str, object] = {}
            for name in names:
                reads[name] = self.program.display_value(name, self.value_of(name))
            for name in _names_read(checked, decl, _OUTCOME_ITEMS, decl.amount, decl.condition):
                reads[name] = amounts.get(name, money_text(Decimal(0)))
            reads.update(self.cohort_reads(decl.amount, decl.condition))  # issue #11 C: rank, best …
            detail: dict[str, object] = {}
            if decl.kind == "share" and decl.amount is None:
                detail["rest"] = True
            if not applies(raw_amount):  # issue #10: absent from the result, explained here
                detail["applies"] = False
                if decl.categories and self.result.category not in decl.categories:
                    detail["because"] = "for"
                    detail["categories"] = list(decl.categories)
                else:
                    detail["because"] = "when"
                children.append(TraceEvent(decl.kind, decl.name, decl.label, decl.cite or decl_outcome.cite, None,
                                           reads, decl.span, detail=detail, text=_text_of(checked, decl)))
                continue
            amount = None if raw_amount is None else money_text(to_fen(raw_amount))
            if amount is not None:
                amounts[decl.name] = amount
            children.append(TraceEvent(decl.kind, decl.name, decl.label, decl.cite or decl_outcome.cite, amount,
                                       reads, decl.span, detail=detail, text=_text_of(checked, decl)))
        return tuple(children)


def _interval(band: BandInfo) -> dict[str, object]:
    if band.open_top:  # 优秀 >= 90: no upper edge (JSON has no infinity)
        return {"interval": band.describe(), "low": band.low, "low_closed": band.low_closed, "high": None,
                "high_closed": False}
    return {"interval": band.describe(), "low": band.low, "low_closed": band.low_closed,
            "high": band.high, "high_closed": band.high_closed}


def _span(span: object) -> Span | None:
    return span if isinstance(span, Span) else None


def build_trace(program: Program, plan: CategoryPlan, result: ResultView, raw: Sequence[tuple[Any, ...]], *,
                explanation: bool = False) -> Trace:
    """The event tree of one traced evaluation (``raw`` = the tuples the traced evaluator appended).

    ``explanation`` True (issue #13: explain() for a whole report): only the top-level events an explanation
    reads — deferrals, lets, sections with their targets and rules, the score, the vetoes and the bands, as in
    the full tree but without the values read by a deferral, a let, a veto that did not fire or an exception
    (an explanation shows none of them) — and none of those it takes from the result itself (ledger charges,
    periods, effects, rating, standing, consequences); such a partial tree is never the result's ``trace``.
    """
    return _Builder(program, plan, result, raw).build(explanation)


def explanation_builder(program: Program, plan: CategoryPlan, result: ResultView,
                        raw: Sequence[tuple[Any, ...]]) -> _Builder:
    """The builder of the partial tree of an explanation (``build_trace(explanation=True)``), for the fast
    explanation renderer to build only the events it renders with the reference (fired vetoes, deferrals)."""
    builder = _Builder(program, plan, result, raw)
    builder.explanation = True
    return builder
