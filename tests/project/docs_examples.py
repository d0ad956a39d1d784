"""Find and run the examples of README.md and docs/**/*.md (issue #14): the docs harness.

Why one harness: the pages showed commands with outputs and Python with values that nobody ran,
and they drifted (README's ``result.score  # Decimal('905.5')`` printed 900.0).  Every fenced
block of a page is classified by its info string (the words after the opening fence), and every
block of an executable language is run by ``tests/project/test_docs_run.py``:

``kaohe`` (or ``kh``)
    a policy.  A block that starts with ``policy`` (after comments) is loaded: it must pass the
    checker (an ``extends`` path resolves in ``policies/``); any other block is a fragment, parsed
    inside ``policy 示例 { }``.  ``kaohe fragment`` parses a block that starts with ``policy``
    without loading it.
``console``
    ``$ COMMAND`` lines, each followed by the output it prints (stdout and stderr as a terminal
    shows them).  A line ``…`` in the shown output stands for any number of lines.  A command
    that exits with a non-zero code shows ``[exit N]`` as its last line.  ``console excerpt``: the
    shown output is a part of what is printed.
``sh``
    commands without output: each ``kaohe …`` line must exit 0 (``# …`` comments are ignored;
    ``> FILE`` redirections and lines joined with ``\\`` work).
``python``
    run as a script.  A line that is an expression followed by ``# → VALUE`` shows a value: the
    ``repr`` of the expression must be ``VALUE``.
``json`` / ``csv`` with a path after the language (```` ```json docs/ledgers/units.json ````)
    the file's content, compared with the file.  Other ``json`` and ``toml`` blocks must parse.
``no-run`` after any language
    the block is not run (a placeholder such as ``{...}``, a command that needs the network or
    a long run); these are counted, and the test suite fails when their share grows.  In a
    ``kaohe`` block, as in a console block's output, a line that is only ``…`` stands for lines
    left out (an excerpt of a longer policy still parses).

Every other language (``text``, ``diff``, ``csv``, ``toml`` …) is an illustration; a block with no
language at all is refused, so that each block says what it is.

Commands run in a fresh directory holding copies of the repository's ``policies/``, ``docs/``,
``benchmarks/`` and ``tests/data`` (so that a command that writes files changes nothing in the
repository), with the language variables unset (English messages).  ``kaohe`` runs in-process
(``kaohe_rules.cli.main``); any other command, or a line with pipes, runs under ``bash`` with a
``kaohe`` on the PATH that is this checkout's.

``KAOHE_UPDATE_DOCS=1`` rewrites the shown output of a ``console`` block and the shown value of a
python ``# →`` line that differ, in place in the page, for a person to review with ``git diff``
(the lead regenerates after a change that moves policy line numbers).  A block with ``…``
elisions that no longer matches is rewritten in full: elide again by hand.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("KAOHE_UPDATE_DOCS", "") not in ("", "0")

#: The languages whose blocks are run (the rest are illustrations).
EXECUTABLE = ("kaohe", "kh", "console", "sh", "python")
#: The languages a block may be labelled with.
KNOWN = (*EXECUTABLE, "json", "csv", "toml", "text", "diff", "html", "yaml", "lua", "elisp")
ELIDED = ("…", "...")

FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ ]*$",
                   re.S | re.M)


def pages() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass(frozen=True)
class Block:
    page: Path
    index: int  #: the block's position among the page's fenced blocks
    line: int  #: the line of the opening fence (1-based)
    lang: str
    attrs: tuple[str, ...]
    body: str  #: the block's lines, the fence's indentation removed

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def no_run(self) -> bool:
        return "no-run" in self.attrs


def _dedent(body: str, indent: str) -> str:
    return "".join(line[len(indent):] if line.startswith(indent) else line for line in body.splitlines(True))


def blocks(page: Path, text: str | None = None) -> list[Block]:
    text = page.read_text(encoding="utf-8") if text is None else text
    found = []
    for index, match in enumerate(FENCE.finditer(text)):
        words = match.group("info").split()
        found.append(Block(page, index, text.count("\n", 0, match.start()) + 1, words[0] if words else "",
                           tuple(words[1:]), _dedent(match.group("body"), match.group("indent"))))
    return found


def all_blocks() -> list[Block]:
    return [b for page in pages() for b in blocks(page)]


def rewrite(block: Block, body: str) -> None:
    """Replace the body of ``block`` in its page (the page re-read: earlier rewrites moved lines)."""
    text = block.page.read_text(encoding="utf-8")
    match = list(FENCE.finditer(text))[block.index]
    indent = match.group("indent")
    lines = "".join(indent + line if line.strip() else line for line in body.splitlines(True))
    text = text[:match.start("body")] + lines + text[match.end("body"):]
    block.page.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------ policies
def policy_text(body: str) -> tuple[str, bool]:
    """The text to parse, and whether it is a whole policy (to be loaded).  A line that is only ``…``
    stands for lines left out (as in a console block's output) and is dropped before parsing."""
    body = "".join(line for line in body.splitlines(True) if line.strip() not in ELIDED)
    code = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    whole = bool(code) and code[0].lstrip().startswith("policy ")
    return (body if whole else "policy 示例 { }\n" + body), whole


# ------------------------------------------------------------------ commands
class Workdir:
    """Copies of the repository folders the examples read, made once per test session."""

    FOLDERS = ("policies", "docs", "benchmarks", "tests/data")

    def __init__(self, base: Path) -> None:
        self.base = base
        self.source = base / "repo"
        for name in self.FOLDERS:
            shutil.copytree(ROOT / name, self.source / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "README.md", self.source / "README.md")
        self.bin = base / "bin"
        self.bin.mkdir()
        shim = self.bin / "kaohe"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kaohe_rules "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        self.count = 0

    def page_dir(self, page: Path) -> Path:
        """The page's directory: its folders are links to the copies; the page's commands share it, as a
        reader's terminal would (a file one command writes is there for the next), pages do not."""
        path = self.base / page.relative_to(ROOT).as_posix().replace("/", "__")
        if not path.exists():
            path.mkdir()
            for name in ("policies", "docs", "benchmarks", "tests", "README.md"):
                (path / name).symlink_to(self.source / name)
        return path

    def prepare(self, block: Block) -> Path:
        """The page's directory with the scratch files the page shows before ``block`` written into it."""
        path = self.page_dir(block.page)
        for earlier in blocks(block.page):
            if earlier.index >= block.index:
                break
            name = scratch_file(earlier)
            if name is not None:
                (path / name).write_text(earlier.body, encoding="utf-8")
        return path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("KAOHE_LANG", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env


def shown_file(block: Block) -> str | None:
    """The repository file a ``json``/``csv`` block shows (```` ```json docs/ledgers/units.json ````)."""
    if block.lang in ("json", "csv", "toml", "text") and block.attrs and (ROOT / block.attrs[0]).is_file():
        return block.attrs[0]
    return None


def scratch_file(block: Block) -> str | None:
    """The file a block asks to be written for the commands after it (```` ```json units.json ````)."""
    if block.lang in ("json", "csv", "toml", "text") and block.attrs and shown_file(block) is None \
            and re.fullmatch(r"[\w\u4e00-\u9fff.-]+\.(json|jsonl|csv|toml|kh)", block.attrs[0]):
        return block.attrs[0]
    return None


VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def commands(body: str, prompt: bool) -> Iterator[tuple[str, list[str]]]:
    """(command, shown output lines) for a console block; (command, []) for each line of a sh block."""
    lines = body.splitlines()
    variables: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if prompt and not line.startswith("$ "):
            raise AssertionError(f"a console block's line before any command: {line!r} (start commands with '$ ')")
        command = line[2:] if prompt else line
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + " " + lines[i].strip()
        i += 1
        shown: list[str] = []
        while prompt and i < len(lines) and not lines[i].startswith("$ "):
            shown.append(lines[i])
            i += 1
        assignments = re.findall(r"(?:^|;\s*)(\w+)=([^\s;]+)", command)
        if assignments and re.fullmatch(r"\s*(\w+=\S+\s*;?\s*)+", command):  # P=…; U=…: kept for the lines after
            variables.update(assignments)
            continue
        command = VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), command)
        if command.strip() and not command.lstrip().startswith("#"):
            yield command.strip(), shown


