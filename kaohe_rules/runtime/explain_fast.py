"""The fast explanation renderer (issue #13): ``Result.explain()``'s text straight from the traced evaluator's raw output.

:func:`kaohe_rules.runtime.explain.explain` is the reference: it reads an event tree built from the
traced evaluator's raw output.  :func:`explain_fast` renders the same text from that raw output without
building the tree: per policy, category, language and form (full or short) the static fragments —
headings, labels, citations, section and target prefixes with their points, the band lines, the veto
block when no veto fired — are formatted once and kept; per unit only the values are formatted.

What it does not handle it leaves to the reference, never with a text of its own: for a policy with
periods or a category with bonus sections (加分) it returns None and the caller renders with the
reference.  Vetoes that fired or were excepted and deferrals with items are rare: for those it builds the
reference's own events (:func:`~kaohe_rules.runtime.trace.explanation_builder`) and renders them with the
reference's own functions (the ``write_*`` parts of :mod:`kaohe_rules.runtime.explain`).
``tests/runtime/test_explain_fast.py`` proves the texts byte-identical to the reference's.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..language.abi import RAW_DEFERRED, RAW_SECTIONS, RAW_TARGETS, TAG_LET, TAG_RULE, TAG_VETO
from ..language.model import CategoryPlan, SectionInfo
from ..numeric import ENGINE_CONTEXT
from .explain import (
    POLICIES_KEPT,
    TEXT,
    Result,
    Writer,
    cite,
    effect_lines,
    make_room,
    more_losses,
    place_text,
    policy_value_kinds,
    provisional_reason_text,
    write_deferrals,
    write_general_money,
    write_ledger,
    write_money,
    write_standing,
    write_vetoes,
)
from .parts import item_positions, plain
from .templates import category_template
from .trace import category_static, explanation_builder, plain_decimal

if TYPE_CHECKING:
    from .program import Program


#: an op of a category's sections: ("S", raw index, prefix, "/points 〔cite〕") or ("T", target index, pad, " label  ",
#: "/points 〔cite〕", the rules' pad, target name, " label 〔cite〕" (the largest deductions' line), points)
_Op = tuple[Any, ...]


class _RuleFast:
    """A rule's line as every unit has it but the amount and the values read."""

    __slots__ = ("adds", "head", "names", "checkpoints", "items")

    def __init__(self, adds: bool, head: str, names: tuple[str, ...], checkpoints: tuple[str, ...],
                 items: tuple[tuple[str, str, str, bool], ...] | None) -> None:
        self.adds = adds
        self.head = head  # "  ← clause"
        self.names = names
        self.checkpoints = checkpoints
        #: per name read: (name, "name=", the unit after a number, whether display changes its value); None when
        #: the general way is needed (a checkpoint read, a name read twice)
        self.items = items


class _CategoryFast:
    """The static fragments of one category's explanations in one language and form."""

    __slots__ = ("category_line", "policy_line", "bands", "band_lines", "veto_quiet", "veto_heading", "veto_lines", "lets",
                 "lets_heading", "sections_heading", "ops", "rules", "bands_heading", "largest_heading",
                 "amounts", "items_text", "memo")

    def __init__(self) -> None:
        self.category_line = ""
        self.policy_line = ""
        #: best band first: (band, rating, label shown, its interval text, low, low_closed)
        self.bands: list[tuple[Any, str, str, str, object, object]] = []
        #: per band: (its line when it holds the score, its line when not)
        self.band_lines: list[tuple[str, str]] = []
        self.veto_quiet: list[str] = []  # the veto block when no veto fired and none was excepted
        self.veto_heading = ""
        self.veto_lines: list[tuple[str, str]] = []  # per veto: (its line when it fired, when it did not and `full`)
        self.lets: list[tuple[str, str, str]] = []  # (name, "  label = ", " 〔cite〕")
        self.lets_heading = ""
        self.sections_heading = ""
        self.ops: list[_Op] = []
        self.rules: list[list[_RuleFast]] = []  # per target, per rule
        self.bands_heading = ""
        self.largest_heading = ""
        #: (deduct before, deduct after, add before, add after, no deduction, no add)
        self.amounts: tuple[str, str, str, str, str, str] = ("", "", "", "", "", "")
        #: rule lines already rendered, by (pad, rule, the deduction's class and spelling, the values' classes and
        #: spellings): bounded by _MEMO_LIMIT
        self.memo: dict[tuple[Any, ...], str] = {}
        self.items_text: tuple[str, str] = ("", "")  # a list read: "[" + "{n}项" split at {n} + "]"


