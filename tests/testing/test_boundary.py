"""Boundary coverage (``kaohe test --coverage``) and the mutation check (``kaohe test --mutate``).

A small policy with one comparison of each kind; cases are added one at a time
and each addition must cover exactly the side it sits on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.cli import main
from kaohe_rules.testing.boundary import boundary_coverage
from kaohe_rules.testing.casefile import run_casefile
from kaohe_rules.testing.mutate import Mutant, MutantFileError, mutants, mutation_reports, read_equivalents

ROOT = Path(__file__).resolve().parents[2]

POLICY = """
policy 小 "small test policy" {
  period 2020-01-01 .. 2020-12-31
}
category 单位 "unit" total 10 {
  section 甲 "section" 10
}
fact 完成: bool "done"
fact 夜班: bool? "night shift (optional)"
fact 次数: int >= 0 = 0 "misses"
fact 奖金: money >= 0 = 0元 "bonus"
fact 报告日期: date? "report sent"
checkpoint 报告 "report" due 2020-07-15
target 任务 "task" cite "一" in 单位.甲 points 4 { full when 完成 and (夜班 ?? false) }
target 出勤 "attendance" cite "二" in 单位.甲 points 4 { deduct 1 per 次数 }
target 报告 "report" cite "四" in 单位.甲 points 2 { full when 报告日期 is set and 报告日期 <= 报告 }
ratings { 好 "good unit" 差 "bad unit" } vetoed 差
bands 单位 { 好 [5, 10] 差 [0, 5) }
veto 缺勤 "too many misses" cite "三" when 次数 >= 5 unless 奖金 >= 100元 because "paid back"
outcome 好 { reward 奖励 "reward" = 奖金 }
"""

HEAD = """
policy = "small.kh"

