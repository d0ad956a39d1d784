"""An on-disk cache for the expensive, deterministic steps of loading a policy.

Three things are cached, each under a key that changes whenever anything that
produced it could change (the kaohe_rules version, the grammar file, Lark's
version, the Python version and, for the last two, the exact input):

* the LALR parser tables built from the grammar (always on: building them costs
  some 300 ms of every fresh process, loading them about 40 ms);
* parse trees of policy texts, keyed by the SHA-256 of the text — only of texts
  that :mod:`kaohe_rules.fastparse` leaves to Lark (all of them where it does
  not fit the installed Lark): reading a tree back costs more than the fast
  parser takes to build it, Lark's parse several times more;
* the Python code objects compiled from generated evaluator and fact-coercion
  source, keyed by the SHA-256 of that source (the constants table the code runs
  against is produced again by the compiler at every load; only ``compile()``
  is skipped).

Trees and tables are stored as JSON and rebuilt only into Lark ``Tree``/``Token``
objects and parser tables — nothing is unpickled.  Code objects are stored with
``marshal``; they are read only from a directory this user owns and no one else
can write (created 0700, files 0600, ownership and mode checked before reading),
only under the hash of the very source they were compiled from, and only as code
objects.  A corrupt, foreign or unreadable entry is ignored and rebuilt; the cache
never makes loading fail.

Policy caches (trees, code) are used when enabled: ``load(path, cache=True)``, or
``KAOHE_CACHE=1`` in the environment.  ``KAOHE_CACHE=0`` disables every disk
cache including the parser tables.  The directory is ``$KAOHE_CACHE_DIR``, else
``$XDG_CACHE_HOME/kaohe_rules``, else ``~/.cache/kaohe_rules``; it keeps at most
:data:`MAX_ENTRIES` entries per kind (oldest removed first).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import marshal
import os
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAX_ENTRIES = 256
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_active: contextvars.ContextVar[bool] = contextvars.ContextVar("kaohe_policy_cache", default=False)


# ---------------------------------------------------------------- switches
def _env() -> str:
    return os.environ.get("KAOHE_CACHE", "").strip().lower()


def disabled() -> bool:
    """``KAOHE_CACHE=0``: no disk cache at all."""
    return _env() in _FALSE


def policy_cache_wanted(explicit: bool | None) -> bool:
    """Whether a load caches trees and code: the explicit choice, else ``KAOHE_CACHE``."""
    if disabled():
        return False
    return explicit if explicit is not None else _env() in _TRUE


@contextlib.contextmanager
def policy_cache(enabled: bool) -> Iterator[None]:
    """Make the tree and code caches active (or not) for the loads inside the block."""
    token = _active.set(enabled)
    try:
        yield
    finally:
        _active.reset(token)


def active() -> bool:
    return _active.get() and not disabled()


# --------------------------------------------------------------- directory
def directory() -> Path | None:
    """The cache directory, created if needed; None when it cannot be used safely."""
    if disabled():
        return None
    base = os.environ.get("KAOHE_CACHE_DIR")
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        path = (Path(xdg) if xdg else Path.home() / ".cache") / "kaohe_rules"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return path if _private(path) else None


def _private(path: Path) -> bool:
    """Owned by this user and writable by no one else (POSIX); other platforms rely on the user profile."""
    if not hasattr(os, "getuid"):
        return True
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


@functools.lru_cache(maxsize=1)
def engine_key() -> str:
    """What every entry depends on besides its own input."""
    from . import __version__
    from .grammar_file import grammar_text

    try:
        import lark

        lark_version = lark.__version__
    except ImportError:  # pragma: no cover - lark is a dependency
        lark_version = "?"
    parts = [__version__, hashlib.sha256(grammar_text().encode("utf-8")).hexdigest(), lark_version,
             sys.implementation.cache_tag or sys.version]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:20]


def _path(kind: str, key: str, suffix: str) -> Path | None:
    root = directory()
    if root is None:
        return None
    folder = root / kind
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not _private(folder):
        return None
    return folder / f"{key}{suffix}"


def _read(path: Path | None) -> bytes | None:
    if path is None or not path.is_file() or not _private(path):
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _write(path: Path | None, data: bytes) -> None:
    if path is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _prune(path.parent)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    try:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".tmp-")]
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda p: p.stat().st_mtime)
        for old in entries[: len(entries) - MAX_ENTRIES]:
            old.unlink()
    except OSError:
        pass


def read_json(kind: str, key: str) -> Any:
    data = _read(_path(kind, key, ".json"))
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def write_json(kind: str, key: str, value: object) -> None:
    try:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return
    _write(_path(kind, key, ".json"), data)


def clear() -> int:
    """Remove every entry of the cache directory; returns how many files were removed."""
    root = directory()
    removed = 0
    if root is None:
        return 0
    for folder in root.iterdir():
        if folder.is_dir():
            for entry in folder.iterdir():
                with contextlib.suppress(OSError):
                    entry.unlink()
                    removed += 1
    return removed


# ------------------------------------------------------------ code objects
def compile_source(source: str, filename: str) -> types.CodeType:
    """``compile(source, filename, "exec")``, from the cache when the policy cache is active."""
    if not active():
        return compile(source, filename, "exec")
    key = hashlib.sha256(f"{engine_key()}\0{filename}\0{source}".encode()).hexdigest()
    path = _path("code", key, ".marshal")
    data = _read(path)
    if data is not None:
        try:
            code = marshal.loads(data)  # noqa: S302 - our own file, in our own private directory, keyed by its source
        except (EOFError, ValueError, TypeError):
            code = None
        if isinstance(code, types.CodeType) and code.co_filename == filename:
            return code
    code = compile(source, filename, "exec")
    _write(path, marshal.dumps(code))
    return code


# ------------------------------------------------------------- parse trees
_META = ("line", "column", "start_pos", "end_line", "end_column", "end_pos", "container_line", "container_column",
         "container_start_pos", "container_end_line", "container_end_column", "container_end_pos")


def tree_to_json(tree: Any) -> Any:
    """A Lark tree as nested lists of plain values (raises TypeError for anything unexpected)."""
    from lark import Token, Tree

    def encode(node: Any) -> Any:
        if isinstance(node, Token):
            return [0, node.type, str(node), node.start_pos, node.line, node.column, node.end_line, node.end_column,
                    node.end_pos]
        if isinstance(node, Tree) and isinstance(node.data, str):
            meta = node.meta
            fields = None if meta.empty else [getattr(meta, name, None) for name in _META]
            return [1, node.data, fields, [encode(child) for child in node.children]]
        raise TypeError(f"cannot cache a parse tree holding {type(node).__name__}")

    return encode(tree)


def tree_from_json(data: Any) -> Any:
    """The Lark tree :func:`tree_to_json` encoded; ValueError when the data is not such a tree."""
    from lark import Token, Tree

    def number(value: Any) -> int | None:
        if value is None or (type(value) is int):
            return value
        raise ValueError("bad position")

    def decode(node: Any) -> Any:
        if type(node) is not list or not node:
            raise ValueError("bad node")
        if node[0] == 0 and len(node) == 9 and type(node[1]) is str and type(node[2]) is str:
            return Token(node[1], node[2], *(number(v) for v in node[3:]))
        if node[0] == 1 and len(node) == 4 and type(node[1]) is str and type(node[3]) is list:
            tree = Tree(node[1], [decode(child) for child in node[3]])
            if node[2] is not None:
                if type(node[2]) is not list or len(node[2]) != len(_META):
                    raise ValueError("bad meta")
                meta = tree.meta
                for name, value in zip(_META, node[2], strict=True):
                    if value is not None:
                        setattr(meta, name, number(value))
                meta.empty = False
            return tree
        raise ValueError("bad node")

    return decode(data)


def cached_tree(text: str) -> Any:
    """The cached parse tree of a policy text, or None."""
    if not active():
        return None
    data = read_json("trees", _tree_key(text))
    if data is None:
        return None
    try:
        return tree_from_json(data)
    except (ValueError, TypeError, RecursionError):
        return None


def store_tree(text: str, tree: Any) -> None:
    if not active():
        return
    try:
        data = tree_to_json(tree)
    except (TypeError, RecursionError):
        return
    write_json("trees", _tree_key(text), data)


def _tree_key(text: str) -> str:
    return hashlib.sha256(f"{engine_key()}\0{text}".encode()).hexdigest()


# ----------------------------------------------------------- parser tables
def parser_tables() -> Any:
    """The cached serialised LALR parser (Lark's own ``memo_serialize`` form), or None."""
    data = read_json("parser", engine_key())
    if not isinstance(data, dict) or "data" not in data or "memo" not in data:
        return None
    return _decode_keys(data)


def store_parser_tables(data: object, memo: object) -> None:
    write_json("parser", engine_key(), _encode_keys({"data": data, "memo": memo}))


def _encode_keys(value: Any) -> Any:
    """JSON keeps only string keys: dicts with other keys become {"__items__": [[k, v], ...]}."""
    if isinstance(value, dict):
        if all(type(k) is str for k in value) and "__items__" not in value:
            return {k: _encode_keys(v) for k, v in value.items()}
        return {"__items__": [[_encode_keys(k), _encode_keys(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode_keys(v) for v in value]
    if value is None or type(value) in (str, int, float, bool):
        return value
    raise TypeError(f"cannot cache {type(value).__name__}")


def _decode_keys(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "__items__" in value:
            return {_hashable(_decode_keys(k)): _decode_keys(v) for k, v in value["__items__"]}
        return {k: _decode_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_keys(v) for v in value]
    return value


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value
