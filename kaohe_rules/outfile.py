"""Writing a command's report to a file (``-o FILE``): never over an input, never half-written.

A report command reads a policy (and the files it ``extends``) and a units or
trace file, and writes one report.  A typo such as ``kaohe report P units.json
-o units.json`` used to destroy the very data the report was made from, and an
interrupted write left half a report that looked like a whole one.  Every
command that writes a file therefore goes through :class:`OutputFile`:

* it refuses to write over any of the command's inputs — compared by resolved
  path *and* by ``(st_dev, st_ino)``, so a symlink or a hard link to an input is
  caught too — whatever ``--force`` says;
* it refuses to replace an existing file unless ``--force`` is given;
* it writes atomically: the text goes to a temporary file in the target's own
  directory, is flushed and fsynced, and only then takes the target's name
  (``os.replace``, or ``os.link`` when nothing may be replaced, so a file that
  appears meanwhile is not clobbered either).  On any failure — including
  Ctrl-C — the temporary file is removed, so the target holds either its old
  content or the whole new report, never a part.

Devices and pipes (``-o /dev/null``, ``-o /dev/stdout`` on a terminal or pipe)
are written to as streams: there is nothing there to destroy.  ``-o -`` means
standard output.  Every refusal is a :class:`~kaohe_rules.errors.UsageError`
(exit status 2) checked before any unit is assessed, so a mistaken command
fails at once and does no work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from .messages import usage_error


def _input_zh(what: str) -> str:
    """An input's description (``the policy file``, ``a file the old policy extends``) in Chinese."""
    words = {"the policy": "政策", "the old policy": "旧政策", "the new policy": "新政策", "the units": "单位"}
    for en, zh in words.items():
        if what == f"{en} file":
            return f"{zh}文件"
        if what == f"a file {en} extends":
            return f"{zh}所继承（extends）的文件"
    return what

#: ``-o -``: standard output, as ``-`` is standard input for a units file.
STDOUT = "-"


