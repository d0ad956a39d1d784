"""``kaohe lsp`` without the ``lsp`` extra names the extra to install and exits 2 (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# pygls made unimportable before kaohe starts, as in an installation without the extra
WITHOUT_PYGLS = "import sys; sys.modules['pygls'] = None; from kaohe_rules.cli import main; sys.exit(main(['lsp']))"


def test_without_pygls_the_command_names_the_extra() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", WITHOUT_PYGLS], capture_output=True, text=True, env=env,
                          cwd=str(ROOT), timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "kaohe lsp needs the 'lsp' extra: pip install 'kaohe_rules[lsp]'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
