"""The catalogue of diagnostic codes, ``docs/codes.md`` (issue #14): every K-code, an example that
triggers it, the diagnostic kaohe really prints for it, and the fix.

Why generated: a hand-written catalogue drifts from the checker the day a message changes.  The
examples are files, ``docs/codes/<CODE>.kh`` (a folder ``docs/codes/<CODE>/main.kh`` for the
``extends`` codes, whose parent sits beside it) and ``docs/codes/<CODE>.fix.kh``; the page is made
from them and from :data:`kaohe_rules.language.codes.CODES` by loading each example, so the shown
diagnostic is the real one.  ``tests/project/test_codes_catalogue.py`` checks that each example
triggers exactly its code, that each fix does not, and that the page is what this module makes::

    python -m kaohe_rules.testing.catalogue --update docs/codes.md   # or: bash dev.sh docs
    python -m kaohe_rules.testing.catalogue --check docs/codes.md

It lives with the tools (it loads policies, which the language layer's ``codes`` may not do).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from ..errors import PolicyError
from ..language.codes import CODES, Code, markdown_block

#: Codes that no file can show, and what stands in the page instead of an example.
NO_EXAMPLE = {
    "K000": "Defensive: the parser reports every error Lark can raise as K001, K002 or K003, so no "
            "policy text reaches this code. Seeing it is a bug in kaohe: please report it with the policy.",
    "K004": "The policy file does not exist (or is not a file): `kaohe check no-such.kh`. Fix the path; "
            "an `extends` path is relative to the extending file.",
    "K005": "The policy file is not valid UTF-8, or holds a lone surrogate (a broken character from a "
            "bad conversion). Save the file as UTF-8 (GBK text is refused, never guessed).",
    "K009": "An expression nested thousands of levels deep, e.g. `let x = (((…(n)…)))` with 10,000 "
            "parentheses: refused before the parser or the checker runs out of stack. Write it flat "
            "(`sum(…)`, several lets).",
}


@attrs.frozen
class Example:
    """The files of one code's example (None where there is none)."""

    code: Code
    trigger: Path | None  #: ``<CODE>.kh``, or ``<CODE>/main.kh``
    fix: Path | None  #: ``<CODE>.fix.kh``, or ``<CODE>/main.fix.kh``

    @property
    def folder(self) -> bool:
        """Whether the example is a folder of files (an ``extends`` code: the parent sits beside it)."""
        return self.trigger is not None and self.trigger.name == "main.kh"


def example(directory: Path, code: Code) -> Example:
    for trigger, fix in ((directory / f"{code.code}.kh", directory / f"{code.code}.fix.kh"),
                         (directory / code.code / "main.kh", directory / code.code / "main.fix.kh")):
        if trigger.is_file():
            return Example(code, trigger, fix if fix.is_file() else None)
    return Example(code, None, None)


def diagnostics(path: Path) -> tuple[list[str], str]:
    """Load one example file as ``kaohe check`` would: the codes it reports, and what it prints.

    The errors when there are any (loading stops there), else the warnings.  The file is named by
    its base name (``K104.kh``), so the text does not depend on where the repository is.
    """
    from ..policy import load

    path = path.resolve()
    with contextlib.chdir(path.parent):
        try:
            policy = load(path.read_text(encoding="utf-8"), name=path.name)
        except PolicyError as exc:
            return [d.code for d in exc.diagnostics], _portable(exc.render(), path.parent)
    return [d.code for d in policy.warnings], _portable("\n\n".join(d.render() for d in policy.warnings), path.parent)


def _portable(text: str, folder: Path) -> str:
    """The text with the example folder's absolute path (which some ``extends`` messages name) written from the
    repository root (``docs/codes/K155``), so the page is the same in every checkout."""
    root = next((p.parent for p in folder.parents if p.name == "docs"), folder.parent)
    shown = folder.relative_to(root).as_posix()
    return text.replace(str(folder) + os.sep, shown + "/").replace(str(folder), shown)


