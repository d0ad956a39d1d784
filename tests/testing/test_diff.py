"""``kaohe diff``: structural and behavioural differences between two policies (Karamay 2013 → 2014)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
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


#: Runs the generation in a fresh interpreter and prints what it found.  Hypothesis draws some values
#: from the constants of every local module loaded in its process, so in the test process what it
#: generates depends on which other tests (and modules) ran before: adding unrelated modules (the
#: language server, issue #14) made the full suite miss the exception below while this file alone
#: found it.  A fresh process loads only what ``diff_policies`` needs, the same on every run.
GENERATE = """
import json, sys
import kaohe_rules
from kaohe_rules.testing.diff import diff_policies
old, new = (kaohe_rules.load(sys.argv[1] + name) for name in ("/karamay-2013.kh", "/karamay-2014.kh"))
[generated] = diff_policies(old, new, examples=60).behaviour
print(json.dumps({"compared": generated.compared, "band_changed": generated.band_changed,
                  "kinds": sorted({t.kind for t in generated.transitions})}, ensure_ascii=False))
"""


def test_generated_units_find_every_kind_of_change() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", GENERATE, str(POLICIES)], capture_output=True, text=True,
                          env=env, cwd=str(ROOT), timeout=600, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    generated = json.loads(done.stdout)
    kinds = set(generated["kinds"])
    assert generated["compared"] == 180
    assert "band 优秀 → 良好" in kinds  # steered to the moved 优秀 edge
    assert any("突破指标 no longer fires" in k for k in kinds)  # the new exception
    assert generated["band_changed"] >= 1


def test_kaohe_diff_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_path, new_path = str(POLICIES / "karamay-2013.kh"), str(POLICIES / "karamay-2014.kh")
    units = str(POLICIES / "karamay-2013" / "units.json")
    assert main(["diff", old_path, new_path, "--examples", "0", "--units", units]) == 0
    out = capsys.readouterr().out
    assert "param 专项资金下限: 100万元 → 120万元 〔二(一)1〕" in out and "Behavioural changes — real units" in out
    target = tmp_path / "diff.md"
    assert main(["diff", old_path, new_path, "--examples", "0", "--units", units, "--format", "markdown",
                 "--no-directed", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# 2013 → 2014") and "## Structural changes" in text and "```diff" in text
    assert main(["diff", old_path, new_path, "--examples", "0", "--format", "json", "--no-directed"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["old"]["name"] == "克拉玛依2013" and any(c["name"] == "专项资金下限" for c in doc["structural"])
    assert main(["diff", old_path, str(tmp_path / "nope.kh")]) == 1
    assert main(["diff", old_path, new_path, "--examples", "-1"]) == 2


# ------------------------------------------------------------------ directed search (issue #18)
def _issue_example(tmp_path: Path) -> tuple[Path, Path]:
    """The issue's example: a copy of Karamay 2013 with the 区政府 优秀 edge moved from 900 to 901."""
    text = (POLICIES / "karamay-2013.kh").read_text(encoding="utf-8")
    moved = text.replace('优秀 [900, 1000] cite "四(三)1"', '优秀 [901, 1000] cite "四(三)1"', 1)
    moved = moved.replace('良好 [850, 900) cite "四(三)2"', '良好 [850, 901) cite "四(三)2"', 1)
    assert moved.count("[901, 1000]") == 1 and moved.count("[850, 901)") == 1
    old_path, new_path = tmp_path / "old.kh", tmp_path / "new.kh"
    old_path.write_text(text, encoding="utf-8")
    new_path.write_text(moved, encoding="utf-8")
    return old_path, new_path


def test_a_moved_band_edge_is_reported_exactly_with_units_on_both_sides(tmp_path: Path) -> None:
    old_path, new_path = _issue_example(tmp_path)
    report = diff_policies(kaohe_rules.load(old_path), kaohe_rules.load(new_path), examples=0)
    [finding] = report.directed
    [piece] = finding.pieces
    assert (piece.interval(), piece.old, piece.new) == ("[900, 901)", "优秀", "良好")
    assert finding.exact[0].startswith("区政府: scores in [900, 901) change band 优秀 → 良好 — exactly these units")
    # units on and beside both edges, each evaluated for real under both policies
    by_score = {str(p.score): (a.band, b.band) for p, a, b in finding.probes}
    assert by_score["900"] == ("优秀", "良好")  # 独山子区-like: exactly 900
    assert by_score["901"] == ("优秀", "优秀")
    assert by_score["899.9"] == ("良好", "良好") and by_score["900.1"] == ("优秀", "良好")
    assert all(p.score == a.score == b.score for p, a, b in finding.probes)
    [transition] = finding.transitions
    assert transition.kind == "band 优秀 → 良好" and transition.example.old.score == 900
    assert report.verdict().startswith("units change")


