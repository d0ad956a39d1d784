"""A policy for a new year extends last year's and changes only what changed."""

from __future__ import annotations

from pathlib import Path

import pytest

import kaohe_rules

BASE = """
policy 基础2013 "2013年办法" { period 2013-01-01 .. 2013-12-31 }
category 单位 "单位" total 100 { section 甲 "甲" 100 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
fact 资金: money >= 0
fact 瞒报: bool = false
param 资金下限: money = 100万元 "资金下限" cite "二(一)1"
target 资金 "专项资金" cite "二(一)1" in 单位.甲 points 100 { full when 资金 >= 资金下限 }
veto 瞒报 "瞒报事故" cite "四(二)4(2)" when 瞒报
"""

CHILD = """
policy 基础2014 "2014年办法" extends "base.kh" { period 2014-01-01 .. 2014-12-31 }
override param 资金下限 = 120万元
fact 培训率: percent in 0%..100% = 100%
override category 单位 "单位" total 100 { section 甲 "甲" 80 section 乙 "乙" 20 }
override target 资金 "专项资金" cite "二(一)1" in 单位.甲 points 80 { full when 资金 >= 资金下限 }
target 培训 "培训" cite "二(一)6" in 单位.乙 points 20 { proportional 培训率 }
remove veto 瞒报
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_child_inherits_overrides_adds_and_removes(tmp_path: Path) -> None:
    write(tmp_path, "base.kh", BASE)
    child = kaohe_rules.load(write(tmp_path, "child.kh", CHILD))
    base = kaohe_rules.load(tmp_path / "base.kh")
    unit = {"id": "u", "category": "单位", "facts": {"资金": "110万元", "瞒报": True}}
    assert base.evaluate(unit).score == 100 and base.evaluate(unit).vetoed
    assert child.checked.param_values["资金下限"] == 1200000
    assert child.checked.params["资金下限"].cite == "二(一)1"  # inherited label and citation
    r = child.evaluate({"id": "u", "category": "单位", "facts": {"资金": "110万元", "培训率": "50%"}})
    assert r.score == 10 and not r.vetoed  # 资金 fails the new 120万元 threshold; half the training points
    assert child.checked.lineage == ("基础2014", "基础2013")
    assert child.content_hash != base.content_hash


def test_redeclaring_without_override_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "base.kh", BASE)
    text = 'policy c extends "base.kh" { }\nparam 资金下限: money = 120万元\n'
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(write(tmp_path, "c.kh", text))
    d = info.value.diagnostics[0]
    assert d.code == "K154"
    assert d.message == "param '资金下限' is already declared by the parent policy"
    assert d.hint == "write 'override param ...' to replace it"


def test_override_and_remove_of_unknown_names_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "base.kh", BASE)
    text = 'policy c extends "base.kh" { }\noverride param 资金上限 = 1元\nremove target 资全\n'
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(write(tmp_path, "c.kh", text))
    codes = [(d.code, d.hint) for d in info.value.diagnostics]
    assert codes == [("K153", "drop 'override' to declare something new"), ("K152", "did you mean '资金'?")]


def test_missing_parent_and_cycles_are_reported(tmp_path: Path) -> None:
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(write(tmp_path, "c.kh", 'policy c extends "nope.kh" { }\n'))
    assert info.value.diagnostics[0].code == "K151"
    write(tmp_path, "a.kh", 'policy a extends "b.kh" { }\n')
    write(tmp_path, "b.kh", 'policy b extends "a.kh" { }\n')
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(tmp_path / "a.kh")
    assert info.value.diagnostics[0].code == "K150"


def test_errors_in_the_parent_point_into_the_parent_file(tmp_path: Path) -> None:
    write(tmp_path, "base.kh", BASE.replace("full when 资金 >= 资金下限", "full when 资金 >= 1000000"))
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(write(tmp_path, "c.kh", 'policy c extends "base.kh" { }\n'))
    d = info.value.diagnostics[0]
    assert d.code == "K104" and d.file is not None and d.file.endswith("base.kh")


DATED = """
policy 年度{year} "{year}年办法" {{ period {year}-01-01 .. {year}-12-31 }}
category 单位 "单位" total 100 {{ section 甲 "甲" 100 }}
ratings {{ 好 中 差 }} vetoed 差
bands 单位 {{ 好 [80, 100] 中 [60, 80) 差 [0, 60) }}
fact 资金: money >= 0
param 资金下限: money "资金下限" cite "二(一)1" {{
  from 2013-01-01: 100万元
  from 2014-01-01: 120万元
}}
target 资金 "专项资金" cite "二(一)1" in 单位.甲 points 100 {{ full when 资金 >= 资金下限 }}
"""


def test_dated_params_take_the_value_in_force_for_the_period() -> None:
    unit = {"id": "u", "category": "单位", "facts": {"资金": "110万元"}}
    p2013 = kaohe_rules.load(DATED.format(year=2013))
    p2014 = kaohe_rules.load(DATED.format(year=2014))
    assert p2013.checked.param_values["资金下限"] == 1000000
    assert p2014.checked.param_values["资金下限"] == 1200000
    assert p2013.evaluate(unit).score == 100 and p2014.evaluate(unit).score == 0


def test_next_year_only_changes_its_period(tmp_path: Path) -> None:
    write(tmp_path, "base.kh", DATED.format(year=2013))
    child = kaohe_rules.load(write(tmp_path, "c.kh", 'policy c extends "base.kh" { period 2014-01-01 .. 2014-12-31 }\n'))
    assert child.checked.param_values["资金下限"] == 1200000


def test_dated_param_errors() -> None:
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(DATED.format(year=2012))
    assert [d.code for d in info.value.diagnostics] == ["K133"]
    assert info.value.diagnostics[0].message == "no value of param '资金下限' is in force on 2012-01-01"
    without_period = DATED.format(year=2013).replace("{ period 2013-01-01 .. 2013-12-31 }", "{ }")
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(without_period)
    assert [d.code for d in info.value.diagnostics] == ["K132"]
    mistyped = DATED.format(year=2013).replace("120万元", "1200000")
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(mistyped)
    assert [d.code for d in info.value.diagnostics] == ["K103"]
