"""``kaohe serve`` against a real server process: every endpoint, bad inputs, limits, the token, the logs.

One server (a module fixture) serves copies of three bundled policies — the Karamay scheme, its
ledger form (``extends``) and a cohort scheme (weimin-2008) — with a bearer token and small limits.
Answers are compared with the library's own, computed in this process: the service must say what
``kaohe_rules`` says, never more, never less.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_runner import POLICIES, TOKEN, Server, karamay_units, policy_dir, running

import kaohe_rules
from kaohe_rules.serve import schemas

FILES = ("karamay-2013.kh", "karamay-2013-ledger.kh", "weimin-2008.kh")
MAX_BATCH = 40
MAX_BODY = 256 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve")
    source = policy_dir(tmp / "policies", FILES)
    with running([source], "--max-batch", str(MAX_BATCH), "--max-body", "256KB", "--reload-interval", "0",
                 token=TOKEN, tmp=tmp) as running_server:
        yield running_server


@pytest.fixture(scope="module")
def karamay() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICIES / "karamay-2013.kh")


def unit() -> dict[str, Any]:
    return copy.deepcopy(karamay_units()[0])


def conforms(name: str, value: object) -> None:
    """A real answer matches the schema the OpenAPI document gives for it."""
    assert schemas.problems(name, value) == [], (name, schemas.problems(name, value))


# ------------------------------------------------------------------ health, token
def test_healthz_is_open_and_everything_else_needs_the_token(server: Server) -> None:
    assert server.call("GET", "/healthz", token=False).json() == {"status": "ok"}
    for method, path in (("GET", "/readyz"), ("GET", "/policies"), ("GET", "/openapi.json"),
                         ("POST", "/policies/karamay-2013/evaluate"), ("POST", "/check")):
        answer = server.call(method, path, {} if method == "POST" else None, token=False)
        assert answer.status == 401, (path, answer)
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["error"]["code"] == "unauthorized"
        conforms("Error", answer.json())
    wrong = server.call("GET", "/readyz", token=TOKEN[:-1] + "x")
    assert wrong.status == 401
    assert server.call("GET", "/readyz", headers={"Authorization": f"Basic {TOKEN}"}, token=False).status == 401


def test_readyz_lists_every_policy_and_no_problem(server: Server) -> None:
    answer = server.call("GET", "/readyz")
    assert answer.status == 200
    body = answer.json()
    conforms("Ready", body)
    assert body["status"] == "ready" and body["problems"] == []
    assert sorted(p["file"] for p in body["policies"]) == sorted(FILES)
    assert answer.headers["x-request-id"]


# ------------------------------------------------------------------ describing policies
def test_policies_describe_what_a_form_needs(server: Server, karamay: kaohe_rules.Policy) -> None:
    body = server.call("GET", "/policies").json()
    conforms("Policies", body)
    by_file = {p["file"]: p for p in body["policies"]}
    described = by_file["karamay-2013.kh"]
    assert described["name"] == karamay.name == "克拉玛依2013"
    assert described["hash"] == "sha256:" + karamay.content_hash
    assert described["aliases"] == ["karamay-2013"]
    assert described["document"] == "克安发〔2013〕7号"
    assert [c["name"] for c in described["categories"]] == list(karamay.categories)
    district = described["categories"][0]
    assert district["total"] == "1000"
    assert [s["name"] for s in district["sections"]] == ["管理目标", "控制指标"]
    assert [s["points"] for s in district["sections"][0]["sections"]] == ["400", "200"]
    assert [f["name"] for f in district["facts"]] == list(karamay.facts_for("区政府"))
    assert [b["rating"] for b in district["bands"]][-1] == "优秀"
    for fact in district["facts"]:
        declared = karamay.checked.facts[fact["name"]]
        assert fact["label"] == declared.label and fact["cite"] == declared.cite
        assert fact["type"]["kind"] == karamay.checked.fact_types[fact["name"]].kind
        if fact["type"]["kind"] == "money":
            assert fact["unit"] == "元"
    bounded = [f for f in district["facts"] if f["bounds"] is not None]
    assert bounded, "the Karamay policy bounds some facts"
    assert by_file["weimin-2008.kh"]["cohort"] is True
    assert by_file["karamay-2013-ledger.kh"]["ledgers"] and by_file["karamay-2013-ledger.kh"]["extends"]
    assert {r["name"] for r in described["ratings"]} >= {"优秀", "不合格"}


def test_one_policy_by_name_or_file_name_and_an_unknown_one(server: Server) -> None:
    by_alias = server.call("GET", "/policies/karamay-2013").json()
    by_name = server.call("GET", "/policies/" + urllib.parse.quote("克拉玛依2013")).json()
    assert by_alias == by_name
    conforms("Policy", by_alias)
    missing = server.call("GET", "/policies/nope")
    assert missing.status == 404
    assert missing.json()["error"]["code"] == "unknown_policy"
    assert "karamay" not in missing.json()["error"]["message"] or "克拉玛依2013" in missing.json()["error"]["message"]


# ------------------------------------------------------------------ evaluate
def test_one_unit_is_answered_as_the_library_answers_it(server: Server, karamay: kaohe_rules.Policy) -> None:
    sent = unit()
    answer = server.call("POST", "/policies/karamay-2013/evaluate", sent)
    assert answer.status == 200, answer
    body = answer.json()
    conforms("EvaluateResponse", body)
    expected = karamay.evaluate(sent).to_dict()
    result = body["result"]
    assert body["policy"] == {"name": karamay.name, "hash": "sha256:" + karamay.content_hash}
    assert result["id"] == sent["id"] and result["status"] == "ok"
    for key in ("score", "total", "rating", "band", "vetoed", "vetoes", "sections", "targets", "consequences"):
        assert result[key] == json.loads(json.dumps(expected[key], ensure_ascii=False)), key
    assert "trace" not in result


def test_a_batch_answers_every_row_in_order_and_a_bad_row_names_its_fact(server: Server,
                                                                         karamay: kaohe_rules.Policy) -> None:
    units = karamay_units()
    bad = copy.deepcopy(units[1])
    bad["id"] = "bad-one"
    fact = next(name for name, value in bad["facts"].items() if isinstance(value, bool))
    bad["facts"][fact] = "perhaps"
    rows: list[Any] = [*units[:5], bad, "not a unit", *units[5:9]]
    body = server.call("POST", "/policies/karamay-2013/evaluate", {"units": rows}).json()
    conforms("EvaluateResponse", body)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(rows)))
    assert body["summary"] == {"ok": 9, "error": 2}
    for sent, answer in zip(rows, results):
        if isinstance(sent, dict) and sent["id"] != "bad-one":
            assert answer["id"] == sent["id"] and answer["status"] == "ok"
            assert answer["score"] == str(karamay.evaluate(sent).to_dict()["score"])
    error = results[5]
    assert error["status"] == "error" and error["id"] == "bad-one"
    assert error["error"]["code"] == "fact_error"
    assert [(p["unit"], p["fact"]) for p in error["error"]["problems"]] == [("bad-one", fact)]
    assert results[6]["status"] == "error" and results[6]["error"]["problems"][0]["fact"] == "(unit)"


def test_trace_on_request_is_the_stable_trace_document(server: Server) -> None:
    import jsonschema

    for path, body in (("/policies/karamay-2013/evaluate?trace=1", unit()),
                       ("/policies/karamay-2013/evaluate", {"units": [unit()], "trace": True})):
        answer = server.call("POST", path, body).json()
        result = answer["result"] if "result" in answer else answer["results"][0]
        document = result["trace"]
        assert document["format"] == "kaohe-trace" and document["unit"]["id"] == unit()["id"]
        assert document["policy"]["hash"] == answer["policy"]["hash"]
        jsonschema.validate(document, kaohe_rules.trace_schema())
    both = server.call("POST", "/policies/karamay-2013/evaluate?trace=0", {"units": [unit()], "trace": True})
    assert both.status == 422 and both.json()["error"]["code"] == "ambiguous_option"


def test_a_bad_single_unit_is_422_with_the_librarys_problems(server: Server, karamay: kaohe_rules.Policy) -> None:
    sent = unit()
    sent["facts"]["no_such_fact_here"] = 1
    answer = server.call("POST", "/policies/karamay-2013/evaluate", sent)
    assert answer.status == 422
    error = answer.json()["error"]
    conforms("Error", answer.json())
    with pytest.raises(kaohe_rules.FactError) as raised:
        karamay.evaluate(sent)
    assert error["code"] == "fact_error"
    assert error["problems"] == [p.to_dict() for p in raised.value.problems]
    assert error["request_id"] == answer.headers["x-request-id"]


@pytest.mark.parametrize(("raw", "status", "code"), [
    (b"{not json", 400, "malformed_json"),
    (b'{"id": "a", "id": "b", "category": "x"}', 400, "malformed_json"),
    (b'{"id": "a", "category": "x", "facts": {"n": NaN}}', 400, "malformed_json"),
    (b"\xff\xfe", 400, "malformed_json"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "malformed_json"),  # nests too deeply (and under the size limit)
    (b'"a unit?"', 422, "invalid_request"),
    (b'{"units": "all of them"}', 422, "invalid_request"),
    (b'{"units": [], "surprise": 1}', 422, "invalid_request"),
    (b'{"units": [], "id": "x", "category": "y"}', 422, "ambiguous_request"),
    (b'{"id": ["a"], "category": "x"}', 422, "invalid_request"),
])
def test_bad_bodies_are_4xx_json_errors(server: Server, raw: bytes, status: int, code: str) -> None:
    answer = server.call("POST", "/policies/karamay-2013/evaluate", raw=raw)
    assert answer.status == status, answer
    assert answer.json()["error"]["code"] == code
    conforms("Error", answer.json())
    assert "Traceback" not in answer.body.decode("utf-8", "replace")


def test_limits_on_the_body_and_the_batch(server: Server) -> None:
    big = unit()
    big["facts"]["padding"] = "x" * (MAX_BODY + 1)
    answer = server.call("POST", "/policies/karamay-2013/evaluate", big)
    assert answer.status == 413 and answer.json()["error"]["code"] == "body_too_large"
    many = {"units": [dict(unit(), id=f"u{i}") for i in range(MAX_BATCH + 1)]}
    answer = server.call("POST", "/policies/karamay-2013/evaluate", many)
    assert answer.status == 413 and answer.json()["error"]["code"] == "batch_too_large"
    assert str(MAX_BATCH) in answer.json()["error"]["message"]
    exactly = {"units": many["units"][:MAX_BATCH]}
    assert server.call("POST", "/policies/karamay-2013/evaluate", exactly).json()["summary"]["ok"] == MAX_BATCH


def test_unknown_endpoint_method_and_policy_are_json(server: Server) -> None:
    for method, path, status, code in (("GET", "/nope", 404, "not_found"),
                                       ("GET", "/policies/karamay-2013/evaluate", 405, "method_not_allowed"),
                                       ("POST", "/policies/nope/evaluate", 404, "unknown_policy")):
        answer = server.call(method, path, {} if method == "POST" else None)
        assert answer.status == status, answer
        assert answer.json()["error"]["code"] == code


# ------------------------------------------------------------------ cohorts and ledgers
def test_a_cohort_unit_alone_is_refused_and_a_batch_is_ranked(server: Server) -> None:
    policy = kaohe_rules.load(POLICIES / "weimin-2008.kh")
    units = json.loads((POLICIES / "weimin-2008" / "units.json").read_text(encoding="utf-8"))["units"]
    alone = server.call("POST", "/policies/weimin-2008/evaluate", units[0])
    assert alone.status == 422 and alone.json()["error"]["code"] == "cohort_required"
    preview = server.call("POST", "/policies/weimin-2008/evaluate?provisional=1", units[0]).json()["result"]
    expected_preview = policy.evaluate(units[0], provisional=True)
    assert preview["rating"] == expected_preview.rating and preview["score"] == str(expected_preview.to_dict()["score"])
    document = json.loads(json.dumps(expected_preview.to_dict(), ensure_ascii=False))
    assert {k: v for k, v in preview.items() if k not in ("index", "id", "status", "name", "category")} == \
        {k: v for k, v in document.items() if k not in ("unit", "policy")}
    assert server.call("POST", "/policies/karamay-2013/evaluate?provisional=1", unit()).status == 422
    body = server.call("POST", "/policies/weimin-2008/evaluate", {"units": units}).json()
    expected = policy.evaluate_cohort(units)
    assert [(r["id"], r["status"], r.get("rating")) for r in body["results"]] == \
        [(i.unit_id, "ok" if i.ok else "error", i.result.rating if i.result else None) for i in expected]
    for answer, item in zip(body["results"], expected):  # every key of the library's result, rank included
        assert item.result is not None
        document = json.loads(json.dumps(item.result.to_dict(), ensure_ascii=False))
        assert {k: v for k, v in answer.items() if k not in ("index", "id", "status", "name", "category")} == \
            {k: v for k, v in document.items() if k not in ("unit", "policy")}


def test_a_ledger_policy_needs_its_ledgers_and_answers_with_them(server: Server) -> None:
    document = json.loads((POLICIES / "karamay-2013" / "units-with-ledger.json").read_text(encoding="utf-8"))
    policy = kaohe_rules.load(POLICIES / "karamay-2013-ledger.kh")
    lone = server.call("POST", "/policies/karamay-2013-ledger/evaluate", document["units"][0])
    assert lone.status == 422 and lone.json()["error"]["code"] == "ledger_required"
    body = server.call("POST", "/policies/karamay-2013-ledger/evaluate",
                       {"units": document["units"], "ledgers": document["ledgers"]}).json()
    expected = list(policy.evaluate_many(document["units"], ledgers=document["ledgers"]))
    assert [(r["id"], r.get("score")) for r in body["results"]] == \
        [(i.unit_id, str(i.result.to_dict()["score"]) if i.result else None) for i in expected]


# ------------------------------------------------------------------ explain, whynot, whatif
def test_explain_in_both_languages_and_as_the_trace_document(server: Server, karamay: kaohe_rules.Policy) -> None:
    sent = unit()
    for lang in ("zh", "en"):
        answer = server.call("POST", f"/policies/karamay-2013/explain?lang={lang}", {"unit": sent})
        assert answer.status == 200, answer
        conforms("Answer", answer.json())
        assert answer.json()["text"] == karamay.evaluate(sent).explain(lang=lang)
    short = server.call("POST", "/policies/karamay-2013/explain", {"unit": sent, "short": True, "lang": "en"}).json()
    assert short["text"] == karamay.evaluate(sent).explain(lang="en", full=False)
    document = server.call("POST", "/policies/karamay-2013/explain?format=json", {"unit": sent}).json()["document"]
    from kaohe_rules.audit.trace_json import trace_document

    assert document == json.loads(json.dumps(trace_document(karamay.evaluate(sent, trace=True)), ensure_ascii=False))
    clash = server.call("POST", "/policies/karamay-2013/explain?lang=en", {"unit": sent, "lang": "zh"})
    assert clash.status == 422 and clash.json()["error"]["code"] == "ambiguous_option"
    neither = server.call("POST", "/policies/karamay-2013/explain", {"lang": "zh"})
    assert neither.status == 422 and neither.json()["error"]["code"] == "invalid_request"


def test_explain_a_unit_within_its_batch(server: Server) -> None:
    units = json.loads((POLICIES / "weimin-2008" / "units.json").read_text(encoding="utf-8"))["units"]
    wanted = units[1]["id"]
    answer = server.call("POST", "/policies/weimin-2008/explain?format=json", {"units": units, "id": wanted})
    assert answer.status == 200, answer
    assert answer.json()["id"] == wanted and answer.json()["document"]["unit"]["id"] == wanted
    missing = server.call("POST", "/policies/weimin-2008/explain", {"units": units, "id": "nobody"})
    assert missing.status == 422 and missing.json()["error"]["code"] == "no_such_unit"
    twice = server.call("POST", "/policies/karamay-2013/explain", {"units": [unit(), unit()], "id": unit()["id"]})
    assert twice.status == 422 and twice.json()["error"]["code"] == "ambiguous_unit"


def test_whynot_names_the_missing_points(server: Server, karamay: kaohe_rules.Policy) -> None:
    from kaohe_rules.audit.whynot import render, why_not

    sent = next(u for u in karamay_units() if karamay.evaluate(u).rating != "优秀")
    answer = server.call("POST", "/policies/karamay-2013/whynot?lang=en", {"unit": sent})
    assert answer.status == 200, answer
    result = karamay.evaluate(sent)
    assert answer.json()["text"] == render(why_not(result), result, "en")
    as_json = server.call("POST", "/policies/karamay-2013/whynot", {"unit": sent, "format": "json", "band": "优秀"})
    assert as_json.json()["document"] == json.loads(json.dumps(why_not(result, band="优秀").to_dict(), ensure_ascii=False))
    unknown = server.call("POST", "/policies/karamay-2013/whynot", {"unit": sent, "band": "platinum"})
    assert unknown.status == 422 and unknown.json()["error"]["code"] == "unknown_band"


def test_whatif_shows_before_and_after(server: Server, karamay: kaohe_rules.Policy) -> None:
    from kaohe_rules.audit.whatif import what_if

    sent = unit()
    fact = next(name for name, value in sent["facts"].items() if isinstance(value, bool))
    change = {fact: not sent["facts"][fact]}
    answer = server.call("POST", "/policies/karamay-2013/whatif?format=json", {"unit": sent, "set": change})
    assert answer.status == 200, answer
    expected = what_if(karamay, sent, list(change.items())).to_dict()
    assert answer.json()["document"] == json.loads(json.dumps(expected, ensure_ascii=False))
    text = server.call("POST", "/policies/karamay-2013/whatif", {"unit": sent, "set": change, "lang": "en"}).json()
    assert text["format"] == "text" and text["text"]
    bad = server.call("POST", "/policies/karamay-2013/whatif", {"unit": sent, "set": {fact: "perhaps"}})
    assert bad.status == 422 and bad.json()["error"]["code"] == "fact_error"
    assert bad.json()["error"]["problems"][0]["fact"] == fact


# ------------------------------------------------------------------ check
def test_check_gives_the_diagnostics_of_kaohe_check(server: Server, karamay: kaohe_rules.Policy) -> None:
    text = (POLICIES / "karamay-2013.kh").read_text(encoding="utf-8")
    answer = server.call("POST", "/check", {"text": text, "name": "karamay-2013.kh"})
    body = answer.json()
    conforms("CheckResponse", body)
    assert body["ok"] is True and body["name"] == karamay.name
    broken = text.replace("total 1000", "total 1000 oops", 1)
    failed = server.call("POST", "/check", raw=broken.encode(), headers={"Content-Type": "text/plain"}).json()
    assert failed["ok"] is False and failed["diagnostics"][0]["code"].startswith("K")
    with pytest.raises(kaohe_rules.PolicyError) as raised:
        kaohe_rules.load(broken)
    assert [d["code"] for d in failed["diagnostics"]] == [d.code for d in raised.value.diagnostics]


def test_check_resolves_extends_only_among_the_served_policies(server: Server, tmp_path: Path) -> None:
    child = ('policy 子政策 "a child" extends "{}" {{\n  cite "x"\n}}\n')
    served = server.call("POST", "/check", {"text": child.format("karamay-2013.kh")}).json()
    assert served["ok"] is True, served
    (tmp_path / "secret.kh").write_text("policy 秘密 {\n}\n", encoding="utf-8")
    for written in ("../../../../../../etc/passwd.kh", str(tmp_path / "secret.kh"), "nope.kh", "/etc/passwd"):
        refused = server.call("POST", "/check", {"text": child.format(written)}).json()
        assert refused["ok"] is False
        assert refused["diagnostics"][0]["code"] == "K155", refused
        assert "serves" in refused["diagnostics"][0]["message"]


# ------------------------------------------------------------------ OpenAPI
def test_the_openapi_document_validates_and_names_every_route(server: Server) -> None:
    from openapi_spec_validator import validate

    document = server.call("GET", "/openapi.json").json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/healthz", "/readyz", "/openapi.json", "/policies", "/policies/{name}",
                                      "/policies/{name}/evaluate", "/policies/{name}/explain",
                                      "/policies/{name}/whynot", "/policies/{name}/whatif", "/check"}
    assert document["components"]["schemas"] == json.loads(json.dumps(schemas.SCHEMAS))
    assert f"At most {MAX_BATCH} units" in document["paths"]["/policies/{name}/evaluate"]["post"]["description"]


# ------------------------------------------------------------------ logs
def test_access_and_decision_logs_are_json_lines_without_fact_values(server: Server) -> None:
    sent = unit()
    sent["id"] = "log-probe-unit"
    marker = "marker-value-never-logged"
    sent["facts"]["no_such_fact_here"] = marker
    server.call("POST", "/policies/karamay-2013/evaluate", sent)
    clean = unit()
    clean["id"] = "log-probe-clean"
    answer = server.call("POST", "/policies/karamay-2013/evaluate", clean)
    rid = answer.headers["x-request-id"]
    deadline = time.monotonic() + 10  # the access line is written once the answer has gone out
    while not any(line.get("request_id") == rid and line["log"] == "access" for line in server.log_lines()):
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.05)
    lines = server.log_lines()
    assert all(line["log"] != "text" for line in lines), [line for line in lines if line["log"] == "text"][:3]
    assert marker not in server.log.read_text(encoding="utf-8")
    access = [line for line in lines if line["log"] == "access" and line["request_id"] == rid]
    assert len(access) == 1
    assert access[0]["method"] == "POST" and access[0]["path"] == "/policies/karamay-2013/evaluate"
    assert access[0]["status"] == 200 and access[0]["ms"] >= 0
    decision = [line for line in lines if line["log"] == "decision" and line["request_id"] == rid]
    assert decision == [{**decision[0], "policy": "克拉玛依2013", "unit": "log-probe-clean", "status": "ok"}]
    assert decision[0]["hash"] == answer.json()["policy"]["hash"]
    assert decision[0]["rating"] == answer.json()["result"]["rating"]
    assert decision[0]["score"] == answer.json()["result"]["score"]
    refused = [line for line in lines if line["log"] == "decision" and line["unit"] == "log-probe-unit"]
    assert refused and refused[0]["status"] == "error" and refused[0]["error"] == "fact_error"
    assert not any("facts" in line for line in lines if line["log"] == "decision")
    assert decision[0]["endpoint"] == "evaluate"
    explained = server.call("POST", "/policies/karamay-2013/explain", {"unit": clean})
    rid = explained.headers["x-request-id"]
    logged = [line for line in server.log_lines() if line["log"] == "decision" and line["request_id"] == rid]
    assert [(x["endpoint"], x["unit"], x["rating"]) for x in logged] == \
        [("explain", "log-probe-clean", answer.json()["result"]["rating"])]


def test_trace_beside_a_units_facts_is_refused_not_ignored(server: Server) -> None:
    answer = server.call("POST", "/policies/karamay-2013/evaluate", {**unit(), "trace": True})
    assert answer.status == 422 and answer.json()["error"]["code"] == "ambiguous_option"
    assert "?trace=1" in answer.json()["error"]["message"]


def test_whatif_within_a_cohort_lists_the_others_that_change(server: Server) -> None:
    from kaohe_rules.audit.whatif import what_if

    policy = kaohe_rules.load(POLICIES / "weimin-2008.kh")
    units = json.loads((POLICIES / "weimin-2008" / "units.json").read_text(encoding="utf-8"))["units"]
    target = units[0]
    fact = next((name for name, value in target["facts"].items() if isinstance(value, bool)), None)
    assert fact is not None, "the weimin sample units have a yes/no fact"
    change = {fact: not target["facts"][fact]}
    answer = server.call("POST", "/policies/weimin-2008/whatif?format=json",
                         {"units": units, "id": target["id"], "set": change})
    assert answer.status == 200, answer
    expected = what_if(policy, target, list(change.items()), batch=units).to_dict()
    assert answer.json()["document"] == json.loads(json.dumps(expected, ensure_ascii=False))
    assert "others" in answer.json()["document"]


def test_whatif_with_ledger_events_re_attributes_the_batch(server: Server) -> None:
    from kaohe_rules.audit.whatif import EventEdit, what_if_events

    document = json.loads((POLICIES / "karamay-2013" / "units-with-ledger.json").read_text(encoding="utf-8"))
    policy = kaohe_rules.load(POLICIES / "karamay-2013-ledger.kh")
    units, ledgers = document["units"], document["ledgers"]
    event = ledgers["事故台账"][1]
    body = {"units": units, "ledgers": ledgers, "id": event["发生单位编号"],
            "events": [{"op": "set", "ledger": "事故台账", "event": event["编号"], "field": "死亡人数", "value": 0},
                       {"op": "drop", "ledger": "事故台账", "event": 1}]}
    answer = server.call("POST", "/policies/karamay-2013-ledger/whatif?format=json", body)
    assert answer.status == 200, answer
    edits = [EventEdit("set", "事故台账", event["编号"], "死亡人数", 0), EventEdit("drop", "事故台账", "1")]
    expected = what_if_events(policy, units, ledgers, edits, event["发生单位编号"]).to_dict()
    assert answer.json()["document"] == json.loads(json.dumps(expected, ensure_ascii=False))
    assert answer.json()["document"]["changed"], "the edits change some unit"
    alone = server.call("POST", "/policies/karamay-2013-ledger/whatif", {"unit": units[0], "events": body["events"]})
    assert alone.status == 422 and alone.json()["error"]["code"] == "invalid_change"
    bad = server.call("POST", "/policies/karamay-2013-ledger/whatif",
                      {**body, "events": [{"op": "drop", "ledger": "事故台账", "event": 1, "field": "x"}]})
    assert bad.status == 422 and bad.json()["error"]["code"] == "invalid_request"
    nothing = server.call("POST", "/policies/karamay-2013-ledger/whatif", {"units": units, "ledgers": ledgers,
                                                                          "id": units[0]["id"]})
    assert nothing.status == 422 and nothing.json()["error"]["code"] == "invalid_request"
