"""Shared pytest configuration."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files (tests/goldens/, tests/data/checker/*.expected) from the current "
                          "output (review the diff!)")


def pytest_configure(config: pytest.Config) -> None:
    guard_diagnostic_codes()


def guard_diagnostic_codes() -> None:
    """Make every ``Diagnostic`` built during the tests check its code against the registry.

    ``errors`` is a leaf and does not know ``kaohe_rules.language.codes``; the package
    builds diagnostics with plain strings.  Under pytest, a diagnostic with an
    unregistered code, or with another severity than the registered one, raises
    ``AssertionError`` where it is built, so the test that reaches it fails.
    """
    from kaohe_rules.errors import Diagnostic
    from kaohe_rules.language import codes

    original = Diagnostic.__init__
    if getattr(original, "kaohe_guarded", False):
        return

    def checked_init(self: Diagnostic, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        why = codes.problem(self.code, self.severity)
        if why is not None:
            raise AssertionError(why)

    checked_init.kaohe_guarded = True  # type: ignore[attr-defined]
    checked_init.__wrapped__ = original  # type: ignore[attr-defined]
    Diagnostic.__init__ = checked_init  # type: ignore[method-assign]


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


# The bundled Karamay policy and its sample units, loaded once per session for the tests that read them.
ROOT = GOLDENS.parent.parent
KARAMAY_POLICY = ROOT / "policies" / "karamay-2013.kh"
KARAMAY_UNITS = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="session")
def karamay():  # type: ignore[no-untyped-def]
    """The Karamay 2013 policy, loaded once (a Policy is immutable: tests share it)."""
    import kaohe_rules

    return kaohe_rules.load(KARAMAY_POLICY)


@pytest.fixture
def karamay_units():  # type: ignore[no-untyped-def]
    """The bundled sample units as JSON gives them (numbers as Decimal), a fresh copy per test."""
    import json
    from decimal import Decimal

    document = json.loads(KARAMAY_UNITS.read_text(encoding="utf-8"), parse_float=Decimal)
    return document["units"] if isinstance(document, dict) else document
