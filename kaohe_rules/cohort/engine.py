"""The cohort engine: ranks and quotas over the rows of a batch (issue #11).

The cohort stage needs every unit of a batch before any unit's final result is known,
so it works on the few values per unit the policy hands it (:class:`RankRow`,
:class:`QuotaRow`), never on whole results.  The engine keeps them column-wise:

* unit ids in one sorted list (a standing is found by bisection, no per-unit dict);
* per unit a category number, a rank, the size of its tie, the band a quota left it
  in and that quota: machine integers in :mod:`array` columns (16 bytes a unit);
* the ranking keys only while ranking, as exact scaled integers (a key ``87.5`` is the
  integer ``875`` at scale 1; when a finer key arrives the column is rescaled), never
  as :class:`~decimal.Decimal` objects (104 bytes each);
* of the final scores only each category's exact sum and its best: ``best`` and
  ``average`` are per category.

A :class:`Standing` is built when it is asked for (``standings[unit_id]``).  Every
decision is made on exact values (no float, no rounding but the one division of
``average``), and none depends on the order of the rows: ties share a rank, a tie
straddling a quota's limit is demoted whole, unranked holders of a band are demoted
as one group, and duplicate unit ids are refused.
"""

from __future__ import annotations

import decimal
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import attrs

from ..errors import KaoheError
from ..numeric import ENGINE_CONTEXT
from ..runtime.standing import CategoryCohort, CohortSpec, QuotaRow, QuotaRule, RankRow, Standing

__all__ = ["AVERAGE_CONTEXT", "CategoryCounts", "CohortError", "Standings", "apply_quotas", "rank_rows"]

#: ``average`` is one division in the engine's context at 28 significant digits (the
#: design's figure, kept apart from the 34 digits the per-unit evaluation carries).
AVERAGE_CONTEXT = ENGINE_CONTEXT.copy()
AVERAGE_CONTEXT.prec = 28
#: sums of final scores and quota shares × bases are exact: no rounding is allowed there.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                         traps=[decimal.InvalidOperation, decimal.Inexact, decimal.Overflow])


class CohortError(KaoheError):
    """Rows or a cohort specification the engine cannot rank without guessing.

    Raised for what would otherwise give a silently wrong standing: a unit id twice in
    one cohort, a ranked row whose category is not ranked, keys of the wrong number or
    not finite, a quota row for a unit without a rank row, a quota on a category's
    lowest band (nowhere to demote to).  ``unit`` names the unit when there is one.
    """

    def __init__(self, message: str, unit: str | None = None, duplicates: tuple[str, ...] = ()) -> None:
        self.unit = unit
        self.message = message
        self.duplicates = tuple(duplicates)  # every unit id given twice (so a driver can refuse those rows and rerun)
        super().__init__(f"unit {unit!r}: {message}" if unit is not None else message)

    _init_fields = ("unit", "message", "duplicates")

    def _init_args(self) -> tuple[object, ...]:
        return (self.message, self.unit, self.duplicates)


@attrs.frozen
class CategoryCounts:
    """What the units of one category share: counts, ``best``, ``average``, provisional reason."""

    category: str
    ranked: bool  # the cohort ranks this category (``for`` lists it, or has no ``for``)
    unit_count: int  # rows of the category (参评单位), ranked or not
    ranked_count: int  # rows that are ranked (the category is ranked and ``among`` holds)
    best: Decimal | None  # highest final score among the ranked rows (None: none ranked)
    average: Decimal | None  # their mean, in AVERAGE_CONTEXT (None: none ranked)
    provisional: str | None = None


