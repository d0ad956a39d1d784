"""Metamorphic checks (issue #9): the same unit told another way gives the same result or the same error.

Key order, a read-only mapping, trace on/off and a batch are checked for every row by
``fuzz.check_row`` (tests/robustness/test_rb_fuzz_rows.py); here: number/bool/date spellings
that docs/api.md declares equivalent, JSON vs JSON Lines vs CSV vs XLSX of the same units,
hand-made hostile unit files, and ``workers=2`` against the serial batch.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kaohe_rules.testing import fuzz

# No shrinking: a failing row can be slow (a 200,000-character value), and shrinking would repeat it
# hundreds of times; the failure message names the case's steps instead.
NO_SHRINK = tuple(Phase[name] for name in fuzz.NO_SHRINK_PHASES)




@settings(phases=NO_SHRINK, max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_documented_spellings_give_the_same_result(policies: fuzz.Policies, data: st.DataObject) -> None:
    ch = fuzz.DrawChooser(data)
    name = ch.choice(fuzz.BUNDLED_POLICIES)
    unit = fuzz.valid_unit(policies.by_name[name], policies.domains[name], ch)
    tally = fuzz.Tally()
    fuzz.check_spellings(policies.by_name[name], policies.domains[name], unit, ch, tally,
                         fuzz.Case("spelling", "hypothesis", 0, name, ()))
    assert tally.spellings == 1
    assert not tally.failures, tally.failures_text()


def test_spellings_are_really_different(policies: fuzz.Policies) -> None:
    """The respelling must change something, or the check above proves nothing."""
    name = "all-types"
    unit = fuzz.valid_unit(policies.by_name[name], policies.domains[name], fuzz.RandomChooser("s"))
    changed = 0
    for i in range(20):
        other = fuzz.respelled_unit(unit, policies.domains[name], fuzz.RandomChooser(f"r{i}"))
        changed += sum(repr(other["facts"][k]) != repr(v) for k, v in unit["facts"].items())
    assert changed > 20


@pytest.mark.parametrize("name", fuzz.BUNDLED_POLICIES)
def test_every_format_reads_the_same_units(policies: fuzz.Policies, name: str) -> None:
    ch = fuzz.RandomChooser(f"files-{name}")
    units: list[dict[str, Any]] = [policies.base_unit(name, ch) for _ in range(6)]
    units += [fuzz.respelled_unit(u, policies.domains[name], ch) for u in units[:3]]
    refused = dict(units[0]) | {"facts": dict(units[0]["facts"])}
    refused["facts"][next(iter(refused["facts"]))] = "1,,,,20万元"
    units.append(refused)
    assert all(fuzz.tame(u) for u in units)
    tally = fuzz.Tally()
    fuzz.check_files(policies.by_name[name], units, tally, fuzz.Case("files", "ci", 0, name, ()))
    assert tally.file_records >= 4 * len(units)
    assert not tally.failures, tally.failures_text()


@pytest.mark.parametrize("index", range(len(fuzz.HOSTILE_DOCUMENTS)))
def test_hostile_unit_files(policies: fuzz.Policies, index: int) -> None:
    class Fixed:
        def integer(self, low: int, high: int) -> int:
            return low

        def choice(self, options: Any) -> Any:
            return options[index] if options is fuzz.HOSTILE_DOCUMENTS else options[0]

        def chance(self, percent: int) -> bool:
            return False

    tally = fuzz.Tally()
    fuzz.check_hostile_file(policies.by_name["small"], Fixed(), tally, fuzz.Case("hostile-file", "ci", index,
                                                                                "small", ()))
    assert tally.batches == 1
    assert not tally.failures, tally.failures_text()


def test_workers_give_the_serial_items(policies: fuzz.Policies) -> None:
    ch = fuzz.RandomChooser("workers")
    rows: list[object] = []
    for i in range(24):
        base = policies.base_unit("karamay", ch)
        rows.append(fuzz.mutate_unit(base, ch, monsters=False, max_list=10)[0] if i % 2 else base)
    rows = [r for r in rows if fuzz._picklable(r)]
    tally = fuzz.Tally()
    fuzz.check_workers(policies.by_name["karamay"], rows, tally, fuzz.Case("workers", "ci", 0, "karamay", ()))
    assert not tally.failures, tally.failures_text()
