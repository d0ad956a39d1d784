"""Issue #9, on-disk cache: an entry is trusted only if this user's kaohe wrote it.

Regression tests for the systems test's findings: a replaced compiled-code entry
ran on the next ``load(cache=True)``, a forged parse tree silently changed what a
policy means, and the cache's secret key must itself be private to be used.
Every test points ``KAOHE_CACHE_DIR`` at its own temporary directory.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules import cache
from kaohe_rules.language import parser
from kaohe_rules.source import SourceFile

HEAD = """
policy 测试 "测试政策" { period 2013-01-01 .. 2013-12-31 }
category 单位 "测试单位" total 100 {
  section 甲 "甲项" 100
}
ratings { 好 "好" 中 "中" 差 "差" } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
"""
POLICY = HEAD + "fact n: int >= 0\nfact a: bool\ntarget t in 单位.甲 points 100 { deduct 15 per n cap 40 deduct 10 when a }\n"
#: the same policy with another cap: its tree, slipped into POLICY's entry, would change u2's score
OTHER = POLICY.replace("cap 40", "cap 10")
UNITS = [{"id": "u1", "category": "单位", "facts": {"n": 1, "a": False}},
         {"id": "u2", "category": "单位", "facts": {"n": 5, "a": True}}]
_PARSER, _FAST_PARSER = parser._parser, parser._fast_parser


def outcomes(policy: kaohe_rules.Policy) -> list[Any]:
    """Plain results and the traced explanations: both the plain and the traced code run."""
    return [policy.evaluate(u).to_dict() for u in UNITS] + [policy.evaluate(u, trace=True).explain() for u in UNITS]


def fresh_parser() -> None:
    """Forget the process's parser so the next parse reads the LALR tables from the disk cache again."""
    _PARSER.cache_clear()
    _FAST_PARSER.cache_clear()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private cache holding every kind of entry: code, the tree (Lark parses: no fast parser), tables.

    Built once (building the parser tables costs about a second on a busy machine); each
    test works on its own copy, key included.
    """
    root = tmp_path_factory.mktemp("template") / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KAOHE_CACHE_DIR", str(root))
        mp.delenv("KAOHE_CACHE", raising=False)
        mp.setattr(parser, "_fast_parser", lambda: None)
        fresh_parser()
        kaohe_rules.load(POLICY, cache=True)
    assert {p.name for p in root.iterdir()} == {"code", "trees", "parser", cache.KEY_FILE}
    yield root
    fresh_parser()  # no later test may keep a parser built from these tables


@pytest.fixture
def cache_dir(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    shutil.copytree(template, root)  # copy2: modes kept (0700 folders, 0600 files and key)
    monkeypatch.setenv("KAOHE_CACHE_DIR", str(root))
    monkeypatch.delenv("KAOHE_CACHE", raising=False)
    monkeypatch.setattr(parser, "_fast_parser", lambda: None)
    return root


@pytest.fixture(scope="module")
def expected() -> list[Any]:
    return outcomes(kaohe_rules.load(POLICY, cache=False))


def entries(root: Path, kind: str) -> list[Path]:
    return sorted(p for p in (root / kind).iterdir() if not p.name.startswith(".tmp-"))


def slot(entry: Path) -> Any:
    found = cache._slot(entry.parent.name, entry.stem, entry.suffix)
    assert found is not None
    return found


def authentic(entry: Path) -> bool:
    return cache._fetch(slot(entry)) is not None


def forged(entry: Path, payload: bytes, how: str) -> bytes:
    """An entry carrying ``payload`` the way an attacker without the key could write it."""
    if how == "raw":  # the format before entries were authenticated
        return payload
    if how == "zero tag":
        return cache._MAGIC + bytes(32) + payload
    if how == "foreign key":  # a correct tag, under someone else's key
        return cache._MAGIC + cache._tag(slot(entry)._replace(secret=os.urandom(32)), payload) + payload
    if how == "spliced tag":  # the genuine tag of the genuine payload, on another payload
        genuine = entry.read_bytes()
        return genuine[: cache._HEADER] + payload
    raise AssertionError(how)


FORGERIES = ["raw", "zero tag", "foreign key", "spliced tag"]


# -------------------------------------------------------------- code objects
@pytest.mark.parametrize("how", FORGERIES)
def test_a_crafted_code_object_is_never_run(cache_dir: Path, tmp_path: Path, expected: list[Any], how: str) -> None:
    """Each code entry replaced by valid marshal data of a code object that escapes the restricted builtins."""
    marker = tmp_path / "crafted-code-ran"
    genuine: dict[Path, bytes] = {}
    for entry in entries(cache_dir, "code"):
        payload = cache._fetch(slot(entry))
        assert payload is not None
        code = marshal.loads(payload)
        genuine[entry] = payload
        # the restricted builtins do not stop this: a helper's globals reach the real ones
        crafted = compile(f"_nonneg.__globals__['builtins'].open({str(marker)!r}, 'a').write('ran')\n"
                          "raise RuntimeError('crafted code ran')\n", code.co_filename, "exec")
        entry.write_bytes(forged(entry, marshal.dumps(crafted), how))
    assert len(genuine) == 4  # evaluator, traced evaluator, fused fast path, fact coercion

    policy = kaohe_rules.load(POLICY, cache=True)
    assert outcomes(policy) == expected
    assert not marker.exists()
    for entry in genuine:  # rebuilt and overwritten with the genuine code
        assert authentic(entry)
        payload = cache._fetch(slot(entry))
        assert payload is not None
        assert marshal.loads(payload).co_filename == marshal.loads(genuine[entry]).co_filename
    assert outcomes(kaohe_rules.load(POLICY, cache=True)) == expected


@pytest.mark.parametrize("where", ["payload", "tag", "magic"])
def test_a_flipped_byte_in_any_entry_is_caught_and_the_entry_rebuilt(cache_dir: Path, expected: list[Any],
                                                                   where: str) -> None:
    before = {entry: entry.read_bytes() for kind in ("code", "trees", "parser") for entry in entries(cache_dir, kind)}
    for entry, data in before.items():
        at = {"payload": len(data) - 2, "tag": len(cache._MAGIC) + 5, "magic": 0}[where]
        entry.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:])
        assert not authentic(entry)
    fresh_parser()  # the tables are read again too
    policy = kaohe_rules.load(POLICY, cache=True)
    assert outcomes(policy) == expected
    assert policy.content_hash == kaohe_rules.load(POLICY).content_hash
    assert all(authentic(entry) for entry in before)


# --------------------------------------------------------------- parse trees
@pytest.mark.parametrize("how", FORGERIES)
def test_a_forged_parse_tree_does_not_change_the_policy(cache_dir: Path, expected: list[Any], how: str) -> None:
    """Another policy's (well-formed) tree in this policy's entry would change u2's score: it is not used."""
    other = kaohe_rules.load(OTHER)
    assert outcomes(other) != expected  # the forgery would matter
    tree = parser.parse_tree(SourceFile("x", OTHER))
    payload = json.dumps(cache.tree_to_json(tree), ensure_ascii=False, separators=(",", ":")).encode()
    (entry,) = entries(cache_dir, "trees")
    entry.write_bytes(forged(entry, payload, how))
    with cache.policy_cache(True):
        assert cache.cached_tree(POLICY) is None
    assert outcomes(kaohe_rules.load(POLICY, cache=True)) == expected
    assert authentic(entry)
    with cache.policy_cache(True):
        assert cache.cached_tree(POLICY) == parser.parse_tree(SourceFile("y", POLICY))