#: the classes of values read whose text is a function of the class and ``str(value)`` (and the name read)
_MEMO_CLASSES = frozenset({Decimal, int, bool, str, type(None), datetime.date})
_MEMO_LIMIT = 20_000  # rule lines remembered per category, language and form
_MEMO_CHARS = 200  # at most this many characters of values read per remembered line


class _Unhandled(Exception):
    """A category this renderer leaves to the reference (found while making its fragments)."""


_CACHE: dict[int, tuple[Program, dict[tuple[str, str, bool], _CategoryFast | None]]] = {}


def render_or_none(result: Result, raw: Sequence[tuple[Any, ...]], lang: str, full: bool) -> str | None:
    """:func:`explain_fast`, or None — for the reference to render — when it does not handle the unit or fails.

    A failure here can only cost speed, never a different text, so it is not raised: it is logged at DEBUG
    on the ``kaohe_rules.explain`` logger with its traceback, where a slowdown can be traced to it.
    """
    try:
        return explain_fast(result, raw, lang, full)
    except Exception:  # noqa: BLE001 - never a different text, never an internal error: the reference renders
        logging.getLogger("kaohe_rules.explain").debug(
            "fast explanation renderer failed for unit %r; the reference renders it", result.unit_id, exc_info=True)
        return None


def _statics(program: Program, category: str, lang: str, full: bool) -> _CategoryFast | None:
    found = _CACHE.get(id(program))
    if found is None or found[0] is not program:  # the program is kept alive here: its id is not reused
        make_room(_CACHE, POLICIES_KEPT)
        found = _CACHE[id(program)] = (program, {})
    table = found[1]
    key = (category, lang, full)
    if key not in table:
        table[key] = _make(program, program.plans[category], lang, full)
    return table[key]


def _line(text: str) -> str:
    return text.rstrip()


def _make(program: Program, plan: CategoryPlan, lang: str, full: bool) -> _CategoryFast | None:
    """The static fragments, or None when the category has what this renderer leaves to the reference."""
    checked = program.checked
    category = plan.category
    if checked.periods is not None or any(s.bonus for s in category.all_sections()) \
            or any(p.bonus for p in plan.targets):
        return None
    w = Writer(lang)
    t = w.t
    sep = t["colon"]
    out = _CategoryFast()
    out.category_line = _line(f"{t['category']}{sep}{category.label or category.name}")
    header = checked.header
    doc = f"（{header.document}）" if header.document else ""
    out.policy_line = _line(f"{t['policy']}{sep}{header.label or header.name}{doc}")

    statics = category_static(checked, plan)
    for band, label, _span, interval in statics.bands:
        shown = label or band.rating
        text = str(interval.get("interval", ""))
        out.bands.append((band, band.rating, shown, text, interval.get("low"), interval.get("low_closed")))
        out.band_lines.append((_line(f"  ● {shown} {text} {cite(band.cite)}"),
                               _line(f"  ○ {shown} {text} {cite(band.cite)}")))

    def heading(key: str) -> str:
        w.lines = []
        w.heading(key)
        return w.lines[0]

    vetoes = plan.vetoes
    out.veto_heading = heading("veto_effects" if any(v.effect is not None and v.effect.kind for v in vetoes)
                               else "veto")
    quiet = [out.veto_heading]
    if full:
        for veto in vetoes:
            quiet.append(_line(f"  · {veto.label or veto.name} {cite(veto.cite)} — {t['veto_not_fired']}"))
    quiet.append(_line(f"  {'→ ' if full and vetoes else ''}{t['veto_none']}"))
    out.veto_quiet = quiet
    for veto in vetoes:
        effect = veto.effect.kind if veto.effect is not None else None
        note = t["effect_note"].format(effect=t[f"effect_kind_{effect}"]) if effect else ""
        out.veto_lines.append((_line(f"  ✗ {veto.label or veto.name} {cite(veto.cite)}{note}"),
                               _line(f"  · {veto.label or veto.name} {cite(veto.cite)} — {t['veto_not_fired']}")))

    for name in (*plan.pre_lets, *plan.lets, *plan.post_lets):
        decl = checked.lets.get(name)
        if decl is not None:
            out.lets.append((name, f"  {decl.label or name} = ", f" {cite(decl.cite)}"))
    out.lets_heading = heading("lets")
    out.sections_heading = heading("sections")
    out.bands_heading = heading("bands")
    out.largest_heading = heading("largest")

    order = {".".join(path): i for i, path in enumerate(program.section_order(plan.category.name))}
    template = category_template(program, category.name)
    section_points = {key: fields["points"] for key, fields, _held in template.sections}
    by_section: dict[str, list[int]] = {}
    for index, placed in enumerate(plan.targets):
        by_section.setdefault(".".join(placed.section), []).append(index)

    def section(info: SectionInfo, depth: int) -> None:
        pad = "  " * depth
        key = ".".join(info.path)
        if key not in order:
            raise _Unhandled
        out.ops.append(("S", order[key], f"{pad}{info.label or key}  ", f"/{w.value(section_points[key])} {cite(info.cite)}"))
        for child in info.children:
            section(child, depth + 1)
        for index in by_section.get(key, ()):
            target = plan.targets[index].target
            shown = target.label or target.name
            points = template.targets[index]["points"]
            out.ops.append(("T", index, f"{pad}  ", f" {shown}  ", f"/{w.value(points)} {cite(target.cite)}",
                            pad + "      ", target.name, f" {shown} {cite(target.cite)}", points))

    try:
        for info in category.sections:
            section(info, 1)
    except _Unhandled:
        return None
    kinds = policy_value_kinds(checked)
    units = {"percent": "%", "money": "元" if lang == "zh" else " yuan"}

    def items(names: tuple[str, ...], checkpoints: tuple[str, ...]) -> tuple[tuple[str, str, str, bool], ...] | None:
        if checkpoints or len(set(names)) != len(names):
            return None
        return tuple((n, f"{n}=", units.get(kinds.get(n, ""), ""), program.display_changes(n)) for n in names)

    for target_rules in statics.rules:
        out.rules.append([_RuleFast(str(r.kind).startswith("add"), f"  ← {r.text or r.kind}", r.reads, r.checkpoints,
                                    items(r.reads, r.checkpoints))
                          for r in target_rules])
    deduct, add, listed = t["deduct"].split("{n}"), t["add"].split("{n}"), t["items"].split("{n}")
    if len(deduct) != 2 or len(add) != 2 or len(listed) != 2:
        return None
    out.items_text = ("[" + listed[0], listed[1] + "]")
    out.amounts = (deduct[0], deduct[1], add[0], add[1], t["no_deduction"], t["no_add"])
    return out


