"""The fuzzing harness itself: it catches what it claims to catch, and the command prints its figures."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kaohe_rules.errors import FactError
from kaohe_rules.testing import fuzz

ROOT = Path(__file__).resolve().parents[2]


class BrokenPolicy:
    """A stand-in policy whose evaluate raises an internal exception for one fact value."""

    def evaluate(self, unit: Any, *, trace: bool = False) -> Any:
        if unit.get("facts", {}).get("x") == "boom":
            raise KeyError("internal")
        raise FactError("u", ())

    def evaluate_many(self, units: Any, **kwargs: Any) -> Any:
        return iter(())


def test_an_internal_exception_is_classified_as_internal() -> None:
    tally = fuzz.Tally()
    fuzz.check_row(BrokenPolicy(), {"id": "u", "category": "c", "facts": {"x": "boom"}},  # type: ignore[arg-type]
                   {"id": "u", "category": "c", "facts": {}}, fuzz.RandomChooser("x"), tally,
                   fuzz.Case("row", "t", 0, "broken", ()))
    assert [f.kind for f in tally.failures] == ["internal"]
    assert tally.failures[0].key.startswith("KeyError at ")


def test_a_fact_error_without_problems_is_a_violation() -> None:
    tally = fuzz.Tally()
    fuzz.check_row(BrokenPolicy(), {"id": "u", "category": "c", "facts": {}},  # type: ignore[arg-type]
                   {"id": "u", "category": "c", "facts": {}}, fuzz.RandomChooser("x"), tally,
                   fuzz.Case("row", "t", 0, "broken", ()))
    assert [(f.kind, f.key) for f in tally.failures] == [("violation", "fact-error-without-problems")]


def test_the_watchdog_kills_a_stalled_case_and_goes_on() -> None:
    watchdog = fuzz.Watchdog(fuzz.Policies(), monsters=False, max_list=10)
    try:
        assert watchdog.run("selftest-sleep", "t", 60, timeout=1.0) is None
        answer = watchdog.run("row", "t", 1, timeout=30.0)
        assert answer is not None
        assert answer[0].rows == 1
    finally:
        watchdog.stop()


def test_cases_are_reproducible_from_their_seed() -> None:
    policies = fuzz.Policies()
    first = fuzz.run_task(policies, "row", "repro", 7, monsters=False, max_list=10)
    again = fuzz.run_task(policies, "row", "repro", 7, monsters=False, max_list=10)
    assert [(f.kind, f.key, f.case) for f in first.failures] == [(f.kind, f.key, f.case) for f in again.failures]
    assert (first.rows, first.results, first.refusals) == (again.rows, again.results, again.refusals)


def test_schedule_has_the_requested_counts() -> None:
    tasks = list(fuzz.schedule(1000, 100))
    kinds = [t.kind for t in tasks]
    assert kinds.count("row") == 1000
    assert kinds.count("policy") == 100
    assert kinds.count("generated") == 25
    assert kinds.count("files") == 10


def test_the_command_prints_its_figures() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "kaohe_rules.testing.fuzz", "--rows", "12", "--mutations", "3",
                           "--seed", "cmd", "--max-list", "20"], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    out = done.stdout
    for figure in ("fact rows run:          12", "policy mutations run:   3", "internal errors:", "stalls:",
                   "slowest engine call:", "elapsed:", datetime.date.today().isoformat()):
        assert figure in out, out + done.stderr
    assert done.returncode == (0 if "internal errors:        0" in out and "stalls:                 0" in out
                               and "violations:             0" in out else 1)
