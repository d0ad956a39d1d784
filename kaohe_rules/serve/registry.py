"""The policies a service serves: one immutable :class:`Registry`, swapped whole when files change.

Why one reference swapped, never an edit in place: a request takes ``holder.current`` once at
its start and answers from that registry to its end, so it sees the old policy or the new one,
never a mix (a policy object is itself immutable and thread-safe).  Reading the attribute is
atomic in Python; the watcher thread is the only writer.

Why a policy that no longer loads keeps its old version: a typo saved in an editor must not take
a decision service down.  The diagnostics are reported (``/readyz`` and the log) and the last good
version answers until the file loads again.  A file that never loaded is not served and the service
is not ready.

The watcher polls (no extra dependency, works on every file system, including network shares
where change notification does not): every ``interval`` seconds it fingerprints the ``.kh``
files (mtime, size and SHA-256 of the bytes); on any difference it loads every policy afresh
in its own thread — fully, before anything is swapped — then swaps the reference once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ..errors import Diagnostic, PolicyError

if TYPE_CHECKING:
    from ..policy import Policy

POLICY_SUFFIX = ".kh"
#: files a source directory may hold before the service refuses to watch it (a mistaken ``kaohe serve /``)
MAX_POLICY_FILES = 1000


@attrs.frozen
class Entry:
    """A served policy: the policy, the file it was loaded from, the other names it answers to."""

    policy: Policy
    path: Path
    aliases: tuple[str, ...]
    stale: bool = False  # the file changed and no longer loads: this is the last version that did

    @property
    def name(self) -> str:
        return self.policy.name

    @property
    def file(self) -> str:
        return self.path.name


@attrs.frozen
class LoadProblem:
    """A policy file that does not load (or whose name clashes), with the library's diagnostics."""

    file: str
    diagnostics: tuple[Diagnostic, ...]
    serving: str | None  # the content hash of the old version still served, or None

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "diagnostics": [d.to_dict() for d in self.diagnostics],
                "serving": None if self.serving is None else "sha256:" + self.serving}


@attrs.frozen
class Registry:
    """One consistent set of served policies (never changed: the watcher builds a new one)."""

    entries: Mapping[str, Entry]  # by policy name
    aliases: Mapping[str, str]  # file stem -> policy name
    problems: tuple[LoadProblem, ...]
    generation: int
    fingerprint: tuple[tuple[str, int, int, str], ...]

    def get(self, name: str) -> Entry | None:
        """The policy named ``name`` (its declared name, or its file name without ``.kh``)."""
        entry = self.entries.get(name)
        if entry is None and name in self.aliases:
            entry = self.entries.get(self.aliases[name])
        return entry

    @property
    def ready(self) -> bool:
        """Every policy file has a version serving (the problems are all of files with an old version)."""
        return bool(self.entries) and all(p.serving is not None for p in self.problems)


