"""Every diagnostic code, with a case that triggers it and its full rendered message.

The cases live in ``tests/data/checker/`` and are named after the code they raise
(``<CODE>[_what]``; a trailing ``w`` marks a warning case, which loads and warns):

* ``<CODE>.kh``: a small broken policy, loaded as text;
* ``<CODE>/main.kh``: a policy with the files it extends (the ``extends`` codes), loaded
  as a file from inside that folder so the paths in the messages are short; the folder's
  absolute path, where a message names it, is shown as ``<case>``;
* :data:`TEXT_CASES`: what a file cannot hold (a missing file, a lone surrogate).

``<name>.expected`` is the exact text ``kaohe check`` prints (location, code, message,
caret excerpt, hint), reviewed by hand.  A case without one fails; after a deliberate
change, ``pytest tests/language/test_checker.py --update-goldens`` rewrites them — review the diff.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.language import codes

DATA = Path(__file__).resolve().parents[1] / "data" / "checker"
FILE_CASES = sorted(DATA.glob("*.kh"))
DIR_CASES = sorted(p for p in DATA.iterdir() if p.is_dir())


def _missing_file(tmp_path: Path) -> kaohe_rules.Policy:
    return kaohe_rules.load(Path("nope.kh"))


def _lone_surrogate(tmp_path: Path) -> kaohe_rules.Policy:
    return kaohe_rules.load('policy p { }\nfact 资金\ud800: money\n', name="K005.kh")


#: Cases a policy file cannot express; each runs in an empty current directory.
TEXT_CASES: dict[str, Callable[[Path], kaohe_rules.Policy]] = {
    "K004": _missing_file,
    "K005": _lone_surrogate,
}

#: Cases whose rendering depends on the stack (which stage runs out first): only the code is checked.
DEEP = "policy p { }\nfact n: int\nlet x = " + "(n + " * 10_000 + "n" + ")" * 10_000 + "\n"

#: Codes no policy can trigger, and why.
NO_CASE = {
    "K000": "defensive: the parser reports every Lark error it can raise as K001, K002 or K003",
}


def rendered(load: Callable[[], kaohe_rules.Policy]) -> tuple[str, list[str]]:
    """What ``kaohe check`` prints for the policy, and its error codes."""
    try:
        policy = load()
    except kaohe_rules.PolicyError as exc:
        return exc.render() + "\n", [d.code for d in exc.diagnostics if d.severity == "error"]
    return "\n\n".join(d.render() for d in policy.warnings) + "\n", []


def render_file(path: Path) -> tuple[str, list[str]]:
    return rendered(lambda: kaohe_rules.load(path.read_text(encoding="utf-8"), name=path.name))


def compare(name: str, text: str, update_goldens: bool) -> None:
    """Compare with ``<name>.expected``; a missing one fails (``--update-goldens`` writes it)."""
    expected_path = DATA / f"{name}.expected"
    if update_goldens:
        expected_path.write_text(text, encoding="utf-8")
        return
    if not expected_path.exists():
        pytest.fail(f"no tests/data/checker/{name}.expected; run pytest --update-goldens and review it")
    expected = expected_path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"{name}.expected", "now"))
        pytest.fail(f"output differs from tests/data/checker/{name}.expected (review; --update-goldens rewrites it):\n"
                    f"{diff}")


def assert_raises_its_code(name: str, text: str, errors: list[str]) -> None:
    code = name.split("_")[0]
    if code.endswith("w"):  # a warning case: loads, and warns with that code
        assert not errors
        assert f"warning[{code[:-1]}]" in text
    else:
        assert code in errors, f"{name} should raise {code}, got {errors}"


@pytest.mark.parametrize("path", FILE_CASES, ids=[p.stem for p in FILE_CASES])
def test_diagnostic_is_rendered_exactly(path: Path, update_goldens: bool) -> None:
    text, errors = render_file(path)
    compare(path.stem, text, update_goldens)
    assert_raises_its_code(path.stem, text, errors)


@pytest.mark.parametrize("folder", DIR_CASES, ids=[p.name for p in DIR_CASES])
def test_extends_diagnostic_is_rendered_exactly(folder: Path, update_goldens: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    text, errors = rendered(lambda: kaohe_rules.load(Path("main.kh")))
    text = text.replace(str(folder.resolve()), "<case>")
    compare(folder.name, text, update_goldens)
    assert_raises_its_code(folder.name, text, errors)


@pytest.mark.parametrize("name", sorted(TEXT_CASES))
def test_text_case_is_rendered_exactly(name: str, update_goldens: bool, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text, errors = rendered(lambda: TEXT_CASES[name](tmp_path))
    compare(name, text, update_goldens)
    assert_raises_its_code(name, text, errors)


def test_deep_nesting_is_a_diagnostic() -> None:
    text, errors = rendered(lambda: kaohe_rules.load(DEEP, name="K009.kh"))
    assert errors == ["K009"] and "nests too deeply" in text


def cases_by_code() -> dict[str, list[str]]:
    """Every case, under the code it triggers."""
    found: dict[str, list[str]] = {}
    names = [p.stem for p in FILE_CASES] + [p.name for p in DIR_CASES] + list(TEXT_CASES) + ["K009"]
    for name in names:
        found.setdefault(name.split("_")[0].removesuffix("w"), []).append(name)
    return found


def test_every_registered_code_has_a_case() -> None:
    found = cases_by_code()
    missing = [code for code in codes.CODES if code not in found and code not in NO_CASE]
    assert not missing, f"codes without a case in tests/data/checker (add <CODE>.kh and its .expected): {missing}"
    assert set(found) <= set(codes.CODES), f"cases named after unregistered codes: {sorted(set(found) - set(codes.CODES))}"
    assert set(NO_CASE) <= set(codes.CODES) and not set(NO_CASE) & set(found)


def test_warning_cases_are_the_registered_warnings() -> None:
    names = [p.stem for p in FILE_CASES] + [p.name for p in DIR_CASES] + list(TEXT_CASES)
    for name in names:
        code = name.split("_")[0]
        entry = codes.CODES[code.removesuffix("w")]
        assert code.endswith("w") == (entry.severity == "warning"), name


def test_every_diagnostic_has_location_excerpt_and_code() -> None:
    for path in FILE_CASES:
        text = path.read_text(encoding="utf-8")
        try:
            kaohe_rules.load(text, name=path.name)
        except kaohe_rules.PolicyError as exc:
            for d in exc.diagnostics:
                assert d.code in codes.CODES
                assert d.file == path.name and d.line and d.column
                assert "^" in d.render()


def test_policy_error_carries_all_diagnostics_not_just_the_first() -> None:
    text = (DATA / "K101.kh").read_text(encoding="utf-8") + "fact y: nosuchtype\n"
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(text)
    codes_found = [d.code for d in info.value.diagnostics if d.severity == "error"]
    assert codes_found == ["K101", "K102"]


def test_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(tmp_path / "nope.kh")
    assert info.value.diagnostics[0].code == "K004"
    assert "policy file not found" in info.value.diagnostics[0].message
