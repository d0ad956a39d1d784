"""The cohort stage's engine (issue #11): ranks and quotas over a batch's rows.

Batch layer: it reads the shared row and standing types (:mod:`kaohe_rules.runtime.standing`)
and never a whole result.  :func:`rank_rows` ranks the units of each category from their
:class:`~kaohe_rules.runtime.standing.RankRow`; :func:`apply_quotas` caps the bands from
their :class:`~kaohe_rules.runtime.standing.QuotaRow`.  ``Policy.evaluate_cohort``, the
streaming driver (:mod:`kaohe_rules.cohort.stream`) and the Dask path call them.
"""

from __future__ import annotations

from .engine import AVERAGE_CONTEXT, CategoryCounts, CohortError, Standings, apply_quotas, quota_limit, rank_rows

__all__ = ["AVERAGE_CONTEXT", "CategoryCounts", "CohortError", "Standings", "apply_quotas", "quota_limit",
           "rank_rows"]
