"""Reports: the 通报 and the unit report, as Markdown and as self-contained HTML.

The HTML is also opened in a real headless Chromium (Debian's ``chromium``) when one is
installed: the rendered DOM must hold the tables and the chart, and a screenshot is taken.
Without a browser that test is skipped; docs/audit.md gives the command to run the check.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import struct
import subprocess
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.audit.report import batch_report, unit_report
from kaohe_rules.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
UNITS = ROOT / "policies" / "karamay-2013" / "units.json"

SMALL = """
policy 小 "小政策" { }
category 单位 "单位" total 100 { section 甲 "甲" 100 }
ratings { 优秀 "优秀" 良好 "良好" 不合格 "不合格" } vetoed 不合格
bands 单位 { 优秀 [90, 100] 良好 [60, 90) 不合格 [0, 60) }
fact n: int >= 0
fact bad: bool = false
target t "目标" cite "1" in 单位.甲 points 100 { deduct 1 per n }
veto v "否决" cite "2" when bad
"""


@pytest.fixture(scope="module")
def karamay() -> tuple[kaohe_rules.Policy, list[Any]]:
    from kaohe_rules.unitio import read_units

    policy = kaohe_rules.load(POLICY)
    return policy, [policy.evaluate(row.unit) for row in read_units(UNITS)]


class _Checker(HTMLParser):
    """Collects tags, checks nesting, and records anything that would be fetched."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "col", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: dict[str, int] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name in ("src", "href", "xlink:href") or (value and "url(" in value):
                self.external.append(f"{tag} {name}={value}")
        if tag in ("script", "link", "img", "iframe", "object"):
            self.external.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


def check_html(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert checker.external == []
    assert "http" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", text)
    return checker


def test_batch_markdown_has_ranking_counts_vetoes_and_money(karamay: tuple[Any, list[Any]]) -> None:
    policy, results = karamay
    text = batch_report(policy, results, [], "md", "zh")
    for r in results:
        assert f"| {r.unit_id} |" in text
    vetoed = [r for r in results if r.vetoed]
    assert vetoed
    section = text.split("## 一票否决的单位")[1].split("## ")[0]
    for r in vetoed:
        assert r.unit_id in section and r.vetoes[0].label in section
    rewards = sum((r.consequences.total for r in results if r.consequences.kind == "reward"), Decimal(0))
    fines = sum((r.consequences.total for r in results if r.consequences.kind == "fine"), Decimal(0))
    assert f"| 小计 | {rewards:,.2f} | {fines:,.2f} | {rewards - fines:,.2f} |" in text
    # ranking order within a category follows the score
    district = text.split("## 区人民政府")[1].split("## ")[0]
    ids = re.findall(r"^\| \d+ \| ([\w-]+) \|", district, re.M)
    scores = {r.unit_id: r.score for r in results}
    assert ids == sorted(ids, key=lambda i: -scores[i])


def test_html_is_self_contained_and_well_formed(karamay: tuple[Any, list[Any]]) -> None:
    policy, results = karamay
    page = batch_report(policy, results, [], "html", "zh")
    checker = check_html(page)
    assert checker.tags["svg"] == len({r.category for r in results})  # one chart per category
    # one dot per unit, and a ring around each vetoed unit
    assert page.count('class="dot"') == len(results)
    assert page.count('class="vetoed"') == sum(r.vetoed for r in results)
    unit = unit_report(results[0], "html", "en")
    check_html(unit)
    assert '<html lang="en">' in unit


def test_text_from_facts_is_escaped() -> None:
    policy = kaohe_rules.load(SMALL)
    result = policy.evaluate({"id": "x<1>", "name": "<script>alert('x')</script> & co", "category": "单位",
                              "facts": {"n": 3}})
    for page in (batch_report(policy, [result], [], "html"), unit_report(result, "html")):
        assert "<script>" not in page and "&lt;script&gt;" in page
        check_html(page)
    md = batch_report(policy, [result], [], "md")
    assert "\\<script\\>" in md


def test_many_units_make_a_histogram() -> None:
    policy = kaohe_rules.load(SMALL)
    results = [policy.evaluate({"id": f"u{i}", "category": "单位", "facts": {"n": i % 50, "bad": i % 17 == 0}})
               for i in range(60)]
    page = batch_report(policy, results, [], "html", "en")
    check_html(page)
    assert 'class="bar"' in page and 'class="dot"' not in page
    counts = [int(m) for m in re.findall(r": (\d+)</title></rect>", page)]
    assert sum(counts) == 60


def test_cli_report_writes_files_and_reports_bad_rows(tmp_path: Path) -> None:
    units = json.loads(UNITS.read_text(encoding="utf-8"))["units"][:3]
    units.append({"id": "broken", "category": "区政府", "facts": {"专项资金预算": "lots"}})
    path = tmp_path / "units.json"
    path.write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "r.html"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["report", str(POLICY), str(path), "--format", "html", "-o", str(out)])
    assert code == 3  # some units could not be assessed; the others are reported
    page = out.read_text(encoding="utf-8")
    assert "未能考核的单位" in page and "broken" in page and "dushanzi" in page
    assert "broken" in err.getvalue()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["report", str(POLICY), str(UNITS), "--id", "wuerhe", "--lang", "en"]) == 0
    assert buffer.getvalue().startswith("# 乌尔禾区人民政府: assessment")


# ------------------------------------------------------------ real browser
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=120, check=False)


@pytest.mark.skipif(_chromium() is None, reason="no chromium installed (apt-get install chromium); see docs/audit.md")
def test_html_renders_in_headless_chromium(karamay: tuple[Any, list[Any]], tmp_path: Path) -> None:
    policy, results = karamay
    page = tmp_path / "batch.html"
    page.write_text(batch_report(policy, results, [], "html", "zh"), encoding="utf-8")
    binary = _chromium()
    assert binary is not None
    dom = _browser(binary, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-500:]
    rendered = dom.stdout.decode("utf-8")
    # the browser parsed the whole page: every ranking row, every chart and dot survived
    assert rendered.count("<svg") == 3
    assert rendered.count('class="dot"') == len(results)
    for r in results:
        assert r.unit_id in rendered
    shot = tmp_path / "batch.png"
    run = _browser(binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert run.returncode == 0, run.stderr[-500:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # a blank page compresses to a few kilobytes
