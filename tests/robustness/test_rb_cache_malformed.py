"""Issue #9, on-disk cache: whatever an entry holds, loading works and gives the same policy.

Regression tests for the systems test's finding that a malformed entry made ``load``
fail (KeyError) although the cache must never make loading fail: every reader path
(parser tables, parse trees, code objects) meets truncated, mis-shaped, oversized
and misplaced entries — a directory, a link, a FIFO where a file should be — and
random byte mutations; every time the load succeeds with the same content hash and
results, and the entry is rebuilt.  Also: writes are atomic (a concurrent reader
never sees half an entry).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
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
UNITS = [{"id": "u1", "category": "单位", "facts": {"n": 1, "a": False}},
         {"id": "u2", "category": "单位", "facts": {"n": 5, "a": True}}]
_PARSER, _FAST_PARSER = parser._parser, parser._fast_parser
LARK_TREE = parser._parse_with_lark(SourceFile("k", POLICY))


def outcomes(policy: kaohe_rules.Policy) -> list[Any]:
    return [policy.evaluate(u).to_dict() for u in UNITS] + [policy.evaluate(u, trace=True).explain() for u in UNITS]


def fresh_parser() -> None:
    """Forget the process's parser so the next parse reads the LALR tables from the disk cache again."""
    _PARSER.cache_clear()
    _FAST_PARSER.cache_clear()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache with every kind of entry (Lark parses, so the tree is cached), built once and copied per test."""
    root = tmp_path_factory.mktemp("template") / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KAOHE_CACHE_DIR", str(root))
        mp.delenv("KAOHE_CACHE", raising=False)
        mp.setattr(parser, "_fast_parser", lambda: None)
        fresh_parser()
        kaohe_rules.load(POLICY, cache=True)
    yield root
    fresh_parser()  # no later test may keep a parser built from these tables


@pytest.fixture
def cache_dir(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    shutil.copytree(template, root)
    monkeypatch.setenv("KAOHE_CACHE_DIR", str(root))
    monkeypatch.delenv("KAOHE_CACHE", raising=False)
    monkeypatch.setattr(parser, "_fast_parser", lambda: None)
    return root


@pytest.fixture(scope="module")
def reference() -> tuple[str, list[Any]]:
    policy = kaohe_rules.load(POLICY, cache=False)
    return policy.content_hash, outcomes(policy)


def entries(root: Path, *kinds: str) -> list[Path]:
    return sorted(p for kind in kinds or ("code", "trees", "parser") for p in (root / kind).iterdir()
                  if not p.name.startswith(".tmp-"))


def authentic(entry: Path) -> bool:
    found = cache._slot(entry.parent.name, entry.stem, entry.suffix)
    return cache._fetch(found) is not None


def check_parser() -> None:
    """A fresh process's first parse: the parser from the cached tables (or rebuilt) parses as Lark does."""
    fresh_parser()
    assert parser._parse_with_lark(SourceFile("k", POLICY)) == LARK_TREE


def check_load(reference: tuple[str, list[Any]]) -> None:
    policy = kaohe_rules.load(POLICY, cache=True)
    assert (policy.content_hash, outcomes(policy)) == reference


# ------------------------------------- authentic entries of the wrong shape
# Only this user's kaohe can write an authentic entry; should one ever be wrong, the
# readers still treat it as a miss (defence in depth), never as an error.
BAD_TREES: list[Any] = [{}, "start", 5, [], [2, "x"], [1, "start", None, [[7]]], [1, "start", [1] * 12, "x"],
                        [0, "NAME", "x", "0", 1, 1, 1, 1, 1], [1, "start", None, [[1, "x", "meta?", []]]]]


@pytest.mark.parametrize("value", BAD_TREES, ids=[json.dumps(v)[:30] for v in BAD_TREES])
def test_a_tree_entry_of_the_wrong_shape_is_a_miss(cache_dir: Path, reference: tuple[str, list[Any]],
                                                   value: Any) -> None:
    key = cache._tree_key(POLICY)
    cache.write_json("trees", key, value)
    (entry,) = entries(cache_dir, "trees")
    assert authentic(entry)
    with cache.policy_cache(True):
        assert cache.cached_tree(POLICY) is None
    check_load(reference)
    with cache.policy_cache(True):  # rebuilt
        assert cache.cached_tree(POLICY) == parser.parse_tree(SourceFile("x", POLICY))


@pytest.mark.parametrize("payload", [b"", b"[" * 200_000 + b"]" * 200_000, b"\xff\xfe\x00", b'[1, "start", nul',
                                     b"NaN", b'{"a": 1} trailing'])
def test_a_tree_entry_that_is_not_json_is_a_miss(cache_dir: Path, reference: tuple[str, list[Any]],
                                                 payload: bytes) -> None:
    key = cache._tree_key(POLICY)
    cache._put(cache._slot("trees", key, ".json"), payload)
    assert cache.read_json("trees", key) is None or payload == b"NaN"
    with cache.policy_cache(True):
        assert cache.cached_tree(POLICY) is None
    check_load(reference)


