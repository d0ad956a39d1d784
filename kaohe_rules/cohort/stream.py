"""Assess a cohort policy's units from a file in bounded memory: passes over a re-readable input.

``Policy.evaluate_cohort(units)`` holds every row; a file of a million units need not be
held at all.  The cohort stage needs only a :class:`RankRow` per unit, so this driver
reads the input once per pass and keeps, between passes, nothing but the engine's
compact standings (about 90 bytes a unit, docs/performance.md) and five bytes a row of
its own (the row's state and a CRC-32 of its unit id):

1. read every row, assess it alone (``policy.evaluate(unit, provisional=True)``) and feed
   its ``result.rank_row`` straight to :func:`~kaohe_rules.cohort.rank_rows`;
2. only when the policy has quotas: read again, assess each unit with its standing
   (``policy.evaluate_in_cohort``) and feed ``QuotaRow(unit, category, result.band_index)``
   to :func:`~kaohe_rules.cohort.apply_quotas`;
3. read a last time and yield each row's final result (``evaluate_in_cohort`` with its
   complete standing), in input order, as it is made — no result is kept.

One item per row, none lost, as in every batch (docs/limits.md).  A row that could not
be read or assessed is an error item, and makes the standings of its category (every
category, when its category is unknown) provisional, as ``evaluate_cohort`` does.  A unit
id given twice makes both rows error items naming each other (a rerun of pass 1 leaves
them out).  The input must read the same in every pass: a row whose unit id differs from
pass 1's, or a different number of rows, stops the run with a :class:`CohortError`
rather than rank the wrong units.

The policy is reached only through :class:`CohortAssessor` (``kaohe_rules.Policy`` is
one), so this module never imports the facade.
"""

from __future__ import annotations

import os
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol, cast

import attrs

from ..batch.items import BatchItem, guarded_item, unit_id_of
from ..errors import EvaluationError, UnitInputError
from ..messages import input_error
from ..runtime.cohort import failed_rows_reason
from ..runtime.standing import CohortSpec, QuotaRow, RankRow, Standing
from ..unitio import Expect, UnitRow, detect_format, ledger_shapes, read_ledgers, read_units
from .engine import CohortError, Standings, apply_quotas, rank_rows

if TYPE_CHECKING:
    from ..ledger.engine import LedgerInput
    from ..runtime.result import Result

__all__ = ["CohortAssessor", "CohortResult", "assess_rows", "evaluate_cohort_file", "evaluate_cohort_stream",
           "provisional_reasons", "repeated_id_message"]

#: Rows named in a provisional reason; the rest are counted ("and 12 more").
SHOWN_ROWS = 20
_OK, _UNREADABLE, _FAILED, _DUPLICATE, _FAILED_RANKED = 0, 1, 2, 3, 4  # _FAILED_RANKED: failed in pass 2


class CohortResult(Protocol):
    """What the driver reads of a result (``kaohe_rules.Result`` is one)."""

    @property
    def unit_id(self) -> str: ...

    @property
    def category(self) -> str: ...

    @property
    def rank_row(self) -> RankRow: ...

    @property
    def band_index(self) -> int: ...


class CohortAssessor(Protocol):
    """What the driver needs of a policy: the Policy API of issue #11 (``kaohe_rules.Policy`` is one)."""

    @property
    def cohort(self) -> CohortSpec | None: ...

    def evaluate(self, unit: Mapping[str, object], *, trace: bool = False,
                 provisional: bool = False) -> CohortResult: ...

    def evaluate_in_cohort(self, unit: Mapping[str, object], standing: Standing, *,
                           trace: bool = False) -> CohortResult: ...


