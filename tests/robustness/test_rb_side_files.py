"""Side files (what-if patches, policy test files) are read like policies: regular files, size-capped, never a stall."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from kaohe_rules.audit.whatif import PatchError, load_patch
from kaohe_rules.testing.casefile import CaseFileError, load_casefile


def finishes(call: Callable[[], object], seconds: float = 10.0) -> BaseException | None:
    """Run ``call`` in a thread; fail (not hang) if it does not finish; return what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading the file stalled"
    return raised[0] if raised else None


@pytest.mark.parametrize(("reader", "error"), [(load_patch, PatchError), (load_casefile, CaseFileError)])
def test_devices_and_fifos_are_refused_at_once(tmp_path: Path, reader: Callable[[Path], object],
                                               error: type[Exception]) -> None:
    fifo = tmp_path / "x.tests.toml"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo, tmp_path):
        raised = finishes(lambda p=path: reader(p))  # type: ignore[misc]
        assert isinstance(raised, error), raised
        assert "regular file" in str(raised)


def test_a_deep_or_huge_patch_is_a_patch_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    huge = tmp_path / "huge.json"
    huge.write_text('{"a": ' + "9" * 10_000 + "}", encoding="utf-8")
    for path in (deep, huge):
        with pytest.raises(PatchError, match="nests too deeply or holds a number"):
            load_patch(path)


def test_an_oversized_test_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.tests.toml"
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: nothing is written, the size is what counts
    with pytest.raises(CaseFileError, match="larger than"):
        load_casefile(big)