class Standings(Mapping[str, Standing]):
    """Every unit's :class:`Standing`, by unit id, plus per-category counts (``categories``).

    Compact and immutable: columns of machine integers and one sorted list of ids; a
    :class:`Standing` object is made on each lookup.  Pickles (the Dask path ships it to
    the workers for the last pass).  Iteration is in unit-id order.
    """

    __slots__ = ("cohort", "categories", "_ids", "_names", "_cat", "_rank", "_tied", "_demoted", "_quota")

    def __init__(self, cohort: str, categories: Mapping[str, CategoryCounts], ids: list[str], names: list[str],
                 cat: array[int], rank: array[int], tied: array[int], demoted: array[int],
                 quota: array[int]) -> None:
        self.cohort = cohort
        self.categories: Mapping[str, CategoryCounts] = dict(categories)
        self._ids = ids  # sorted
        self._names = names  # category number → name
        self._cat = cat
        self._rank = rank  # 0: not ranked
        self._tied = tied
        self._demoted = demoted  # -1: not demoted
        self._quota = quota  # -1: no quota applied

    def __reduce__(self) -> tuple[object, ...]:
        return (Standings, (self.cohort, self.categories, self._ids, self._names, self._cat, self._rank,
                            self._tied, self._demoted, self._quota))

    def index(self, unit_id: str) -> int:
        """The unit's position in the id-sorted columns; KeyError if it has no row."""
        i = bisect_left(self._ids, unit_id)
        if i == len(self._ids) or self._ids[i] != unit_id:
            raise KeyError(unit_id)
        return i

    def category_of(self, unit_id: str) -> str:
        return self._names[self._cat[self.index(unit_id)]]

    def __getitem__(self, unit_id: str) -> Standing:
        return self._standing(self.index(unit_id))

    def _standing(self, i: int) -> Standing:
        counts = self.categories[self._names[self._cat[i]]]
        rank = self._rank[i]
        demoted = self._demoted[i]
        quota = self._quota[i]
        return Standing(
            cohort=self.cohort,
            rank=rank or None,
            ranked_count=counts.ranked_count,
            unit_count=counts.unit_count,
            best=counts.best,
            average=counts.average,
            tied=self._tied[i],
            demoted_to=None if demoted < 0 else demoted,
            quota=None if quota < 0 else quota,
            provisional=counts.provisional,
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, unit_id: object) -> bool:
        if not isinstance(unit_id, str):
            return False
        i = bisect_left(self._ids, unit_id)
        return i < len(self._ids) and self._ids[i] == unit_id

    def nbytes(self) -> int:
        """Bytes held by the per-unit columns and ids (what a standing costs per unit, measured)."""
        import sys

        columns = (self._cat, self._rank, self._tied, self._demoted, self._quota)
        return (sum(c.itemsize * len(c) + 64 for c in columns) + sys.getsizeof(self._ids)
                + sum(sys.getsizeof(s) for s in self._ids))

    def with_provisional(self, reasons: Mapping[str, str]) -> Standings:
        """The same standings with the categories in ``reasons`` marked provisional (category → why)."""
        categories = {name: attrs.evolve(c, provisional=reasons.get(name, c.provisional))
                      for name, c in self.categories.items()}
        return Standings(self.cohort, categories, self._ids, self._names, self._cat, self._rank, self._tied,
                         self._demoted, self._quota)


