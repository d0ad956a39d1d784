"""Periods (issue #11 P): the checkpoints within one assessment, and what expressions read of them.

A policy with ``periods { 一季度 weight 25% … }`` is scored once per period (the
*per-period stage*: defers, the lets read before the score, targets, sections) and the
period scores are combined by weight; everything after scoring runs once on the combined
result (the *assessment stage*: post-scoring lets, vetoes, ``requires``, outcomes).  So a
name can mean different things in the two stages, and this module decides, refusing
every reading that could mean two things:

* a ``per period`` fact (and a let, or a deferred list, computed from one) is one value per
  period: read in the per-period stage it is this period's value; read by its bare name in
  the assessment stage it is refused (K243), naming the two readings the author may mean;
* ``period`` is the period being scored (per-period stage only, K244 elsewhere), compared
  with ``==``/``!=`` against a period's name: ``period == 四季度``;
* ``periods`` (the list of period records: ``score``, ``rating``, ``weight`` and every
  ``per period`` fact) and ``一季度.score`` (a period's record) exist only once every
  period is scored: the assessment stage (K244 in a target or defer; a let that reads them
  is a post-scoring let, like one that reads ``score``);
* ``rating`` of a period record and the band names it is compared with compare with
  ``==``/``!=`` only (K245), and a rating name is a value only in a policy with periods.

:class:`PeriodReader` is the ``ctx.periods`` service the expression checker calls (like
``ctx.scores``); :func:`check_periods` is the pass over the block itself (weights, names)
and :func:`check_staging` the pass after the lets (a post-scoring let may not read a
per-period value).  Nothing here runs for a policy without a ``periods`` block, except the
K242 refusal of ``per period`` there.
"""

from __future__ import annotations

from decimal import Decimal

from .. import ast
from ..model import Resolution
from ..types import DECIMAL, ERROR, INT, PERCENT, PERIOD, PERIOD_RECORD, RATING, Type
from .api import Context, Scope
from .diagnostics import did_you_mean

_HINT_POST = ("one period's value is written 一季度.{name}; all periods' values: sum(periods of {name}), "
              "count(periods where …)")


