"""Test files read the consequences of issue #10: ``sanctions`` and ``money`` include the
outcomes for every rating, ``reported`` compares reported lets — and each can fail."""

from __future__ import annotations

import shutil
from pathlib import Path

from kaohe_rules.testing.casefile import run_casefile

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "interpreter"


def test_the_hand_derived_cases_pass() -> None:
    report = run_casefile(DATA / "consequences.tests.toml")
    assert report.ok, [o.render() for o in report.outcomes]


def test_wrong_expectations_are_named(tmp_path: Path) -> None:
    shutil.copy(DATA / "consequences.kh", tmp_path / "consequences.kh")
    text = (DATA / "consequences.tests.toml").read_text(encoding="utf-8")
    text = (text.replace('"不满意次数" = 2', '"不满意次数" = 3')
                .replace('sanctions = ["警示约谈", "超限"]', 'sanctions = ["警示约谈"]')
                .replace('"扣减" = 1000', '"扣减" = 900'))
    (tmp_path / "c.tests.toml").write_text(text, encoding="utf-8")
    report = run_casefile(tmp_path / "c.tests.toml")
    [bad, good] = report.outcomes
    assert good.ok
    assert sorted(m.what for m in bad.mismatches) == ["money.扣减", "reported 不满意次数", "sanctions"]
