"""Readable explanations of a result, in Chinese (default) or English.

The full form walks every section, target and rule (deducting or not), every
veto (fired or not) and every band test, each with its citation and the values
it read.  The short form gives the decisive reasons: the band reached and how
far the next one is, the vetoes, the largest deductions with their reasons,
and the money.  Labels, clause texts and citations come from the policy; only
the connecting words are translated.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from ..language import ast, formatter
from .cohort import failed_rows_reason_zh
from .parts import Consequences, EffectStep, ResultView
from .trace import Trace, TraceEvent, plain_decimal

if TYPE_CHECKING:
    from ..language.model import CheckedPolicy


class Result(ResultView, Protocol):
    """What an explanation reads: a result and its trace (runtime.result.Result is one)."""

    @property
    def trace(self) -> Trace: ...
    @property
    def base_score(self) -> Decimal: ...
    @property
    def bonus(self) -> Decimal: ...


LANGS = ("zh", "en")

TEXT = {
    "zh": {
        "title": "考核结果：{unit}",
        "unit": "单位",
        "category": "类别",
        "policy": "依据",
        "score": "综合评分",
        "points": "分",
        "rating": "评定等次",
        "band": "按分数应评",
        "vetoed_by": "因一票否决评为{rating}（保留否决前得分）",
        "next_band": "距{rating}{interval}还差 {gap} 分",
        "top_band": "已达最高等次",
        "veto_any": "一票否决：无论得分多少都评为{rating}",
        "veto": "一票否决",
        "veto_effects": "一票否决及等次调整条款",
        "veto_none": "未发生一票否决情形",
        "veto_not_fired": "不成立",
        "excepted": "不否决（例外：{reason}）",
        "deferred": "移交处理",
        "deferred_to": "按{to}考核",
        "lets": "派生数值",
        "sections": "分项得分",
        "deduct": "扣 {n} 分",
        "no_deduction": "未扣分",
        "largest": "主要扣分",
        "no_loss": "各项均得满分",
        "money": "奖惩",
        "total_reward": "奖励合计",
        "total_fine": "罚款合计",
        "none": "不奖不罚",
        "sanction": "处理",
        "evidence": "证据",
        "position": "（第{n}项）",
        "read": "依据数据",
        "yuan": "元",
        "yes": "是",
        "no": "否",
        "items": "{n}项",
        "colon": "：",
        "bands": "评定标准",
        "exception": "例外",
        "exc_held": "成立",
        "exc_not_held": "不成立",
        "exc_skipped": "未判断",
        "effects": "等次调整（按规定顺序）",
        "raw_score": "（调整前得分 {raw} 分）",
        "effect_score": "{clause}：得分改为{value}分（{before}→{after}）",
        "effect_requires": "{clause}：不符合本等次的评定条件，降为下一等次（{before}→{after}）",
        "effect_cap": "{clause}：至多评为{value}（{before}→{after}）",
        "effect_downgrade": "{clause}：降低{n}个等次（{before}→{after}）",
        "effect_rating": "{clause}：评为{value}（{before}→{after}）",
        "effect_vetoed": "{clause}：一票否决，评为{value}（{before}→{after}）",
        "effect_note": " — {effect}（见等次调整）",
        "effect_kind_score": "改定得分",
        "effect_kind_downgrade": "降低等次",
        "effect_kind_cap": "限定最高等次",
        "effect_kind_rating": "评定为指定等次",
        "effects_decide": "等次调整后评为{rating}（见下）",
        "reported": "报告数值",
        "general_money": "其他奖惩（不论等次）",
        "add": "加 {n} 分",
        "no_add": "未加分",
        "base_bonus": "（基础分 {base} 分 + 加分 {bonus} 分）",
        "bonus_cap": "（上限 {cap} 分）",
        "capped": "加分合计{added}分，超过上限{cap}分，按{cap}分计",
        "bonus_total": "加分合计",
        "periods": "分期考核",
        "period_columns": "期别|权重|得分|等次|折算得分",
        "period_total": "合计",
        "period_note": "（综合评分 = 各期得分 × 权重之和；各期等次按本类别评定标准）",
    },
    "en": {
        "title": "Assessment result: {unit}",
        "unit": "Unit",
        "category": "Category",
        "policy": "Policy",
        "score": "Score",
        "points": "pts",
        "rating": "Rating",
        "band": "Band by score",
        "vetoed_by": "vetoed (一票否决), rated {rating}; the score before the veto is kept",
        "next_band": "{gap} pts short of {rating} {interval}",
        "top_band": "the best band is reached",
        "veto_any": "a veto applies: rated {rating} whatever the score",
        "veto": "Vetoes (一票否决)",
        "veto_effects": "Vetoes (一票否决) and rating-effect clauses",
        "veto_none": "no veto applies",
        "veto_not_fired": "does not apply",
        "excepted": "not vetoed (exception: {reason})",
        "deferred": "Deferred",
        "deferred_to": "assessed under {to}",
        "lets": "Derived values",
        "sections": "Sections",
        "deduct": "-{n} pts",
        "no_deduction": "no deduction",
        "largest": "Largest deductions",
        "no_loss": "full points on every target",
        "money": "Rewards and penalties",
        "total_reward": "Total reward",
        "total_fine": "Total fine",
        "none": "no reward, no penalty",
        "sanction": "Sanction",
        "evidence": "evidence",
        "position": " (item {n})",
        "read": "read",
        "yuan": "yuan",
        "yes": "yes",
        "no": "no",
        "items": "{n} items",
        "colon": ": ",
        "bands": "Bands",
        "exception": "exception",
        "exc_held": "holds",
        "exc_not_held": "does not hold",
        "exc_skipped": "not tested",
        "effects": "Rating effects (in the documented order)",
        "raw_score": " (before score effects: {raw} pts)",
        "effect_score": "{clause}: score set to {value} ({before} → {after})",
        "effect_requires": "{clause}: the band's requirement is not met, next lower band ({before} → {after})",
        "effect_cap": "{clause}: at most {value} ({before} → {after})",
        "effect_downgrade": "{clause}: downgraded by {n} band(s) ({before} → {after})",
        "effect_rating": "{clause}: rated {value} ({before} → {after})",
        "effect_vetoed": "{clause}: vetoed (一票否决), rated {value} ({before} → {after})",
        "effect_note": " — {effect} (see rating effects)",
        "effect_kind_score": "sets the score",
        "effect_kind_downgrade": "downgrades",
        "effect_kind_cap": "caps the rating",
        "effect_kind_rating": "forces a rating",
        "effects_decide": "rated {rating} after the rating effects (below)",
        "reported": "Reported values",
        "general_money": "Further consequences (whatever the rating)",
        "add": "+{n} pts",
        "no_add": "no bonus",
        "base_bonus": " (base {base} + bonus {bonus})",
        "bonus_cap": " (cap {cap})",
        "capped": "bonus {added} pts in total, above the cap of {cap}: counted as {cap}",
        "bonus_total": "Bonus in total",
        "periods": "Periods",
        "period_columns": "Period|Weight|Score|Rating|Weighted",
        "period_total": "Total",
        "period_note": "(score = the sum of each period's score × its weight; each period rated by the category's bands)",
    },
}


# issue #11 C: cohorts (ranks, quotas, provisional results)
_COHORT_TEXT = {
    "zh": {
        "provisional_alone": "暂定结果：单独评定，未与同批单位一起排名，无名次，未执行名额限制",
        "provisional_batch": "暂定结果：{reason}，名次和名额限制可能变化",
        "rank": "名次",
        "rank_of": "{rank}/{count}（按{keys}；并列同名次{tied}）",
        "rank_tied": "，与另{n}个单位并列",
        "rank_none_alone": "暂无（单独评定）",
        "rank_not_ranked_category": "本类别不参加排名",
        "rank_not_among": "不参加排名（不符合参评条件：{among}）",
        "cohort_counts": "  本类参评{units}个单位，参加排名{ranked}个{best}",
        "cohort_best": "；最高分{best}，平均分{average}",
        "key_score": "最终得分",
        "key_lower": "{key}（少者在前）",
        "key_join": "、",
        "quota_share": "{band}不超过{percent}（{of}{base}个单位中{limit}个）",
        "quota_of_ranked": "参加排名的",
        "quota_count": "{band}不超过{limit}个",
        "effect_quota": "名额限制：{quota}，{place}，降为{after}（{before}→{after}）",
        "quota_place": "本单位名次{rank}",
        "quota_unranked": "本单位未参加排名",
    },
    "en": {
        "provisional_alone": "PROVISIONAL: assessed alone, not ranked with its batch: no rank, no quota applied",
        "provisional_batch": "PROVISIONAL: {reason}",
        "rank": "Rank",
        "rank_of": "{rank} of {count} (by {keys}; ties share a rank{tied})",
        "rank_tied": ", tied with {n} other unit(s)",
        "rank_none_alone": "none (assessed alone)",
        "rank_not_ranked_category": "this category is not ranked",
        "rank_not_among": "not ranked (fails the condition: {among})",
        "cohort_counts": "  {units} unit(s) of the category assessed, {ranked} ranked{best}",
        "cohort_best": "; best {best}, average {average}",
        "key_score": "final score",
        "key_lower": "{key} (lower first)",
        "key_join": ", ",
        "quota_share": "at most {percent} {band} ({limit} of {base} {of}units)",
        "quota_of_ranked": "ranked ",
        "quota_count": "at most {limit} {band}",
        "effect_quota": "quota: {quota}; {place}: lowered to {after} ({before} → {after})",
        "quota_place": "this unit ranks {rank}",
        "quota_unranked": "this unit is not ranked",
    },
}
for _lang, _texts in _COHORT_TEXT.items():
    TEXT[_lang].update(_texts)

# issue #16: shared event ledgers
_LEDGER_TEXT = {
    "zh": {
        "charged": "计入本单位的台账事件",
        "charged_none": "（无）",
        "charged_line": "{shown}：{rules}",
        "charged_rule": "{label}（{cite}）",
        "charged_rule_nocite": "{label}",
        "charged_join": "；",
        "own_list": "{fact}：本单位自报清单（未使用台账）",
        "ledger_event": "（{event}）",
    },
    "en": {
        "charged": "Ledger events charged to this unit",
        "charged_none": "(none)",
        "charged_line": "{shown}: {rules}",
        "charged_rule": "{label} ({cite})",
        "charged_rule_nocite": "{label}",
        "charged_join": "; ",
        "own_list": "{fact}: the unit's own list (no ledger used)",
        "ledger_event": " ({event})",
    },
}
for _lang, _texts in _LEDGER_TEXT.items():
    TEXT[_lang].update(_texts)


class Writer:
    """Formats values and lines for one language."""

    def __init__(self, lang: str, kinds: Mapping[str, str] | None = None) -> None:
        if lang not in TEXT:
            raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
        self.lang = lang
        self.t = TEXT[lang]
        self.lines: list[str] = []
        self.kinds = kinds or {}  # name -> type kind of facts, parameters and derived values

    def __call__(self, text: str = "") -> None:
        self.lines.append(text.rstrip())

    def heading(self, key: str, suffix: str = "") -> None:
        self(f"{self.t[key]}{self.t['colon'].rstrip() if self.lang == 'zh' else ':'}{suffix}")

    def value(self, value: object) -> str:
        cls = value.__class__
        if cls is Decimal or cls is int:  # the commonest values first (exact classes: a bool is no int here)
            return plain_decimal(value)  # type: ignore[arg-type]
        if cls is str:
            return value  # type: ignore[return-value]
        if isinstance(value, bool):
            return self.t["yes"] if value else self.t["no"]
        if isinstance(value, (Decimal, int)):
            return plain_decimal(value)
        if isinstance(value, datetime.date):
            return value.isoformat()
        if value is None:
            return "—"
        if isinstance(value, Mapping):
            return "{" + ", ".join(f"{k}: {self.value(v)}" for k, v in value.items()) + "}"
        if isinstance(value, (list, tuple)):
            return "[" + self.t["items"].format(n=len(value)) + "]"
        return str(value)

    def reads(self, reads: Mapping[str, object]) -> str:
        return ", ".join(f"{k}={self.quantity(k, v)}" for k, v in reads.items())

    def quantity(self, name: str, value: object) -> str:
        """A read value with its unit: percentages with %, money in 元 / yuan."""
        text = self.value(value)
        if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
            kind = self.kinds.get(name)
            if kind == "percent":
                return text + "%"
            if kind == "money":
                return text + ("元" if self.lang == "zh" else " yuan")
        return text

    def text(self) -> str:
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


#: policies whose per-policy renderings are kept at a time (here and in explain_fast): a process serving
#: more keeps the most recently added ones
POLICIES_KEPT = 16


def make_room(cache: dict[int, Any], kept: int) -> None:
    """Drop the oldest policy of a per-policy cache when it holds ``kept`` (the one that came first, not all
    of them: a service cycling through more policies than it keeps rebuilt every policy's each time)."""
    while len(cache) >= kept:
        try:
            cache.pop(next(iter(cache)), None)
        except (RuntimeError, StopIteration):  # another thread changed the cache meanwhile: nothing is lost
            return


_KINDS: dict[int, tuple[CheckedPolicy, dict[str, str]]] = {}  # id(checked) → (checked, its value kinds), bounded


def policy_value_kinds(checked: CheckedPolicy) -> dict[str, str]:
    """:func:`value_kinds`, made once per policy (an explanation per unit used to rebuild it; read only)."""
    found = _KINDS.get(id(checked))
    if found is not None and found[0] is checked:  # the checked policy is kept alive here: its id is not reused
        return found[1]
    kinds = value_kinds(checked)
    make_room(_KINDS, POLICIES_KEPT)
    _KINDS[id(checked)] = (checked, kinds)
    return kinds


def _top(trace: Trace, kind: str) -> list[TraceEvent]:
    """The events of ``kind`` among the trace's top-level events: the kinds only the top level holds (veto,
    deferral, band, score — trace.build puts them nowhere else), without walking the whole tree."""
    return [e for e in trace.events if e.kind == kind]


def value_kinds(checked: CheckedPolicy) -> dict[str, str]:
    """The type kind of every named value a step can read (for units in explanations)."""
    out: dict[str, str] = {}
    for table in (checked.fact_types, checked.param_types, checked.let_types):
        for name, t in table.items():
            out[name] = t.kind
    return out


def cite(citation: str | None) -> str:
    return f"〔{citation}〕" if citation else ""


def explain(result: Result, lang: str = "zh", full: bool = True, trace: Trace | None = None) -> str:
    """The explanation of one result; ``full`` False gives the short form.

    ``trace``: the result's trace, or a tree holding at least its deferral, let, section, score, veto and band
    events (``build_trace(explanation=True)``); None reads ``result.trace``."""
    checked = result.program.checked
    w = Writer(lang, policy_value_kinds(checked))
    t = w.t
    header = checked.header
    trace = result.trace if trace is None else trace
    sep = t["colon"]
    w(t["title"].format(unit=result.name or result.unit_id))
    w("=" * 40)
    if checked.cohort is not None and result.provisional is not None:  # issue #11 C: 暂定结果
        w(t["provisional_alone"] if result.standing is None else
          t["provisional_batch"].format(reason=provisional_reason_text(result.provisional, lang)))
    w(f"{t['unit']}{sep}{result.name or ''} ({result.unit_id})")
    category = checked.categories[result.category]
    w(f"{t['category']}{sep}{category.label or category.name}")
    doc = f"（{header.document}）" if header.document else ""
    w(f"{t['policy']}{sep}{header.label or header.name}{doc}")
    raw_note = t["raw_score"].format(raw=plain_decimal(result.raw_score)) if result.raw_score != result.score else ""
    w(f"{t['score']}{sep}{plain_decimal(result.score)} / {plain_decimal(result.total)} {t['points']}"
      + (t["base_bonus"].format(base=plain_decimal(result.base_score), bonus=plain_decimal(result.bonus))
         if category.has_bonus else "") + raw_note)
    if checked.periods is not None:  # issue #11 P: the per-period table before the band line
        _periods(w, result)
    band_event = next((e for e in _top(trace, "band") if e.id == "band"), None)
    interval = _interval_of(band_event, result.band)
    band_label = checked.rating_label(result.band) if result.band else "—"
    w(f"{t['band']}{sep}{band_label} {interval} {cite(result.band_citation)}")
    if result.vetoed:
        w(f"{t['rating']}{sep}{result.rating_label} — {t['vetoed_by'].format(rating=result.rating_label)} "
          f"{cite(checked.ratings.cite)}")
    else:
        w(f"{t['rating']}{sep}{result.rating_label} {cite(result.band_citation)}")
    w(f"  {next_band_text(w, result, band_event)}")
    if checked.cohort is not None:  # issue #11 C: the unit's place in its cohort
        write_standing(w, result)
    w()
    if result.effects:
        w.heading("effects")
        for line in effect_lines(result, lang):
            w(f"  {line}")
        w()
    if result.reported:  # issue #10: a let the scheme names as a result
        w.heading("reported")
        for r in result.reported.values():
            w(f"  {r.label or r.name}{sep}{w.value(r.value)} {cite(r.citation)}".rstrip())
        w()
    write_ledger(w, result)
    write_vetoes(w, _top(trace, "veto"), full)
    write_deferrals(w, _top(trace, "deferral"))
    w()
    if full:
        lets = [e for e in trace.events if e.kind == "let"]  # a period's own lets are in its event
        if lets:
            w.heading("lets")
            for e in lets:
                w(f"  {e.label or e.id} = {w.value(e.value)} {cite(e.citation)}")
            w()
        w.heading("sections")
        for event in trace.events:
            if event.kind == "section":
                _section(w, event, 1)
        _bonus_total(w, trace)
        w()
        if band_event is not None:
            w.heading("bands")
            for test in band_event.children:
                mark = "●" if test.value else "○"
                w(f"  {mark} {test.label or test.id} {test.detail.get('interval', '')} {cite(test.citation)}")
            w()
    else:
        _largest(w, trace)
    write_money(w, result)
    write_general_money(w, result)
    return w.text()


def _interval_of(band_event: TraceEvent | None, rating: str | None) -> str:
    if band_event is None or rating is None:
        return ""
    for test in band_event.children:
        if test.id == rating:
            return str(test.detail.get("interval", ""))
    return ""


def next_band_text(w: Writer, result: Result, band_event: TraceEvent | None) -> str:
    """How many points the next better band needs (the decisive distance), or that the top is reached."""
    if band_event is None:
        return ""
    if result.vetoed:
        return str(w.t["veto_any"].format(rating=result.rating_label))
    if result.band is not None and result.rating != result.band:  # a rating effect decided the rating
        return str(w.t["effects_decide"].format(rating=result.rating_label))
    tests = list(band_event.children)  # best first
    current = next((i for i, e in enumerate(tests) if e.value), len(tests))
    if current == 0:
        return str(w.t["top_band"])
    better = tests[current - 1]
    low = better.detail.get("low")
    if not isinstance(low, Decimal):
        return ""
    gap = low - result.score
    gap_text = plain_decimal(gap) if better.detail.get("low_closed") else f">{plain_decimal(gap)}"
    return str(w.t["next_band"].format(rating=better.label or better.id, interval=better.detail.get("interval", ""),
                                       gap=gap_text))


def write_vetoes(w: Writer, vetoes: list[TraceEvent], full: bool) -> None:
    t = w.t
    # a clause with a rating effect (降一个等次, 至多评为…) is no 一票否决: the heading says both kinds are here
    w.heading("veto_effects" if any(v.detail.get("effect") for v in vetoes) else "veto")
    shown = 0
    for veto in vetoes:
        condition = bool(veto.detail.get("condition"))
        if veto.value:
            shown += 1
            effect = veto.detail.get("effect")
            note = t["effect_note"].format(effect=t[f"effect_kind_{effect}"]) if effect else ""
            w(f"  ✗ {veto.label or veto.id} {cite(veto.citation)}{note}")
            evidence = veto.detail.get("evidence")
            if isinstance(evidence, list) and evidence:
                positions = veto.detail.get("positions")
                places = positions if isinstance(positions, list) else [None] * len(evidence)
                rows = veto.detail.get("ledger_events")  # issue #16: the ledger row of an item from a ledger
                events = rows if isinstance(rows, list) else [None] * len(evidence)
                for item, place, event in zip(evidence, places, events):
                    where = t["ledger_event"].format(event=event) if event else place_text(t, place)
                    w(f"      {t['evidence']}{where}: {w.value(item)}")
            else:
                w(f"      {t['read']}: {w.reads(veto.reads)}")
        elif condition:
            shown += 1
            held = next((e for e in veto.children if e.value), None)
            reason = (held.label if held is not None else None) or "—"
            w(f"  ○ {veto.label or veto.id} {cite(veto.citation)} — {t['excepted'].format(reason=reason)}")
            if full:
                for exc in veto.children:
                    state = {True: t["exc_held"], False: t["exc_not_held"], None: t["exc_skipped"]}[exc.value]  # type: ignore[index]
                    w(f"      {t['exception']}: {exc.text or exc.label} — {state}")
        elif full:
            w(f"  · {veto.label or veto.id} {cite(veto.citation)} — {t['veto_not_fired']}")
    if not any(v.value for v in vetoes):
        w(f"  {'→ ' if shown or (full and vetoes) else ''}{t['veto_none']}")


def write_deferrals(w: Writer, deferrals: list[TraceEvent]) -> None:
    t = w.t
    for d in deferrals:
        items = d.detail.get("items")
        if not isinstance(items, list) or not items:
            continue
        authority = d.detail.get("to")  # a defer without `to` names no authority: none is made up ("按?考核")
        head = f"{d.label or d.id} {cite(d.citation)}".rstrip()
        if authority:
            to = t["deferred_to"].format(to=authority)
            head += f"，{to}" if w.lang == "zh" else f", {to}"
        w(f"  → {t['deferred']}{t['colon']}{head}" if w.lang == "zh" else f"  → {t['deferred']}: {head}")
        positions = d.detail.get("positions")
        places = positions if isinstance(positions, list) else [None] * len(items)
        rows = d.detail.get("ledger_events")  # issue #16: the ledger row of an item from a ledger
        events = rows if isinstance(rows, list) else [None] * len(items)
        for item, place, event in zip(items, places, events):
            where = (str(event) if event else place_text(t, place)).strip("（）() ")
            w(f"      {where + t['colon'] if where else ''}{w.value(item)}")


def write_ledger(w: Writer, result: Result) -> None:
    """计入本单位的台账事件 (issue #16): each event charged to the unit and the rules that charged it; or, for a
    unit of a ledger policy that gave its own list, that it did.  Nothing for other policies."""
    program = result.program
    facts = [spec.fact for spec in program.ledgers if spec.fact is not None and spec.fact in result.facts]
    if not facts:
        return
    t = w.t
    w.heading("charged")
    if not getattr(result, "from_ledger", False):
        for fact in facts:
            w(f"  {t['own_list'].format(fact=fact)}")
        w()
        return
    charged = getattr(result, "charged", ())
    for c in charged:
        rules = t["charged_join"].join(
            t["charged_rule"].format(label=r.label or r.name, cite=r.cite) if r.cite
            else t["charged_rule_nocite"].format(label=r.label or r.name) for r in c.rules)
        w(f"  {t['charged_line'].format(shown=c.event.shown, rules=rules)}")
    if not charged:
        w(f"  {t['charged_none']}")
    w()


def place_text(t: dict[str, str], position: object) -> str:
    """" (第2项)" for an item's 1-based place in its list fact, or nothing when it is not known (issue #10 C)."""
    if not isinstance(position, int) or isinstance(position, bool):
        return ""
    return t["position"].format(n=position)


def _capped(w: Writer, event: TraceEvent, pad: str) -> None:
    """A bonus cap that applied: 加分合计7分，超过上限5分，按5分计."""
    added, cap = event.detail.get("added"), event.detail.get("cap")
    if isinstance(added, Decimal) and isinstance(cap, Decimal) and added > cap:
        w(f"{pad}{w.t['capped'].format(added=w.value(added), cap=w.value(cap))}")


def _bonus_total(w: Writer, trace: Trace) -> None:
    """The category's overall bonus cap, when it applied (加分合计 … 按 … 分计)."""
    score = next((e for e in _top(trace, "score") if e.id == "score"), None)
    if score is None or "bonus" not in score.detail:
        return
    added, cap = score.detail.get("bonus_added"), score.detail.get("bonus_cap")
    if isinstance(added, Decimal) and isinstance(cap, Decimal) and added > cap:
        w(f"  {w.t['bonus_total']}{w.t['colon']}{w.t['capped'].format(added=w.value(added), cap=w.value(cap))}")


def _section(w: Writer, event: TraceEvent, depth: int) -> None:
    pad = "  " * depth
    points = event.detail.get("points", "")
    if event.detail.get("bonus"):  # a bonus section (加分): what it adds, its cap
        cap = event.detail.get("cap")
        w(f"{pad}{event.label or event.id}  +{w.value(event.value)} {cite(event.citation)}"
          + (w.t["bonus_cap"].format(cap=w.value(cap)) if cap is not None else ""))
        _capped(w, event, pad + "  ")
        for child in event.children:
            if child.kind == "target":
                cap = child.detail.get("cap")
                w(f"{pad}  + {child.label or child.id}  +{w.value(child.value)} {cite(child.citation)}"
                  + (w.t["bonus_cap"].format(cap=w.value(cap)) if cap is not None else ""))
                _capped(w, child, pad + "      ")
                for rule in child.children:
                    _rule(w, rule, pad + "      ")
        return
    w(f"{pad}{event.label or event.id}  {w.value(event.value)}/{w.value(points)} {cite(event.citation)}")
    for child in event.children:
        if child.kind == "section":
            _section(w, child, depth + 1)
        elif child.kind == "target":
            tp = child.detail.get("points", "")
            mark = "•" if child.detail.get("lost") == 0 else "▾"
            w(f"{pad}  {mark} {child.label or child.id}  {w.value(child.value)}/{w.value(tp)} {cite(child.citation)}")
            for rule in child.children:
                _rule(w, rule, pad + "      ")


def _rule(w: Writer, rule: TraceEvent, pad: str) -> None:
    deduction = rule.value
    adds = str(rule.detail.get("rule", "")).startswith("add")  # a bonus rule: what it adds
    amount = w.t["add" if adds else "deduct"].format(n=w.value(deduction)) \
        if isinstance(deduction, Decimal) and deduction > 0 else w.t["no_add" if adds else "no_deduction"]
    reads = w.reads(rule.reads)
    w(f"{pad}{amount}  ← {rule.text or rule.label}" + (f"  [{reads}]" if reads else ""))


def _largest(w: Writer, trace: Trace) -> None:
    losing: list[tuple[Decimal, TraceEvent]] = []
    for event in outside_periods(trace, "target"):
        lost = event.detail.get("lost")
        if isinstance(lost, Decimal) and lost > 0:
            losing.append((lost, event))
    losing.sort(key=lambda pair: (-pair[0], pair[1].id))
    w.heading("largest")
    if not losing:
        w(f"  {w.t['no_loss']}")
    for lost, target in losing[:5]:
        w(f"  -{w.value(lost)} {target.label or target.id} {cite(target.citation)}")
        for rule in target.children:
            if isinstance(rule.value, Decimal) and rule.value > 0:
                _rule(w, rule, "      ")
    if len(losing) > 5:
        rest = sum((lost for lost, _ in losing[5:]), Decimal(0))
        w(more_losses(w, len(losing) - 5, rest))
    w()


def more_losses(w: Writer, count: int, rest: Decimal) -> str:
    """The short form's last line when more than five targets lose points: how many more, and how much."""
    return (f"  … 另有 {count} 项共扣 {w.value(rest)} 分" if w.lang == "zh"
            else f"  … {count} more targets lose {w.value(rest)} pts")


def write_money(w: Writer, result: Result) -> None:
    t = w.t
    c = result.consequences
    w.heading("money", cite(c.citation) if w.lang == "zh" else f" {cite(c.citation)}".rstrip())
    if c.kind == "none" and not c.sanctions:
        notes = [n for n in c.notes if n != t["none"]]
        w(f"  {t['none']}" + "".join(f"（{n}）" for n in notes))
    _consequence_items(w, c, cited=False)


def _consequence_items(w: Writer, c: Consequences, *, cited: bool) -> None:
    """One line per reward, fine, share or sanction of ``c``, then its total (citations for the
    outcomes for every rating, which have no rating heading to carry them)."""
    t = w.t
    for item in c.items:
        where = f" {cite(item.citation)}".rstrip() if cited else ""
        if item.kind == "sanction":
            w(f"  {t['sanction']}{t['colon']}{item.label or item.name}{where}")
        else:
            amount = f"{item.amount:,.2f}" if item.amount is not None else "—"
            w(f"  {item.label or item.name}{t['colon']}{amount} {t['yuan']}{where}")
    if c.kind != "none":
        key = "total_reward" if c.kind == "reward" else "total_fine"
        w(f"  {t[key]}{t['colon']}{c.total:,.2f} {t['yuan']}")


_ZH_NUMBERS = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九", 10: "十"}


def effect_lines(result: Result, lang: str = "zh", steps: Sequence[EffectStep] | None = None) -> list[str]:
    """One line per rating effect that applied (or per one of ``steps``), in order:
    "瞒报：降低一个等次（良好→合格）〔第十一条〕"."""
    t = TEXT[lang]
    lines = []
    for step in result.effects if steps is None else steps:
        value: object = step.value
        before, after = step.before, step.after
        if step.kind == "score":
            value, before, after = (plain_decimal(x) for x in (step.value, step.before, step.after))  # type: ignore[arg-type]
        if step.kind == "quota":  # the cohort quota step (issue #11 C)
            lines.append(f"{_quota_text(t, step)}{cite(step.citation)}")
            continue
        n = _ZH_NUMBERS.get(step.value, str(step.value)) if lang == "zh" and isinstance(step.value, int) else step.value
        text = t[f"effect_{step.kind}"].format(clause=step.clause, value=value, before=before, after=after, n=n)
        lines.append(f"{text}{cite(step.citation)}")
    return lines


def write_general_money(w: Writer, result: Result) -> None:
    """The outcomes for every rating (issue #10): only those with an item that applies."""
    applying = [c for c in result.general_consequences if c.items]
    if not applying:
        return
    w()
    w.heading("general_money")
    for c in applying:
        _consequence_items(w, c, cited=True)


# ------------------------------------------------------------ periods (issue #11 P)
def outside_periods(trace: Trace, kind: str) -> list[TraceEvent]:
    """The events of ``kind`` of the assessment, not those of one period (inside a period event)."""
    out: list[TraceEvent] = []
    for event in trace.events:
        if event.kind != "period":
            out.extend(e for e in event.walk() if e.kind == kind)
    return out


def _periods(w: Writer, result: Result) -> None:
    """期别 | 权重 | 得分 | 等次 | 折算得分, then 合计: each period and what it adds to the score."""
    t = w.t
    rows = [t["period_columns"].split("|")]
    for period in result.periods:
        rows.append([period.label or period.name, f"{plain_decimal(period.weight)}%", plain_decimal(period.score),
                     period.rating_label, plain_decimal(period.weighted)])
    total_weight = sum((p.weight for p in result.periods), Decimal(0))
    rows.append([t["period_total"], f"{plain_decimal(total_weight)}%", "", "", plain_decimal(result.raw_score)])
    widths = [max(_width(row[i]) for row in rows) for i in range(5)]
    w.heading("periods")
    for row in rows:
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)]
        w(("  " + "  ".join(cells)).rstrip())
    w(f"  {t['period_note']}")


