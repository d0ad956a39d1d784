"""Test files with ledgers (issue #16 L5): ``[[batch]]`` cases carrying ``ledgers``, per-unit ``charged``,
and the case's ``unattributed`` / ``excluded`` / ``handed_over`` — each expectation shown to catch a wrong one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kaohe_rules.testing.casefile import CaseFileError, load_casefile, run_casefile

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "docs" / "ledgers" / "policy.tests.toml"


def _copy(tmp_path: Path, text: str) -> Path:
    (tmp_path / "policy.kh").write_text((ROOT / "docs" / "ledgers" / "policy.kh").read_text("utf-8"), "utf-8")
    path = tmp_path / "policy.tests.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_documented_batch_cases_pass() -> None:
    report = run_casefile(CASES)
    assert report.error is None and report.ok, [o.render(explain=False) for o in report.outcomes if not o.ok]
    names = [o.case.name for o in report.outcomes]
    assert "属地、对口和行业：一起事故计入两个单位: events" in names and len(names) == 7
    batch = load_casefile(CASES).cohorts[0]
    assert batch.kind == "batch" and batch.ledgers is not None and len(batch.ledgers["事故台账"]) == 4


@pytest.mark.parametrize(("old", "new", "what"), [
    ('expect.TS = { charged = ["A-1"]', 'expect.TS = { charged = ["A-3"]', "charged"),
    ('expect.JT = { charged = ["A-1", "A-2"]', 'expect.JT = { charged = ["A-1"]', "charged"),
    ('unattributed = ["A-4"]', 'unattributed = []', "unattributed"),
    ('excluded = ["A-3"]', 'excluded = ["A-1"]', "excluded"),
    ('handed_over = []', 'handed_over = ["A-4"]', "handed_over"),
])
def test_a_wrong_expectation_fails_naming_what(tmp_path: Path, old: str, new: str, what: str) -> None:
    text = CASES.read_text("utf-8")
    assert old in text
    report = run_casefile(_copy(tmp_path, text.replace(old, new, 1)))
    failed = [o for o in report.outcomes if not o.ok]
    assert len(failed) == 1 and [m.what for m in failed[0].mismatches] == [what]


def test_charged_by_row_for_a_ledger_without_a_key(tmp_path: Path) -> None:
    """Without ``key``, events are named by their 1-based row: ``charged = [1, 2]``."""
    lines = CASES.read_text("utf-8").split("[[batch]]")[:2]  # the first case: A-1 … A-4 are rows 1 … 4
    expectations = ("expect.", "excluded", "unattributed")
    text = "[[batch]]".join(lines[:1] + ["\n".join(
        re.sub(r'"A-(\d)"', r"\1", line) if line.startswith(expectations) else line
        for line in lines[1].split("\n"))])
    path = _copy(tmp_path, text)
    policy = (tmp_path / "policy.kh").read_text("utf-8")
    assert " key 编号" in policy
    (tmp_path / "policy.kh").write_text(policy.replace(" key 编号", ""), "utf-8")
    report = run_casefile(path)
    assert all(o.ok for o in report.outcomes[:4]), [o.render(explain=False) for o in report.outcomes]
    wrong = _copy(tmp_path, text.replace("expect.JT = { charged = [1, 2]", "expect.JT = { charged = [1, 3]"))
    (tmp_path / "policy.kh").write_text(policy.replace(" key 编号", ""), "utf-8")
    failed = [o for o in run_casefile(wrong).outcomes if not o.ok]
    assert len(failed) == 1 and failed[0].mismatches[0].expected == "[1, 3]"


@pytest.mark.parametrize(("text", "message"), [
    ('[[batch]]\nname = "x"\nunits = [ { id = "A", category = "区县" } ]\nunattributed = []\n',
     "and this case gives none"),
    ('[[batch]]\nname = "x"\nunits = [ { id = "A", category = "区县" } ]\nledgers = { "事故台账" = 3 }\n',
     "ledgers.事故台账 is a list of events"),
    ('[[batch]]\nname = "x"\nunits = [ { id = "A", category = "区县" } ]\nledgers = {}\nexpect.A = { charged = [0] }\n',
     "each by its key"),
])
def test_malformed_batch_cases_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CaseFileError, match=message):
        load_casefile(_copy(tmp_path, text))


def test_an_unknown_ledger_name_fails_the_case_not_the_run(tmp_path: Path) -> None:
    """Review of #16: a ``[[batch]]`` whose ``ledgers`` names a ledger the policy does not declare made
    ``run_casefile`` raise (``kaohe test`` stopped with exit 2, naming neither the file nor the case, and the
    other cases of the file were never run). It is that case's failure, with the did-you-mean."""
    text = ('[[batch]]\nname = "typo"\nunits = [ { id = "TS", category = "区县", facts = { "辖区" = "天山区" } } ]\n'
            'ledgers = { "事故台帐" = [] }\nexpect.TS = { score = 100 }\n\n' + CASES.read_text("utf-8"))
    report = run_casefile(_copy(tmp_path, text))
    failed = [o for o in report.outcomes if not o.ok]
    assert [o.case.name for o in failed] == ["typo: TS"]
    assert failed[0].error is not None and "事故台帐" in failed[0].error and "事故台账" in failed[0].error
    assert len(report.outcomes) == 8  # the documented cases still ran