BAD_TABLES: list[Any] = [None, [], {}, {"data": 1}, {"data": 1, "memo": 2}, {"data": {}, "memo": {}, "x": 0},
                         {"data": {"__items__": 5}, "memo": {}}, {"data": {"__items__": [[1, 2, 3]]}, "memo": {}},
                         {"data": {"__items__": [[{}, 1]]}, "memo": {}}, {"data": [], "memo": {}}]


@pytest.mark.parametrize("value", BAD_TABLES, ids=[json.dumps(v)[:40] for v in BAD_TABLES])
def test_parser_tables_of_the_wrong_shape_are_a_miss(cache_dir: Path, value: Any) -> None:
    cache.write_json("parser", cache.engine_key(), value)
    assert cache.parser_tables() is None


def test_parser_tables_lark_cannot_load_are_rebuilt(cache_dir: Path, reference: tuple[str, list[Any]]) -> None:
    """Well-shaped but not Lark's: the parser is built from the grammar and the entry overwritten."""
    cache.write_json("parser", cache.engine_key(), {"data": {}, "memo": {}})
    assert cache.parser_tables() == {"data": {}, "memo": {}}
    check_parser()
    check_load(reference)
    tables = cache.parser_tables()
    assert tables is not None and tables["data"]


@pytest.mark.parametrize("payload", [b"", b"\x00garbage", marshal.dumps({"not": "code"}),
                                     marshal.dumps(compile("x = 1", "<somewhere-else>", "exec"))[:-3],
                                     marshal.dumps(compile("x = 1", "<somewhere-else>", "exec"))])
def test_a_code_entry_that_is_not_the_expected_code_is_recompiled(cache_dir: Path, payload: bytes) -> None:
    source = "value = 41 + 1\n"
    with cache.policy_cache(True):
        first = cache.compile_source(source, "<kaohe-generated>")
        key = hashlib.sha256(f"{cache.engine_key()}\0<kaohe-generated>\0{source}".encode()).hexdigest()
        entry = cache_dir / "code" / f"{key}.marshal"
        assert _holds(entry, first)
        cache._put(cache._slot("code", key, ".marshal"), payload)
        assert authentic(entry) and not _holds(entry, first)
        again = cache.compile_source(source, "<kaohe-generated>")
    namespace: dict[str, Any] = {}
    exec(again, namespace)  # noqa: S102 - the test's own source
    assert namespace["value"] == 42 and again.co_filename == "<kaohe-generated>"
    assert _holds(entry, first)  # overwritten with the genuine code


def _holds(entry: Path, code: Any) -> bool:
    payload = cache._fetch(cache._slot("code", entry.stem, ".marshal"))
    return payload is not None and payload == marshal.dumps(code)


# ------------------------------------------- what sits where an entry should
def _directory(entry: Path) -> None:
    entry.unlink()
    entry.mkdir()


def _full_directory(entry: Path) -> None:
    entry.unlink()
    entry.mkdir()
    (entry / "inside").write_text("x")


def _link_to_a_genuine_copy(entry: Path) -> None:
    """Authentic bytes, but reached through a link: links are never followed."""
    outside = entry.parent.parent.parent / f"outside-{entry.name}"
    shutil.copy2(entry, outside)
    entry.unlink()
    entry.symlink_to(outside)


def _dangling_link(entry: Path) -> None:
    entry.unlink()
    entry.symlink_to(entry.parent / "nowhere")


def _fifo(entry: Path) -> None:
    entry.unlink()
    os.mkfifo(entry)


def _huge(entry: Path) -> None:
    """A genuine entry followed by 10 GB (sparse): beyond the cap, so not read at all."""
    with open(entry, "r+b") as fh:
        fh.truncate(10 * 1024**3)


def _writable_by_others(entry: Path) -> None:
    os.chmod(entry, 0o666)