def test_an_entry_moved_to_another_key_is_not_authentic(cache_dir: Path, expected: list[Any]) -> None:
    """The tag covers the kind and key: a genuine entry copied under another name does not verify."""
    first, second = entries(cache_dir, "code")[:2]
    first.write_bytes(second.read_bytes())
    assert not authentic(first)
    (tree,) = entries(cache_dir, "trees")
    twin = cache_dir / "code" / tree.name.replace(".json", ".marshal")
    twin.write_bytes(tree.read_bytes())  # same key, another kind
    assert not authentic(twin)
    assert outcomes(kaohe_rules.load(POLICY, cache=True)) == expected
    assert authentic(first)


# ------------------------------------------------------------ the secret key
def test_the_key_is_private_random_and_kept(cache_dir: Path) -> None:
    key = cache_dir / cache.KEY_FILE
    data = key.read_bytes()
    assert len(data) == 32 and data != bytes(32)
    if hasattr(os, "getuid"):
        assert key.stat().st_mode & 0o777 == 0o600
    kaohe_rules.load(POLICY, cache=True)
    cache.clear()
    kaohe_rules.load(POLICY, cache=True)
    assert key.read_bytes() == data  # never replaced: entries written with it stay valid
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".tmp-")]


def _world_readable(key: Path) -> None:
    os.chmod(key, 0o644)


