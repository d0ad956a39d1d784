"""Reports for one unit and for a batch (the city's 通报), as Markdown and as self-contained HTML.

A report is first built as a list of blocks (headings, paragraphs, tables,
lists, charts) and then rendered, so the Markdown and the HTML say the same
thing.  The HTML page has its CSS inline and its charts as inline SVG: no
script, no font, no image is fetched, and it reads the same offline, printed or
archived.  Everything from the policy or the facts is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..reports.ranked import money
from ..runtime.trace import plain_decimal
from .chart import BAND_COLOURS, Dot, colour_index, score_chart, score_domain
from .whynot import why_not

if TYPE_CHECKING:
    from ..language.model import CheckedPolicy
    from ..policy import Policy
    from ..runtime.ledger import Attribution, LedgerSpec
    from ..runtime.program import Program
    from ..runtime.result import Result


# ------------------------------------------------------------------- blocks
@attrs.frozen
class Heading:
    level: int
    text: str


@attrs.frozen
class Para:
    text: str
    css: str = ""


@attrs.frozen
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()  # right-aligned columns
    css: str = ""
    row_css: tuple[str, ...] = ()  # one class per row ("" for none)


@attrs.frozen
class Bullets:
    items: tuple[str, ...]


@attrs.frozen
class Chart:
    svg: str
    caption: str


Block = Heading | Para | Table | Bullets | Chart

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "batch_title": "{policy} 考核结果通报",
        "unit_title": "{unit} 考核结果",
        "basis": "依据：{policy}{doc}；政策摘要 {hash}",
        "assessed": "共考核 {n} 个单位",
        "not_assessed": "，{n} 个单位因数据问题未能考核",
        "ranking": "排名",
        "rank": "名次", "id": "编号", "unit": "单位", "score": "得分", "band": "分数段", "rating": "评定等次",
        "veto": "一票否决", "money": "奖惩（元）", "deferred": "移交",
        "counts": "各等次单位数",
        "count": "单位数",
        "vetoed_units": "一票否决的单位",
        "no_vetoed": "无一票否决的单位。",
        "reason": "否决事由",
        "evidence": "证据",
        "deferrals": "移交其他规定处理的事项",
        "totals": "奖惩合计",
        "rewards": "奖励合计", "fines": "罚款合计", "net": "奖罚相抵",
        "errors": "未能考核的单位",
        "problem": "问题",
        "chart": "{category}得分分布与等次分数线（满分 {total}）",
        "axis_from": "横轴自 {low} 分起",
        "score_line": "综合评分 {score} / {total} 分；按分数应评 {band}；评定等次 {rating}",
        "vetoed_note": "因一票否决评为{rating}（保留否决前得分）",
        "sections": "分项得分", "section": "分项", "points": "分值",
        "deductions": "扣分明细", "target": "目标", "lost": "扣分", "rule": "扣分规则", "reads": "依据数据",
        "cite": "条款",
        "no_deductions": "各项目标均得满分。",
        "vetoes": "一票否决",
        "fired": "成立", "not_fired": "不成立", "excepted": "例外不否决", "state": "判定",
        "whynot": "距更高等次",
        "lacking": "{label}（{interval}）：还差 {gap} 分；最少恢复 {n} 个目标的失分（+{gain} 分）",
        "blocked": "；但因一票否决，分数达到也评为{rating}",
        "top": "已在最高分数段。",
        "consequences": "奖惩",
        "reported": "报告数值", "further": "其他奖惩（不论等次）", "value": "数值",
        "item": "项目", "amount": "金额（元）",
        "none": "不奖不罚",
        "category_total": "小计",
        "generated": "由 kaohe_rules {version} 生成；每个结果都可用 kaohe explain 逐条解释、用 kaohe replay 复核。",
    },
    "en": {
        "batch_title": "{policy}: ranked results",
        "unit_title": "{unit}: assessment",
        "basis": "Policy: {policy}{doc}; content hash {hash}",
        "assessed": "{n} units assessed",
        "not_assessed": ", {n} not assessed because of bad data",
        "ranking": "Ranking",
        "rank": "Rank", "id": "Id", "unit": "Unit", "score": "Score", "band": "Band", "rating": "Rating",
        "veto": "Veto", "money": "Money (yuan)", "deferred": "Deferred",
        "counts": "Units per rating",
        "count": "Units",
        "vetoed_units": "Vetoed units",
        "no_vetoed": "No unit was vetoed.",
        "reason": "Reason",
        "evidence": "Evidence",
        "deferrals": "Deferred to other rules",
        "totals": "Money",
        "rewards": "Rewards", "fines": "Fines", "net": "Net",
        "errors": "Units not assessed",
        "problem": "Problem",
        "chart": "{category}: scores against the band edges (out of {total})",
        "axis_from": "axis starts at {low}",
        "score_line": "Score {score} / {total}; band by score {band}; rating {rating}",
        "vetoed_note": "vetoed (一票否决): rated {rating}, the score before the veto is kept",
        "sections": "Sections", "section": "Section", "points": "Points",
        "deductions": "Deductions", "target": "Target", "lost": "Lost", "rule": "Rule", "reads": "Read",
        "cite": "Clause",
        "no_deductions": "Full points on every target.",
        "vetoes": "Vetoes",
        "fired": "applies", "not_fired": "does not apply", "excepted": "exception, not vetoed", "state": "Status",
        "whynot": "Towards a better band",
        "lacking": "{label} ({interval}): {gap} pts lacking; restoring at least {n} target loss(es) (+{gain})",
        "blocked": "; a veto keeps the rating at {rating} anyway",
        "top": "Already in the best band.",
        "consequences": "Rewards and penalties",
        "reported": "Reported values", "further": "Further consequences (whatever the rating)", "value": "Value",
        "item": "Item", "amount": "Amount (yuan)",
        "none": "no reward, no penalty",
        "category_total": "Subtotal",
        "generated": "Generated by kaohe_rules {version}; every result can be explained clause by clause "
                     "(kaohe explain) and checked again (kaohe replay).",
    },
}


def _t(lang: str) -> dict[str, str]:
    if lang not in _TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
    return _TEXT[lang]


def _signed(result: Result) -> str:
    c = result.consequences
    if c.kind == "reward":
        return "+" + money(c.total)
    if c.kind == "fine":
        return "-" + money(c.total)
    return "—"


def _cite(citation: str | None) -> str:
    return f"〔{citation}〕" if citation else ""


def _policy_line(policy: Policy | Program, t: dict[str, str]) -> str:
    header = policy.checked.header
    doc = f"（{header.document}）" if header.document else ""
    return t["basis"].format(policy=header.label or header.name, doc=doc, hash=policy.content_hash[:16])


def _chart(policy: Policy | Program, category: str, results: Sequence[Result], t: dict[str, str]) -> Chart:
    checked = policy.checked
    plan = checked.plans[category]
    order = [r.name for r in checked.ratings.ratings]
    labels = {r.name: r.label or r.name for r in checked.ratings.ratings}
    info = checked.categories[category]
    dots = [Dot(r.name or r.unit_id, r.score, order.index(r.rating), r.vetoed) for r in results]
    low, _ = score_domain(plan.bands, [d.score for d in dots], info.total)
    title = t["chart"].format(category=info.label or category, total=plain_decimal(info.total))
    note = t["axis_from"].format(low=plain_decimal(low)) if low > 0 else ""
    return Chart(score_chart(plan.bands, order, labels, info.total, dots, title, note), title)


# ------------------------------------------------------------------- batch
def batch_blocks(policy: Policy | Program, results: Sequence[Result], errors: Sequence[Mapping[str, Any]],
                 lang: str = "zh", attribution: Attribution | None = None,
                 unreadable: Sequence[tuple[str, int, str, str]] = ()) -> list[Block]:
    """The 通报: per category a ranking, a chart and the band counts; vetoes, deferrals, money, errors.

    With the batch's ``attribution`` (a policy with ledgers, issue #16), a 台账归属 section
    before the errors: :func:`ledger_blocks`.
    """
    from .._version import __version__

    t = _t(lang)
    checked = policy.checked
    header = checked.header
    blocks: list[Block] = [Heading(1, t["batch_title"].format(policy=header.label or header.name))]
    blocks.append(Para(_policy_line(policy, t), "meta"))
    summary = t["assessed"].format(n=len(results)) + (t["not_assessed"].format(n=len(errors)) if errors else "")
    blocks.append(Para(summary + ("。" if lang == "zh" else ".")))
    for category, info in checked.categories.items():
        order = {rating.name: i for i, rating in enumerate(checked.ratings.ratings)}
        # like the CLI's 通报: by rating first (a vetoed unit ranks with its rating), then by score
        rows_in = sorted((r for r in results if r.category == category),
                         key=lambda r: (order[r.rating], -r.score, r.unit_id))
        if checked.cohort is not None:  # issue #11 C: by the cohort rank, the units not ranked after
            rows_in.sort(key=lambda r: (_cohort_rank(r) is None, _cohort_rank(r) or 0))
        if not rows_in:
            continue
        blocks.append(Heading(2, f"{info.label or category}（{plain_decimal(info.total)}）" if lang == "zh"
                              else f"{info.label or category} (out of {plain_decimal(info.total)})"))
        blocks.append(_chart(policy, category, rows_in, t))
        rows: list[tuple[str, ...]] = []
        css: list[str] = []
        for rank, r in enumerate(rows_in, 1):
            vetoes = "；".join(f"{v.label or v.name}{_cite(v.citation)}" for v in r.vetoes)
            deferred = "；".join(f"{d.label or d.name} → {d.to}" if d.to else f"{d.label or d.name}" for d in r.deferred)
            reported = tuple(_scalar(v.value) for v in r.reported.values()) if checked.reported else ()
            reported += period_row(r)  # issue #11 P: each period's score and rating (none without periods)
            if checked.cohort is not None:  # the 名次 column is the cohort rank ("—": not ranked)
                place = _cohort_rank(r)
                shown_rank = str(place) if place is not None else "—"
            else:
                shown_rank = str(rank)
            rows.append((shown_rank, r.unit_id, r.name or "", plain_decimal(r.score),
                         r.band or "—", r.rating_label, vetoes or "—",
                         _signed(r), deferred or "—", *reported))
            css.append(f"rating-{checked.rating_index(r.rating)}-of-{len(checked.ratings.ratings)}"
                       + (" vetoed" if r.vetoed else ""))
        reported_heads = tuple(checked.lets[n].label or n for n in checked.reported)  # issue #10: reported lets
        reported_heads += period_heads(checked, lang)
        blocks.append(Table((t["rank"], t["id"], t["unit"], t["score"], t["band"], t["rating"], t["veto"],
                             t["money"], t["deferred"], *reported_heads), tuple(rows), numeric=(0, 3, 7),
                            css="ranking",
                            row_css=tuple(css)))
        counts: list[tuple[str, ...]] = []
        for rating in checked.ratings.ratings:
            n = sum(1 for r in rows_in if r.rating == rating.name)
            counts.append((rating.label or rating.name, str(n)))
        blocks.append(Table((t["rating"], t["count"]), tuple(counts), numeric=(1,), css="counts"))
    # vetoed units with reasons
    blocks.append(Heading(2, t["vetoed_units"]))
    vetoed = [r for r in results if r.vetoed]
    if not vetoed:
        blocks.append(Para(t["no_vetoed"]))
    else:
        rows = []
        for r in sorted(vetoed, key=lambda r: r.unit_id):
            for v in r.vetoes:
                evidence = "；".join(_evidence(e) for e in v.evidence) or _facts(v.facts)
                rows.append((r.unit_id, r.name or "", f"{v.label or v.name}", v.citation or "", evidence))
        blocks.append(Table((t["id"], t["unit"], t["reason"], t["cite"], t["evidence"]), tuple(rows), css="vetoes"))
    handed = [(r, d) for r in results for d in r.deferred]
    if handed:
        blocks.append(Heading(2, t["deferrals"]))
        rows = [(r.unit_id, r.name or "", d.label or d.name, d.citation or "", d.to or "",
                 "；".join(_evidence(i) for i in d.items)) for r, d in handed]
        blocks.append(Table((t["id"], t["unit"], t["reason"], t["cite"], t["deferred"], t["evidence"]),
                            tuple(rows), css="deferrals"))
    # money
    blocks.append(Heading(2, t["totals"]))
    rows = []
    all_rewards = all_fines = Decimal("0.00")
    for category, info in checked.categories.items():
        members = [r for r in results if r.category == category]
        if not members:
            continue
        rewards = sum((r.consequences.total for r in members if r.consequences.kind == "reward"), Decimal("0.00"))
        fines = sum((r.consequences.total for r in members if r.consequences.kind == "fine"), Decimal("0.00"))
        all_rewards += rewards
        all_fines += fines
        rows.append((info.label or category, money(rewards), money(fines), money(rewards - fines)))
    rows.append((t["category_total"], money(all_rewards), money(all_fines), money(all_rewards - all_fines)))
    blocks.append(Table(("", t["rewards"], t["fines"], t["net"]), tuple(rows), numeric=(1, 2, 3), css="money",
                        row_css=tuple([""] * (len(rows) - 1) + ["total"])))
    if attribution is not None:
        blocks.extend(ledger_blocks(policy, attribution, lang, unreadable))
    if errors:
        blocks.append(Heading(2, t["errors"]))
        rows = []
        for entry in errors:
            problems = "；".join(_problem(p) for p in entry.get("problems", []))
            rows.append((str(entry.get("location") or ""), str(entry.get("unit") or ""), problems))
        blocks.append(Table(("", t["id"], t["problem"]), tuple(rows), css="errors"))
    blocks.append(Para(t["generated"].format(version=__version__), "meta"))
    return blocks


def _evidence(item: Mapping[str, object]) -> str:
    shown = {k: v for k, v in item.items() if not isinstance(v, bool) or v}
    return "，".join(f"{k}：{_scalar(v)}" for k, v in shown.items())


def _facts(facts: Mapping[str, object]) -> str:
    return "，".join(f"{k}={_scalar(v)}" for k, v in facts.items() if not isinstance(v, (list, tuple)))


def _scalar(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _problem(problem: Mapping[str, object]) -> str:
    text = str(problem.get("message", ""))
    if problem.get("fact"):
        text = f"{problem['fact']}: {text}"
    return text


# -------------------------------------------------------------------- unit
def unit_blocks(result: Result, lang: str = "zh") -> list[Block]:
    """One unit: headline and chart, vetoes, sections, every deduction with its reason, why-not, money."""
    from .._version import __version__

    t = _t(lang)
    policy = result.program
    checked = policy.checked
    trace = result.trace
    blocks: list[Block] = [Heading(1, t["unit_title"].format(unit=f"{result.name or result.unit_id}"))]
    blocks.append(Para(f"{result.unit_id} · {checked.categories[result.category].label or result.category}", "meta"))
    blocks.append(Para(_policy_line(policy, t), "meta"))
    band = checked.rating_label(result.band) if result.band else "—"
    blocks.append(Para(t["score_line"].format(score=plain_decimal(result.score), total=plain_decimal(result.total),
                                              band=band, rating=result.rating_label), "headline"))
    if result.vetoed:
        blocks.append(Para(t["vetoed_note"].format(rating=result.rating_label) + _cite(checked.ratings.cite), "alert"))
    blocks.append(_chart(policy, result.category, [result], t))
    # vetoes
    blocks.append(Heading(2, t["vetoes"]))
    rows: list[tuple[str, ...]] = []
    for veto in trace.of_kind("veto"):
        state = t["fired"] if veto.value else t["excepted"] if veto.detail.get("condition") else t["not_fired"]
        evidence = veto.detail.get("evidence")
        shown = "；".join(_evidence(e) for e in evidence) if isinstance(evidence, list) else ""
        rows.append((veto.label or veto.id, veto.citation or "", state, shown))
    blocks.append(Table((t["veto"], t["cite"], t["state"], t["evidence"]), tuple(rows), css="vetoes",
                        row_css=tuple("vetoed" if v.value else "" for v in trace.of_kind("veto"))))
    if result.deferred:
        blocks.append(Heading(2, t["deferrals"]))
        blocks.append(Bullets(tuple(f"{d.label or d.name}{_cite(d.citation)}{f' → {d.to}' if d.to else ''}：" +
                                    "；".join(_evidence(i) for i in d.items) for d in result.deferred)))
    # sections
    blocks.append(Heading(2, t["sections"]))
    rows = [("　" * (s.depth - 1) + (s.label or s.name), plain_decimal(s.score), plain_decimal(s.points),
             s.citation or "") for s in result.sections.values()]
    blocks.append(Table((t["section"], t["score"], t["points"], t["cite"]), tuple(rows), numeric=(1, 2),
                        css="sections"))
    # deductions
    blocks.append(Heading(2, t["deductions"]))
    rows = []
    for target in trace.of_kind("target"):
        lost = target.detail.get("lost")
        if not isinstance(lost, Decimal) or lost <= 0:
            continue
        for rule in target.children:
            if isinstance(rule.value, Decimal) and rule.value > 0:
                reads = "，".join(f"{k}={_short(v)}" for k, v in rule.reads.items())
                rows.append((target.label or target.id, plain_decimal(rule.value), rule.text or "", reads,
                             rule.citation or ""))
    if rows:
        rows.sort(key=lambda row: -Decimal(row[1]))
        blocks.append(Table((t["target"], t["lost"], t["rule"], t["reads"], t["cite"]), tuple(rows), numeric=(1,),
                            css="deductions"))
    else:
        blocks.append(Para(t["no_deductions"]))
    # why not
    blocks.append(Heading(2, t["whynot"]))
    answer = why_not(result)
    if not answer.goals:
        blocks.append(Para(t["top"]))
    items = []
    for goal in answer.goals:
        if goal.targets is None:
            continue
        text = t["lacking"].format(label=goal.label, interval=goal.interval, gap=plain_decimal(goal.lacking),
                                   n=len(goal.targets.items), gain=plain_decimal(goal.targets.gain))
        if goal.blocked:
            text += t["blocked"].format(rating=checked.rating_label(answer.vetoed_rating))
        items.append(text)
    if items:
        blocks.append(Bullets(tuple(items)))
    # money
    c = result.consequences
    blocks.append(Heading(2, t["consequences"] + (f" {_cite(c.citation)}" if c.citation else "")))
    if not c.items:
        blocks.append(Para(t["none"] + "".join(f"（{n}）" for n in c.notes)))
    else:
        rows = [(i.label or i.name, money(i.amount) if i.amount is not None else "—") for i in c.items]
        blocks.append(Table((t["item"], t["amount"]), tuple(rows), numeric=(1,), css="money"))
    blocks.extend(_issue10_unit_blocks(result, t))
    blocks.extend(charged_blocks(result, lang))  # issue #16: nothing for a policy without ledgers
    blocks.append(Para(t["generated"].format(version=__version__), "meta"))
    return blocks


def _issue10_unit_blocks(result: Result, t: dict[str, str]) -> list[Block]:
    """Reported lets and the outcomes for every rating (issue #10); nothing for a policy without them."""
    blocks: list[Block] = []
    further = [i for c in result.general_consequences for i in c.items]
    if further:
        blocks.append(Heading(2, t["further"]))
        rows = [((i.label or i.name) + _cite(i.citation), money(i.amount) if i.amount is not None else "—")
                for i in further]
        blocks.append(Table((t["item"], t["amount"]), tuple(rows), numeric=(1,), css="money"))
    if result.reported:
        blocks.append(Heading(2, t["reported"]))
        rows = [((r.label or r.name) + _cite(r.citation), _scalar(r.value)) for r in result.reported.values()]
        blocks.append(Table((t["item"], t["value"]), tuple(rows), css="reported"))
    if result.periods:  # issue #11 P: the per-period table
        zh = t["score"] == "得分"
        blocks.append(Heading(2, "分期考核" if zh else "Periods"))
        table: list[tuple[str, ...]] = [(p.label or p.name, f"{plain_decimal(p.weight)}%", plain_decimal(p.score),
                                         p.rating_label, plain_decimal(p.weighted)) for p in result.periods]
        table.append(("合计" if zh else "Total", f"{plain_decimal(sum((p.weight for p in result.periods), Decimal(0)))}%",
                     "", "", plain_decimal(result.raw_score)))
        heads = ("期别", "权重", "得分", "等次", "折算得分") if zh else ("Period", "Weight", "Score", "Rating", "Weighted")
        blocks.append(Table(heads, tuple(table), numeric=(1, 2, 4), css="periods"))
    return blocks


def period_heads(checked: CheckedPolicy, lang: str) -> tuple[str, ...]:
    """The period columns of the ranking (issue #11 P): each period's score and rating."""
    if checked.periods is None:
        return ()
    out: list[str] = []
    for item in checked.periods.items:
        shown = item.label or item.name
        out += [f"{shown}得分", f"{shown}等次"] if lang == "zh" else [f"{shown} score", f"{shown} rating"]
    return tuple(out)


def period_row(result: Result) -> tuple[str, ...]:
    out: list[str] = []
    for period in result.periods:
        out += [plain_decimal(period.score), period.rating_label]
    return tuple(out)


def _short(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return f"[{len(value)}]"
    return _scalar(value)


# ---------------------------------------------------------------- rendering
def to_markdown(blocks: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown; charts are left out (the band counts and scores are in the tables)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + _md(block.text))
        elif isinstance(block, Para):
            out.append(f"*{_md(block.text)}*" if block.css == "meta" else
                       f"**{_md(block.text)}**" if block.css in ("headline", "alert") else _md(block.text))
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_md(h) for h in block.headers) + " |")
            out.append("|" + "|".join("---:" if i in block.numeric else "---" for i in range(len(block.headers))) + "|")
            for row in block.rows:
                out.append("| " + " | ".join(_md(c) for c in row) + " |")
        elif isinstance(block, Bullets):
            out.extend(f"- {_md(item)}" for item in block.items)
        elif isinstance(block, Chart):
            continue
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    """Markdown-safe text: table pipes, emphasis and HTML characters escaped, no line breaks."""
    for ch in ("\\", "|", "*", "_", "`", "<", ">", "[", "]"):
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


