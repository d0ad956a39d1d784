"""The tests are laid out like the package, and the marker lists in tests/conftest.py do not rot.

Each folder under ``tests/`` is a layer of the package (tests/README.md gives the rule
that maps a test module to its folder); a test module left at the top level would
get no layer marker, so ``pytest -m <layer>`` would silently miss it.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def shared_conftest(config: pytest.Config) -> ModuleType:
    """tests/conftest.py as pytest loaded it (a plain import would find tests/robustness/conftest.py's twin)."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and Path(getattr(plugin, "__file__", "") or "") == TESTS / "conftest.py":
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


def test_every_test_module_is_in_a_layer_folder(request: pytest.FixtureRequest) -> None:
    layers = shared_conftest(request.config).LAYERS
    stray = [str(p.relative_to(TESTS)) for p in TESTS.rglob("test_*.py")
             if p.relative_to(TESTS).parts[0] not in layers]
    assert not stray, f"move these into the folder of their layer (tests/README.md): {stray}"


def test_every_layer_folder_exists_and_its_marker_is_registered(request: pytest.FixtureRequest) -> None:
    layers = shared_conftest(request.config).LAYERS
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    registered = {line.split(":", 1)[0] for line in pyproject["tool"]["pytest"]["ini_options"]["markers"]}
    assert set(layers) | {"slow", "browser"} <= registered
    assert all((TESTS / layer).is_dir() for layer in layers)


def test_the_slow_and_browser_lists_name_existing_tests(request: pytest.FixtureRequest) -> None:
    conftest = shared_conftest(request.config)
    functions: dict[str, set[str]] = {}
    for path in TESTS.rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions.setdefault(path.name, set()).update(
            node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))
    for key in conftest.SLOW_TESTS | conftest.BROWSER_TESTS:
        module, function = key.split("::")
        assert function in functions.get(module, set()), f"{key} names no test"