def _group_writable(key: Path) -> None:
    os.chmod(key, 0o620)


def _symlink(key: Path) -> None:
    target = key.parent.parent / "elsewhere.key"
    os.replace(key, target)  # a private key file of this user's, but reached through a link
    key.symlink_to(target)


def _short(key: Path) -> None:
    key.write_bytes(key.read_bytes()[:16])


def _directory(key: Path) -> None:
    key.unlink()
    key.mkdir()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
@pytest.mark.parametrize("spoil", [_world_readable, _group_writable, _symlink, _short, _directory])
def test_a_key_file_that_is_not_private_turns_the_cache_off(cache_dir: Path, tmp_path: Path, expected: list[Any],
                                                           spoil: Any) -> None:
    key = cache_dir / cache.KEY_FILE
    marker = tmp_path / "crafted-code-ran"
    (entry, *_rest) = entries(cache_dir, "code")
    # an attacker who could read the key would forge this; the key is not used, so nothing is read
    code = marshal.loads(cache._fetch(slot(entry)) or b"")
    crafted = compile(f"_nonneg.__globals__['builtins'].open({str(marker)!r}, 'a').write('ran')\n",
                      code.co_filename, "exec")
    payload = marshal.dumps(crafted)
    entry.write_bytes(cache._MAGIC + cache._tag(slot(entry), payload) + payload)
    spoil(key)
    before = sorted(p.name for p in (cache_dir / "code").iterdir())
    mode = os.lstat(key).st_mode

    assert cache._slot("code", entry.stem, ".marshal") is None  # the cache is off
    assert cache.parser_tables() is None  # for the parser tables too
    policy = kaohe_rules.load(POLICY, cache=True)  # and loading does not fail
    assert outcomes(policy) == expected
    assert not marker.exists()
    assert sorted(p.name for p in (cache_dir / "code").iterdir()) == before  # nothing written
    assert os.lstat(key).st_mode == mode  # and the key file left as it was, for its owner to look at


def test_a_missing_key_is_created_and_old_entries_are_rebuilt(cache_dir: Path, expected: list[Any]) -> None:
    (cache_dir / cache.KEY_FILE).unlink()
    old = {entry: entry.read_bytes() for kind in ("code", "trees") for entry in entries(cache_dir, kind)}
    assert outcomes(kaohe_rules.load(POLICY, cache=True)) == expected
    assert (cache_dir / cache.KEY_FILE).exists()
    for entry, data in old.items():
        assert authentic(entry) and entry.read_bytes() != data  # signed with the new key


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    """The key is linked into place complete and never replaced: every racer reads the same 32 bytes."""
    import threading

    root = tmp_path / "fresh"
    root.mkdir(mode=0o700)
    barrier = threading.Barrier(8)
    keys: list[bytes | None] = []

    def racer() -> None:
        barrier.wait()
        keys.append(cache._secret(root))

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert keys[0] == (root / cache.KEY_FILE).read_bytes()
    assert sorted(p.name for p in root.iterdir()) == [cache.KEY_FILE]  # no temporary file left behind