def _truncated(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[: len(entry.read_bytes()) // 2])


def _empty(entry: Path) -> None:
    entry.write_bytes(b"")


SPOILERS: list[Callable[[Path], None]] = [_directory, _full_directory, _link_to_a_genuine_copy, _dangling_link,
                                          _huge, _writable_by_others, _truncated, _empty]
if hasattr(os, "mkfifo"):
    SPOILERS.append(_fifo)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX file kinds and permissions")
@pytest.mark.parametrize("spoil", SPOILERS, ids=[s.__name__.strip("_") for s in SPOILERS])
def test_anything_but_a_private_regular_file_is_ignored_and_rebuilt(cache_dir: Path,
                                                                    reference: tuple[str, list[Any]],
                                                                    spoil: Callable[[Path], None]) -> None:
    spoiled = entries(cache_dir, "code", "trees")
    for entry in spoiled:
        spoil(entry)
        assert cache._fetch(cache._slot(entry.parent.name, entry.stem, entry.suffix)) is None
    started = time.monotonic()
    check_load(reference)
    assert time.monotonic() - started < 20  # nothing was read in full, nothing blocked
    for entry in spoiled:
        if spoil is _full_directory:  # never removed recursively: the entry just is not cached
            assert (entry / "inside").exists()
            continue
        assert entry.is_file() and not entry.is_symlink() and authentic(entry)
        assert entry.stat().st_mode & 0o777 == 0o600
        assert entry.stat().st_size < 10 * 1024**2
    if spoil is _link_to_a_genuine_copy:  # the link was replaced, its target left alone
        assert len(list(cache_dir.parent.glob("outside-*"))) == len(spoiled)


def test_an_oversized_entry_is_not_read(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (entry, *_) = entries(cache_dir, "code")
    _huge(entry)
    read: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    assert cache._read_private(entry, cache.MAX_CACHE_ENTRY_BYTES) is None
    assert sum(read) == 0


def test_an_entry_beyond_the_cap_is_neither_written_nor_read(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_CACHE_ENTRY_BYTES", 1000)
    cache.write_json("trees", "big", "x" * 2000)
    assert not (cache_dir / "trees" / "big.json").exists()
    cache.write_json("trees", "small", "x" * 100)
    assert cache.read_json("trees", "small") == "x" * 100
    monkeypatch.setattr(cache, "MAX_CACHE_ENTRY_BYTES", 120)
    assert cache.read_json("trees", "small") is None


def test_a_kind_folder_that_is_a_link_is_not_used(cache_dir: Path, tmp_path: Path,
                                                  reference: tuple[str, list[Any]]) -> None:
    outside = tmp_path / "outside-code"
    shutil.move(str(cache_dir / "code"), outside)
    (cache_dir / "code").symlink_to(outside)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    check_load(reference)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    cache.clear()  # and clearing never follows a link out of the cache
    assert {p.name for p in outside.iterdir()} == set(before)


def test_names_that_are_not_plain_are_refused(cache_dir: Path) -> None:
    for kind, key in [("..", "x"), ("trees", "../escape"), ("trees", "a/b"), ("trees", ""), ("trees", "x.y")]:
        assert cache._slot(kind, key, ".json") is None
        cache.write_json(kind, key, [1])
    assert not list(cache_dir.parent.glob("escape*"))


# ---------------------------------------------------------- atomic writes
def test_a_concurrent_reader_never_sees_half_an_entry(cache_dir: Path) -> None:
    """One thread rewrites an entry (two large versions in turn) while another reads it.

    A write that truncated and filled the file in place would be seen half-done (the
    tag would not match, the read would miss); ``os.replace`` never exposes that.
    """
    versions = [b"a" * 400_000, b"b" * 300_000]
    slot = cache._slot("trees", "contended", ".json")
    cache._put(slot, versions[0])
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            cache._put(slot, versions[i % 2])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = [cache._fetch(slot) for _ in range(100)]
    finally:
        stop.set()
        thread.join()
    assert all(s in versions for s in seen)
    assert not [p for p in (cache_dir / "trees").iterdir() if p.name.startswith(".tmp-")]


def test_temporary_files_of_a_dead_writer_are_removed(cache_dir: Path) -> None:
    folder = cache_dir / "trees"
    stale, fresh = folder / ".tmp-stale", folder / ".tmp-fresh"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    cache.write_json("trees", "anything", [1])
    assert not stale.exists() and fresh.exists()


# ------------------------------------------------------------------ fuzzing
def _mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    how = rng.randrange(7)
    at = rng.randrange(len(data)) if data else 0
    if how == 0:  # flip one bit anywhere
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
    if how == 1:  # cut short
        return data[:at]
    if how == 2:  # insert junk
        return data[:at] + rng.randbytes(rng.randrange(1, 40)) + data[at:]
    if how == 3:  # overwrite a stretch
        n = rng.randrange(1, 64)
        return data[:at] + rng.randbytes(n) + data[at + n:]
    if how == 4:  # another entry's bytes (authentic, for another key)
        return rng.choice(others)
    if how == 5:  # the payload without its header (the old, unauthenticated format)
        return data[cache._HEADER:]
    return rng.randbytes(rng.randrange(0, 200))


def test_random_damage_to_any_entry_never_changes_the_load(cache_dir: Path, reference: tuple[str, list[Any]]) -> None:
    rng = random.Random(20260109)
    originals = {entry: entry.read_bytes() for entry in entries(cache_dir)}
    assert len(originals) == 6  # four code objects, the tree, the parser tables
    # every entry several times, 28 examples (the tables fewer: each rebuild of the parser costs ~0.3 s)
    order = [entry for entry in originals for _ in range(3 if entry.parent.name == "parser" else 5)]
    rng.shuffle(order)
    for entry in order:
        others = [data for other, data in originals.items() if other != entry]
        damaged = _mutate(entry.read_bytes(), rng, others)
        entry.write_bytes(damaged)
        if entry.parent.name == "parser":
            check_parser()  # the tree is cached: only a parse of new text would need the parser
        check_load(reference)
        assert authentic(entry), (entry.parent.name, damaged[:60])
