"""The source of every random decision of the generators: ``random`` for long runs, hypothesis for tests.

Shared by the robustness fuzzer (:mod:`.fuzz`) and the policy generator (:mod:`.policygen`), so
that one generator serves a reproducible seeded run and a shrinking hypothesis test alike, and
neither module imports the other's machinery.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Protocol


class Chooser(Protocol):
    """The source of every random decision, so one generator serves ``random`` and hypothesis."""

    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Sequence[Any]) -> Any: ...

    def chance(self, percent: int) -> bool: ...


class RandomChooser:
    """Decisions from a seeded ``random.Random``: the long run, reproducible from its seed."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test inputs, not secrets

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) < percent


class DrawChooser:
    """Decisions drawn from hypothesis (``st.data()``), so failures shrink."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.data = data
        self.st = st

    def integer(self, low: int, high: int) -> int:
        return int(self.data.draw(self.st.integers(low, high)))

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        return self.integer(0, 99) < percent
