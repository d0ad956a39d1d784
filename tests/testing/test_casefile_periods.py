"""``expect.periods`` in test files (issue #11 P): each period's score and rating, checked and reported."""

from __future__ import annotations

from pathlib import Path

import kaohe_rules
from kaohe_rules.testing.casefile import CaseFileError, compare, load_casefile

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "tests" / "data" / "periods" / "quarterly.tests.toml"


def test_the_quarterly_cases_pass() -> None:
    cases = load_casefile(FILE)
    policy = kaohe_rules.load(ROOT / "tests" / "data" / "periods" / "quarterly.kh")
    for case in cases.cases:
        result = policy.evaluate(case.unit)
        assert compare(policy, case.expect, result) == [], case.name


def test_a_wrong_period_expectation_is_a_mismatch_naming_the_period(tmp_path: Path) -> None:
    text = FILE.read_text(encoding="utf-8").replace('score = 97, rating = "优秀"', 'score = 96, rating = "满意"')
    (tmp_path / "quarterly.kh").write_text((ROOT / "tests" / "data" / "periods" / "quarterly.kh").read_text(
        encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "quarterly.tests.toml"
    path.write_text(text, encoding="utf-8")
    cases = load_casefile(path)
    policy = kaohe_rules.load(tmp_path / "quarterly.kh")
    case = next(c for c in cases.cases if c.name == "periods checked")
    found = [(m.what, m.expected, m.actual) for m in compare(policy, case.expect, policy.evaluate(case.unit))]
    assert found == [("period 一季度 score", "96", "97"), ("period 一季度 rating", "满意", "优秀")]
    bad = tmp_path / "bad.tests.toml"
    bad.write_text(text.replace('"二季度" = { score = 60, rating = "满意" }', '"二季度" = 60'), encoding="utf-8")
    try:
        load_casefile(bad)
    except CaseFileError as exc:
        assert "expect.periods.二季度" in str(exc)
    else:  # pragma: no cover - the test fails
        raise AssertionError("a period given as a bare number was accepted")
