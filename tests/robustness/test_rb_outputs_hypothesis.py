"""``kaohe verify`` and ``kaohe diff`` write nothing into the directory they are run from.

Regression test for issue #9: ``kaohe verify`` left a ``.hypothesis/`` directory
(hypothesis's constants and Unicode caches) in the current directory.  Each
scenario runs in a fresh interpreter, because hypothesis fixes its storage
directory once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SMALL = """\
policy 小 "small" { period 2013-01-01 .. 2013-12-31 }
category 单位 total 10 { section 甲 10 }
fact a: bool
fact 名称: text
target x in 单位.甲 points 10 { full when a }
ratings { 好 差 } vetoed 差
bands 单位 { 好 [5, 10] 差 [0, 5) }
"""

VERIFY = 'assert main(["verify", "small.kh", "--examples", "3"]) == 0'
DIFF = 'assert main(["diff", "small.kh", "small.kh", "--examples", "3", "--format", "json"]) == 0'


def _run(tmp_path: Path, commands: tuple[str, ...] = (VERIFY,), **env: str) -> tuple[Path, Path]:
    work, temp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    (work / "small.kh").write_text(SMALL, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HYPOTHESIS", "KAOHE"))}
    environ.update({"PYTHONPATH": str(ROOT), "TMPDIR": str(temp), "KAOHE_CACHE_DIR": str(tmp_path / "cache")},
                   **env)
    script = "\n".join(("from kaohe_rules.cli import main",) + commands)
    done = subprocess.run([sys.executable, "-c", script], cwd=work, env=environ, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return work, temp


def test_verify_leaves_the_current_directory_alone(tmp_path: Path) -> None:
    work, temp = _run(tmp_path, (VERIFY,))
    assert sorted(p.name for p in work.iterdir()) == ["small.kh"]  # no .hypothesis
    # hypothesis's caches went to kaohe's private cache directory instead (kept: about 1 s a run)
    home = tmp_path / "cache" / "hypothesis"
    assert home.is_dir() and any(home.iterdir())
    if hasattr(os, "getuid"):
        assert home.stat().st_mode & 0o077 == 0


def test_diff_without_a_disk_cache_leaves_nothing_anywhere(tmp_path: Path) -> None:
    work, temp = _run(tmp_path, (DIFF,), KAOHE_CACHE="0")  # diff generates units with hypothesis too
    assert sorted(p.name for p in work.iterdir()) == ["small.kh"]
    assert list(temp.iterdir()) == []  # the temporary home was removed
    assert not (tmp_path / "cache").exists()


def test_an_explicit_hypothesis_storage_directory_is_honoured(tmp_path: Path) -> None:
    chosen = tmp_path / "mine"
    work, _ = _run(tmp_path, HYPOTHESIS_STORAGE_DIRECTORY=str(chosen))
    assert sorted(p.name for p in work.iterdir()) == ["small.kh"]
    assert chosen.is_dir() and any(chosen.iterdir())


def test_the_previous_hypothesis_home_is_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``verify`` inside a test session must not move that session's ``.hypothesis`` for good."""
    configuration = pytest.importorskip("hypothesis.configuration")
    from kaohe_rules.testing.cli import hypothesis_storage

    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    monkeypatch.delenv("KAOHE_CACHE", raising=False)
    monkeypatch.setenv("KAOHE_CACHE_DIR", str(tmp_path / "cache"))
    key = "__hypothesis_home_directory"
    saved = vars(configuration).get(key)
    session_home = tmp_path / "session-home"
    configuration.set_hypothesis_home_dir(session_home)
    try:
        with hypothesis_storage():
            assert configuration.storage_directory("x").path == tmp_path / "cache" / "hypothesis" / "x"
        assert vars(configuration).get(key) == session_home
        monkeypatch.setenv("KAOHE_CACHE", "0")
        with hypothesis_storage():
            temporary = configuration.storage_directory("x").path.parent
            assert temporary.is_dir() and temporary.name.startswith("kaohe-hypothesis-")
        assert not temporary.exists()
        assert vars(configuration).get(key) == session_home
    finally:
        configuration.set_hypothesis_home_dir(saved)
