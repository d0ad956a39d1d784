"""Source files and spans: where in a policy file each piece of syntax came from.

Every AST node carries a :class:`Span`; every diagnostic renders the offending
line with a caret underneath.  The span keeps a reference to its
:class:`SourceFile`, so later stages can render excerpts without re-reading
anything from disk.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import attrs

from .limits import MAX_POLICY_BYTES, SURROGATE, SURROGATE_PATTERN


@attrs.frozen(eq=False)
class SourceFile:
    """The text of one policy file and the name it is reported under."""

    name: str
    text: str
    lines: tuple[str, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # Lines as the parser counts them: split at "\n" only ("\r\n" loses its "\r").
        # ``str.splitlines`` also splits at \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and
        # \u2029, which may stand in whitespace or labels: the excerpt under a diagnostic
        # (and a trace's clause text) would then come from the wrong line.
        lines = self.text.split("\n")
        if lines[-1] == "":
            lines.pop()  # as splitlines: no line after a final newline
        object.__setattr__(self, "lines", tuple(line[:-1] if line.endswith("\r") else line for line in lines))

    def line(self, number: int) -> str:
        """The text of a 1-based line, or '' when out of range."""
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return ""


@attrs.frozen
class Span:
    """A region of a source file: 1-based line and column, end inclusive of the last char."""

    source: SourceFile = attrs.field(eq=False, repr=False)
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def file(self) -> str:
        return self.source.name

    def location(self) -> str:
        return f"{self.source.name}:{self.line}:{self.column}"

    def excerpt(self) -> str:
        """The offending line with a caret under the span (CJK characters count as two columns)."""
        text = self.source.line(self.line)
        if not text and self.line > len(self.source.lines):
            return ""
        gutter = f"{self.line:>4} | "
        start = max(self.column - 1, 0)
        if self.end_line == self.line:
            stop = max(self.end_column - 1, start + 1)
        else:
            stop = max(len(text), start + 1)
        if len(text) > _EXCERPT_CHARS:  # a 200,000-character line is shown around the span, not in full
            stop = min(stop, start + _EXCERPT_CHARS // 2)
            left = max(start - _EXCERPT_CHARS // 4, 0)
            right = min(stop + _EXCERPT_CHARS // 4, len(text))
            head, tail = ("…" if left else ""), ("…" if right < len(text) else "")
            text = head + text[left:right] + tail
            start, stop = start - left + len(head), stop - left + len(head)
        pad = _display_width(text[:start].replace("\t", " "))
        width = max(_display_width(text[start:stop]), 1)
        return f"{gutter}{text}\n{' ' * (len(gutter) - 2)}| {' ' * pad}{'^' * width}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.source.name,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


_EXCERPT_CHARS = 160


def _display_width(text: str) -> int:
    """Terminal width of text: East Asian wide and full-width characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def point_span(source: SourceFile, line: int, column: int) -> Span:
    """A one-character span, for errors that only know a position."""
    return Span(source, line, column, line, column + 1)


# ------------------------------------------------------------- reading policy text
BOM = "\ufeff"


def without_bom(text: str) -> str:
    """``text`` without a leading byte-order mark.

    Editors on Windows save UTF-8 with a BOM and never show it; stripping it keeps
    line 1's columns the ones the author sees.
    """
    return text[1:] if text.startswith(BOM) else text


def first_surrogate(text: str) -> int | None:
    """The index of the first surrogate code point in ``text``, or None.

    A Python string can hold lone surrogates (text decoded with ``surrogateescape``
    or ``surrogatepass``, half of a UTF-16 pair); such text is not Unicode text and
    cannot be encoded as UTF-8 (the content hash, the cache keys, any output).
    """
    found = SURROGATE(text)
    return found.start() if found else None


def displayable(text: str) -> str:
    """``text`` with each surrogate replaced by U+FFFD: same length, so positions stay right."""
    return SURROGATE_PATTERN.sub("\ufffd", text)


def display_name(name: str) -> str:
    """A file name fit for messages: surrogates (a non-UTF-8 name decoded by the OS layer) written as escapes.

    The name is shown in every diagnostic and trace; a surrogate in it would make
    printing or writing them as UTF-8 fail.
    """
    if first_surrogate(name) is None:
        return name
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based (line, column) of ``text[index]``, counting lines as the parser does (by "\\n")."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


# Blank lines and comments, then the keyword ``policy``: how every policy file begins.
_POLICY_START = re.compile("(?:[ \t\x0c\r\n]+|#[^\n]*)*+policy(?![^\\W\\d]|[0-9])")


def starts_like_policy(text: str) -> bool:
    """Whether ``text`` (without BOM) begins as every policy does: comments, then ``policy``."""
    return _POLICY_START.match(text) is not None


class UnreadablePolicy(Exception):
    """Why a policy file was not read: a sentence about the file, never its content."""

    def __init__(self, reason: str, hint: str | None = None, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
        self.missing = missing


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def read_policy_file(path: Path, limit: int = MAX_POLICY_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes); raises :class:`UnreadablePolicy`.

    Why so careful: a policy path may come from another policy's ``extends`` or from a
    request.  ``/dev/zero`` never ends, a FIFO blocks ``open`` until a writer comes, a
    directory or device is not a policy.  The file is checked with ``os.stat`` before
    it is opened, opened without blocking, checked again on the open descriptor (the
    same file, still regular), and read to at most ``limit`` + 1 bytes, so nothing
    read can stall or exhaust the engine.  No byte of the file ever appears in the
    reason.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise UnreadablePolicy("no such file", missing=True) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise UnreadablePolicy(_os_reason(exc)) from None
    if not stat.S_ISREG(before.st_mode):
        raise UnreadablePolicy(f"it is {_kind(before.st_mode)}, not a regular file",
                               "a policy is a regular file of UTF-8 text")
    if before.st_size > limit:
        raise UnreadablePolicy(_too_large(limit), "split the policy, or check that this is the file you meant")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise UnreadablePolicy(_os_reason(exc)) from None
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise UnreadablePolicy("the file was replaced while it was being opened")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnreadablePolicy(_os_reason(exc)) from None
    finally:
        os.close(fd)
    if size > limit:
        raise UnreadablePolicy(_too_large(limit), "split the policy, or check that this is the file you meant")
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        gb = _gb18030_policy(data)
        if gb is not None:
            return gb
        raise UnreadablePolicy(f"it is not UTF-8 text (byte {exc.start + 1} cannot be decoded)",
                               "policy files are UTF-8 text; re-save the file as UTF-8") from None


def _gb18030_policy(data: bytes) -> str | None:
    """The text of a policy saved as GB18030/GBK ("ANSI" in Chinese Windows Notepad), else None.

    Tried only when the bytes are not UTF-8 (valid UTF-8 is always read as UTF-8), and
    accepted only when the whole file decodes strictly and the text begins as every
    policy does (:func:`starts_like_policy`): bytes that merely happen to decode are
    still refused as "not UTF-8 text".
    """
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    text = text[1:] if text.startswith(BOM) else text
    return text if starts_like_policy(text) else None


def _too_large(limit: int) -> str:
    return f"it is larger than {limit:,} bytes, the limit for this file (docs/limits.md)"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "the path is not valid" if isinstance(exc, ValueError) else type(exc).__name__
