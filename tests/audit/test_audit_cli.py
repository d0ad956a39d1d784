"""`kaohe whynot` and `kaohe whatif`, and the patch forms what-if accepts."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.audit.whatif import PatchError, apply_patch, changed_unit, parse_assignment, what_if
from kaohe_rules.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(ROOT / "policies" / "karamay-2013.kh")
UNITS = str(ROOT / "policies" / "karamay-2013" / "units.json")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ whynot
def test_whynot_for_a_band_by_name_and_alias() -> None:
    code, zh, _ = run("whynot", POLICY, UNITS, "--id", "baijiantan", "--band", "优秀")
    assert code == 0
    assert "安全生产优秀单位 [900, 1000] 〔四(三)1〕：还差 50.5 分" in zh
    assert "良好" not in zh.split("\n", 2)[2].split("→")[1]  # only the band asked for
    code, en, _ = run("whynot", POLICY, UNITS, "--id", "baijiantan", "--band", "excellent", "--lang", "en")
    assert code == 0 and "50.5 pts lacking" in en
    code, out, _ = run("whynot", POLICY, UNITS, "--id", "baijiantan", "--format", "json")
    answer = json.loads(out)
    assert [g["rating"] for g in answer["goals"]] == ["良好", "优秀"]
    assert answer["goals"][0]["lacking"] == "0.5" and answer["goals"][0]["targets"]["count"] == 1


def test_whynot_names_the_blocking_veto() -> None:
    code, out, _ = run("whynot", POLICY, UNITS, "--id", "housing", "--lang", "en")
    assert code == 0
    assert "Vetoes (rated 安全生产不合格单位 whatever the score):" in out
    assert "发生较大以上生产安全事故" in out


def test_whynot_usage_errors() -> None:
    code, _, err = run("whynot", POLICY, UNITS, "--id", "baijiantan", "--band", "superb")
    assert code == 2 and "unknown rating 'superb'" in err
    code, _, err = run("whynot", POLICY, UNITS)
    assert code == 2 and "choose one with --id" in err
    code, _, err = run("whynot", POLICY, UNITS, "--id", "nobody")
    assert code == 2 and "no unit 'nobody'" in err


# ------------------------------------------------------------------ whatif
def test_whatif_with_assignments() -> None:
    code, out, _ = run("whatif", POLICY, UNITS, "--id", "karamay-district", "--set", "专项资金预算=80万元",
                       "--set", "考核结果运用=true")
    assert code == 0
    assert "综合评分：870 → 860（-10）" in out
    assert "读取 专项资金预算: 1200000 → 800000" in out
    assert "读取 考核结果运用: false → true" in out


def test_whatif_with_patch_files(tmp_path: Path) -> None:
    merge = tmp_path / "merge.json"
    merge.write_text(json.dumps({"瞒报谎报": None, "考核结果运用": True}, ensure_ascii=False), encoding="utf-8")
    ops = tmp_path / "ops.json"
    ops.write_text(json.dumps([{"op": "test", "path": "/事故/0/死亡人数", "value": 1},
                               {"op": "replace", "path": "/事故/0/死亡人数", "value": 3}], ensure_ascii=False),
                   encoding="utf-8")
    code, out, _ = run("whatif", POLICY, UNITS, "--id", "dushanzi", "--patch", str(ops), "--format", "json")
    assert code == 0
    answer = json.loads(out)
    assert answer["before"]["rating"] == "优秀" and answer["after"]["rating"] == "不合格"
    assert answer["after"]["vetoed"] is True
    changed = {c["path"][-1] for c in answer["changes"]}
    assert {"veto:较大以上事故", "rating:rating"} <= changed
    code, out, _ = run("whatif", POLICY, UNITS, "--id", "karamay-district", "--patch", str(merge), "--lang", "en")
    assert code == 0 and "Score: 870 → 875（+5）" in out


def test_whatif_errors(tmp_path: Path) -> None:
    code, _, err = run("whatif", POLICY, UNITS, "--id", "dushanzi")
    assert code == 2 and "nothing to change" in err
    code, _, err = run("whatif", POLICY, UNITS, "--id", "dushanzi", "--set", "no-equals-sign")
    assert code == 2 and "NAME=VALUE" in err
    code, _, err = run("whatif", POLICY, UNITS, "--id", "dushanzi", "--set", "专项资金预算=lots")
    assert code == 3 and "专项资金预算" in err
    bad = tmp_path / "bad.json"
    bad.write_text('[{"op": "test", "path": "/事故/0/死亡人数", "value": 7}]', encoding="utf-8")
    code, _, err = run("whatif", POLICY, UNITS, "--id", "dushanzi", "--patch", str(bad))
    assert code == 2 and "test failed" in err


def test_parse_assignment_reads_json_or_text() -> None:
    assert parse_assignment("a=3") == ("a", 3)
    assert parse_assignment("a=2.5") == ("a", Decimal("2.5"))
    assert parse_assignment("a=true") == ("a", True)
    assert parse_assignment("a=80万元") == ("a", "80万元")
    assert parse_assignment("a=2013-07-01") == ("a", "2013-07-01")
    assert parse_assignment('a=[{"x": 1}]') == ("a", [{"x": 1}])
    assert parse_assignment("a=") == ("a", None)
    with pytest.raises(PatchError):
        parse_assignment("=3")


def test_patches_follow_the_rfcs() -> None:
    facts = {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}
    assert apply_patch(facts, {"a": None, "b": {"c": None, "e": 4}}) == {"b": {"d": 3, "e": 4}, "l": [1, 2]}
    assert facts == {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}  # not modified
    ops = [{"op": "add", "path": "/l/1", "value": 9}, {"op": "add", "path": "/l/-", "value": 7},
           {"op": "remove", "path": "/a"}, {"op": "replace", "path": "/b/c", "value": 5},
           {"op": "add", "path": "/facts/z", "value": "x"}]
    assert apply_patch(facts, ops) == {"b": {"c": 5, "d": 3}, "l": [1, 9, 2, 7], "z": "x"}
    for bad in ([{"op": "move", "path": "/a", "from": "/b"}], [{"op": "remove", "path": "/nope"}],
                [{"op": "replace", "path": "/l/5", "value": 1}], [{"path": "/a"}], [{"op": "add", "path": "a", "value": 1}]):
        with pytest.raises(PatchError):
            apply_patch(facts, bad)


def test_whatif_without_effect_changes_nothing_and_unit_is_untouched() -> None:
    from kaohe_rules.unitio import read_units

    policy = kaohe_rules.load(POLICY)
    unit = next(r.unit for r in read_units(UNITS) if r.unit["id"] == "dushanzi")
    same = what_if(policy, unit, [("专项资金预算", unit["facts"]["专项资金预算"])])
    assert same.changes == () and same.before.score == same.after.score
    flat = {"id": "x", "category": "区政府", "a": 1}
    assert changed_unit(flat, [("a", 2)]) == {"id": "x", "category": "区政府", "facts": {"a": 2}}
    assert flat == {"id": "x", "category": "区政府", "a": 1}
