"""The command line with ledgers (issue #16 L3/L4): --ledger on eval/explain/report/whynot/whatif,
eval's standard-error summary, the report's 台账归属 section, whatif's event edits.

The policy is the RUNTIME part's test policy (tests/ledger_fixture.py) with its ledger
installed while the commands run in-process; the expectations are derived by hand from its
rules (5 points a death, 2 an accident, vetoed at 3 deaths; 属地 / 对口区 / 行业 / 本企业).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ledger_fixture as lf
import pytest
from cli_runner import run

LEDGER = lf.LEDGER


@pytest.fixture(autouse=True)
def installed() -> Iterator[None]:
    with lf.ledgers_installed(lf.ledger_spec()):
        yield


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "ledger.kh"
    policy.write_text(lf.POLICY_TEXT, "utf-8")
    document = tmp_path / "units.json"
    document.write_text(json.dumps({"units": lf.units(), "ledgers": {LEDGER: lf.ledger()}}, ensure_ascii=False), "utf-8")
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"units": lf.units()}, ensure_ascii=False), "utf-8")
    lines = tmp_path / "units.jsonl"
    rows = [json.dumps(u, ensure_ascii=False) for u in lf.units()]
    events = [json.dumps({"ledger": LEDGER, "event": e}, ensure_ascii=False) for e in lf.ledger()]
    lines.write_text("\n".join(events[:3] + rows + events[3:]) + "\n", "utf-8")
    csv = tmp_path / "accidents.csv"
    head = ["编号", "日期", "类型", "发生地", "车辆属性", "生产经营", "隶属", "发生单位编号", "死亡人数"]
    body = [",".join(head)]
    for e in lf.ledger():
        body.append(",".join("是" if e.get(h) is True else str(e.get(h, "")) for h in head))
    csv.write_bytes(("\n".join(body) + "\n").encode("gb18030"))
    return {"policy": policy, "document": document, "plain": plain, "lines": lines, "csv": csv}


def _scores(out: str) -> dict[str, tuple[str, str]]:
    doc = json.loads(out)
    return {r["unit"]["id"]: (r["score"], r["rating"]) for r in doc["results"]}


#: by hand: TS A-1 (2 deaths) + A-6 (1): 15 + 4 = 81 良好; TT A-2 (1, 对口区) + A-5 (3): 20 + 4 = 76, vetoed;
#: JT A-1 + A-2: 15 + 4 = 81; XF A-6: 5 + 2 = 93; E1 A-5: 15 + 2 = 83, vetoed; SY (A-4 handed over), XS (A-3 excluded) 100
EXPECTED = {"TS": ("81", "良好"), "SY": ("100", "优秀"), "XS": ("100", "优秀"), "TT": ("76", "不合格"),
            "JT": ("81", "良好"), "XF": ("93", "优秀"), "E1": ("83", "不合格")}


def test_every_input_format_gives_the_same_results(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    for args in ([files["document"]], [files["lines"]], [files["plain"], "--ledger", f"{LEDGER}={files['csv']}"]):
        code, out, err = run(capsys, "eval", files["policy"], *args, "--format", "json")
        assert code == 0, err
        assert _scores(out) == EXPECTED, args
        ledgers = json.loads(out)["ledgers"]  # the machine form of the summary
        assert [(e["key"], e["kind"]) for e in ledgers["removed"]] == [("A-3", "excluded"), ("A-4", "handed_over")]
        assert [e["key"] for e in ledgers["unattributed"]] == ["A-7"]
        assert ledgers["problems"] == ledgers["unreadable"] == []
        # the summary never drops an event: the counts, and the one unattributed event with why
        assert "ledger 事故台账: 7 event(s); 4 charged to units, 1 excluded, 1 handed over, 1 unattributed" in err
        assert "unattributed: 事故台账 row 7 (A-7)" in err and "no unit of the batch" not in err.split("A-7")[0]


def test_json_lines_from_standard_input(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(files["lines"].read_bytes()), encoding="utf-8"))
    code, out, err = run(capsys, "eval", files["policy"], "-", "--format", "json")
    assert code == 0, err
    assert _scores(out) == EXPECTED


def test_the_chinese_summary(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, _, err = run(capsys, "eval", files["policy"], files["document"], "--lang", "zh")
    assert code == 0
    assert "台账 事故台账：7 条事件；计入单位 4 条，排除 1 条，移交 1 条，未归属 1 条，有问题 0 条" in err
    assert "未归属：事故台账第7条（A-7） 2013-05-03 工矿商贸事故 0人死亡：按属地规则应计入 辖区=经济技术开发区 的单位" in err


def test_a_bad_event_is_a_ledger_problem_and_the_exit_status_says_so(capsys: pytest.CaptureFixture[str],
                                                                       files: dict[str, Path], tmp_path: Path) -> None:
    events = lf.ledger()
    events[0] = {**events[0], "死亡人数": "abc"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"units": lf.units(), "ledgers": {LEDGER: events}}, ensure_ascii=False), "utf-8")
    code, out, err = run(capsys, "eval", files["policy"], path, "--format", "json")
    assert code == 3
    assert "ledger problem: 事故台账 row 1 (A-1) field 死亡人数" in err
    doc = json.loads(out)
    refused = {e["unit"] for e in doc["errors"]}
    assert {"TS", "JT"} <= refused  # the units it is charged to; the others are assessed
    assert _scores(out)["XF"] == EXPECTED["XF"]


def test_ledgers_refused_where_they_cannot_be_meant(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                                    tmp_path: Path) -> None:
    code, _, err = run(capsys, "eval", files["policy"], files["document"], "--ledger", f"{LEDGER}={files['csv']}")
    assert code == 2 and "is given twice" in err and str(files["csv"]) in err and str(files["document"]) in err
    code, _, err = run(capsys, "eval", files["policy"], files["plain"], "--ledger", f"事故台帐={files['csv']}")
    assert code == 2 and "did you mean '事故台账'" in err
    other = tmp_path / "other.kh"
    other.write_text(lf.POLICY_TEXT, "utf-8")
    with lf.ledgers_installed():  # the same policy without its ledger
        code, _, err = run(capsys, "eval", other, files["document"])
        assert code == 2 and "the policy declares no ledger" in err
        code, _, err = run(capsys, "eval", other, files["plain"], "--ledger", f"{LEDGER}={files['csv']}")
        assert code == 2 and "the policy declares no ledger" in err


def test_a_unit_alone_without_the_ledger_is_refused_not_assessed_empty(capsys: pytest.CaptureFixture[str],
                                                                        files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "eval", files["policy"], files["plain"], "--format", "json")
    assert code == 3
    assert "ledger" in err and "事故" in err
    assert json.loads(out)["results"] == []


def test_the_report_has_a_ledger_section_with_every_unattributed_event(capsys: pytest.CaptureFixture[str],
                                                                         files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "report", files["policy"], files["document"])
    assert code == 0, err
    section = out.split("## 台账归属", 1)[1]
    assert "台账 事故台账：7 条事件；计入单位 4 条，排除 1 条，移交 1 条，未归属 1 条，有问题 0 条。" in section
    assert "| 事故台账：计入事故发生地的区(县)人民政府 | 计入 | 第三条 | 3 | 3 |" in section  # → TS; A-5 → TT
    assert "| 事故台账：计入行业主管部门 | 计入 | 四(二)1 | 3 | 3 |" in section  # → JT; A-6 → XF
    assert "| 事故台账：军队、武警车辆发生的道路交通事故 | 排除 | 第三条 | 1 |  |" in section
    assert "| 事故台账第3条（A-3） |" in section and "| 事故台账第4条（A-4） |" in section
    assert "自治区有关规定" in section
    assert "### 未归属的事件（没有计入任何单位）" in section and "| 事故台账第7条（A-7） |" in section
    code, out, _ = run(capsys, "report", files["policy"], files["document"], "--id", "TT")
    assert code == 0
    assert "## 计入本单位的台账事件" in out and "| 事故台账第2条（A-2） |" in out and "开发区辖区道路交通事故计入对口区" in out


def test_whynot_lists_the_events_and_what_they_cost(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "whynot", files["policy"], files["document"], "--id", "TT")
    assert code == 0, err
    assert "计入本单位的台账事件（2 条）：" in out
    assert "  事故台账第2条（A-2） 2013-05-03 道路交通事故 1人死亡：开发区辖区道路交通事故计入对口区（第三条第二款）" in out
    assert "  ✗ 一票否决 发生3人以上死亡事故〔第五条〕：依据 事故台账第5条（A-5）" in out
    assert "  − 扣 20 分 事故控制：读取了计入的事件（deduct sum(本市事故 of 死亡人数) * 5 cap 60）" in out
    assert "  − 扣 4 分 事故控制：读取了计入的事件（deduct count(本市事故) * 2 cap 40）" in out
    code, out, _ = run(capsys, "whynot", files["policy"], files["document"], "--id", "TT", "--format", "json")
    doc = json.loads(out)
    assert [c["key"] for c in doc["charged"]] == ["A-2", "A-5"]
    assert [e["kind"] for e in doc["event_effects"]] == ["rule", "rule", "veto"]


def test_whatif_an_event_changed_lists_every_unit_it_affects(capsys: pytest.CaptureFixture[str],
                                                              files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "whatif", files["policy"], files["document"], "--event", f"{LEDGER}[A-5].死亡人数=0")
    assert code == 0, err
    # A-5 is charged to TT (属地) and E1 (本企业): 15 points back each, and no veto
    assert "头屯河区 (TT)：得分 76 → 91；不合格 → 优秀" in out
    assert "某公司 (E1)：得分 83 → 98；不合格 → 优秀" in out
    assert "(TS)" not in out and "(JT)" not in out
    code, out, _ = run(capsys, "whatif", files["policy"], files["document"], "--drop-event", f"{LEDGER}[1]")
    # A-1 (2 deaths) charged to TS (属地) and JT (行业); the rows after it keep their names
    assert "天山区 (TS)：得分 81 → 93；良好 → 优秀；计入事件 事故台账第1条（A-1）、事故台账第6条（A-6） → 事故台账第6条（A-6）" in out
    assert "交警支队 (JT)：得分 81 → 93；良好 → 优秀；计入事件 事故台账第1条（A-1）、事故台账第2条（A-2） → 事故台账第2条（A-2）" in out
    assert "(XF)" not in out and "(E1)" not in out
    assert "未归属的事件：事故台账第7条（A-7） → 事故台账第7条（A-7）" in out
    add = json.dumps(lf.accident("A-9", "工矿商贸", "新市区", 1), ensure_ascii=False)
    code, out, _ = run(capsys, "whatif", files["policy"], files["document"], "--add-event", f"{LEDGER}={add}",
                       "--format", "json")
    doc = json.loads(out)
    assert [(c["unit"], c["score"]) for c in doc["changed"]] == [("XS", ["100", "93"])]
    assert doc["unattributed"] == [["事故台账第7条（A-7）"], ["事故台账第7条（A-7）"]]
    code, out, err = run(capsys, "whatif", files["policy"], files["document"], "--event", f"{LEDGER}[A-99].死亡人数=0")
    assert code == 2 and "no such event" in err


def test_whatif_a_row_that_is_also_another_events_key_is_refused(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path, files: dict[str, Path]) -> None:
    events = lf.ledger()
    events[0] = {**events[0], "编号": "2"}  # row 1's key is "2": 事故台账[2] reads two ways
    path = tmp_path / "ambiguous.json"
    path.write_text(json.dumps({"units": lf.units(), "ledgers": {LEDGER: events}}, ensure_ascii=False), "utf-8")
    code, _, err = run(capsys, "whatif", files["policy"], path, "--drop-event", f"{LEDGER}[2]")
    assert code == 2 and "reads two ways: row 2, or the event whose key is '2' (row 1)" in err


def test_explain_with_a_ledger_file(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "explain", files["policy"], files["plain"], "--ledger", f"{LEDGER}={files['csv']}",
                         "--id", "XF")
    assert code == 0, err
    assert "综合评分：93 / 100 分" in out


def test_a_cohort_policy_with_a_ledger_ranks_the_charged_scores(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    """The docs example with a cohort block: the file is streamed by the cohort driver with the ledger; ranks
    follow the scores the ledger gives (区县: TT 90, TS 80; 部门: XF 100, JT 70), 优秀 at most 50%."""
    from cli_runner import ROOT

    docs = ROOT / "docs" / "ledgers"
    policy = tmp_path / "cohort.kh"
    policy.write_text((docs / "policy.kh").read_text("utf-8")
                      + '\ncohort 排名 "年度排名" {\n  by score\n  ties share\n  quota 优秀 at most 50%\n}\n', "utf-8")
    from unittest import mock

    import kaohe_rules.policy
    from kaohe_rules.runtime.evaluator import CompiledModule

    with mock.patch.object(kaohe_rules.policy, "CompiledModule", CompiledModule):  # the policy's own ledger
        for units in (docs / "units.json", docs / "units.jsonl"):
            code, out, err = run(capsys, "eval", policy, units, "--format", "json")
            assert code == 0, err
            ranks = {r["unit"]["id"]: (r["score"], r["standing"]["rank"]) for r in json.loads(out)["results"]}
            assert ranks == {"TT": ("90", 1), "TS": ("80", 2), "XF": ("100", 1), "JT": ("70", 2)}
            assert "1 unattributed" in err
        # A-1 (2 deaths, 天山区) left out: TS 80 → 100 passes TT (90); the quota (one 优秀 of two) then takes
        # TT's 优秀 although its score does not change; JT 70 → 90 stays 合格 (XF holds the one 优秀 of 部门)
        code, out, err = run(capsys, "whatif", policy, docs / "units.json", "--drop-event", f"{LEDGER}[A-1]",
                             "--lang", "zh")
        assert code == 0, err
        assert "  天山区 (TS)：得分 80 → 100；合格 → 优秀；名次 2 → 1；计入事件 事故台账第1条（A-1） → 无\n" in out
        assert "  头屯河区 (TT)：优秀 → 合格；名次 1 → 2\n" in out
        assert "  交警支队 (JT)：得分 70 → 90；计入事件 事故台账第1条（A-1）、事故台账第2条（A-2） → 事故台账第2条（A-2）\n" in out
        assert "(XF)" not in out


def test_the_templates_carry_the_ledger(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``facts --template``: the JSON document gets "ledgers" (one event to fill in, every field null) and the
    units lose the fact the ledger feeds; the workbook gets a sheet per ledger — and, filled in, is read back."""
    from unittest import mock

    from cli_runner import ROOT

    import kaohe_rules.policy
    from kaohe_rules.runtime.evaluator import CompiledModule

    openpyxl = pytest.importorskip("openpyxl")
    policy = ROOT / "docs" / "ledgers" / "policy.kh"
    with mock.patch.object(kaohe_rules.policy, "CompiledModule", CompiledModule):
        code, out, _ = run(capsys, "facts", policy, "--template")
        assert code == 0
        doc = json.loads(out)
        assert [u["facts"] for u in doc["units"]] == [{"辖区": None}, {"主管行业": []}]
        assert doc["ledgers"] == {"事故台账": [dict.fromkeys(
            ["编号", "日期", "类型", "发生地", "车辆", "纵火", "死亡人数", "直接经济损失"])]}
        book_path = tmp_path / "template.xlsx"
        code, _, err = run(capsys, "facts", policy, "--template", "--format", "xlsx", "-o", book_path)
        assert code == 0, err
        book = openpyxl.load_workbook(book_path)
        assert book.sheetnames == ["区县", "部门", "事故台账", "说明"]
        assert [c.value for c in book["区县"][1]] == ["单位编号", "单位名称", "辖区"]
        assert [c.value for c in book["事故台账"][1]] == ["编号", "日期", "类型", "发生地", "车辆", "纵火（是/否）",
                                                       "死亡人数", "直接经济损失（元）"]
        book["区县"].append(["TS", "天山区", "天山区"])
        book["部门"].append(["JT", "交警支队", '["道路交通"]'])
        book["事故台账"].append(["A-1", "2013-03-02", "道路交通", "天山区", None, "否", 2, None])
        book["事故台账"].append(["A-2", "2013-06-11", "道路交通", "天山区", "武警", None, 1, 1000])
        book.save(book_path)
        code, out, err = run(capsys, "eval", policy, book_path, "--format", "json")
        assert code == 0, err
        assert _scores(out) == {"TS": ("80", "合格"), "JT": ("80", "合格")}  # A-2 (武警) excluded
        assert "1 charged to units, 1 excluded" in err


