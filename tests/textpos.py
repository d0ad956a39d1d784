"""Finding a place in a policy text by what is written there, not by line and column.

The index and language-server tests point at names in the bundled policies; `kaohe fmt` may reflow
those files, so a needle's spaces match any whitespace.
"""

from __future__ import annotations

import re


def locate(text: str, needle: str, offset: int = 0, occurrence: int = 0) -> int:
    """The index in ``text`` of character ``offset`` of the ``occurrence``-th ``needle``.

    A space in ``needle`` matches any run of whitespace, line breaks included, so a needle
    still matches after ``kaohe fmt`` reflows the bundled policies.
    """
    pattern = re.compile(r"\s+".join(re.escape(part) for part in needle.split(" ")))
    matches = list(pattern.finditer(text))
    assert len(matches) > occurrence, f"{needle!r} not found"
    match = matches[occurrence]
    i, j, found = 0, 0, match.group()
    while i < offset:
        if needle[i] == " ":
            while i < len(needle) and needle[i] == " ":
                i += 1
            while j < len(found) and found[j].isspace():
                j += 1
        else:
            i, j = i + 1, j + 1
    return match.start() + j
