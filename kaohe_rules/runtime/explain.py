"""Readable explanations of a result, in Chinese (default) or English.

The full form walks every section, target and rule with its citation; the
short form gives the decisive reasons: the band reached, the vetoes, the
largest deductions and the money.  Labels and citations come from the policy.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .result import plain
from .trace import TraceEvent

if TYPE_CHECKING:
    from .result import Result

_TEXT = {
    "zh": {
        "title": "考核结果",
        "unit": "单位",
        "category": "类别",
        "policy": "依据",
        "score": "综合评分",
        "of": "满分",
        "rating": "评定等次",
        "band": "按分数应评",
        "vetoed_by": "因“一票否决”评为",
        "veto": "一票否决",
        "veto_none": "未发生一票否决情形",
        "excepted": "未否决（例外）",
        "deferred": "移交处理",
        "deferred_to": "按{to}考核",
        "sections": "分项得分",
        "points": "分",
        "deduct": "扣",
        "rule_ok": "未扣分",
        "money": "奖惩",
        "total_reward": "奖励合计",
        "total_fine": "罚款合计",
        "none": "不奖不罚",
        "sanction": "处理",
        "largest": "主要扣分",
        "reads": "依据数据",
        "evidence": "证据",
        "yuan": "元",
        "kept_score": "（保留否决前得分）",
        "fired": "成立",
        "not_fired": "不成立",
        "lets": "派生数值",
    },
    "en": {
        "title": "Assessment result",
        "unit": "Unit",
        "category": "Category",
        "policy": "Policy",
        "score": "Score",
        "of": "out of",
        "rating": "Rating",
        "band": "Band by score",
        "vetoed_by": "Vetoed (一票否决), rated",
        "veto": "Veto",
        "veto_none": "No veto applies",
        "excepted": "Not vetoed (exception)",
        "deferred": "Deferred",
        "deferred_to": "assessed under {to}",
        "sections": "Sections",
        "points": "pts",
        "deduct": "deduct",
        "rule_ok": "no deduction",
        "money": "Rewards and penalties",
        "total_reward": "Total reward",
        "total_fine": "Total fine",
        "none": "no reward, no penalty",
        "sanction": "Sanction",
        "largest": "Largest deductions",
        "reads": "read",
        "evidence": "evidence",
        "yuan": "yuan",
        "kept_score": "(score before the veto is kept)",
        "fired": "holds",
        "not_fired": "does not hold",
        "lets": "Derived values",
    },
}


def _fmt(value: object) -> str:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return f"[{len(value)}]"
    return str(value)


def _cite(citation: str | None) -> str:
    return f"〔{citation}〕" if citation else ""


def explain(result: Result, lang: str = "zh", full: bool = True) -> str:
    if lang not in _TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
    t = _TEXT[lang]
    policy = result._policy.checked
    header = policy.header
    lines: list[str] = []
    title = f"{t['title']}：{result.name or result.unit_id}" if lang == "zh" else f"{t['title']}: {result.name or result.unit_id}"
    lines.append(title)
    lines.append("=" * 40)
    sep = "：" if lang == "zh" else ": "
    lines.append(f"{t['unit']}{sep}{result.name or ''} ({result.unit_id})")
    category = policy.categories[result.category]
    lines.append(f"{t['category']}{sep}{category.label or category.name}")
    doc = f" {header.document}" if header.document else ""
    lines.append(f"{t['policy']}{sep}{header.label or header.name}{doc}")
    lines.append(f"{t['score']}{sep}{plain(result.score)} / {plain(result.total)} {t['points']}")
    if result.vetoed:
        lines.append(f"{t['rating']}{sep}{result.rating_label} — {t['vetoed_by']} {result.rating_label} "
                     f"{t['kept_score']} {_cite(policy.ratings.cite)}")
        lines.append(f"{t['band']}{sep}{policy.rating_label(result.band or '')} {_cite(result.band_citation)}")
    else:
        lines.append(f"{t['rating']}{sep}{result.rating_label} {_cite(result.band_citation)}")
    lines.append("")
    # vetoes
    lines.append(f"{t['veto']}:" if lang == "en" else f"{t['veto']}：")
    if not result.vetoes:
        lines.append(f"  {t['veto_none']}")
    for hit in result.vetoes:
        lines.append(f"  ✗ {hit.label or hit.name} {_cite(hit.citation)}")
        for item in hit.evidence:
            lines.append(f"      {t['evidence']}: {_record(item)}")
        if not hit.evidence and hit.facts:
            lines.append(f"      {t['reads']}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in hit.facts.items()))
    for hit in result.excepted:
        lines.append(f"  ○ {hit.label or hit.name} {_cite(hit.citation)} — {t['excepted']}: {hit.exception}")
    for deferral in result.deferred:
        to = t["deferred_to"].format(to=deferral.to or "?")
        lines.append(f"  → {t['deferred']}: {deferral.label or deferral.name} {_cite(deferral.citation)}, {to}")
        for item in deferral.items:
            lines.append(f"      {_record(item)}")
    lines.append("")
    if full:
        trace = result.trace
        lets = [e for e in trace.events if e.kind == "let"]
        if lets:
            lines.append(f"{t['lets']}:" if lang == "en" else f"{t['lets']}：")
            for e in lets:
                lines.append(f"  {e.label or e.id} = {_fmt(e.value)} {_cite(e.citation)}")
            lines.append("")
        lines.append(f"{t['sections']}:" if lang == "en" else f"{t['sections']}：")
        for event in trace.events:
            if event.kind == "section":
                _section_lines(event, lines, t, 1)
        lines.append("")
    else:
        lost = sorted((tr for tr in result.targets if tr.lost > 0), key=lambda tr: (-tr.lost, tr.name))[:5]
        if lost:
            lines.append(f"{t['largest']}:" if lang == "en" else f"{t['largest']}：")
            for tr in lost:
                lines.append(f"  -{plain(tr.lost)} {tr.label or tr.name} {_cite(tr.citation)}")
            lines.append("")
    # money
    c = result.consequences
    lines.append(f"{t['money']}:" if lang == "en" else f"{t['money']}：{_cite(c.citation)}")
    if c.kind == "none" and not c.sanctions:
        lines.append(f"  {t['none']}" + "".join(f"（{n}）" for n in c.notes if n != t["none"]))
    for item in c.items:
        if item.kind == "sanction":
            lines.append(f"  {t['sanction']}: {item.label or item.name}")
        else:
            lines.append(f"  {item.label or item.name}: {item.amount} {t['yuan']}")
    if c.kind != "none":
        key = "total_reward" if c.kind == "reward" else "total_fine"
        lines.append(f"  {t[key]}: {c.total} {t['yuan']}")
    return "\n".join(lines).rstrip() + "\n"


def _section_lines(event: TraceEvent, lines: list[str], t: dict[str, str], depth: int) -> None:
    pad = "  " * depth
    points = event.detail.get("points", "")
    lines.append(f"{pad}{event.label or event.id}  {_fmt(event.value)}/{points} {_cite(event.citation)}")
    for child in event.children:
        if child.kind == "section":
            _section_lines(child, lines, t, depth + 1)
        elif child.kind == "target":
            tp = child.detail.get("points", "")
            lines.append(f"{pad}  • {child.label or child.id}  {_fmt(child.value)}/{tp} {_cite(child.citation)}")
            for rule in child.children:
                deduction = rule.value
                if isinstance(deduction, Decimal) and deduction > 0:
                    reads = ", ".join(f"{k}={_fmt(v)}" for k, v in rule.reads.items())
                    lines.append(f"{pad}      {t['deduct']} {plain(deduction)} ({rule.label}"
                                 + (f"; {reads}" if reads else "") + f") {_cite(rule.citation)}")


def _record(item: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in item.items()) + "}"
