"""An on-disk cache for the expensive, deterministic steps of loading a policy.

Three things are cached, each under a key that changes whenever anything that
produced it could change (the kaohe_rules version, the grammar file, Lark's
version, the Python version and, for the last two, the exact input):

* the LALR parser tables built from the grammar (always on: building them costs
  some 300 ms of every fresh process, loading them about 40 ms);
* parse trees of policy texts, keyed by the SHA-256 of the text — only of texts
  that :mod:`kaohe_rules.language.fastparse` leaves to Lark (all of them where it does
  not fit the installed Lark): reading a tree back costs more than the fast
  parser takes to build it, Lark's parse several times more;
* the Python code objects compiled from generated evaluator and fact-coercion
  source, keyed by the SHA-256 of that source (the constants table the code runs
  against is produced again by the compiler at every load; only ``compile()``
  is skipped).

**Every entry is authenticated.**  A code object read back is executed, and a parse
tree or parser table read back decides what a policy means, so a file in the cache
is never trusted for being there: each entry is ``KHC1`` + a 32-byte tag + payload,
the tag an HMAC-SHA256, under a per-user secret key, of the entry's kind, its key
and its payload.  The tag is checked (``hmac.compare_digest``) *before* the payload
is unmarshalled or parsed; an entry whose tag does not match — tampered with,
truncated, written by another kaohe, another user or another tool, copied from
another machine — is ignored, rebuilt and overwritten.  The secret is 32 random
bytes (:mod:`secrets`) in the file :data:`KEY_FILE` beside the entries, created
once with ``O_CREAT | O_EXCL`` and mode 0600; it is used only while it is a
regular file (not a link) of this user that no one else can read or write — any
other key file turns the cache off for the load (never an error), as does an
unusable directory.  This keeps out every entry this user's kaohe did not write;
it cannot keep out someone who can already read this user's files.

Defence in depth after authentication: trees and tables are stored as JSON and
rebuilt only into Lark ``Tree``/``Token`` objects and parser tables (nothing is
unpickled), any shape error there counts as a miss; code objects are ``marshal``
data taken only if they are code compiled under the expected file name.  The
directory is created 0700 and must be this user's and writable by no one else;
entries are written 0600 and must be regular files (no links, no FIFOs, no
directories), this user's, writable by no one else and at most
:data:`~kaohe_rules.limits.MAX_CACHE_ENTRY_BYTES` long — a longer file is not
read.  Entries are written to a temporary file in the same directory and moved
into place with ``os.replace``, so a concurrent reader sees the old entry or the
new one, never half of one.  Whatever is wrong with an entry, it is ignored and
rebuilt: the cache never makes loading fail and never changes a result.

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
import hmac
import json
import marshal
import os
import stat
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .limits import MAX_CACHE_ENTRY_BYTES

MAX_ENTRIES = 256
#: The per-user secret the entries' tags are computed with, in the cache directory.
KEY_FILE = "hmac.key"
_KEY_BYTES = 32
_MAGIC = b"KHC1"
_TAG_BYTES = 32  # HMAC-SHA256
_HEADER = len(_MAGIC) + _TAG_BYTES
_DOMAIN = b"kaohe_rules cache entry v1\0"
_TEMP = ".tmp-"
_STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by a process that died mid-write
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO planted as an entry must not block
_BINARY = getattr(os, "O_BINARY", 0)
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
    """Owned by this user and writable by no one else (POSIX); other platforms rely on the user profile.

    Follows a symbolic link: the cache directory itself may be one the user chose.
    """
    try:
        st = os.stat(path)
    except OSError:
        return False
    return _ours(st, 0o022)


def _ours(st: os.stat_result, others: int) -> bool:
    """This user's, and none of the ``others`` permission bits set (POSIX only)."""
    if not hasattr(os, "getuid"):
        return True
    return st.st_uid == os.getuid() and not st.st_mode & others


