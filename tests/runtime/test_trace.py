"""The trace: every step is recorded with what it read, and the JSON trace document is stable.

* every evaluated target, rule, veto (fired or not), exception, deferral, band test and
  consequence has an event, with its citation, reads (facts and parameters) and source span;
* the document validates against docs/trace-schema.json;
* it is byte-identical across processes with different PYTHONHASHSEED values, and does not
  depend on the input's spelling (JSON numbers vs strings, 100万元 vs 1000000).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.audit.trace_json import canonical_facts, dumps, facts_digest, trace_document, unit_of

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
UNITS = ROOT / "policies" / "karamay-2013" / "units.json"
SCHEMA = json.loads((ROOT / "docs" / "trace-schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def policy() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICY)


@pytest.fixture(scope="module")
def units() -> list[dict[str, Any]]:
    from kaohe_rules.unitio import read_units

    return [row.unit for row in read_units(UNITS)]


def by_id(units: list[dict[str, Any]], unit_id: str) -> dict[str, Any]:
    return next(u for u in units if u["id"] == unit_id)


# ------------------------------------------------------------------- events
def test_every_step_has_an_event(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    for unit in units:
        result = policy.evaluate(unit)
        trace = result.trace
        plan = policy.checked.plans[result.category]
        targets = trace.of_kind("target")
        assert sorted(e.id for e in targets) == sorted(p.target.name for p in plan.targets)  # in section order
        assert len(trace.of_kind("rule")) == sum(len(p.target.rules) for p in plan.targets)
        assert [e.id for e in trace.of_kind("veto")] == [v.name for v in plan.vetoes]  # fired or not
        assert [e.id for e in trace.of_kind("deferral")] == [d.name for d in plan.defers]
        assert len(trace.of_kind("band_test")) == len(plan.bands)
        assert [e.value for e in trace.of_kind("band_test")].count(True) == 1
        assert {e.id for e in trace.of_kind("veto") if e.value} == {v.name for v in result.vetoes}
        consequence = trace.of_kind("consequence")
        assert len(consequence) == 1 and consequence[0].id == result.rating
        assert [c.id for c in consequence[0].children] == [i.name for i in result.consequences.items]
        # the tree adds up: target = points - deductions (floored at 0), score = its sections
        for target in targets:
            deductions = sum((r.value for r in target.children), Decimal(0))
            assert target.value == max(target.detail["points"] - deductions, Decimal(0))
        sections = [e for e in trace.events if e.kind == "section"]
        assert sum((s.value for s in sections), Decimal(0)) == result.score
        for event in trace.walk():
            if event.kind in ("target", "rule", "veto", "deferral", "let", "band_test"):
                assert event.span is not None and event.span.line > 0
                assert event.citation, event


def test_rules_record_facts_and_parameters_they_read(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    result = policy.evaluate(by_id(units, "karamay-district"))
    rule = result.trace.find("rule", "区_专项资金#1")
    assert rule is not None
    assert rule.text == "full when 专项资金预算 >= 专项资金下限"
    assert rule.reads == {"专项资金下限": Decimal(1000000), "专项资金预算": Decimal(1200000)}
    assert rule.citation == "二(一)1" and rule.value == 0
    # derived values and what they read; checkpoints read by a rule appear with their date
    total = result.trace.find("let", "死亡人数合计")
    assert total is not None and total.value == 2 and "本市考核事故" in total.reads
    report = next(e for e in result.trace.of_kind("rule") if "半年自查报告日期" in e.reads)
    assert str(report.reads["半年自查报告"]) == "2013-07-15"
    # money items read the facts and parameters their amount uses
    share = result.trace.find("share", "签订人")
    assert share is not None and share.reads == {"奖励金额": Decimal(150000), "签订人奖励比例": Decimal(20)}


def test_veto_exceptions_are_recorded_held_or_not() -> None:
    policy = kaohe_rules.load(
        'policy G "g" { }\ncategory U "u" total 10 { section S "s" 10 }\n'
        'ratings { A "a" B "b" } vetoed B\nbands U { A [5, 10] B [0, 5) }\n'
        "fact bad: bool\nfact ok1: bool\nfact ok2: bool\n"
        'target t "t" in U.S points 10 { deduct 1 when bad }\n'
        'veto V "v" cite "9" when bad unless ok1 because "first" unless ok2 because "second"\n')

    def veto(**facts: bool) -> Any:
        return policy.evaluate({"id": "x", "category": "U", "facts": facts}).trace.find("veto", "V")

    quiet = veto(bad=False, ok1=True, ok2=True)
    assert quiet.value is False and quiet.detail["condition"] is False
    assert [e.value for e in quiet.children] == [None, None]  # not tested: the condition did not hold
    first = veto(bad=True, ok1=True, ok2=True)
    assert first.value is False and first.detail["condition"] is True
    assert [(e.label, e.value) for e in first.children] == [("first", True), ("second", None)]
    second = veto(bad=True, ok1=False, ok2=True)
    assert [e.value for e in second.children] == [False, True]
    assert second.children[1].reads == {"ok2": True}
    fired = veto(bad=True, ok1=False, ok2=False)
    assert fired.value is True and [e.value for e in fired.children] == [False, False]


def test_deferrals_record_the_items_handed_over(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    result = policy.evaluate(by_id(units, "karamay-district"))
    deferral = result.trace.find("deferral", "异地车辆较大事故")
    assert deferral is not None and deferral.value == 1
    assert deferral.detail["to"] == "自治区有关规定"
    assert [i["等级"] for i in deferral.detail["items"]] == ["较大"]


# ----------------------------------------------------------------- document
def test_document_validates_against_the_schema(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    for unit in units:
        document = json.loads(dumps(trace_document(policy.evaluate(unit))))
        errors = validate(document, SCHEMA)
        assert errors == [], errors[:5]
        try:
            import jsonschema
        except ImportError:
            continue
        jsonschema.validate(document, SCHEMA)


def test_schema_validator_catches_a_broken_document(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    document = json.loads(dumps(trace_document(policy.evaluate(units[0]))))
    broken = copy.deepcopy(document)
    broken["result"]["score"] = 900.5  # a float: never allowed
    broken["events"][0]["kind"] = "guess"
    del broken["facts_digest"]
    errors = validate(broken, SCHEMA)
    assert any("facts_digest" in e for e in errors)
    assert any("result.score" in e for e in errors)
    assert any("events[0].kind" in e for e in errors)


def test_document_has_no_paths_times_or_floats(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    text = dumps(trace_document(policy.evaluate(units[0])))
    assert str(ROOT) not in text and "/policies/" not in text
    assert not re.search(r"\d{2}:\d{2}:\d{2}", text)  # no timestamps
    assert not re.search(r":\s*-?\d+\.\d+[,\n]", text)  # numbers are strings
    document = json.loads(text)
    assert document["policy"]["file"] == "karamay-2013.kh"
    assert document["policy"]["hash"] == "sha256:" + policy.content_hash
    assert document["facts_digest"] == facts_digest(document["facts"])
    assert text == dumps(json.loads(text))  # canonical: re-dumping changes nothing


def test_document_does_not_depend_on_input_spelling(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    unit = copy.deepcopy(by_id(units, "karamay-district"))
    respelled = copy.deepcopy(unit)
    respelled["facts"]["专项资金预算"] = "120万元"
    respelled["facts"]["从业人员培训合格率"] = "98.0%"
    respelled["facts"]["考核结果运用"] = "否"
    for record in respelled["facts"]["预扣分记录"]:
        record["扣分"] = str(Decimal(record["扣分"]).quantize(Decimal("0.00")))
    a = dumps(trace_document(policy.evaluate(unit)))
    b = dumps(trace_document(policy.evaluate(respelled)))
    assert a == b


def test_facts_round_trip_through_the_document(policy: kaohe_rules.Policy, units: list[dict[str, Any]]) -> None:
    for unit in units:
        document = trace_document(policy.evaluate(unit))
        again = policy.evaluate(unit_of(json.loads(dumps(document))))
        assert dumps(trace_document(again)) == dumps(document)
        assert canonical_facts(policy, again.category, again.facts) == document["facts"]


_DETERMINISM_SCRIPT = """
import sys
import kaohe_rules
from kaohe_rules.unitio import read_units
from kaohe_rules.audit.trace_json import dumps, trace_document
policy = kaohe_rules.load(sys.argv[1])
for row in read_units(sys.argv[2]):
    sys.stdout.write(dumps(trace_document(policy.evaluate(row.unit))))
