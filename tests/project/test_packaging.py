"""The wheel is what a user installs: the grammar, the types, the trace schema, the licence and honest metadata.

An installed package (not a checkout) must load policies, type-check downstream (``py.typed``) and hand out the
trace schema; its metadata must carry one version (``kaohe_rules/_version.py``) and the lark range the fast
parser supports.
"""

from __future__ import annotations

import email.parser
import json
import subprocess
import sys
import tomllib
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


def _metadata(wheel: Path) -> email.message.Message:
    archive = zipfile.ZipFile(wheel)
    name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def test_wheel_lists_what_a_user_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("kaohe_rules/py.typed", "kaohe_rules/grammar/kaohe.lark", "kaohe_rules/schemas/trace-schema.json",
                   "kaohe_rules/_version.py", "kaohe_rules/language/fmt/__init__.py"):
        assert needed in names, f"{needed} missing from the wheel"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(n for n in names if "dist-info" in n)
    assert not any(n.startswith(("tests/", "benchmarks/", "policies/")) for n in names)
    shipped = json.loads(zipfile.ZipFile(wheel).read("kaohe_rules/schemas/trace-schema.json"))
    assert shipped == json.loads((ROOT / "docs" / "trace-schema.json").read_text(encoding="utf-8"))


def test_wheel_metadata_has_one_version_a_licence_and_the_lark_bound(wheel: Path) -> None:
    from kaohe_rules import __version__
    from kaohe_rules.language import fastparse

    meta = _metadata(wheel)
    assert meta["Version"] == __version__
    assert wheel.name.startswith(f"kaohe_rules-{__version__}-")
    assert meta["License-Expression"] == "MIT"
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert meta["Author-email"]
    from packaging.requirements import Requirement

    lark = Requirement(next(r for r in meta.get_all("Requires-Dist") if r.startswith("lark")))
    # the range admits exactly the releases whose tables the fast parser reads (fastparse._LARK_RELEASES)
    for release in ("1.1.9", "1.2.2", "1.3.0", "1.3.1", "1.3.9", "1.4.0", "2.0.0"):
        assert lark.specifier.contains(release) == release.startswith(fastparse._LARK_RELEASES), release


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["version"]["path"] \
        == "kaohe_rules/_version.py"
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_installed_package_gives_the_trace_schema_and_its_types(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = ("import kaohe_rules, kaohe_rules.grammar_file as g\n"
              "print(g.trace_schema_path())\nprint(kaohe_rules.trace_schema()['properties']['format'])\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, encoding="utf-8", check=False)
    assert proc.returncode == 0, proc.stderr
    path, fmt = proc.stdout.splitlines()
    assert path == str(site / "kaohe_rules" / "schemas" / "trace-schema.json")
    assert fmt == "{'const': 'kaohe-trace'}"
