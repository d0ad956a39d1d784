"""``kaohe eval --format json`` written as the results come: the same bytes, bounded memory.

The document is ``json.dumps({"policy", "results", "errors", "summary"}, indent=2)``.
Building it whole held every result and its dict (3.6 GB for 20,000 Karamay units); this
writer prints the head, then each result document as it is made (indented as ``json.dumps``
would indent it inside the array), then the errors and the summary.  JSON strings never hold
a raw newline, so indenting line by line is exact; tests compare the bytes with ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO


class JsonDocumentWriter:
    """Writes ``{"policy": …, "results": [ … ], "errors": …, "summary": …}`` to ``stream`` piece by piece."""

    def __init__(self, stream: IO[str], policy: Mapping[str, object]) -> None:
        self.stream = stream
        self.count = 0
        # written with the first result (or at the end): a file that cannot be read prints nothing
        self.head: str | None = json.dumps({"policy": policy}, ensure_ascii=False, indent=2)[:-2] + ',\n  "results": ['

    def _start(self) -> None:
        if self.head is not None:
            self.stream.write(self.head)
            self.head = None

    def add(self, document: Mapping[str, object]) -> None:
        """One result document, as the next element of ``results``."""
        self._start()
        text = json.dumps(document, ensure_ascii=False, indent=2)
        self.stream.write(("\n" if self.count == 0 else ",\n") + "    " + text.replace("\n", "\n    "))
        self.count += 1

    def finish(self, errors: object, summary: Mapping[str, object], extra: Mapping[str, object] | None = None) -> None:
        """Close ``results`` and write the errors and the summary (and the final newline).

        ``extra``: more top-level keys after them (a batch with ledgers: ``"ledgers"``, issue #16).
        """
        self._start()
        tail = json.dumps({"errors": errors, "summary": summary, **(extra or {})}, ensure_ascii=False, indent=2)
        self.stream.write(("\n  ]" if self.count else "]") + "," + tail[1:] + "\n")
