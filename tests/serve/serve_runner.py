"""A real ``kaohe serve`` process on a free port, and plain-HTTP calls to it (urllib: no client library).

The tests talk to the service exactly as another system would: over a socket, with JSON bodies.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
TOKEN = "s3cret-token-for-the-tests-0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}  # HTTP header names are case-insensitive
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self) -> str:
        return f"<Answer {self.status} {self.body[:300]!r}>"


class Server:
    """A running service: ``call(method, path, body)`` answers an :class:`Answer`, never raises for a status."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path, token: str | None) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.token = token

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str, body: object = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None, token: str | None | bool = True, timeout: float = 60) -> Answer:
        data = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False).encode())
        sent = {"Content-Type": "application/json"} if data is not None else {}
        sent.update(headers or {})
        use = self.token if token is True else (token or None)
        if use:
            sent["Authorization"] = f"Bearer {use}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own local server
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, dict(exc.headers), exc.read())

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"log": "text", "text": line})
        return lines


def policy_dir(tmp: Path, names: Sequence[str]) -> Path:
    """A directory holding copies of the bundled policies ``names`` (files the tests may rewrite)."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(POLICIES / name, tmp / name)
    return tmp


@contextmanager
def running(sources: Sequence[Path], *options: str, token: str | None = None, tmp: Path,
            ready: bool = True, wait: float = 90) -> Iterator[Server]:
    """``python -m kaohe_rules serve SOURCES --port FREE OPTIONS`` until the block ends (stopped, then killed)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KAOHE_SERVE_TOKEN", None)
    if token:
        env["KAOHE_SERVE_TOKEN"] = token
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "kaohe_rules", "serve", *map(str, sources),  # noqa: S603
                                    "--port", str(port), *options], cwd=tmp, env=env,
                                   stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, port, log, token)
    try:
        deadline = time.monotonic() + wait
        while True:
            if process.poll() is not None:
                raise AssertionError(f"kaohe serve exited {process.returncode}: {log.read_text(encoding='utf-8')}")
            try:
                answer = server.call("GET", "/readyz" if ready else "/healthz", timeout=5)
                if answer.status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"kaohe serve not ready after {wait} s: {log.read_text(encoding='utf-8')}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def karamay_units() -> list[dict[str, Any]]:
    document = json.loads((POLICIES / "karamay-2013" / "units.json").read_text(encoding="utf-8"))
    return list(document["units"])