_CSS = """
:root { color-scheme: light; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei",
       system-ui, sans-serif; margin: 2rem auto; max-width: 1180px; padding: 0 1.5rem; color: #212121; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; border-bottom: 3px solid #c62828; padding-bottom: .4rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-left: 4px solid #1565c0; padding-left: .5rem; }
p.meta { color: #616161; font-size: .9rem; margin: .2rem 0; }
p.headline { font-size: 1.15rem; font-weight: 600; }
p.alert { color: #b71c1c; font-weight: 600; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #e0e0e0; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.vetoed td { background: #ffebee; }
tr.total td { font-weight: 700; border-top: 2px solid #9e9e9e; }
table.ranking td:nth-child(7) { max-width: 24rem; }
table.deductions td:last-child, table.vetoes td:nth-child(2), table.sections td:last-child { white-space: nowrap; }
figure { margin: 1rem 0; overflow-x: auto; }
figcaption { color: #616161; font-size: .85rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 50%; margin-right: .35rem;
          vertical-align: -1px; }
ul { padding-left: 1.4rem; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } table { break-inside: auto; } }
"""


def to_html(blocks: Sequence[Block], lang: str = "zh") -> str:
    """A complete, self-contained HTML5 page (inline CSS and SVG; nothing external)."""
    title = next((b.text for b in blocks if isinstance(b, Heading)), "kaohe")
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            css = f' class="{block.css}"' if block.css else ""
            body.append(f"<p{css}>{_h(block.text)}</p>")
        elif isinstance(block, Table):
            css = f' class="{block.css}"' if block.css else ""
            head = "".join(f'<th{_num(i, block)} scope="col">{_h(h)}</th>' for i, h in enumerate(block.headers))
            rows = []
            for index, row in enumerate(block.rows):
                rcss = block.row_css[index] if index < len(block.row_css) else ""
                rattr = f' class="{rcss}"' if rcss else ""
                cells = "".join(f"<td{_num(i, block)}>{_cell(c, rcss, i)}</td>" for i, c in enumerate(row))
                rows.append(f"<tr{rattr}>{cells}</tr>")
            body.append(f"<table{css}><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_h(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Chart):
            body.append(f"<figure>{block.svg}<figcaption>{_h(block.caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_h(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _num(index: int, table: Table) -> str:
    return ' class="num"' if index in table.numeric else ""


def _cell(text: str, row_css: str, index: int) -> str:
    """Cells are escaped text; the rating column of the ranking gets a colour swatch (class rating-I-of-N)."""
    if index == 5 and row_css.startswith("rating-"):
        _, rating, _, count = row_css.split()[0].split("-")
        colour = BAND_COLOURS[colour_index(int(rating), int(count))]
        return f'<span class="swatch" style="background:{colour}"></span>{_h(text)}'
    return _h(text)


def batch_report(policy: Policy | Program, results: Sequence[Result], errors: Sequence[Mapping[str, Any]],
                 fmt: str = "md", lang: str = "zh", attribution: Attribution | None = None,
                 unreadable: Sequence[tuple[str, int, str, str]] = ()) -> str:
    blocks = batch_blocks(policy, results, errors, lang, attribution, unreadable)
    return to_html(blocks, lang) if fmt == "html" else to_markdown(blocks)


def unit_report(result: Result, fmt: str = "md", lang: str = "zh") -> str:
    blocks = unit_blocks(result, lang)
    return to_html(blocks, lang) if fmt == "html" else to_markdown(blocks)


def _cohort_rank(result: Result) -> int | None:
    """A cohort policy's rank of a result (issue #11 C); None when it is not ranked."""
    standing = result.standing
    return standing.rank if standing is not None else None


# ------------------------------------------------------------------- ledgers (issue #16)
_LEDGER_TEXT: dict[str, dict[str, str]] = {
    "zh": {"title": "台账归属", "rules": "归属规则", "rule": "规则", "kind": "处理", "events": "事件数",
           "charges": "计入单位次数", "removed": "排除和移交的事件", "event": "事件", "shown": "内容",
           "reason": "理由或移交至", "unattributed": "未归属的事件（没有计入任何单位）", "why": "原因",
           "none_unattributed": "每条事件都已计入单位、排除或移交。", "problems": "台账数据问题", "field": "字段",
           "problem": "问题", "attributable": "仍可归属", "yes": "是", "no": "否（可能计入的单位都未能考核）",
           "unit_errors": "因台账未能考核的单位", "excluded": "排除", "handed_over": "移交"},
    "en": {"title": "Ledger attribution", "rules": "Attribution rules", "rule": "Rule", "kind": "Kind",
           "events": "Events", "charges": "Charges to units", "removed": "Excluded and handed-over events",
           "event": "Event", "shown": "Shown", "reason": "Reason or handed to",
           "unattributed": "Unattributed events (charged to no unit)", "why": "Why",
           "none_unattributed": "Every event was charged to a unit, excluded or handed over.",
           "problems": "Ledger problems", "field": "Field", "problem": "Problem", "attributable": "Attributable",
           "yes": "yes", "no": "no (every unit it could reach is not assessed)",
           "unit_errors": "Units not assessed because of a ledger", "excluded": "excluded",
           "handed_over": "handed over"},
}


def ledger_blocks(policy: Policy | Program, attribution: Attribution, lang: str = "zh",
                  unreadable: Sequence[tuple[str, int, str, str]] = ()) -> list[Block]:
    """The 台账归属 section: per ledger its counts; every rule with the events it decided; the excluded and
    handed-over events with their reasons and clauses; EVERY unattributed event with why; the ledger problems
    (a row that could not be read, ``unreadable``: ledger, row, where, why — by its reason, not as missing fields)."""
    from ..reports.ledgers import ledger_counts, problem_message, problem_name, ref_name, rule_counts
    from ..reports.ledgers import texts as ledger_texts

    _t(lang)
    t, lt = _LEDGER_TEXT[lang], ledger_texts(lang)
    specs: Sequence[LedgerSpec] = policy.program.ledgers if hasattr(policy, "program") else policy.ledgers
    blocks: list[Block] = [Heading(2, t["title"])]
    blocks.extend(Para(lt["summary"].format(**attrs.asdict(c)) + ("。" if lang == "zh" else "."))
                  for c in ledger_counts(attribution, specs))
    counts = rule_counts(attribution, specs)
    if counts:
        blocks.append(Heading(3, t["rules"]))
        blocks.append(Table((t["rule"], t["kind"], _t(lang)["cite"], t["events"],
                             t["charges"]),
                            tuple((f"{c.ledger}：{c.label or c.name}" if lang == "zh" else f"{c.ledger}: {c.label or c.name}",
                                   lt[c.kind], c.cite or "", str(c.events),
                                   str(c.charges) if c.kind == "charge" else "")
                                  for c in counts), numeric=(3, 4), css="ledger-rules"))
    if attribution.removed:
        blocks.append(Heading(3, t["removed"]))
        blocks.append(Table((t["event"], t["shown"], t["kind"], t["rule"], t["reason"], _t(lang)["cite"]),
                            tuple((ref_name(r.event, lang), r.event.shown, t[r.kind], r.rule.label or r.rule.name,
                                   (r.reason or "") if r.kind == "excluded" else (r.to or ""), r.rule.cite or "")
                                  for r in attribution.removed), css="ledger-removed"))
    blocks.append(Heading(3, t["unattributed"]))
    if attribution.unattributed:
        blocks.append(Table((t["event"], t["shown"], t["why"]),
                            tuple((ref_name(u.event, lang), u.event.shown, u.why if lang == "zh" else u.why_en)
                                  for u in attribution.unattributed), css="ledger-unattributed"))
    else:
        blocks.append(Para(t["none_unattributed"]))
    unread = {(ledger, row) for ledger, row, _, _ in unreadable}
    problems = [p for p in attribution.problems if (p.ledger, p.row) not in unread]
    if problems or unreadable:
        from ..messages import expected_zh, fact_message_zh
        from ..reports.ledgers import event_name

        blocks.append(Heading(3, t["problems"]))
        rows = [(event_name(ledger, row, None, lang) + f"（{where}）", "",
                 fact_message_zh(why) if lang == "zh" else why, t["no"]) for ledger, row, where, why in unreadable]
        blocks.append(Table((t["event"], t["field"], t["problem"], t["attributable"]),
                            tuple(rows) + tuple((problem_name(p, lang), p.field or "", problem_message(p, lang)
                                   + (f"（应为 {expected_zh(p.expected)}）" if p.expected and lang == "zh" else
                                      f" (expected {p.expected})" if p.expected else ""),
                                   t["yes"] if p.attributable else t["no"])
                                  for p in problems), css="ledger-problems"))
    if attribution.unit_errors:
        blocks.append(Heading(3, t["unit_errors"]))
        blocks.append(Table((_t(lang)["id"], t["problem"]),
                            tuple((unit, "；".join(why)) for unit, why in sorted(attribution.unit_errors.items())),
                            css="ledger-unit-errors"))
    return blocks


def charged_blocks(result: Result, lang: str = "zh") -> list[Block]:
    """A unit report's 计入本单位的台账事件 (issue #16): each event charged, by which rule and clause."""
    if not result.program.ledgers:
        return []
    from ..reports.ledgers import ref_name

    zh = lang == "zh"
    blocks: list[Block] = [Heading(2, "计入本单位的台账事件" if zh else "Ledger events charged to this unit")]
    if not result.from_ledger:
        blocks.append(Para("本单位自报清单（未使用台账）。" if zh else "The unit's own lists (no ledger used)."))
        return blocks
    if not result.charged:
        blocks.append(Para("没有计入本单位的台账事件。" if zh else "No ledger event is charged to this unit."))
        return blocks
    rows = tuple((ref_name(c.event, lang), c.event.shown, "；".join(r.label or r.name for r in c.rules),
                  "；".join(r.cite or "" for r in c.rules)) for c in result.charged)
    blocks.append(Table(("事件", "内容", "归属规则", "条款") if zh else ("Event", "Shown", "Rule", "Clause"), rows,
                        css="charged"))
    return blocks
