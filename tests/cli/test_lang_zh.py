"""``--lang zh`` for every usage and input-file error (issue #12): structured errors, Chinese texts.

The errors of the command line, of output files and of unit files are made from the message
catalogue (:func:`kaohe_rules.messages.usage_error` / :func:`~kaohe_rules.messages.input_error`):
the English text is what kaohe has always printed (byte for byte), and the key and fields let
``main`` print the Chinese text under ``--lang zh`` without parsing the English.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from cli_runner import POLICY, ROOT, UNITS, run

from kaohe_rules import messages
from kaohe_rules.errors import UnitInputError, UsageError

PACKAGE = ROOT / "kaohe_rules"
#: The modules whose errors reach a user through ``main`` (issue #12's list, and the other front ends).
MODULES = ["unitio.py", "cli.py", "outfile.py", "audit/cli.py", "testing/cli.py",
           *(f"reports/{p.name}" for p in (PACKAGE / "reports").glob("*.py")),
           *(f"batch/{p.name}" for p in (PACKAGE / "batch").glob("*.py"))]
#: A message passed on as another module wrote it (``UsageError(str(exc))``): not made here.
PASSED_ON = re.compile(r"(UsageError|UnitInputError)\(str\(exc\)\)")
ALLOWED = {"kaohe", "pip", "install", "kaohe_rules", "xlsx", "testing", "JSON", "Lines", "jsonl", "CSV", "UTF",
           "MAX_DOCUMENT_BYTES", "MAX_TEXT_CHARS", "openpyxl", "hypothesis", "tests", "toml", "format", "json",
           "csv", "tsv", "ndjson", "units", "id", "eval", "encoding", "force", "workers", "output", "template",
           "examples", "set", "patch", "lang", "FILE", "Parquet", "parquet", "pyarrow", "columnar"}




def test_no_error_of_these_modules_is_written_as_a_bare_english_string() -> None:
    """Every UsageError/UnitInputError raised in MODULES comes from the catalogue (a key and fields)."""
    bare = []
    for name in MODULES:
        path = PACKAGE / name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("UsageError", "UnitInputError"):
                if not PASSED_ON.search(ast.unparse(node)):
                    bare.append(f"{name}:{node.lineno}: {ast.unparse(node)[:100]}")
    assert not bare, "\n".join(bare)


def _sample(key: str) -> dict[str, object]:
    fields = {f for _, f, _, _ in string.Formatter().parse(messages.TEXTS[key]["en"] + messages.TEXTS[key]["zh"]) if f}
    return {f: 7 if f in ("n", "cap", "chars", "col", "row", "rate") else "〈值〉" for f in fields}


@pytest.mark.parametrize("key", sorted(messages.TEXTS))
def test_every_catalogue_text_has_chinese_without_english_words(key: str) -> None:
    fields = _sample(key)
    english = messages.text(key, "en", **fields)
    chinese = messages.text(key, "zh", **fields)
    assert chinese != english or not re.search(r"[A-Za-z]", english)
    words = [w for w in re.findall(r"[A-Za-z_][A-Za-z_0-9]+", re.sub(r"'[^']*'|--\w[\w-]*", " ", chinese))
             if w not in ALLOWED]
    assert not words, chinese


def test_a_structured_error_keeps_its_english_text_and_renders_in_chinese() -> None:
    error = messages.input_error("in_no_such_file", shown="units.csv")
    assert isinstance(error, UnitInputError) and str(error) == "units.csv: 文件不存在 / no such file"
    assert messages.error_message(error, None) == messages.error_message(error, "en") == str(error)
    assert messages.error_message(error, "zh") == "units.csv：文件不存在"
    import pickle

    again = pickle.loads(pickle.dumps(error))  # a worker process sends it back as it is
    assert str(again) == str(error) and again.key == "in_no_such_file" and again.fields == {"shown": "units.csv"}
    usage = messages.usage_error("exists", path="out.xlsx")
    assert isinstance(usage, UsageError) and messages.error_message(usage, "zh") == "out.xlsx 已存在；要覆盖它请加 --force"
    assert messages.error_message(UsageError("something else"), "zh") == "something else"  # unknown: as written


def test_usage_and_input_errors_in_chinese_and_english(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    code, _, err = run(capsys, "eval", POLICY, missing, "--lang", "zh")
    assert code == 2 and err == f"kaohe：{missing}：文件不存在\n"
    code, _, err = run(capsys, "eval", POLICY, missing, "--lang", "en")
    assert code == 2 and err == f"kaohe: {missing}: 文件不存在 / no such file\n"
    code, _, err = run(capsys, "eval", UNITS, POLICY, "--lang", "zh")
    assert code == 2 and "是不是把两者弄反了" in err and "did you swap" not in err
    out = tmp_path / "out.csv"
    out.write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--format", "csv", "-o", out, "--lang", "zh")
    assert code == 2 and err == f"kaohe：{out} 已存在；要覆盖它请加 --force\n"
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--format", "csv", "-o", UNITS, "--force", "--lang", "zh")
    assert code == 2 and "拒绝写入" in err and "单位文件" in err and "the units file" not in err
    bad = tmp_path / "units.csv"
    bad.write_text("名字,类别\nx,区政府\n", encoding="utf-8")
    code, _, err = run(capsys, "eval", POLICY, bad, "--lang", "zh")
    assert code == 2 and "表头没有编号列" in err and "header" not in err
    code, _, err = run(capsys, "eval", POLICY, UNITS, "--workers", "0", "--lang", "zh")
    assert code == 2 and "--workers 至少为 1" in err
    code, _, err = run(capsys, "facts", POLICY, "--category", "乡政府", "--lang", "zh")
    assert code == 2 and "没有类别 乡政府；本办法的类别有 区政府 (区人民政府)" in err


def test_a_refused_row_is_chinese_on_the_error_stream(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "units.jsonl"
    path.write_text('{"id": "a", "category": "区政府", "facts": {}, "额外": 1}\n[1]\n', encoding="utf-8")
    code, _, err = run(capsys, "eval", POLICY, path, "--format", "jsonl", "--lang", "zh")
    assert code == 3
    assert "未知的键 '额外'" in err and "不是 JSON 对象（而是数组）" in err and "unknown key" not in err