def _width(text: str) -> int:
    """Display width: a CJK character takes two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)

# ------------------------------------------------------------- cohorts (issue #11 C)
def write_standing(w: Writer, result: Result) -> None:
    """"名次 7/12（按最终得分；并列同名次）" and the category's counts, best and average."""
    t, sep = w.t, w.t["colon"]
    cohort = result.program.checked.cohort
    assert cohort is not None
    standing = result.standing
    if standing is None:
        w(f"{t['rank']}{sep}{t['rank_none_alone']}")
        return
    if standing.rank is not None:
        keys = t["key_join"].join(_key_text(t, result, k) for k in cohort.decl.keys)
        tied = t["rank_tied"].format(n=standing.tied - 1) if standing.tied > 1 else ""
        place = t["rank_of"].format(rank=standing.rank, count=standing.ranked_count, keys=keys, tied=tied)
    elif result.category not in cohort.categories:
        place = t["rank_not_ranked_category"]
    else:
        among = cohort.decl.among
        place = t["rank_not_among"].format(among=formatter.expr(among) if among is not None else "")
    w(f"{t['rank']}{sep}{place} {cite(cohort.decl.cite)}".rstrip())
    best = ""
    if standing.best is not None and standing.average is not None:
        best = t["cohort_best"].format(best=plain_decimal(standing.best), average=plain_decimal(standing.average))
    w(t["cohort_counts"].format(units=standing.unit_count, ranked=standing.ranked_count, best=best))


