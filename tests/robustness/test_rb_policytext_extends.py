"""``extends`` and the policy file reader: nothing outside the policy tree, nothing but policy files, no stall.

Issue #9 found ``extends "../../../../etc/passwd"`` echoing that file's first line in
the diagnostic and ``extends "/dev/zero"`` hanging the engine.  The rules now (see
kaohe_rules/linker.py): ``extends`` reads only ``.kh`` regular files, of at most
MAX_POLICY_BYTES, of UTF-8 text beginning like a policy, inside the directory of
the policy given to ``load`` (symlinks resolved first); ``load(path)`` reads only a
regular file of at most MAX_POLICY_BYTES.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules import limits
from kaohe_rules.errors import Diagnostic, PolicyError
from kaohe_rules.language import linker
from kaohe_rules.source import UnreadablePolicy, read_policy_file

ROOT = Path(__file__).resolve().parents[2]

BASE = """# the base policy
policy 基础 "基础办法" { period 2013-01-01 .. 2013-12-31 }
category 单位 "单位" total 100 { section 甲 "甲" 100 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
fact 资金: money >= 0
target 资金 "专项资金" in 单位.甲 points 100 { full when 资金 >= 100万元 }
"""

SECRET = "root:x:0:0:root:/root:/bin/bash\nsecret-line-two\n"


def child(parent: str) -> str:
    return f'policy 子 extends "{parent}" {{ period 2014-01-01 .. 2014-12-31 }}\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """Run ``call`` and fail (rather than hang the suite) if it takes longer than ``seconds``."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(("value", call()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the test below
            outcome.append(("error", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s: the reader blocked"
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value


def diagnostics(load: Callable[[], Any]) -> tuple[Diagnostic, ...]:
    with pytest.raises(PolicyError) as info:
        within(20, load)
    return info.value.diagnostics


def only(load: Callable[[], Any]) -> Diagnostic:
    found = diagnostics(load)
    assert len(found) == 1, found
    return found[0]


# ----------------------------------------------------------- the two reproductions
def test_extends_etc_passwd_is_refused_without_echoing_it(tmp_path: Path) -> None:
    policy = write(tmp_path / "tree" / "c.kh", child("../../../../../../../../etc/passwd"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K155"
    assert "'.kh'" in d.message
    rendered = PolicyError([d]).render()
    assert "root:" not in rendered and "/bin/" not in rendered
    assert d.file == str(policy)  # the diagnostic points into the extending policy, not the target


def test_extends_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    policy = write(tmp_path / "c.kh", child("/dev/zero"))
    assert only(lambda: kaohe_rules.load(policy)).code == "K155"


def test_a_kh_symlink_to_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    (tmp_path / "zero.kh").symlink_to("/dev/zero")
    policy = write(tmp_path / "c.kh", child("zero.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K155" and "/dev/zero" in d.message  # resolved first: outside the tree


# ------------------------------------------------------------------------ the policy tree
def test_a_kh_file_outside_the_tree_is_refused_with_a_hint(tmp_path: Path) -> None:
    write(tmp_path / "outside" / "secret.kh", SECRET)
    policy = write(tmp_path / "tree" / "c.kh", child("../outside/secret.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K155"
    assert "outside the policy tree" in d.message and str((tmp_path / "tree").resolve()) in d.message
    assert d.hint is not None and "own directory or below it" in d.hint
    assert "root:" not in PolicyError([d]).render()


def test_an_absolute_path_inside_the_tree_is_fine_outside_is_not(tmp_path: Path) -> None:
    base = write(tmp_path / "tree" / "base.kh", BASE)
    policy = write(tmp_path / "tree" / "c.kh", child(str(base)))
    assert kaohe_rules.load(policy).checked.lineage == ("子", "基础")
    other = write(tmp_path / "other" / "base.kh", BASE)
    write(policy, child(str(other)))
    assert only(lambda: kaohe_rules.load(policy)).code == "K155"


def test_subdirectories_are_in_the_tree_and_paths_are_relative_to_the_extending_file(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "root.kh", BASE)
    write(tree / "lib" / "mid.kh", 'policy 中间 extends "../root.kh" { }\n')  # back up, still inside
    policy = write(tree / "c.kh", child("lib/mid.kh"))
    assert kaohe_rules.load(policy).checked.lineage == ("子", "中间", "基础")


def test_an_ancestor_cannot_leave_the_tree_of_the_policy_loaded(tmp_path: Path) -> None:
    """The tree is the loaded policy's directory: an ancestor in it cannot reach above it."""
    write(tmp_path / "up.kh", BASE)
    write(tmp_path / "tree" / "mid.kh", 'policy 中间 extends "../up.kh" { }\n')
    policy = write(tmp_path / "tree" / "c.kh", child("mid.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K155" and d.file is not None and d.file.endswith("mid.kh")


def test_symlinks_are_resolved_then_judged(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "real" / "base.kh", BASE)
    (tree / "link.kh").symlink_to(tree / "real" / "base.kh")
    policy = write(tree / "c.kh", child("link.kh"))
    assert kaohe_rules.load(policy).checked.lineage == ("子", "基础")
    write(tmp_path / "secret.kh", SECRET)
    (tree / "escape.kh").symlink_to(tmp_path / "secret.kh")
    write(policy, child("escape.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K155" and "root:" not in PolicyError([d]).render()
    write(tree / "notes.txt", BASE)
    (tree / "notes.kh").symlink_to(tree / "notes.txt")  # a .kh name for a file that is not one
    write(policy, child("notes.kh"))
    assert only(lambda: kaohe_rules.load(policy)).code == "K155"


def test_policy_text_extends_from_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "tree" / "base.kh", BASE)
    write(tmp_path / "outside.kh", BASE)
    monkeypatch.chdir(tmp_path / "tree")
    assert kaohe_rules.load(child("base.kh")).checked.lineage == ("子", "基础")
    assert only(lambda: kaohe_rules.load(child("../outside.kh"))).code == "K155"


def test_the_repository_policies_still_extend(tmp_path: Path) -> None:
    policy = kaohe_rules.load(ROOT / "policies" / "karamay-2014.kh")
    assert len(policy.checked.lineage) == 2


def test_a_wider_root_can_be_given_to_link(tmp_path: Path) -> None:
    """``link(..., root=)`` is how a caller that trusts a larger tree says so (the default is the policy's directory)."""
    from kaohe_rules.source import SourceFile

    write(tmp_path / "base.kh", BASE)
    policy = write(tmp_path / "tree" / "c.kh", child("../base.kh"))
    source = SourceFile(str(policy), policy.read_text(encoding="utf-8"))
    refused = linker.link(source, policy.parent)
    assert isinstance(refused, list) and refused[0].code == "K155"
    linked = linker.link(source, policy.parent, root=tmp_path)
    assert isinstance(linked, linker.LinkedPolicy) and linked.lineage == ("子", "基础")


# ------------------------------------------------------------------- what may be read
def test_only_kh_names(tmp_path: Path) -> None:
    write(tmp_path / "base.txt", BASE)
    policy = write(tmp_path / "c.kh", child("base.txt"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K155" and "base.txt" in d.message
    write(tmp_path / "c.kh", child(""))
    assert only(lambda: kaohe_rules.load(policy)).code == "K155"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.kh")
    policy = write(tmp_path / "c.kh", child("pipe.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K151" and "pipe (FIFO), not a regular file" in d.message
    main = only(lambda: kaohe_rules.load(tmp_path / "pipe.kh"))
    assert main.code == "K004" and "not a regular file" in main.message


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.kh").mkdir()
    policy = write(tmp_path / "c.kh", child("dir.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K151" and "a directory, not a regular file" in d.message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.kh"
    with big.open("wb") as handle:  # sparse: the size is what counts, nothing is written
        handle.truncate(limits.MAX_POLICY_BYTES + 1)
    policy = write(tmp_path / "c.kh", child("big.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K151" and f"{limits.MAX_POLICY_BYTES:,} bytes" in d.message
    main = only(lambda: kaohe_rules.load(big))
    assert main.code == "K004" and "larger than" in main.message


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    text = BASE + "#" * (limits.MAX_POLICY_BYTES - len(BASE.encode("utf-8")))
    path = write(tmp_path / "exact.kh", text)
    assert path.stat().st_size == limits.MAX_POLICY_BYTES
    assert read_policy_file(path) == text


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc here")
def test_the_read_itself_is_capped_when_the_size_lies() -> None:
    """Files under /proc are regular and claim 0 bytes: the read stops at the limit anyway."""
    with pytest.raises(UnreadablePolicy, match="larger than 10 bytes"):
        read_policy_file(Path("/proc/self/status"), limit=10)


def test_a_file_that_is_not_utf8_is_refused_without_showing_it(tmp_path: Path) -> None:
    (tmp_path / "latin.kh").write_bytes(b"policy p { note \"caf\xe9\" }\n")
    policy = write(tmp_path / "c.kh", child("latin.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K151" and "not UTF-8 text (byte 21" in d.message and "caf" not in PolicyError([d]).render()
    main = only(lambda: kaohe_rules.load(tmp_path / "latin.kh"))
    assert main.code == "K004" and "not UTF-8" in main.message


def test_a_kh_file_that_is_not_policy_text_is_named_but_never_quoted(tmp_path: Path) -> None:
    write(tmp_path / "stolen.kh", SECRET)
    policy = write(tmp_path / "c.kh", child("stolen.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K156" and "stolen.kh" in d.message and "does not begin with 'policy'" in d.message
    rendered = PolicyError([d]).render()
    assert "root:" not in rendered and "secret-line-two" not in rendered
    assert d.file == str(policy)  # the caret is on the extends clause of the child


def test_an_ancestor_that_is_policy_text_still_shows_its_errors(tmp_path: Path) -> None:
    write(tmp_path / "base.kh", "# comment first\n\npolicy 基础 { }\nlet x = = 1\n")
    policy = write(tmp_path / "c.kh", child("base.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K002" and d.file is not None and d.file.endswith("base.kh") and d.line == 4
    assert "let x = = 1" in PolicyError([d]).render()


def test_a_nul_or_a_symlink_loop_in_the_path_is_a_diagnostic(tmp_path: Path) -> None:
    policy = write(tmp_path / "c.kh", child("a\0b.kh"))
    assert only(lambda: kaohe_rules.load(policy)).code in ("K151", "K155")
    (tmp_path / "loop.kh").symlink_to(tmp_path / "loop.kh")
    write(policy, child("loop.kh"))
    assert only(lambda: kaohe_rules.load(policy)).code in ("K151", "K155")


def test_missing_parent_keeps_its_diagnostic(tmp_path: Path) -> None:
    policy = write(tmp_path / "c.kh", child("nope.kh"))
    d = only(lambda: kaohe_rules.load(policy))
    assert d.code == "K151" and d.hint == "the path is relative to the extending file"


# --------------------------------------------------------------------- the main file
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices")
def test_load_dev_zero_is_refused_at_once() -> None:
    d = only(lambda: kaohe_rules.load("/dev/zero"))
    assert d.code == "K004" and "a character device, not a regular file" in d.message
    d = only(lambda: kaohe_rules.load(Path("/dev/zero")))
    assert d.code == "K004"


def test_load_a_directory_or_a_missing_file(tmp_path: Path) -> None:
    d = only(lambda: kaohe_rules.load(tmp_path))
    assert d.code == "K004" and "a directory" in d.message
    d = only(lambda: kaohe_rules.load(tmp_path / "missing.kh"))
    assert d.code == "K004" and d.message.startswith("policy file not found")