def test_the_issue_example_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_path, new_path = _issue_example(tmp_path)
    units = str(POLICIES / "karamay-2013" / "units.json")
    assert main(["diff", str(old_path), str(new_path), "--examples", "3", "--units", units]) == 0
    out = capsys.readouterr().out
    assert "no unit changes" not in out
    assert "exactly: 区政府: scores in [900, 901) change band 优秀 → 良好" in out
    assert "900  on 900 (old edge): old 优秀, new 良好  ← changes" in out
    assert "smallest example: dushanzi (独山子区人民政府) as it is" in out  # the real unit, score exactly 900
    assert main(["diff", str(old_path), str(new_path), "--examples", "0", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [finding] = doc["directed"]
    assert finding["band_intervals"] == [{"category": "区政府", "interval": "[900, 901)", "old": "优秀", "new": "良好"}]
    assert {"score": "900", "old": "优秀", "new": "良好"}.items() <= {
        "score": finding["edge_units"][1]["score"], "old": finding["edge_units"][1]["old"]["band"],
        "new": finding["edge_units"][1]["new"]["band"]}.items()
    assert doc["verdict"].startswith("units change")


SMALL = """\
policy G "small" { }
category U "unit" total 100 { section S "section" 100 }
ratings { A "best" B "good" C "pass" D "fail" } vetoed D
bands U { A [90, 100] B [80, 90) C [60, 80) D [0, 60) }
record 记录 "检查记录" {
  扣分: decimal >= 0 "扣分"
}
fact 死亡人数: int >= 0 "死亡人数"
fact 隐患数: int >= 0 "隐患数"
fact 资金: money >= 0 "资金"
fact 整改率: percent? "整改率"
fact 检查记录: list of 记录 = [] "检查记录"
param 资金下限: money = 100万元 "资金下限" cite "2"
target t1 "事故" cite "1" in U.S points 30 { deduct 10 when 死亡人数 >= 3 }
target t2 "隐患" cite "1" in U.S points 20 { deduct 2 per 隐患数 cap 10 }
target t3 "资金" cite "2" in U.S points 10 { full when 资金 >= 资金下限 }
target t4 "整改" cite "3" in U.S points 10 { full when (整改率 ?? 100%) >= 90% }
target t5 "检查" cite "4" in U.S points 30 { deduct sum(检查记录 of 扣分) }
veto V "重大事故" cite "9" when 死亡人数 >= 10
"""

# Every kind of structural change: (what, old text, new text, the kind of change a directed unit must show).
STRUCTURAL_KINDS = [
    ("band edge", "A [90, 100] B [80, 90)", "A [91, 100] B [80, 91)", "band A → B"),
    ("threshold in a rule condition", "死亡人数 >= 3 }", "死亡人数 > 3 }", "score up, same band"),
    ("parameter value", "= 100万元", "= 120万元", "score down, same band"),
    ("veto condition", "when 死亡人数 >= 10", "when 死亡人数 >= 12", "veto V no longer fires"),
    ("deduction amount", "deduct 10 when", "deduct 12 when", "band A → B"),  # 90 - 2: the deduction crosses 90
    ("cap", "cap 10", "cap 14", "band A → B"),  # 6 or more 隐患: 90 under the old cap, 86 under the new
    ("default of an optional fact", "整改率 ?? 100%", "整改率 ?? 0%", "score down, same band"),
]


@pytest.mark.parametrize(("what", "before", "after", "kind"), STRUCTURAL_KINDS, ids=[k[0] for k in STRUCTURAL_KINDS])
def test_every_kind_of_structural_change_is_shown_by_a_directed_unit(tmp_path: Path, what: str, before: str,
                                                                    after: str, kind: str) -> None:
    """Directed search alone (no generated units) finds a unit that changes, for each kind of change."""
    assert SMALL.count(before) == 1
    old = _load(tmp_path, "old", SMALL)
    new = _load(tmp_path, "new", SMALL.replace(before, after))
    report = diff_policies(old, new, examples=0)
    [finding] = report.directed
    kinds = {t.kind for t in finding.transitions}
    assert kind in kinds, (what, kinds)
    example = next(t.example for t in finding.transitions if t.kind == kind)
    assert len(example.differences) <= 2  # one fact moved from a landmark (two for a veto's exception)
    assert report.verdict().startswith("units change")


def test_a_change_no_unit_can_see_is_stated_exactly_or_as_what_was_searched(tmp_path: Path) -> None:
    old = _load(tmp_path, "old", SMALL)
    relabelled = _load(tmp_path, "relabelled", SMALL.replace('"隐患" cite "1"', '"隐患排查" cite "1(2)"'))
    report = diff_policies(old, relabelled, examples=0)
    [finding] = report.directed
    assert finding.transitions == () and finding.reason is not None and "wording" in finding.reason
    assert report.verdict() == "no unit can change: every change is to wording only (labels, citations, notes)"
    # a parameter nothing reads: no exact reason is claimed, only what was searched
    unused = _load(tmp_path, "unused", SMALL + 'param 未用: int = 3 "未用"\n')
    report = diff_policies(old, unused, examples=5)
    [finding] = report.directed
    assert finding.transitions == () and finding.reason is None
    assert report.verdict() == f"no changed unit found — none found among {report.generated} generated and 0 directed units"
    assert report.generated == 5
    same = diff_policies(old, old, examples=0)
    assert same.directed == () and same.verdict().startswith("no structural change")


def _load(tmp_path: Path, name: str, text: str) -> kaohe_rules.Policy:
    path = tmp_path / f"{name}.kh"
    path.write_text(text, encoding="utf-8")
    return kaohe_rules.load(path)


def test_directed_search_on_the_2014_policy(old: kaohe_rules.Policy, new: kaohe_rules.Policy,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    report = diff_policies(old, new, examples=0)
    findings = {(f.change.kind, f.change.name): f for f in report.directed}
    bands = findings[("bands", "区政府")]
    assert [p.interval() for p in bands.pieces] == ["[900, 920)"]
    assert "(of the units whose score is the same under both)" in bands.exact[0]  # other changes move scores
    assert {t.kind for t in findings[("veto", "突破指标")].transitions} == {"veto 突破指标 no longer fires"}
    assert any("非法违法生产 now fires" in t.kind for t in findings[("veto", "非法违法生产")].transitions)
    assert [t.kind for t in findings[("param", "专项资金下限")].transitions] == ["score down, same band"]
    example = findings[("param", "专项资金下限")].transitions[0].example
    assert [name for name, _ in example.differences] == ["专项资金预算"]  # on or beside 100万/120万
    assert findings[("target", "区_专项资金")].reason is not None  # its label only
    for name in ("半年考核督查", "半年自查报告", "履职报告", "年终考核"):  # moved with the calendar
        assert "moved by the 1 year(s)" in (findings[("checkpoint", name)].reason or "")
    old_path, new_path = str(POLICIES / "karamay-2013.kh"), str(POLICIES / "karamay-2014.kh")
    assert main(["diff", old_path, new_path, "--examples", "0", "--no-directed", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "directed" not in doc and doc["verdict"].startswith("no changed unit found — none found among 0 generated")


@pytest.mark.parametrize(("before", "after", "found"), [
    ("else if 死亡人数 >= 3 then 较大", "else if 死亡人数 >= 4 then 较大", True),  # 3 deaths: no longer 较大, no veto
    ("if 死亡人数 >= 10 then 重特大", "if 死亡人数 > 10 then 重特大", False),  # 10 deaths: 较大, vetoed all the same
])
def test_a_threshold_inside_a_record_is_searched_through_the_facts_that_hold_it(
        old: kaohe_rules.Policy, tmp_path: Path, before: str, after: str, found: bool) -> None:
    text = (POLICIES / "karamay-2013.kh").read_text(encoding="utf-8")
    assert text.count(before) == 1
    report = diff_policies(old, _load(tmp_path, "mutant", text.replace(before, after)), examples=0)
    [finding] = report.directed
    assert finding.change.kind == "record" and finding.compared > 100
    if found:
        assert any("较大以上事故 no longer fires" in t.kind for t in finding.transitions)
        example = next(t.example for t in finding.transitions if "no longer fires" in t.kind)
        [(fact, records)] = example.differences
        assert any(r.get("死亡人数") == 3 for r in records)  # on the old edge
    else:
        # 重特大 and 较大 both fire the same veto and nothing else reads the grade: no result changes,
        # and the report says what it searched rather than that no unit changes
        assert finding.transitions == ()
        assert report.verdict() == f"no changed unit found — none found among 0 generated and {finding.compared} directed units"


def test_without_a_linear_number_the_landmarks_themselves_sit_on_and_beside_the_edge(tmp_path: Path) -> None:
    """Only booleans move the score (in steps of 90 and 10): no number to solve for, so the rungs of the
    ladder are used as they are — and the unit on the old edge (90) still shows the change."""
    text = """\
policy B "bools" { }
category U "unit" total 100 { section S "section" 100 }
ratings { A "best" B "good" C "pass" D "fail" } vetoed D
bands U { A [90, 100] B [80, 90) C [60, 80) D [0, 60) }
fact a: bool "a"
fact b: bool "b"
target t1 "t1" cite "1" in U.S points 90 { full when a }
target t2 "t2" cite "1" in U.S points 10 { full when b }
"""
    old = _load(tmp_path, "old", text)
    new = _load(tmp_path, "new", text.replace("A [90, 100] B [80, 90)", "A [95, 100] B [80, 95)"))
    report = diff_policies(old, new, examples=0)
    [finding] = report.directed
    assert [p.interval() for p in finding.pieces] == ["[90, 95)"]
    on_edge = [(a.band, b.band) for p, a, b in finding.probes if p.score == 90]
    assert on_edge == [("A", "B")]
    assert [t.kind for t in finding.transitions] == ["band A → B"]


def test_an_outcome_parameter_changes_money_and_is_shown(old: kaohe_rules.Policy, tmp_path: Path) -> None:
    """追加奖励比例 30% → 40%: no score, band or rating moves, the reward does; directed search shows it."""
    text = (POLICIES / "karamay-2013.kh").read_text(encoding="utf-8")
    before = "param 追加奖励比例: percent = 30%"
    assert text.count(before) == 1
    report = diff_policies(old, _load(tmp_path, "reward", text.replace(before, "param 追加奖励比例: percent = 40%")),
                           examples=0)
    [finding] = report.directed
    [transition] = finding.transitions
    assert transition.kind == "reward up, same rating"
    example = transition.example
    assert example.old.rating == example.new.rating == "优秀"
    assert example.new.consequences.total > example.old.consequences.total
    assert [name for name, _ in example.differences] == ["奖励金额"]  # the amount the percentage applies to


def test_knob_numbers_are_read_as_units_supply_them() -> None:
    from kaohe_rules.testing.directed import as_number

    assert as_number(3) == 3 and as_number(Decimal("12.5")) == Decimal("12.5")
    assert as_number("0.5%") == Decimal("0.5") and as_number(" 7 ") == 7  # a percentage written with its %
    assert as_number(True) is None and as_number("abc") is None and as_number("NaN") is None
    assert as_number([1]) is None


def test_a_percent_fact_is_a_knob_too(tmp_path: Path) -> None:
    text = """\
policy P "percent" { }
category U "unit" total 100 { section S "section" 100 }
ratings { A "best" B "good" C "pass" D "fail" } vetoed D
bands U { A [90, 100] B [80, 90) C [60, 80) D [0, 60) }
fact 完成率: percent "完成率"
target t "t" cite "1" in U.S points 100 { proportional 完成率 }
"""
    old = _load(tmp_path, "old", text)
    new = _load(tmp_path, "new", text.replace("A [90, 100] B [80, 90)", "A [90.5, 100] B [80, 90.5)"))
    [finding] = diff_policies(old, new, examples=0).directed
    scores = {p.score: (a.band, b.band) for p, a, b in finding.probes}
    assert scores == {Decimal("89.9"): ("B", "B"), Decimal("90"): ("A", "B"), Decimal("90.1"): ("A", "B"),
                      Decimal("90.4"): ("A", "B"), Decimal("90.5"): ("A", "A"), Decimal("90.6"): ("A", "A")}


def test_a_changed_ledger_is_not_called_unchanged_for_units_assessed_without_it(tmp_path: Path) -> None:
    """Review of #16: diffing docs/ledgers/policy.kh with a copy whose 行业 charge rule is gone (交警支队 then pays
    nothing: 70 → 100) ended "no changed unit found — none found among … units": the generated units supply their
    own lists and the real units were refused (no ledger), so no attribution was ever run. The verdict says
    that a ledger's rules were not exercised."""
    text = (ROOT / "docs" / "ledgers" / "policy.kh").read_text("utf-8")
    rule = '  charge 行业 "计入行业主管部门" to 部门 where 类型 in unit.主管行业 cite "第四条"\n'
    assert rule in text
    (tmp_path / "old.kh").write_text(text, "utf-8")
    (tmp_path / "new.kh").write_text(text.replace(rule, ""), "utf-8")
    old, new = kaohe_rules.load(tmp_path / "old.kh"), kaohe_rules.load(tmp_path / "new.kh")
    report = diff_policies(old, new, examples=0, directed=False)
    assert any(c.kind == "ledger" for c in report.changes)
    verdict = report.verdict()
    assert "ledger" in verdict and "事故台账" in verdict and "kaohe whatif" in verdict, verdict