#: Commands the harness never runs, whatever the block says: they install, reach the network or
#: start a server that does not return.  A block holding one must be marked ``no-run``.
#: (``kaohe serve --help`` and ``kaohe lsp --help`` return at once, so they may run.)
NEVER = re.compile(r"(^|[;&|]\s*)(pip|pip3|apt-get|apt|curl|wget|npm|sudo|kaohe\s+(serve|lsp)(?!\s+(-h|--help)\s*$)|"
                   r"bash\s+dev\.sh)\b")


def run_command(command: str, cwd: Path, work: Workdir) -> tuple[int, str]:
    """Run one command as a reader would; (exit code, what the terminal shows)."""
    if NEVER.search(command):
        raise AssertionError(f"{command!r} installs, needs the network or a server: mark its block no-run")
    words = shlex.split(command, comments=True)
    simple = words and words[0] == "kaohe" and not any(w in ("|", "&&", ";", "<", "2>", "2>&1") for w in words)
    if not simple:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=work.env(), capture_output=True, text=True,
                              timeout=600)
        return done.returncode, done.stdout + done.stderr
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    from kaohe_rules.cli import main

    screen = io.StringIO()
    out = screen if target is None else io.StringIO()
    saved = dict(os.environ)
    here = Path.cwd()
    try:
        os.environ.clear()
        os.environ.update(work.env())
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(screen):
            try:
                code = main(words[1:])
            except SystemExit as exc:  # pragma: no cover - main returns its code
                code = int(exc.code or 0)
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
    if target is not None:
        (cwd / target).write_text(out.getvalue(), encoding="utf-8")
    return code, screen.getvalue()


