"""The checker's former home, kept so that existing imports keep working.

The checker is now the package :mod:`kaohe_rules.language.check` (an ordered list of
passes); ``MISSING`` lives in :mod:`kaohe_rules.language.model`.
"""

from __future__ import annotations

from .check import check, content_hash
from .check.diagnostics import did_you_mean
from .check.exprs import FUNCTIONS
from .model import MISSING

__all__ = ["FUNCTIONS", "MISSING", "check", "content_hash", "did_you_mean"]