# ------------------------------------------------------------------ ranking
class _Keys:
    """The ranking keys of every ranked row, as exact integers scaled per key position.

    A key ``k`` at position ``p`` is held as ``k × 10**scale[p]``, an integer; ``scale[p]``
    grows (and the column is rescaled once) when a key with more decimal places comes.
    Integer comparison then orders exactly as Decimal comparison does.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.scales = [0] * count
        self.pows = [1] * count
        self.values: list[Any] = []  # one int (one key) or tuple of ints per row; None: not ranked

    def scaled(self, unit: str, keys: tuple[Decimal, ...]) -> object:
        if len(keys) != self.count:
            raise CohortError(f"has {len(keys)} ranking keys, the cohort ranks by {self.count}", unit)
        out = []
        for pos, key in enumerate(keys):
            try:
                num, den = key.as_integer_ratio()
            except (ValueError, OverflowError, AttributeError, TypeError):
                raise CohortError(f"ranking key {pos + 1} is {key!r}, not a finite decimal", unit) from None
            if den != 1 and self.pows[pos] % den:
                self._rescale(pos, den)
            out.append(num * (self.pows[pos] // den))
        return out[0] if self.count == 1 else tuple(out)

    def _rescale(self, pos: int, den: int) -> None:
        twos = (den & -den).bit_length() - 1
        fives, rest = 0, den >> twos
        while rest % 5 == 0:
            rest //= 5
            fives += 1
        scale = max(twos, fives)
        factor = 10 ** (scale - self.scales[pos])
        self.scales[pos], self.pows[pos] = scale, 10 ** scale
        values = self.values
        if self.count == 1:
            for i, v in enumerate(values):
                if v is not None:
                    values[i] = v * factor
        else:
            for i, v in enumerate(values):
                if v is not None:
                    t = list(v)
                    t[pos] *= factor
                    values[i] = tuple(t)


def rank_rows(rows: Iterable[RankRow], spec: CohortSpec, *,
              provisional: Mapping[str, str] | None = None) -> Standings:
    """Rank each category's ranked rows on their keys; ties share a rank (1, 2, 2, 4).

    A unit's rank is 1 + the number of ranked units of its category with strictly
    larger keys (tuples compared left to right: the first key decides, later ones
    break its ties); ``tied`` is how many ranked units share it.  ``best`` and
    ``average`` are over the ranked units' final scores; ``unit_count`` counts every
    row of the category.  Rows of categories the cohort does not rank get a standing
    without a rank.  ``provisional`` marks categories whose standings may change
    (category → reason).  Refuses (:class:`CohortError`) a unit id given twice, a ranked
    row of an unranked category, and keys of the wrong number or not finite.
    """
    ranked_cats = {c.category for c in spec.categories}
    number: dict[str, int] = {}
    names: list[str] = []
    ids: list[str] = []
    cat = array("I")
    keys = _Keys(spec.key_count)
    values = keys.values
    members: list[list[int]] = []  # per category, the ranked row numbers
    unit_counts: list[int] = []
    totals: list[Decimal] = []
    bests: list[Decimal | None] = []
    add = _EXACT.add
    for row in rows:
        c = number.get(row.category)
        if c is None:
            c = number[row.category] = len(names)
            names.append(row.category)
            members.append([])
            unit_counts.append(0)
            totals.append(Decimal(0))
            bests.append(None)
        ids.append(row.unit_id)
        cat.append(c)
        unit_counts[c] += 1
        if not row.ranked:
            values.append(None)
            continue
        if row.category not in ranked_cats:
            raise CohortError(f"is marked ranked, but cohort {spec.name} does not rank category {row.category}",
                              row.unit_id)
        values.append(keys.scaled(row.unit_id, row.keys))
        score = row.score
        if not isinstance(score, Decimal) or not score.is_finite():
            raise CohortError(f"final score {score!r} is not a finite decimal", row.unit_id)
        members[c].append(len(ids) - 1)
        totals[c] = add(totals[c], score)
        best = bests[c]
        if best is None or score.compare_total(best) > 0:  # total order: 1.0 over 1.00, whatever the row order
            bests[c] = score
    n = len(ids)
    rank = array("I", [0]) * n
    tied = array("I", [1]) * n
    for rows_of in members:
        rows_of.sort(key=values.__getitem__, reverse=True)
        start = 0
        while start < len(rows_of):
            first = values[rows_of[start]]
            end = start + 1
            while end < len(rows_of) and values[rows_of[end]] == first:
                end += 1
            for i in rows_of[start:end]:
                rank[i] = start + 1
                tied[i] = end - start
            start = end
    del values[:]
    reasons = provisional or {}
    categories: dict[str, CategoryCounts] = {}
    for c, name in enumerate(names):
        ranked_count = len(members[c])
        categories[name] = CategoryCounts(
            category=name, ranked=name in ranked_cats, unit_count=unit_counts[c], ranked_count=ranked_count,
            best=bests[c],
            average=AVERAGE_CONTEXT.divide(totals[c], ranked_count) if ranked_count else None,
            provisional=reasons.get(name))
    for spec_cat in spec.categories:  # a ranked category without rows in the batch still has its counts
        categories.setdefault(spec_cat.category, CategoryCounts(spec_cat.category, True, 0, 0, None, None,
                                                                reasons.get(spec_cat.category)))
    members.clear()
    order = sorted(range(n), key=ids.__getitem__)
    twice = [(a, b) for a, b in zip(order, order[1:]) if ids[a] == ids[b]]
    if twice:
        a, b = twice[0]
        more = f"; {len(twice) - 1} more repeated rows" if len(twice) > 1 else ""
        raise CohortError(f"appears twice in cohort {spec.name} (rows {min(a, b) + 1} and {max(a, b) + 1}){more}",
                          ids[a], tuple(sorted({ids[a] for a, _ in twice})))
    return Standings(
        spec.name, categories, [ids[i] for i in order], names,
        array("I", (cat[i] for i in order)), array("I", (rank[i] for i in order)),
        array("I", (tied[i] for i in order)), array("h", [-1]) * n, array("h", [-1]) * n)


# ------------------------------------------------------------------- quotas
def quota_limit(rule: QuotaRule, counts: CategoryCounts) -> int:
    """The most units that may hold the rule's band: N, or ⌊P × base⌋ (不超过: rounded down)."""
    if (rule.limit is None) == (rule.share is None):
        raise CohortError(f"quota {rule.clause + 1} of category {counts.category} must give either a count or a "
                          "share, not " + ("both" if rule.limit is not None else "neither"))
    if rule.limit is not None:
        return rule.limit
    assert rule.share is not None
    base = counts.ranked_count if rule.of_ranked else counts.unit_count
    return int(_EXACT.multiply(rule.share, base).to_integral_value(rounding=ROUND_FLOOR, context=_EXACT))