def printed_lines(code: int, printed: str) -> list[str]:
    lines = [line.rstrip() for line in printed.rstrip("\n").splitlines()] if printed.strip() else []
    return lines + ([f"[exit {code}]"] if code else [])


def matches(shown: list[str], actual: list[str], excerpt: bool) -> bool:
    """Whether the shown output is the printed one (``…`` lines stand for any lines)."""
    shown = [line.rstrip() for line in shown]
    while shown and not shown[-1]:
        shown.pop()
    if excerpt:  # each run of shown lines between `…` lines appears, in order, in what was printed
        text, at, part = "\n".join(actual), 0, []
        for line in [*shown, "…"]:
            if line.strip() not in ELIDED:
                part.append(line)
                continue
            if part:
                found = text.find("\n".join(part), at)
                if found < 0:
                    return False
                at, part = found + len("\n".join(part)), []
        return True
    pattern = "".join(r"(?:[^\n]*\n)*?" if line.strip() in ELIDED else re.escape(line) + r"\n" for line in shown)
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


# ------------------------------------------------------------------ python
SHOWN = re.compile(r"#\s*→\s*(?P<value>.*?)\s*$")


def python_statements(source: str) -> list[tuple[str, int, str | None]]:
    """(statement source, its last line, the value shown after ``# →`` on that line or None)."""
    tree = ast.parse(source)
    lines = source.splitlines(True)
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            match = SHOWN.match(tok.string)
            if match:
                comments[tok.start[0]] = match.group("value")
    out = []
    for node in tree.body:
        end = node.end_lineno or node.lineno
        text = "".join(lines[node.lineno - 1:end])
        shown = comments.get(end) if isinstance(node, ast.Expr) else None
        out.append((text, end, shown))
    return out


def replace_shown(source: str, line: int, value: str) -> str:
    lines = source.splitlines(True)
    old = lines[line - 1]
    at = old.rindex("#")
    lines[line - 1] = old[:at] + "# → " + value + ("\n" if old.endswith("\n") else "")
    return "".join(lines)


def load_structured(block: Block) -> None:
    if block.lang == "json":
        json.loads(block.body) if not block.body.lstrip().startswith('{"ledger"') else \
            [json.loads(line) for line in block.body.splitlines() if line.strip()]
    elif block.lang == "toml":
        import tomllib

        tomllib.loads(block.body)
