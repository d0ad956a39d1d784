"""``import kaohe_rules`` stays cheap: the parser, checker, compiler and optional extras load on first use.

Checked in a fresh interpreter through ``sys.modules`` (no timing: what is imported
is what costs, and it does not depend on the machine).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("lark", "kaohe_rules.language.parser", "kaohe_rules.language.checker", "kaohe_rules.language.check", "kaohe_rules.codegen.compiler", "kaohe_rules.policy",
         "kaohe_rules.runtime", "kaohe_rules.cache", "kaohe_rules.batch.pool", "decimal", "json", "multiprocessing",
         "concurrent.futures", "dask", "pandas", "openpyxl", "hypothesis")


def imported_after(code: str) -> set[str]:
    """The modules ``code`` imports in a fresh interpreter (beyond what the interpreter itself had loaded)."""
    script = f"import sys\nbefore = set(sys.modules)\n{code}\nnew = sorted(set(sys.modules) - before)\nimport json\nprint(json.dumps(new))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_kaohe_rules_imports_nothing_heavy() -> None:
    modules = imported_after("import kaohe_rules")
    assert "kaohe_rules" in modules
    assert not [m for m in HEAVY if m in modules]


def test_the_public_names_load_on_first_use() -> None:
    modules = imported_after("import kaohe_rules\nkaohe_rules.load")
    assert "kaohe_rules.policy" in modules
    assert "lark" in modules  # the policy module needs the parser: only now
    assert "dask" not in modules and "multiprocessing" not in modules


def test_loading_and_evaluating_does_not_import_the_extras() -> None:
    code = ("import kaohe_rules\n"
            "p = kaohe_rules.load('policy t \"t\" { period 2013-01-01 .. 2013-12-31 }\\n"
            "category 单位 total 10 { section 甲 10 }\\nfact a: bool\\n"
            "target x in 单位.甲 points 10 { full when a }\\n"
            "ratings { 好 差 } vetoed 差\\nbands 单位 { 好 [5, 10] 差 [0, 5) }')\n"
            "p.evaluate({'id': 'u', 'category': '单位', 'facts': {'a': True}}).score")
    modules = imported_after(code)
    assert not [m for m in ("dask", "pandas", "multiprocessing", "concurrent.futures", "kaohe_rules.batch.pool",
                            "kaohe_rules.dask", "kaohe_rules.runtime.interpreter", "hypothesis") if m in modules]
