"""The time limit, CORS off by default, and the one catch-all: never a traceback in an answer.

The time limit is shown over HTTP on a server started with ``--timeout 0.001`` (a traced batch takes
far longer), and the mechanism itself in this process (a worker that sleeps past the limit).  The
catch-all is the :class:`~kaohe_rules.serve.app.Guard` around an application that raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_runner import POLICIES, Server, karamay_units, running

from kaohe_rules.serve.app import Guard, JsonLog, ServeConfig, Service, ServiceError
from kaohe_rules.serve.registry import RegistryHolder, build_registry


@pytest.fixture(scope="module")
def hasty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("limits")
    with running([POLICIES / "karamay-2013.kh"], "--timeout", "0.001", "--reload-interval", "0", tmp=tmp) as server:
        yield server


def test_a_request_over_the_time_limit_is_504_json(hasty: Server) -> None:
    units = [dict(u, id=f"{u['id']}-{i}") for i in range(10) for u in karamay_units()]
    answer = hasty.call("POST", "/policies/karamay-2013/evaluate?trace=1", {"units": units})
    assert answer.status == 504, answer
    error = answer.json()["error"]
    assert error["code"] == "timeout" and "--timeout" in error["message"]
    assert hasty.call("GET", "/healthz").status == 200  # the service goes on answering


def test_cors_is_off_by_default(hasty: Server) -> None:
    answer = hasty.call("GET", "/healthz", headers={"Origin": "http://oa.example"})
    assert answer.status == 200 and "access-control-allow-origin" not in answer.headers
    preflight = hasty.call("OPTIONS", "/healthz", headers={"Origin": "http://oa.example",
                                                           "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers


def test_the_worker_thread_is_abandoned_at_the_limit() -> None:
    holder = RegistryHolder([POLICIES / "aba.kh"], build_registry([POLICIES / "aba.kh"]))
    service = Service(holder, ServeConfig(timeout=0.05), JsonLog())
    started = time.perf_counter()
    with pytest.raises(ServiceError) as raised:
        asyncio.run(service.in_thread(lambda: time.sleep(1)))
    assert raised.value.status == 504 and time.perf_counter() - started < 0.9


class Stream:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def call(app: Any) -> tuple[list[dict[str, Any]], Stream]:
    """One GET through a Guard around ``app``; the messages sent and the log written."""
    log = Stream()
    guard = Guard(app, ServeConfig(), JsonLog(log))  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    asyncio.run(guard({"type": "http", "method": "GET", "path": "/x", "headers": [], "client": ("1.2.3.4", 5)},
                      receive, send))
    return sent, log


def test_an_unexpected_exception_is_500_json_without_internals(tmp_path: Path) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("secret internal detail")

    sent, log = call(broken)
    assert sent[0]["status"] == 500
    body = sent[1]["body"].decode()
    assert '"code": "internal"' in body and "secret" not in body and "Traceback" not in body
    assert "KeyError" in log.text and "secret internal detail" in log.text  # the operator's log has it
    assert '"status": 500' in log.text


def test_a_client_gone_mid_body_is_logged_not_answered() -> None:
    from starlette.requests import ClientDisconnect

    async def gone(scope: Any, receive: Any, send: Any) -> None:
        raise ClientDisconnect()

    sent, log = call(gone)
    assert sent == []
    assert '"status": 499' in log.text and '"log": "error"' not in log.text
