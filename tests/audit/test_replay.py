"""Replay confirms an honest trace and catches each kind of tampering, saying exactly where."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.audit.replay import TraceFormatError, render, replay
from kaohe_rules.audit.trace_json import dumps, facts_digest, trace_document
from kaohe_rules.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
UNITS = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="module")
def policy() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICY)


@pytest.fixture(scope="module")
def stored(policy: kaohe_rules.Policy) -> dict[str, Any]:
    from kaohe_rules.unitio import read_units

    unit = next(r.unit for r in read_units(UNITS) if r.unit["id"] == "karamay-district")
    return json.loads(dumps(trace_document(policy.evaluate(unit))))


def _rule(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    stack = list(document["events"])
    while stack:
        event = stack.pop()
        if event["kind"] == "rule" and event["id"] == rule_id:
            return event
        stack.extend(event.get("children", []))
    raise KeyError(rule_id)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_an_honest_trace_is_confirmed(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    report = replay(policy, stored)
    assert report.ok and report.policy_ok and report.facts_ok
    assert not report.result_changes and not report.event_changes and not report.roots
    assert "结论：记录得到确认。" in render(report, stored)


def test_tampered_result_is_caught(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    doc = copy.deepcopy(stored)
    doc["result"]["score"] = "900"
    doc["result"]["rating"] = "优秀"
    report = replay(policy, doc)
    assert not report.ok and report.facts_ok and report.policy_ok
    assert {(c.field, c.before, c.after) for c in report.result_changes} == {
        ("result.score", "900", "870"), ("result.rating", "优秀", "良好")}
    assert not report.event_changes  # the events still agree: only the summary was edited


def test_tampered_event_value_is_caught_at_the_rule(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    doc = copy.deepcopy(stored)
    _rule(doc, "区_专项资金#1")["value"] = "15"
    report = replay(policy, doc)
    assert not report.ok and not report.result_changes
    [change] = report.event_changes
    assert change.path[-1] == ("rule", "区_专项资金#1")
    assert [(f.field, f.before, f.after) for f in change.fields] == [("value", "15", "0")]
    assert change.where() == "karamay-2013.kh:" + str(change.span["line"])  # type: ignore[index]
    text = render(report, doc, "en")
    assert "value: stored 15, recomputed 0" in text and "full when 专项资金预算 >= 专项资金下限" in text


def test_tampered_reads_and_removed_events_are_caught(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    doc = copy.deepcopy(stored)
    _rule(doc, "区_专项资金#1")["reads"]["专项资金预算"] = "1500000"
    doc["events"] = [e for e in doc["events"] if not (e["kind"] == "veto" and e["id"] == "瞒报谎报")]
    report = replay(policy, doc)
    fields = {(c.path[-1], f.field) for c in report.event_changes for f in c.fields}
    assert (("rule", "区_专项资金#1"), "reads.专项资金预算") in fields
    assert any(c.status == "added" and c.path[-1] == ("veto", "瞒报谎报") for c in report.event_changes)
    assert [r.field for r in report.roots] == ["专项资金预算"]


def test_changed_fact_breaks_the_digest_and_shows_where_it_is_read(policy: kaohe_rules.Policy,
                                                                   stored: dict[str, Any]) -> None:
    doc = copy.deepcopy(stored)
    doc["facts"]["专项资金预算"] = "800000"
    report = replay(policy, doc)
    assert not report.facts_ok and report.policy_ok and not report.ok
    assert [(r.field, r.before, r.after) for r in report.roots] == [("专项资金预算", "1200000", "800000")]
    assert ("result.score", "870", "855") in {(c.field, c.before, c.after) for c in report.result_changes}
    assert "事实数据与记录的摘要不符" in render(report, doc)


def test_changed_fact_with_a_recomputed_digest_is_still_caught(policy: kaohe_rules.Policy,
                                                               stored: dict[str, Any]) -> None:
    doc = copy.deepcopy(stored)
    doc["facts"]["考核结果运用"] = True
    doc["facts_digest"] = facts_digest(doc["facts"])
    report = replay(policy, doc)
    assert report.facts_ok and not report.ok
    assert [r.field for r in report.roots] == ["考核结果运用"]


def test_facts_that_no_longer_read_are_reported(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    doc = copy.deepcopy(stored)
    doc["facts"]["专项资金预算"] = "a lot"
    report = replay(policy, doc)
    assert not report.ok and any("专项资金预算" in p for p in report.problems)


def test_changed_policy_is_caught_by_hash_and_by_the_parameter_read(stored: dict[str, Any]) -> None:
    text = POLICY.read_text(encoding="utf-8")
    changed = text.replace("param 专项资金下限: money = 100万元", "param 专项资金下限: money = 130万元")
    assert changed != text
    report = replay(kaohe_rules.load(changed, name=str(POLICY)), stored)
    assert not report.policy_ok and report.facts_ok and not report.ok
    assert report.stored_hash != report.current_hash
    assert [(r.field, r.before, r.after) for r in report.roots] == [("专项资金下限", "1000000", "1300000")]
    assert "政策已改变" in render(report, stored)


def test_a_policy_edit_without_effect_still_fails_on_the_hash(stored: dict[str, Any]) -> None:
    text = POLICY.read_text(encoding="utf-8") + "\n# a comment added after the fact\n"
    report = replay(kaohe_rules.load(text, name=str(POLICY)), stored)
    assert not report.policy_ok and not report.ok
    assert not report.event_changes and not report.result_changes


def test_engine_version_is_noted_not_failed(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    doc = copy.deepcopy(stored)
    doc["engine"]["version"] = "0.0.9"
    report = replay(policy, doc)
    assert report.ok and report.engine_note is not None and "0.0.9" in report.engine_note


def test_not_a_trace_is_a_format_error(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    for bad in ([], {"format": "other"}, dict(stored, version=2), {k: v for k, v in stored.items() if k != "events"}):
        with pytest.raises(TraceFormatError):
            replay(policy, bad)


# ---------------------------------------------------------------------- CLI
def test_cli_exit_codes_and_unit_file_comparison(tmp_path: Path, stored: dict[str, Any]) -> None:
    good = tmp_path / "good.json"
    good.write_text(dumps(stored), encoding="utf-8")
    code, out, _ = run("replay", str(POLICY), str(good), "--units", str(UNITS))
    assert code == 0, out
    assert "✓ 全部" in out

    units = json.loads(UNITS.read_text(encoding="utf-8"))
    for unit in units["units"]:
        if unit["id"] == "karamay-district":
            unit["facts"]["专项资金预算"] = 900000
    changed_units = tmp_path / "units.json"
    changed_units.write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run("replay", str(POLICY), str(good), "--units", str(changed_units), "--lang", "en")
    assert code == 1
    assert "unit file: facts.专项资金预算: stored 1200000, recomputed 900000" in out

    tampered = copy.deepcopy(stored)
    tampered["result"]["vetoed"] = True
    bad = tmp_path / "bad.json"
    bad.write_text(dumps(tampered), encoding="utf-8")
    code, out, _ = run("replay", str(POLICY), str(bad), "--format", "json")
    assert code == 1
    assert json.loads(out)["result_changes"] == [{"field": "result.vetoed", "before": True, "after": False}]

    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    code, _, err = run("replay", str(POLICY), str(junk))
    assert code == 2 and "invalid JSON" in err and "Traceback" not in err
    code, _, err = run("replay", str(POLICY), str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read trace" in err
