"""The import contract: which layer of kaohe_rules may import which (docs/architecture.md).

Every import is walked with ``ast`` — at module level, inside functions (lazy imports)
and in ``if TYPE_CHECKING:`` blocks alike: a lazy or type-only import is still an
arrow between layers, and the import cycles this contract removed were made of them.

Layers, lowest first (a module may import its own layer and the ones its rule lists):

* leaves — ``_version``, ``limits``, ``numeric``, ``source``, ``errors``, ``grammar_file``,
  ``cache``: only leaves;
* ``language.*`` — leaves and language; inside ``language.check`` the pass modules never
  import each other (only the driver ``check/__init__`` sees them all);
* ``codegen.*`` — language and leaves;
* ``runtime.*`` — language (not its front half: check, checker, parser, fastparse,
  builder, linker), codegen, leaves;
* ``batch.*``, ``cohort.*`` (the cohort engine), ``ledger.*`` (the attribution engine, issue #16) and
  ``frames`` (DataFrames in and out, issue #15), all at the batch layer, ``reports.*``, ``unitio``,
  ``outfile`` — runtime, the language model
  (model, types, abi, ast), leaves; batch may import unitio;
* ``policy`` and the package root — language, codegen, runtime, batch, leaves; the root
  imports only leaves at module level, everything else lazily;
* ``audit.*``, ``testing.*``, ``dask``, ``highlight`` — anything above except the front ends;
* ``serve.*`` (the HTTP decision service, issue #15) — anything above except the front ends;
* front ends — ``cli``, ``audit.cli``, ``testing.cli``, ``serve.cli``, ``__main__`` — anything; no
  library module imports them.

And across all of them: no cycles, and no ``_private`` name imported from another
kaohe module.  Rules are by prefix, so modules still to come (``language.check.*``,
``codegen.*``) are already covered.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import attrs

import kaohe_rules

PACKAGE_DIR = Path(kaohe_rules.__file__).resolve().parent  # wherever this test file is moved to
PACKAGE = "kaohe_rules"

LEAVES = frozenset({"_version", "limits", "numeric", "source", "errors", "grammar_file", "cache", "messages"})
FRONT_ENDS = frozenset({"cli", "audit.cli", "testing.cli", "__main__", "serve.cli"})  # serve.cli: issue #15
#: language modules the runtime must not import: the text-to-model half of the pipeline
LANGUAGE_FRONT_HALF = ("language.check", "language.checker", "language.parser", "language.fastparse",
                       "language.builder", "language.linker")
#: what batch/reports/io may read of the language: the checked model and its types
LANGUAGE_MODEL = ("language.model", "language.types", "language.abi", "language.ast")
#: language.check modules every pass may use; any other module there is a pass
CHECK_SHARED = frozenset({"api", "diagnostics", "symbols"})  # what every pass may use; the rest is reached through api.Context


@attrs.frozen
class Import:
    importer: str  # module names relative to the package ("" is the package root)
    imported: str
    line: int
    names: tuple[str, ...]  # the names taken from it (``from m import a, b``); () for ``import m``
    top_level: bool  # at module level and not under TYPE_CHECKING


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``, by its name relative to the package."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def imports(root: Path, package: str = PACKAGE) -> Iterator[Import]:
    """Every import of a package module by a package module, wherever in the file it is."""
    known = modules(root)
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        here = name.split(".") if name else []
        base = here if is_package else here[:-1]
        yield from _walk(tree, name, base, package, known, top=True)


def _walk(node: ast.AST, name: str, base: list[str], package: str, known: dict[str, Path],
          top: bool) -> Iterator[Import]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for part in child.body:
                yield from _walk_one(part, name, base, package, known, top=False)
            for part in child.orelse:
                yield from _walk_one(part, name, base, package, known, top=top)
            continue
        yield from _walk_one(child, name, base, package, known, top)


def _walk_one(child: ast.AST, name: str, base: list[str], package: str, known: dict[str, Path],
              top: bool) -> Iterator[Import]:
    if isinstance(child, ast.ImportFrom):
        if child.level:
            stem = base[:len(base) - (child.level - 1)] if child.level > 1 else base
            target = ".".join(stem + ([child.module] if child.module else []))
        elif child.module == package or (child.module or "").startswith(package + "."):
            target = (child.module or "")[len(package) + 1:]
        else:
            target = None
        if target is not None:
            plain: list[str] = []
            for alias in child.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                if sub in known:  # ``from . import limits``: the module itself
                    yield Import(name, sub, child.lineno, (), top)
                else:
                    plain.append(alias.name)
            if plain:
                yield Import(name, target, child.lineno, tuple(plain), top)
    elif isinstance(child, ast.Import):
        for alias in child.names:
            if alias.name == package or alias.name.startswith(package + "."):
                yield Import(name, alias.name[len(package) + 1:], child.lineno, (), top)
    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        top = False
    yield from _walk(child, name, base, package, known, top)


# ------------------------------------------------------------------- layers
def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer(module: str) -> str:
    if module in FRONT_ENDS:
        return "front end"
    if _under(module, "lsp"):  # the language server (issue #14): a front end, like the CLI
        return "front end"
    if module in LEAVES:
        return "leaf"
    for name in ("language", "codegen", "runtime", "batch", "reports", "audit", "testing"):
        if _under(module, name):
            return name
    if _under(module, "cohort"):  # the cohort engine sits at the batch layer (issue #11)
        return "batch"
    if _under(module, "ledger"):  # the attribution engine sits at the batch layer (issue #16)
        return "batch"
    if _under(module, "columnar"):  # the columnar batch engine sits at the batch layer (issue #13)
        return "batch"
    if module == "frames":  # DataFrames in and out (issue #15): the readers and the results table, batch layer
        return "batch"
    if module in ("unitio", "outfile"):
        return "io"
    if module in ("policy", ""):
        return "facade"
    if module == "dask":
        return "integration"
    if _under(module, "serve"):  # the decision service (issue #15): a tool over the library and audit
        return "serve"
    if module == "highlight":  # the Pygments lexer and TextMate grammar (issue #14): a tool beside the library
        return "integration"
    return "unknown"


_LIBRARY = ("leaf", "language", "codegen", "runtime", "batch", "reports", "io", "facade")
ALLOWED: dict[str, tuple[str, ...]] = {
    "leaf": ("leaf",),
    "language": ("leaf", "language"),
    "codegen": ("leaf", "language", "codegen"),
    "runtime": ("leaf", "language", "codegen", "runtime"),
    "batch": ("leaf", "language", "runtime", "batch", "io"),
    "reports": ("leaf", "language", "runtime", "reports"),
    "io": ("leaf", "language", "runtime", "io"),
    "facade": ("leaf", "language", "codegen", "runtime", "batch", "facade"),
    "audit": (*_LIBRARY, "audit", "testing", "integration"),
    "testing": (*_LIBRARY, "audit", "testing", "integration"),
    "integration": (*_LIBRARY, "audit", "testing", "integration"),
    "front end": (*_LIBRARY, "audit", "testing", "integration", "serve", "front end"),
    "serve": (*_LIBRARY, "audit", "testing", "integration", "serve"),  # issue #15
}
RULES = {
    "leaf": "leaves import only leaves",
    "language": "language imports leaves and language only",
    "codegen": "codegen imports language and leaves only",
    "runtime": "runtime imports language, codegen and leaves only",
    "batch": "batch imports runtime, the language model, unitio and leaves only",
    "reports": "reports imports runtime, the language model and leaves only",
    "io": "unitio/outfile import runtime, the language model and leaves only",
    "facade": "policy imports language, codegen, runtime, batch and leaves only",
    "audit": "audit imports the library, never a front end",
    "testing": "testing imports the library, never a front end",
    "integration": "dask imports the library, never a front end",
    "front end": "",
    "serve": "serve imports the library and its tools, never a front end",  # issue #15
}


def _check_module(module: str) -> str:
    """``language.check.X`` → ``X`` (the first part below check/), else ""."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["language", "check"] else ""


