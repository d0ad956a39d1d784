"""Inline SVG charts of scores against band edges (no scripts, no external assets).

A dot per unit on a horizontal score axis, over coloured band regions, with the
band edges drawn and labelled: the picture answers "how close to the next band
is each unit" at a glance, which a table does not.  Above ``MAX_DOTS`` units
the dots become a histogram.  Every text is escaped; the output is a fragment
that the HTML report embeds.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from ..language.model import BandInfo
from ..runtime.trace import plain_decimal

MAX_DOTS = 40
# best band first: green, blue, amber, red (then greys for longer rating lists)
BAND_COLOURS = ("#2e7d32", "#1565c0", "#ef6c00", "#c62828", "#616161", "#9e9e9e")
BAND_FILLS = ("#e8f5e9", "#e3f2fd", "#fff3e0", "#ffebee", "#f5f5f5", "#fafafa")


def colour_index(index: int, count: int) -> int:
    """The colour of the index-th of ``count`` ratings: the best green, the worst red, blue/amber between."""
    if count > 1 and index == count - 1:
        return 3
    return min(index, 2)


@attrs.frozen
class Dot:
    label: str
    score: Decimal
    rating_index: int  # index of the rating the unit received (0 = best)
    vetoed: bool


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _text_width(text: str, size: float) -> float:
    """Approximate rendered width: CJK characters are square, others about half as wide."""
    import unicodedata

    return sum(size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.55 for ch in text)


def score_domain(bands: Sequence[BandInfo], scores: Sequence[Decimal], total: Decimal) -> tuple[Decimal, Decimal]:
    """From a round number below the lowest interesting point (a score or an upper band's edge) to the total."""
    edges = sorted(b.low for b in bands if b.low > 0)
    lowest = min(list(scores) + edges[:1] + [total])
    span = total - lowest
    step = Decimal(10) ** max(len(str(int(total))) - 2, 0)  # 1000 → 100; 600 → 10s
    step = max(step, Decimal(1))
    low = ((lowest - span * Decimal("0.1")) / step).to_integral_value(rounding=ROUND_FLOOR) * step
    if low < 0 or total - low < 0:
        low = Decimal(0)
    high = (total / step).to_integral_value(rounding=ROUND_CEILING) * step
    return low, max(high, total)


def score_chart(bands: Sequence[BandInfo], rating_order: Sequence[str], labels: dict[str, str], total: Decimal,
                dots: Sequence[Dot], title: str, axis_note: str = "") -> str:
    """An SVG dot plot (or histogram, for many units) of ``dots`` over the band regions."""
    if len(dots) > MAX_DOTS:
        return _histogram(bands, rating_order, labels, total, dots, title, axis_note)
    size = 12.0
    left = max([_text_width(d.label, size) for d in dots] + [60.0]) + 24
    left = min(left, 320.0)
    width, right, top, row = 900.0, 60.0, 58.0, 22.0
    height = top + row * max(len(dots), 1) + 46
    low, high = score_domain(bands, [d.score for d in dots], total)
    plot = width - left - right

    def x(value: Decimal) -> float:
        return left + float((value - low) / (high - low)) * plot if high > low else left

    parts = _frame(width, height, title)
    parts.extend(_regions(bands, rating_order, labels, low, high, x, top, height - 46))
    ordered = sorted(dots, key=lambda d: (-d.score, d.label))
    for index, dot in enumerate(ordered):
        y = top + row * index + row / 2
        colour = BAND_COLOURS[colour_index(dot.rating_index, len(rating_order))]
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 8:.1f}" y="{y + 4:.1f}" text-anchor="end" class="unit">{_esc(dot.label)}</text>')
        cx = x(dot.score)
        parts.append(f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="6" fill="{colour}" class="dot">'
                     f'<title>{_esc(dot.label)}: {plain_decimal(dot.score)}</title></circle>')
        if dot.vetoed:
            parts.append(f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="9.5" fill="none" stroke="#c62828" '
                         f'stroke-width="2" class="vetoed"/>')
        parts.append(f'<text x="{cx + 13:.1f}" y="{y + 4:.1f}" class="value">{plain_decimal(dot.score)}'
                     f'{" ✗" if dot.vetoed else ""}</text>')
    parts.extend(_axis(low, high, x, height - 46, left, width - right, axis_note))
    parts.append("</svg>")
    return "\n".join(parts)


def _frame(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{_esc(title)}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">',
        f"<title>{_esc(title)}</title>",
        "<style>.chart text{font-size:12px;fill:#212121}.chart .unit{font-size:12px}.chart .value{font-size:11px;"
        "fill:#424242}.chart .band{font-size:12px;font-weight:600}.chart .edge{stroke:#424242;stroke-width:1;"
        "stroke-dasharray:4 3}.chart .grid{stroke:#eeeeee;stroke-width:1}.chart .tick{font-size:11px;fill:#616161}"
        "</style>",
    ]