def _fence(info: str, text: str) -> str:
    return f"```{info}\n{text.rstrip()}\n```\n"


def _files(ex: Example) -> list[Path]:
    """The files shown for a folder example: main.kh first, then the parents beside it."""
    assert ex.trigger is not None
    return [ex.trigger, *sorted(p for p in ex.trigger.parent.glob("*.kh") if p.name not in ("main.kh", "main.fix.kh"))]


def section(ex: Example) -> str:
    """The page's section for one code."""
    code = ex.code
    out = [f'<a id="{code.code.lower()}"></a>\n', f"### {code.code} `{code.name}`\n",
           f"*{code.severity}, reported by the {code.stage}* — **{code.title}**: {code.summary}\n"]
    if ex.trigger is None:
        out.append(NO_EXAMPLE.get(code.code, "No example yet.") + "\n")
        return "\n".join(out)
    if ex.folder:  # the harness cannot run one file of several: the catalogue test loads the folder
        for path in _files(ex):
            out.append(f"`{path.name}`:\n")
            out.append(_fence(f"kaohe {code.code} no-run" if path == ex.trigger else "kaohe no-run",
                              path.read_text(encoding="utf-8")))
    else:
        out.append(_fence(f"kaohe {code.code}", ex.trigger.read_text(encoding="utf-8")))
    out.append("`kaohe check` prints:\n")
    out.append(_fence("text", diagnostics(ex.trigger)[1]))
    if ex.fix is None:
        out.append("The fix: as the hint says.\n")
    else:
        out.append("The fix:\n")
        fixed = ex.fix.read_text(encoding="utf-8")
        out.append(_fence("kaohe no-run" if ex.folder and " extends " in fixed else "kaohe", fixed))
    return "\n".join(out)


HEADER = """# Diagnostic codes

Every diagnostic kaohe reports carries a code (`K104`) that stays the same across versions, a
severity (an error stops the policy from loading, a warning does not; `kaohe check --strict`
refuses warnings too) and the stage that finds it. Numbering: K0xx text and syntax (parser, builder,
loading), K1xx meaning (checker), K15x `extends` (linker), K19x–K27x the constructs added since
(bonus points, scores as values, periods, cohorts, ledgers).

For each code below: a minimal policy that triggers it, what `kaohe check` prints for it, and the
fix — a corrected policy that no longer triggers it. The page is generated from the registry
(`kaohe_rules/language/codes.py`) and the example files in `docs/codes/`
(`python -m kaohe_rules.testing.catalogue --update docs/codes.md`, or `bash dev.sh docs`);
`tests/project/test_codes_catalogue.py` checks that every example triggers exactly its code, that
every fix does not, and that this page is up to date. Diagnostics, SARIF results and the language
server link here by code (`Code.anchor`: `codes.md#k104`).

"""


def page(directory: Path) -> str:
    """The whole of docs/codes.md."""
    parts = [HEADER, "## All codes\n\n", markdown_block(), "\n## The codes, one by one\n"]
    for code in CODES.values():
        parts.append("\n" + section(example(directory, code)))
    return "".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """``--update FILE`` writes the page, ``--check FILE`` exits 1 when it differs."""
    parser = argparse.ArgumentParser(prog="python -m kaohe_rules.testing.catalogue",
                                     description="The catalogue of kaohe diagnostic codes (docs/codes.md).")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--update", metavar="FILE", type=Path, help="write the page")
    group.add_argument("--check", metavar="FILE", type=Path, help="exit 1 when FILE is not the generated page")
    parser.add_argument("--examples", metavar="DIR", type=Path, default=None,
                        help="the example files (default: codes/ beside FILE)")
    args = parser.parse_args(argv)
    target: Path = args.update or args.check
    text = page(args.examples or target.parent / "codes")
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is not the generated catalogue; run python -m kaohe_rules.testing.catalogue "
                  f"--update {target}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
