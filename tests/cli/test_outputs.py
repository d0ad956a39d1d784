"""``kaohe eval --format xlsx|csv`` and ``kaohe report --format xlsx`` read back; ``--lang``; progress.

The outputs are checked by reading them with openpyxl and csv and comparing every value
with what ``Policy.evaluate`` gives for the same unit — exact Decimals, money as numeric
cells with the money number format — and by checking that assessed + not assessed rows
are all the rows read.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_runner import POLICY, UNITS, run

from kaohe_rules import load
from kaohe_rules.batch.progress import Progress
from kaohe_rules.cli import main
from kaohe_rules.messages import resolve_lang

openpyxl = pytest.importorskip("openpyxl")





@pytest.fixture(scope="module")
def policy() -> Any:
    return load(str(POLICY))


@pytest.fixture()
def mixed(tmp_path: Path) -> Path:
    """The 17 sample units, one of them broken twice over, and one row that is not a unit."""
    units = json.loads(UNITS.read_text(encoding="utf-8"))
    units = units["units"] if isinstance(units, dict) else units
    bad = json.loads(json.dumps(units[0]))
    bad["id"] = "broken"
    bad["facts"]["事故"] = "abc"
    bad["facts"]["no_such_fact"] = 1
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"units": [*units, bad, 42]}, ensure_ascii=False), encoding="utf-8")
    return path


def _expected(policy: Any) -> dict[str, Any]:
    units = json.loads(UNITS.read_text(encoding="utf-8"))
    units = units["units"] if isinstance(units, dict) else units
    return {u["id"]: policy.evaluate(u) for u in units}


def _signed(result: Any) -> Decimal | None:
    c = result.consequences
    return c.total if c.kind == "reward" else -c.total if c.kind == "fine" else None


def test_xlsx_holds_every_unit_with_exact_values_and_money_formats(
        capsys: pytest.CaptureFixture[str], policy: Any, mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "通报.xlsx"
    code, stdout, err = run(capsys, "eval", POLICY, mixed, "--format", "xlsx", "-o", out)
    assert code == 3 and stdout == ""
    assert "17 assessed + 2 not assessed = 19 rows read" in err
    expected = _expected(policy)
    book = openpyxl.load_workbook(out)
    categories = policy.checked.categories
    assert book.sheetnames == ["汇总", *(c.label for c in categories.values()), "未能考核"]
    seen: dict[str, Any] = {}
    for name, info in categories.items():
        sheet = book[info.label]
        rows = list(sheet.iter_rows(values_only=False))
        header = [c.value for c in rows[1]]
        assert header[:5] == ["名次", "编号", "单位", "得分", "等次"] and header[-2:] == ["奖惩", "金额（元）"]
        assert len(header) == 5 + len(info.sections) + 4  # one column per top-level section
        previous: tuple[int, Decimal] | None = None
        for number, row in enumerate(rows[2:], 1):
            values = [c.value for c in row]
            result = expected[values[1]]
            seen[values[1]] = result
            assert result.category == name and values[0] == number
            assert Decimal(str(values[3])) == result.score and values[4] == result.rating_label
            for i, section in enumerate(info.sections):
                assert Decimal(str(values[5 + i])) == result.sections[".".join(section.path)].score
            money = row[-1]
            if _signed(result) is None:
                assert money.value is None
            else:
                assert money.data_type == "n" and Decimal(str(money.value)) == _signed(result)
                assert money.number_format == '#,##0.00"元";-#,##0.00"元"'
            order = [r.name for r in policy.checked.ratings.ratings].index(result.rating)
            if previous is not None:  # ranked: by rating, then by score
                assert (order, -result.score) >= previous
            previous = (order, -result.score)
    assert set(seen) == set(expected)
    errors = list(book["未能考核"].iter_rows(values_only=True))
    assert errors[0] == ("行", "位置", "编号", "问题")
    assert [(r[0], r[2]) for r in errors[1:]] == [(18, "broken"), (19, None)]
    assert "no_such_fact: unknown fact" in errors[1][3] and "事故" in errors[1][3]
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(values_only=True) if r and r[0]}
    assert (summary["读入行数"], summary["已考核"], summary["未能考核"]) == (19, 17, 2)
    rewards = sum((r.consequences.total for r in expected.values() if r.consequences.kind == "reward"), Decimal(0))
    assert Decimal(str(summary["奖励合计（元）"])) == rewards


def test_csv_has_a_bom_numbers_as_numbers_and_a_row_for_every_input_row(
        capsys: pytest.CaptureFixture[str], policy: Any, mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "通报.csv"
    code, _, _ = run(capsys, "eval", POLICY, mixed, "--format", "csv", "-o", out, "--lang", "zh")
    assert code == 3
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Chinese Excel opens it as UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    expected = _expected(policy)
    assessed = [r for r in rows if r["状态"] == "已考核"]
    assert {r["编号"] for r in assessed} == set(expected) and len(assessed) == 17
    for r in assessed:
        result = expected[r["编号"]]
        assert Decimal(r["得分"]) == result.score
        signed = _signed(result)
        assert (r["金额（元）"] == "") if signed is None else (r["金额（元）"] == f"{signed:f}")
    refused = [r for r in rows if r["状态"] == "未能考核"]
    assert [r["行"] for r in refused] == ["18", "19"]
    assert "「no_such_fact」：本办法没有这个事实" in refused[0]["问题"]
    assert rows[-1]["状态"] == "合计" and rows[-1]["问题"] == "已考核 17 + 未能考核 2 = 共读入 19 行"
    assert len(rows) == 17 + 2 + 1


def test_csv_to_standard_output_and_in_gb18030(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "gb.csv"
    code, _, _ = run(capsys, "eval", POLICY, UNITS, "--format", "csv", "--output-encoding", "gb18030", "-o", out)
    assert code == 0
    text = out.read_bytes().decode("gb18030")
    assert text.startswith("状态,类别,名次") and "独山子区人民政府" in text
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--format", "table", "--output-encoding", "gb18030")
    assert code == 2 and "--output-encoding applies to --format csv only" in err


def test_outputs_are_never_written_over_a_file_or_an_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"keep")
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--format", "xlsx", "-o", out)
    assert code == 2 and "already exists; pass --force" in err and out.read_bytes() == b"keep"
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--format", "xlsx", "-o", out, "--force", "--quiet")
    assert code == 0 and err == "" and openpyxl.load_workbook(out).sheetnames[0] == "汇总"
    copy = tmp_path / "units.json"
    copy.write_bytes(UNITS.read_bytes())
    code, _, err = run(capsys, "eval", POLICY, copy, "--format", "csv", "-o", copy, "--force")
    assert code == 2 and "it is the units file" in err and copy.read_bytes() == UNITS.read_bytes()
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--format", "xlsx")
    assert code == 2 and "give -o FILE" in err
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--format", "jsonl", "-o", tmp_path / "x.jsonl")
    assert code == 2 and "redirect it" in err


def test_report_xlsx_is_the_ranked_workbook(capsys: pytest.CaptureFixture[str], policy: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    code, _, _ = run(capsys, "report", POLICY, UNITS, "--format", "xlsx", "-o", out)
    assert code == 0
    book = openpyxl.load_workbook(out)
    assert sum(book[c.label].max_row - 2 for c in policy.checked.categories.values()) == 17
    code, _, err = run(capsys, "report", POLICY, UNITS, "--format", "xlsx")
    assert code == 2 and "give -o FILE" in err


def test_lang_zh_names_the_fact_by_label_and_clause_and_en_is_unchanged(
        capsys: pytest.CaptureFixture[str], policy: Any, mixed: Path) -> None:
    _, _, default = run(capsys, "eval", POLICY, mixed)
    _, _, english = run(capsys, "eval", POLICY, mixed, "--lang", "en")
    assert english == default  # today's English texts, byte for byte
    assert "unit 'broken' not assessed:\n  - no_such_fact: unknown fact\n" in english
    _, _, chinese = run(capsys, "eval", POLICY, mixed, "--lang", "zh")
    decl = policy.checked.facts["事故"]
    assert "单位 broken 未能考核：" in chinese
    assert f"「{decl.label}」(事故)〔{decl.cite}〕：" in chinese
    assert "「no_such_fact」：本办法没有这个事实" in chinese
    code, _, err = run(capsys, "explain", POLICY, UNITS, "--id", "nobody", "--lang", "zh")
    assert code == 2 and err.startswith("kaohe：") and "中没有编号为 nobody 的单位" in err


@pytest.mark.parametrize("command", ["check", "eval", "explain", "facts", "whynot", "whatif", "report", "replay",
                                     "test", "verify", "diff"])
def test_every_command_takes_lang(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code = main([command, "--help"])
    out, _ = capsys.readouterr()
    assert code == 0 and "--lang" in out


def test_the_language_comes_from_lang_then_kaohe_lang_then_the_locale() -> None:
    assert resolve_lang("en", {"KAOHE_LANG": "zh"}) == "en"
    assert resolve_lang(None, {"KAOHE_LANG": "zh", "LANG": "en_US.UTF-8"}) == "zh"
    assert resolve_lang(None, {"LC_ALL": "zh_CN.GB18030", "LANG": "en_US.UTF-8"}) == "zh"
    assert resolve_lang(None, {"LC_MESSAGES": "en_GB.UTF-8"}) == "en"
    assert resolve_lang(None, {"LANG": "C.UTF-8"}) is None  # nothing said: English messages, Chinese reports
    assert resolve_lang(None, {}) is None


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_only_on_a_terminal_after_a_delay_and_not_when_quiet() -> None:
    now = [0.0]
    stream = FakeTerminal()
    progress = Progress(stream, True, lambda n, rate: f"{n} units, {rate} units/s", clock=lambda: now[0])
    for _ in range(1000):  # quick: nothing shown
        progress.tick()
    assert stream.getvalue() == ""
    now[0] = 4.0
    for _ in range(1000):
        progress.tick()
    assert "\r1024 units, 256 units/s" in stream.getvalue()
    progress.close()
    assert stream.getvalue().endswith("2000 units, 500 units/s\x1b[K\n")
    assert not Progress.for_stream(io.StringIO(), False, str.format).enabled  # not a terminal
    assert not Progress.for_stream(FakeTerminal(), True, str.format).enabled  # --quiet
    assert Progress.for_stream(FakeTerminal(), False, str.format).enabled


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_streamed_json_document_is_byte_identical_to_json_dumps(count: int) -> None:
    from kaohe_rules.reports.jsondoc import JsonDocumentWriter

    head = {"name": "p", "label": "政策", "hash": "ab"}
    documents = [{"unit": {"id": f"u{i}", "name": "甲\n乙"}, "score": "9", "targets": [{"a": []}, {}]}
                 for i in range(count)]
    errors = [{"index": 1, "problems": [{"message": "x"}]}] if count else []
    summary = {"assessed": count, "ratings": {}}
    stream = io.StringIO()
    writer = JsonDocumentWriter(stream, head)
    for document in documents:
        writer.add(document)
    writer.finish(errors, summary)
    whole = {"policy": head, "results": documents, "errors": errors, "summary": summary}
    assert stream.getvalue() == json.dumps(whole, ensure_ascii=False, indent=2) + "\n"


def test_json_to_a_file_is_the_document_of_standard_output(capsys: pytest.CaptureFixture[str], mixed: Path,
                                                           tmp_path: Path) -> None:
    code, stdout, _ = run(capsys, "eval", POLICY, mixed, "--format", "json")
    out = tmp_path / "r.json"
    assert run(capsys, "eval", POLICY, mixed, "--format", "json", "-o", out)[0] == code == 3
    assert out.read_text(encoding="utf-8") == stdout
    document = json.loads(stdout)
    assert document["summary"]["assessed"] == 17 and document["summary"]["not_assessed"] == 2
    assert not list(tmp_path.glob(".r.json.*"))  # no temporary file left behind


def test_xlsx_without_openpyxl_is_a_usage_error_before_any_work(capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openpyxl" else real(name, *a))
    out = tmp_path / "r.xlsx"
    for command in ("eval", "report"):
        code, _, err = run(capsys, command, POLICY, UNITS, "--format", "xlsx", "-o", out)
        assert code == 2 and "needs openpyxl" in err and not out.exists()


def test_fact_messages_in_chinese_keep_the_values_and_unknown_ones_stay_english() -> None:
    from kaohe_rules.messages import fact_message_zh, problem_line

    assert fact_message_zh("0.98 is ambiguous for a percentage: 0.98% or, as a fraction, 98%") == \
        "0.98 作为百分比有两种读法：0.98%，或按小数读作 98%"
    assert fact_message_zh("'120万' has no currency unit (万 of what?)") == "'120万' 没有货币单位（万什么？）"
    assert fact_message_zh("something new went wrong") == "something new went wrong"
    problem = {"fact": "预算", "message": "missing", "expected": "an amount of money (元)", "hint": "write 元"}
    assert problem_line(problem, "zh", lambda fact: ("专项资金预算", "六(二)")) == \
        "  - 「专项资金预算」(预算)〔六(二)〕：缺少（必填）（应为 金额（元））；write 元"
    assert problem_line(problem, "en") == "  - 预算: missing (expected an amount of money (元)); write 元"
