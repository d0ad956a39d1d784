"""The columnar compiler: a checked policy to polars expressions over canonical fact columns.

(Placeholder on main until the compiler lands: it vectorises nothing, so every row is assessed per unit.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .support import Fallback, Support

if TYPE_CHECKING:
    import polars as pl

    from ..runtime.program import Program


class ColumnarProgram:
    """What the columnar compiler made of a policy.

    ``support`` names what goes per unit; ``assess(frame)`` returns the results of the frame's rows in the
    results schema (:mod:`.results`, ``engine`` = ``columnar``) and a Boolean Series, True for each row the
    engine must assess per unit instead — or ``(None, None)``: every row per unit.
    """

    def __init__(self, support: Support) -> None:
        self.support = support

    def assess(self, frame: pl.DataFrame) -> tuple[pl.DataFrame | None, pl.Series | None]:
        return None, None


def compile_columnar(program: Program) -> ColumnarProgram:
    """The policy's columnar program."""
    return ColumnarProgram(Support((Fallback("every construct (the columnar compiler is not built)",
                                             program.checked.header.name),)))
