"""``[[cohort]]`` cases in ``*.tests.toml`` (issue #11 C): read, run, and refused when malformed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaohe_rules.testing.casefile import CaseFileError, load_casefile, run_casefile

DATA = Path(__file__).resolve().parents[1] / "data" / "interpreter"


def test_the_hand_derived_cohort_cases_pass() -> None:
    report = run_casefile(DATA / "cohort.tests.toml")
    assert report.error is None and report.outcomes and all(o.ok for o in report.outcomes)
    names = [o.case.name for o in report.outcomes]
    assert "县区五个单位：名次、名额两级降等、前列先进: D" in names  # one outcome per expected unit


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "c.tests.toml"
    path.write_text(f'policy = "{(DATA / "cohort.kh").as_posix()}"\n' + body, encoding="utf-8")
    return path


def test_a_wrong_rank_fails_naming_expected_and_actual(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[cohort]]\nname = "两个"\nunits = [ { id = "A", category = "部门" }, '
                            '{ id = "B", category = "部门", facts = { "扣分" = 1 } } ]\nexpect.B = { rank = 1 }\n')
    (outcome,) = run_casefile(path).outcomes
    assert not outcome.ok and "rank  1         2" in outcome.render(explain=False)


@pytest.mark.parametrize(("body", "message"), [
    ('[[cohort]]\nname = "x"\nunits = [ { id = "A", category = "部门" } ]\nexpect.Z = { rank = 1 }\n',
     "expect.Z names no unit of the cohort"),
    ('[[cohort]]\nname = "x"\nunits = [ { id = "A", category = "部门" } ]\nexpect.A = { rank = 0 }\n',
     "rank is a number from 1"),
    ('[[cohort]]\nname = "x"\nunits = [ { category = "部门" } ]\n', "needs an id"),
    ('[[cohort]]\nname = "x"\nunits = []\n', "lists the units assessed together"),
    ('[[cohort]]\nname = "x"\nunits = [ { id = "A", category = "部门" } ]\nexpect.A = { rnk = 1 }\n',
     "did you mean 'rank'"),
])
def test_malformed_cohort_cases_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(CaseFileError, match=message):
        load_casefile(_write(tmp_path, body))