@functools.lru_cache(maxsize=1)
def engine_key() -> str:
    """What every entry depends on besides its own input."""
    from ._version import __version__
    from .grammar_file import grammar_text

    try:
        import lark

        lark_version = lark.__version__
    except ImportError:  # pragma: no cover - lark is a dependency
        lark_version = "?"
    parts = [__version__, hashlib.sha256(grammar_text().encode("utf-8")).hexdigest(), lark_version,
             sys.implementation.cache_tag or sys.version]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:20]


# ------------------------------------------------------------ the secret key
def _secret(root: Path) -> bytes | None:
    """This user's cache key, created on first use; None (the cache is off) when it cannot be trusted."""
    path = root / KEY_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        _create_secret(root, path)
    try:
        return _read_secret(path)
    except FileNotFoundError:
        return None


def _read_secret(path: Path) -> bytes | None:
    """The key, if ``path`` is a regular file of this user's no one else can read or write, of 32 bytes."""
    try:
        data = _read_private(path, _KEY_BYTES, others=0o077)
    except FileNotFoundError:
        raise
    except OSError:
        return None
    return data if data is not None and len(data) == _KEY_BYTES else None


def _create_secret(root: Path, path: Path) -> None:
    """Write a new key: complete in a private temporary file, then linked into place.

    ``os.link`` never replaces an existing key, so of two processes starting at once
    one key wins and both use it; a reader never sees a half-written key.  Where hard
    links are not supported the key is created in place (``O_EXCL``): a reader racing
    that write finds a short key and runs that load without the cache.
    """
    import secrets

    key = secrets.token_bytes(_KEY_BYTES)
    tmp = root / f"{_TEMP}key-{secrets.token_hex(8)}"
    try:
        _create_file(tmp, key)
    except OSError:
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:
        with contextlib.suppress(OSError):
            _create_file(path, key)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _create_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


# ----------------------------------------------------------------- entries
def _read_private(path: Path, limit: int, *, others: int = 0o022) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not a link) of this user's and at most ``limit`` long.

    None for anything else — a directory, a FIFO, a device, a file someone else may
    write, a longer file (never read beyond ``limit`` + 1 bytes, even if the file
    grows meanwhile).  OSError (FileNotFoundError when absent) propagates.
    """
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit or not _ours(st, others):
            return None
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    finally:
        os.close(fd)


class _Slot(NamedTuple):
    """Where one entry lives and the key its tag is made with."""

    path: Path
    secret: bytes
    kind: str
    key: str


def _name_ok(name: str) -> bool:
    """Kinds and keys are plain names: never a path separator, a dot or a parent reference."""
    return 0 < len(name) <= 128 and name.isascii() and name.replace("-", "").replace("_", "").isalnum()


def _slot(kind: str, key: str, suffix: str) -> _Slot | None:
    """The entry's place, or None when the cache cannot be used safely (then it is simply off)."""
    if not (_name_ok(kind) and _name_ok(key)):
        return None
    root = directory()
    if root is None:
        return None
    secret = _secret(root)
    if secret is None:
        return None
    folder = root / kind
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or not _ours(st, 0o022):  # a link or someone else's: not ours to use
        return None
    return _Slot(folder / f"{key}{suffix}", secret, kind, key)


def _tag(slot: _Slot, payload: bytes) -> bytes:
    mac = hmac.new(slot.secret, digestmod=hashlib.sha256)
    mac.update(_DOMAIN)
    mac.update(slot.kind.encode("ascii") + b"\0" + slot.key.encode("ascii") + b"\0")
    mac.update(payload)
    return mac.digest()


def _fetch(slot: _Slot | None) -> bytes | None:
    """The entry's payload if its tag proves this user's kaohe wrote it for this kind and key; else None."""
    if slot is None:
        return None
    try:
        data = _read_private(slot.path, MAX_CACHE_ENTRY_BYTES)
    except OSError:
        return None
    if data is None or len(data) < _HEADER or not data.startswith(_MAGIC):
        return None
    payload = data[_HEADER:]
    if not hmac.compare_digest(data[len(_MAGIC):_HEADER], _tag(slot, payload)):
        return None
    return payload


