"""Periods (issue #11 P) in what people read: the explanation's per-period table, the trace document,
whynot's per-period advice and the report's columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.audit.report import batch_report, unit_report
from kaohe_rules.audit.trace_json import SCHEMA, trace_document
from kaohe_rules.audit.whynot import render, why_not

ROOT = Path(__file__).resolve().parents[2]
QUARTERLY = ROOT / "tests" / "data" / "periods" / "quarterly.kh"
A = {"id": "A", "name": "甲厂", "category": "单位",
     "facts": {"季度扣分": {"一季度": 3, "二季度": 0, "三季度": "1.5", "四季度": 0}, "质量达标": {"一季度": True, "二季度": False}}}


@pytest.fixture(scope="module")
def policy() -> Any:
    return kaohe_rules.load(QUARTERLY)


def test_the_explanation_has_a_per_period_table_before_the_band_line(policy: Any) -> None:
    text = policy.evaluate(A).explain()
    lines = text.splitlines()
    head = lines.index("分期考核：")
    assert lines[head + 1].split() == ["期别", "权重", "得分", "等次", "折算得分"]
    assert lines[head + 2].split() == ["第一季度", "25%", "97", "优秀", "24.25"]
    assert lines[head + 3].split() == ["第二季度", "25%", "60", "满意", "15"]
    assert lines[head + 6].split() == ["合计", "100%", "87.625"]
    assert head < next(i for i, line in enumerate(lines) if line.startswith("按分数应评"))
    english = policy.evaluate(A).explain(lang="en")
    assert "Periods:" in english and ["Period", "Weight", "Score", "Rating", "Weighted"] in [
        line.split() for line in english.splitlines()]


def test_the_trace_has_one_event_per_period_and_the_document_validates(policy: Any) -> None:
    import json

    jsonschema = pytest.importorskip("jsonschema")
    result = policy.evaluate(A, trace=True)
    schema = json.loads((ROOT / "docs" / "trace-schema.json").read_text(encoding="utf-8"))
    document = trace_document(result)
    jsonschema.validate(document, schema)
    jsonschema.validate(document, SCHEMA)
    assert document["facts"]["季度扣分"] == {"一季度": "3", "二季度": "0", "三季度": "1.5", "四季度": "0"}
    assert [p["rating"] for p in document["result"]["periods"]] == ["优秀", "满意", "优秀", "优秀"]
    periods = [e for e in result.trace.events if e.kind == "period"]
    assert [(e.id, e.value, e.detail["rating"]) for e in periods] == [
        ("一季度", 97, "优秀"), ("二季度", 60, "满意"), ("三季度", 98.5, "优秀"), ("四季度", 95, "优秀")]
    assert [c.id for c in periods[3].children if c.kind == "let"] == ["末季"]
    assert periods[3].children[-2].kind == "target"


def test_whynot_says_how_much_one_period_alone_would_have_to_rise(policy: Any) -> None:
    result = policy.evaluate(A)
    answer = why_not(result)
    goal = answer.goals[0]
    assert goal.rating == "优秀" and goal.lacking == 2.375
    # 2.375 / 25% = 9.5 points in one quarter; only 二季度 has that much left (it lost 40)
    assert [(p.name, p.rise, p.reachable) for p in goal.periods] == [
        ("一季度", 9.5, False), ("二季度", 9.5, True), ("三季度", 9.5, False), ("四季度", 9.5, False)]
    text = render(answer, result)
    assert "第二季度（权重25%）提高9.5分即可（该期还能提高40分）" in text
    assert "raising 第二季度 (weight 25%) by 9.5 pts is enough" in render(answer, result, "en")
    assert answer.to_dict()["goals"][0]["periods"][1]["rise"] == "9.5"  # type: ignore[index]


def test_reports_show_each_periods_score_and_rating(policy: Any) -> None:
    result = policy.evaluate(A)
    report = batch_report(policy, [result], [])
    assert "第一季度得分" in report and "第四季度等次" in report
    assert "| 97 | 优秀 | 60 | 满意 |" in report
    assert "期别" in unit_report(result)