[base."全勤"]
category = "单位"
facts = { "完成" = true, "夜班" = true, "奖金" = "100元", "报告日期" = 2020-07-10 }
"""


def case(name: str, facts: str = "", expect: str = "", unset: str = "") -> str:
    lines = ["[[case]]", f'name = "{name}"', 'from = "全勤"']
    if facts:
        lines.append(f"facts = {{ {facts} }}")
    if unset:
        lines.append(f"unset = [{unset}]")
    if expect:
        lines.append(f"expect = {{ {expect} }}")
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, *cases: str) -> Path:
    (tmp_path / "small.kh").write_text(POLICY, encoding="utf-8")
    path = tmp_path / "small.tests.toml"
    path.write_text(HEAD + "\n".join(cases), encoding="utf-8")
    return path


def _coverage(path: Path) -> dict[str, set[str]]:
    report = run_casefile(path)
    assert report.ok, [o.render(explain=False) for o in report.outcomes if not o.ok]
    assert report.policy is not None
    cov = boundary_coverage(report.policy, [o.result for o in report.outcomes if o.result is not None])
    return {e.text: set(e.seen) for e in cov.edges} | {"__missed__": {e.key for e in cov.missed()}}


def test_each_case_covers_the_side_of_the_edge_it_sits_on(tmp_path: Path) -> None:
    seen = _coverage(_write(tmp_path, case("full", expect="score = 10")))
    assert seen["次数 >= 5"] == set()  # 0 misses: far from the edge
    assert seen["奖金 >= 100元"] == set()  # the exception is only evaluated when the veto fires
    assert seen["报告日期 <= 报告"] == set()  # 10 July: five days before the due date
    assert seen["夜班 ?? false"] == {"given"}
    assert seen["band edge 5 of 单位: 差 [0, 5) | 好 [5, 10]"] == set()

    seen = _coverage(_write(tmp_path, case("four misses", '"次数" = 4', "score = 6"),
                            case("five misses", '"次数" = 5, "奖金" = "99.99元"', "score = 6, vetoes = [\"缺勤\"]"),
                            case("on the due date", '"报告日期" = 2020-07-15', "score = 10"),
                            case("a day late", '"报告日期" = 2020-07-16', "score = 8")))
    assert seen["次数 >= 5"] == {"eq", "below"}  # x >= 5: x = 5 and x = 4
    assert seen["奖金 >= 100元"] == {"below"}  # one fen short of 100元
    assert seen["报告日期 <= 报告"] == {"eq", "above"}  # x <= due: on the day and one day after
    assert seen["band edge 5 of 单位: 差 [0, 5) | 好 [5, 10]"] == set()  # 6, 8, 10 scored: nothing in [4, 6)


def test_mcdc_each_operand_shown_to_decide(tmp_path: Path) -> None:
    path = _write(tmp_path, case("full", expect="score = 10"),
                  case("not done", '"完成" = false', "score = 6"))
    report = run_casefile(path)
    assert report.policy is not None
    cov = boundary_coverage(report.policy, [o.result for o in report.outcomes if o.result is not None])
    decides = {e.key.rsplit("/", 1)[1]: e for e in cov.items("conditions") if ":14:" in e.key}
    assert decides["left"].covered  # (T, T) and (F, T): 完成 decides
    assert not decides["right"].covered  # 夜班 never false while 完成 held
    assert decides["right"].missing() == ["a case where 完成 holds but 夜班 ?? false does not"]
    # the guard ``报告日期 is set and …``: with the date absent the right side means nothing,
    # so the left decides alone
    path = _write(tmp_path, case("full", expect="score = 10"), case("no report", unset='"报告日期"', expect="score = 8"))
    report = run_casefile(path)
    assert report.policy is not None
    cov = boundary_coverage(report.policy, [o.result for o in report.outcomes if o.result is not None])
    guard = next(e for e in cov.items("conditions") if e.key.endswith("/left") and "报告日期 is set" in e.text)
    assert guard.covered


def test_uncovered_edges_say_where_and_which_values_a_case_needs(tmp_path: Path) -> None:
    path = _write(tmp_path, case("full", expect="score = 10"))
    report = run_casefile(path)
    assert report.policy is not None
    cov = boundary_coverage(report.policy, [o.result for o in report.outcomes if o.result is not None])
    text = cov.render()
    assert "small.kh:19:" in text  # the veto's line
    assert "needs a case where 次数 = 5 (on the edge 5)" in text
    assert "needs a case where 次数 = 4 (one step below 5)" in text
    assert "needs a case where 奖金 = 99.99 (one step below 100元 = 100)" not in text  # never evaluated: no value known
    assert "needs a 单位 case scoring exactly 5 (好)" in text
    assert "needs a case where 夜班 is absent (the default decides)" in text


def test_kaohe_test_coverage_reports_both_and_fail_under_applies_to_each(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, case("full", expect="score = 10"), case("not done", '"完成" = false', "score = 6"),
                  case("one miss", '"次数" = 1', "score = 9"))
    assert main(["test", str(path), "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "boundary coverage of small test policy by 3 case(s)" in out and "edges not tried on both sides" in out
    assert main(["test", str(path), "--fail-under", "50"]) == 1  # rule coverage is 50%+, boundary coverage is not
    out = capsys.readouterr().out
    assert "boundary coverage of small test policy is" in out and "under --fail-under 50%" in out
    assert main(["test", str(path), "--coverage", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    missed = doc["boundary_coverage"][0]["kinds"]["edges"]["missed"]
    assert any(m["text"] == "次数 >= 5" for m in missed)


FULL_CASES = (
    case("full", expect="score = 10, band = \"好\""),
    case("not done", '"完成" = false', "score = 6"),
    case("no night shift", '"夜班" = false', "score = 6"),
    case("night shift not said", unset='"夜班"', expect="score = 6"),
    case("four misses", '"次数" = 4', "score = 6, vetoes = [], excepted = []"),
    case("five misses, paid back", '"次数" = 5', "score = 6, band = \"好\", vetoes = [], excepted = [\"缺勤\"]"),
    case("five misses, a fen short", '"次数" = 5, "奖金" = "99.99元"', "score = 6, vetoes = [\"缺勤\"]"),
    case("on the due date", '"报告日期" = 2020-07-15', "score = 10"),
    case("a day late", '"报告日期" = 2020-07-16', "score = 8"),
    case("no report", unset='"报告日期"', expect="score = 8"),
    case("5 is good", '"次数" = 3, "报告日期" = 2020-07-16', "score = 5, band = \"好\""),
    case("4 is bad", '"次数" = 4, "报告日期" = 2020-07-16', "score = 4, band = \"差\""),
)


def test_full_boundary_coverage_of_the_small_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, *FULL_CASES)
    assert main(["test", str(path), "--fail-under", "100"]) == 0, capsys.readouterr().out


def test_mutants_of_each_kind_are_made_and_valid_ones_counted(tmp_path: Path) -> None:
    _write(tmp_path)
    policy = kaohe_rules.load(tmp_path / "small.kh")
    made = {(m.kind, m.mutation) for m in mutants(policy.checked, POLICY)}
    assert ("compare", "`>=` → `>`") in made and ("compare", "`<=` → `<`") in made
    assert ("junction", "`and` → `or`") in made
    assert ("default", "`false` → `true`") in made
    assert ("number", "5 → 6") in made and ("number", "5 → 4") in made
    assert ("number", "100元 → 100.01元") in made and ("number", "100元 → 99.99元") in made
    assert ("number", "2020-07-15 → 2020-07-16") in made
    assert ("number", "band edge 5 → 6 (and the band below)") in made
    assert ("drop", "veto 缺勤 dropped") in made
    assert ("drop", "rule dropped") not in made  # each target has one rule: dropping it would not check


def test_mutate_reports_survivors_and_the_full_cases_kill_them_all(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, case("full", expect="score = 10"), case("not done", '"完成" = false', "score = 6"))
    assert main(["test", str(path), "--mutate"]) == 1
    out = capsys.readouterr().out
    assert "mutants no case kills:" in out
    assert "small.kh:19:" in out and "`>=` → `>`" in out  # 次数 >= 5 untested at 5
    path = _write(tmp_path, *FULL_CASES)
    assert main(["test", str(path), "--mutate", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (report,) = doc["mutation"]
    assert report["survivors"] == [] and report["killed"] + report["not_valid"] == report["mutants"] > 10


def test_equivalent_mutants_are_listed_with_their_reason_and_stale_entries_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # without "a fen short", nothing tells 奖金 >= 100元 from 奖金 > 99.99元 … nor from >= 99.99元
    path = _write(tmp_path, *(c for c in FULL_CASES if "a fen short" not in c))
    assert main(["test", str(path), "--mutate"]) == 1
    out = capsys.readouterr().out
    assert "small.kh:19:" in out and "100元 → 99.99元" in out
    column = POLICY.split("\n")[18].index("100元") + 1
    (tmp_path / "small.mutants.toml").write_text(
        f'[[equivalent]]\nat = "19:{column}"\nmutation = "100元 → 99.99元"\nreason = "for this test: treated as equivalent"\n'
        '[[equivalent]]\nat = "19:56"\nmutation = "`>=` → `>`"\nreason = "for this test"\n', encoding="utf-8")
    assert main(["test", str(path), "--mutate"]) == 1  # the second entry is stale: that mutant is killed
    out = capsys.readouterr().out
    assert "100元 → 99.99元  — for this test: treated as equivalent" in out
    assert "stale entry in the list of equivalent mutants: 19:56 `>=` → `>`" in out


def test_an_equivalent_mutant_needs_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "x.mutants.toml"
    path.write_text('[[equivalent]]\nat = "3:7"\nmutation = "`>=` → `>`"\n', encoding="utf-8")
    with pytest.raises(MutantFileError, match="needs a written reason"):
        read_equivalents(path)
    path.write_text('[[equivalent]]\nat = "3"\nmutation = "`>=` → `>`"\nreason = "x"\n', encoding="utf-8")
    with pytest.raises(MutantFileError, match="LINE:COLUMN"):
        read_equivalents(path)
    path.write_text('[[equivalent]]\nat = "3:7"\nmutation = "`>=` → `>`"\nreason = "never read"\n', encoding="utf-8")
    assert read_equivalents(path)[0].reason == "never read"


# ------------------------------------------------------------------ the Karamay files
POLICIES = ROOT / "policies"
KARAMAY = POLICIES / "karamay-2013.kh"


def _issue_examples(found: Sequence[Mutant]) -> list[Mutant]:
    """The two mutants of issue #18: ``死亡人数 >= 10 then 重特大`` → ``> 10``, and an optional fact's ``?? false``."""
    return [m for m in found if (m.text.startswith("let 等级") and m.mutation == "`>=` → `>`")
            or (m.kind == "default" and "驾驶人强制休息 ?? false" in m.text)]


