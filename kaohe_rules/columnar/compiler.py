"""The columnar compiler: a checked policy to polars expressions over canonical fact columns.

Each category's plan is compiled on its own (:mod:`.scoring`, :mod:`.exprs`, :mod:`.numbers`): a category
whose every construct compiles is assessed by the expressions; a construct that does not compile is a
:class:`~.support.Fallback` naming it as the author wrote it, where, and the category it sends per unit.
``assess`` runs every compiled category over its rows of the canonical frame (one lazy polars query per
category, filtered by ``__category``, all collected together; each category's results are put back in
input order by one gather per group of columns, not a sort of the wide table) and returns
the results in exactly :mod:`.results`' schema with ``engine`` = ``columnar``, and the rows to assess per
unit instead (those of a category not compiled, an unknown category, and the rows a compiled category
flags: see :mod:`.scoring`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .canonical import Canonical, canonical_dtype, canonical_schema
from .numbers import Unsupported
from .results import ResultColumns, result_columns
from .scoring import CategoryCompiler, Compiled
from .support import Fallback, Support

if TYPE_CHECKING:
    import polars as pl

    from ..language.model import CheckedPolicy
    from ..runtime.program import Program

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
        lazy = frame.lazy()
        queries = []
        for category, compiled in self.categories.items():
            part = lazy.filter(pl.col("__category") == category)
            for step in compiled.steps:
                part = part.with_columns(**step)
            queries.append(part.select(*(expr.cast(schema[name]).alias(name)
                                         for name, expr in compiled.columns.items()),
                                       compiled.per_unit.alias(_PER_UNIT)))
        # one query per category (each plans small and runs on its own rows), collected together
        parts = dict(zip(self.categories, pl.collect_all(queries), strict=True))
        fixed = {"unit_id": frame.get_column("__id"), "name": frame.get_column("__name"),
                 "category": frame.get_column("__category")}
        constant = {"status": "assessed", "engine": "columnar"}
        computed = _in_input_order(frame.get_column("__category"), parts)
        height = frame.height
        columns: list[pl.Series] = []
        for name, dtype in schema.items():
            if name in fixed:
                columns.append(fixed[name].cast(dtype).alias(name))
            elif name in constant:
                columns.append(pl.repeat(constant[name], height, dtype=dtype, eager=True).alias(name))
            elif name in computed:
                columns.append(computed[name])
            else:
                columns.append(pl.repeat(None, height, dtype=dtype, eager=True).alias(name))
        out = pl.DataFrame(columns, height=height)
        # the rows of a category not compiled (or of none) are assessed per unit
        per_unit = computed[_PER_UNIT].fill_null(True).alias("per_unit")
        return out, per_unit


def _in_input_order(category: pl.Series, parts: dict[str, pl.DataFrame]) -> dict[str, pl.Series]:
    """Each category's results (collected apart, its rows in batch order) put back in input order.

    The columns shared by the same categories are stacked (those categories' rows, category after
    category) and gathered by each row's place in that stack — null for a row of another category: no
    sort of a wide frame, no frame padded with the other categories' nulls, one gather per group.
    """
    import polars as pl

    held = {category: set(part.columns) for category, part in parts.items()}
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in dict.fromkeys(name for part in parts.values() for name in part.columns):
        having = tuple(category for category in parts if name in held[category])
        groups.setdefault(having, []).append(name)
    # the place of each row among its own category's rows
    keyed = pl.DataFrame({"c": category})
    within = {name: (pl.col("c") == name).cum_sum().cast(pl.Int64) - 1 for name in parts}
    indexes = []
    for number, having in enumerate(groups):
        offset = 0
        place: Any = None
        for name in having:
            test, value = pl.col("c") == name, within[name] + offset
            place = pl.when(test).then(value) if place is None else place.when(test).then(value)
            offset += parts[name].height
        indexes.append(place.otherwise(None).cast(pl.UInt32).alias(str(number)))
    places = keyed.select(indexes)
    out: dict[str, pl.Series] = {}
    for number, (having, names) in enumerate(groups.items()):
        stacked = pl.concat([parts[category].select(names) for category in having], how="vertical")
        index = places.get_column(str(number))
        out.update((series.name, series) for series in stacked.select(pl.all().gather(index)).get_columns())
    return out


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
