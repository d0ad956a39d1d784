"""``kaohe diff``: structural and behavioural differences between two policies (Karamay 2013 → 2014)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.cli import main
from kaohe_rules.testing.casefile import load_casefile
from kaohe_rules.testing.diff import Pair, compare_units, diff_policies, kind_of, structural_changes
from kaohe_rules.testing.landmarks import landmarks

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


@pytest.fixture(scope="module")
def old() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICIES / "karamay-2013.kh")


@pytest.fixture(scope="module")
def new() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICIES / "karamay-2014.kh")


@pytest.fixture(scope="module")
def district() -> dict:
    """The full-marks district of the 2014 test file (2014 dates)."""
    casefile = load_casefile(POLICIES / "karamay-2014.tests.toml")
    return next(c.unit for c in casefile.cases if c.name.startswith("区政府满分"))


def test_structural_changes_name_each_invented_change_with_its_citation(old: kaohe_rules.Policy,
                                                                        new: kaohe_rules.Policy) -> None:
    changes = {(c.kind, c.name): c for c in structural_changes(old, new)}
    fund = changes[("param", "专项资金下限")]
    assert fund.summary == "param 专项资金下限: 100万元 → 120万元" and fund.citation == "二(一)1"
    bands = changes[("bands", "区政府")]
    assert "优秀 [900, 1000] → [920, 1000]" in bands.summary and bands.citation == "四(三)"
    veto = changes[("veto", "突破指标")]
    assert veto.change == "changed" and "exception added" in veto.summary
    assert any(line.startswith("+ ") and "unless 指标调整获批" in line for line in veto.lines())
    assert changes[("veto", "非法违法生产")].change == "added" and changes[("veto", "非法违法生产")].citation == "四(二)4(5)"
    assert changes[("fact", "指标调整获批")].change == "added"
    assert changes[("checkpoint", "履职报告")].change == "changed"
    # what did not change is not reported: no other target, no other veto, no other band
    assert {k for k in changes if k[0] == "veto"} == {("veto", "突破指标"), ("veto", "非法违法生产")}
    assert {k for k in changes if k[0] == "bands"} == {("bands", "区政府")}
    assert {k for k in changes if k[0] == "target"} == {("target", "区_专项资金")}


def test_a_policy_does_not_differ_from_itself(old: kaohe_rules.Policy) -> None:
    report = diff_policies(old, old, units=landmarks(old, "企业"), examples=0)
    assert report.changes == ()
    [behaviour] = report.behaviour
    assert behaviour.compared == 3 and behaviour.transitions == () and behaviour.band_changed == 0


def test_units_change_band_where_the_threshold_moved(old: kaohe_rules.Policy, new: kaohe_rules.Policy,
                                                     district: dict) -> None:
    def with_deduction(points: int) -> dict:
        record = {"日期": "2014-05-10", "类型": "日常检查", "扣分": points, "事由": "检查"}
        return {**district, "facts": {**district["facts"], "预扣分记录": [record]}}

    units = [with_deduction(p) for p in (0, 79, 80, 90, 99, 100)]  # 日常检查 is worth 100: scores 1000 … 900
    behaviour = compare_units(old, new, units, "test", references=[district], home="new")
    assert behaviour.compared == 6 and behaviour.band_changed == 3  # 910, 901, 900: 优秀 in 2013, 良好 in 2014
    [transition] = behaviour.transitions
    assert transition.kind == "band 优秀 → 良好" and transition.count == 3
    example = transition.example
    assert example.reference == district["id"] and [name for name, _ in example.differences] == ["预扣分记录"]
    assert example.old.band == "优秀" and example.new.band == "良好"


def test_smallest_example_keeps_only_the_facts_that_matter(old: kaohe_rules.Policy, new: kaohe_rules.Policy,
                                                           district: dict) -> None:
    noisy = {**district, "facts": {**district["facts"], "专项资金预算": "110万元", "落实一岗双责": False,
                                   "应急演练": False, "新增消火栓数": 40}}
    behaviour = compare_units(old, new, [noisy], "test", references=[district], home="new")
    [transition] = behaviour.transitions
    assert transition.kind == "score down, same band"
    assert [name for name, _ in transition.example.differences] == ["专项资金预算"]
    assert transition.example.old.score - transition.example.new.score == 15


def test_kinds_of_change_name_the_veto_that_makes_them(old: kaohe_rules.Policy, new: kaohe_rules.Policy) -> None:
    best = landmarks(new, "企业")[0]
    illegal = {**best, "facts": {**best["facts"], "非法违法拒不整改": True}}
    results = Pair(old, new, "new").evaluate(illegal)
    assert results is not None
    assert kind_of(*results) == "rating 优秀 → 不合格 (veto 非法违法生产 now fires)"


def test_dates_move_with_the_year(old: kaohe_rules.Policy, new: kaohe_rules.Policy, district: dict) -> None:
    late_2014 = {**district, "facts": {**district["facts"], "履职报告日期": "2014-11-26"}}
    pair = Pair(old, new)
    assert pair.home(late_2014) == "new"
    before, after = pair.evaluate(late_2014)  # type: ignore[misc]
    assert before.score == after.score == 997  # late in both years, not "on time in 2013"


def test_generated_units_find_every_kind_of_change(old: kaohe_rules.Policy, new: kaohe_rules.Policy) -> None:
    report = diff_policies(old, new, examples=60)
    [generated] = report.behaviour
    kinds = {t.kind for t in generated.transitions}
    assert generated.compared == 180
    assert "band 优秀 → 良好" in kinds  # steered to the moved 优秀 edge
    assert any("突破指标 no longer fires" in k for k in kinds)  # the new exception
    assert generated.band_changed >= 1


def test_kaohe_diff_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_path, new_path = str(POLICIES / "karamay-2013.kh"), str(POLICIES / "karamay-2014.kh")
    units = str(POLICIES / "karamay-2013" / "units.json")
    assert main(["diff", old_path, new_path, "--examples", "0", "--units", units]) == 0
    out = capsys.readouterr().out
    assert "param 专项资金下限: 100万元 → 120万元 〔二(一)1〕" in out and "Behavioural changes — real units" in out
    target = tmp_path / "diff.md"
    assert main(["diff", old_path, new_path, "--examples", "0", "--units", units, "--format", "markdown",
                 "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# 2013 → 2014") and "## Structural changes" in text and "```diff" in text
    assert main(["diff", old_path, new_path, "--examples", "0", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["old"]["name"] == "克拉玛依2013" and any(c["name"] == "专项资金下限" for c in doc["structural"])
    assert main(["diff", old_path, str(tmp_path / "nope.kh")]) == 1
    assert main(["diff", old_path, new_path, "--examples", "-1"]) == 2
