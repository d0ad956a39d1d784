"""Loading policies on several threads at once (``kaohe serve``'s reload, the language server).

The static stages need more stack than Python's default for deeply nested expressions, and the
recursion limit is one per interpreter.  Loads that each saved and restored it raced: a short load
ending inside a long one put the low limit back under it (a false K009 on a policy that loads
alone), and one starting inside another put the raised limit back for good.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import kaohe_rules
from kaohe_rules import limits

ROOT = Path(__file__).resolve().parents[2]
SEED_CORE = (ROOT / "benchmarks" / "seed-core.kh").read_text(encoding="utf-8")
#: 800 levels: loads with the raised limit, overflows Python's default of 1000 (K009 there).
DEEP = SEED_CORE + "\nlet 深 = " + "(考核细则扣分 + " * 800 + "考核细则扣分" + ")" * 800 + "\n"


def test_overlapping_users_raise_the_limit_once_and_the_last_restores_it() -> None:
    before = sys.getrecursionlimit()
    seen: dict[str, int] = {}
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with limits.deep_policy_stack():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with limits.deep_policy_stack():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = sys.getrecursionlimit()
        seen["after both left"] = sys.getrecursionlimit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after the first left": max(before, limits.POLICY_RECURSION_LIMIT), "after both left": before}


def test_short_loads_beside_a_deep_one_neither_break_it_nor_leave_the_limit_raised() -> None:
    before = sys.getrecursionlimit()
    assert before < limits.POLICY_RECURSION_LIMIT, "the test needs a limit below the one loading raises it to"
    outcomes: list[str] = []

    def deep() -> None:
        for _ in range(2):
            try:
                kaohe_rules.load(DEEP)
                outcomes.append("deep loaded")
            except kaohe_rules.PolicyError as exc:
                outcomes.append(f"deep refused: {exc}")

    def short() -> None:
        for _ in range(8):
            kaohe_rules.load(SEED_CORE)

    threads = [threading.Thread(target=deep), threading.Thread(target=short), threading.Thread(target=short)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert outcomes == ["deep loaded", "deep loaded"]
    assert sys.getrecursionlimit() == before
