"""Review of issue #16 (an outsider's cases from docs/ledgers.md): defects found on the command line, each
test failing before its fix. The policy and files are the documented example's, docs/ledgers/."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ledgers"


def test_whatif_event_with_a_field_the_record_lacks_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """``--event 事故台账[A-5].死亡=0`` (a typo of 死亡人数) on an event nobody is charged printed "没有单位的结果
    发生变化": the edit was silently a no-op. A field the ledger's record does not have is refused, naming the
    ledger, the event and the field, with the did-you-mean."""
    code, out, err = run(capsys, "whatif", DOCS / "policy.kh", DOCS / "units.json",
                         "--event", "事故台账[A-5].死亡=0", "--lang", "zh")
    assert code == 2, out
    assert "事故台账[A-5]" in err and "死亡" in err and "死亡人数" in err
    # a real field still works
    code, out, err = run(capsys, "whatif", DOCS / "policy.kh", DOCS / "units.json",
                         "--event", "事故台账[A-5].发生地=天山区", "--lang", "zh")
    assert code == 0 and "天山区 (TS)：得分 80 → 70" in out


def test_a_unit_without_its_list_and_no_ledger_is_told_the_command_line_remedy(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``kaohe eval`` of a ledger policy on a units file without the ledger: the unit that supplies no list of
    its own is an error row (never the empty list) — whose message told a command-line user only to call
    ``policy.evaluate_many(units, ledgers=...)``. It names ``--ledger NAME=FILE`` and the document's ``ledgers``."""
    units = tmp_path / "units.json"
    units.write_text('{"units": [{"id": "TT", "category": "区县", "facts": {"辖区": "头屯河区"}}]}', "utf-8")
    code, _, err = run(capsys, "eval", DOCS / "policy.kh", units)
    assert code == 3
    assert "--ledger 事故台账=" in err and '"ledgers"' in err and "TT" in err
