"""The wheel ships the grammar: an installed package (not a checkout) can load policies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "No module named build" in proc.stderr:
        pytest.skip("the 'build' package is not installed")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = list(out.glob("kaohe_rules-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contains_the_grammar(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "kaohe_rules/grammar/kaohe.lark" in names
    assert "kaohe_rules/cli.py" in names


def test_installed_package_loads_a_policy_away_from_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import kaohe_rules, kaohe_rules.grammar_file as g\n"
        "print(kaohe_rules.__file__)\nprint(g.grammar_path())\n"
        "p = kaohe_rules.load('policy 甲 { }\\ncategory 乙 total 10 { section 丙 10 }\\n"
        "ratings { 好 差 } vetoed 差\\nbands 乙 { 好 [5, 10] 差 [0, 5) }\\n"
        "target 丁 in 乙.丙 points 10 { full when true }\\n')\n"
        "print(p.evaluate({'id': 'x', 'category': '乙', 'facts': {}}).rating)\n"
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          encoding="utf-8", check=False)
    assert proc.returncode == 0, proc.stderr
    package_file, grammar, rating = proc.stdout.splitlines()
    assert package_file.startswith(str(site))
    assert grammar == str(site / "kaohe_rules" / "grammar" / "kaohe.lark")
    assert rating == "好"
