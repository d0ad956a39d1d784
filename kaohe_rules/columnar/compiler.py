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

from .canonical import Canonical, canonical_schema
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
            parts.append(part.select(pl.col(_ROW), *self._row(schema, compiled.columns),
                                     compiled.per_unit.alias(_PER_UNIT)))
        others = ~pl.col("__category").is_in(list(self.categories)) | pl.col("__category").is_null()
        parts.append(lazy.filter(others).select(pl.col(_ROW), *self._row(schema, None),
                                                pl.lit(True).alias(_PER_UNIT)))
        joined = pl.concat(parts, how="vertical")
        if len(parts) > 1:
            joined = joined.sort(_ROW)
        out = joined.drop(_ROW).collect()
        per_unit = out.get_column(_PER_UNIT).alias("per_unit")
        return out.drop(_PER_UNIT), per_unit

    @staticmethod
    def _row(schema: dict[str, pl.DataType], exprs: dict[str, pl.Expr] | None) -> list[pl.Expr]:
        import polars as pl

        fixed = {"unit_id": pl.col("__id"), "name": pl.col("__name"), "category": pl.col("__category"),
                 "status": pl.lit("assessed"), "engine": pl.lit("columnar")}
        out = []
        for name, dtype in schema.items():
            if name in fixed:
                expr = fixed[name] if exprs is not None else pl.lit(None)
            elif exprs is not None and name in exprs:
                expr = exprs[name]
            else:
                expr = pl.lit(None)
            out.append(expr.cast(dtype).alias(name))
        return out


def compile_checked(checked: CheckedPolicy) -> ColumnarProgram:
    """The columnar program of a checked policy (see the module doc)."""
    fallbacks: dict[tuple[str, str], list[str]] = {}
    every = tuple(checked.plans)
    if canonical_schema(checked) is None:
        return ColumnarProgram(Support((Fallback("a fact of a type the columnar path does not hold",
                                                 checked.header.name),)))
    columns = result_columns(checked)
    compiled: dict[str, Compiled] = {}
    for category in checked.plans:
        try:
            compiled[category] = CategoryCompiler(checked, category).columns(columns.names)
        except Unsupported as unsupported:
            fallbacks.setdefault((unsupported.construct, unsupported.where), []).append(category)
    listed = tuple(Fallback(construct, place, () if tuple(cats) == every else tuple(cats))
                   for (construct, place), cats in fallbacks.items())
    return ColumnarProgram(Support(listed), columns, compiled)


def compile_columnar(program: Program) -> ColumnarProgram:
    """The policy's columnar program."""
    return compile_checked(program.checked)