class PeriodReader:
    """The ``ctx.periods`` service: what period names, ``period``, ``periods`` and ratings mean where read."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._per_period: dict[str, bool] = {}  # let or deferred list -> reads a per-period value

    @property
    def decl(self) -> ast.PeriodsDecl | None:
        return self.ctx.sym.periods

    def names(self) -> list[str]:
        return [p.name for p in self.decl.items] if self.decl is not None else []

    # ---------------------------------------------------------------- names
    def name(self, e: ast.Name, scope: Scope) -> Type | None:
        """``periods``, ``period`` or a period's bare name (None: the name is none of these)."""
        ctx, ident = self.ctx, e.ident
        if self.decl is None:
            return None
        if ident == "periods":
            if not self._readable_after_scoring(e, "periods", scope):
                return ERROR
            ctx.res[e] = Resolution("periods", ident)
            return Type("list", elem=Type("record", PERIOD_RECORD))
        if ident == "period":
            if scope.stage == "post":
                return ctx.diag.error(
                    "K244", "'period' is the period being scored, and this is read after the periods are combined",
                    e.span, hint=f"here read the periods' values: count(periods where …), {self._last()}.score")
            ctx.res[e] = Resolution("period", ident)
            return PERIOD
        names = self.names()
        if ident in names:
            ctx.res[e] = Resolution("period_name", ident, names.index(ident))
            return PERIOD
        return None

    def record(self, e: ast.Member, scope: Scope) -> Type | None:
        """``一季度.score``: a period's record (None when the object is not a period's name)."""
        if not isinstance(e.obj, ast.Name) or e.obj.ident not in self.names():
            return None
        if not self._readable_after_scoring(e.obj, e.obj.ident, scope):
            return ERROR
        index = self.names().index(e.obj.ident)
        self.ctx.res[e.obj] = Resolution("period_record", e.obj.ident, index)
        self.ctx.types[e.obj] = Type("record", PERIOD_RECORD)
        return Type("record", PERIOD_RECORD)

    def rating(self, e: ast.Name) -> Type | None:
        """A rating's name as a value (to compare a period's ``rating`` with): only with periods."""
        if self.decl is None or self.ctx.sym.ratings is None:
            return None
        names = self.ctx.sym.rating_names()
        if e.ident not in names:
            return None
        self.ctx.res[e] = Resolution("rating", e.ident, names.index(e.ident))
        return RATING

    def rating_options(self) -> list[str]:
        return self.ctx.sym.rating_names() if self.decl is not None else []

    def _readable_after_scoring(self, e: ast.Name, what: str, scope: Scope) -> bool:
        """Period records exist once every period is scored: refused before (K244); a let reading them is
        a post-scoring let (it is noted as reading a score)."""
        stage = scope.stage
        if stage == "pre":
            self.ctx.diag.error("K244", f"'{what}' holds the periods' scores and ratings, read here while a period "
                                "is being scored", e.span,
                                hint="read period results in a veto, a band's 'requires', an outcome or a let "
                                     "they read (the assessment stage)")
            return False
        if stage == "let":
            for reading in self.ctx.score_reading:
                reading.add(what)
        return True

    # ------------------------------------------------ per-period facts and lets
    def fact(self, e: ast.Name, scope: Scope) -> None:
        """A fact read by name: a ``per period`` one only in the per-period stage (K243)."""
        decl = self.ctx.sym.facts[e.ident]
        if decl.per_period and scope.stage == "post":
            self._ambiguous(e, f"fact '{e.ident}'", e.ident)

    def let(self, e: ast.Name, scope: Scope) -> None:
        """A let or deferred list read by name: one computed from a per-period value only in the per-period stage."""
        if self.decl is None or scope.stage != "post" or e.ident in self.ctx.post_lets or not self.per_period(e.ident):
            return  # a post-scoring let that reads a per-period value is refused where it is declared
        kind = "let" if e.ident in self.ctx.sym.lets else "list"
        facts = sorted(self._period_facts_of(e.ident)) or ["扣分"]
        self._ambiguous(e, f"{kind} '{e.ident}' (computed from a per-period value)", facts[0],
                        f"read it in a target (per period); after the combination read the periods' values: "
                        f"{self.names()[0]}.{facts[0]}, sum(periods of {facts[0]}), count(periods where …)")

    def _ambiguous(self, e: ast.Name, what: str, name: str, hint: str | None = None) -> None:
        first = self.names()[0]
        self.ctx.diag.error(
            "K243", f"{what} has one value per period, and this is read once, after the periods are combined: "
            f"it could mean one period's value or all of them", e.span,
            hint=hint or _HINT_POST.format(name=name).replace("一季度", first))

    def _last(self) -> str:
        return self.names()[-1]

    def _period_facts_of(self, name: str, seen: set[str] | None = None) -> set[str]:
        """The per-period facts let or deferred list ``name`` reads (for a hint)."""
        sym, ctx = self.ctx.sym, self.ctx
        seen = set() if seen is None else seen
        if name in seen:
            return set()
        seen.add(name)
        if name in sym.aliases:
            source = sym.aliases[name].source_list
            return {source} if source in sym.facts else self._period_facts_of(source, seen)
        found: set[str] = set()
        if name in sym.lets:
            for node in ast.walk(sym.lets[name].value):
                res = ctx.res.get(node) if isinstance(node, ast.Name) else None
                if res is not None and res.kind == "fact" and sym.facts[res.name].per_period:
                    found.add(res.name)
                elif res is not None and res.kind in ("let", "alias"):
                    found |= self._period_facts_of(res.name, seen)
        return found

    def per_period(self, name: str) -> bool:
        """Whether let or deferred list ``name`` reads a per-period value (directly or through another)."""
        known = self._per_period.get(name)
        if known is not None:
            return known
        self._per_period[name] = False  # a cycle is K130's; nothing per-period through it
        sym, ctx = self.ctx.sym, self.ctx
        found = False
        if name in sym.aliases:
            source = sym.aliases[name].source_list
            found = sym.facts[source].per_period if source in sym.facts else self.per_period(source)
        elif name in sym.lets:
            for node in ast.walk(sym.lets[name].value):
                res = ctx.res.get(node) if isinstance(node, (ast.Name, ast.Member)) else None
                if res is None:
                    continue
                if (res.kind == "fact" and res.name in sym.facts and sym.facts[res.name].per_period) \
                        or res.kind == "period" or (res.kind in ("let", "alias") and self.per_period(res.name)):
                    found = True
                    break
        self._per_period[name] = found
        return found

    # ------------------------------------------------------------ operators
    def compare(self, e: ast.Compare, a: Type, b: Type, scope: Scope) -> bool:
        """A comparison of ratings or periods (True: handled here, with any error reported)."""
        kinds = {a.kind, b.kind}
        if not kinds & {"rating", "period"}:
            return False
        if a.kind != b.kind:
            other = b if a.kind in ("rating", "period") else a
            what = "a rating" if "rating" in kinds else "a period"
            hint = (f"compare a rating with a rating's name: rating == {self._ratings()[0]}" if "rating" in kinds
                    else f"compare a period with a period's name: period == {self._last()}")
            self.ctx.diag.error("K104", f"cannot compare {what} with {other.describe()}", e.span, hint=hint)
            return True
        if e.op not in ("==", "!="):
            if a.kind == "rating":
                best = self._ratings()
                self.ctx.diag.error("K245", f"ratings are not numbers, so '{e.op}' means nothing", e.span,
                                    hint=f"name the ratings that qualify: rating == {best[0]} or rating == {best[1]}")
            else:
                last = self.names()[-2:]
                self.ctx.diag.error("K245", f"periods compare with == and != only, not '{e.op}'", e.span,
                                    hint=f"name the periods: {' or '.join(f'period == {n}' for n in last)}")
        elif a.kind == "rating":
            for side in (e.left, e.right):
                self._band_named(side, scope)
        return True

    def _band_named(self, e: ast.Expr, scope: Scope) -> None:
        """A rating's name compared with a period's rating must be a band of the categories in scope (K249):
        a period's rating is always one of them, so any other name would make the test silently constant."""
        res = self.ctx.res.get(e)
        if res is None or res.kind != "rating":
            return
        sym = self.ctx.sym
        categories = sorted(scope.categories) if scope.categories is not None else list(sym.categories)
        for category in categories:
            bands = [b.rating for b in sym.bands[category].bands] if category in sym.bands else []
            if bands and res.name not in bands:
                self.ctx.diag.error("K249", f"'{res.name}' is no band of '{category}', and a period's rating is always "
                                    f"one of its bands ({', '.join(bands)}): this test would never change", e.span,
                                    hint=did_you_mean(res.name, bands) or "compare with one of the bands, or restrict "
                                                                          "the clause with 'for'")
                return

    def _ratings(self) -> list[str]:
        names = self.ctx.sym.rating_names()
        return names + ["优秀", "良好"][len(names):] if len(names) < 2 else names

    def streak(self, e: ast.Aggregate) -> Type:
        """``streak(L where C)``: an int; ``where`` required, no ``of``/``by`` (K246)."""
        if e.where is None:
            return self.ctx.diag.error("K246", "streak needs a condition: the longest run of items meeting it",
                                       e.span, hint=f"streak(periods where rating == {self._ratings()[-1]}) >= 2")
        if e.of is not None or e.by is not None:
            part = e.of if e.of is not None else e.by
            assert part is not None
            return self.ctx.diag.error("K246", f"streak takes only 'where', not '{'of' if e.of is not None else 'by'}'",
                                       part.span, hint="streak(L where condition)")
        return INT


