"""Policy test files: reading, running, failure reports, coverage, ``kaohe test`` and the pytest plugin."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kaohe_rules.cli import main
from kaohe_rules.testing.casefile import CaseFileError, load_casefile, run_casefile, run_casefiles
from kaohe_rules.testing.coverage import coverage

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"

POLICY = """
policy 小 "small test policy" {
  period 2020-01-01 .. 2020-12-31
}
category 单位 "unit" total 10 {
  section 甲 "section" 10
}
fact 完成: bool "done"
fact 次数: int >= 0 = 0 "misses"
fact 奖金: money >= 0 = 0元 "bonus"
target 任务 "task" cite "一" in 单位.甲 points 6 { full when 完成 }
target 出勤 "attendance" cite "二" in 单位.甲 points 4 { deduct 1 per 次数 }
ratings { 好 "good unit" 差 "bad unit" } vetoed 差
bands 单位 { 好 [5, 10] 差 [0, 5) }
veto 缺勤 "too many misses" cite "三" when 次数 >= 5 unless 完成 because "the task was done"
outcome 好 { reward 奖励 "reward" = 奖金 }
"""

CASES = """
policy = "small.kh"

[base."全勤"]
category = "单位"
facts = { "完成" = true, "奖金" = "100元" }

[[case]]
name = "perfect"
from = "全勤"
expect = { score = 10, band = "好", rating = "good unit", vetoes = [], money = { total = "100.00", "奖励" = 100 } }

[[case]]
name = "two misses"
from = "全勤"
facts = { "次数" = 2 }
expect = { score = 8, targets = { "出勤" = 2 }, sections = { "甲" = 8 } }

[[case]]
name = "excepted veto"
from = "全勤"
facts = { "次数" = 6 }
expect = { score = 6, excepted = ["缺勤"], vetoes = [] }
"""


def _write(tmp_path: Path, cases: str = CASES) -> Path:
    (tmp_path / "small.kh").write_text(POLICY, encoding="utf-8")
    path = tmp_path / "small.tests.toml"
    path.write_text(cases, encoding="utf-8")
    return path


def test_cases_pass_and_coverage_lists_what_was_never_exercised(tmp_path: Path) -> None:
    report = run_casefile(_write(tmp_path), trace=True)
    assert report.error is None and [o.status for o in report.outcomes] == ["passed"] * 3
    cov = coverage(report.policy, [o.result for o in report.outcomes if o.result is not None])
    missed = {f"{i.kind}:{i.key}" for i in cov.missed()}
    # never exercised: the band 差, the veto firing, the task target (always done)
    assert missed == {"bands:单位/差", "vetoes:缺勤", "targets:单位/任务", "rules:单位/任务#1"}
    assert cov.percent("exceptions") == 100 and cov.percent("bands") == 50
    assert "never exercised" in cov.render() and "too many misses" in cov.render()


def test_a_failing_case_shows_expected_against_actual_and_the_explanation(tmp_path: Path) -> None:
    wrong = CASES.replace('expect = { score = 8, targets = { "出勤" = 2 }', 'expect = { score = 9, targets = { "出勤" = 3 }')
    report = run_casefile(_write(tmp_path, wrong))
    failed = [o for o in report.outcomes if not o.ok]
    assert [o.case.name for o in failed] == ["two misses"]
    text = failed[0].render()
    assert "FAILED two misses" in text and "small.tests.toml:13" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["score", "9", "8"] in lines and ["target", "出勤", "3", "2"] in lines
    assert "考核结果" in text  # the short explanation follows


def test_money_items_that_do_not_exist_and_rejected_facts(tmp_path: Path) -> None:
    cases = CASES + """
[[case]]
name = "no such bonus"
from = "全勤"
expect = { money = { "追加" = 30 } }

[[case]]
name = "negative misses are refused"
from = "全勤"
facts = { "次数" = -1 }
expect = { rejected = ["次数"] }

