"""``_repr_html_`` of Policy and Result (issue #15): compact tables, everything escaped, no external assets,
the explanation as a table of lines with their clause citations."""

from __future__ import annotations

import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.runtime.html import explanation_rows

ROOT = Path(__file__).resolve().parents[2]
KARAMAY = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")

HOSTILE = kaohe_rules.load("""
policy 小 "<script>alert('p')</script>" { document "<b>doc</b>" cite "<i>c</i>" }
category 单位 "<script>alert('c')</script>" total 100 cite "<img src=x onerror=alert(1)>" {
  section 甲 "<script>甲</script>" 60 cite "〔x〕<s>"
  section 乙 "&amp; 乙\\"'" 40
}
ratings { 好 "<script>好</script>" 中 差 } vetoed 差
bands 单位 { 好 [80, 100] cite "<a href='http://evil.example/'>" 中 [60, 80) 差 [0, 60) }
fact 钱: money >= 0 "<script>钱</script>"
fact 指标: int?
fact 死亡: int = 0
target 甲 "<script>target</script>" in 单位.甲 points 60 cite "<u>t</u>" { full when 钱 >= 100万元 }
target 乙 in 单位.乙 points 40 { deduct 5 per 死亡 }
veto 突破 "<script>veto</script>" cite "<script>vc</script>"
  when 指标 is set and 死亡 > 指标
outcome 差 cite "<script>oc</script>" {
  fine 罚款 "<script>fine</script>" = 钱
}
""")
HOSTILE_UNIT = {"id": "<script>u</script>", "name": "<script>n</script>", "category": "单位",
                "facts": {"钱": "10", "指标": 0, "死亡": 1}}

#: the only tags the HTML may hold: tables and folding, one inline style; no script, link, image, frame
ALLOWED_TAGS = {"div", "style", "h3", "table", "caption", "tr", "th", "td", "span", "details", "summary"}


