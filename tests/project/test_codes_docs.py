"""The table of diagnostic codes in docs/codes.md is the one the registry generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaohe_rules.language import codes

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "codes.md"


def test_docs_table_is_generated_from_the_registry() -> None:
    document = API.read_text(encoding="utf-8")
    block = codes.generated_block(document)
    assert block is not None, "docs/codes.md has lost the markers of the generated code table"
    assert block == codes.markdown_block(), (
        "docs/codes.md's table of diagnostic codes differs from kaohe_rules/language/codes.py; "
        "run: python -m kaohe_rules.testing.catalogue --update docs/codes.md")


def test_every_code_has_a_row_linking_to_its_section() -> None:
    document = API.read_text(encoding="utf-8")
    for code in codes.CODES.values():
        assert f"| [{code.code}](#{code.code.lower()}) | `{code.name}` | {code.severity} |" in document
        assert f'<a id="{code.code.lower()}"></a>' in document


def test_the_command_checks_and_rewrites_the_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "api.md"
    stale.write_text(f"# API\n\n{codes.BEGIN_MARKER}\n| old |\n{codes.END_MARKER}\n\nafter\n", encoding="utf-8")
    assert codes.main(["--check", str(stale)]) == 1
    assert codes.main(["--update-docs", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == f"# API\n\n{codes.markdown_block()}\nafter\n"
    assert codes.main(["--check", str(stale)]) == 0
    assert codes.main(["--markdown"]) == 0
    assert capsys.readouterr().out == codes.markdown_block()
