"""Shared fixtures of the robustness suite."""

from __future__ import annotations

import pytest

from kaohe_rules.testing import fuzz


@pytest.fixture(scope="session")
def policies() -> fuzz.Policies:
    """The fuzzer's bundled policies (Karamay, small, all-types), loaded once."""
    return fuzz.Policies()