def violations(root: Path, package: str = PACKAGE) -> list[str]:
    """Every breach of the contract in the package under ``root``, one message each."""
    found: list[str] = []
    edges: dict[str, set[str]] = {}
    for imp in imports(root, package):
        where = f"{package}.{imp.importer}".rstrip(".") + f":{imp.line}"
        target = f"{package}.{imp.imported}".rstrip(".")

        def report(rule: str, where: str = where, target: str = target) -> None:
            found.append(f"{where} imports {target}: {rule}")

        if imp.importer == imp.imported:
            continue
        edges.setdefault(imp.importer, set()).add(imp.imported)
        source, dest = layer(imp.importer), layer(imp.imported)
        if "unknown" in (source, dest):
            report(f"module not placed in a layer ({imp.importer if source == 'unknown' else imp.imported}); "
                   "add it to tests/test_layers.py and docs/architecture.md")
            continue
        if dest == "front end" and source != "front end":
            report("no library module imports a front end (cli, audit.cli, testing.cli, __main__)")
        elif dest not in ALLOWED[source]:
            report(RULES[source])
        elif source == "runtime" and _under(imp.imported, *LANGUAGE_FRONT_HALF):
            report("runtime never imports the checker, parser, builder or linker (only the language model)")
        elif source in ("batch", "reports", "io") and dest == "language" and not _under(imp.imported, *LANGUAGE_MODEL):
            report(f"{source} reads only the language model (model, types, abi, ast)")
        elif source == "batch" and dest == "io" and imp.imported != "unitio":
            report("batch imports unitio only of the io modules")
        elif source == "io" and dest == "io":
            report("unitio and outfile do not import each other")
        elif imp.imported == "" and source not in ("audit", "testing", "integration", "serve", "front end"):
            report("only the tools above the facade import the package root")
        if imp.importer == "" and imp.top_level and dest != "leaf":
            report("the package root imports lazily: only leaves at module level")
        src_pass, dst_pass = _check_module(imp.importer), _check_module(imp.imported)
        if src_pass and dst_pass and dst_pass not in CHECK_SHARED and src_pass != dst_pass:
            report("check passes never import each other (only check/__init__ lists them)")
        private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        if private:
            report(f"private name {', '.join(private)} imported across modules (make it public or move it)")
    for cycle in _cycles(edges):
        found.append(f"import cycle: {' -> '.join(f'{package}.{m}'.rstrip('.') for m in cycle)}: no cycles")
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


