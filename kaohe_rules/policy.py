"""The public face: :func:`load` a policy, then :meth:`Policy.evaluate` units.

``load`` runs the whole static pipeline (parse → build AST → link ``extends``
→ check → compile) and raises one :class:`~kaohe_rules.errors.PolicyError`
carrying every diagnostic.  A :class:`Policy` is immutable and thread-safe to
share; evaluation runs inside the engine's own decimal context.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import gc
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import cache as disk_cache
from . import limits
from .batch import serial
from .batch.items import BatchItem as BatchItem
from .batch.items import guarded_item
from .batch.items import unit_id_of as unit_id_of
from .batch.spec import PolicySpec
from .codegen.compiler import compile_policy
from .codegen.emitter import Site
from .errors import (
    CohortRequired,
    Diagnostic,
    EvaluationError,
    FactError,
    FactProblem,
    KaoheError,
    LedgerRequired,
    PolicyError,
)
from .language.checker import check
from .language.linker import link
from .language.model import CategoryPlan, CheckedPolicy
from .limits import MAX_ID_CHARS, MAX_NESTING, has_lone_surrogate, shown
from .numeric import ENGINE_CONTEXT, NegativeAmount
from .runtime.coerce.envelope import canonical_envelope
from .runtime.cohort import NO_STANDING, cohort_spec
from .runtime.evaluator import CompiledModule
from .runtime.facts import FactCoercer
from .runtime.fastfacts import LazyFastCoercers, SlowPath
from .runtime.ledger import Attribution, LedgerSpec
from .runtime.program import Program
from .runtime.result import Result, fast_result
from .runtime.standing import CohortSpec, Standing
from .source import BOM, SourceFile, UnreadablePolicy, display_name, point_span, read_policy_file

if TYPE_CHECKING:
    from .frames import UnitRow
    from .ledger.engine import LedgerInput

_getcontext = decimal.getcontext
_setcontext = decimal.setcontext
_thread_state = threading.local()


def _engine_context() -> decimal.Context:
    """This thread's own copy of ENGINE_CONTEXT (``setcontext`` keeps the object, so threads must not share one)."""
    try:
        return _thread_state.context  # type: ignore[no-any-return]
    except AttributeError:
        _thread_state.context = context = ENGINE_CONTEXT.copy()
        return context


_PLAIN = frozenset({dict, MappingProxyType, list, tuple, str, int, bool, float, Decimal, datetime.date, datetime.datetime, type(None)})


def _foreign_parts(unit: object, budget: int = 100_000, most: int = 20) -> list[tuple[str, str]]:
    """Where a unit holds something other than plain data (a subclass, a custom object), and its type.

    Called only when reading a unit failed unexpectedly: if the unit is all plain
    data the failure is kaohe's own (an internal error, reported as such);
    otherwise the caller's objects are to blame and the row is a fact error naming
    them all, sorted (which one raised depends on the order things were read).
    Iterative and bounded: a cyclic or 5,000-deep unit is walked without recursion.
    """
    found: list[tuple[str, str]] = []
    queue: collections.deque[tuple[str, object, int]] = collections.deque([("(unit)", unit, 0)])
    while queue and budget > 0:  # breadth first: a cycle or a deep list cannot hide a sibling
        path, value, depth = queue.popleft()
        budget -= 1
        kind = type(value)
        if kind not in _PLAIN:
            found.append((path, f"value of type {kind.__name__}"))
            continue
        if depth > MAX_NESTING:  # a cycle, or deeper than any unit kaohe reads: nothing to name down there
            continue
        if kind is dict or kind is MappingProxyType:  # a read-only view of a dict is plain data too
            for key, item in list(value.items())[:budget]:  # type: ignore[attr-defined]
                if type(key) is not str:
                    found.append((path, f"key of type {type(key).__name__}"))
                    continue
                name = key if len(key) <= MAX_ID_CHARS and not has_lone_surrogate(key) else shown(key)
                queue.append((name if path == "(unit)" else f"{path}.{name}", item, depth + 1))
        elif kind is list or kind is tuple:  # a cycle ends with the budget; a shared item is named at each place
            queue.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value[:budget]))  # type: ignore[index]
    return sorted(found)[:most]  # the same few whatever order the unit was walked in


def _arithmetic_message(exc: BaseException) -> str:
    if isinstance(exc, NegativeAmount):
        return str(exc)
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    return f"arithmetic error ({type(exc).__name__})"


