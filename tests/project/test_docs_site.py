"""The docs site builds with MkDocs Material, warnings as errors (issue #14).

``mkdocs build --strict`` fails on a page missing from the nav's files, a relative link to a page
or file that does not exist, and a link to an anchor no heading produces (``validation.anchors``
in mkdocs.yml).  Skipped only where the docs extra is not installed; CI installs the dev extras,
which include it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    site = tmp_path / "site"
    for page in ("index.html", "codes.html", "limits-language.html", "architecture.html", "tutorial.html"):
        assert (site / page).is_file(), page
    # a repository file a page links to is published with the site (.mkdocs/repo_files.py)
    assert (site / "_repo" / "policies" / "aba.kh").is_file()
    assert "```" not in (site / "ledgers.html").read_text(encoding="utf-8")  # every fence rendered as code
