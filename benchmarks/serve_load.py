"""Load on ``kaohe serve``: N concurrent clients for S seconds, every answer checked (issue #15).

    python benchmarks/serve_load.py                 # 50 clients, 30 s, policies/karamay-2013.kh
    python benchmarks/serve_load.py --seconds 10 --clients 20
    bash dev.sh serve-load                          # the same, set up first

Each client keeps one HTTP/1.1 connection and sends the Karamay sample units one after another,
each under an id of its own (``c7-1234``); every fourth request is a batch of four.  An answer
counts as an error unless it is 200, names the policy's hash, and carries exactly the ids sent, in
order — a lost, duplicated or mixed-up answer is counted (``mismatches``), never ignored.  Prints
requests/s, latency percentiles and the error counts as JSON; the figures in docs/performance.md
("The decision service") come from this script.  The clients run in this process (threads), on the
same machine as the server: the figures are of the pair.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def drive(base: str, path: str, units: Sequence[dict[str, Any]], *, seconds: float, clients: int,
          token: str | None = None, expected_hash: str | None = None) -> dict[str, Any]:
    """Run the load; the figures, and the first few problems seen (``examples``)."""
    parsed = urllib.parse.urlsplit(base)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    unanswered = [0] * clients  # requests that got no HTTP answer at all (also counted in errors)
    mismatches = [0] * clients
    examples: list[str] = []
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(k: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        n = 0
        start.wait()
        while time.monotonic() < deadline[0]:
            n += 1
            batch = n % 4 == 0
            sent = []
            for j in range(4 if batch else 1):
                unit = copy.deepcopy(units[(n + j + k) % len(units)])
                unit["id"] = f"c{k}-{n}-{j}"
                sent.append(unit)
            body = json.dumps({"units": sent} if batch else sent[0], ensure_ascii=False).encode()
            began = time.perf_counter()
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                errors[k] += 1
                unanswered[k] += 1
                if len(examples) < 5:
                    examples.append(f"client {k}: {type(exc).__name__}: {exc}")
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=60)
                continue
            latencies[k].append(time.perf_counter() - began)
            if status != 200:
                errors[k] += 1
                if len(examples) < 5:
                    examples.append(f"client {k}: HTTP {status}: {data[:200]!r}")
                continue
            answer = json.loads(data)
            results = answer["results"] if batch else [answer["result"]]
            ids = [r.get("id") for r in results]
            good_hash = expected_hash is None or answer["policy"]["hash"] == expected_hash
            if ids != [u["id"] for u in sent] or not good_hash or any(r.get("status") != "ok" for r in results):
                mismatches[k] += 1
                if len(examples) < 5:
                    examples.append(f"client {k}: sent {[u['id'] for u in sent]}, answered {ids}")
        connection.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    every = [x for per in latencies for x in per]
    requests = len(every) + sum(unanswered)
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": requests,
        "requests_per_s": round(len(every) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(every, 0.50) * 1000, 1), "p99_ms": round(percentile(every, 0.99) * 1000, 1),
        "max_ms": round(max(every, default=0.0) * 1000, 1),
        "errors": sum(errors), "mismatches": sum(mismatches), "examples": examples,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--policy", default=str(ROOT / "policies" / "karamay-2013.kh"))
    parser.add_argument("--units", default=str(ROOT / "policies" / "karamay-2013" / "units.json"))
    args = parser.parse_args(argv)
    units = json.loads(Path(args.units).read_text(encoding="utf-8"))["units"]
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KAOHE_SERVE_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "kaohe_rules", "serve", args.policy, "--port", str(port),  # noqa: S603
                               "--reload-interval", "0"], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/readyz")
                ready = json.loads(connection.getresponse().read())
                if ready.get("status") == "ready":
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        else:
            print("the server did not become ready", file=sys.stderr)
            return 1
        name = Path(args.policy).stem
        figures = drive(base, f"/policies/{name}/evaluate", units, seconds=args.seconds, clients=args.clients,
                        expected_hash=ready["policies"][0]["hash"])
        figures["cpus"] = os.cpu_count()
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return 0 if figures["errors"] == 0 and figures["mismatches"] == 0 else 1
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