class Tags(HTMLParser):
    """Every start tag with its attributes, the text, and whether every tag was closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.balanced = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.balanced = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> Tags:
    tags = Tags()
    tags.feed(markup)
    tags.close()
    assert tags.balanced and not tags.stack, "every tag closed, in order"
    return tags


def assert_safe(markup: str) -> Tags:
    tags = parsed(markup)
    assert {tag for tag, _ in tags.tags} <= ALLOWED_TAGS
    for tag, attrs in tags.tags:
        for name, value in attrs:
            assert name in ("class", "style", "open"), (tag, name, value)
            assert "url(" not in (value or "") and "expression" not in (value or "")
    style = markup[markup.index("<style>"):markup.index("</style>")]
    assert "url(" not in style and "@import" not in style and "http" not in style
    return tags


def test_a_hostile_policy_shows_its_labels_as_text() -> None:
    markup = HOSTILE._repr_html_()
    tags = assert_safe(markup)
    text = "".join(tags.text)
    for shown in ("<script>alert('p')</script>", "<b>doc</b>", "<img src=x onerror=alert(1)>", "<script>甲</script>",
                  "&amp; 乙\"'", "<script>好</script>", "<a href='http://evil.example/'>", "<script>veto</script>",
                  "<script>vc</script>"):
        assert shown in text  # shown as the author wrote it, as text
    assert "<script" not in markup and "<img" not in markup and "<a " not in markup


def test_a_hostile_result_shows_its_labels_and_values_as_text() -> None:
    result = HOSTILE.evaluate(HOSTILE_UNIT)
    markup = result._repr_html_()
    tags = assert_safe(markup)
    text = "".join(tags.text)
    for shown in ("<script>n</script>", "<script>u</script>", "<script>target</script>", "<script>veto</script>",
                  "<script>fine</script>", "<script>oc</script>", "<u>t</u>"):
        assert shown in text
    assert "<script" not in markup


def cells(markup: str) -> list[list[str]]:
    """The rows of every table, as the text of their cells."""

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append("".join(self.cell).strip())
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    parser = Rows()
    parser.feed(markup)
    return parser.rows


def karamay_result(unit_id: str) -> kaohe_rules.Result:
    doc = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                     parse_float=Decimal)
    unit = next(u for u in doc["units"] if u["id"] == unit_id)
    return KARAMAY.evaluate(unit)


def test_the_karamay_policy_shows_budgets_sections_bands_and_vetoes() -> None:
    rows = cells(KARAMAY._repr_html_())
    assert ["区政府", "区人民政府", "1000", "1000", "四(二)"] in rows
    assert ["企业", "企业", "600", "600", "四(二)"] in rows
    assert ["按考核细则考核的管理目标（二(一)1–7）", "400", "四(二)2"] in rows  # a nested section
    assert ["等次 rating", "区人民政府", "市政府各委、办、局", "企业"] in rows  # ratings down, categories across
    assert ["安全生产优秀单位", "[900, 1000] 〔四(三)1〕", "[550, 600] 〔四(三)1〕", "[550, 600] 〔四(三)1〕"] in rows
    assert ["安全生产不合格单位", "[0, 800) 〔四(三)4〕", "[0, 450) 〔四(三)4〕", "[0, 450) 〔四(三)4〕"] in rows
    assert ["发生较大以上生产安全事故", "*", "一票否决 → 安全生产不合格单位", "四(二)4(1)"] in rows


def test_a_karamay_result_shows_score_rating_sections_money_and_a_cited_explanation() -> None:
    result = karamay_result("dushanzi")
    markup = result._repr_html_()
    assert_safe(markup)
    rows = cells(markup)
    summary = rows[1]
    assert summary[0] == "dushanzi" and summary[2] == f"{result.score.normalize():f} / {result.total.normalize():f}"
    assert summary[3] == result.rating_label
    explanation = rows[rows.index(["说明 explanation", "依据 cite"]) + 1:]
    lines = [line for line in result.explain().splitlines() if line.strip() and set(line.strip()) != {"="}]
    assert len(explanation) == len(lines)  # one row per line of the explanation, none lost
    cited = [row for row in explanation if row[1] != "—"]
    assert len(cited) > 10 and all("〔" not in row[1] for row in cited)
    assert any(row[1] == "四(二)1" for row in cited)  # a clause citation in its own column
    for (text, citation), line in zip(explanation, lines, strict=True):  # nothing cut: text + citation is the line
        assert line.strip().replace(" ", "") == (text + (f"〔{citation}〕" if citation != "—" else "")).replace(" ", "")
    money = [row for row in rows if row and row[0].startswith("奖励 reward")]
    assert money and all(row[-1] == "六(三)" for row in money)


def test_a_citation_not_at_the_end_of_its_line_stays_in_the_text() -> None:
    rows = explanation_rows("标题\n==========\n  项目  5/10 〔第一条〕\n  加分 +1 〔第二条〕（上限 3）\n\n")
    assert [(row.text.split(">", 1)[1].removesuffix("</span>"), cite) for row, cite in rows] == [
        ("标题", None), ("项目  5/10", "第一条"), ("加分 +1 〔第二条〕（上限 3）", None)]


SAMPLES = sorted((ROOT / "policies").glob("*/units*.json"))


@pytest.mark.parametrize("units_file", SAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in SAMPLES])
def test_every_bundled_policy_and_sample_result_renders_safely(units_file: Path) -> None:
    """Periods, cohorts, ledgers, bonus points, rating effects: each bundled policy and every sample result."""
    name = "karamay-2013-ledger" if "ledger" in units_file.name else units_file.parent.name
    policy = kaohe_rules.load(ROOT / "policies" / f"{name}.kh")
    document = json.loads(units_file.read_text(encoding="utf-8"), parse_float=Decimal)
    ledgers = document.get("ledgers")
    items = list(policy.evaluate_many(document["units"], ledgers=ledgers) if ledgers else
                 policy.evaluate_many(document["units"]))
    assert_safe(policy._repr_html_())
    results = [item.result for item in items if item.result is not None]
    assert results
    for result in results:
        rows = cells(result._repr_html_())
        assert rows[1][0] == result.unit_id
        lines = [line for line in result.explain().splitlines() if line.strip() and set(line.strip()) != {"="}]
        assert len(rows[rows.index(["说明 explanation", "依据 cite"]) + 1:]) == len(lines)
