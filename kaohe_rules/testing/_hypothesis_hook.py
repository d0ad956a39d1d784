"""The ``hypothesis`` entry point: registers ``Unit`` for ``st.from_type`` whenever hypothesis loads.

Defensive on purpose: this runs inside every hypothesis import in an environment
where kaohe_rules is installed, so a problem here must warn, never break a run.
"""

from __future__ import annotations

import sys
import warnings


def _hypothesis_setup_hook() -> None:
    if "kaohe_rules.testing.strategies" in sys.modules:
        return  # imported already, or being imported (it imports hypothesis): it registers itself at its end
    try:
        from .strategies import register
    except Exception as exc:  # pragma: no cover - only on a broken installation
        warnings.warn(f"kaohe_rules: could not register Unit with hypothesis ({exc})", stacklevel=1)
        return
    register()
