"""Starting the service: what it refuses, what it serves when some files do not load, its options.

A directory holding a policy that loads, one that does not, and two files declaring one policy name:
the first is served; the broken one and both namesakes are listed in ``/readyz`` (503, not ready)
with the library's diagnostics, and neither namesake is served (a request could mean either).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from serve_runner import POLICIES, ROOT, running

from kaohe_rules.errors import UsageError
from kaohe_rules.serve.cli import parse_size, read_token
from kaohe_rules.serve.registry import build_registry


def test_a_partly_broken_directory_serves_what_loads_and_is_not_ready(tmp_path: Path) -> None:
    source = tmp_path / "policies"
    source.mkdir()
    shutil.copy(POLICIES / "aba.kh", source / "aba.kh")
    shutil.copy(POLICIES / "zunyi-2010.kh", source / "zunyi-2010.kh")
    shutil.copy(POLICIES / "zunyi-2010.kh", source / "zunyi-copy.kh")
    (source / "broken.kh").write_text("policy 坏 {\n  total oops\n", encoding="utf-8")
    with running([source], "--reload-interval", "0", tmp=tmp_path, ready=False) as server:
        ready = server.call("GET", "/readyz")
        assert ready.status == 503, ready
        body = ready.json()
        assert body["status"] == "not ready"
        assert [p["file"] for p in body["policies"]] == ["aba.kh"]
        problems = {p["file"]: p for p in body["problems"]}
        assert set(problems) == {"broken.kh", "zunyi-2010.kh", "zunyi-copy.kh"}
        assert problems["broken.kh"]["serving"] is None
        assert problems["broken.kh"]["diagnostics"][0]["code"].startswith("K")
        assert "zunyi-copy.kh" in problems["zunyi-2010.kh"]["diagnostics"][0]["message"]
        assert server.call("GET", "/policies/aba").status == 200
        assert server.call("GET", "/policies/zunyi-2010").status == 404
        start = next(line for line in server.log_lines() if line["log"] == "start")
        assert {p["file"] for p in start["problems"]} == set(problems)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kaohe_rules", "serve", *args], capture_output=True,  # noqa: S603
                          text=True, timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                                 **(env or {})})


def test_nothing_to_serve_is_refused_before_listening(tmp_path: Path) -> None:
    broken = tmp_path / "broken.kh"
    broken.write_text("policy 坏 {\n  total oops\n", encoding="utf-8")
    failed = run(str(broken), "--port", "9")
    assert failed.returncode == 1 and "error[K" in failed.stderr, failed.stderr
    missing = run(str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such policy file or directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run(str(tmp_path / "empty"))
    assert empty.returncode == 2 and "no policy (*.kh) files" in empty.stderr
    token = tmp_path / "token"
    token.write_text("0123456789abcdef-long-enough\n", encoding="utf-8")
    twice = run(str(POLICIES / "aba.kh"), "--token-file", str(token), env={"KAOHE_SERVE_TOKEN": "another-token-0123456"})
    assert twice.returncode == 2 and "given twice" in twice.stderr
    assert "Traceback" not in failed.stderr + missing.stderr + empty.stderr + twice.stderr


def test_sizes_and_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert [parse_size(t) for t in ("1MB", "512KB", "2m", "1048576", "1 MiB")] == \
        [1024 ** 2, 512 * 1024, 2 * 1024 ** 2, 1048576, 1024 ** 2]
    for bad in ("", "1.5MB", "-1", "0", "ten"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)
    monkeypatch.delenv("KAOHE_SERVE_TOKEN", raising=False)
    assert read_token(argparse.Namespace(token_file=None)) is None
    monkeypatch.setenv("KAOHE_SERVE_TOKEN", " a-token-of-enough-length \n")
    assert read_token(argparse.Namespace(token_file=None)) == "a-token-of-enough-length"
    monkeypatch.setenv("KAOHE_SERVE_TOKEN", "short")
    with pytest.raises(UsageError):
        read_token(argparse.Namespace(token_file=None))
    monkeypatch.delenv("KAOHE_SERVE_TOKEN")
    path = tmp_path / "token"
    path.write_text("with a space in it 0123", encoding="utf-8")
    with pytest.raises(UsageError):
        read_token(argparse.Namespace(token_file=str(path)))


def test_the_registry_names_policies_and_their_file_aliases() -> None:
    registry = build_registry([POLICIES / "aba.kh", POLICIES / "karamay-2013.kh"])
    assert registry.ready and registry.problems == ()
    assert registry.get("karamay-2013") is registry.get("克拉玛依2013") is not None
    assert registry.get("aba") is registry.get("阿坝州试行") is not None
    assert registry.get("karamay") is None


def test_without_the_extra_the_command_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaohe_rules.serve.cli import cmd_serve

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(UsageError, match=r"pip install 'kaohe_rules\[serve\]'"):
        cmd_serve(argparse.Namespace(sources=["policies"]))


@pytest.mark.parametrize("name", ["karamay-2013", "aba", "weimin-2008", "ting-quarterly"])
def test_the_spliced_answer_text_is_the_answer_dict(name: str) -> None:
    """The fast entry text (cut from the JSON Lines template) parses to exactly the entry built from to_dict()."""
    import json

    import kaohe_rules
    from kaohe_rules.serve.app import result_entry, result_row

    policy = kaohe_rules.load(POLICIES / f"{name}.kh")
    units = json.loads((POLICIES / name / "units.json").read_text(encoding="utf-8"))["units"]
    items = list(policy.evaluate_many(units))
    assert any(item.result is not None for item in items)
    for item in items:
        if item.result is None:
            continue
        row = result_row(item.index, item.result, trace=False)
        assert json.loads(row.text) == json.loads(json.dumps(result_entry(item.index, item.result, False),
                                                             ensure_ascii=False))
        assert row.meta == {"index": item.index, "id": item.result.unit_id, "status": "ok",
                            "rating": item.result.rating, "score": json.loads(row.text)["score"]}
