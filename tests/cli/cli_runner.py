"""What the CLI tests share: the bundled policy and units, and one way to run ``kaohe`` in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaohe_rules.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
UNITS = ROOT / "policies" / "karamay-2013" / "units.json"


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """``kaohe ARGS`` in this process: exit status, stdout, stderr."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
