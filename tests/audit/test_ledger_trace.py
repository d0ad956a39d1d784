"""Ledgers (issue #16) in the trace document and its replay, and in the explanation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ledger_fixture as lf
import pytest

from kaohe_rules.audit.replay import replay
from kaohe_rules.audit.trace_json import SCHEMA, trace_document

ROOT = Path(__file__).resolve().parents[2]
LEDGER = lf.LEDGER


@pytest.fixture(scope="module")
def policy() -> Any:
    return lf.load_ledger_policy()


@pytest.fixture(scope="module")
def results(policy: Any) -> dict[str, Any]:
    return {i.unit_id: i.result for i in policy.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}, trace=True)}


def test_the_trace_document_of_a_ledger_result_validates_and_names_the_charged_events(results: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = trace_document(results["TT"])
    jsonschema.validate(document, json.loads((ROOT / "docs" / "trace-schema.json").read_text(encoding="utf-8")))
    jsonschema.validate(document, SCHEMA)
    assert [c["key"] for c in document["result"]["charged"]] == ["A-2", "A-5"]
    assert document["result"]["charged"][0]["row"] == 2
    assert [e["kind"] for e in document["events"][:3]] == ["charge", "charge", "deferral"]
    assert len(document["facts"]["事故"]) == 2  # the charged events are the unit's list, as recorded


def test_a_ledger_result_replays_clean_with_its_recorded_attribution(policy: Any, results: Any) -> None:
    document = json.loads(json.dumps(trace_document(results["TT"]), ensure_ascii=False))
    report = replay(policy, document)
    assert report.ok, report.to_dict()
    document["result"]["charged"][0]["rules"][0]["name"] = "属地"  # a recorded rule that the trace events contradict
    assert not replay(policy, document).ok


def test_documents_of_policies_without_ledgers_keep_their_shape() -> None:
    import kaohe_rules

    plain = kaohe_rules.load(lf.POLICY_TEXT, cache=False)
    document = trace_document(plain.evaluate({"id": "TS", "category": "区县", "facts": {"辖区": "天山区"}}, trace=True))
    assert "charged" not in document["result"] and all(e["kind"] != "charge" for e in document["events"])


def test_the_explanation_lists_the_charged_events_with_their_rules(results: Any) -> None:
    text = results["TT"].explain()
    lines = text.splitlines()
    head = lines.index("计入本单位的台账事件：")
    assert lines[head + 1:head + 3] == [
        "  2013-05-03 道路交通事故 1人死亡：开发区辖区道路交通事故计入对口区（第三条第二款）",
        "  2013-05-03 工矿商贸事故 3人死亡：计入事故发生地的区(县)人民政府（第三条）"]
    assert "证据（事故台账第5条，编号 A-5）" in text  # the veto's evidence names its ledger row
    english = results["TT"].explain(lang="en")
    assert "Ledger events charged to this unit:" in english
    assert "  2013-05-03 道路交通事故 1人死亡: 开发区辖区道路交通事故计入对口区 (第三条第二款)" in english
    assert results["SY"].explain().splitlines()[results["SY"].explain().splitlines().index("计入本单位的台账事件：") + 1] \
        == "  （无）"


def test_two_rules_are_joined_in_one_line(policy: Any) -> None:
    import attrs

    spec = lf.ledger_spec()
    twice = attrs.evolve(spec.rules[4], name="行业二", label="再计入", cite="附则")
    policy2 = lf.load_ledger_policy(lf.POLICY_TEXT, attrs.evolve(spec, rules=(*spec.rules, twice)))
    [jt] = [i.result for i in policy2.evaluate_many(lf.units(), ledgers={LEDGER: lf.ledger()}) if i.unit_id == "JT"]
    assert "  2013-05-03 道路交通事故 2人死亡：计入行业主管部门（四(二)1）；再计入（附则）" in jt.explain().splitlines()


def test_a_deferral_of_ledger_items_names_the_ledger_row(policy: Any) -> None:
    events = [lf.accident("F-1", "火灾", "天山区", 1, 隶属="自治区")]
    [ts] = [i.result for i in policy.evaluate_many(lf.units(), ledgers={LEDGER: events}) if i.unit_id == "TS"]
    [deferral] = [e for e in ts.trace.events if e.kind == "deferral"]
    assert deferral.detail["ledger_events"] == ["事故台账第1条，编号 F-1"]
    assert "      事故台账第1条，编号 F-1：{" in ts.explain()


def test_a_unit_with_its_own_list_says_so(policy: Any) -> None:
    own = {"id": "TT", "category": "区县", "facts": {"辖区": "头屯河区", "事故": [lf.ledger()[1]]}}
    text = policy.evaluate(own).explain()
    assert "计入本单位的台账事件：\n  事故：本单位自报清单（未使用台账）" in text
    assert "事故: the unit's own list (no ledger used)" in policy.evaluate(own).explain(lang="en")
