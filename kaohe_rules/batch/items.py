"""One row of a batch, as the API, the CLI, the workers and the audit tools all see it.

:class:`BatchItem` is a row's result or the error that kept it from being assessed;
:class:`ErrorEntry` is that error as the ``errors`` of a JSON document and the lines
on standard error show it (it used to be two private helpers of ``cli`` that the
worker code and ``audit.cli`` imported).  :class:`Assessor` is what a batch needs of
a policy, so this layer never imports the facade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from ..errors import EvaluationError, FactError, FactProblem, KaoheError
from ..limits import MAX_ID_CHARS, has_lone_surrogate, int_problem, shown
from ..messages import FactNamer, entry_text
from ..runtime.program import Program
from ..runtime.result import Result
from ..runtime.templates import made

if TYPE_CHECKING:
    from ..unitio import UnitRow
    from .spec import PolicySpec

T = TypeVar("T")


class Assessor(Protocol):
    """What a batch runs against: a loaded policy (``kaohe_rules.Policy`` is one)."""

    @property
    def program(self) -> Program: ...

    @property
    def content_hash(self) -> str: ...

    def evaluate(self, unit: Mapping[str, object], *, trace: bool = False) -> Result: ...

    def assess_row(self, index: int, unit: object, *, trace: bool = False) -> BatchItem: ...

    def from_spec(self, spec: PolicySpec) -> Assessor:
        """The same policy loaded again from its source (in a worker process that did not inherit it)."""
        ...


def unit_id_of(unit: object) -> str:
    """The id of a unit for an error row, whatever the unit is (never raises)."""
    try:
        unit_id = unit.get("id") if isinstance(unit, Mapping) else None
    except Exception:
        unit_id = None
    if isinstance(unit_id, int) and not isinstance(unit_id, bool) and int_problem(unit_id) is None:
        return str(int.__int__(unit_id))
    if isinstance(unit_id, str) and unit_id.strip() and len(unit_id) <= MAX_ID_CHARS and not has_lone_surrogate(unit_id):
        return str.__str__(unit_id)  # a subclass's own methods never reach a message
    return "?" if unit_id is None else shown(unit_id)


@attrs.frozen(slots=False)  # an instance dict: a batch makes one per row with runtime.templates.made (issue #13)
class BatchItem:
    """One row of a batch: the result, or the error that kept it from being assessed."""

    index: int
    unit_id: str | None
    result: Result | None
    error: KaoheError | None
    location: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def problems(self) -> tuple[FactProblem, ...]:
        return self.error.problems if isinstance(self.error, FactError) else ()


def rendered(item: BatchItem, render: Callable[[Result], T]) -> tuple[T | None, BatchItem]:
    """``render(item.result)``, or None and the row turned into an error row if rendering fails.

    Rendering happens per row, while the row is at hand: a result that cannot be
    rendered costs that row only, never the rows after it (the batch contract).
    """
    result = item.result
    assert result is not None
    try:
        return render(result), item
    except Exception as exc:
        unit_id = item.unit_id if item.unit_id is not None else result.unit_id
        error = EvaluationError(unit_id, f"internal error while rendering the result "
                                f"({type(exc).__name__}); the unit was not assessed")
        return None, attrs.evolve(item, result=None, error=error)


@attrs.frozen
class ErrorEntry:
    """A row that was not assessed: where it is, which unit, and every problem (the documented error format)."""

    index: int
    location: str | None
    unit: str | None
    problems: tuple[Mapping[str, Any], ...]

    @classmethod
    def of(cls, row: UnitRow, item: BatchItem | None) -> ErrorEntry:
        """The entry of an unreadable row (``item`` None) or of a row whose item holds an error."""
        if item is None:
            return cls(row.index, row.location, None, ({"message": row.error},))
        err = item.error
        problems = tuple(p.to_dict() for p in getattr(err, "problems", ())) or ({"message": str(err)},)
        return cls(row.index, row.location, item.unit_id, problems)

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> ErrorEntry:
        return cls(entry["index"], entry["location"], entry["unit"], tuple(entry["problems"]))

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "location": self.location, "unit": self.unit,
                "problems": [dict(p) for p in self.problems]}

    def render(self, lang: str | None = None, namer: FactNamer | None = None) -> str:
        """The entry as ``kaohe`` writes it to standard error: the location, then one line per problem.

        ``lang`` None or ``"en"``: the English text kaohe has always printed; ``"zh"``: Chinese,
        naming each fact by its label and clause (``namer``), from :mod:`kaohe_rules.messages`.
        """
        return entry_text(self.to_dict(), lang, namer)


def error_entry(row: UnitRow, item: BatchItem | None) -> dict[str, object]:
    """:meth:`ErrorEntry.of` as the plain dict that documents hold and workers send back."""
    return ErrorEntry.of(row, item).to_dict()


def error_text(entry: Mapping[str, Any], lang: str | None = None, namer: FactNamer | None = None) -> str:
    """The standard-error text of an entry dict (:meth:`ErrorEntry.render`)."""
    return ErrorEntry.from_dict(entry).render(lang, namer)


def guarded_item(index: int, unit: object, assess: Callable[[], Result]) -> BatchItem:
    """``assess()``'s result as row ``index``'s item, or the error that kept it from being
    assessed: never raises (the batch contract), whichever way the row is assessed — alone,
    or within its cohort with a standing (issue #11)."""
    try:
        result = assess()
    except (FactError, EvaluationError) as exc:
        return BatchItem(index, exc.unit, None, exc)
    except Exception as exc:  # a KaoheError of another kind, or an engine bug: still one error row
        unit_id = unit_id_of(unit)
        error = exc if isinstance(exc, KaoheError) else EvaluationError(
            unit_id, f"internal error ({type(exc).__name__}); the unit was not assessed")
        return BatchItem(index, unit_id, None, error)
    return result_item(index, result)


def result_item(index: int, result: Result) -> BatchItem:
    """The item of a row assessed without error (``BatchItem(index, result.unit_id, result, None)``, made
    without attrs' ``__init__``: a batch makes one per row, issue #13)."""
    return made(BatchItem, {"index": index, "unit_id": result.unit_id, "result": result, "error": None,
                            "location": None})
