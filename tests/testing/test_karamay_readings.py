"""The two readings of Karamay 2013's accident-count indicator are one parameter apart (issue #10 item 8).

四(二)1 does not say whether 事故起数控制指标 counts fatal accidents only (the bundled
policy's assumption, param 起数指标计入死亡人数下限 = 1) or every listed accident.
The other reading is one `override param` line (tests/data/karamay-readings/); its
test file must pass, and the same unit must come out differently under the two
readings — else the parameter would not be what decides the reading.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import kaohe_rules
from kaohe_rules.testing.casefile import run_casefile

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
READINGS = ROOT / "tests" / "data" / "karamay-readings"


def _setup(tmp_path: Path) -> Path:
    """Copy the bundled policy, its test file (the bases) and units beside the reading (extends reads one directory)."""
    shutil.copy(POLICIES / "karamay-2013.kh", tmp_path / "karamay-2013.kh")
    shutil.copy(POLICIES / "karamay-2013.tests.toml", tmp_path / "karamay-2013.tests.toml")
    shutil.copytree(POLICIES / "karamay-2013", tmp_path / "karamay-2013")
    shutil.copy(READINGS / "karamay-2013-every-accident.kh", tmp_path / "karamay-2013-every-accident.kh")
    # Stored as .cases.toml: the pytest plugin collects every *.tests.toml under tests/.
    shutil.copy(READINGS / "karamay-2013-every-accident.cases.toml", tmp_path / "karamay-2013-every-accident.tests.toml")
    return tmp_path


def test_every_accident_reading_passes_its_hand_derived_cases(tmp_path: Path) -> None:
    report = run_casefile(_setup(tmp_path) / "karamay-2013-every-accident.tests.toml")
    failures = [o.render(explain=False) for o in report.outcomes if not o.ok]
    assert report.error is None and not failures, "\n".join(failures)
    assert len(report.outcomes) == 2


def test_the_parameter_alone_decides_the_reading(tmp_path: Path) -> None:
    folder = _setup(tmp_path)
    fatal_only = kaohe_rules.load(folder / "karamay-2013.kh")
    every = kaohe_rules.load(folder / "karamay-2013-every-accident.kh")
    cases = run_casefile(folder / "karamay-2013.tests.toml")
    name = "区政府：起数指标为0，无死亡事故不计入起数（只计死亡事故的读法）"
    (outcome,) = [o for o in cases.outcomes if o.case.name == name]
    unit = outcome.case.unit
    a, b = fatal_only.evaluate(unit), every.evaluate(unit)
    assert (a.score, a.rating, a.vetoed) == (1000, "优秀", False)
    assert (b.score, b.rating, b.vetoed) == (890, "不合格", True)