def load(path_or_text: str | os.PathLike[str], *, name: str | None = None, cache: bool | None = None) -> Policy:
    """Load, check and compile a policy from a file path or from policy text.

    A string containing a newline or starting with ``policy``/``#`` is policy text;
    anything else is a path.  ``extends`` paths in text resolve against the
    current directory.  Raises :class:`PolicyError` with every diagnostic.
    ``cache=True`` reads and fills the on-disk cache of parse trees and compiled
    code (:mod:`kaohe_rules.cache`); ``None`` follows ``KAOHE_CACHE``.
    """
    with disk_cache.policy_cache(disk_cache.policy_cache_wanted(cache)):
        return _load(path_or_text, name)


def _load(path_or_text: str | os.PathLike[str], name: str | None) -> Policy:
    """Read the policy (a path: a regular UTF-8 file of at most MAX_POLICY_BYTES, never blocking) and load it.

    A leading byte-order mark is dropped from text and files alike (editors save one and
    never show it); the linker drops it too, so columns are the ones the author sees.
    """
    if isinstance(path_or_text, str) and path_or_text.startswith(BOM) and _looks_like_text(path_or_text[1:]):
        path_or_text = path_or_text[1:]
    if isinstance(path_or_text, os.PathLike) or not _looks_like_text(str(path_or_text)):
        path = Path(path_or_text)
        try:
            text = read_policy_file(path)
        except UnreadablePolicy as exc:
            if exc.missing:
                raise PolicyError([Diagnostic("K004", f"policy file not found: {display_name(str(path))}", None)]) from None
            raise PolicyError([Diagnostic("K004", f"cannot read policy file {display_name(str(path))}: {exc.reason}", None,
                                          hint=exc.hint or "policy files are UTF-8 text")]) from None
        return load_source(SourceFile(display_name(name or str(path)), text), path.parent)
    return load_source(SourceFile(display_name(name or "<policy>"), str(path_or_text)), None)


def _looks_like_text(value: str) -> bool:
    stripped = value.lstrip()
    return "\n" in value or stripped.startswith("policy") or stripped.startswith("#")


def load_source(source: SourceFile, base_dir: Path | None) -> Policy:
    """Run the static pipeline on one source (and its ancestors) and compile it.

    Deeply nested expressions recurse once per level in every stage: loading runs with
    more stack than Python's default (``limits.deep_policy_stack``, safe across threads),
    and what is still too deep is the diagnostic K009.
    """
    with limits.deep_policy_stack():
        return _load_source(source, base_dir)


def _load_source(source: SourceFile, base_dir: Path | None) -> Policy:
    # Loading allocates a tree of small objects that all stay alive: the cyclic
    # collector would traverse it again and again (15-25% of the time, growing
    # with the policy) for nothing.  Collect after, not during.
    collecting = gc.isenabled()
    gc.disable()
    try:
        linked = link(source, base_dir)
        if isinstance(linked, list):
            raise PolicyError(linked)
        checked = check(linked)
        if isinstance(checked, list):
            raise PolicyError(checked)
        return Policy(checked)
    except (RecursionError, MemoryError, SyntaxError):
        raise PolicyError([Diagnostic(
            "K009", "an expression nests too deeply to compile", point_span(source, 1, 1),
            hint="split long or deeply nested expressions into several let declarations")]) from None
    finally:
        if collecting:
            gc.enable()


