"""The columnar batch engine (issue #13): a policy compiled to vectorised expressions over a column store.

``policy.evaluate_table(table)`` takes a polars/pandas/Arrow table of units (one row per unit: ``id``,
``name``, ``category`` and one column per fact, lists of records as list-of-struct columns) and returns a
polars DataFrame of results, one row per input row in input order (the columns: :mod:`.results`).

Rows the compiled expressions cannot assess exactly — a construct the columnar compiler does not vectorise
(named in a :class:`~kaohe_rules.errors.ColumnarFallbackWarning`), or a row whose data the vectorised reader
does not certify clean — are assessed by the per-unit evaluator, so every row's result is the one
``policy.evaluate`` gives; the ``engine`` column says which path assessed each row.

The package sits at the batch layer and imports polars only when used (``pip install 'kaohe_rules[columnar]'``).
"""

from __future__ import annotations

from .results import MONEY_SCALE, POINT_SCALE, ResultColumns, differences, result_columns
from .support import Fallback, Support

__all__ = ["MONEY_SCALE", "POINT_SCALE", "Fallback", "ResultColumns", "Support", "differences", "result_columns"]
