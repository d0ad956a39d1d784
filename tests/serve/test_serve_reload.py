"""Atomic reload under load: a policy file rewritten while requests run.

Every answer names the policy hash it was decided with; it must be the old or the new one, and its
scores must be exactly what that version of the policy gives (computed in this process) — a request
never sees a mix.  A file that stops loading keeps its last good version serving, reported in
``/readyz`` and the log.  The same server also runs with ``--log-facts`` and one CORS origin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_runner import Server, karamay_units, policy_dir, running

import kaohe_rules

ORIGIN = "http://oa.example"
OLD = "param 区_每死亡一人扣分 = 20 "
NEW = "param 区_每死亡一人扣分 = 35 "


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("reload")
    source = policy_dir(tmp / "policies", ["karamay-2013.kh"])
    with running([source], "--reload-interval", "0.2", "--log-facts", "--cors-origin", ORIGIN,
                 tmp=tmp) as server:
        yield server, source / "karamay-2013.kh"


def wait_for(server: Server, predicate: Any, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        body = server.call("GET", "/readyz").json()
        if predicate(body):
            return body  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_a_rewritten_policy_is_swapped_whole_while_requests_run(served: tuple[Server, Path]) -> None:
    server, path = served
    old_text = path.read_text(encoding="utf-8")
    assert OLD in old_text
    new_text = old_text.replace(OLD, NEW, 1)
    versions = {}
    units = [u for u in karamay_units() if u["category"] == "区政府"]
    for text in (old_text, new_text):
        policy = kaohe_rules.load(text)
        versions["sha256:" + policy.content_hash] = [str(policy.evaluate(u).to_dict()["score"]) for u in units]
    assert len(versions) == 2 and len(set(map(tuple, versions.values()))) == 2, "the edit must change some score"
    old_hash, new_hash = versions
    seen: list[tuple[int, str, list[str]]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            answer = server.call("POST", "/policies/karamay-2013/evaluate", {"units": units})
            body = answer.json()
            seen.append((answer.status, body["policy"]["hash"] if answer.status == 200 else "",
                         [r.get("score") for r in body.get("results", [])]))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        path.write_text(new_text, encoding="utf-8")
        wait_for(server, lambda body: body["policies"][0]["hash"] == new_hash)
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert all(status == 200 for status, _, _ in seen), [s for s in seen if s[0] != 200][:3]
    assert {h for _, h, _ in seen} == {old_hash, new_hash}
    for _, hash_, scores in seen:
        assert scores == versions[hash_], "an answer mixes two versions of the policy"
    reloads = [line for line in server.log_lines() if line["log"] == "reload"]
    assert reloads and reloads[-1]["policies"][0]["hash"] == new_hash
    path.write_text(old_text, encoding="utf-8")
    wait_for(server, lambda body: body["policies"][0]["hash"] == old_hash)


def test_a_policy_that_stops_loading_keeps_its_old_version_serving(served: tuple[Server, Path]) -> None:
    server, path = served
    good = path.read_text(encoding="utf-8")
    good_hash = "sha256:" + kaohe_rules.load(good).content_hash
    wait_for(server, lambda body: body["policies"][0]["hash"] == good_hash)
    path.write_text(good.replace("total 1000", "total 1000 oops", 1), encoding="utf-8")
    try:
        body = wait_for(server, lambda body: body["problems"] != [])
        assert body["status"] == "ready"  # the old version serves
        problem = body["problems"][0]
        assert problem["file"] == "karamay-2013.kh" and problem["serving"] == good_hash
        assert problem["diagnostics"][0]["code"].startswith("K")
        assert body["policies"][0]["stale"] is True
        answer = server.call("POST", "/policies/karamay-2013/evaluate", karamay_units()[0])
        assert answer.status == 200 and answer.json()["policy"]["hash"] == good_hash
        logged = [line for line in server.log_lines() if line["log"] == "reload" and line["problems"]]
        assert logged and logged[-1]["problems"][0]["serving"] == good_hash
    finally:
        path.write_text(good, encoding="utf-8")
    body = wait_for(server, lambda body: body["problems"] == [])
    assert body["policies"][0]["stale"] is False


def test_log_facts_puts_the_facts_into_the_decision_log(served: tuple[Server, Path]) -> None:
    server, _ = served
    unit = dict(karamay_units()[0], id="facts-logged")
    server.call("POST", "/policies/karamay-2013/evaluate", unit)
    logged = [line for line in server.log_lines() if line["log"] == "decision" and line["unit"] == "facts-logged"]
    assert logged and logged[0]["facts"] == unit["facts"]
    access = [line for line in server.log_lines() if line["log"] == "access"]
    assert not any("facts" in line for line in access)


def test_cors_answers_only_the_named_origin(served: tuple[Server, Path]) -> None:
    server, _ = served
    preflight = server.call("OPTIONS", "/policies/karamay-2013/evaluate",
                            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 200 and preflight.headers["access-control-allow-origin"] == ORIGIN
    plain = server.call("GET", "/healthz", headers={"Origin": ORIGIN})
    assert plain.headers["access-control-allow-origin"] == ORIGIN
    # a browser hides every response header not exposed: the request id (quoted in the access log) is
    assert plain.headers["access-control-expose-headers"].lower() == "x-request-id" and plain.headers["x-request-id"]
    other = server.call("GET", "/healthz", headers={"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers



def test_a_refused_preflight_is_a_json_error_too(served: tuple[Server, Path]) -> None:
    """Every error is JSON: Starlette's CORS layer answered a refused preflight with the text 'Disallowed CORS origin'."""
    server, _ = served
    refused = server.call("OPTIONS", "/policies/karamay-2013/evaluate",
                          headers={"Origin": "http://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert refused.status == 400 and refused.headers["content-type"].startswith("application/json"), refused
    error = refused.json()["error"]
    assert error["code"] == "cors_refused" and "origin" in error["message"]
    assert "access-control-allow-origin" not in refused.headers
