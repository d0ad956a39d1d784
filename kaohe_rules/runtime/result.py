"""Results of assessing one unit.

:class:`Result` wraps the raw tuple the compiled evaluator returns and builds
the rich views (sections, vetoes, money, trace) only when asked, so batch
callers who read ``score`` and ``rating`` pay for nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..language.abi import (
    RAW_BAND,
    RAW_BASE_SCORE,
    RAW_BONUS,
    RAW_COHORT,
    RAW_DEFERRED,
    RAW_EFFECTS,
    RAW_EXCEPTED,
    RAW_OUTCOME,
    RAW_PERIODS,
    RAW_RATING,
    RAW_SCORE,
    RAW_SECTIONS,
    RAW_TARGETS,
    RAW_VETOES,
    TAG_LET,
)
from ..language.model import CategoryPlan, CheckedPolicy
from ..numeric import ENGINE_CONTEXT
from .cohort import NO_STANDING, quota_limit, standing_dict
from .ledger import ChargedEvent
from .parts import Consequences as Consequences
from .parts import Deferral as Deferral
from .parts import EffectStep as EffectStep
from .parts import MoneyItem as MoneyItem
from .parts import PeriodResult as PeriodResult
from .parts import Reported as Reported
from .parts import SectionResult as SectionResult
from .parts import TargetResult as TargetResult
from .parts import VetoHit as VetoHit
from .parts import consequences_of, outcome_lines, positions_among
from .parts import jsonable as jsonable
from .parts import plain as plain
from .program import Program, RawEvent
from .standing import QuotaRow, RankRow, Standing
from .templates import category_template, section_results, target_results
from .templates import consequences as template_consequences
from .templates import deferral as template_deferral
from .templates import veto_hit as template_veto_hit

if TYPE_CHECKING:
    from .trace import Trace


class Result:
    """The assessment of one unit: score, sections, rating, vetoes, deferrals, money, trace."""

    # ``_standing`` is set only for a policy with a cohort block (issue #11 C): other results never pay for it
    # ``_charged`` is set only for a unit assessed with its batch's ledgers (issue #16)
    __slots__ = ("_program", "_plan", "_raw", "unit_id", "name", "category", "_facts", "_trace_events", "_cache",
                 "_standing", "_charged")
    _standing: Standing
    _charged: tuple[ChargedEvent, ...]

    def __init__(self, program: Program, plan: CategoryPlan, raw: tuple[Any, ...], unit_id: str, name: str | None,
                 category: str, facts: dict[str, object] | tuple[object, ...],
                 trace_events: list[RawEvent] | None) -> None:
        # fast_result (below the class) sets these very slots without this __init__ (issue #13): a slot
        # added here is added there too
        self._program = program
        self._plan = plan
        self._raw = raw
        self.unit_id = unit_id
        self.name = name
        self.category = category
        # the fast path hands over the values in plan.facts order: a dict only if asked
        self._facts: dict[str, object] | tuple[object, ...] = facts
        self._trace_events = trace_events
        self._cache: dict[str, Any] = {}

    @property
    def facts(self) -> dict[str, object]:
        """The unit's facts as the engine read them (coerced, defaults filled in), by name."""
        facts = self._facts
        if isinstance(facts, tuple):
            self._facts = facts = dict(zip(self._plan.facts, facts))
        return facts

    def __repr__(self) -> str:
        return f"<Result {self.unit_id} score={self.score} rating={self.rating}{' vetoed' if self.vetoed else ''}>"

    @property
    def program(self) -> Program:
        """The compiled program this result was assessed by (checked model, display rules, tracing)."""
        return self._program

    @property
    def raw(self) -> tuple[Any, ...]:
        """The raw tuple the evaluator returned, laid out as :data:`kaohe_rules.language.abi.RAW_FIELDS`."""
        return self._raw

    @property
    def trace_events(self) -> list[RawEvent] | None:
        """The raw trace events, if the unit was assessed traced (else None: ``trace`` re-runs it)."""
        return self._trace_events

    @property
    def _checked(self) -> CheckedPolicy:
        return self._program.checked

    # ------------------------------------------------------------- headline
    @property
    def score(self) -> Decimal:
        score = self._raw[RAW_SCORE]
        return score if score.__class__ is Decimal else Decimal(score)

    @property
    def total(self) -> Decimal:
        return self._plan.category.total

    @property
    def base_score(self) -> Decimal:
        """The base score: the sections that make up the total (the score without bonus points)."""
        value = self._raw[RAW_BASE_SCORE]
        return value if value.__class__ is Decimal else Decimal(value)

    @property
    def bonus(self) -> Decimal:
        """The bonus points (加分) counted in the score, after the item, section and category caps."""
        value = self._raw[RAW_BONUS]
        return value if value.__class__ is Decimal else Decimal(value)

    @property
    def maximum(self) -> Decimal | None:
        """The highest score a unit of this category can reach (the total, or more with bonus points;
        None when an uncapped bonus leaves it unbounded)."""
        return self._plan.maximum

    @property
    def rating(self) -> str:
        name: str = self._program.rating_names[self._raw[RAW_RATING]]
        return name

    @property
    def rating_label(self) -> str:
        rating = self._checked.ratings.ratings[self._raw[RAW_RATING]]
        label: str = rating.label or rating.name
        return label

    @property
    def band(self) -> str | None:
        """The rating the score alone earns (before vetoes)."""
        index = self._raw[RAW_BAND]
        return self._plan.bands[index].rating if index >= 0 else None

    @property
    def band_citation(self) -> str | None:
        index = self._raw[RAW_BAND]
        return self._plan.bands[index].cite if index >= 0 else None

    @property
    def vetoed(self) -> bool:
        """A veto without effect fired (一票否决: the vetoed rating); a veto with ``then …`` is an effect."""
        if self._raw[RAW_EFFECTS] is None:
            return bool(self._raw[RAW_VETOES])
        vetoes = self._plan.vetoes
        return any(vetoes[entry[0]].effect is None for entry in self._raw[RAW_VETOES])

    @property
    def raw_score(self) -> Decimal:
        """The score before score effects (``then score E``); the same as ``score`` when none applied."""
        effects = self._raw[RAW_EFFECTS]
        score = effects[0] if effects is not None else self._raw[RAW_SCORE]
        return score if score.__class__ is Decimal else Decimal(score)

    @property
    def effects(self) -> tuple[EffectStep, ...]:
        """The rating effects that applied, in the documented order, each with its before→after."""
        if "effects" not in self._cache:
            raw = self._raw[RAW_EFFECTS]
            names = self._program.rating_names
            out = []
            for kind, index, value, before, after in (raw[1] if raw is not None else ()):
                if kind == "requires":
                    band = self._plan.bands[index]
                    out.append(EffectStep(kind, band.rating, self._checked.rating_label(band.rating), band.cite,
                                          None, names[before], names[after]))
                    continue
                if kind == "quota":  # the cohort quota step (issue #11 C)
                    out.append(self._quota_step(index, value, before, after))
                    continue
                veto = self._plan.vetoes[index]
                if kind == "score":
                    step = EffectStep(kind, veto.name, veto.label, veto.cite, Decimal(value), Decimal(before),
                                      Decimal(after))
                elif kind == "downgrade":
                    step = EffectStep(kind, veto.name, veto.label, veto.cite, value, names[before], names[after])
                else:
                    step = EffectStep(kind, veto.name, veto.label, veto.cite, names[value], names[before],
                                      names[after])
                out.append(step)
            self._cache["effects"] = tuple(out)
        return self._cache["effects"]  # type: ignore[no-any-return]

    # -------------------------------------------------------------- details
    # Each part is built from its category's template (runtime.templates: the static fields computed once
    # per program), adding only what the raw tuple says — one pass, no tree walk or filtering per unit.
    @property
    def targets(self) -> tuple[TargetResult, ...]:
        cache = self._cache
        targets = cache.get("targets")
        if targets is None:
            template = category_template(self._program, self.category)
            targets = cache["targets"] = target_results(template, self._raw[RAW_TARGETS])
        return targets

    @property
    def sections(self) -> dict[str, SectionResult]:
        cache = self._cache
        sections = cache.get("sections")
        if sections is None:
            template = category_template(self._program, self.category)
            sections = cache["sections"] = section_results(template, self._raw[RAW_SECTIONS], self.targets)
        return sections

    @property
    def vetoes(self) -> tuple[VetoHit, ...]:
        if "vetoes" not in self._cache:
            values = self._fact_values() if any(entry[1] for entry in self._raw[RAW_VETOES]) else ()
            self._cache["vetoes"] = tuple(self._veto_hit(entry[0], entry[1], entry[2], None, values)
                                          for entry in self._raw[RAW_VETOES])
        return self._cache["vetoes"]  # type: ignore[no-any-return]

    @property
    def excepted(self) -> tuple[VetoHit, ...]:
        """Vetoes whose condition held but an exception (unless … because …) stopped."""
        if "excepted" not in self._cache:
            values = self._fact_values() if any(entry[2] for entry in self._raw[RAW_EXCEPTED]) else ()
            out = []
            for index, exc_index, evidence, reads in self._raw[RAW_EXCEPTED]:
                veto = self._plan.vetoes[index]
                reason = veto.exceptions[exc_index].because or "exception"
                out.append(self._veto_hit(index, evidence, reads, reason, values))
            self._cache["excepted"] = tuple(out)
        return self._cache["excepted"]  # type: ignore[no-any-return]

    def _fact_values(self) -> Iterable[object]:
        """The fact values, in ``plan.facts`` order, for finding positions by identity — the tuple the fast
        path handed over when the facts were not asked for as a dict (building it is not needed for this).

        Called before the raw evidence is read: positions are found by identity (``parts.positions_among``), and
        a result assessed elsewhere adopts its facts (and the raw result of them) when they are first read."""
        facts = self._facts
        if facts.__class__ is tuple:
            return facts
        return self.facts.values()

    def _veto_hit(self, index: int, evidence: Any, reads: tuple[Any, ...], reason: str | None,
                  values: Iterable[object] = ()) -> VetoHit:
        template = category_template(self._program, self.category)
        program = self._program
        if evidence:
            display_record = program.display_record
            items = tuple([display_record(item) for item in evidence])
            positions = positions_among(values, evidence)
        else:
            items = positions = ()
        display_value = program.display_value
        facts = {name: display_value(name, value) for name, value in zip(template.veto_reads[index], reads)}
        return template_veto_hit(template, index, items, facts, reason, positions)

    @property
    def deferred(self) -> tuple[Deferral, ...]:
        if "deferred" not in self._cache:
            raw = self._raw[RAW_DEFERRED]
            out = []
            if raw:
                values = self._fact_values()
                template = category_template(self._program, self.category)
                display_record = self._program.display_record
                for index, items in self._raw[RAW_DEFERRED]:  # read again: a remote result adopted its raw
                    out.append(template_deferral(template, index, tuple(display_record(i) for i in items),
                                                 positions_among(values, items)))
            self._cache["deferred"] = tuple(out)
        return self._cache["deferred"]  # type: ignore[no-any-return]

    @property
    def consequences(self) -> Consequences:
        """The rating's own outcome (``outcome RATING``); items that do not apply are absent."""
        cache = self._cache
        found = cache.get("consequences")
        if found is None:
            raw = self._raw[RAW_OUTCOME]
            own_raw = raw[0] if self._checked.general_outcomes else raw
            found = cache["consequences"] = template_consequences(
                category_template(self._program, self.category), self.rating, own_raw)
        return found

    @property
    def general_consequences(self) -> tuple[Consequences, ...]:
        """The outcomes for every rating (``outcome { … }``), in order, after the rating's own (issue #10)."""
        if "general_consequences" not in self._cache:
            rating = self.rating
            lines = outcome_lines(self._checked, rating, self._raw[RAW_OUTCOME])
            self._cache["general_consequences"] = tuple(
                consequences_of(rating, line) for line in lines if line[0].for_every_rating)
        return self._cache["general_consequences"]  # type: ignore[no-any-return]

    @property
    def reported(self) -> dict[str, Reported]:
        """The ``let … report`` values by name (issue #10), as people read them.

        The fast evaluator returns no lets; the values come from the traced run (the
        trace of this result, made on demand once), so a policy without reported lets,
        or a caller that does not ask, pays nothing.
        """
        if "reported" not in self._cache:
            checked = self._checked
            # a post-scoring let (one that reads a score) is reported like any other (issue #10)
            names = [n for n in checked.reported
                     if n in self._plan.lets or n in self._plan.post_lets or n in self._plan.pre_lets]
            values: dict[str, object] = {}
            if names:
                events = self._trace_events = self._raw_events()
                values = {e[1]: e[2] for e in events if e[0] == TAG_LET and e[1] in names}
            self._cache["reported"] = {
                n: Reported(n, checked.lets[n].label, checked.lets[n].cite,
                            self._program.display_value(n, values.get(n))) for n in names}
        return self._cache["reported"]  # type: ignore[no-any-return]

    @property
    def trace(self) -> Trace:
        """The full reasoning; evaluated again with tracing on if the result was computed without it."""
        if "trace" not in self._cache:
            from .trace import build_trace

            self._cache["trace"] = build_trace(self._program, self._plan, self, self._raw_events())
        return self._cache["trace"]  # type: ignore[no-any-return]

    def _raw_events(self) -> list[RawEvent]:
        """The traced evaluator's raw events of this unit: those it was assessed with, else evaluated again."""
        events = self._trace_events
        if events is None:
            events = self._program.traced_events(self.category, self.facts, self._passed_standing)
        return events

    # ------------------------------------------------------------ rendering
    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable summary (Decimals as strings, exact)."""
        return {
            "unit": {"id": self.unit_id, "name": self.name, "category": self.category},
            "policy": {"name": self._checked.header.name, "hash": self._checked.content_hash},
            "score": plain(self.score),
            "total": plain(self.total),
            **self._bonus_dict(),
            "band": self.band,
            "rating": self.rating,
            "rating_label": self.rating_label,
            "vetoed": self.vetoed,
            "sections": {k: v.to_dict() for k, v in self.sections.items()},
            "targets": [t.to_dict() for t in self.targets],
            "vetoes": [v.to_dict() for v in self.vetoes],
            "excepted": [v.to_dict() for v in self.excepted],
            "deferred": [d.to_dict() for d in self.deferred],
            "consequences": self.consequences.to_dict(),
            **({"raw_score": plain(self.raw_score), "effects": [e.to_dict() for e in self.effects]}
               if self._raw[RAW_EFFECTS] is not None else {}),
            **self._issue10_dict(),
            **({"periods": [p.to_dict() for p in self.periods]} if self._checked.periods is not None else {}),
            **self._cohort_dict(),
            **self._ledger_dict(),
        }

    def _issue10_dict(self) -> dict[str, object]:
        """The keys only policies that use them carry (outcomes for every rating, reported lets)."""
        extra: dict[str, object] = {}
        if self._checked.general_outcomes:
            extra["general_consequences"] = [c.to_dict() for c in self.general_consequences]
        if self._checked.reported:
            extra["reported"] = {n: r.to_dict() for n, r in self.reported.items()}
        return extra

    def _bonus_dict(self) -> dict[str, object]:
        """``base_score``, ``bonus`` and ``maximum`` — only for a category with bonus sections, so the
        results of every other policy keep their shape."""
        if not self._plan.category.has_bonus:
            return {}
        maximum = self.maximum
        return {"base_score": plain(self.base_score), "bonus": plain(self.bonus),
                "maximum": None if maximum is None else plain(maximum)}

    @property
    def periods(self) -> tuple[PeriodResult, ...]:
        """Each period's result, in declared order (issue #11 P); empty for a policy without periods.

        ``sections`` and ``targets`` of the result are the combined ones (Σ weight × the period's)."""
        if "periods" not in self._cache:
            decl = self._checked.periods
            out: list[PeriodResult] = []
            if decl is not None:
                order = self._program.section_order(self.category)
                infos = {s.path: s for s in self._plan.category.all_sections()}
                ratings = self._checked.ratings.ratings
                for item, raw in zip(decl.items, self._raw[RAW_PERIODS]):
                    targets = tuple(TargetResult(p.target.name, p.target.label, p.target.cite, ".".join(p.section),
                                                 p.points, Decimal(score), p.bonus, p.cap)
                                    for p, score in zip(self._plan.targets, raw[2]))
                    sections: dict[str, SectionResult] = {}
                    for path, score in zip(order, raw[1]):
                        info = infos[path]
                        if not infos[path[:1]].in_period(item.name):  # ``only in`` other periods: not assessed
                            continue
                        key = ".".join(path)
                        sections[key] = SectionResult(key, info.name, info.label, info.cite, info.points, Decimal(score),
                                                      tuple(t for t in targets if t.section == key), len(path),
                                                      info.bonus, info.cap)
                    rating = ratings[raw[4]]
                    score = Decimal(raw[0])
                    weighted = ENGINE_CONTEXT.multiply(item.weight / 100, score)
                    out.append(PeriodResult(item.name, item.label, item.weight, score, rating.name,
                                            rating.label or rating.name, sections, weighted, targets))
            self._cache["periods"] = tuple(out)
        return self._cache["periods"]  # type: ignore[no-any-return]

    def explain(self, lang: str = "zh", full: bool = True) -> str:
        """A readable explanation, clause by clause (``lang`` "zh" or "en"; ``full`` False for the short form)."""
        from .explain import explain

        trace: Trace | None = self._cache.get("trace")
        if trace is None:  # issue #13: rendered from the raw events without a tree, else from the partial tree
            from .explain_fast import render_or_none
            from .trace import build_trace

            events = self._raw_events()
            text = render_or_none(self, events, lang, full)
            if text is not None:
                return text
            # the partial tree of the events an explanation reads, not kept: a report explains each of its
            # 10,000 results once, and trees kept alive on every result are memory and collector work
            trace = build_trace(self._program, self._plan, self, events, explanation=True)
        return explain(self, lang=lang, full=full, trace=trace)

    # ------------------------------------------------------------ cohorts (issue #11 C)
    def set_standing(self, standing: Standing) -> None:
        """The standing the evaluator read (a cohort policy's evaluators set it once, right after assessing)."""
        self._standing = standing

    @property
    def _passed_standing(self) -> Standing | None:
        """The standing the evaluator read (the no-standing marker for a provisional result); None: no cohort."""
        try:
            return self._standing
        except AttributeError:  # a policy without a cohort block never sets it
            return None

    @property
    def standing(self) -> Standing | None:
        """The unit's place in its cohort (rank, counts, best, average, quota), None when assessed alone."""
        standing = self._passed_standing
        return None if standing is None or standing is NO_STANDING else standing

    @property
    def provisional(self) -> str | None:
        """Why this result may change (assessed alone, or units of its category could not be assessed); else None."""
        standing = self._passed_standing
        return standing.provisional if standing is not None else None

    @property
    def rank_row(self) -> RankRow:
        """What the cohort stage keeps of this unit: ranked or not, its keys (larger is better), its final score."""
        if self._checked.cohort is None:
            raise ValueError(f"policy {self._checked.header.name} has no cohort block: a result has no rank row")
        ranked, keys = self._raw[RAW_COHORT]
        return RankRow(self.unit_id, self.category, bool(ranked),
                       tuple(k if k.__class__ is Decimal else Decimal(k) for k in keys), self.score)

    @property
    def band_index(self) -> int:
        """The rating's index among the category's bands, best first (0 = the best band; below all when it is none)."""
        cohort = self._checked.cohort
        if cohort is not None:
            return cohort.band_index(self.category, self.rating)
        bands = [b.rating for b in sorted(self._plan.bands, key=lambda b: b.low, reverse=True)]
        return bands.index(self.rating) if self.rating in bands else len(bands)

    @property
    def quota_row(self) -> QuotaRow:
        """This unit's rating before quotas, for the quota step of the cohort stage."""
        return QuotaRow(self.unit_id, self.category, self.band_index)

    def _quota_step(self, clause: int, band: int, before: int, after: int) -> EffectStep:
        cohort = self._checked.cohort
        assert cohort is not None
        quota = cohort.quotas[clause]
        names = self._program.rating_names
        standing = self._passed_standing
        value: dict[str, object] = {"band": quota.band, "to": cohort.bands[self.category][band],
                                    "percent": quota.percent}
        if standing is not None:
            limit, base = quota_limit(quota, standing)
            value.update({"limit": limit, "base": base, "of_ranked": quota.of_ranked, "rank": standing.rank})
        return EffectStep("quota", cohort.name, quota.describe(), quota.decl.cite or cohort.decl.cite, value,
                          names[before], names[after])

    def _cohort_dict(self) -> dict[str, object]:
        """``standing`` and ``provisional``: only for a policy with a cohort block (others keep their shape)."""
        if self._checked.cohort is None:
            return {}
        standing = self.standing
        return {"standing": None if standing is None else standing_dict(standing), "provisional": self.provisional}

    # ------------------------------------------------------------ ledgers (issue #16)
    def set_charged(self, charged: tuple[ChargedEvent, ...]) -> None:
        """The events the batch's ledgers charged to this unit (set once, by the assessment with ledgers)."""
        self._charged = charged

    @property
    def from_ledger(self) -> bool:
        """Whether the unit's ledger-fed lists came from its batch's ledgers (False: the unit supplied its
        own list, or the policy has no ledgers)."""
        try:
            self._charged  # noqa: B018 - set only when assessed with ledgers
        except AttributeError:
            return False
        return True

    @property
    def charged(self) -> tuple[ChargedEvent, ...]:
        """Per event charged to this unit: the ledger, its row and key, how it is shown, the rules that charged it."""
        try:
            return self._charged
        except AttributeError:
            return ()

    def _ledger_dict(self) -> dict[str, object]:
        """``charged`` and ``from_ledger``: only for a policy with ledgers (others keep their shape)."""
        if not self._program.ledgers:
            return {}
        return {"charged": [c.to_dict() for c in self.charged], "from_ledger": self.from_ledger}

    # ------------------------------------------------------------ notebooks (issue #15)
    def _repr_html_(self) -> str:
        """The result as HTML tables, for Jupyter: score, rating, vetoes, sections, consequences and the
        explanation with its citations (:func:`kaohe_rules.runtime.html.result_html`; everything escaped)."""
        from .html import result_html

        return result_html(self)


_new = object.__new__


def fast_result(program: Program, plan: CategoryPlan, raw: tuple[Any, ...], unit_id: str, name: str | None,
                category: str, facts: dict[str, object] | tuple[object, ...]) -> Result:
    """``Result(program, plan, raw, unit_id, name, category, facts, None)`` without the call of its ``__init__``.

    ``Policy.evaluate`` and the serial batch make one per unit on their fast path, where calling the class
    cost about a fifth of what a unit costs besides its assessment (issue #13).  It sets exactly the slots
    ``Result.__init__`` sets; ``tests/runtime/test_lean_fast_results.py`` compares the two on every field.
    """
    result: Result = _new(Result)
    result._program = program
    result._plan = plan
    result._raw = raw
    result.unit_id = unit_id
    result.name = name
    result.category = category
    result._facts = facts
    result._trace_events = None
    result._cache = {}
    return result
