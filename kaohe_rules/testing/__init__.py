"""Testing tools for policy authors: generated units, policy laws, test files, new-year diffs.

* :mod:`.strategies` — hypothesis strategies ``units(policy, category=...)`` and ``Unit[policy]``
  for ``st.from_type`` (needs the ``testing`` extra: hypothesis);
* :mod:`.cohorts` — hypothesis strategies for cohorts (``cohorts()``, ``cohort_specs()``: rank and
  quota rows for the cohort engine) and the cohort laws (quota never exceeded, rank order …);
* :mod:`.ledgers` — hypothesis strategies for shared event ledgers (``ledgers.ledgers(policy, ledger, units)``,
  ``ledger_batches(policy, ledger)``) and the ledger laws (issue #16: an excluded event reaches no unit,
  removing an event never lowers a score, attribution independent of input order);
* :mod:`.laws` — the built-in laws every policy must satisfy, checked by ``verify(policy)`` (:mod:`.verifier`)
  and ``kaohe verify``;
* :mod:`.casefile` — readable ``*.tests.toml`` case files next to a policy, run by ``kaohe test``
  and collected by pytest (the ``pytest11`` plugin :mod:`.pytest_plugin`), with coverage;
* :mod:`.diff` — ``kaohe diff OLD NEW``: what changed in the text, and for which units.

Attributes are imported lazily, so ``kaohe test`` works without hypothesis installed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "units": "strategies",
    "facts": "strategies",
    "Unit": "strategies",
    "unit_type": "strategies",
    "cohorts": "cohorts",
    "cohort_specs": "cohorts",
    "landmarks": "landmarks",
    "simplest_unit": "landmarks",
    "LAWS": "laws",
    "check_result": "laws",
    "verify": "verifier",
    "VerifyReport": "verifier",
    "load_casefile": "casefile",
    "run_casefile": "casefile",
    "run_casefiles": "casefile",
    "diff_policies": "diff",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kaohe_rules.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