class Policy:
    """A checked, compiled policy, ready to assess units."""

    def __init__(self, checked: CheckedPolicy) -> None:
        self.checked = checked
        self.compiled = compile_policy(checked)
        self.module = CompiledModule(self.compiled)
        self.coercer = FactCoercer(checked, self.module.derive)
        self._plans: dict[str, CategoryPlan] = checked.plans
        #: what results hold (not the Policy): the checked model, the module, display and tracing
        self.program = Program(checked, self.module)
        #: rating names by the index the evaluator returns (Result.rating reads it per unit)
        self.rating_names: tuple[str, ...] = self.program.rating_names
        # fast path for facts already in canonical types; anything else goes to self.coercer
        self._fast = LazyFastCoercers(checked, self.module)  # built per category on its first unit
        self._fast_coerce = self._fast.functions
        self._fast_assess = self._fast.assessors
        if disk_cache.active():  # with the disk cache on, reading the code objects is cheap: build them now
            self._fast.build_all()
        self._cohort_spec: CohortSpec | None = cohort_spec(checked)
        if self._cohort_spec is not None:  # issue #11 C: a unit alone is refused or provisional
            self.evaluate = self._evaluate_alone  # type: ignore[method-assign]
        self._ledger_fed: dict[str, tuple[LedgerSpec, ...]] = {}
        if self.module.ledgers:  # issue #16: a unit alone must supply its own list of a ledger-fed fact
            self._ledger_fed = self._fed_by_ledgers()
            self._evaluate_unbound = self.evaluate
            self.evaluate = self._evaluate_without_ledger  # type: ignore[method-assign]
            self._evaluate_in_cohort_unbound = self.evaluate_in_cohort
            self.evaluate_in_cohort = self._evaluate_in_cohort_without_ledger  # type: ignore[method-assign]

    # ------------------------------------------------------------ metadata
    # the policy's identity is its program's: one definition, in runtime/program.py
    @property
    def name(self) -> str:
        return self.program.name

    @property
    def label(self) -> str | None:
        return self.program.label

    @property
    def content_hash(self) -> str:
        return self.program.content_hash

    @property
    def categories(self) -> tuple[str, ...]:
        return self.program.categories

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return self.checked.warnings

    @property
    def fast_coercion_source(self) -> str:
        """The Python source of the generated fact fast path (for review and debugging)."""
        return self._fast.source()

    @property
    def generated_source(self) -> str:
        """The Python source the compiler generated (for review and debugging)."""
        return self.module.source

    def facts_for(self, category: str) -> tuple[str, ...]:
        return self._plans[category].facts

    def __repr__(self) -> str:
        return f"<Policy {self.name} {self.content_hash[:12]}>"

    # ---------------------------------------------------------- evaluation
    def evaluate(self, unit: Mapping[str, object], *, trace: bool = False, provisional: bool = False) -> Result:
        """Assess one unit (a mapping with id, category, facts); raises FactError / EvaluationError.

        A policy with a cohort block ranks units across a batch: there this raises
        :class:`CohortRequired` unless ``provisional=True`` (see :meth:`_evaluate_alone`).
        """
        if not trace:
            # The fast path (it is most of the cost of a small unit besides the policy
            # itself): an envelope in canonical form (runtime.coerce.envelope), facts in
            # canonical form checked and evaluated by one generated function
            # (codegen.facts.FactReaderGenerator.assess_function).  Anything else, and any
            # failure, takes the general path below, which decides and reports exactly.
            envelope = canonical_envelope(unit, self._fast_assess)
            if envelope is not None:
                unit_id, name, category, raw = envelope
                caller = _getcontext()
                try:
                    context = _thread_state.context
                except AttributeError:
                    context = _engine_context()
                _setcontext(context)  # cheaper than localcontext(), which copies the context every time
                try:
                    out, values = self._fast_assess[category](raw)
                except SlowPath:  # another spelling, or a problem: the generic coercer reads or reports it
                    _setcontext(caller)
                    return self._evaluate_generic(unit, fast=False)
                except Exception:  # noqa: S110 - an arithmetic failure: the general path locates and reports it
                    pass
                else:
                    return fast_result(self.program, self._plans[category], out, unit_id, name, category, values)
                finally:
                    _setcontext(caller)
        return self._evaluate_generic(unit, trace=trace)

    def _evaluate_generic(self, unit: Mapping[str, object], *, trace: bool = False, fast: bool = True,
                          standing: Standing | None = None) -> Result:
        """The general path: any envelope, any spelling, every problem reported; never an internal exception.

        Whatever a hostile unit does (a mapping whose methods raise, values whose
        ``__eq__`` or ``__hash__`` fail, a MemoryError), the caller gets a kaohe error
        for this unit only: a batch goes on with the next row.
        """
        try:
            unit_id, name, category, raw = canonical_envelope(unit, self._plans) or self.coercer.envelope(unit)
            facts = self._read_facts(unit_id, category, raw, fast=fast)
            return self._evaluate_facts(unit_id, name, category, facts, trace, standing)
        except KaoheError:
            raise
        except Exception as exc:
            raise _unexpected(unit, exc) from None

    def _read_facts(self, unit_id: str, category: str, raw: Mapping[str, object], *, fast: bool) -> dict[str, object]:
        """The coerced facts, by the generated coercion (``fast``) or else the generic one.

        Derived record fields are computed while reading, so this runs in the engine's
        context, and an arithmetic failure there is an EvaluationError naming them.
        """
        caller = _getcontext()
        _setcontext(_engine_context())
        try:
            if fast:
                try:
                    return self._fast_coerce[category](raw)
                except SlowPath:  # another spelling, or a problem: the generic coercer accepts it or reports it
                    pass
            return self.coercer.coerce(unit_id, category, raw)
        except (ZeroDivisionError, decimal.DecimalException) as exc:
            names = "/".join(name for name, record in self.checked.records.items() if record.lets)
            site = self.module.source_map.locate(exc.__traceback__) or self._fast.locate(exc.__traceback__)
            raise EvaluationError(unit_id, _arithmetic_message(exc), f"a derived field (let) of record {names}",
                                  site.span if site is not None else None) from None
        finally:
            _setcontext(caller)

    def _evaluate_facts(self, unit_id: str, name: str | None, category: str, facts: dict[str, object],
                        trace: bool, standing: Standing | None = None) -> Result:
        plan = self._plans[category]
        events: list[tuple[Any, ...]] | None = [] if trace else None
        function = self.module.traced[category] if trace else self.module.plain[category]
        caller = _getcontext()
        _setcontext(_engine_context())  # cheaper than localcontext(), which copies the context every time
        try:
            raw = function(facts, events) if standing is None else function(facts, events, standing)  # type: ignore[call-arg]
        except (ZeroDivisionError, decimal.DecimalException, NegativeAmount) as exc:
            site, first = self._failure_site(category, facts, exc, trace, standing)
            raise EvaluationError(unit_id, _arithmetic_message(first), site.where if site else None,
                                  site.span if site else None) from None
        except RecursionError:
            raise EvaluationError(unit_id, "the facts nest too deeply to evaluate") from None
        except Exception as exc:  # a bug in the engine, never the user's fault: report it plainly
            raise EvaluationError(unit_id, f"internal error while evaluating ({type(exc).__name__}: {exc})") from None
        finally:
            _setcontext(caller)
        result = Result(self.program, plan, raw, unit_id, name, category, facts, events)
        if standing is not None:
            result.set_standing(standing)
        return result

    def _failure_site(self, category: str, facts: dict[str, object], exc: BaseException,
                      traced: bool, standing: Standing | None = None) -> tuple[Site | None, BaseException]:
        """The clause an evaluation failed in, and the error to report: the failing generated line
        looked up in the compiler's source map.

        Only a failure in a loop the plain evaluator runs ahead of its statement (a hoisted
        aggregate, marked ``reordered``) is asked of the traced evaluator, which keeps the
        reference interpreter's order: with two faults in one statement it says which comes first.
        """
        module = self.module
        site = (module.traced_map if traced else module.source_map).locate(exc.__traceback__)
        if site is not None and not site.reordered:
            return site, exc
        try:
            self._run_traced(category, facts, [], standing)
        except Exception as first:  # the failure is expected: the traced evaluator's own place and error
            return module.traced_map.locate(first.__traceback__) or site, first
        return site, exc  # pragma: no cover - the traced evaluator computes the same values

    def _run_traced(self, category: str, facts: dict[str, object], events: list[tuple[Any, ...]],
                    standing: Standing | None = None) -> None:
        """The traced evaluator under the engine's context, recording into ``events`` as it goes."""
        self.program.run_traced(category, facts, events, standing)

    def evaluate_many(self, units: Iterable[Mapping[str, object]], *, trace: bool = False,
                      workers: int | None = None, ledgers: LedgerInput | None = None) -> Iterator[BatchItem]:
        """Assess many units in order; every bad row becomes a BatchItem with its error, none is lost.

        ``workers=N`` (N > 1) assesses in N processes (:mod:`kaohe_rules.batch.pool`): the
        same items in the same order, streamed; ``None`` or 1 assesses in this process.
        A policy with a cohort block ranks its units across the batch: the units are assessed
        together (:meth:`evaluate_cohort`), not one by one.

        ``ledgers`` (issue #16): the batch's shared events, ``{ledger name: [event, …]}``; the
        events are attributed (:meth:`attribute`) and every unit is assessed with the events
        charged to it.  The units are held (attribution reads them all first) and assessed in
        this process (``workers`` is then not used).
        """
        if ledgers is not None:  # issue #16
            return self._evaluate_with_ledgers(units, ledgers, trace=trace)
        if self._cohort_spec is not None:  # issue #11 C
            return iter(self.evaluate_cohort(units, trace=trace, workers=workers))
        if (workers is None or workers == 1) and not trace and self._plain_assessor():
            return self._evaluate_serially(units)
        return serial.evaluate_many(self, units, trace=trace, workers=workers)

    def _plain_assessor(self) -> bool:
        """Whether a row of a batch is assessed by :meth:`evaluate` as this class defines it (no ledger or cohort
        wrapper put in its place, no subclass overriding it or :meth:`assess_row`): then
        :meth:`_evaluate_serially` may run the fast path itself."""
        cls = type(self)
        return ("evaluate" not in self.__dict__ and cls.evaluate is Policy.evaluate
                and cls.assess_row is Policy.assess_row and cls._evaluate_generic is Policy._evaluate_generic)

    def _evaluate_serially(self, units: Iterable[Mapping[str, object]]) -> Iterator[BatchItem]:
        """``evaluate_many`` in this process, untraced: :meth:`evaluate`'s fast path for each row, with the
        per-batch lookups made once and no per-row wrapper (issue #13: a batch is never slower per unit than
        a loop of ``evaluate``).  A row the fast path does not take goes where ``evaluate`` sends it, guarded
        as :func:`serial.assess_row` guards it: every row yields one item, in order, whatever it holds.

        Units in a list or tuple (held already: reading ahead changes nothing) are assessed ``_CHUNK`` at a
        time under one switch to the engine's decimal context — switching costs about as much as the item
        each row needs — and handed out one by one, the caller's context in place for every item.  Any
        other iterable is read one unit per item, as it streams."""
        if not isinstance(units, (list, tuple)):
            for index, unit in enumerate(units):
                yield from self._assess_chunk(index, (unit,))
            return
        for start in range(0, len(units), _CHUNK):
            yield from self._assess_chunk(start, units[start:start + _CHUNK])

    def _assess_chunk(self, start: int, units: Sequence[object]) -> list[BatchItem]:
        """The items of rows ``start``, ``start + 1``… (``units``): the fast path for all of them under one
        context switch, then, in the caller's context, the general path (guarded) for the rows it did not take."""
        fast = self._fast_assess
        plans = self._plans
        program = self.program
        new, set_dict, item_class, make_result = _new, _set_dict, BatchItem, fast_result
        items: list[Any] = []
        append = items.append
        caller = _getcontext()
        try:
            context = _thread_state.context
        except AttributeError:
            context = _engine_context()
        _setcontext(context)
        try:
            for unit in units:
                envelope = canonical_envelope(unit, fast)
                if envelope is None:
                    append(_GENERAL)
                    continue
                unit_id, name, category, raw = envelope
                try:
                    out, values = fast[category](raw)
                except SlowPath:  # another spelling, or a problem: the generic coercer reads or reports it
                    append(_SLOW)
                    continue
                except Exception:  # an arithmetic failure: the general path locates and reports it
                    append(_GENERAL)
                    continue
                result = make_result(program, plans[category], out, unit_id, name, category, values)
                item = new(item_class)  # batch.items.result_item, inline: one per row
                set_dict(item, "__dict__", {"index": start + len(items), "unit_id": unit_id, "location": None,
                                            "error": None, "result": result})
                append(item)
        finally:
            _setcontext(caller)
        for offset, item in enumerate(items):
            if item is _GENERAL or item is _SLOW:
                unit = units[offset]
                items[offset] = guarded_item(start + offset, unit, lambda unit=unit, fast=item is _GENERAL:  # type: ignore[misc]
                                             self._evaluate_generic(unit, fast=fast))
        return items

    def evaluate_table(self, table: object, *, ledgers: LedgerInput | None = None,
                       batch_rows: int | None = None) -> Any:
        """Assess every row of a polars/pandas/Arrow table; a polars DataFrame of results (issue #13).

        One results row per input row, in order (columns: :mod:`kaohe_rules.columnar.results`); the
        columnar compiler assesses what it vectorises, the per-unit evaluator the rest (a
        :class:`~kaohe_rules.errors.ColumnarFallbackWarning` names each construct), so every row equals
        ``evaluate``'s result or error.  Needs polars (``pip install 'kaohe_rules[columnar]'``).
        """
        from .columnar.engine import evaluate_table
        from .columnar.frames import DEFAULT_BATCH_ROWS

        return evaluate_table(self, table, ledgers=ledgers, batch_rows=batch_rows or DEFAULT_BATCH_ROWS)

    def columnar_program(self) -> Any:
        """The policy compiled for the columnar engine (made once, on first use)."""
        program = self.__dict__.get("_columnar_program")
        if program is None:
            from .columnar.engine import compile_table_program

            program = self.__dict__["_columnar_program"] = compile_table_program(self)
        return program

    def assess_row(self, index: int, unit: object, *, trace: bool = False) -> BatchItem:
        """One row of a batch: its result, or the error that kept it from being assessed; never raises.

        The batch contract (docs/limits.md): every input row yields exactly one
        item, in input order, whatever the row holds.
        """
        return serial.assess_row(self, index, unit, trace=trace)

    @classmethod
    def from_spec(cls, spec: PolicySpec) -> Policy:
        """The policy ``spec`` describes, loaded again from its source (a worker that did not inherit it)."""
        return load_source(SourceFile(spec.name, spec.text), Path(spec.base_dir) if spec.base_dir else None)

    # ------------------------------------------------------------- display
    def display_value(self, name: str, value: object) -> object:
        """A fact/let/param value as people read it: enum members by name, records with names."""
        return self.program.display_value(name, value)

    def display_record(self, record: object) -> dict[str, object]:
        """A record (an item of a list fact) as people read it."""
        return self.program.display_record(record)

    # ------------------------------------------------------------ cohorts (issue #11 C)
    @property
    def cohort(self) -> CohortSpec | None:
        """What the cohort engine needs of the policy's cohort block; None for a policy without one."""
        return self._cohort_spec

    def _evaluate_alone(self, unit: Mapping[str, object], *, trace: bool = False, provisional: bool = False) -> Result:
        """``evaluate`` for a policy with a cohort block: refused (:class:`CohortRequired`) unless ``provisional``.

        A provisional result reads no standing (rank unset, counts 0, no quota applied) and
        says so in ``result.provisional`` and its explanation (暂定结果).
        """
        if not provisional:
            decl = self.checked.cohort.decl  # type: ignore[union-attr]
            raise CohortRequired(self.name, decl.name, decl.cite)
        return self.evaluate_in_cohort(unit, NO_STANDING, trace=trace)

    def evaluate_in_cohort(self, unit: Mapping[str, object], standing: Standing, *, trace: bool = False) -> Result:
        """Assess one unit of a cohort policy with a known standing (its cohort values are read from it;
        the quota step applies ``standing.demoted_to``).  The cohort engine's streaming and Dask paths call it."""
        if self._cohort_spec is None:
            raise TypeError(f"policy {self.name} has no cohort block: use policy.evaluate(unit)")
        if not trace:
            envelope = canonical_envelope(unit, self._fast_assess)
            if envelope is not None:
                unit_id, name, category, raw = envelope
                caller = _getcontext()
                _setcontext(_engine_context())
                try:
                    out, values = self._fast_assess[category](raw, standing)  # type: ignore[call-arg]
                except SlowPath:
                    _setcontext(caller)
                    return self._evaluate_generic(unit, fast=False, standing=standing)
                except Exception:  # noqa: S110 - an arithmetic failure: the general path locates and reports it
                    pass
                else:
                    result = Result(self.program, self._plans[category], out, unit_id, name, category, values, None)
                    result.set_standing(standing)
                    return result
                finally:
                    _setcontext(caller)
        return self._evaluate_generic(unit, trace=trace, standing=standing)

    def evaluate_cohort(self, units: Iterable[Mapping[str, object]], *, trace: bool = False,
                        workers: int | None = None, ledgers: LedgerInput | None = None) -> list[BatchItem]:
        """Assess a batch together: ranks, cohort values and quotas (issue #11 C); one item per row, in order.

        Steps: (1) every unit alone → its :class:`RankRow`; (2) the cohort engine ranks the rows of
        each category; (3) with quotas, every unit with its standing → its rating before quotas
        (a :class:`QuotaRow`), and the engine decides who is demoted; (4) every unit assessed a last
        time with its complete standing.  Bad rows are error items (none is lost); a row that could
        not be assessed makes every result of its category provisional (``result.provisional``), and
        a unit id given twice makes both rows error items naming each other.  ``workers`` is accepted
        for the batch signature; the passes run in this process.
        """
        from .cohort.stream import evaluate_cohort_stream  # the cohort driver (batch layer), loaded only here

        if self._cohort_spec is None:
            return list(self.evaluate_many(units, trace=trace, workers=workers, ledgers=ledgers))
        rows = list(units)  # held: each pass reads them again (a file streams through cohort.stream instead)
        return list(evaluate_cohort_stream(self, lambda: rows, trace=trace, ledgers=ledgers))

    # ------------------------------------------------------------ ledgers (issue #16)
    @property
    def ledgers(self) -> tuple[LedgerSpec, ...]:
        """The policy's ledger declarations with their compiled attribution rules; () without ledgers."""
        return self.program.ledgers

    def attribute(self, units: Iterable[Mapping[str, object]], ledgers: LedgerInput) -> Attribution:
        """Which events of ``ledgers`` are charged to which of ``units`` (and which are excluded, handed
        over, unattributed or bad): :func:`kaohe_rules.ledger.attribute` with this policy's fact rules."""
        from .ledger.engine import attribute

        return attribute(self.program, units, ledgers, coercer=self.coercer)

    def _evaluate_with_ledgers(self, units: Iterable[Mapping[str, object]], ledgers: LedgerInput, *,
                               trace: bool) -> Iterator[BatchItem]:
        """``evaluate_many(units, ledgers=…)``: attributed once, then each row assessed with its events."""
        from .cohort.stream import evaluate_cohort_stream
        from .ledger.assess import LedgerBound

        rows = list(units)  # held: attribution reads every unit before any is assessed
        bound = LedgerBound(self, self.attribute(rows, ledgers))
        if self._cohort_spec is not None:
            return iter(list(evaluate_cohort_stream(bound, lambda: rows, trace=trace)))
        return (bound.assess_row(index, unit, trace=trace) for index, unit in enumerate(rows))

    def _fed_by_ledgers(self) -> dict[str, tuple[LedgerSpec, ...]]:
        """Per category, the ledgers feeding one of its facts (built once, in ``__init__``)."""
        out: dict[str, tuple[LedgerSpec, ...]] = {}
        for spec in self.program.ledgers:
            for category, plan in self._plans.items():
                if spec.fact is not None and spec.fact in plan.facts:
                    out[category] = (*out.get(category, ()), spec)
        return out

    def _evaluate_without_ledger(self, unit: Mapping[str, object], *, trace: bool = False, provisional: bool = False,
                                 **kwargs: object) -> Result:
        """``evaluate`` for a policy with ledgers: a unit alone must supply its own list of each ledger-fed fact.

        Without it the list would be empty — silently wrong — so :class:`LedgerRequired` names the fact
        and the ledger; a unit that supplies its list is assessed as before (``result.from_ledger`` False).
        """
        if "ledgers" in kwargs:
            raise TypeError("a ledger needs its batch: use policy.evaluate_many([unit], ledgers=...) "
                            "rather than policy.evaluate(unit, ledgers=...)")
        if kwargs:
            raise TypeError(f"evaluate() got an unexpected keyword argument {next(iter(kwargs))!r}")
        self._require_own_lists(unit)
        if self._cohort_spec is not None:
            return self._evaluate_unbound(unit, trace=trace, provisional=provisional)
        return self._evaluate_unbound(unit, trace=trace)

    def _evaluate_in_cohort_without_ledger(self, unit: Mapping[str, object], standing: Standing, *,
                                           trace: bool = False) -> Result:
        """``evaluate_in_cohort`` for a policy with ledgers: the unit must supply its own lists (as ``evaluate``)."""
        self._require_own_lists(unit)
        return self._evaluate_in_cohort_unbound(unit, standing, trace=trace)

    def _require_own_lists(self, unit: Mapping[str, object]) -> None:
        """:class:`LedgerRequired` unless the unit supplies every ledger-fed fact of its category itself.

        A unit whose envelope cannot be read is left to the assessment, which reports it.
        """
        envelope: tuple[str, str | None, str, Mapping[str, object]] | None = canonical_envelope(unit, self._plans)
        if envelope is None:
            try:
                envelope = self.coercer.envelope(unit)
            except Exception:  # noqa: S110 - the assessment reports the envelope's problems
                return
        unit_id, _name, category, raw = envelope
        for spec in self._ledger_fed.get(category, ()):
            if not _supplies(raw, spec.fact or ""):
                raise LedgerRequired(unit_id, spec.fact or "", spec.name)

    def evaluate_with_ledger(self, unit: Mapping[str, object], attribution: Attribution, *, trace: bool = False,
                             provisional: bool = False, standing: Standing | None = None) -> Result:
        """Assess one unit of a batch whose ledgers ``attribution`` decided (issue #16).

        The unit's own facts are read and checked as always (the fast path when they are in
        canonical form), with each ledger-fed fact left out; then that fact is the list of the
        events charged to the unit — the validated event records themselves, shared by every
        unit charged, in ledger order (not validated again).  Refused, as a FactError of this
        unit: a unit the attribution found an error (its join facts, a bad event charged to it,
        its id given twice), and a unit that supplies a ledger-fed fact itself (two readings:
        its own list, or the ledger's events).  A cohort policy's unit needs ``standing`` or
        ``provisional=True``.
        """
        try:
            unit_id, name, category, raw = canonical_envelope(unit, self._plans) or self.coercer.envelope(unit)
        except KaoheError:
            raise
        except Exception as exc:  # a hostile unit
            raise _unexpected(unit, exc) from None
        problems = attribution.unit_problems.get(unit_id)
        if problems:
            raise FactError(unit_id, problems)
        fed = self._ledger_fed.get(category, ())
        specs = [spec for spec in fed if spec.name in attribution.supplied]
        if self._cohort_spec is not None and standing is None:
            if not provisional:
                decl = self.checked.cohort.decl  # type: ignore[union-attr]
                raise CohortRequired(self.name, decl.name, decl.cite)
            standing = NO_STANDING
        for spec in fed:
            if spec not in specs and not _supplies(raw, spec.fact or ""):  # a ledger this batch does not supply
                raise LedgerRequired(unit_id, spec.fact or "", spec.name)
        if not specs:  # no ledger of this batch feeds this unit: assessed as without ledgers
            if standing is not None:
                return self._evaluate_in_cohort_unbound(unit, standing, trace=trace)
            return self._evaluate_unbound(unit, trace=trace)
        twice = [spec for spec in specs if _supplies(raw, spec.fact or "")]
        if twice:
            raise FactError(unit_id, [FactProblem(
                unit_id, spec.fact or spec.name,
                f"is given by the unit while the ledger {spec.name} is supplied: the unit's own list, or the events "
                "the ledger charges to it — only one source", None,
                f"leave {spec.fact} out of the unit (the ledger decides), or assess without the ledger")
                for spec in twice])
        given = dict(raw)
        for spec in specs:
            given[spec.fact or ""] = []  # read as the empty list: the ledger's events are put in after
        try:
            facts = self._read_facts(unit_id, category, given, fast=True)
            for spec in specs:
                facts[spec.fact or ""] = attribution.items_of(unit_id, spec.fact or "")
            result = self._evaluate_facts(unit_id, name, category, facts, trace, standing)
        except KaoheError:
            raise
        except Exception as exc:  # the caller's objects, or an engine bug: reported as the general path does
            raise _unexpected(unit, exc) from None
        result.set_charged(attribution.charged_to(unit_id))
        return result

    # ------------------------------------------------------- DataFrames and notebooks (issue #15)
    def units_from_frame(self, frame: object, *, floats: str = "shortest") -> list[UnitRow]:
        """Every row of a pandas/polars DataFrame as a unit row, read as ``kaohe eval`` reads a CSV/XLSX
        file (:func:`kaohe_rules.frames.units_from_frame`: clerk habits kept, floats as the XLSX reader reads
        them, a bad row kept with its error)."""
        from .frames import units_from_frame

        return units_from_frame(self, frame, floats=floats)

    def evaluate_frame(self, frame: object, *, backend: str | None = None, floats: str = "shortest",
                       ledgers: LedgerInput | None = None) -> Any:
        """The results table of a DataFrame of units, as a pandas or polars DataFrame (by default the
        input's kind): one row per unit, error rows kept (:func:`kaohe_rules.frames.evaluate_frame`)."""
        from .frames import evaluate_frame

        return evaluate_frame(self, frame, backend=backend, floats=floats, ledgers=ledgers)

    def results_frame(self, results: object, *, backend: str = "pandas") -> Any:
        """Results, batch items or ``evaluate_table``'s table as a pandas/polars DataFrame of the results
        table (:func:`kaohe_rules.frames.results_frame`: Decimal values, never floats)."""
        from .frames import results_frame

        return results_frame(self, results, backend=backend)

    def _repr_html_(self) -> str:
        """The policy as compact HTML tables, for Jupyter (:func:`kaohe_rules.runtime.html.policy_html`)."""
        from .runtime.html import policy_html

        return policy_html(self.program)