def check_periods(ctx: Context) -> None:
    """The pass over the ``periods`` block: weights, reserved names, the period record; K242 without one."""
    sym, diag = ctx.sym, ctx.diag
    decl = sym.periods
    check_section_periods(ctx)
    if decl is None:
        for fact in sym.facts.values():
            if fact.per_period:
                diag.error("K242", f"fact '{fact.name}' is 'per period', but the policy declares no periods",
                           fact.span, hint='declare them: periods { 上半年 "上半年" weight 50%  下半年 "下半年" weight 50% }')
        return
    if not decl.items:  # pragma: no cover - the grammar needs at least one
        diag.error("K241", "a periods block lists no periods", decl.span)
        return
    total = Decimal(0)
    for item in decl.items:
        if item.weight < 0:
            diag.error("K241", f"period '{item.name}' has a negative weight {item.weight}%", item.span)
        total += item.weight
    if total != 100:
        shown = " + ".join(f"{item.weight}%" for item in decl.items)
        diag.error("K241", f"the period weights add up to {total}% ({shown}), not 100%", decl.span,
                   hint="weights are shares of the assessment: make them add up to exactly 100% "
                        "(a checkpoint that does not count has weight 0%)")
    for kind, table in (("fact", sym.facts), ("let", sym.lets), ("param", sym.params), ("checkpoint", sym.checkpoints)):
        for reserved in ("periods", "period"):
            if reserved in table:
                diag.error("K247", f"{kind} '{reserved}' would hide the built-in '{reserved}' of a policy with periods",
                           table[reserved].span, hint=f"rename it (e.g. {reserved}_值)")
    if PERIOD_RECORD in sym.records:
        diag.error("K247", f"record '{PERIOD_RECORD}' would hide the type of a period's values", sym.records[PERIOD_RECORD].span,
                   hint="rename the record")
    fields: dict[str, Type] = {"score": DECIMAL, "rating": RATING, "weight": PERCENT}
    for name, fact in sym.facts.items():
        if not fact.per_period:
            continue
        if fact.categories:  # a period record has every per-period fact: in every category, or it cannot be read
            diag.error("K239", f"per-period fact '{name}' is supplied only by {', '.join(fact.categories)}; a fact "
                       "with one value per period is supplied by every category", fact.span,
                       hint="drop 'for' (give it a default for the categories that have nothing to report)")
        if name in fields:
            diag.error("K247", f"per-period fact '{name}' has the name of a period's built-in field '{name}'", fact.span,
                       hint=f"rename the fact (e.g. {name}_值): periods of {name} would mean two things")
            continue
        fields[name] = ctx.fact_types.get(name, ERROR)
    ctx.record_fields[PERIOD_RECORD] = fields