def test_whatif_a_units_join_fact_changed_moves_its_events(capsys: pytest.CaptureFixture[str]) -> None:
    """``--id TS --set 辖区=头屯河区`` on the docs example: TS now gets 头屯河区's events (A-2 by 对口, A-4 by 属地)
    and loses A-1 (天山区's): 80 → 90; the unit's own what-if follows, with the charge events of its trace."""
    from unittest import mock

    from cli_runner import ROOT

    import kaohe_rules.policy
    from kaohe_rules.runtime.evaluator import CompiledModule

    docs = ROOT / "docs" / "ledgers"
    with mock.patch.object(kaohe_rules.policy, "CompiledModule", CompiledModule):
        code, out, err = run(capsys, "whatif", docs / "policy.kh", docs / "units.json", "--id", "TS",
                             "--set", "辖区=头屯河区", "--lang", "zh")
        assert code == 0, err
        assert out.startswith("假设分析：本批单位\n结果变化的单位：\n  天山区 (TS)：得分 80 → 90；合格 → 优秀；计入事件 "
                              "事故台账第1条（A-1） → 事故台账第2条（A-2）、事故台账第4条（A-4）\n")
        assert "假设分析：天山区 (TS)\n改动：辖区 = 头屯河区" in out
        assert "  计入台账事件 2013-03-02 道路交通事故 2人死亡 〔第三条〕\n      不再出现" in out
        code, _, err = run(capsys, "whatif", docs / "policy.kh", docs / "units.json", "--set", "辖区=头屯河区")
        assert code == 2 and "name it with --id" in err


