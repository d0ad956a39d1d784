"""docs/ledgers.md is real (issue #16): every file it shows is the file on disk, every command it
shows prints what it shows, and the same ledger in every input format gives the same results.

The expectations are the page itself, read and checked by hand (the numbers: 10 points a death;
A-1 → 天山区 and 交警支队, A-2 → 头屯河区 by 对口 and 交警支队, A-4 → 头屯河区 and 消防支队, A-3 and
A-6 excluded, A-5 charged to nobody).  Nothing here rewrites the page.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from kaohe_rules.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "ledgers.md"
BLOCK = re.compile(r"```(\w+)([^\n]*)\n(.*?)```", re.S)


def blocks(kind: str) -> list[tuple[str, str]]:
    return [(info.strip(), body) for lang, info, body in BLOCK.findall(PAGE.read_text(encoding="utf-8"))
            if lang == kind]


def run(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue() + err.getvalue()


COMMANDS = blocks("console")


def test_the_page_shows_every_format_and_the_audit_commands() -> None:
    commands = [body.splitlines()[0] for _, body in COMMANDS]
    for needle in ("units.json --lang", "units.jsonl", "--ledger 事故台账=docs/ledgers/accidents.csv", "units.xlsx",
                   "explain", "whynot", "whatif", "report"):
        assert any(needle in c for c in commands), needle


@pytest.mark.parametrize(("info", "body"), COMMANDS, ids=[b.splitlines()[0][2:60] for _, b in COMMANDS])
def test_each_command_prints_what_the_page_shows(info: str, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("KAOHE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    command, _, shown = body.partition("\n")
    assert command.startswith("$ kaohe ")
    code, printed = run(shlex.split(command[2:])[1:])
    assert code == 0, printed
    if info == "excerpt":
        assert shown in printed
    else:
        assert printed == shown


@pytest.mark.parametrize(("info", "body"), blocks("json") + blocks("csv"))
def test_each_file_shown_is_the_file(info: str, body: str) -> None:
    if not info.startswith("docs/"):
        pytest.skip("not a file")
    assert (ROOT / info).read_text(encoding="utf-8") == body


def test_the_four_formats_hold_the_same_events() -> None:
    """The JSON document, the JSON Lines file, accidents.csv and the workbook's sheet: the same six events."""
    from kaohe_rules.unitio import read_ledger_file, read_ledgers

    docs = ROOT / "docs" / "ledgers"

    def plain(rows: object) -> list[dict[str, str]]:
        out = []
        for row in rows:  # type: ignore[attr-defined]
            assert row.error is None
            out.append({k: str(v).replace("万元", "") for k, v in row.event.items()})
        return out

    document = plain(read_ledgers(docs / "units.json").rows["事故台账"])
    assert plain(read_ledgers(docs / "units.jsonl").rows["事故台账"]) == document
    from kaohe_rules import load
    from kaohe_rules.unitio import ledger_shapes

    policy = load(docs / "policy.kh")
    shapes = ledger_shapes(policy.checked, policy.ledgers)
    sheet = plain(read_ledgers(docs / "units.xlsx", shapes=shapes).rows["事故台账"])
    table = plain(read_ledger_file("事故台账", docs / "accidents.csv", shape=shapes["事故台账"]))
    flags = {"True": "是"}  # JSON true, a 是 cell
    for row in document:
        for key, value in row.items():
            row[key] = flags.get(value, value)
    assert sheet == table == document


def test_the_python_example_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = [body for _, body in blocks("python")]
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's own example, run as a reader would
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["TS 80 ['A-1']", "TT 90 ['A-2', 'A-4']", "JT 70 ['A-1', 'A-2']", "XF 100 ['A-4']"]
