"""Units assessed with their batch's ledgers (issue #16): a policy bound to one :class:`Attribution`.

The batch paths (``evaluate_many``, the cohort stream driver) take an assessor and call its
``evaluate`` / ``evaluate_in_cohort`` / ``assess_row`` per row.  :class:`LedgerBound` is such an
assessor: the policy, with every unit's charged events already decided by the attribution
engine, so each row is assessed with its charged list injected
(``policy.evaluate_with_ledger``).  The paths themselves need not know about ledgers, and a
batch without ledgers never builds one.

The policy is reached only through :class:`LedgerPolicy` (``kaohe_rules.Policy`` is one), so
this module never imports the facade.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from ..batch.items import BatchItem, guarded_item
from ..runtime.ledger import Attribution
from ..runtime.program import Program
from ..runtime.standing import CohortSpec, Standing

if TYPE_CHECKING:
    from ..batch.spec import PolicySpec
    from ..runtime.result import Result
    from .engine import LedgerInput

__all__ = ["LedgerBound", "LedgerPolicy"]


class LedgerPolicy(Protocol):
    """What assessing with ledgers needs of a policy (``kaohe_rules.Policy`` is one)."""

    @property
    def program(self) -> Program: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def cohort(self) -> CohortSpec | None: ...

    def attribute(self, units: Iterable[Mapping[str, object]], ledgers: LedgerInput) -> Attribution: ...

    def evaluate_with_ledger(self, unit: Mapping[str, object], attribution: Attribution, *, trace: bool = False,
                             provisional: bool = False, standing: Standing | None = None) -> Result: ...


class LedgerBound:
    """A policy bound to one batch's attribution: an assessor the batch and cohort drivers take as is."""

    def __init__(self, policy: LedgerPolicy, attribution: Attribution) -> None:
        self.policy = policy
        self.attribution = attribution

    @property
    def program(self) -> Program:
        return self.policy.program

    @property
    def content_hash(self) -> str:
        return self.policy.content_hash

    @property
    def cohort(self) -> CohortSpec | None:
        return self.policy.cohort

    def evaluate(self, unit: Mapping[str, object], *, trace: bool = False, provisional: bool = False) -> Result:
        return self.policy.evaluate_with_ledger(unit, self.attribution, trace=trace, provisional=provisional)

    def evaluate_in_cohort(self, unit: Mapping[str, object], standing: Standing, *, trace: bool = False) -> Result:
        return self.policy.evaluate_with_ledger(unit, self.attribution, trace=trace, standing=standing)

    def assess_row(self, index: int, unit: object, *, trace: bool = False) -> BatchItem:
        """One row: its result, or the error that kept it from being assessed; never raises."""
        return guarded_item(index, unit, lambda: self.evaluate(unit, trace=trace))  # type: ignore[arg-type]

    def from_spec(self, spec: PolicySpec) -> LedgerBound:  # pragma: no cover - workers are not used with ledgers
        raise TypeError("a batch with ledgers is assessed in one process")
