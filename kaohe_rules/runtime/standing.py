"""A unit's standing in its cohort: the data the cohort stage passes between its steps.

Rules across units (issue #11: 名次, 前N名, 优秀不超过30%) need every unit of a batch
assessed before any unit's final result is known.  The stage is split so that it
needs only a few values per unit, never whole results (a million-unit cohort runs in
bounded memory):

1. every unit is assessed alone; its :class:`RankRow` (id, category, whether it is
   ranked, its ranking keys, its final score) is all the stage keeps of it;
2. the cohort engine (:mod:`kaohe_rules.cohort`) ranks the rows of each category;
3. where a policy has quotas, each ranked unit is assessed again with its
   :class:`Standing` (outcomes and band ``requires`` may read the rank), and its
   rating goes back to the engine as a :class:`QuotaRow`, which decides who is demoted;
4. every unit is assessed a last time with its complete :class:`Standing`.

These classes live in the runtime layer because a :class:`~kaohe_rules.runtime.result.Result`
carries its standing; the engine that computes them sits above (``kaohe_rules.cohort``).
"""

from __future__ import annotations

from decimal import Decimal

import attrs


@attrs.frozen
class QuotaRule:
    """``quota 优秀 at most 30%``: at most ``limit`` units, or ``share`` of the base, hold ``band``."""

    band: int  # index into the category's bands, 0 = the best band
    limit: int | None  # at most this many units ...
    share: Decimal | None  # ... or at most this share (0..1) of the base, rounded down (不超过)
    of_ranked: bool  # the base is the ranked units (True) or every assessed unit of the category (False)
    clause: int  # index of the quota in its cohort declaration (for explanations and traces)


@attrs.frozen
class CategoryCohort:
    """The cohort rules of one category: its number of bands and its quotas (best band first)."""

    category: str
    band_count: int
    quotas: tuple[QuotaRule, ...]


@attrs.frozen
class CohortSpec:
    """What the engine needs to know of a policy's cohort declaration; built from the checked policy."""

    name: str  # the cohort declaration's name
    categories: tuple[CategoryCohort, ...]  # the categories ranked (each is ranked on its own)
    key_count: int  # number of ranking keys; every RankRow of this policy has exactly that many


@attrs.frozen
class RankRow:
    """All the cohort stage keeps of a unit after its first assessment."""

    unit_id: str
    category: str
    ranked: bool  # the unit satisfies the cohort's ``among`` condition (and its category is ranked)
    keys: tuple[Decimal, ...]  # oriented so that larger is better (a ``lower first`` key is negated)
    score: Decimal  # the unit's final score (after score effects): what ``best`` and ``average`` are of


@attrs.frozen
class QuotaRow:
    """A unit's rating before quotas (assessed with its rank known), for the quota step."""

    unit_id: str
    category: str
    band: int  # index of the unit's rating among the category's bands, 0 = best


@attrs.frozen
class Standing:
    """A unit's place in its cohort; what ``rank``, ``ranked_count``, ``best`` … read.

    ``rank`` is None for a unit that is not ranked (it fails ``among``).  Ties share a
    rank and the next rank is skipped (1, 2, 2, 4).  ``demoted_to`` is the band the quota
    step left the unit in when a quota demoted it (None: no quota applied to it), and
    ``quota`` the index of the quota that did.
    """

    cohort: str
    rank: int | None
    ranked_count: int  # units ranked in the unit's category
    unit_count: int  # units of the category assessed in the batch (参评单位)
    best: Decimal | None  # the highest final score among the ranked units
    average: Decimal | None  # their mean final score (engine context, 28 significant digits)
    tied: int = 1  # how many ranked units share this rank (1: no tie)
    demoted_to: int | None = None
    quota: int | None = None
    provisional: str | None = None  # why the standing may change (units of the category not assessed), or None