def _limits(cohort: CategoryCohort, counts: CategoryCounts) -> dict[int, tuple[int, int]]:
    """Band → (limit, clause of the binding quota): the smallest limit wins, the first clause on a tie."""
    limits: dict[int, tuple[int, int]] = {}
    for rule in cohort.quotas:
        if not 0 <= rule.band < cohort.band_count - 1:
            raise CohortError(f"quota {rule.clause + 1} of category {cohort.category} caps band {rule.band}, "
                              f"but the category has bands 0..{cohort.band_count - 1} and the lowest cannot be "
                              "capped (there is no band to demote to)")
        limit = quota_limit(rule, counts)
        if rule.band not in limits or limit < limits[rule.band][0]:
            limits[rule.band] = (limit, rule.clause)
    return limits


def apply_quotas(rows: Iterable[QuotaRow], standings: Standings, spec: CohortSpec) -> Standings:
    """Cap each band's holders at its quota, best band first, demoting the units beyond it.

    Holders are kept in rank order: the units beyond the limit are demoted one band
    (and meet that band's quota in turn) — unranked holders first, as one group, then
    from the lowest rank up.  Tied units are kept or demoted together, so a tie
    straddling the limit demotes every tied unit: a quota is never exceeded.  A unit of
    a category with quotas but without a QuotaRow holds no band here.  Returns new
    standings with ``demoted_to`` (the band the unit is left in) and ``quota`` (the
    clause that put it there) set for the demoted units.
    """
    ids, cat_of, rank = standings._ids, standings._cat, standings._rank
    names = standings._names
    cohorts = {c.category: c for c in spec.categories}
    n = len(ids)
    band = array("h", [-1]) * n
    for row in rows:
        try:
            i = standings.index(row.unit_id)
        except KeyError:
            raise CohortError(f"has a quota row but no rank row in cohort {spec.name}", row.unit_id) from None
        name = names[cat_of[i]]
        if row.category != name:
            raise CohortError(f"quota row says category {row.category}, its rank row {name}", row.unit_id)
        if band[i] >= 0:
            raise CohortError(f"has two quota rows in cohort {spec.name}", row.unit_id)
        cohort = cohorts.get(name)
        if cohort is not None and row.band == cohort.band_count:  # Result.band_index of a rating that is no band
            continue  # of the category (a vetoed 不合格 beside bands 先进/合格): it holds no band, as without a row
        if cohort is not None and not 0 <= row.band < cohort.band_count:
            raise CohortError(f"band {row.band} is not one of category {name}'s bands 0..{cohort.band_count - 1}",
                              row.unit_id)
        band[i] = row.band
    demoted = array("h", standings._demoted)
    quota = array("h", standings._quota)
    capped = {name: cohorts[name] for name in standings.categories if name in cohorts and cohorts[name].quotas}
    holders_of: dict[int, list[int]] = {}
    category_numbers = {name: c for c, name in enumerate(names) if name in capped}
    if category_numbers:
        members: dict[int, list[int]] = {c: [] for c in category_numbers.values()}
        for i in range(n):
            m = members.get(cat_of[i])
            if m is not None and band[i] >= 0:
                m.append(i)
        for name, c in category_numbers.items():
            cohort = capped[name]
            limits = _limits(cohort, standings.categories[name])
            holders_of = {}
            for i in members[c]:
                holders_of.setdefault(band[i], []).append(i)
            for b in range(cohort.band_count - 1):
                holders = holders_of.get(b, [])
                if b not in limits or len(holders) <= limits[b][0]:
                    continue
                limit, clause = limits[b]
                ranked = sorted((i for i in holders if rank[i]), key=rank.__getitem__)
                groups: list[list[int]] = []
                for i in ranked:
                    if groups and rank[groups[-1][0]] == rank[i]:
                        groups[-1].append(i)
                    else:
                        groups.append([i])
                unranked = [i for i in holders if not rank[i]]
                if unranked:
                    groups.append(unranked)
                kept: list[int] = []
                down: list[int] = []
                for group in groups:
                    if not down and len(kept) + len(group) <= limit:
                        kept.extend(group)
                    else:
                        down.extend(group)
                holders_of[b] = kept
                holders_of.setdefault(b + 1, []).extend(down)
                for i in down:
                    demoted[i] = b + 1
                    quota[i] = clause
    return Standings(standings.cohort, standings.categories, ids, names, cat_of, rank, standings._tied,
                     demoted, quota)
