"""The registry of diagnostic codes matches what the package emits.

Every ``"Knnn"`` literal in the package is registered, every registered code is
emitted somewhere, and a ``Diagnostic`` built with an unregistered code (or the wrong
severity) fails the test that builds it (the guard in ``tests/conftest.py``).  That
every code has a case that triggers it is checked next to the cases, in
``test_checker.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.errors import Diagnostic
from kaohe_rules.language import codes

PACKAGE = Path(kaohe_rules.__file__).resolve().parent
LITERAL = re.compile(r"""["'](K\d{3})["']""")


def literals() -> dict[str, set[str]]:
    """Each quoted K-code in the package source (the registry itself left out), with the modules it is in."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == Path(codes.__file__).resolve():
            continue
        for code in LITERAL.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code, set()).add(str(path.relative_to(PACKAGE)))
    return found


def test_every_code_in_the_source_is_registered() -> None:
    unregistered = {code: sorted(where) for code, where in literals().items() if code not in codes.CODES}
    assert not unregistered, f"register these codes in kaohe_rules/language/codes.py: {unregistered}"


def test_every_registered_code_is_emitted() -> None:
    unused = sorted(set(codes.CODES) - set(literals()))
    assert not unused, f"registered codes that no module emits (remove them, or emit them): {unused}"


def test_the_registry_is_well_formed() -> None:
    assert len(codes.CODES) >= 58
    assert list(codes.CODES) == sorted(codes.CODES)
    names = [c.name for c in codes.CODES.values()]
    assert len(set(names)) == len(names)
    for key, entry in codes.CODES.items():
        assert key == entry.code and re.fullmatch(r"K\d{3}", key)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry.name), entry.name
        assert entry.title and entry.summary and "\n" not in entry.summary
        assert entry.severity in ("error", "warning")
        assert entry.anchor == f"codes.md#{key.lower()}"
    assert {c.code for c in codes.CODES.values() if c.severity == "warning"} == {"K161", "K162", "K180", "K181", "K212",
                                                                                     "K267", "K271", "K272"}


def test_a_diagnostic_with_an_unregistered_code_fails_under_test() -> None:
    with pytest.raises(AssertionError, match="K999.* is not registered"):
        Diagnostic("K999", "no such code", None)
    with pytest.raises(AssertionError, match="registered as 'warning'"):
        Diagnostic("K180", "an unused fact as an error", None)
    assert Diagnostic("K180", "unused", None, severity="warning").code == "K180"


def test_problem_names_what_is_wrong() -> None:
    assert codes.problem("K101", "error") is None
    assert codes.problem("K101", "warning") is not None
    assert codes.problem("K1O1", "error") is not None
    assert codes.lookup("K101") is codes.CODES["K101"] and codes.lookup("K999") is None