def explain_fast(result: Result, raw: Sequence[tuple[Any, ...]], lang: str = "zh",
                 full: bool = True) -> str | None:
    """The explanation of ``result`` (as :func:`.explain.explain` gives it) from the traced evaluator's raw
    events ``raw``; None when the category has what only the reference renders (then the caller does)."""
    if lang not in TEXT:
        return None  # the reference's own error
    program: Program = result.program
    fast = _statics(program, result.category, lang, full)
    if fast is None:
        return None
    checked = program.checked
    plan = program.plans[result.category]
    w = Writer(lang, policy_value_kinds(checked))
    t = w.t
    lines = w.lines
    add = lines.append
    value = w.value
    sep = t["colon"]
    name = result.name
    add(_line(t["title"].format(unit=name or result.unit_id)))
    add("=" * 40)
    if checked.cohort is not None and result.provisional is not None:  # issue #11 C: 暂定结果
        add(_line(t["provisional_alone"] if result.standing is None else
                  t["provisional_batch"].format(reason=provisional_reason_text(result.provisional, lang))))
    add(_line(f"{t['unit']}{sep}{name or ''} ({result.unit_id})"))
    add(fast.category_line)
    add(fast.policy_line)
    score = result.score
    raw_score = result.raw_score
    raw_note = t["raw_score"].format(raw=plain_decimal(raw_score)) if raw_score != score else ""
    add(_line(f"{t['score']}{sep}{plain_decimal(score)} / {plain_decimal(result.total)} {t['points']}{raw_note}"))

    # the band tests, best first (the reference's band event)
    holds = [band.contains(score) for band, *_ in fast.bands]
    band = result.band
    interval = ""
    if band is not None:
        interval = next((b[3] for b in fast.bands if b[1] == band), "")
    band_label = checked.rating_label(band) if band else "—"
    add(_line(f"{t['band']}{sep}{band_label} {interval} {cite(result.band_citation)}"))
    rating_label = result.rating_label
    if result.vetoed:
        add(_line(f"{t['rating']}{sep}{rating_label} — {t['vetoed_by'].format(rating=rating_label)} "
                  f"{cite(checked.ratings.cite)}"))
    else:
        add(_line(f"{t['rating']}{sep}{rating_label} {cite(result.band_citation)}"))
    add(_line(f"  {_fast_next_band(t, result, fast, holds)}"))
    if checked.cohort is not None:  # issue #11 C: the unit's place in its cohort
        write_standing(w, result)
    add("")
    if result.effects:
        w.heading("effects")
        for line in effect_lines(result, lang):
            w(f"  {line}")
        add("")
    if result.reported:  # issue #10: a let the scheme names as a result
        w.heading("reported")
        for r in result.reported.values():
            w(f"  {r.label or r.name}{sep}{value(r.value)} {cite(r.citation)}")
        add("")
    write_ledger(w, result)

    builder: Any = None
    fired: dict[int, tuple[Any, ...]] = {}
    simple = True  # only vetoes on a list that fired with evidence (no exception held, no ledger event)
    for entry in raw:
        if entry[0] == TAG_VETO:
            if entry[2] or entry[3] >= 0:
                fired[entry[1]] = entry
            elif entry[1] in fired:  # a later entry of the same veto: the builder's reading (the last one)
                del fired[entry[1]]
    for index, entry in fired.items():
        if entry[3] >= 0 or not entry[2] or not entry[4] or plan.vetoes[index].on_list is None:
            simple = False
    if not fired:
        lines.extend(fast.veto_quiet)
    elif simple and not getattr(result, "charged", ()):
        add(fast.veto_heading)
        facts = result.facts
        display_record = program.display_record
        evidence_text = t["evidence"]
        for index, (fired_line, quiet_line) in enumerate(fast.veto_lines):
            hit = fired.get(index)
            if hit is None:
                if full:
                    add(quiet_line)
                continue
            add(fired_line)
            evidence = hit[4]
            for item, place in zip(evidence, item_positions(facts, evidence)):
                w(f"      {evidence_text}{place_text(t, place)}: {value(display_record(item))}")
    else:
        builder = explanation_builder(program, plan, result, raw)
        write_vetoes(w, builder.vetoes(), full)
    if any(items for _, items in result.raw[RAW_DEFERRED]):
        if builder is None:
            builder = explanation_builder(program, plan, result, raw)
        write_deferrals(w, builder.deferrals())
    add("")

    # the rules by target, in the order evaluated
    rules: dict[int, list[tuple[int, Any, tuple[Any, ...]]]] = {}
    lets: dict[str, object] = {}
    for entry in raw:
        tag = entry[0]
        if tag == TAG_RULE:
            if entry[4].__class__ is not tuple:  # values read always come as a tuple: else the reference
                return None
            found = rules.get(entry[1])
            if found is None:
                rules[entry[1]] = [(entry[2], entry[3], entry[4])]
            else:
                found.append((entry[2], entry[3], entry[4]))
        elif tag == TAG_LET:
            lets[entry[1]] = entry[2]
    raw_result = result.raw
    target_scores = [v if v.__class__ is Decimal else Decimal(v) for v in raw_result[RAW_TARGETS]]
    section_scores = [v if v.__class__ is Decimal else Decimal(v) for v in raw_result[RAW_SECTIONS]]
    subtract = ENGINE_CONTEXT.subtract
    display = program.display_value
    checkpoints = checked.checkpoints
    statics_rules = fast.rules
    d_pre, d_post, a_pre, a_post, no_deduct, no_add = fast.amounts
    items_pre, items_post = fast.items_text

    def rule_line(pad: str, static: _RuleFast, deduction: Decimal, values: tuple[Any, ...]) -> str:
        if deduction > 0:
            amount = (a_pre + value(deduction) + a_post) if static.adds else (d_pre + value(deduction) + d_post)
        else:
            amount = no_add if static.adds else no_deduct
        items = static.items
        if items is not None:
            if not items:
                return (pad + amount + static.head).rstrip()
            parts = []
            for (n, eq, unit, shown), v in zip(items, values):
                cls = v.__class__
                if cls is Decimal:  # display changes no number
                    parts.append(eq + plain(v) + unit)
                    continue
                if cls is list or cls is tuple:  # shown by its length, which display keeps (no periods here)
                    parts.append(eq + items_pre + str(len(v)) + items_post)
                    continue
                if shown:
                    v = display(n, v)
                    cls = v.__class__
                if cls is int:
                    parts.append(eq + str(v) + unit)
                elif isinstance(v, (Decimal, int)) and not isinstance(v, bool):
                    parts.append(eq + value(v) + unit)
                else:
                    parts.append(eq + value(v))
            return f"{pad}{amount}{static.head}  [{', '.join(parts)}]".rstrip()
        reads = {n: display(n, v) for n, v in zip(static.names, values)}
        for cp in static.checkpoints:
            reads[cp] = checkpoints[cp].end
        if not reads:
            return (pad + amount + static.head).rstrip()
        return f"{pad}{amount}{static.head}  [{w.reads(reads)}]".rstrip()

    memo = fast.memo

    def memo_line(pad: str, static: _RuleFast, deduction: Any, values: tuple[Any, ...]) -> str:
        """rule_line, remembered: a report repeats the same few lines (keyed by the values' classes and exact
        spellings, so 1, True and Decimal('1'), or 0 and -0, are never taken for one another)."""
        classes = tuple(map(type, values))
        if not _MEMO_CLASSES.issuperset(classes):
            return rule_line(pad, static, Decimal(deduction), values)
        spelt = tuple(map(str, values))
        if sum(map(len, spelt)) > _MEMO_CHARS:  # a long text or number is not kept (memory)
            return rule_line(pad, static, Decimal(deduction), values)
        key = (pad, static, deduction.__class__, str(deduction), classes, spelt)
        line = memo.get(key)
        if line is None:
            line = rule_line(pad, static, Decimal(deduction), values)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = line
        return line

    if full:
        shown_lets = [(prefix, lets[n], suffix, n) for n, prefix, suffix in fast.lets if n in lets]
        if shown_lets:
            add(fast.lets_heading)
            for prefix, v, suffix, n in shown_lets:
                add((prefix + value(display(n, v)) + suffix).rstrip())
            add("")
        add(fast.sections_heading)
        for op in fast.ops:
            if op[0] == "S":
                add((op[2] + value(section_scores[op[1]]) + op[3]).rstrip())
            else:
                index = op[1]
                tscore = target_scores[index]
                mark = "•" if subtract(op[8], tscore) == 0 else "▾"
                add((op[2] + mark + op[3] + plain(tscore) + op[4]).rstrip())
                pad = op[5]
                statics = statics_rules[index]
                for r_index, deduction, values in rules.get(index, ()):
                    add(memo_line(pad, statics[r_index], deduction, values))
        add("")
        add(fast.bands_heading)
        for (on, off), held in zip(fast.band_lines, holds):
            add(on if held else off)
        add("")
    else:
        losing: list[tuple[Decimal, str, int, str]] = []
        for op in fast.ops:
            if op[0] == "T":
                lost = subtract(op[8], target_scores[op[1]])
                if lost > 0:
                    losing.append((lost, op[6], op[1], op[7]))
        losing.sort(key=lambda item: (-item[0], item[1]))
        add(fast.largest_heading)
        if not losing:
            add(_line(f"  {t['no_loss']}"))
        for lost, _, index, shown in losing[:5]:
            add(f"  -{value(lost)}{shown}".rstrip())
            statics = statics_rules[index]
            for r_index, deduction, values in rules.get(index, ()):
                if Decimal(deduction) > 0:
                    add(memo_line("      ", statics[r_index], deduction, values))
        if len(losing) > 5:
            rest = sum((lost for lost, *_ in losing[5:]), Decimal(0))
            add(_line(more_losses(w, len(losing) - 5, rest)))
        add("")
    write_money(w, result)
    if checked.general_outcomes:  # else none (result.general_consequences would find so, slowly)
        write_general_money(w, result)
    return w.text()


def _fast_next_band(t: dict[str, str], result: Result, fast: _CategoryFast, holds: list[bool]) -> str:
    """:func:`next_band_text` over the static bands."""
    if result.vetoed:
        return str(t["veto_any"].format(rating=result.rating_label))
    if result.band is not None and result.rating != result.band:  # a rating effect decided the rating
        return str(t["effects_decide"].format(rating=result.rating_label))
    current = next((i for i, held in enumerate(holds) if held), len(holds))
    if current == 0:
        return str(t["top_band"])
    _band, _rating, shown, interval, low, low_closed = fast.bands[current - 1]
    if not isinstance(low, Decimal):
        return ""
    gap = low - result.score
    gap_text = plain_decimal(gap) if low_closed else f">{plain_decimal(gap)}"
    return str(t["next_band"].format(rating=shown, interval=interval, gap=gap_text))
