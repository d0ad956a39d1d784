"""pytest plugin (entry point ``pytest11``): policy test files become pytest tests.

``pytest policies/`` collects every ``*.tests.toml``: one test per case, named
after the case, failing with a table of what was expected and what came out and
the short explanation of the result.  ``--kaohe-coverage`` adds the coverage
report to the terminal summary.

This module is imported by every pytest run where kaohe_rules is installed, so
it imports nothing heavy until a test file is actually collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SUFFIX = ".tests.toml"
_RESULTS_KEY = pytest.StashKey[dict[int, tuple[Any, list[Any]]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kaohe", "kaohe policy test files")
    group.addoption("--kaohe-coverage", action="store_true", default=False,
                    help="report what the *.tests.toml cases exercise (bands, vetoes, targets, rules ...)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS_KEY] = {}


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIX):
        return PolicyCaseFile.from_parent(parent, path=file_path)
    return None


class PolicyCaseFile(pytest.File):
    """One ``*.tests.toml``: loads its policy once and yields one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        from ..errors import PolicyError
        from ..policy import load
        from .casefile import CaseFileError, load_casefile

        try:
            casefile = load_casefile(self.path)
        except CaseFileError as exc:
            raise self.CollectError(str(exc)) from None
        try:
            policy = load(casefile.policy_path)
        except PolicyError as exc:
            raise self.CollectError(f"the policy {casefile.policy_path} does not load:\n{exc.render()}") from None
        for case in casefile.cases:
            yield PolicyCase.from_parent(self, name=case.name, case=case, policy=policy)
        for cohort in casefile.cohorts:  # issue #11 C: units assessed together, one item per cohort case
            yield PolicyCohortCase.from_parent(self, name=cohort.name, cohort=cohort, policy=policy)


class CaseFailed(Exception):
    """A case's result differs from what it expects (carries the rendered difference)."""


class PolicyCase(pytest.Item):
    def __init__(self, *, case: Any, policy: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.policy = policy

    def runtest(self) -> None:
        from .casefile import run_case

        trace = bool(self.config.getoption("kaohe_coverage"))
        outcome = run_case(self.policy, self.case, self.path, trace=trace)
        if outcome.result is not None:
            store = self.config.stash[_RESULTS_KEY]
            store.setdefault(id(self.policy), (self.policy, []))[1].append(outcome.result)
        if not outcome.ok:
            raise CaseFailed(outcome.render())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.case.line - 1 if self.case.line else None
        return self.path, line, f"case: {self.case.name}"


class PolicyCohortCase(pytest.Item):
    """A ``[[cohort]]`` case: its units assessed together; fails with every unit whose result differs."""

    def __init__(self, *, cohort: Any, policy: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cohort = cohort
        self.policy = policy

    def runtest(self) -> None:
        from .casefile import run_cohort

        trace = bool(self.config.getoption("kaohe_coverage"))
        outcomes = run_cohort(self.policy, self.cohort, self.path, trace=trace)
        store = self.config.stash[_RESULTS_KEY]
        results = [o.result for o in outcomes if o.result is not None]
        store.setdefault(id(self.policy), (self.policy, []))[1].extend(results)
        failed = [o.render() for o in outcomes if not o.ok]
        if failed:
            raise CaseFailed("\n\n".join(failed))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.cohort.line - 1 if self.cohort.line else None
        return self.path, line, f"{self.cohort.kind} case: {self.cohort.name}"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not config.getoption("kaohe_coverage"):
        return
    from .boundary import boundary_coverage
    from .coverage import coverage

    for policy, results in config.stash[_RESULTS_KEY].values():
        terminalreporter.write_sep("-", "kaohe policy coverage")
        terminalreporter.write_line(coverage(policy, results).render())
        terminalreporter.write_line(boundary_coverage(policy, results).render())