def evaluate_cohort_file(policy: CohortAssessor, path: str | os.PathLike[str], *, format: str | None = None,
                         encoding: str | None = None, trace: bool = False,
                         ledgers: LedgerInput | None = None) -> Iterator[BatchItem]:
    """Every row of a unit file (JSON, JSON Lines, CSV, XLSX) assessed in its cohort, in file order.

    ``ledgers`` (issue #16): raw events per ledger name, held in memory; one more pass over the
    file reads each unit's join facts before the units are assessed with their charged events.
    """
    read_units(path, format=format, encoding=encoding)  # a missing file or unknown format fails here, at once
    expect, ledgers = _file_ledgers(policy, path, format, encoding, ledgers)
    for row, item in assess_rows(policy, lambda: read_units(path, format=format, encoding=encoding, expect=expect),
                                 trace=trace, ledgers=ledgers):
        yield item if item is not None else BatchItem(row.index, None, None, UnitInputError(row.error or ""),
                                                      row.location)


def _file_ledgers(policy: object, path: str | os.PathLike[str], format: str | None, encoding: str | None,
                  ledgers: LedgerInput | None) -> tuple[Expect | None, LedgerInput | None]:
    """For a policy with ledgers: what its units file may hold, and the ledgers the file itself carries.

    Without this the driver read a JSON document's ``"ledgers"`` (and JSON Lines event lines, an XLSX
    ledger sheet) as nothing, and a unit that also gave its own list was assessed from it — silently,
    where ``kaohe eval`` on the same file refuses it. A ledger both in the file and in ``ledgers=`` is
    refused naming both (which list is the ledger would be a guess).
    """
    specs = tuple(getattr(policy, "ledgers", ()) or ())
    checked = getattr(policy, "checked", None)
    if not specs or checked is None:
        return None, ledgers
    expect = Expect.of(checked, specs)
    shown = os.fspath(path)
    if format is not None:  # the ledgers are found by the file's extension, as kaohe eval finds them
        try:
            if format.lower() != detect_format(shown):
                return expect, ledgers
        except UnitInputError:
            return expect, ledgers
    found = read_ledgers(shown, shapes=ledger_shapes(checked, specs), encoding=encoding)
    if not found:
        return expect, ledgers
    if ledgers is not None:
        name = next(iter(found.sources))
        raise input_error("in_ledger_twice", name=name, first=found.sources[name], second="ledgers=")
    return expect, found.events()


def evaluate_cohort_stream(policy: CohortAssessor, units: Callable[[], Iterable[Mapping[str, object]]], *,
                           trace: bool = False, ledgers: LedgerInput | None = None) -> Iterator[BatchItem]:
    """Units from ``units()`` — called once per pass, each call a fresh iterable of the same units."""
    def rows() -> Iterator[UnitRow]:
        for index, unit in enumerate(units()):
            yield UnitRow(index, f"row {index + 1}", unit, None)

    for _, item in assess_rows(policy, rows, trace=trace, ledgers=ledgers):
        assert item is not None  # every row is readable: it is a unit already
        yield item


class _Rows:
    """The driver's own per-row state between passes: 5 bytes a row, and the few bad rows by number."""

    def __init__(self) -> None:
        self.state = bytearray()
        self.crc = array("I")
        self.failed: dict[str | None, list[int]] = {}  # category (None: unknown) → row numbers (1-based)
        self.duplicates: dict[str, list[int]] = {}  # unit id given twice → its row numbers

    def fail(self, category: str | None, index: int) -> None:
        self.failed.setdefault(category, []).append(index + 1)


def _category_of(unit: object) -> str | None:
    category = unit.get("category") if isinstance(unit, Mapping) else None
    return category if isinstance(category, str) else None


def provisional_reasons(failed: Mapping[str | None, list[int]], categories: Iterable[str]) -> dict[str, str]:
    """Per category, why its standings may change: the rows that could not be assessed.

    A row of unknown category (unreadable, without a category, or naming one that is not
    among ``categories`` — a label, a misspelling) concerns every category: a failed row
    never leaves a standing unmarked.  The text is ``evaluate_cohort``'s: "2 units of 县区
    could not be assessed (rows 3, 7); ranks and quotas may change", with at most
    :data:`SHOWN_ROWS` rows named.
    """
    categories = list(categories)
    unknown = [row for key, rows in failed.items() if key is None or key not in categories for row in rows]
    out: dict[str, str] = {}
    for category in categories:
        rows = sorted(set(failed.get(category, [])) | set(unknown))
        if not rows:
            continue
        out[category] = failed_rows_reason(category, rows, SHOWN_ROWS)
    return out