def _key_text(t: Mapping[str, str], result: Result, key: ast.CohortKey) -> str:
    res = result.program.checked.resolutions.get(key.value)
    text = t["key_score"] if res is not None and res.kind == "score" else formatter.expr(key.value)
    return t["key_lower"].format(key=text) if key.lower_first else text


def _quota_text(t: Mapping[str, str], step: EffectStep) -> str:
    """"名额限制：优秀不超过30%（12个单位中3个），本单位名次4，降为良好"."""
    value = step.value if isinstance(step.value, Mapping) else {}
    band = value.get("band", "")
    percent = value.get("percent")
    limit = value.get("limit", "?")
    if percent is not None:
        quota = t["quota_share"].format(band=band, percent=percent, base=value.get("base", "?"), limit=limit,
                                        of=t["quota_of_ranked"] if value.get("of_ranked") else "")
    else:
        quota = t["quota_count"].format(band=band, limit=limit)
    rank = value.get("rank")
    place = t["quota_place"].format(rank=rank) if rank is not None else t["quota_unranked"]
    return t["effect_quota"].format(quota=quota, place=place, before=step.before, after=step.after)


def provisional_reason_text(reason: str, lang: str) -> str:
    """The engine's reason ("2 units of 县区 could not be assessed (rows 3, 7); …") as the explanation's language says it."""
    return (failed_rows_reason_zh(reason) if lang == "zh" else None) or reason