def _regions(bands: Sequence[BandInfo], rating_order: Sequence[str], labels: dict[str, str], low: Decimal,
             high: Decimal, x: object, top: float, bottom: float) -> list[str]:
    assert callable(x)
    parts = []
    for band in sorted(bands, key=lambda b: b.low):
        if band.high <= low:
            continue
        index = colour_index(rating_order.index(band.rating), len(rating_order)) if band.rating in rating_order else 4
        x0, x1 = x(max(band.low, low)), x(min(band.high, high))
        fill = BAND_FILLS[index]
        colour = BAND_COLOURS[index]
        parts.append(f'<rect x="{x0:.1f}" y="{top - 6:.1f}" width="{max(x1 - x0, 0):.1f}" '
                     f'height="{bottom - top + 6:.1f}" fill="{fill}" class="region"/>')
        # the rating's short name over its interval: two short lines fit even narrow bands
        label = labels.get(band.rating, band.rating)
        mid = (x0 + x1) / 2
        parts.append(f'<text x="{mid:.1f}" y="{top - 26:.1f}" text-anchor="middle" class="band" '
                     f'fill="{colour}"><title>{_esc(label)}</title>{_esc(band.rating)}</text>')
        parts.append(f'<text x="{mid:.1f}" y="{top - 12:.1f}" text-anchor="middle" class="tick">'
                     f"{_esc(band.describe())}</text>")
        if band.low > low:
            parts.append(f'<line x1="{x0:.1f}" y1="{top - 6:.1f}" x2="{x0:.1f}" y2="{bottom:.1f}" class="edge"/>')
    return parts


def _axis(low: Decimal, high: Decimal, x: object, y: float, left: float, right: float, note: str) -> list[str]:
    assert callable(x)
    parts = [f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="#424242"/>']
    span = high - low
    step = Decimal(1)
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        step = Decimal(candidate)
        if span / step <= 10:
            break
    tick = (low / step).to_integral_value(rounding=ROUND_CEILING) * step
    while tick <= high:
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{y:.1f}" x2="{tx:.1f}" y2="{y + 5:.1f}" stroke="#424242"/>')
        parts.append(f'<text x="{tx:.1f}" y="{y + 18:.1f}" text-anchor="middle" class="tick">'
                     f"{plain_decimal(tick)}</text>")
        tick += step
    if note:
        parts.append(f'<text x="{left:.1f}" y="{y + 36:.1f}" class="tick">{_esc(note)}</text>')
    return parts


def _histogram(bands: Sequence[BandInfo], rating_order: Sequence[str], labels: dict[str, str], total: Decimal,
               dots: Sequence[Dot], title: str, note: str) -> str:
    width, left, right, top, bottom_pad = 900.0, 50.0, 30.0, 58.0, 46.0
    height = 320.0
    low, high = score_domain(bands, [d.score for d in dots], total)
    bins = 30
    size = (high - low) / bins if high > low else Decimal(1)
    counts = [0] * bins
    for dot in dots:
        index = int((dot.score - low) / size) if size else 0
        counts[min(max(index, 0), bins - 1)] += 1
    plot_w = width - left - right
    plot_h = height - top - bottom_pad

    def x(value: Decimal) -> float:
        return left + float((value - low) / (high - low)) * plot_w if high > low else left

    parts = _frame(width, height, title)
    parts.extend(_regions(bands, rating_order, labels, low, high, x, top, height - bottom_pad))
    tallest = max(counts) or 1
    for index, count in enumerate(counts):
        if not count:
            continue
        start = low + size * index
        centre = start + size / 2
        band = next((b for b in bands if b.contains(centre)), None)
        rating = rating_order.index(band.rating) if band is not None and band.rating in rating_order else 0
        colour = BAND_COLOURS[colour_index(rating, len(rating_order))]
        h = plot_h * count / tallest
        x0 = x(start)
        parts.append(f'<rect x="{x0 + 1:.1f}" y="{height - bottom_pad - h:.1f}" width="{max(x(start + size) - x0 - 2, 1):.1f}" '
                     f'height="{h:.1f}" fill="{colour}" class="bar"><title>{plain_decimal(start)}–'
                     f"{plain_decimal(start + size)}: {count}</title></rect>")
    parts.extend(_axis(low, high, x, height - bottom_pad, left, width - right, note))
    parts.append("</svg>")
    return "\n".join(parts)
