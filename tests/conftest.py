"""Shared pytest configuration."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files under tests/goldens/ from the current output (review the diff!)")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with --update-goldens."""
    return bool(request.config.getoption("--update-goldens"))


GOLDENS = __import__("pathlib").Path(__file__).resolve().parent / "goldens"


@pytest.fixture
def golden(update_goldens: bool):  # type: ignore[no-untyped-def]
    """``golden(name, text)``: compare with tests/goldens/NAME, or rewrite it under --update-goldens."""
    import difflib

    def check(name: str, text: str) -> None:
        path = GOLDENS / name
        if update_goldens:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"no golden file tests/goldens/{name}; run pytest --update-goldens and review it")
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(list(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                     f"goldens/{name}", "now"))[:60])
            pytest.fail(f"output differs from tests/goldens/{name} (review; --update-goldens rewrites it):\n{diff}")

    return check
