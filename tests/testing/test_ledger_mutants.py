"""Mutation testing reaches the ledgers (issue #16): their rules' conditions, each rule, each map entry.

Without these mutants ``kaohe test --mutate`` reported the Ürümqi 界定办法 fully killed with 4 mutants,
none of them in a ledger rule: a test file that never sent an accident through the 对口区 rule would
have passed the check.  The whole runs are ``slow`` (``pytest -m slow``); the default suite still samples
every sixth mutant of each bundled policy (tests/testing/test_boundary.py).  Now each ledger rule is dropped in turn, each ``map`` entry is dropped in turn,
and the rules' conditions get the ``and``/``or`` and comparison mutants every other expression gets.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.testing.mutate import mutants, mutation_reports

POLICIES = Path(__file__).resolve().parents[2] / "policies"
URUMQI = POLICIES / "urumqi-2005.kh"


def test_every_ledger_rule_and_map_entry_has_a_mutant() -> None:
    policy = kaohe_rules.load(URUMQI)
    found = {(m.kind, m.mutation) for m in mutants(policy.checked, URUMQI.read_text(encoding="utf-8"))}
    rules = ("军警车辆", "纵火", "直属单位生产经营火灾", "道路属地", "开发区对口区", "火灾属地")
    assert {("drop", f"ledger rule {name} dropped") for name in rules} <= found
    assert {("map", "map 对口区: entry 经济技术开发区 dropped"), ("map", "map 对口区: entry 高新技术产业开发区 dropped")} <= found
    assert ("junction", "`or` → `and`") in found  # inside 军警车辆's condition: 车辆属性 == 军队 or … == 武警


@pytest.mark.slow  # a whole mutation run (4–8 s); `pytest -m slow`, `bash dev.sh mutate`
def test_the_urumqi_cases_kill_every_mutant() -> None:
    [report] = mutation_reports([POLICIES / "urumqi-2005.tests.toml"])
    assert report.ok, report.render()
    assert len(report.killed) >= 19


@pytest.mark.slow  # a whole mutation run (4–8 s); `pytest -m slow`, `bash dev.sh mutate`
def test_the_karamay_ledger_cases_kill_every_mutant_but_the_listed_equivalents() -> None:
    [report] = mutation_reports([POLICIES / "karamay-2013-ledger.tests.toml"])
    assert report.ok, report.render()
    assert {m.mutation for m in report.killed} >= {f"ledger rule {n} dropped" for n in ("属地", "行业", "道路运输", "本企业")}


@pytest.mark.slow  # a whole mutation run (4–8 s); `pytest -m slow`, `bash dev.sh mutate`
def test_a_test_file_that_never_meets_a_development_zone_lets_its_rules_survive(tmp_path: Path) -> None:
    """The first case alone (属地 only): the 对口区 rule and both map entries survive, named."""
    shutil.copy(URUMQI, tmp_path / "urumqi-2005.kh")
    text = (POLICIES / "urumqi-2005.tests.toml").read_text(encoding="utf-8")
    mark = "\n[[batch]]\n"
    first = text[: text.index(mark, text.index(mark) + 1)]  # the header and the first case
    (tmp_path / "urumqi-2005.tests.toml").write_text(first, encoding="utf-8")
    [report] = mutation_reports([tmp_path / "urumqi-2005.tests.toml"])
    survived = {m.mutation for m in report.survivors}
    assert {"ledger rule 开发区对口区 dropped", "map 对口区: entry 经济技术开发区 dropped",
            "map 对口区: entry 高新技术产业开发区 dropped", "ledger rule 军警车辆 dropped"} <= survived
    assert not report.ok
