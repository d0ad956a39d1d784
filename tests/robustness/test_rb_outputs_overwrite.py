"""``-o FILE`` never destroys an input, never replaces a file without ``--force``, never half-writes.

Regression tests for issue #9: ``kaohe report POLICY units.json -o units.json``
destroyed its own input (so did ``-o POLICY``, a symlink or a hard link to an
input, and ``kaohe diff … -o`` a file the new policy extends), an existing
report was silently replaced, and an interrupted write left part of a report.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from kaohe_rules import outfile
from kaohe_rules.cli import EXIT_USAGE, UsageError, main
from kaohe_rules.outfile import OutputFile, policy_files, write_atomically

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A policy, the policy it extends and a few units, copied into a scratch directory."""
    shutil.copy(POLICIES / "karamay-2013.kh", tmp_path / "karamay-2013.kh")
    shutil.copy(POLICIES / "karamay-2014.kh", tmp_path / "karamay-2014.kh")  # extends "karamay-2013.kh"
    units = json.loads((POLICIES / "karamay-2013" / "units.json").read_text(encoding="utf-8"))["units"][:3]
    (tmp_path / "units.json").write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()}


# ------------------------------------------------------------ inputs are sacred
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("target", ["units.json", "karamay-2013.kh", "./units.json", "../{dir}/units.json"])
def test_report_never_writes_over_its_inputs(tree: Path, target: str, force: bool) -> None:
    before = snapshot(tree)
    out = str(tree / target.format(dir=tree.name))
    code, _, err = run(["report", str(tree / "karamay-2013.kh"), str(tree / "units.json"), "-o", out]
                       + (["--force"] if force else []))
    assert code == EXIT_USAGE
    assert "refusing to write" in err and "this command reads" in err
    assert snapshot(tree) == before  # byte for byte, and no temporary file left behind


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_link_to_an_input_is_caught(tree: Path, link: str) -> None:
    if link == "symlink":
        (tree / "alias.json").symlink_to(tree / "units.json")
    else:
        os.link(tree / "units.json", tree / "alias.json")
    before = (tree / "units.json").read_bytes()
    code, _, err = run(["report", str(tree / "karamay-2013.kh"), str(tree / "units.json"),
                        "-o", str(tree / "alias.json"), "--force"])
    assert code == EXIT_USAGE
    assert "the units file" in err and "the same file" in err
    assert (tree / "units.json").read_bytes() == before
    assert (tree / "alias.json").read_bytes() == before
    assert (tree / "alias.json").is_symlink() == (link == "symlink")


def test_a_symlink_to_the_policy_is_caught(tree: Path) -> None:
    (tree / "p.kh").symlink_to(tree / "karamay-2013.kh")
    before = snapshot(tree)
    code, _, err = run(["report", str(tree / "p.kh"), str(tree / "units.json"), "-o", str(tree / "karamay-2013.kh"),
                        "--force"])
    assert code == EXIT_USAGE and "policy file" in err
    assert snapshot(tree) == before


def test_diff_never_writes_over_a_file_the_policy_extends(tree: Path) -> None:
    # the parent is named nowhere on the command line: only the loaded policy knows it
    (tree / "new.kh").write_bytes((tree / "karamay-2014.kh").read_bytes())
    (tree / "karamay-2014.kh").unlink()
    before = snapshot(tree)
    os.link(tree / "karamay-2013.kh", tree / "parent-alias.kh")
    code, _, err = run(["diff", str(tree / "new.kh"), str(tree / "new.kh"), "--examples", "0",
                        "-o", str(tree / "parent-alias.kh"), "--force"])
    assert code == EXIT_USAGE
    assert "extends" in err and "refusing to write" in err
    (tree / "parent-alias.kh").unlink()
    assert snapshot(tree) == before


@pytest.mark.parametrize("target", ["old", "new", "units"])
def test_diff_never_writes_over_its_named_inputs(tree: Path, target: str) -> None:
    paths = {"old": tree / "karamay-2013.kh", "new": tree / "karamay-2014.kh", "units": tree / "units.json"}
    before = snapshot(tree)
    code, _, err = run(["diff", str(paths["old"]), str(paths["new"]), "--examples", "0", "--units",
                        str(paths["units"]), "-o", str(paths[target]), "--force"])
    assert code == EXIT_USAGE and "refusing to write" in err
    assert snapshot(tree) == before


def test_policy_files_lists_the_extended_files(tree: Path) -> None:
    from kaohe_rules import load

    names = policy_files(load(str(tree / "karamay-2014.kh")))
    assert [Path(n).name for n in names] == ["karamay-2014.kh", "karamay-2013.kh"]
    assert policy_files(load(str(tree / "karamay-2013.kh"))) == (str(tree / "karamay-2013.kh"),)