def repeated_id_message(unit_id: str, rows: list[int]) -> str:
    """Why every row of a unit id given twice is refused (the same words from every cohort path)."""
    shown = " and ".join(map(str, rows)) if len(rows) <= 2 else ", ".join(map(str, rows[:-1])) + f" and {rows[-1]}"
    return f"unit id {unit_id} is given twice in one cohort (rows {shown}); each unit is ranked once"


def _crc(unit_id: str) -> int:
    return zlib.crc32(unit_id.encode("utf-8", "surrogatepass"))


def _first_pass(policy: CohortAssessor, rows: Iterable[UnitRow], state: _Rows,
                skip: frozenset[str]) -> Iterator[RankRow]:
    for row in rows:
        if row.unit is None:
            state.state.append(_UNREADABLE)
            state.crc.append(0)
            state.fail(None, row.index)
            continue
        try:
            result = policy.evaluate(row.unit, provisional=True)
            rank_row = result.rank_row
        except Exception:  # the last pass assesses the row again and reports its error
            state.state.append(_FAILED)
            state.crc.append(0)
            state.fail(_category_of(row.unit), row.index)
            continue
        if result.unit_id in skip:
            state.state.append(_DUPLICATE)
            state.crc.append(_crc(result.unit_id))
            state.duplicates.setdefault(result.unit_id, []).append(row.index + 1)
            state.fail(result.category, row.index)
            continue
        if unit_id_of(row.unit) != result.unit_id:  # later passes find the standing by the row's own id
            raise CohortError(f"row {row.index + 1}'s id reads as {unit_id_of(row.unit)} but was assessed as "
                              f"{result.unit_id}", result.unit_id)
        state.state.append(_OK)
        state.crc.append(_crc(result.unit_id))
        yield rank_row


def _same_rows(rows: Iterable[UnitRow], state: _Rows) -> Iterator[tuple[int, UnitRow]]:
    """The rows of a later pass with their number, refusing an input that no longer reads as in pass 1."""
    count = 0
    for position, row in enumerate(rows):
        count = position + 1
        if position >= len(state.state):
            raise CohortError(f"the units changed between passes: row {position + 1} was not there in the first pass "
                              f"({len(state.state)} rows)")
        if (state.state[position] == _UNREADABLE) != (row.unit is None):
            raise CohortError(f"the units changed between passes: row {position + 1} is "
                              f"{'unreadable' if row.unit is None else 'readable'} now, was not in the first pass")
        if state.state[position] in (_OK, _DUPLICATE, _FAILED_RANKED):
            unit_id = unit_id_of(row.unit) if row.unit is not None else None
            if unit_id is None or _crc(unit_id) != state.crc[position]:
                raise CohortError(f"the units changed between passes: row {position + 1} is unit {unit_id} now, "
                                  "another unit in the first pass", unit_id)
        yield position, row
    if count != len(state.state):
        raise CohortError(f"the units changed between passes: {count} rows now, {len(state.state)} in the first pass")


def _standing_of(standings: Standings, unit_id: str, position: int) -> Standing:
    try:
        return standings[unit_id]
    except KeyError:
        raise CohortError(f"the units changed between passes: row {position + 1} (unit {unit_id}) was not ranked",
                          unit_id) from None


def _quota_rows(policy: CohortAssessor, rows: Iterable[UnitRow], state: _Rows,
                standings: Standings, spec: CohortSpec) -> Iterator[QuotaRow]:
    bands = {category.category: category.band_count for category in spec.categories}
    for position, row in _same_rows(rows, state):
        if state.state[position] != _OK:
            continue
        assert row.unit is not None
        unit_id = unit_id_of(row.unit)
        try:
            result = policy.evaluate_in_cohort(row.unit, _standing_of(standings, unit_id, position))
            quota_row = QuotaRow(result.unit_id, result.category, result.band_index)
        except CohortError:
            raise
        except Exception:  # fails with its standing (an outcome dividing by ``best``…): reported in the last pass
            state.state[position] = _FAILED_RANKED
            state.fail(_category_of(row.unit), position)
            continue
        if quota_row.band < bands.get(quota_row.category, 0):  # a rating that is no band of the category holds none
            yield quota_row


def _item(policy: CohortAssessor, index: int, unit: Mapping[str, object], standing: Standing | None,
          trace: bool) -> BatchItem:
    """One row's final item (its result, or the error that kept it from being assessed); never raises."""
    if standing is None:
        return guarded_item(index, unit, lambda: cast("Result", policy.evaluate(unit, trace=trace, provisional=True)))
    return guarded_item(index, unit, lambda: cast("Result", policy.evaluate_in_cohort(unit, standing, trace=trace)))


def assess_rows(policy: CohortAssessor, read: Callable[[], Iterable[UnitRow]], *,
                trace: bool = False, ledgers: LedgerInput | None = None) -> Iterator[tuple[UnitRow, BatchItem | None]]:
    """Each row of ``read()`` with its final item (None for an unreadable row), in input order.

    ``read`` is called once per pass (two passes, three with quotas) and must give the same
    rows each time.  The shape is the command line's (``(row, item)``), so ``kaohe eval``
    can stream a cohort policy's file as it streams any other.  A policy without a cohort
    block is assessed in one pass, unit by unit.

    ``ledgers`` (issue #16): raw events per ledger name.  A first pass over ``read()``
    attributes them (each unit's envelope and join facts only); every later pass assesses
    the units with their charged events (``policy`` must then be a ``kaohe_rules.Policy``:
    :class:`~kaohe_rules.ledger.assess.LedgerPolicy`).
    """
    if ledgers is not None:
        from ..ledger.assess import LedgerBound, LedgerPolicy

        owner = cast(LedgerPolicy, policy)
        attribution = owner.attribute((row.unit for row in read() if row.unit is not None), ledgers)
        policy = LedgerBound(owner, attribution)
    spec = policy.cohort
    if spec is None:
        for row in read():
            yield row, (None if row.unit is None else _item_plain(policy, row, trace))
        return
    skip: frozenset[str] = frozenset()
    while True:
        state = _Rows()
        try:
            standings = rank_rows(_first_pass(policy, read(), state, skip), spec)
            break
        except CohortError as exc:
            if not exc.duplicates or skip:
                raise
            skip = frozenset(exc.duplicates)  # pass 1 again, leaving out every row of a repeated id
    if any(category.quotas for category in spec.categories):
        standings = apply_quotas(_quota_rows(policy, read(), state, standings, spec), standings, spec)
    reasons = provisional_reasons(state.failed, standings.categories)
    if reasons:
        standings = standings.with_provisional(reasons)
    for position, row in _same_rows(read(), state):
        kind = state.state[position]
        if kind == _UNREADABLE:
            yield row, None
            continue
        assert row.unit is not None
        if kind == _DUPLICATE:
            unit_id = unit_id_of(row.unit)
            numbers = state.duplicates.get(unit_id, [])
            message = repeated_id_message(unit_id, numbers)
            yield row, BatchItem(row.index, unit_id, None, EvaluationError(unit_id, message), row.location)
            continue
        unit_id = unit_id_of(row.unit)
        # a row that failed alone is assessed alone again; one that failed with its standing, with it again
        standing = standings[unit_id] if kind in (_OK, _FAILED_RANKED) else None
        item = _item(policy, row.index, row.unit, standing, trace)
        yield row, (item if item.error is None else BatchItem(item.index, item.unit_id, None, item.error,
                                                                row.location))


def _item_plain(policy: CohortAssessor, row: UnitRow, trace: bool) -> BatchItem:
    """A row of a policy without a cohort block: assessed alone, as ``evaluate_many`` does."""
    assert row.unit is not None
    unit = row.unit
    item = guarded_item(row.index, unit, lambda: cast("Result", policy.evaluate(unit, trace=trace)))
    return item if item.error is None else attrs.evolve(item, location=row.location)
