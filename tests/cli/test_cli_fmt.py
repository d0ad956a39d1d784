"""``kaohe fmt``: in place, --check, --diff, stdin, folders, syntax errors (docs/cli.md, "kaohe fmt")."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import ROOT, run

MESSY = 'policy  甲 "甲"{ period 2013-01-01..2013-12-31 }\nfact 数 : int>=0 "数"   # 注\n'
CLEAN = 'policy 甲 "甲" {\n  period 2013-01-01 .. 2013-12-31\n}\nfact 数: int >= 0 "数"  # 注\n'
BROKEN = 'policy 乙 {\nfact 数 int "数"\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "messy.kh").write_text(MESSY, encoding="utf-8")
    (tmp_path / "sub" / "clean.kh").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "sub" / "notes.txt").write_text(MESSY, encoding="utf-8")
    (tmp_path / ".hidden" / "skipped.kh").write_text(MESSY, encoding="utf-8")
    return tmp_path


def test_in_place_rewrites_the_files_that_change(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mode = (tree / "messy.kh").stat().st_mode
    code, out, err = run(capsys, "fmt", tree)
    assert code == 0 and out == ""
    assert "1 file reformatted, 1 unchanged" in err
    assert (tree / "messy.kh").read_text(encoding="utf-8") == CLEAN
    assert (tree / "messy.kh").stat().st_mode == mode
    assert (tree / "sub" / "notes.txt").read_text(encoding="utf-8") == MESSY  # not a .kh file
    assert (tree / ".hidden" / "skipped.kh").read_text(encoding="utf-8") == MESSY  # a hidden folder
    assert sorted(p.name for p in tree.rglob("*") if p.is_file()) == ["clean.kh", "messy.kh", "notes.txt", "skipped.kh"]
    code, out, err = run(capsys, "fmt", tree)
    assert code == 0 and "0 files reformatted, 2 unchanged" in err


def test_check_lists_the_files_that_would_change_and_writes_nothing(tree: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "fmt", "--check", tree)
    assert code == 1
    assert out == f"{tree / 'messy.kh'}\n"
    assert "1 file would be reformatted, 1 unchanged" in err
    assert (tree / "messy.kh").read_text(encoding="utf-8") == MESSY
    code, out, _ = run(capsys, "fmt", "--check", tree / "sub" / "clean.kh")
    assert code == 0 and out == ""


def test_diff_prints_a_unified_diff_and_writes_nothing(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fmt", "--diff", tree / "messy.kh")
    assert code == 1
    name = str(tree / "messy.kh")
    assert out.startswith(f"--- {name}\n+++ {name} (formatted)\n@@ ")
    assert '-fact 数 : int>=0 "数"   # 注\n' in out and '+fact 数: int >= 0 "数"  # 注\n' in out
    assert (tree / "messy.kh").read_text(encoding="utf-8") == MESSY


def test_stdin_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(MESSY))
    code, out, err = run(capsys, "fmt", "-")
    assert (code, out, err) == (0, CLEAN, "")
    monkeypatch.setattr(sys, "stdin", io.StringIO(MESSY))
    code, out, _ = run(capsys, "fmt", "--check", "-")
    assert (code, out) == (1, "-\n")


def test_a_syntax_error_is_reported_and_the_other_files_are_still_formatted(
        tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "broken.kh").write_text(BROKEN, encoding="utf-8")
    code, out, err = run(capsys, "fmt", tree / "broken.kh", tree / "messy.kh")
    assert code == 2
    assert "broken.kh:2:1: error[K002]" in err and "broken.kh: not formatted (syntax error)" in err
    assert (tree / "broken.kh").read_text(encoding="utf-8") == BROKEN
    assert (tree / "messy.kh").read_text(encoding="utf-8") == CLEAN


def test_a_policy_too_deep_to_lay_out_is_not_called_a_syntax_error(
        tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "policy p { }\nfact n: int\nlet x = " + "(n + " * 10_000 + "n" + ")" * 10_000 + "\n"
    (tree / "deep.kh").write_text(deep, encoding="utf-8")
    code, _, err = run(capsys, "fmt", "--check", tree / "deep.kh")
    assert code == 2 and "error[K009]" in err
    assert "deep.kh: not formatted (nested too deeply)" in err and "syntax error" not in err


def test_a_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fmt", tmp_path / "nope.kh")
    assert code == 2 and "no such file or folder" in err
    code, _, err = run(capsys, "fmt", tmp_path)
    assert code == 0 and "no .kh files under" in err


def test_crlf_files_are_rewritten_with_lf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "crlf.kh"
    path.write_bytes(CLEAN.replace("\n", "\r\n").encode("utf-8"))
    code, out, _ = run(capsys, "fmt", "--check", path)
    assert code == 1
    run(capsys, "fmt", path)
    assert path.read_bytes() == CLEAN.encode("utf-8")


def test_the_installed_command_runs_as_a_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "messy.kh"
    path.write_text(MESSY, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "kaohe_rules", "fmt", "--check", str(path)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 1 and done.stdout == f"{path}\n"


def test_a_formatter_bug_leaves_the_file_alone(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The formatter checks its own output (same tokens, same comments): a layout that loses either is refused."""
    import kaohe_rules.language.fmt as fmt

    real = fmt.render
    for broken in (lambda doc, width: real(doc, width).replace("fact 数", "fact数"),  # two tokens run together
                   lambda doc, width: real(doc, width).replace("  # 注", "")):  # a comment lost
        monkeypatch.setattr(fmt, "render", broken)
        code, _, err = run(capsys, "fmt", tree / "messy.kh")
        assert code == 4 and "internal error" in err and "left as it is" in err
        assert (tree / "messy.kh").read_text(encoding="utf-8") == MESSY


def test_diff_lines_end_at_newlines_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # U+2028 (or U+0085, a form feed) in a comment is an ordinary character of its line; the diff split
    # the line there, so the lines after it lost their "+"/"-" and `patch` refused the diff as malformed
    policy = tmp_path / "sep.kh"
    policy.write_text('policy P "p" { period 2013-01-01..2013-12-31 }  # a\u2028b\x0cc\n', encoding="utf-8")
    code, out, _ = run(capsys, "fmt", "--diff", policy)
    assert code == 1
    body = out.split("\n")[3:-1]  # after the ---, +++ and @@ lines; the last is the final newline's ''
    assert body == ['-policy P "p" { period 2013-01-01..2013-12-31 }  # a\u2028b\x0cc',
                    '+policy P "p" {', "+  period 2013-01-01 .. 2013-12-31", "+}  # a\u2028b\x0cc"], out


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="symbolic links")
def test_a_symlinked_policy_is_formatted_through_the_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the temporary file + rename replaced the link itself with a regular file and left its target unformatted
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "policy.kh"
    target.write_text(MESSY, encoding="utf-8")
    link = tmp_path / "link.kh"
    link.symlink_to(Path("real") / "policy.kh")
    code, _, err = run(capsys, "fmt", link)
    assert code == 0 and "1 file reformatted" in err
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8") == CLEAN
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["policy.kh"]
