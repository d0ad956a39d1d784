"""The ratings and bands pass: the rating scale, and the proof that bands partition scores.

For each category the bands must cover ``[0, total]`` with no gap (K120), no
overlap (K121), nothing outside it (K122), and better ratings higher (K123), so
that every possible score maps to exactly one rating before any unit is seen.
"""

from __future__ import annotations

from decimal import Decimal

from ...source import Span
from .. import ast
from ..model import BandInfo, CategoryInfo
from .api import Context, as_decimal
from .diagnostics import did_you_mean


def check_ratings(ctx: Context) -> None:
    """The pass: ratings listed once each; the vetoed rating is one of them."""
    ratings = ctx.sym.ratings
    if ratings is None:
        return
    names = [r.name for r in ratings.ratings]
    for rating in ratings.ratings:
        if names.count(rating.name) > 1:
            ctx.diag.error("K100", f"rating '{rating.name}' is listed twice", rating.span)
            break
    if ratings.vetoed not in names:
        ctx.diag.error("K125", f"the vetoed rating '{ratings.vetoed}' is not one of the ratings",
                       ratings.vetoed_span, hint=did_you_mean(ratings.vetoed, names))


def check_bands(ctx: Context) -> dict[str, tuple[BandInfo, ...]]:
    """The pass: each category's bands, checked and sorted by score (ascending)."""
    diag, sym = ctx.diag, ctx.sym
    out: dict[str, tuple[BandInfo, ...]] = {}
    names = sym.rating_names()
    for band_category in sym.bands:
        if band_category not in sym.categories:
            diag.error("K112", f"bands for unknown category '{band_category}'", sym.bands[band_category].span,
                       hint=did_you_mean(band_category, sym.categories))
    for name, category in sym.categories.items():
        decl = sym.bands.get(name)
        if decl is None:
            diag.error("K124", f"category '{name}' has no bands", category.span if isinstance(category.span, Span) else None,
                       hint=f"add: bands {name} {{ 优秀 [..., {category.total}] ... }}")
            continue
        infos: list[BandInfo] = []
        for band in decl.bands:
            if names and band.rating not in names:
                diag.error("K125", f"band names unknown rating '{band.rating}'", band.span,
                           hint=did_you_mean(band.rating, names))
                continue
            low = as_decimal(ctx.consts.const(band.low, "a band edge"))
            # an open top band (优秀 >= 90) has no upper edge: +Infinity, never reached
            high = Decimal("Infinity") if band.open_top else as_decimal(ctx.consts.const(band.high, "a band edge"))
            if low is None or high is None:
                continue
            info = BandInfo(band.rating, low, band.low_closed, high, band.high_closed, band.cite or decl.cite, band.span,
                            requires=band.requires)
            if low > high or (low == high and not (band.low_closed and band.high_closed)):
                diag.error("K127", f"band '{band.rating}' {info.describe()} contains no score", band.span,
                           hint="the lower edge must be below the upper edge")
                continue
            infos.append(info)
        infos.sort(key=lambda b: (b.low, not b.low_closed))
        _band_coverage(ctx, name, category, infos, decl)
        out[name] = tuple(infos)
    return out


def _band_coverage(ctx: Context, name: str, category: CategoryInfo, infos: list[BandInfo], decl: ast.BandsDecl) -> None:
    """Prove the bands partition [0, maximum] (the total, or more with bonus points; an open top band
    covers an unbounded maximum) and that better ratings sit higher."""
    if not infos:
        return
    diag = ctx.diag
    total = category.total
    maximum = ctx.maxima.get(name, total)  # with bonus points (加分) above the total, or None: unbounded
    first, last = infos[0], infos[-1]
    reported = False
    for info in infos[:-1]:
        if info.open_top:
            diag.error("K195", f"band '{info.rating}' of '{name}' is open ({info.describe()}) but is not the highest band",
                       info.span, hint="only the best band is open: 优秀 >= 90")
    if maximum is None:
        if not last.open_top:
            diag.error("K196", f"the score of '{name}' has no maximum (an uncapped bonus) but band '{last.rating}' "
                       f"ends at {last.high}", last.span,
                       hint=f"write the best band open: {last.rating} >= {last.low}, or cap the bonus")
        maximum = last.high
    elif maximum != total and not last.open_top and last.high < maximum:
        diag.error("K120", f"no band of '{name}' covers scores from {last.high} up to its maximum {maximum} "
                   f"(the total {total} and bonus points)", last.span,
                   hint=f"end the highest band at {maximum}], or write it open: {last.rating} >= {last.low}")
        reported = True
    what = "the total" if maximum == category.total else "the maximum score"  # with bonus points: above the total
    total = maximum
    if first.low > 0 or (first.low == 0 and not first.low_closed):
        diag.error("K120", f"no band of '{name}' covers scores from 0 up to {first.low}", first.span,
                   hint="the lowest band should start at [0, ...")
    if first.low < 0:
        diag.error("K122", f"band '{first.rating}' of '{name}' starts below 0, where no score can be", first.span)
    if last.open_top or reported:
        pass  # an open band covers everything above its lower edge
    elif last.high < total or (last.high == total and not last.high_closed):
        diag.error("K120", f"no band of '{name}' covers scores from {last.high} up to {what} {total}", last.span,
                   hint=f"the highest band should end at ..., {total}]")
    elif last.high > total:
        diag.error("K122", f"band '{last.rating}' of '{name}' ends at {last.high}, above {what} {total}",
                   last.span, hint=f"end it at {total}]")
    for lower, upper in zip(infos, infos[1:]):
        if lower.high < upper.low or (lower.high == upper.low and not lower.high_closed and not upper.low_closed):
            diag.error("K120", f"scores between {lower.high} and {upper.low} of '{name}' fall in no band",
                       upper.span, hint=f"'{lower.rating}' {lower.describe()} and '{upper.rating}' {upper.describe()} leave a gap")
        elif lower.high > upper.low or (lower.high == upper.low and lower.high_closed and upper.low_closed):
            diag.error("K121", f"bands '{lower.rating}' {lower.describe()} and '{upper.rating}' {upper.describe()} of '{name}' overlap",
                       upper.span, hint="make one edge open: [a, b) then [b, c]")
        if ctx.sym.ratings:
            order = ctx.sym.rating_names()
            if order.index(upper.rating) >= order.index(lower.rating):
                diag.error("K123", f"band '{upper.rating}' sits above '{lower.rating}' but is not a better rating",
                           upper.span, hint="ratings are listed best first in 'ratings'; higher scores need better ratings")
