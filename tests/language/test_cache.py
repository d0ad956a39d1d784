"""The on-disk cache: same results with or without it, nothing foreign is ever trusted."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules import _version, cache
from kaohe_rules.language import parser
from kaohe_rules.source import SourceFile

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
SAMPLES = ROOT / "policies" / "karamay-2013" / "units.json"
BROKEN = 'policy 坏 "坏" { period 2013-01-01 .. 2013-12-31 }\ncategory 单位 total 100 { section 甲 100 }\nfact a: int =\n'


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KAOHE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KAOHE_CACHE", raising=False)
    return tmp_path / "cache"


def samples() -> list[dict[str, Any]]:
    return json.loads(SAMPLES.read_text(encoding="utf-8"), parse_float=Decimal)["units"]  # type: ignore[no-any-return]


def outcomes(policy: Any) -> list[Any]:
    return [policy.evaluate(u).to_dict() for u in samples()]


def metas(node: Any) -> list[Any]:
    from lark import Tree

    out: list[Any] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Tree):
            out.append((n.data, n.meta.empty, *(getattr(n.meta, k, None) for k in cache._META)))
            stack.extend(reversed(n.children))
        else:
            out.append((n.type, str(n), n.line, n.column, n.end_line, n.end_column, n.start_pos, n.end_pos))
    return out


def test_tree_json_round_trip_keeps_every_position() -> None:
    tree = parser.parse_tree(SourceFile("k", POLICY.read_text(encoding="utf-8")))
    back = cache.tree_from_json(json.loads(json.dumps(cache.tree_to_json(tree))))
    assert back == tree
    assert metas(back) == metas(tree)


@pytest.mark.parametrize("bad", [None, [], [2, "x"], [0, "NAME", 3, 0, 1, 1, 1, 1, 1], [1, "start", [1] * 12, "x"],
                                 [1, "start", [1.5] * 12, []], [0, "NAME", "x", "0", 1, 1, 1, 1, 1]])
def test_tree_json_refuses_anything_else(bad: Any) -> None:
    with pytest.raises(ValueError):
        cache.tree_from_json(bad)


@pytest.fixture
def lark_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """As where the fast parser does not fit the installed Lark: Lark parses everything."""
    monkeypatch.setattr(parser, "_fast_parser", lambda: None)


def test_policy_cache_gives_the_same_policy_and_skips_compiling(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = kaohe_rules.load(POLICY)
    explained = [u.explain() for u in map(plain.evaluate, samples())]  # compiles plain's traced code now
    first = kaohe_rules.load(POLICY, cache=True)
    assert {p.name for p in cache_dir.iterdir()} >= {"code"}
    # the evaluator, its traced variant, and per category the fused fast path and the fact coercion
    assert len(list((cache_dir / "code").iterdir())) == 2 + 2 * len(plain.categories)
    assert not (cache_dir / "trees").exists()  # the fast parser parsed it: no tree worth caching

    def no_compile(*args: object) -> None:
        raise AssertionError("compile() called on a cache hit")

    monkeypatch.setattr(cache, "compile", no_compile, raising=False)
    second = kaohe_rules.load(POLICY, cache=True)
    assert second.generated_source == plain.generated_source == first.generated_source
    assert second.content_hash == plain.content_hash
    assert outcomes(second) == outcomes(plain)
    assert [u.explain() for u in map(second.evaluate, samples())] == explained


def test_tree_cache_serves_what_lark_parses(cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                            lark_only: None) -> None:
    plain = kaohe_rules.load(POLICY)
    kaohe_rules.load(POLICY, cache=True)
    assert len(list((cache_dir / "trees").iterdir())) == 1

    def no_parse(*args: object) -> None:
        raise AssertionError("parsed on a cache hit")

    monkeypatch.setattr(parser, "_parser", no_parse)
    second = kaohe_rules.load(POLICY, cache=True)
    assert second.generated_source == plain.generated_source
    assert outcomes(second) == outcomes(plain)


def test_environment_switches(cache_dir: Path, monkeypatch: pytest.MonkeyPatch, lark_only: None) -> None:
    kaohe_rules.load(POLICY)
    assert not (cache_dir / "trees").exists()  # policy caches are opt-in
    monkeypatch.setenv("KAOHE_CACHE", "1")
    kaohe_rules.load(POLICY)
    assert len(list((cache_dir / "trees").iterdir())) == 1
    monkeypatch.setenv("KAOHE_CACHE", "0")
    assert cache.directory() is None and not cache.policy_cache_wanted(True)
    kaohe_rules.load(POLICY, cache=True)  # still loads
    assert cache.clear() == 0  # no directory to clear while disabled
    monkeypatch.delenv("KAOHE_CACHE")
    assert cache.clear() >= 3


def test_corrupt_and_foreign_entries_are_ignored(cache_dir: Path, lark_only: None) -> None:
    expected = outcomes(kaohe_rules.load(POLICY))
    kaohe_rules.load(POLICY, cache=True)
    for entry in (cache_dir / "code").iterdir():
        entry.write_bytes(b"\x00garbage")
    for entry in (cache_dir / "trees").iterdir():
        entry.write_text('[1, "start", null, [[7]]]', encoding="utf-8")
    assert outcomes(kaohe_rules.load(POLICY, cache=True)) == expected
    # an entry that is valid marshal data but not a code object
    for entry in (cache_dir / "code").iterdir():
        entry.write_bytes(marshal.dumps({"not": "code"}))
    assert outcomes(kaohe_rules.load(POLICY, cache=True)) == expected


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_others_can_write_is_not_used(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o700)
    os.chmod(cache_dir, 0o777)
    assert cache.directory() is None
    kaohe_rules.load(POLICY, cache=True)
    assert list(cache_dir.iterdir()) == []
    os.chmod(cache_dir, 0o700)
    kaohe_rules.load(POLICY, cache=True)
    code = cache_dir / "code"
    entry = next(code.iterdir())
    os.chmod(entry, 0o666)  # a file someone else could have written
    assert cache._read_private(entry, cache.MAX_CACHE_ENTRY_BYTES) is None
    assert all((p.stat().st_mode & 0o077) == 0 for p in code.iterdir() if p != entry)


def test_entries_are_pruned(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for i in range(6):
        cache.write_json("trees", f"k{i}", [i])
    assert len(list((cache_dir / "trees").iterdir())) == 3


def test_key_depends_on_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.engine_key()
    cache.engine_key.cache_clear()
    monkeypatch.setattr(_version, "__version__", "999")
    try:
        assert cache.engine_key() != before
    finally:
        cache.engine_key.cache_clear()


def test_parser_tables_from_the_cache_parse_the_same(cache_dir: Path) -> None:
    """A fresh process loads the LALR tables from the cache and parses, and fails, exactly as a built parser."""
    script = f"""
import json, sys
import lark
if sys.argv[1:] == ["cached"]:  # the tables must come from the cache: building a parser is an error
    def refuse(*args, **kwargs):
        raise AssertionError("parser built although the cache holds its tables")
    lark.Lark.__init__ = refuse
from kaohe_rules import _version, cache
from kaohe_rules.language import parser
from kaohe_rules.source import SourceFile
text = open({str(POLICY)!r}, encoding="utf-8").read()
tree = parser.parse_tree(SourceFile("k", text))
broken = parser.parse_tree(SourceFile("b", {BROKEN!r}))
print(json.dumps([cache.tree_to_json(tree), broken.render()], ensure_ascii=False))
"""
    env = dict(os.environ, KAOHE_CACHE_DIR=str(cache_dir))
    env.pop("KAOHE_CACHE", None)
    runs = [subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=True)
            for args in ([], ["cached"])]
    assert (cache_dir / "parser").is_dir() and len(list((cache_dir / "parser").iterdir())) == 1
    assert runs[0].stdout == runs[1].stdout
    tree, message = json.loads(runs[1].stdout)
    assert tree == cache.tree_to_json(parser.parse_tree(SourceFile("k", POLICY.read_text(encoding="utf-8"))))
    assert "K00" in message
