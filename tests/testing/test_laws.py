"""The built-in policy laws: they hold on the Karamay policies and catch what breaks them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

import kaohe_rules
from kaohe_rules.cli import main
from kaohe_rules.runtime.result import Result
from kaohe_rules.testing.laws import LAW_NAMES, LawViolation, check_pair
from kaohe_rules.testing.verifier import verify

ROOT = Path(__file__).resolve().parents[2]

MONEY = """
policy 钱 "money law test" {
  period 2020-01-01 .. 2020-12-31
}
category 单位 "unit" total 10 {
  section 甲 "section" 10
}
fact 奖金: money >= 0 "bonus"
fact 完成: bool "done"
fact 甲: decimal >= 0 "numerator"
fact 乙: decimal >= 0 "denominator"
target 任务 "task" in 单位.甲 points 10 {
  full when 完成
  deduct 1 when 甲 / 乙 > 100
}
ratings { 好 "good" 差 "bad" } vetoed 差
bands 单位 { 好 [5, 10] 差 [0, 5) }
outcome 好 {
  reward 奖励 "reward" = 奖金
  share 负责人 "head" = 奖金 * 120%
  share 其他 "others" = rest
}
"""

VETO = """
policy 否决 "veto law test" {
  period 2020-01-01 .. 2020-12-31
}
category 单位 "unit" total 10 {
  section 甲 "section" 10
}
record 事件 "event" { 严重: bool "serious" }
fact 事件: list of 事件 = [] "events"
fact 完成: bool "done"
target 任务 "task" in 单位.甲 points 10 { full when 完成 }
ratings { 好 "good" 差 "bad" } vetoed 差
bands 单位 { 好 [5, 10] 差 [0, 5) }
veto 严重事件 "a serious event" on 事件 where 严重
"""


@pytest.fixture(scope="module")
def karamay_2013() -> kaohe_rules.Policy:
    return kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")


def test_every_law_holds_on_karamay_2013_and_2014(karamay_2013: kaohe_rules.Policy) -> None:
    for policy in (karamay_2013, kaohe_rules.load(ROOT / "policies" / "karamay-2014.kh")):
        report = verify(policy, examples=15)
        assert report.ok, report.render()
        assert report.checked >= 15 * 2 * len(policy.categories)
        assert {law["name"] for law in report.to_dict()["laws"]} == set(LAW_NAMES)  # type: ignore[index,union-attr]


def test_money_law_catches_shares_larger_than_the_whole_and_shrinks_the_unit() -> None:
    report = verify(kaohe_rules.load(MONEY), examples=60)
    money = [f for f in report.failures if f.law == "money-exact"]
    assert len(money) == 1
    failure = money[0]
    assert "negative" in failure.message
    bonus = Decimal(str(failure.units[0]["facts"]["奖金"]))
    assert Decimal("0.01") <= bonus <= Decimal("0.10")  # shrunk to a few fen, where rounding already shows it
    assert "考核结果" in failure.explanations[0] and "others" in failure.explanations[0]


def test_evaluates_law_catches_a_division_by_zero_with_the_zero_unit() -> None:
    report = verify(kaohe_rules.load(MONEY), examples=60)
    [failure] = [f for f in report.failures if f.law == "evaluates"]
    assert "division by zero" in failure.message
    assert Decimal(str(failure.units[0]["facts"]["乙"])) == 0


def test_veto_law_catches_an_engine_that_ignores_vetoes(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = kaohe_rules.load(VETO)
    assert verify(policy, examples=30).ok
    monkeypatch.setattr(Result, "rating", property(lambda self: self.band))  # a broken engine: vetoes ignored
    report = verify(policy, examples=60)
    assert report.failed_laws() == {"veto-fails"}
    [failure] = report.failures
    events = failure.units[0]["facts"]["事件"]
    assert events == [{"严重": True}]  # shrunk to the one event the veto needs
    assert "严重事件" in failure.message


def test_score_law_catches_a_score_that_is_not_the_sum_of_its_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = kaohe_rules.load(VETO)
    original = Result.score
    monkeypatch.setattr(Result, "score", property(lambda self: original.fget(self) + Decimal("0.5")))  # type: ignore[attr-defined]
    report = verify(policy, examples=20)
    assert "score-bounds" in report.failed_laws()


def test_determinism_law_catches_a_result_that_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = kaohe_rules.load(VETO)
    calls = iter(range(10**9))
    original = Result.to_dict
    monkeypatch.setattr(Result, "to_dict", lambda self: original(self) | {"call": next(calls)})
    report = verify(policy, examples=10)
    assert report.failed_laws() == {"deterministic"}
    assert "evaluated again" in report.failures[0].message


def _result(score: int, band: str, rating: str, targets: list[int], vetoes: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(score=Decimal(score), raw_score=Decimal(score), effects=(), band=band, rating=rating,
                           category="单位",
                           targets=[SimpleNamespace(score=Decimal(t)) for t in targets],
                           vetoes=[SimpleNamespace(name=v) for v in vetoes])


def test_pair_laws() -> None:
    policy = kaohe_rules.load(VETO)
    good = _result(9, "好", "好", [9])
    worse = _result(4, "差", "差", [4])
    check_pair(policy, ({}, good), ({}, worse))  # consistent: no violation
    with pytest.raises(LawViolation) as excinfo:  # loses more in every target, yet rated better
        check_pair(policy, ({}, _result(9, "好", "差", [9])), ({}, _result(4, "差", "好", [4])))
    assert excinfo.value.law == "deductions-monotone"
    with pytest.raises(LawViolation) as excinfo:  # a lower score in a better band
        check_pair(policy, ({}, _result(6, "好", "好", [6])), ({}, _result(7, "差", "差", [7])))
    assert excinfo.value.law == "bands-monotone"
    vetoed = _result(9, "好", "差", [9], ("严重事件",))
    check_pair(policy, ({}, vetoed), ({}, good))  # the vetoed one has a veto the other lacks: no claim


def test_kaohe_verify_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "veto.kh"
    good.write_text(VETO, encoding="utf-8")
    bad = tmp_path / "money.kh"
    bad.write_text(MONEY, encoding="utf-8")
    assert main(["verify", str(good), "--examples", "10"]) == 0
    assert "all laws hold" in capsys.readouterr().out
    assert main(["verify", str(bad), "--examples", "40", "--short", "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "FAILED law money-exact" in out and "the unit (shrunk):" in out and "Assessment result" in out
    assert main(["verify", str(bad), "--examples", "40", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and {f["law"] for f in doc["failures"]} == {"money-exact", "evaluates"}
    assert main(["verify", str(good), "--category", "乡镇"]) == 2
    assert "no category 乡镇" in capsys.readouterr().err
    assert main(["verify", str(good), "--examples", "0"]) == 2