# ------------------------------------------------------------- --force
def test_an_existing_report_is_replaced_only_with_force(tree: Path) -> None:
    report = tree / "report.md"
    report.write_text("last month's report\n", encoding="utf-8")
    report.chmod(0o640)
    argv = ["report", str(tree / "karamay-2013.kh"), str(tree / "units.json"), "-o", str(report)]
    code, _, err = run(argv)
    assert code == EXIT_USAGE
    assert str(report) in err and "--force" in err
    assert report.read_text(encoding="utf-8") == "last month's report\n"
    code, _, err = run(argv + ["--force"])
    assert code == 0, err
    assert report.read_text(encoding="utf-8").startswith("# 克拉玛依市2013年安全生产目标管理实施办法")
    assert stat.S_IMODE(report.stat().st_mode) == 0o640  # the replaced file keeps its permissions
    assert sorted(p.name for p in tree.iterdir()) == ["karamay-2013.kh", "karamay-2014.kh", "report.md",
                                                      "units.json"]


def test_the_refusal_comes_before_any_work(tree: Path) -> None:
    (tree / "report.md").write_text("keep\n", encoding="utf-8")
    code, _, err = run(["report", str(tree / "missing.kh"), str(tree / "units.json"), "-o", str(tree / "report.md")])
    assert code == EXIT_USAGE and "already exists" in err  # not exit 1 for the missing policy: nothing was loaded
    code, _, err = run(["diff", str(tree / "missing.kh"), str(tree / "karamay-2013.kh"),
                        "-o", str(tree / "karamay-2013.kh")])
    assert code == EXIT_USAGE and "refusing to write" in err


def test_a_new_report_is_written(tree: Path) -> None:
    code, _, err = run(["diff", str(tree / "karamay-2013.kh"), str(tree / "karamay-2014.kh"), "--examples", "0",
                        "--format", "markdown", "-o", str(tree / "diff.md")])
    assert code == 0, err
    assert (tree / "diff.md").read_text(encoding="utf-8").startswith("# 2013 → 2014")


@pytest.mark.parametrize(("target", "message"), [(".", "it is a directory"), ("nowhere/r.md", "no directory")])
def test_unwritable_targets_are_usage_errors(tree: Path, target: str, message: str) -> None:
    code, _, err = run(["report", str(tree / "karamay-2013.kh"), str(tree / "units.json"), "-o",
                        str(tree / target)])
    assert code == EXIT_USAGE and message in err
    assert "Traceback" not in err


def test_dash_is_standard_output(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    code, out, _ = run(["report", "karamay-2013.kh", "units.json", "-o", "-"])
    assert code == 0 and out.startswith("# 克拉玛依市2013年")
    assert not (tree / "-").exists()


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="POSIX device")
def test_a_device_is_written_as_a_stream(tree: Path) -> None:
    code, _, err = run(["report", str(tree / "karamay-2013.kh"), str(tree / "units.json"), "-o", "/dev/null"])
    assert code == 0, err
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


# ------------------------------------------------------------- atomic writes
def test_a_failed_write_leaves_the_old_report_and_no_temporary_file(tree: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    report = tree / "report.md"
    report.write_text("the old report\n", encoding="utf-8")
    before = snapshot(tree)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outfile.os, "fsync", disk_full)
    code, _, err = run(["report", str(tree / "karamay-2013.kh"), str(tree / "units.json"), "-o", str(report),
                        "--force"])
    assert code == EXIT_USAGE and "cannot write" in err and "No space left" in err
    assert snapshot(tree) == before


def test_an_interrupted_write_removes_its_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(outfile.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(tmp_path / "r.md"), b"x" * 100_000, overwrite=True)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_appears_meanwhile_is_not_clobbered(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    output = OutputFile(str(target), force=False)  # checked: nothing there yet
    target.write_text("someone else's\n", encoding="utf-8")  # ... then it appears
    with pytest.raises(UsageError, match="already exists"):
        output.write("ours\n")
    with pytest.raises(UsageError, match="already exists"):
        write_atomically(str(target), b"ours\n", overwrite=False)  # the no-clobber rename itself
    assert target.read_text(encoding="utf-8") == "someone else's\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX permissions")
    umask = os.umask(0o027)
    try:
        OutputFile(str(tmp_path / "r.md")).write("text\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "r.md").stat().st_mode) == 0o640  # not mkstemp's 0600


def test_a_symlinked_output_is_written_where_it_points(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "latest.md").symlink_to(tmp_path / "reports" / "march.md")  # dangling until written
    OutputFile(str(tmp_path / "latest.md")).write("march\n")
    assert (tmp_path / "latest.md").is_symlink()
    assert (tmp_path / "reports" / "march.md").read_text(encoding="utf-8") == "march\n"
    with pytest.raises(UsageError, match="--force"):
        OutputFile(str(tmp_path / "latest.md"))