def test_the_issue_examples_are_now_caught_by_the_karamay_cases() -> None:
    (report, *_) = mutation_reports([POLICIES / "karamay-2013.tests.toml"], select=_issue_examples)
    assert report.error is None and report.total == 2 and report.invalid == 0
    assert len(report.killed) == 2 and not report.survivors, report.render()
    assert {m.line for m in report.killed} == {133, 605}  # the let 等级 line and 区_强制休息's rule (line 605 since `kaohe fmt`)


def test_karamay_mutants_include_every_kind() -> None:
    policy = kaohe_rules.load(KARAMAY)
    found = mutants(policy.checked, KARAMAY.read_text(encoding="utf-8"))
    assert {m.kind for m in found} == {"number", "compare", "junction", "default", "drop"}
    assert any(m.mutation == "rule dropped" for m in found) and any(m.mutation.startswith("veto ") for m in found)
    assert any(m.mutation == "band edge 900 → 901 (and the band below)" for m in found)
    assert any(m.mutation == "2013-11-25 → 2013-11-26" for m in found)  # 履职报告, a date rules read


def test_the_karamay_files_cover_every_edge() -> None:
    for path in ("karamay-2013.tests.toml", "karamay-2014.tests.toml"):
        report = run_casefile(POLICIES / path)
        assert report.ok and report.policy is not None
        cov = boundary_coverage(report.policy, [o.result for o in report.outcomes if o.result is not None])
        assert cov.percent() == 100, cov.render()


