"""Every checker and syntax diagnostic, with its full rendered message.

Each ``tests/data/checker/<CODE>.kh`` is a small broken policy; ``<CODE>.expected``
is the exact text ``kaohe check`` prints for it (location, code, message, caret
excerpt, hint), reviewed by hand.  Regenerate after a deliberate change with
``KAOHE_UPDATE_GOLDENS=1 pytest tests/test_checker.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kaohe_rules

DATA = Path(__file__).parent / "data" / "checker"
CASES = sorted(DATA.glob("*.kh"))


def render(path: Path) -> tuple[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    try:
        policy = kaohe_rules.load(text, name=path.name)
    except kaohe_rules.PolicyError as exc:
        return exc.render() + "\n", [d.code for d in exc.diagnostics if d.severity == "error"]
    return "\n\n".join(d.render() for d in policy.warnings) + "\n", []


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_diagnostic_is_rendered_exactly(path: Path) -> None:
    rendered, errors = render(path)
    expected_path = path.with_suffix(".expected")
    if os.environ.get("KAOHE_UPDATE_GOLDENS") or not expected_path.exists():
        expected_path.write_text(rendered, encoding="utf-8")
    assert rendered == expected_path.read_text(encoding="utf-8")
    code = path.stem.split("_")[0]
    if code.endswith("w"):  # a warning case: loads, and warns with that code
        assert not errors
        assert f"warning[{code[:-1]}]" in rendered
    else:
        assert code in errors, f"{path.name} should raise {code}, got {errors}"


def test_every_diagnostic_has_location_excerpt_and_code() -> None:
    for path in CASES:
        text = path.read_text(encoding="utf-8")
        try:
            kaohe_rules.load(text, name=path.name)
        except kaohe_rules.PolicyError as exc:
            for d in exc.diagnostics:
                assert d.code.startswith("K") and len(d.code) == 4
                assert d.file == path.name and d.line and d.column
                assert "^" in d.render()


def test_policy_error_carries_all_diagnostics_not_just_the_first() -> None:
    text = (DATA / "K101.kh").read_text(encoding="utf-8") + "fact y: nosuchtype\n"
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(text)
    codes = [d.code for d in info.value.diagnostics if d.severity == "error"]
    assert codes == ["K101", "K102"]


def test_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(tmp_path / "nope.kh")
    assert info.value.diagnostics[0].code == "K004"
    assert "policy file not found" in info.value.diagnostics[0].message
