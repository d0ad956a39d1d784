"""The columnar compiler: a checked policy to polars expressions over canonical fact columns.

(Placeholder on main until the compiler lands: it vectorises nothing, so every row is assessed per unit.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .canonical import Canonical
from .support import Fallback, Support

if TYPE_CHECKING:
    import polars as pl

    from ..runtime.program import Program


class ColumnarProgram:
    """What the columnar compiler made of a policy.

    ``support`` names what goes per unit; ``vectorises`` is False when nothing is (the engine then skips
    reading canonical columns).  ``assess(canonical)`` returns the results of the canonical frame's rows in
    the results schema (:mod:`.results`, ``engine`` = ``columnar``) and a Boolean Series, True for each row
    the engine must assess per unit instead (the engine adds the rows the reader did not certify clean).
    """

    def __init__(self, support: Support) -> None:
        self.support = support

    vectorises = False

    def assess(self, canonical: Canonical) -> tuple[pl.DataFrame, pl.Series]:
        raise NotImplementedError("the placeholder vectorises nothing")


def compile_columnar(program: Program) -> ColumnarProgram:
    """The policy's columnar program."""
    return ColumnarProgram(Support((Fallback("every construct (the columnar compiler is not built)",
                                             program.checked.header.name),)))
