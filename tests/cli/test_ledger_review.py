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


def test_the_ranked_table_of_a_defer_without_to_shows_no_none(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    """docs/language.md's composed-defers chain: its first defer has no ``to``; the 通报 table's 移交 column
    read "军警车辆 1项→None" (Python's None printed). Without an authority it reads "军警车辆 1项"."""
    policy = tmp_path / "d.kh"
    policy.write_text("""policy 组合 "组合" { }
enum 类型 { 道路, 火灾 }
enum 车辆属性 { 地方, 军队, 武警 }
record 事故 "事故" { 类型: 类型 "类型"  车辆: 车辆属性 = 地方 "车辆"  纵火: bool = false "纵火"  死亡: int >= 0 "死亡" }
fact 自报事故: list of 事故 "自报事故"
defer 军警车辆 "军警车辆事故" from 自报事故 where 类型 == 道路 and 车辆 in [军队, 武警] as 地方事故
defer 纵火 "纵火火灾" from 地方事故 where 类型 == 火灾 and 纵火 as 计分事故 to "公安消防部门"
category 区县 "区县" total 100 { section 控制 "控制" 100 }
target 死亡 "死亡控制" in 区县.控制 points 100 { deduct 10 per sum(计分事故 of 死亡) cap 100 }
ratings { 好 差 } vetoed 差
bands 区县 { 好 [60, 100]  差 [0, 60) }
""", "utf-8")
    units = tmp_path / "units.json"
    units.write_text('[{"id": "A", "category": "区县", "facts": {"自报事故": [{"类型": "道路", "车辆": "军队", "死亡": 5},'
                     ' {"类型": "火灾", "纵火": true, "死亡": 4}]}}]', "utf-8")
    for fmt in ("table", "csv"):
        code, out, err = run(capsys, "eval", policy, units, "--format", fmt)
        assert code == 0, err
        assert "None" not in out and "军警车辆 1项" in out and "纵火 1项→公安消防部门" in out, out
    for args in ((), ("--id", "A")):
        code, out, err = run(capsys, "report", policy, units, *args)
        assert code == 0, err
        assert "None" not in out and "军警车辆事故" in out and "纵火火灾 → 公安消防部门" in out, out


def test_whatif_in_chinese_says_why_a_unit_is_not_assessed_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    """``whatif --event 事故台账[A-1].死亡人数=abc --lang zh`` listed the units the bad event made unassessable with
    the engine's English text ("unit 'TS': fact '事故台账[1].死亡人数': the ledger event … is bad") inside the
    Chinese lines; ``kaohe eval --lang zh`` says the same in Chinese, naming the ledger, row, key and field."""
    code, out, err = run(capsys, "whatif", DOCS / "policy.kh", DOCS / "units.json",
                         "--event", "事故台账[A-1].死亡人数=abc", "--lang", "zh")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("  天山区 (TS)"))
    assert "the ledger event" not in line and "unit 'TS'" not in line, line
    assert "事故台账[1].死亡人数" in line and "编号 A-1" in line and "不是数" in line, line
    code, out, err = run(capsys, "whatif", DOCS / "policy.kh", DOCS / "units.json",
                         "--event", "事故台账[A-1].死亡人数=abc", "--lang", "en")
    assert "'abc' is not a number" in out


def test_whatif_names_a_ledger_problem_its_edit_makes_on_an_event_nobody_is_charged(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``--event 事故台账[A-3].死亡人数=abc`` (A-3 is excluded: a 武警 vehicle's) printed only "没有单位的结果发生变化":
    the bad value vanished, where ``kaohe eval`` on the same ledger reports a ledger problem (exit 3). The
    what-if lists the ledger problems its edits bring in, naming the ledger, row, key and field."""
    code, out, err = run(capsys, "whatif", DOCS / "policy.kh", DOCS / "units.json",
                         "--event", "事故台账[A-3].死亡人数=abc", "--lang", "zh")
    assert code == 0, err
    assert "没有单位的结果发生变化" in out
    assert "台账问题：事故台账第3条（A-3） 字段 死亡人数：'abc' 不是数" in out, out
    code, out, err = run(capsys, "whatif", DOCS / "policy.kh", DOCS / "units.json",
                         "--event", "事故台账[A-3].死亡人数=0", "--lang", "zh")
    assert "台账问题" not in out  # a good edit brings none
    # problems the ledger had before are not the edit's, even when a dropped event renumbers the rows
    ledger = tmp_path / "accidents.csv"
    ledger.write_text((DOCS / "accidents.csv").read_text("utf-8").replace("A-3,", "A-2,", 1), "utf-8")  # rows 2, 3
    code, out, err = run(capsys, "whatif", DOCS / "policy.kh", DOCS / "units.csv", "--ledger",
                         f"事故台账={ledger}", "--drop-event", "事故台账[1]", "--lang", "zh")
    assert code == 0, err
    assert "台账问题" not in out, out


def test_the_reports_ledger_problems_say_what_was_expected_in_chinese(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    """``kaohe report`` (zh) wrote the 台账数据问题 table's expectation in the engine's English:
    "'abc' 不是数（a whole number）"; as ``kaohe eval --lang zh`` writes it: "（应为 整数）"."""
    ledger = tmp_path / "accidents.csv"
    ledger.write_text((DOCS / "accidents.csv").read_text("utf-8").replace("A-1,2013-03-02,道路交通,天山区,,,2,",
                                                                          "A-1,2013-03-02,道路交通,天山区,,,abc,"),
                      "utf-8")
    code, out, err = run(capsys, "report", DOCS / "policy.kh", DOCS / "units.csv", "--ledger", f"事故台账={ledger}")
    assert code == 3, err
    row = next(x for x in out.splitlines() if x.startswith("| 事故台账第1条（A-1） | 死亡人数 |"))
    assert "a whole number" not in row and "（应为 整数）" in row, row
