"""``verify(policy)``: every law of :mod:`.laws` on any policy, with one call, and its report.

Apart from :mod:`.laws` (the laws, usable without hypothesis) and :mod:`.runner`
(generating units under hypothesis, which imports the laws): this module imports
both, so neither imports the other and the runner loads only when ``verify`` runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import KaoheError
from ..runtime.result import jsonable
from .laws import LAWS, LawViolation, check_result, static_violations

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result

_TITLES = {law.name: law.title for law in LAWS}


@attrs.frozen
class LawFailure:
    law: str
    category: str | None
    message: str
    units: tuple[dict[str, Any], ...]
    explanations: tuple[str, ...]

    @property
    def title(self) -> str:
        return _TITLES[self.law]

    def to_dict(self) -> dict[str, object]:
        return {"law": self.law, "title": self.title, "category": self.category, "message": self.message,
                "units": [jsonable(u) for u in self.units], "explanations": list(self.explanations)}

    def render(self) -> str:
        lines = [f"FAILED law {self.law} — {self.title}" + (f" (category {self.category})" if self.category else ""),
                 f"  {self.message}"]
        for index, unit in enumerate(self.units):
            label = "the unit" if len(self.units) == 1 else f"unit {'AB'[index] if index < 2 else index + 1}"
            lines.append(f"\n  {label} (shrunk):")
            lines.extend("    " + line for line in unit_json(unit).splitlines())
            if index < len(self.explanations) and self.explanations[index]:
                lines.append(f"\n  explanation of {label}:")
                lines.extend("    " + line for line in self.explanations[index].splitlines())
        return "\n".join(lines)


@attrs.frozen
class VerifyReport:
    policy: str
    examples: int
    categories: tuple[str, ...]
    failures: tuple[LawFailure, ...]
    checked: int  # units evaluated against the laws

    @property
    def ok(self) -> bool:
        return not self.failures

    def failed_laws(self) -> set[str]:
        return {f.law for f in self.failures}

    def to_dict(self) -> dict[str, object]:
        return {"policy": self.policy, "ok": self.ok, "examples": self.examples, "categories": list(self.categories),
                "units_checked": self.checked, "laws": [{"name": law.name, "title": law.title,
                                                        "ok": law.name not in self.failed_laws()} for law in LAWS],
                "failures": [f.to_dict() for f in self.failures]}

    def render(self) -> str:
        failed = self.failed_laws()
        lines = [f"{self.policy}: {len(LAWS)} laws over {self.checked} generated units "
                 f"({self.examples} examples per category: {', '.join(self.categories)})"]
        width = max(len(law.name) for law in LAWS)  # the names in one column, however long the newest law's
        for law in LAWS:
            lines.append(f"  {'FAIL' if law.name in failed else 'ok  '}  {law.name:<{width}} {law.title}")
        for failure in self.failures:
            lines.append("")
            lines.append(failure.render())
        lines.append("")
        lines.append("all laws hold" if self.ok else f"{len(self.failures)} law failure(s)")
        return "\n".join(lines)


def unit_json(unit: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(unit), ensure_ascii=False, indent=1)


def verify(policy: Policy, *, examples: int = 60, categories: Sequence[str] | None = None,
           units: Sequence[Mapping[str, Any]] = (), seed: int | None = None, full: bool = True,
           lang: str = "zh") -> VerifyReport:
    """Check every law of :data:`LAWS` on ``policy``; ``examples`` hypothesis examples per category.

    ``units`` (e.g. the policy's sample units) are checked as they are and used as
    starting points for generated units.  Deterministic unless ``seed`` is given.
    """
    from .runner import run_laws

    cats = tuple(categories) if categories else policy.categories
    failures: list[LawFailure] = []
    for law, category, message in static_violations(policy):
        if category in cats:
            failures.append(LawFailure(law, category, message, (), ()))
    counter = [0]

    def explain(result: Result | None) -> str:
        return "" if result is None else result.explain(lang=lang, full=full)

    def to_failure(category: str | None, exc: LawViolation) -> LawFailure:
        return LawFailure(exc.law, category, exc.message, tuple(dict(u) for u in exc.units),
                          tuple(explain(r) for r in exc.results))

    for unit in units:
        if unit.get("category") not in cats:
            continue
        try:
            result = policy.evaluate(unit)
        except KaoheError:
            continue  # a real unit with bad facts is the data's problem, not a law's
        counter[0] += 1
        try:
            check_result(policy, unit, result)
        except LawViolation as violation:
            failures.append(to_failure(result.category, violation))
    for category in cats:
        for exc in run_laws(policy, category, examples=examples, near=[u for u in units if u.get("category") == category],
                            seed=seed, counter=counter):
            failures.append(to_failure(category, exc))
    return VerifyReport(policy.label or policy.name, examples, cats, tuple(failures), counter[0])

