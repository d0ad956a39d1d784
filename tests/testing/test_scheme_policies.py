"""The four published schemes bundled in policies/ (issue #10): clean, fully covered, lawful.

遵义 2010, 阿坝州, 朔州 and 毕节 2011 were encoded from their document text with hand-derived cases
(docs/schemes/).  This keeps them at the bar the brief set: no warning under ``--strict``, every
case passing, 100% rule coverage and 100% boundary coverage, and every law holding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.testing.boundary import boundary_coverage
from kaohe_rules.testing.casefile import run_casefile
from kaohe_rules.testing.coverage import coverage
from kaohe_rules.testing.verifier import verify

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SCHEMES = ["zunyi-2010", "aba", "shuozhou", "bijie-2011"]


@pytest.mark.parametrize("slug", SCHEMES)
def test_the_scheme_checks_clean_and_its_cases_cover_every_rule_and_edge(slug: str) -> None:
    policy = kaohe_rules.load(POLICIES / f"{slug}.kh")
    assert policy.warnings == ()
    report = run_casefile(POLICIES / f"{slug}.tests.toml")
    assert report.ok and report.policy is not None, report.render()
    results = [o.result for o in report.outcomes if o.result is not None]
    assert coverage(report.policy, results).percent() == 100
    cov = boundary_coverage(report.policy, results)
    assert cov.percent() == 100, cov.render()


@pytest.mark.parametrize("slug", SCHEMES)
def test_every_law_holds_on_the_scheme(slug: str) -> None:
    report = verify(kaohe_rules.load(POLICIES / f"{slug}.kh"), examples=10)
    assert report.ok, report.render()