def _put(slot: _Slot | None, payload: bytes) -> None:
    """Store (or overwrite) the entry; entries beyond the size cap are not stored at all."""
    if slot is None or _HEADER + len(payload) > MAX_CACHE_ENTRY_BYTES:
        return
    _write(slot.path, _MAGIC + _tag(slot, payload) + payload)


def _write(path: Path, data: bytes) -> None:
    """Atomically: a temporary file in the same directory, moved over the entry with ``os.replace``.

    ``os.replace`` replaces a link itself, never its target; an empty directory in
    the entry's place is removed first (a non-empty one stays, and the entry is not
    stored).
    """
    try:
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(path).st_mode):
                os.rmdir(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP)
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
    """Keep the newest :data:`MAX_ENTRIES` entries; remove temporary files a dead writer left behind."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    entries: list[tuple[float, Path]] = []
    for name in names:
        path = folder / name
        try:
            mtime = os.lstat(path).st_mtime
        except OSError:
            continue
        if name.startswith(_TEMP):
            if now - mtime > _STALE_TEMP_SECONDS:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            continue
        entries.append((mtime, path))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda entry: entry[0])
    for _mtime, old in entries[: len(entries) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            os.unlink(old)


def read_json(kind: str, key: str) -> Any:
    """The JSON value stored under (kind, key), or None when there is no authentic, well-formed entry."""
    payload = _fetch(_slot(kind, key, ".json"))
    if payload is None:
        return None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def write_json(kind: str, key: str, value: object) -> None:
    try:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return
    _put(_slot(kind, key, ".json"), data)


def clear() -> int:
    """Remove every entry of the cache directory; returns how many files were removed.

    Only real subdirectories are emptied (a link is never followed out of the cache);
    the secret key stays, so entries written from now on are valid as before.
    """
    root = directory()
    removed = 0
    if root is None:
        return 0
    for folder in root.iterdir():
        with contextlib.suppress(OSError):
            if folder.name.startswith(_TEMP) and stat.S_ISREG(os.lstat(folder).st_mode):
                os.unlink(folder)  # a key file a dead process left half-made
                continue
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                continue
        for entry in _listing(folder):
            with contextlib.suppress(OSError):
                os.unlink(entry)
                removed += 1
    return removed


def _listing(folder: Path) -> list[Path]:
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []
        return [folder / name for name in os.listdir(folder)]
    except OSError:
        return []


# ------------------------------------------------------------ code objects
def compile_source(source: str, filename: str) -> types.CodeType:
    """``compile(source, filename, "exec")``, from the cache when the policy cache is active.

    A cached code object is executed by the caller, so it is taken only from an
    entry whose tag verifies (checked before ``marshal.loads`` sees a byte) and only
    if it is a code object compiled under ``filename``; anything else is compiled
    again and the entry overwritten.
    """
    if not active():
        return compile(source, filename, "exec")
    key = hashlib.sha256(f"{engine_key()}\0{filename}\0{source}".encode()).hexdigest()
    slot = _slot("code", key, ".marshal")
    payload = _fetch(slot)
    if payload is not None:
        try:
            code = marshal.loads(payload)  # noqa: S302 - authenticated: this user's kaohe wrote it for this source
        except Exception:  # EOFError, ValueError, TypeError, ... : a miss
            code = None
        if isinstance(code, types.CodeType) and code.co_filename == filename:
            return code
    code = compile(source, filename, "exec")
    _put(slot, marshal.dumps(code))
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
    """The cached serialised LALR parser (Lark's own ``memo_serialize`` form), or None.

    None also for an entry of any other shape: the caller builds the parser then.
    """
    data = read_json("parser", engine_key())
    if not isinstance(data, dict) or set(data) != {"data", "memo"}:
        return None
    try:
        tables = _decode_keys(data)
    except (TypeError, ValueError, RecursionError):  # a non-list __items__, a pair of 3, an unhashable key
        return None
    if not isinstance(tables.get("data"), dict) or not isinstance(tables.get("memo"), dict):
        return None
    return tables


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