class OutputFile:
    """Where a command writes: standard output, or one file checked against the command's inputs.

    Construct it as soon as the arguments are parsed (the named inputs are checked
    at once), add the files only known later with :meth:`protect` /
    :meth:`protect_policy`, and :meth:`write` the text at the end, which checks
    again: the world may have changed while the units were being assessed.
    """

    def __init__(self, path: str | None, *, force: bool = False,
                 inputs: Iterable[tuple[str, str | None]] = ()) -> None:
        self.path = None if path is None or path == STDOUT else path
        self.force = force
        self._inputs: list[tuple[str, str]] = []
        self.protect(inputs)

    # ------------------------------------------------------------- inputs
    def protect(self, inputs: Iterable[tuple[str, str | None]]) -> None:
        """Add inputs (``(what, path)``, e.g. ``("the units file", "units.json")``) and check them now."""
        added = [(what, p) for what, p in inputs if p is not None and p != STDOUT]
        self._inputs.extend(added)
        self._check(added)

    def protect_policy(self, policy: Any, what: str = "the policy") -> None:
        """Add every file a loaded policy was read from (the named one and those it extends)."""
        self.protect((f"{what} file" if i == 0 else f"a file {what} extends", name)
                     for i, name in enumerate(policy_files(policy)))

    # -------------------------------------------------------------- write
    def write(self, text: str) -> None:
        """Write ``text`` (UTF-8) to the file, or to standard output when there is no file."""
        if self.path is None:
            sys.stdout.write(text)
            return
        self.write_bytes(text.encode("utf-8"))

    def write_bytes(self, data: bytes) -> None:
        """Write ``data`` as it is (an XLSX workbook, CSV in a chosen encoding), with the same checks.

        Without a file the bytes go to standard output's binary buffer; a caller that must
        not write binary to a terminal (XLSX) refuses that before (``needs_file``).
        """
        if self.path is None:
            sys.stdout.flush()
            buffer = getattr(sys.stdout, "buffer", None)
            if buffer is None:
                sys.stdout.write(data.decode("utf-8", "replace"))
            else:
                buffer.write(data)
                buffer.flush()
            return
        self._check(self._inputs)
        path = self.path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise usage_error("cannot_write", path=path, detail=str(exc.strerror or exc)) from None
        try:
            if st is not None and not stat.S_ISREG(st.st_mode):
                _write_stream(path, data)
            else:
                # through a symlink to where it points, as open(path, "w") would: the link stays a link
                write_atomically(os.path.realpath(path), data, overwrite=self.force, shown=path)
        except OSError as exc:
            raise usage_error("cannot_write", path=path, detail=str(exc.strerror or exc)) from None

    @contextlib.contextmanager
    def stream(self) -> Iterator[IO[str]]:
        """A text stream (UTF-8) for output written piece by piece, committed whole at the end.

        With a file the text goes to the temporary file of :func:`write_atomically`'s scheme
        and takes the file's name only when the block ends without an exception; standard
        output (no file) is yielded as it is.
        """
        if self.path is None:
            yield sys.stdout
            return
        with self._atomic(binary=False) as fh:
            yield fh

    @contextlib.contextmanager
    def binary_stream(self) -> Iterator[IO[bytes]]:
        """:meth:`stream` for bytes (a Parquet file written record batch by record batch, issue #13).

        Without a file the bytes go to standard output's binary buffer.
        """
        if self.path is None:
            yield sys.stdout.buffer
            return
        with self._atomic(binary=True) as fh:
            yield fh

    @contextlib.contextmanager
    def _atomic(self, *, binary: bool) -> Iterator[Any]:
        """The file's temporary twin, renamed onto it only when the block ends without an exception."""
        assert self.path is not None
        self._check(self._inputs)
        path = self.path
        mode = "wb" if binary else "w"
        encoding, newline = (None, None) if binary else ("utf-8", "")
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):  # a device or a pipe
            with open(path, mode, encoding=encoding, newline=newline) as device:
                yield device
            return
        target = os.path.realpath(path)
        directory = os.path.dirname(os.path.abspath(target))
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
        except OSError as exc:
            raise usage_error("cannot_write", path=path, detail=str(exc.strerror or exc)) from None
        try:
            with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            self._check(self._inputs)
            os.chmod(tmp, _mode_for(target))
            if self.force:
                os.replace(tmp, target)
            else:
                _link_new(tmp, target, path)
            _fsync_directory(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise usage_error("cannot_write", path=path, detail=str(exc.strerror or exc)) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _check(self, inputs: Iterable[tuple[str, str]]) -> None:
        if self.path is None:
            return
        path = self.path
        try:
            st: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise usage_error("cannot_write", path=path, detail=str(exc.strerror or exc)) from None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise usage_error("cannot_write_dir", path=path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            return  # a device or a pipe: written as a stream, nothing to overwrite
        target = os.path.realpath(path)
        for what, name in inputs:
            same_name = os.path.realpath(name) == target
            same_file = st is not None and _identity(name) == (st.st_dev, st.st_ino)
            if same_name or same_file:
                alias = "" if os.path.abspath(name) == os.path.abspath(path) else \
                    f" {name} (the same file, through a link or under another name)"
                raise usage_error("output_is_input", path=path, what=what, alias=alias, what_zh=_input_zh(what),
                                  alias_zh="" if not alias else f" {name}（同一个文件，经链接或另一个名字）")
        if st is not None and not self.force:
            raise usage_error("exists", path=path)
        parent = os.path.dirname(target) or "."
        if not os.path.isdir(parent):
            raise usage_error("no_directory", path=path, directory=os.path.dirname(path) or ".")


def policy_files(policy: Any) -> tuple[str, ...]:
    """The files a loaded policy was read from: its own first, then the files it extends.

    Read from the source spans of its declarations (nothing is read again from
    disk); names that are not files (a policy given as text) are left out.
    """
    checked = getattr(policy, "checked", None)
    names: list[str] = []

    def add(node: object) -> None:
        source = getattr(getattr(node, "span", None), "source", None)
        name = getattr(source, "name", None)
        if isinstance(name, str) and name not in names:
            names.append(name)

    if checked is None:
        return ()
    try:
        add(checked.header)
        for collection in (checked.enums, checked.records, checked.facts, checked.params, checked.lets,
                           checked.outcomes, checked.checkpoints):
            for node in collection.values():
                add(node)
        for nodes in (checked.defers, checked.targets, checked.vetoes):
            for node in nodes:
                add(node)
        add(checked.ratings)
    except AttributeError:  # a policy object of another shape: protect what was found
        pass
    return tuple(n for n in names if os.path.isfile(n))


def write_atomically(path: str, data: bytes, *, overwrite: bool, shown: str | None = None) -> None:
    """Give ``path`` the content ``data`` all at once, or leave it as it was.

    The data goes to a temporary file in the same directory (so the final rename
    cannot cross file systems), is flushed and fsynced, and is then renamed onto
    ``path``.  Without ``overwrite`` the rename is a hard link, which fails when
    ``path`` exists — even when it appeared a moment ago.  The temporary file is
    removed on every failure, Ctrl-C included.
    """
    shown = shown or path
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path, shown)
        _fsync_directory(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _link_new(tmp: str, path: str, shown: str) -> None:
    """Move ``tmp`` to ``path`` only if ``path`` does not exist (atomically where links are supported)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise usage_error("exists", path=shown) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        # a file system without hard links: check, then rename (a race remains only there)
        if os.path.lexists(path):
            raise usage_error("exists", path=shown) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _mode_for(path: str) -> int:
    """The permissions of the file replaced, else what a new file gets (0666 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); best effort elsewhere."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_stream(path: str, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino
