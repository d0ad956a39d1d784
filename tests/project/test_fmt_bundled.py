"""The bundled policies are in the canonical layout (``kaohe fmt --check``), and docs/fmt.md's example is real."""

from __future__ import annotations

import io
import re
from pathlib import Path

from kaohe_rules.language.fmt import format_text
from kaohe_rules.language.fmt.files import run

ROOT = Path(__file__).resolve().parents[2]
#: the folders whose .kh files ship with the project (tests/data holds fixtures, laid out as each test needs)
BUNDLED = ("policies", "docs", "benchmarks")


def _bundled_files() -> list[str]:
    """Every shipped .kh file but the diagnostic catalogue's examples (docs/codes/): those are minimal fixtures,
    several of them deliberately unparseable, kept compact so that the one line that triggers a code stays in view
    (like tests/data's)."""
    codes = ROOT / "docs" / "codes"
    return sorted(str(path) for folder in BUNDLED for path in (ROOT / folder).rglob("*.kh")
                  if not path.is_relative_to(codes))


def test_every_bundled_policy_is_formatted() -> None:
    out, err = io.StringIO(), io.StringIO()
    files = _bundled_files()
    status = run(files, check=True, out=out, err=err)
    assert status == 0, ("not in the canonical layout (run `kaohe fmt` on them):\n" + out.getvalue() + err.getvalue())
    assert len(list((ROOT / "policies").glob("*.kh"))) >= 10 and len(files) >= 13


def test_the_before_and_after_of_docs_fmt_md_are_the_formatters() -> None:
    page = (ROOT / "docs" / "fmt.md").read_text(encoding="utf-8")
    before, after = re.findall(r"```kaohe\n(.*?)```", page, re.DOTALL)[:2]
    assert format_text(before) == after
    assert before != after
