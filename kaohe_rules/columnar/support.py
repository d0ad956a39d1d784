"""What of a policy the columnar compiler vectorises, and what it leaves to the per-unit evaluator.

A :class:`Fallback` names one construct the compiler does not vectorise (``veto 突破指标``'s ``then
downgrade``, a division, a ledger …) with where it is written; :class:`Support` is the answer for a whole
policy.  The engine warns with every fallback (:class:`~kaohe_rules.errors.ColumnarFallbackWarning`) and
assesses the rows that need it per unit, so a construct the compiler cannot vectorise costs speed, never
correctness.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Fallback:
    """One construct the columnar compiler leaves to the per-unit evaluator, and where it is written."""

    construct: str  # what it is, as a policy author writes it: "division (/)", "ledger 事故台账", "cohort"
    where: str  # where: "policies/x.kh:120:5" or a declaration's name
    categories: tuple[str, ...] = ()  # the categories whose units it sends per unit (): every category

    def __str__(self) -> str:
        scope = f" (units of {', '.join(self.categories)})" if self.categories else ""
        return f"{self.construct} at {self.where}{scope}"


@attrs.frozen
class Support:
    """How a policy's units are assessed by :meth:`Policy.evaluate_table`: columnar, or per unit and why."""

    fallbacks: tuple[Fallback, ...]

    @property
    def vectorised(self) -> bool:
        """Whether every category is assessed by the columnar compiler (rows with unclean data aside)."""
        return not self.fallbacks

    def per_unit_categories(self, every: tuple[str, ...]) -> tuple[str, ...]:
        """The categories whose units go per unit (a fallback without categories sends them all)."""
        out: list[str] = []
        for fallback in self.fallbacks:
            for category in fallback.categories or every:
                if category not in out:
                    out.append(category)
        return tuple(out)

    def message(self) -> str:
        """The warning text: every construct that sends units per unit."""
        listed = "; ".join(str(f) for f in self.fallbacks)
        return f"assessed per unit, not columnar: {listed}"
