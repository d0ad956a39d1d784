"""The columnar compiler: a checked policy to polars expressions over canonical fact columns.

Each category's plan is compiled on its own (:mod:`.scoring`, :mod:`.exprs`, :mod:`.numbers`): a category
whose every construct compiles is assessed by the expressions; a construct that does not compile is a
:class:`~.support.Fallback` naming it as the author wrote it, where, and the category it sends per unit.
``assess`` runs every compiled category over its rows of the canonical frame in one lazy polars query
(filter by ``__category``, one ``select`` per category, concatenated back into input order) and returns
the results in exactly :mod:`.results`' schema with ``engine`` = ``columnar``, and the rows to assess per
unit instead (those of a category not compiled, an unknown category, and the rows a compiled category
flags: see :mod:`.scoring`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .canonical import Canonical, canonical_dtype, canonical_schema
from .numbers import Unsupported
from .results import ResultColumns, result_columns
from .scoring import CategoryCompiler, Compiled
from .support import Fallback, Support

if TYPE_CHECKING:
    import polars as pl

    from ..language.model import CheckedPolicy
    from ..runtime.program import Program

_ROW = "__row"
_PER_UNIT = "__per_unit"


class ColumnarProgram:
    """What the columnar compiler made of a policy.

    ``support`` names what goes per unit; ``vectorises`` is False when nothing is (the engine then skips
    reading canonical columns).  ``assess(canonical)`` returns the results of the canonical frame's rows in
    the results schema (:mod:`.results`, ``engine`` = ``columnar``) and a Boolean Series, True for each row
    the engine must assess per unit instead (the engine adds the rows the reader did not certify clean).
    """

    def __init__(self, support: Support, columns: ResultColumns | None = None,
                 categories: dict[str, Compiled] | None = None) -> None:
        self.support = support
        self.columns = columns
        self.categories = categories or {}

    @property
    def vectorises(self) -> bool:
        return bool(self.categories)

    def assess(self, canonical: Canonical) -> tuple[pl.DataFrame, pl.Series]:
        import polars as pl

        if self.columns is None or not self.categories:
            raise NotImplementedError("this policy vectorises nothing")
        schema = self.columns.schema()
        frame = canonical.frame
        lazy = frame.lazy().with_row_index(_ROW)
        parts = []
        for category, compiled in self.categories.items():
            part = lazy.filter(pl.col("__category") == category)
            for step in compiled.steps:
                part = part.with_columns(**step)
            parts.append(part.select(pl.col(_ROW), *(expr.cast(schema[name]).alias(name)
                                                     for name, expr in compiled.columns.items()),
                                     compiled.per_unit.alias(_PER_UNIT)))
        others = ~pl.col("__category").is_in(list(self.categories)) | pl.col("__category").is_null()
        parts.append(lazy.filter(others).select(pl.col(_ROW), pl.lit(True).alias(_PER_UNIT)))
        # each category's own columns, back in input order; the unit's id, name and category are the
        # canonical frame's (already in order: not carried through the sort)
        joined = pl.concat(parts, how="diagonal").sort(_ROW).collect()
        fixed = {"unit_id": frame.get_column("__id"), "name": frame.get_column("__name"),
                 "category": frame.get_column("__category")}
        constant = {"status": "assessed", "engine": "columnar"}
        columns: list[pl.Series | pl.Expr] = []
        for name, dtype in schema.items():
            if name in fixed:
                columns.append(fixed[name].cast(dtype).alias(name))
            elif name in constant:
                columns.append(pl.lit(constant[name], dtype=dtype).alias(name))
            elif name in joined.columns:
                columns.append(pl.col(name))
            else:
                columns.append(pl.lit(None, dtype=dtype).alias(name))
        out = joined.select(columns)
        return out, joined.get_column(_PER_UNIT).alias("per_unit")


def compile_checked(checked: CheckedPolicy) -> ColumnarProgram:
    """The columnar program of a checked policy (see the module doc)."""
    fallbacks: dict[tuple[str, str], list[str]] = {}
    every = tuple(checked.plans)
    if canonical_schema(checked) is None:  # the facts not held in canonical columns, each named
        held = tuple(Fallback(f"fact {name}: {type_.describe()} (no canonical column)",
                              checked.facts[name].span.location())
                     for name, type_ in checked.fact_types.items() if canonical_dtype(checked, type_) is None)
        return ColumnarProgram(Support(held or (Fallback("a fact the columnar path does not hold",
                                                         checked.header.name),)))
    columns = result_columns(checked)
    compiled: dict[str, Compiled] = {}
    for category in checked.plans:
        try:
            compiled[category] = CategoryCompiler(checked, category).columns(columns.names)
        except Unsupported as unsupported:
            # a rescaling met outside an expression (a cap, a band edge) has no place of its own: the policy's
            place = unsupported.where or checked.header.name
            fallbacks.setdefault((unsupported.construct, place), []).append(category)
    listed = tuple(Fallback(construct, place, () if tuple(cats) == every else tuple(cats))
                   for (construct, place), cats in fallbacks.items())
    return ColumnarProgram(Support(listed), columns, compiled)


def compile_columnar(program: Program) -> ColumnarProgram:
    """The policy's columnar program."""
    return compile_checked(program.checked)