# -------------------------------------------------------------------- tests
def test_the_package_keeps_the_import_contract() -> None:
    found = violations(PACKAGE_DIR)
    assert not found, "import contract broken:\n" + "\n".join(found)


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules(PACKAGE_DIR) if layer(m) == "unknown"] == []


def _plant(root: Path, files: dict[str, str]) -> Path:
    package = root / "kaohe_rules"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        init = path.parent / "__init__.py"
        while init.parent != root and not init.exists():
            init.write_text("", encoding="utf-8")
            init = init.parent.parent / "__init__.py"
    return package


def test_the_checker_catches_planted_violations(tmp_path: Path) -> None:
    """A tiny fake package breaking each rule once: every breach is named, with importer, line and rule."""
    package = _plant(tmp_path, {
        "__init__.py": "from .policy import load\n",
        "errors.py": "",
        "numeric.py": "def helper():\n    from .runtime import result\n",
        "policy.py": "from .runtime.result import Result\n",
        "cli.py": "from .policy import load\n",
        "language/__init__.py": "",
        "language/model.py": "from ..errors import KaoheError\n",
        "language/checker.py": "",
        "language/check/__init__.py": "from . import bands, targets\n",
        "language/check/api.py": "",
        "language/check/bands.py": "from .api import x\nfrom .targets import y\n",
        "language/check/targets.py": "from .api import x\n",
        "codegen/emitter.py": "from ..runtime import result\n",
        "runtime/result.py": ("from typing import TYPE_CHECKING\n"
                              "from ..language.model import CheckedPolicy\n"
                              "if TYPE_CHECKING:\n    from ..policy import Policy\n"),
        "runtime/trace.py": "from .result import _DEFERRED\nfrom ..language.checker import MISSING\n",
        "batch/pool.py": "def f():\n    from ..cli import main\n",
        "reports/table.py": "from ..batch import pool\n",
        "brand_new.py": "",
    })
    found = violations(package)
    expected = [
        "kaohe_rules:1 imports kaohe_rules.policy: the package root imports lazily",
        "kaohe_rules.numeric:2 imports kaohe_rules.runtime.result: leaves import only leaves",
        "kaohe_rules.language.check.bands:2 imports kaohe_rules.language.check.targets: check passes never import",
        "kaohe_rules.codegen.emitter:1 imports kaohe_rules.runtime.result: codegen imports language and leaves only",
        "kaohe_rules.runtime.result:4 imports kaohe_rules.policy: runtime imports language, codegen and leaves only",
        "kaohe_rules.runtime.trace:1 imports kaohe_rules.runtime.result: private name _DEFERRED",
        "kaohe_rules.runtime.trace:2 imports kaohe_rules.language.checker: runtime never imports the checker",
        "kaohe_rules.batch.pool:2 imports kaohe_rules.cli: no library module imports a front end",
        "kaohe_rules.reports.table:1 imports kaohe_rules.batch.pool: reports imports runtime",
        "import cycle: kaohe_rules.policy -> kaohe_rules.runtime.result: no cycles",
    ]
    for message in expected:
        assert any(line.startswith(message) for line in found), (message, found)
    assert not any("check.bands:1" in line or "check.targets" in line.split(" imports ")[0] for line in found), found
    assert [m for m in modules(package) if layer(m) == "unknown"] == ["brand_new"]
    assert len(found) == len(expected), found