def policy_files(sources: Sequence[Path]) -> list[Path]:
    """The policy files of the sources: a directory gives its ``*.kh`` files (not its subdirectories), a file itself."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            found = sorted(p for p in source.glob("*" + POLICY_SUFFIX) if p.is_file())
            if len(found) > MAX_POLICY_FILES:
                raise ValueError(f"{source} holds {len(found)} policy files, more than {MAX_POLICY_FILES}")
            files.extend(found)
        else:
            files.append(source)
    unique: dict[Path, None] = {}
    for path in files:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def watched_files(sources: Sequence[Path]) -> list[Path]:
    """Every ``.kh`` file a change of which may change a served policy: the tree below each source directory
    (``extends`` reads only there, docs/language.md), or a source file and the tree below its directory."""
    roots = {(s if s.is_dir() else s.parent).resolve() for s in sources}
    found: set[Path] = set()
    for root in roots:
        for path in root.rglob("*" + POLICY_SUFFIX):
            found.add(path)
            if len(found) > 10 * MAX_POLICY_FILES:
                break
    return sorted(found)


def fingerprint(sources: Sequence[Path]) -> tuple[tuple[str, int, int, str], ...]:
    """(path, mtime, size, SHA-256) of every watched file: any edit, addition or removal changes it."""
    out = []
    for path in watched_files(sources):
        try:
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue  # removed between the listing and the read: the next poll sees it gone
        out.append((str(path), stat.st_mtime_ns, stat.st_size, digest))
    return tuple(out)


def build_registry(sources: Sequence[Path], previous: Registry | None = None,
                   loader: Callable[[Path], Policy] | None = None) -> Registry:
    """Load every policy of ``sources`` into a new registry (``previous`` supplies the old versions of files
    that no longer load).  Never raises for a policy: its problem is recorded instead."""
    if loader is None:
        from ..policy import load

        def loader(path: Path) -> Policy:
            return load(path)

    stamp = fingerprint(sources)
    old_by_path = {entry.path: entry for entry in previous.entries.values()} if previous is not None else {}
    loaded: list[tuple[Path, Policy, bool]] = []
    problems: list[LoadProblem] = []
    for path in policy_files(sources):
        try:
            loaded.append((path, loader(path), False))
        except PolicyError as exc:
            old = old_by_path.get(path)
            problems.append(LoadProblem(path.name, exc.diagnostics, old.policy.content_hash if old else None))
            if old is not None:
                loaded.append((path, old.policy, True))
        except Exception as exc:  # a loader must not kill the watcher: reported as the file's problem
            problems.append(LoadProblem(path.name, (Diagnostic("K004", f"cannot load {path.name}: "
                                                                f"{type(exc).__name__}", None),), None))
    return _assemble(loaded, problems, stamp, (previous.generation + 1) if previous is not None else 1)


def _assemble(loaded: Iterable[tuple[Path, Policy, bool]], problems: list[LoadProblem],
              stamp: tuple[tuple[str, int, int, str], ...], generation: int) -> Registry:
    """Name the loaded policies; two files declaring one policy name serve neither (a request could mean either)."""
    by_name: dict[str, list[tuple[Path, Policy, bool]]] = {}
    for item in loaded:
        by_name.setdefault(item[1].name, []).append(item)
    entries: dict[str, Entry] = {}
    for name, items in by_name.items():
        if len(items) > 1:
            files = ", ".join(path.name for path, _, _ in items)
            for path, _, _ in items:
                problems.append(LoadProblem(path.name, (Diagnostic(
                    "K004", f"policy name {name} is declared by several files ({files}): neither is served, "
                    "since a request for it could mean either", None,
                    hint="give each policy its own name"),), None))
            continue
        path, policy, stale = items[0]
        entries[name] = Entry(policy, path, (), stale)
    aliases: dict[str, str] = {}
    stems: dict[str, list[str]] = {}
    for name, entry in entries.items():
        stems.setdefault(entry.path.stem, []).append(name)
    for stem, names in stems.items():
        if len(names) == 1 and stem != names[0] and stem not in entries:  # a stem that is another policy's name: no alias
            aliases[stem] = names[0]
    entries = {name: attrs.evolve(entry, aliases=tuple(s for s, n in aliases.items() if n == name))
               for name, entry in entries.items()}
    return Registry(entries, aliases, tuple(problems), generation, stamp)


class RegistryHolder:
    """The current registry, and the watcher thread that replaces it (the only writer)."""

    def __init__(self, sources: Sequence[Path], registry: Registry,
                 on_reload: Callable[[Registry, Registry], None] | None = None) -> None:
        self.sources = list(sources)
        self.current = registry
        self._on_reload = on_reload
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def reload_if_changed(self) -> bool:
        """One poll: reload and swap when the files changed; whether a new registry was swapped in."""
        with self._lock:
            old = self.current
            if fingerprint(self.sources) == old.fingerprint:
                return False
            new = build_registry(self.sources, old)
            if self._on_reload is not None:  # logged first: whoever sees the new registry can find its log line
                self._on_reload(old, new)
            self.current = new  # the one swap: a request holds the old one or this one, whole
        return True

    def start(self, interval: float) -> None:
        if interval <= 0 or self._thread is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.reload_if_changed()
                except Exception:  # noqa: S112 - a file system hiccup: the next poll tries again
                    time.sleep(interval)
                    continue

        self._thread = threading.Thread(target=run, name="kaohe-serve-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