[[case]]
name = "refused but not expected"
from = "全勤"
facts = { "次数" = -1 }
expect = { score = 10 }
"""
    outcomes = {o.case.name: o for o in run_casefile(_write(tmp_path, cases)).outcomes}
    assert [(m.what, m.actual) for m in outcomes["no such bonus"].mismatches] == [("money.追加", "no such item")]
    assert outcomes["negative misses are refused"].ok
    refused = outcomes["refused but not expected"]
    assert refused.status == "error" and "not assessed" in (refused.error or "") and "次数" in (refused.error or "")


@pytest.mark.parametrize(("text", "message"), [
    ('[[case]]\nname = "x"\ncategory = "单位"\nexpected = { score = 1 }\n', "did you mean 'expect'"),
    ('[[case]]\nname = "x"\nfrom = "nowhere"\n', "names no base and no unit"),
    ('[base.a]\nfrom = "b"\n[base.b]\nfrom = "a"\n[[case]]\nname = "x"\nfrom = "a"\n', "starts from itself"),
    ('[[case]]\nname = "x"\n', "category"),
    ('[[case]]\ncategory = "单位"\n', "needs a name"),
    ('[[case]]\nname = "x"\ncategory = "单位"\nexpect = { score = "lots" }\n', "not a number"),
    ("[[case]\n", "not valid TOML"),
])
def test_mistakes_in_a_test_file_are_reported_with_where_and_how(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, 'policy = "small.kh"\n' + text)
    with pytest.raises(CaseFileError, match=message):
        load_casefile(path)
    assert "small.tests.toml" in run_casefile(path).error  # type: ignore[operator]


def test_bases_from_another_file(tmp_path: Path) -> None:
    _write(tmp_path)
    other = tmp_path / "next.tests.toml"
    other.write_text('policy = "small.kh"\nbases_from = "small.tests.toml"\n'
                     '[[case]]\nname = "reused base"\nfrom = "全勤"\nexpect = { score = 10 }\n', encoding="utf-8")
    report = run_casefile(other)
    assert report.ok and len(report.outcomes) == 1


def test_the_karamay_test_files_pass_and_cover_everything() -> None:
    reports = run_casefiles([POLICIES], trace=True)
    assert {r.path.name for r in reports} >= {"karamay-2013.tests.toml", "karamay-2014.tests.toml"}
    for report in reports:
        failures = [o.render(explain=False) for o in report.outcomes if not o.ok]
        assert report.error is None and not failures, "\n".join(failures)
        cov = coverage(report.policy, [o.result for o in report.outcomes if o.result is not None])
        for kind in ("bands", "vetoes", "exceptions", "deferrals"):
            assert cov.percent(kind) == 100, (report.path.name, kind, cov.render())
        assert cov.percent() == 100, cov.render()


def test_kaohe_test_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path)
    assert main(["test", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("3 passed, 0 failed")
    assert main(["test", str(path), "--coverage", "--fail-under", "60"]) == 1  # 4 of 8 items exercised: 50%
    out = capsys.readouterr().out
    assert "under --fail-under 60%" in out and "never exercised" in out
    # rule coverage (50%) reaches 50, boundary coverage does not: no case sits at 次数 = 5 nor scores 5
    # (issue #18: --fail-under applies to each measure)
    assert main(["test", str(path), "--fail-under", "50"]) == 1
    out = capsys.readouterr().out
    assert "boundary coverage of small test policy is 0.0%, under --fail-under 50%" in out
    assert "\ncoverage of small test policy is" not in out
    assert main(["test", str(path), "-k", "misses", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["case"] for f in doc["files"] for c in f["cases"]] == ["two misses"]
    path.write_text(CASES.replace("score = 10,", "score = 7,"), encoding="utf-8")
    assert main(["test", str(path), "--no-explain"]) == 1
    out = capsys.readouterr().out
    assert "FAILED perfect" in out and out.rstrip().endswith("2 passed, 1 failed")
    assert main(["test", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["test", str(empty)]) == 2


def test_pytest_collects_policy_test_files(pytester: pytest.Pytester) -> None:
    shutil.copy(POLICIES / "karamay-2013.kh", pytester.path / "karamay-2013.kh")
    (pytester.path / "small.kh").write_text(POLICY, encoding="utf-8")
    (pytester.path / "small.tests.toml").write_text(CASES.replace("score = 8,", "score = 7,"), encoding="utf-8")
    result = pytester.runpytest("-p", "no:cacheprovider", "--kaohe-coverage")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED two misses*", "*score*7*8*", "*kaohe policy coverage*"])