"""


def test_documents_are_byte_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for seed in ("0", "1", "4242", "random"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        run = subprocess.run([sys.executable, "-c", _DETERMINISM_SCRIPT, str(POLICY), str(UNITS)],
                             capture_output=True, env=env, cwd=tmp_path, timeout=300, check=True)
        outputs.append(run.stdout)
    assert len(outputs[0]) > 100_000
    assert all(o == outputs[0] for o in outputs[1:])


def test_explain_json_is_the_trace_document(tmp_path: Path) -> None:
    from kaohe_rules.cli import main

    out = tmp_path / "t.json"
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["explain", str(POLICY), str(UNITS), "--id", "dushanzi", "--format", "json"]) == 0
    out.write_text(buffer.getvalue(), encoding="utf-8")
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "kaohe-trace" and document["unit"]["id"] == "dushanzi"
    assert validate(document, SCHEMA) == []


# --------------------------------------------------------- a small validator
def validate(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """The subset of JSON Schema 2020-12 that docs/trace-schema.json uses; returns error messages.

    (jsonschema is used as well when it is installed; this keeps the check in every environment.)
    """
    root = root if root is not None else schema
    errors: list[str] = []
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        errors.extend(validate(value, target, root, path))
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_is(value, t) for t in names):
            return errors + [f"{path}: {value!r} is not of type {names}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in enum")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and isinstance(value, int) and value < schema["minimum"]:
        errors.append(f"{path}: {value} < {schema['minimum']}")
    if "oneOf" in schema:
        matches = sum(1 for s in schema["oneOf"] if not validate(value, s, root, path))
        if matches != 1:
            errors.append(f"{path}: matches {matches} of oneOf")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}.{key}: required")
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                errors.extend(validate(item, props[key], root, f"{path}.{key}"))
            elif "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    errors.append(f"{path}.{key}: not allowed")
                elif isinstance(extra, dict):
                    errors.extend(validate(item, extra, root, f"{path}.{key}"))
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors.extend(validate(item, schema["items"], root, f"{path}[{index}]"))
    return errors


def _is(value: Any, name: str) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "null": value is None,
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
    }[name]
