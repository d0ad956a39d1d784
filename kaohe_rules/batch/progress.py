"""Progress of a long batch on standard error: units done and units per second.

Why not ``rich`` or ``tqdm``: a batch streams from a file whose number of units is
not known until the end (JSON Lines, CSV), so a bar has nothing to fill; what a clerk
needs is "it is moving, this fast".  That is one line rewritten in place, which these
thirty lines do without a dependency in the engine's install.

The line appears only after :data:`DELAY` seconds (short batches print nothing), is
rewritten at most every :data:`INTERVAL` seconds, and the clock is read only every
:data:`EVERY` units, so counting costs nothing measurable.  It is off unless the stream
is a terminal, and with ``--quiet``: a log file or a pipe never receives ``\\r`` lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

DELAY = 2.0
INTERVAL = 0.5
EVERY = 256


class Progress:
    """Counts units; shows ``N units, R units/s`` on ``stream`` once a batch runs for a while."""

    def __init__(self, stream: IO[str], enabled: bool, render: Callable[[int, int], str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.enabled = enabled
        self.render = render
        self.clock = clock
        self.count = 0
        self.start = clock()
        self.shown_at: float | None = None

    @classmethod
    def for_stream(cls, stream: IO[str], quiet: bool, render: Callable[[int, int], str]) -> Progress:
        """On when ``stream`` is a terminal and not ``quiet``."""
        isatty = getattr(stream, "isatty", None)
        try:
            tty = bool(isatty()) if isatty is not None else False
        except (ValueError, OSError):
            tty = False
        return cls(stream, tty and not quiet, render)

    def tick(self, n: int = 1) -> None:
        self.count += n
        if self.enabled and self.count % EVERY < n:
            now = self.clock()
            if now - self.start >= DELAY and (self.shown_at is None or now - self.shown_at >= INTERVAL):
                self._show(now)

    def _show(self, now: float) -> None:
        rate = int(self.count / max(now - self.start, 1e-9))
        self.stream.write("\r" + self.render(self.count, rate) + "\x1b[K")
        self.stream.flush()
        self.shown_at = now

    def close(self) -> None:
        """End the line (with the final count) if anything was shown."""
        if self.enabled and self.shown_at is not None:
            self._show(self.clock())
            self.stream.write("\n")
            self.stream.flush()
