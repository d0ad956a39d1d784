"""``kaohe serve [POLICY_DIR_OR_FILES…]``: the decision service from the command line (a front end).

Registered by :func:`register` (``kaohe_rules.cli.EXTENSION_MODULES``).  Starlette and uvicorn are
imported only when the command runs, so ``kaohe`` works without the ``serve`` extra and says what
to install when the command is used without it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import PolicyError, UsageError

#: the environment variable holding the bearer token (``--token-file`` is the other way)
TOKEN_ENV = "KAOHE_SERVE_TOKEN"  # noqa: S105 - the variable's name, not a secret
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def parse_size(text: str) -> int:
    """``1MB``, ``512KB``, ``1048576`` → bytes (binary multiples: 1MB = 1,048,576 bytes)."""
    match = _SIZE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 1MB, 512KB, 1048576)")
    number, unit = int(match.group(1)), (match.group(2) or "").lower()
    size = number * _UNITS[unit[:1] if unit else ""]
    if size <= 0:
        raise argparse.ArgumentTypeError("the size must be above 0")
    return size


def _positive(kind: type[int] | type[float]) -> Any:
    def convert(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
        return value
    return convert


def register(subparsers: Any) -> dict[str, Any]:
    p = subparsers.add_parser("serve", help="serve policies over HTTP: a JSON decision service (docs/serve.md)")
    p.add_argument("sources", nargs="*", default=["policies"], metavar="POLICY_DIR_OR_FILE",
                   help="policy files, or directories whose *.kh files are served (default: policies)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--token-file", metavar="FILE", help=f"require this bearer token (else ${TOKEN_ENV}; else none)")
    p.add_argument("--max-body", type=parse_size, default=parse_size("1MB"), metavar="SIZE",
                   help="largest request body (default 1MB; 413 above)")
    p.add_argument("--max-batch", type=_positive(int), default=1000, metavar="N",
                   help="most units in one batch (default 1000; 413 above)")
    p.add_argument("--timeout", type=_positive(float), default=30.0, metavar="S",
                   help="seconds a request may take (default 30; 504 after)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow browser calls from this origin (repeatable; CORS is off without it)")
    p.add_argument("--log-facts", action="store_true", help="put each unit's facts into the decision log")
    p.add_argument("--reload-interval", type=float, default=2.0, metavar="S",
                   help="poll the policy files every S seconds and reload on change (0: never; default 2)")
    return {"serve": cmd_serve}


def read_token(args: argparse.Namespace) -> str | None:
    """The bearer token from ``--token-file`` or the environment; both given is refused (which one holds?)."""
    env = os.environ.get(TOKEN_ENV)
    if args.token_file and env:
        raise UsageError(f"a token is given twice: --token-file {args.token_file} and ${TOKEN_ENV}; give one")
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the token file {args.token_file}: {exc}") from None
    elif env is not None:
        token = env.strip()
    else:
        return None
    if not token or len(token) < 16 or not token.isprintable() or " " in token:
        raise UsageError("the bearer token must be at least 16 printable characters without spaces")
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .app import JsonLog, ServeConfig, create_app
    except ModuleNotFoundError as exc:
        raise UsageError(f"kaohe serve needs the serve extra ({exc.name} is not installed): "
                         "pip install 'kaohe_rules[serve]'") from None
    from .describe import policy_summary
    from .registry import RegistryHolder, build_registry, policy_files

    sources = [Path(s) for s in args.sources]
    for source in sources:
        if not source.exists():
            raise UsageError(f"no such policy file or directory: {source}")
    try:
        files = policy_files(sources)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not files:
        raise UsageError("no policy (*.kh) files in " + ", ".join(map(str, sources)))
    config = ServeConfig(max_body=args.max_body, max_batch=args.max_batch, timeout=args.timeout,
                         token=read_token(args), cors_origins=tuple(args.cors_origin), log_facts=args.log_facts)
    log = JsonLog(sys.stderr)
    registry = build_registry(sources)
    if not registry.entries:  # nothing to serve: the diagnostics, as kaohe check prints them
        diagnostics = [d for p in registry.problems for d in p.diagnostics]
        raise PolicyError(diagnostics)

    def reloaded(old: Any, new: Any) -> None:
        log.write("reload", generation=new.generation,
                  policies=[{"name": e.name, "hash": "sha256:" + e.policy.content_hash, "stale": e.stale}
                            for e in new.entries.values()],
                  problems=[p.to_dict() for p in new.problems])

    holder = RegistryHolder(sources, registry, reloaded)
    app = create_app(holder, config, log, reload_interval=args.reload_interval)
    if config.token is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        log.write("warning", message=f"listening on {args.host} without a bearer token: anyone who reaches this "
                  f"address can use the service (--token-file F or ${TOKEN_ENV})")
    log.write("start", host=args.host, port=args.port, auth=config.token is not None,
              policies=[policy_summary(e.policy, e.file, e.aliases) for e in registry.entries.values()],
              problems=[p.to_dict() for p in registry.problems],
              limits={"max_body": config.max_body, "max_batch": config.max_batch, "timeout": config.timeout})
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, server_header=False,
                date_header=True, lifespan="on")
    return 0
