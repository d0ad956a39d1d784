"""``kaohe lsp``: start the language server on stdio (a front end, registered by ``cli.py``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

#: What to install when pygls is missing.
EXTRA_HINT = "kaohe lsp needs the 'lsp' extra: pip install 'kaohe_rules[lsp]' (pygls and lsprotocol)"


def register(subparsers: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    p = subparsers.add_parser("lsp", help="run the language server on stdin/stdout (for editors; needs the lsp extra)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning",
                   help="what the server logs to standard error (default: warning)")
    p.add_argument("--log-file", metavar="FILE", help="log to FILE instead of standard error")
    return {"lsp": cmd_lsp}


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from .server import serve
    except ImportError as exc:
        if not (exc.name or "").startswith(("pygls", "lsprotocol")):
            raise
        sys.stderr.write(f"{EXTRA_HINT} ({exc})\n")
        return 2
    handler: logging.Handler = (logging.FileHandler(args.log_file, encoding="utf-8") if args.log_file
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(getattr(logging, args.log_level.upper()))
    serve()
    return 0
