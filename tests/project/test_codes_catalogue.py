"""docs/codes.md, the catalogue of diagnostic codes (issue #14), is generated and its examples are real.

"Exactly its code": an example of an error code reports that error and no other error (warnings
such as K180 on a name the minimal example leaves unread may come with it); an example of a
warning code reports that warning, nothing else, and loads.  A fix loads without its code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kaohe_rules.language.codes import CODES
from kaohe_rules.testing import catalogue

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "codes"
PAGE = ROOT / "docs" / "codes.md"
WITH_EXAMPLE = [c for c in CODES.values() if catalogue.example(EXAMPLES, c).trigger is not None]

#: Examples that report another error besides their own: K195 (an open band below the best one) cannot
#: be written without overlapping the best band (K121).
ALSO_OTHER_ERRORS = {"K195"}
#: Codes whose page section says "as the hint says" instead of showing a fix (none left: keep it so).
NO_FIX: set[str] = set()


def errors_and_warnings(path: Path) -> tuple[set[str], set[str]]:
    found, _ = catalogue.diagnostics(path)
    errors = {c for c in found if CODES[c].severity == "error"}
    return errors, {c for c in found if CODES[c].severity == "warning"}


@pytest.mark.parametrize("code", [c.code for c in WITH_EXAMPLE])
def test_each_example_triggers_exactly_its_code(code: str) -> None:
    ex = catalogue.example(EXAMPLES, CODES[code])
    assert ex.trigger is not None
    errors, warnings = errors_and_warnings(ex.trigger)
    if CODES[code].severity == "warning":
        assert (errors, warnings) == (set(), {code})
    elif code in ALSO_OTHER_ERRORS:
        assert code in errors and len(errors) > 1, f"{code}: its example is clean now: drop it from ALSO_OTHER_ERRORS"
    else:
        assert errors == {code}


@pytest.mark.parametrize("code", [c.code for c in WITH_EXAMPLE if c.code not in NO_FIX])
def test_each_fix_does_not_trigger_its_code(code: str) -> None:
    ex = catalogue.example(EXAMPLES, CODES[code])
    assert ex.fix is not None, f"{code} has no fix file ({code}.fix.kh)"
    errors, warnings = errors_and_warnings(ex.fix)
    assert code not in errors | warnings
    assert not errors or CODES[code].stage == "parser", f"the fix of {code} does not load: {errors}"


def test_the_codes_without_a_fix_are_the_recorded_ones() -> None:
    missing = {c.code for c in WITH_EXAMPLE if catalogue.example(EXAMPLES, c).fix is None}
    assert missing == NO_FIX


def test_every_code_has_an_example_or_says_why_not() -> None:
    without = {c.code for c in CODES.values()} - {c.code for c in WITH_EXAMPLE}
    assert without == set(catalogue.NO_EXAMPLE)


def test_the_page_is_generated_from_the_examples() -> None:
    assert PAGE.read_text(encoding="utf-8") == catalogue.page(EXAMPLES), (
        "docs/codes.md differs from its examples; run: python -m kaohe_rules.testing.catalogue --update docs/codes.md")


def test_the_command_checks_and_writes(tmp_path: Path) -> None:
    target = tmp_path / "codes.md"
    assert catalogue.main(["--check", str(target), "--examples", str(EXAMPLES)]) == 1
    assert catalogue.main(["--update", str(target), "--examples", str(EXAMPLES)]) == 0
    assert catalogue.main(["--check", str(target), "--examples", str(EXAMPLES)]) == 0
    assert target.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")


def test_each_code_links_to_its_section() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for code in CODES.values():
        assert code.anchor == f"codes.md#{code.code.lower()}"
        assert f'<a id="{code.code.lower()}"></a>\n\n### {code.code} `{code.name}`' in text
