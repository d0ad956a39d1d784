"""The checker's pass modules never import each other; only the driver imports them all."""

from __future__ import annotations

import ast
from pathlib import Path

import kaohe_rules.language.check as check_package

CHECK = Path(check_package.__file__).parent
SHARED = {"api", "diagnostics", "symbols"}  # what passes may import from check/
PASSES = sorted(p.stem for p in CHECK.glob("*.py") if p.stem not in SHARED | {"__init__"})


def _check_imports(path: Path) -> set[str]:
    """Modules of the check package that ``path`` imports (relative imports only)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


def test_passes_import_only_the_shared_modules() -> None:
    assert PASSES, "no pass modules found"
    for name in PASSES:
        assert _check_imports(CHECK / f"{name}.py") <= SHARED, name


def test_shared_modules_import_no_pass() -> None:
    for name in SHARED:
        assert not _check_imports(CHECK / f"{name}.py") & set(PASSES), name


def test_the_driver_imports_every_pass() -> None:
    assert set(PASSES) <= _check_imports(CHECK / "__init__.py")


def test_the_checker_does_not_load_the_parser() -> None:
    for path in CHECK.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "parser" not in _check_imports(path) and "from ..parser" not in source, path.name
