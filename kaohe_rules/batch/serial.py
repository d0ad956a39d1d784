"""Batches in this process: every row yields exactly one :class:`~.items.BatchItem`, in input order.

``Policy.evaluate_many`` and ``Policy.assess_row`` are these functions; with
``workers > 1`` the same items come from :mod:`.pool` (imported only then, so a
serial batch never loads multiprocessing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, cast

from .items import Assessor, BatchItem, guarded_item

if TYPE_CHECKING:
    from ..ledger.engine import LedgerInput


def assess_row(policy: Assessor, index: int, unit: object, *, trace: bool = False) -> BatchItem:
    """One row of a batch: its result, or the error that kept it from being assessed; never raises.

    The batch contract (docs/limits.md): every input row yields exactly one
    item, in input order, whatever the row holds.
    """
    return guarded_item(index, unit, lambda: policy.evaluate(unit, trace=trace))  # type: ignore[arg-type]


def evaluate_many(policy: Assessor, units: Iterable[Mapping[str, object]], *, trace: bool = False,
                  workers: int | None = None, ledgers: LedgerInput | None = None) -> Iterator[BatchItem]:
    """Assess many units in order; every bad row becomes a BatchItem with its error, none is lost.

    ``workers=N`` (N > 1) assesses in N processes (:mod:`kaohe_rules.batch.pool`): the
    same items in the same order, streamed; ``None`` or 1 assesses in this process.
    ``ledgers`` (issue #16): the batch's events, attributed once (the units are held), then
    each unit assessed with its charged events in this process; ``policy`` must then be a
    :class:`~kaohe_rules.ledger.assess.LedgerPolicy` (``kaohe_rules.Policy`` is one).
    """
    if ledgers is not None:
        from ..ledger.assess import LedgerBound, LedgerPolicy

        owner = cast(LedgerPolicy, policy)
        rows = list(units)
        bound = LedgerBound(owner, owner.attribute(rows, ledgers))
        for index, unit in enumerate(rows):
            yield bound.assess_row(index, unit, trace=trace)
        return
    if workers is not None and workers > 1:
        from .pool import evaluate_many as evaluate_in_workers

        yield from evaluate_in_workers(policy, units, workers=workers, trace=trace)
        return
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    for index, unit in enumerate(units):
        yield policy.assess_row(index, unit, trace=trace)
