"""The exception tree of kaohe_rules, rooted in :class:`KaoheError`.

Users catch one base class; each subclass carries structured detail
(diagnostics for policies, problems for facts) so tools can render or
serialise them without parsing messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from .source import Span


@attrs.frozen
class Diagnostic:
    """One problem found in a policy: a code, a message, where, and a hint."""

    code: str
    message: str
    span: Span | None
    hint: str | None = None
    severity: str = "error"

    @property
    def file(self) -> str | None:
        return self.span.file if self.span else None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def render(self) -> str:
        """Render like a compiler: location, code, message, caret excerpt, hint."""
        where = self.span.location() + ": " if self.span else ""
        parts = [f"{where}{self.severity}[{self.code}]: {self.message}"]
        if self.span is not None:
            excerpt = self.span.excerpt()
            if excerpt:
                parts.append(excerpt)
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "span": self.span.to_dict() if self.span else None,
        }


class KaoheError(Exception):
    """Base class of every error kaohe_rules raises on purpose.

    Every kaohe error survives pickling (``pickle.loads(pickle.dumps(e))`` has the same
    class, fields and message): a process-parallel batch sends the errors of its rows
    from the worker processes.  An error whose ``__init__`` takes more than the message
    says in :meth:`_init_args` what to call it with; attributes set afterwards (such as
    ``__notes__``) travel as pickle state.
    """

    #: The attributes :meth:`_init_args` passes to ``__init__``; the rest of ``__dict__`` is pickle state.
    _init_fields: tuple[str, ...] = ()

    def _init_args(self) -> tuple[object, ...]:
        """The arguments that rebuild this error; by default the message (``Exception.args``)."""
        return self.args

    def __reduce__(self) -> tuple[object, ...]:
        # BaseException's own __reduce__ calls type(self)(*self.args) — the rendered
        # message — which fails for errors built from structured detail.
        state = {k: v for k, v in self.__dict__.items() if k not in self._init_fields}
        return (type(self), self._init_args(), state or None)


class PolicyError(KaoheError):
    """A policy could not be loaded; carries every diagnostic found, not just the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        head = f"{len(errors)} error(s) in policy"
        super().__init__(head + "\n" + "\n".join(d.render() for d in self.diagnostics))

    _init_fields = ("diagnostics",)

    def _init_args(self) -> tuple[object, ...]:
        return (self.diagnostics,)

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)


@attrs.frozen
class FactProblem:
    """One bad fact of one unit: which fact, what is wrong, what was expected."""

    unit: str
    fact: str
    message: str
    expected: str | None = None
    hint: str | None = None

    def render(self) -> str:
        text = f"unit {self.unit!r}: fact {self.fact!r}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        if self.hint:
            text += f"; {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "fact": self.fact,
            "message": self.message,
            "expected": self.expected,
            "hint": self.hint,
        }


class FactError(KaoheError):
    """A unit's facts are bad; carries every problem of that unit."""

    def __init__(self, unit: str, problems: Sequence[FactProblem]) -> None:
        self.unit = unit
        self.problems: tuple[FactProblem, ...] = tuple(problems)
        super().__init__("\n".join(p.render() for p in self.problems))

    _init_fields = ("unit", "problems")

    def _init_args(self) -> tuple[object, ...]:
        return (self.unit, self.problems)


class EvaluationError(KaoheError):
    """A well-typed unit could not be evaluated (for example a division by zero).

    ``where`` names the clause in words (``target t, rule 2〔cite〕``); ``span`` is its
    place in the policy source, found from the failing generated line (the compiler's
    source map), or None when the failure is not in one clause.
    """

    def __init__(self, unit: str, message: str, where: str | None = None, span: Span | None = None) -> None:
        self.unit = unit
        self.message = message  # what went wrong, without the unit and the place (kept to rebuild the error)
        self.where = where
        self.span = span
        text = f"unit {unit!r}: {message}"
        if where:
            text += f" (in {where})"
        super().__init__(text)

    _init_fields = ("unit", "message", "where", "span")

    def _init_args(self) -> tuple[object, ...]:
        return (self.unit, self.message, self.where, self.span)


class CohortRequired(KaoheError):
    """A unit of a policy that ranks units across a batch was assessed alone (issue #11 C).

    Its rank and the quotas need every unit of the batch: ``policy.evaluate_cohort(units)``
    assesses them together; ``policy.evaluate(unit, provisional=True)`` gives a result
    without rank, marked provisional.
    """

    _init_fields = ("policy", "cohort", "cite")

    def __init__(self, policy: str, cohort: str, cite: str | None = None) -> None:
        self.policy = policy
        self.cohort = cohort
        self.cite = cite
        where = f"cohort {cohort}" + (f", {cite}" if cite else "")
        super().__init__(f"policy {policy} ranks units across a batch ({where}): assess them together with "
                         "policy.evaluate_cohort(units), or pass provisional=True for a result without rank")

    def _init_args(self) -> tuple[object, ...]:
        return (self.policy, self.cohort, self.cite)


class LedgerRequired(KaoheError):
    """A unit whose list comes from a shared ledger was assessed without the ledger (issue #16).

    The events charged to a unit are decided over the whole batch's ledger: assess with
    ``policy.evaluate_many(units, ledgers=...)`` (or ``evaluate_cohort``), or let the unit
    supply its own list (backwards compatible).  Never the empty list silently.
    """

    _init_fields = ("unit", "fact", "ledger")

    def __init__(self, unit: str, fact: str, ledger: str) -> None:
        self.unit = unit
        self.fact = fact
        self.ledger = ledger
        # the remedy for each way in: the command line (--ledger, the document's "ledgers") and Python
        super().__init__(f"unit {unit}: {fact} comes from the ledger {ledger}, which was not supplied: give the "
                         f"batch's ledger (kaohe … --ledger {ledger}=FILE, or \"ledgers\" beside \"units\" in the "
                         f"units document; in Python policy.evaluate_many(units, ledgers={{{ledger!r}: [...]}})), or "
                         f"supply the unit's own {fact} list")

    def _init_args(self) -> tuple[object, ...]:
        return (self.unit, self.fact, self.ledger)


class UnitInputError(KaoheError):
    """A whole unit file could not be read (unknown format, unreadable, invalid JSON).

    ``key`` and ``fields``, when given, name the text in the message catalogue
    (:mod:`kaohe_rules.messages`) the message was made from, so a front end can show it
    in the user's language without parsing the English; the message itself is the
    English text (what ``str()`` gives, and what kaohe has always printed).
    """

    def __init__(self, message: str, key: str | None = None, fields: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.fields: dict[str, object] = dict(fields or {})


class ColumnarFallbackWarning(UserWarning):
    """``evaluate_table`` assessed some units per unit, not columnar: the message names each construct why.

    The results are the per-unit evaluator's (never a guess); only the speed differs.  A warning, not an
    error, so that a policy the columnar compiler cannot fully vectorise still runs (issue #13).
    """


class UsageError(Exception):
    """A command-line mistake (bad arguments, an output file that may not be written): exit code 2.

    Not a :class:`KaoheError`: it is about how kaohe was called, not about a policy or a
    unit.  It lives here, with the other errors, so that library modules that refuse an
    output (``outfile``) need not import the command line.  ``key`` and ``fields`` as for
    :class:`UnitInputError`.
    """

    def __init__(self, message: str, key: str | None = None, fields: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.fields: dict[str, object] = dict(fields or {})

