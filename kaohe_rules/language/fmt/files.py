"""``kaohe fmt`` over files: find the policies, format each, then check, diff or rewrite them.

Kept apart from the argument parsing (``kaohe_rules.cli``) so that the behaviour — which
files, what is written where, which exit status — is one function, :func:`run`, that the
tests call with their own streams.  Exit statuses follow docs/cli.md: 0 nothing to do or
done, 1 ``--check``/``--diff`` found a file that would change, 2 a usage error or a file
that does not parse (as ``kaohe check``'s syntax errors, but ``--check`` owns 1 here), 4 a
formatter bug (the file is left as it was).  Every file is processed even after a failure.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from ...errors import PolicyError
from . import InternalFormatError, format_text

OK, WOULD_CHANGE, USAGE, INTERNAL = 0, 1, 2, 4
#: the extension of policy files searched for in a folder
SUFFIX = ".kh"


def policy_files(path: Path) -> Iterator[Path]:
    """The ``.kh`` files under a folder, sorted, hidden folders (``.git``, ``.venv``) skipped."""
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(SUFFIX):
                yield Path(root) / name


def write_atomically(path: Path, text: str) -> None:
    """Replace a file's content at once (a temporary file beside it, then a rename), keeping its mode.

    A symbolic link is written through: the rename replaces its target, not the link.
    """
    path = Path(os.path.realpath(path))
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def run(paths: Sequence[str], *, check: bool = False, diff: bool = False, out: IO[str] | None = None,
        err: IO[str] | None = None, stdin: IO[str] | None = None) -> int:
    """Format the policies named by ``paths`` (files, folders searched for ``*.kh``, ``-`` = stdin).

    Default: rewrite each file that changes, in place, and say how many changed.
    ``check``: list the files that would change, write nothing.  ``diff``: print a unified
    diff of each, write nothing.  Standard input is formatted to standard output (with
    ``check``/``diff`` it is only checked or diffed).
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    status = OK
    changed = unchanged = 0
    for name, path in _targets(paths, err):
        if path is None and name != "-":
            status = max(status, USAGE)
            continue
        try:
            original = _read(path, stdin)
        except (OSError, UnicodeDecodeError) as exc:
            err.write(f"kaohe: fmt: cannot read {name}: {getattr(exc, 'strerror', None) or exc}\n")
            status = max(status, USAGE)
            continue
        try:
            formatted = format_text(original, name)
        except PolicyError as exc:
            err.write(exc.render() + "\n")
            nested = all(d.code == "K009" for d in exc.diagnostics)  # it parses: too deep to lay out, not a syntax error
            err.write(f"{name}: not formatted ({'nested too deeply' if nested else 'syntax error'})\n")
            status = max(status, USAGE)
            continue
        except InternalFormatError as exc:
            err.write(f"kaohe: fmt: internal error, {name} left as it is: {exc} (please report it)\n")
            status = max(status, INTERNAL)
            continue
        if formatted == original:
            unchanged += 1
            if path is None and not (check or diff):
                out.write(formatted)
            continue
        changed += 1
        if check or diff:
            if status == OK:
                status = WOULD_CHANGE
            if check:
                out.write(f"{name}\n")
            if diff:
                out.writelines(difflib.unified_diff(_lines(original), _lines(formatted), f"{name}", f"{name} (formatted)"))
            continue
        if path is None:
            out.write(formatted)
            continue
        try:
            write_atomically(path, formatted)
        except OSError as exc:
            err.write(f"kaohe: fmt: cannot write {name}: {exc.strerror or exc}\n")
            status = max(status, USAGE)
    if any(p != "-" for p in paths):
        verb = "would be reformatted" if check or diff else "reformatted"
        err.write(f"{changed} file{'s' if changed != 1 else ''} {verb}, {unchanged} unchanged\n")
    return status


def _targets(paths: Sequence[str], err: IO[str]) -> Iterator[tuple[str, Path | None]]:
    """(name shown, path) for each file to format; path None for stdin, or after a message for a missing path."""
    for given in paths:
        if given == "-":
            yield "-", None
            continue
        path = Path(given)
        if path.is_dir():
            found = list(policy_files(path))
            if not found:
                err.write(f"kaohe: fmt: no {SUFFIX} files under {given}\n")
            for file in found:
                yield str(file), file
        elif path.exists():
            yield given, path
        else:
            err.write(f"kaohe: fmt: no such file or folder: {given}\n")
            yield given, None


def _read(path: Path | None, stdin: IO[str] | None) -> str:
    if path is None:
        stream = stdin if stdin is not None else sys.stdin
        return stream.read()
    with open(path, encoding="utf-8", newline="") as stream:
        return stream.read()


def _lines(text: str) -> list[str]:
    # lines end at "\n" only, as the parser counts them (str.splitlines also splits at U+2028, U+0085,
    # a form feed … inside a comment or a label, which garbled the diff)
    lines = text.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
