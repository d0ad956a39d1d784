"""The results table: one row per unit, one column per section, target, veto, deferral and consequence.

This module is the contract every path that produces a results table keeps — the columnar compiler, the
per-unit fallback and the reference rows the differential tests build from ``policy.evaluate``:

* fixed columns: ``unit_id``, ``name``, ``category``, ``status`` (``assessed`` | ``error``), ``error`` (the
  unit's error message, as ``str()`` of the error ``policy.evaluate`` raises), ``engine`` (``columnar`` |
  ``per-unit``: which path assessed the row), ``score``, ``base_score``, ``bonus``, ``rating``, ``band``
  (the rating the score alone earns), ``vetoed``;
* ``section:<path>`` — each section's points (``管理目标.考核细则``), null in a category without it;
* ``target:<name>`` — each target's points, null where the target is not placed;
* ``veto:<name>`` — whether the veto fired (its effect applied, or 一票否决), null where it does not apply;
* ``deferred:<name>`` — how many items the deferral took (null where it does not apply);
* ``outcome:<rating>.<item>`` — each item of the rating's outcome: money (fen) for reward/fine/share items,
  true for a sanction that applies; null unless the unit got that rating and the item applies;
  ``outcome:*.<item>`` likewise for the outcomes every rating gets (``outcome { … }``);
* ``period:<name>.score`` / ``period:<name>.rating`` for a policy with periods; ``charged`` (the number of
  ledger events charged to the unit) for a policy with ledgers; ``rank`` for a policy with a cohort block.

Numbers are polars ``Decimal`` columns — points at :data:`POINT_SCALE` places, money at
:data:`MONEY_SCALE` — never floats.  A value with more places than its column holds is never rounded
into the table: that row becomes an error row saying so (see :func:`ResultColumns.row`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..language.model import CheckedPolicy
from ..numeric import ENGINE_CONTEXT

if TYPE_CHECKING:
    import polars as pl

    from ..runtime.result import Result

#: decimal places of every points column (scores, sections, targets)
POINT_SCALE = 6
#: decimal places of every money column (fen)
MONEY_SCALE = 2

FIXED = ("unit_id", "name", "category", "status", "error", "engine", "score", "base_score", "bonus", "rating",
         "band", "vetoed")
_POINTS = ("score", "base_score", "bonus")
_QUANTUM = {POINT_SCALE: Decimal(1).scaleb(-POINT_SCALE), MONEY_SCALE: Decimal(1).scaleb(-MONEY_SCALE)}


@attrs.frozen
class Column:
    """One column of the results table: its name and kind (``text``, ``bool``, ``int``, ``points``, ``money``)."""

    name: str
    kind: str


@attrs.frozen
class ResultColumns:
    """The columns of one policy's results table, in order, and how to fill them from a per-unit result."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of the table (Decimal(38, scale) for numbers; never a float)."""
        import polars as pl

        kinds: dict[str, Any] = {"text": pl.String, "bool": pl.Boolean, "int": pl.Int64,
                                 "points": pl.Decimal(38, POINT_SCALE), "money": pl.Decimal(38, MONEY_SCALE)}
        return {c.name: kinds[c.kind] for c in self.columns}

    def row(self, result: Result, engine: str = "per-unit") -> dict[str, object]:
        """The row of one per-unit result — the reference every other path must equal.

        A number with more places than its column holds makes the row an error row naming the value, never
        a rounded number.
        """
        values: dict[str, object] = dict.fromkeys(self.names)
        values.update(unit_id=result.unit_id, name=result.name, category=result.category, status="assessed",
                      error=None, engine=engine, score=result.score, base_score=result.base_score,
                      bonus=result.bonus, rating=result.rating, band=result.band, vetoed=result.vetoed)
        for key, section in result.sections.items():
            values[f"section:{key}"] = section.score
        for target in result.targets:
            values[f"target:{target.name}"] = target.score
        fired = {v.name for v in result.vetoes} | {step.clause for step in result.effects
                                                  if step.kind not in ("requires", "quota")}
        for veto in result.program.checked.plans[result.category].vetoes:
            values[f"veto:{veto.name}"] = veto.name in fired
        for defer in result.program.checked.plans[result.category].defers:
            values[f"deferred:{defer.name}"] = 0
        for deferral in result.deferred:
            values[f"deferred:{deferral.name}"] = len(deferral.items)
        for prefix, consequences in (("", result.consequences),
                                     *(("*", c) for c in result.general_consequences)):
            rating = prefix or consequences.rating
            for item in consequences.items:
                values[f"outcome:{rating}.{item.name}"] = True if item.kind == "sanction" else item.amount
        checked = result.program.checked
        if checked.periods is not None:
            for period in result.periods:
                values[f"period:{period.name}.score"] = period.score
                values[f"period:{period.name}.rating"] = period.rating
        if checked.ledgers:
            values["charged"] = len(result.charged)
        if checked.cohort is not None and result.standing is not None:
            values["rank"] = getattr(result.standing, "rank", None)
        problem = self._unfit(values)
        if problem is not None:
            return self.error_row(result.unit_id, result.name, result.category, problem, engine)
        return values

    def error_row(self, unit_id: str | None, name: str | None, category: str | None, message: str,
                  engine: str = "per-unit") -> dict[str, object]:
        """The row of a unit that could not be assessed: its id, the message, every result column null."""
        values: dict[str, object] = dict.fromkeys(self.names)
        values.update(unit_id=unit_id, name=name, category=category, status="error", error=message, engine=engine)
        return values

    def _unfit(self, values: dict[str, object]) -> str | None:
        """Why a value cannot go into its column exactly (more places than the column holds), or None."""
        for column in self.columns:
            if column.kind not in ("points", "money"):
                continue
            value = values[column.name]
            if value is None:
                continue
            scale = POINT_SCALE if column.kind == "points" else MONEY_SCALE
            exact = Decimal(value)  # type: ignore[arg-type]
            if exact != exact.quantize(_QUANTUM[scale], context=ENGINE_CONTEXT):
                return (f"{column.name} = {exact} has more than {scale} decimal places, more than the results "
                        f"table holds; assess this unit with policy.evaluate for its exact result")
        return None

    def frame(self, rows: Iterable[Mapping[str, object]]) -> pl.DataFrame:
        """The polars DataFrame of these rows, in this table's schema."""
        import polars as pl

        return pl.DataFrame(list(rows), schema=self.schema())


def result_columns(checked: CheckedPolicy) -> ResultColumns:
    """The results table's columns for a policy (the same for every batch: a stream writes one schema)."""
    columns = [Column(name, "bool" if name == "vetoed" else "points" if name in _POINTS else "text")
               for name in FIXED]
    seen: set[str] = set(FIXED)

    def add(name: str, kind: str) -> None:
        if name not in seen:
            seen.add(name)
            columns.append(Column(name, kind))

    for plan in checked.plans.values():
        for section in plan.category.all_sections():
            add("section:" + ".".join(section.path), "points")
    for plan in checked.plans.values():
        for placed in plan.targets:
            add(f"target:{placed.target.name}", "points")
    for plan in checked.plans.values():
        for veto in plan.vetoes:
            add(f"veto:{veto.name}", "bool")
    for plan in checked.plans.values():
        for defer in plan.defers:
            add(f"deferred:{defer.name}", "int")
    for rating, outcome in checked.outcomes.items():
        for item in outcome.items:
            add(f"outcome:{rating}.{item.name}", "bool" if item.kind == "sanction" else "money")
    for outcome in checked.general_outcomes:
        for item in outcome.items:
            add(f"outcome:*.{item.name}", "bool" if item.kind == "sanction" else "money")
    if checked.periods is not None:
        for period in checked.periods.items:
            add(f"period:{period.name}.score", "points")
            add(f"period:{period.name}.rating", "text")
    if checked.ledgers:
        add("charged", "int")
    if checked.cohort is not None:
        add("rank", "int")
    return ResultColumns(tuple(columns))


def differences(expected: pl.DataFrame, actual: pl.DataFrame, *, most: int = 20) -> list[str]:
    """Where two results tables differ (columns, row count, then cell by cell, numbers compared exactly).

    The ``engine`` column is not compared: it says which path assessed a row, not what the result is.
    """
    out: list[str] = []
    if expected.columns != actual.columns:
        out.append(f"columns differ: expected {expected.columns}, got {actual.columns}")
        return out
    if expected.height != actual.height:
        out.append(f"row count differs: expected {expected.height}, got {actual.height}")
        return out
    names: Sequence[str] = [c for c in expected.columns if c != "engine"]
    for name in names:
        for index, (a, b) in enumerate(zip(expected[name].to_list(), actual[name].to_list(), strict=True)):
            if a != b or (a is None) != (b is None):
                unit = expected["unit_id"][index]
                out.append(f"row {index} (unit {unit}): {name} expected {a!r}, got {b!r}")
                if len(out) >= most:
                    return out
    return out