def test_an_unreadable_ledger_row_is_named_by_its_reason_and_reaches_every_unit(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A CSV row whose cell is broken JSON: kept at its row (7), reported with the reader's reason (not as six
    missing fields), and — since nobody can know whose it is — every unit a charge rule could reach is refused."""
    from unittest import mock

    from cli_runner import ROOT

    import kaohe_rules.policy
    from kaohe_rules.runtime.evaluator import CompiledModule

    docs = ROOT / "docs" / "ledgers"
    bad = tmp_path / "accidents.csv"
    bad.write_text((docs / "accidents.csv").read_text("utf-8") + "A-7,2013-12-01,火灾,天山区,,,[1,\n", "utf-8")
    with mock.patch.object(kaohe_rules.policy, "CompiledModule", CompiledModule):
        code, out, err = run(capsys, "eval", docs / "policy.kh", docs / "units.csv", "--ledger", f"{LEDGER}={bad}",
                             "--format", "json", "--lang", "zh")
        assert code == 3
        assert f"台账问题：事故台账第7条（{bad}:8）无法读取：列 死亡人数 的 JSON 无效" in err
        assert "台账问题：事故台账第7条 字段" not in err
        assert sorted(e["unit"] for e in json.loads(out)["errors"]) == ["JT", "TS", "TT", "XF"]
        code, out, _ = run(capsys, "report", docs / "policy.kh", docs / "units.csv", "--ledger", f"{LEDGER}={bad}")
        assert code == 3
        assert "accidents.csv:8） |  | 列 死亡人数 的 JSON 无效" in out  # (the path is Markdown-escaped)