def check_section_periods(ctx: Context) -> None:
    """``section 年终 "年终考核" 100 only in 年终``: known periods, top-level sections only, and in each period
    the sections assessed there add up to the category's total (K248)."""
    sym, diag = ctx.sym, ctx.diag
    names = [p.name for p in sym.periods.items] if sym.periods is not None else []
    for category in sym.categories.values():
        restricted = False
        for section in category.all_sections():
            if not section.periods:
                continue
            if sym.periods is None:
                diag.error("K242", f"section '{'.'.join(section.path)}' is 'only in' periods, but the policy declares "
                           "none", section.span, hint="declare them: periods { 日常 weight 30%  年终 weight 70% }")
                continue
            if len(section.path) > 1:
                diag.error("K248", f"subsection '{'.'.join(section.path)}' is 'only in' some periods; only a "
                           "category's top-level sections can be", section.span,
                           hint="restrict its top-level section, or give the subsection's targets a per-period condition")
                continue
            restricted = True
            for name in section.periods:
                if name not in names:
                    diag.error("K248", f"section '{section.name}' is 'only in' '{name}', which is no period",
                               section.span, hint=did_you_mean(name, names) or f"the periods are {', '.join(names)}")
        if not restricted:
            continue
        base = [s for s in category.sections if not s.bonus]
        for name in names:
            present = [s for s in base if s.in_period(name)]
            total = sum((s.points for s in present), Decimal(0))
            if total != category.total:
                detail = " + ".join(f"{s.name} {s.points}" for s in present) or "no section"
                diag.error("K248", f"in period '{name}' the sections of '{category.name}' assessed then add up to "
                           f"{total}, not its total {category.total}", category.span,
                           hint=f"{detail} = {total}; every period is scored out of the total")


def check_staging(ctx: Context) -> None:
    """After the lets: a post-scoring let may not read a per-period value (K243, both readings named)."""
    if ctx.sym.periods is None:
        return
    for name in ctx.post_lets:
        if ctx.periods.per_period(name):
            decl = ctx.sym.lets[name]
            ctx.diag.error("K243", f"let '{name}' reads a score or period results, computed once, and a per-period "
                           "value, one per period: it could mean one period's value or all of them", decl.span,
                           hint="split it: a per-period let for the period's value, and read the periods' values "
                                f"with periods / {ctx.periods.names()[0]}.字段 in the post-scoring let")

