"""Policies and results as HTML tables, for notebooks (issue #15): ``Policy._repr_html_``, ``Result._repr_html_``.

Why a module: Jupyter shows an object by its ``_repr_html_``, so a policy or a result in a cell reads as
tables — the categories and their budgets, the sections tree, the bands and vetoes of a policy; the score,
rating, vetoes, sections, consequences and the explanation (one row per line, its clause citation in a
column of its own) of a result.

Two rules hold everywhere here:

* **everything shown is escaped** (:func:`html.escape`, quotes too): labels, citations, names and fact
  values are the policy author's and the clerk's text, and a label ``<script>`` must show as text;
* **no external assets**: one small inline ``<style>`` scoped to the ``kaohe`` class, no script, no
  link, no image — a notebook saved and opened offline, or sanitised by a viewer, shows the same tables.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from .explain import Result as ExplainedResult
from .explain import effect_lines
from .trace import plain_decimal

if TYPE_CHECKING:
    from ..language.model import CheckedPolicy, SectionInfo
    from .program import Program


class ShownResult(ExplainedResult, Protocol):
    """What the HTML of a result reads (:class:`~kaohe_rules.runtime.result.Result` is one; a protocol, so
    this module does not import ``result``, which imports it)."""

    def explain(self, lang: str = "zh", full: bool = True) -> str: ...

STYLE = ("<style>.kaohe table{border-collapse:collapse;margin:.3em 0 .8em 0}"
         ".kaohe th,.kaohe td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
         ".kaohe th{background:#f3f3f3}.kaohe td.n{text-align:right;font-variant-numeric:tabular-nums}"
         ".kaohe caption{text-align:left;font-weight:bold}.kaohe summary{cursor:pointer;font-weight:bold}</style>")

#: a result's sections table longer than this starts folded (Karamay's has 80 targets): the summary stays in view
FOLDED_ROWS = 20
#: a line of an explanation ending in its clause citation (``explain.cite``: 〔四(二)〕)
_CITED = re.compile(r"(.*?)\s*〔([^〔〕]*)〕\s*")


def esc(value: object) -> str:
    """A value as escaped HTML text (None as an em dash, Decimals without exponent)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, (Decimal, int)):
        return html.escape(plain_decimal(value))
    return html.escape(str(value), quote=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, caption: str | None = None,
          numeric: Sequence[int] = ()) -> str:
    """One HTML table; every header and cell escaped here (cells may be ``Markup`` already escaped)."""
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr>")
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            text = cell.text if isinstance(cell, Markup) else esc(cell)
            cells.append(f'<td class="n">{text}</td>' if index in numeric else f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


class Markup:
    """Cell text escaped already (built here from escaped parts): :func:`table` puts it in as it is."""

    def __init__(self, text: str) -> None:
        self.text = text


def indented(depth: int, text: object) -> Markup:
    """A cell indented by ``depth`` levels (a section inside a section)."""
    return Markup(f'<span style="padding-left:{depth * 1.2:.1f}em">{esc(text)}</span>')


def _box(body: Sequence[str]) -> str:
    return '<div class="kaohe">' + STYLE + "".join(body) + "</div>"


def _details(summary: str, body: str, *, opened: bool = False) -> str:
    return f"<details{' open' if opened else ''}><summary>{esc(summary)}</summary>{body}</details>"


# ------------------------------------------------------------------ policy
def policy_html(program: Program) -> str:
    """A policy as tables: its header, categories with budgets, each category's sections tree, the bands
    of each rating per category, the vetoes."""
    checked = program.checked
    header = checked.header
    body = [f"<h3>{esc(header.label or header.name)}</h3>",
            table(("办法 policy", "文号 document", "发布 issuer", "版本 hash"),
                  [(header.name, header.document, header.issuer, program.content_hash[:12])])]
    body.append(table(("类别 category", "名称 label", "满分 total", "最高 maximum", "依据 cite"),
                      [(name, info.label, info.total, checked.plans[name].maximum, info.cite)
                       for name, info in checked.categories.items()],
                      caption="类别 / categories", numeric=(2, 3)))
    for name, info in checked.categories.items():
        rows = [(indented(len(s.path) - 1, s.label or s.name), _points(s), s.cite) for s in info.all_sections()]
        body.append(_details(f"{info.label or name}: 考核项目 / sections",
                             table(("项目 section", "分值 points", "依据 cite"), rows, numeric=(1,))))
    body.append(_bands(checked))
    vetoes = [(v.label or v.name, ", ".join(v.categories) or "*", _effect(checked, v.effect), v.cite)
              for v in checked.vetoes]
    if vetoes:
        body.append(table(("否决 veto", "类别 categories", "后果 effect", "依据 cite"), vetoes,
                          caption="一票否决 / vetoes"))
    return _box(body)


def _points(section: SectionInfo) -> str:
    if section.bonus:
        return f"+{plain_decimal(section.cap)} (加分 bonus)" if section.cap is not None else "+ (加分 bonus)"
    return plain_decimal(section.points)


def _bands(checked: CheckedPolicy) -> str:
    """Ratings down the side, categories across: each band's score interval and citation."""
    categories = list(checked.plans)
    rows: list[list[object]] = []
    for rating in checked.ratings.ratings:
        row: list[object] = [rating.label or rating.name]
        for category in categories:
            band = next((b for b in checked.plans[category].bands if b.rating == rating.name), None)
            row.append(None if band is None else band.describe() + (f" 〔{band.cite}〕" if band.cite else ""))
        rows.append(row)
    return table(("等次 rating", *(checked.categories[c].label or c for c in categories)), rows,
                 caption="等次与分数段 / ratings and bands")


def _effect(checked: CheckedPolicy, effect: object) -> str:
    if effect is None:
        return f"一票否决 → {checked.rating_label(checked.ratings.vetoed)}"
    kind = getattr(effect, "kind", "")
    rating = getattr(effect, "rating", None)
    return f"then {kind} {checked.rating_label(rating)}" if rating else f"then {kind}"


# ------------------------------------------------------------------ result
def result_html(result: ShownResult, lang: str = "zh") -> str:
    """A result as tables: the summary, fired vetoes and rating effects, the sections and targets, the
    consequences, and the explanation (folded), one row per line with its citation apart."""

    checked = result.program.checked
    category = checked.categories[result.category]
    body = [f"<h3>{esc(result.name or result.unit_id)}</h3>",
            table(("单位 unit", "类别 category", "得分 score", "等次 rating", "按分数 band", "否决 vetoed"),
                  [(result.unit_id, category.label or result.category,
                    f"{plain_decimal(result.score)} / {plain_decimal(result.total)}", result.rating_label,
                    checked.rating_label(result.band) if result.band else None, result.vetoed)])]
    if result.vetoes:
        body.append(table(("否决 veto", "依据 cite", "证据 evidence"),
                          [(v.label or v.name, v.citation, len(v.evidence) or None) for v in result.vetoes],
                          caption="一票否决 / vetoes"))
    if result.effects:
        body.append(table(("等次调整 effect",), [(line,) for line in effect_lines(result, lang)]))
    rows: list[Sequence[object]] = []
    for section in result.sections.values():
        rows.append((indented(section.depth - 1, section.label or section.name),
                     f"{plain_decimal(section.score)} / {plain_decimal(section.points)}", section.citation))
        for target in section.targets:
            rows.append((indented(section.depth, "• " + (target.label or target.name)),
                         f"{plain_decimal(target.score)} / {plain_decimal(target.points)}", target.citation))
    body.append(_details("考核项目 / sections", table(("项目 section", "得分 score", "依据 cite"), rows,
                                                      numeric=(1,)), opened=len(rows) <= FOLDED_ROWS))
    money = [(f"{_KINDS.get(item.kind, item.kind)} {item.kind}", item.label or item.name, None if item.kind == "sanction" else item.amount, item.citation)
             for consequences in (result.consequences, *result.general_consequences)
             for item in consequences.items]
    if money:
        body.append(table(("类型 kind", "项目 item", "金额（元） amount", "依据 cite"), money,
                          caption=f"奖惩 / consequences ({result.rating_label})", numeric=(2,)))
    lines = explanation_rows(result.explain(lang=lang))
    body.append(_details("说明 / explanation", table(("说明 explanation", "依据 cite"), lines)))
    return _box(body)


_KINDS = {"reward": "奖励", "fine": "罚款", "share": "分配", "sanction": "处理"}


def explanation_rows(text: str) -> list[tuple[Markup, str | None]]:
    """The lines of an explanation as (indented line, citation): the citation a line ends in (〔…〕) goes to
    its own column; rules of ``=`` and blank lines are dropped.  A line whose citation is not at its end
    keeps it in its text — nothing is ever cut off."""
    rows: list[tuple[Markup, str | None]] = []
    for line in text.splitlines():
        if not line.strip() or set(line.strip()) == {"="}:
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        match = _CITED.fullmatch(line.strip())
        text_part, citation = (match.group(1), match.group(2)) if match else (line.strip(), None)
        rows.append((indented(depth, text_part), citation))
    return rows