#: rows a batch assesses under one switch to the engine's context (``Policy._evaluate_serially``): few, since
#: the rows of a chunk are alive together and a larger chunk wakes the cyclic collector more than it saves
#: (measured: 8 beats 1 and 64 on both bundled benchmarks)
_CHUNK = 8
_SLOW = object()  # a row the fast path refused: the general path, without the fast reader
_GENERAL = object()  # a row for the general path (another envelope, or an arithmetic failure to locate)
_new = object.__new__
_set_dict = object.__setattr__


def _supplies(raw: Mapping[str, object], fact: str) -> bool:
    """Whether a unit gives ``fact`` itself (an empty cell or ``None`` gives nothing)."""
    value = raw.get(fact)
    return value is not None and not (isinstance(value, str) and value == "")


def _unexpected(unit: object, exc: Exception) -> KaoheError:
    """The error of a unit whose reading failed unexpectedly: its foreign objects (a FactError), else ours."""
    unit_id = unit_id_of(unit)
    foreign = _foreign_parts(unit)
    if foreign:
        return FactError(unit_id, [FactProblem(
            unit_id, where, f"a {kind}, which kaohe does not read (it failed while the unit was read)",
            "plain data: mappings, lists, text, numbers, booleans, dates") for where, kind in foreign])
    return EvaluationError(unit_id, f"internal error while reading the unit ({type(exc).__name__}); "
                           "the unit was not assessed")
