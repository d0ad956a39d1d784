"""What a fresh worker process needs to rebuild a policy: its text and where it came from.

Kept apart from :mod:`.pool` so that Dask and the facade can name it without importing
multiprocessing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import attrs

from ..language.model import CheckedPolicy


@attrs.frozen
class PolicySpec:
    """A policy as source text: a worker loads it and checks the content hash."""

    name: str
    text: str
    base_dir: str | None
    content_hash: str


class Loaded(Protocol):
    """A loaded policy as the spec reads it: a ``Policy`` or its ``Program``."""

    @property
    def checked(self) -> CheckedPolicy: ...

    @property
    def content_hash(self) -> str: ...


def policy_spec(program: Loaded) -> PolicySpec:
    """The spec of a loaded policy, from the source its header was read from."""
    source = program.checked.header.span.source
    path = Path(source.name)
    base_dir = str(path.parent) if source.name != "<policy>" and path.is_file() else None
    return PolicySpec(source.name, source.text, base_dir, program.content_hash)