def test_a_sample_of_karamay_mutants_is_killed_or_listed_as_equivalent() -> None:
    """Every sixth mutant of each bundled policy (the whole run: ``bash dev.sh mutate``, about 70 s)."""
    reports = mutation_reports(sorted(POLICIES.glob("*.tests.toml")), select=lambda found: found[::6])
    for report in reports:
        assert report.ok, report.render()
        assert len(report.killed) > 0


class _CountingObserver:
    def __init__(self) -> None:
        self.calls = 0

    def compare(self, node: object, left: object, right: object) -> None:
        self.calls += 1

    def in_range(self, node: object, value: object, low: object, high: object) -> None:
        self.calls += 1

    def junction(self, node: object, left: bool, right: bool | None) -> None:
        self.calls += 1

    def coalesce(self, node: object, defaulted: bool) -> None:
        self.calls += 1


def test_observing_the_interpreter_changes_no_result() -> None:
    """The observer sees every comparison, and evaluating short-circuited operands for MC/DC changes nothing."""
    from kaohe_rules.numeric import engine_context
    from kaohe_rules.runtime.interpreter import Interpreter

    report = run_casefile(POLICIES / "karamay-2013.tests.toml")
    assert report.policy is not None
    checked = report.policy.checked
    observer = _CountingObserver()
    watched, plain = Interpreter(checked, observer), Interpreter(checked)  # type: ignore[arg-type]
    results = [o.result for o in report.outcomes if o.result is not None]
    for result in results:
        with engine_context():
            assert watched.run(result.category, result.facts) == plain.run(result.category, result.facts)
            assert watched.run(result.category, result.facts)[0] == result.score
    assert observer.calls > 100 * len(results)
