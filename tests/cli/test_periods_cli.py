"""``kaohe eval`` / ``facts --template`` with a policy with periods (issue #11 P): flat columns in, a score and
a rating column per period out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import ROOT, run

POLICY = ROOT / "tests" / "data" / "periods" / "quarterly.kh"
CSV = ("id,名称,类别,季度扣分.一季度,季度扣分.二季度,季度扣分.四季度,质量达标.二季度\n"
       "A,甲,单位,3,0,,否\n"
       "B,乙,单位,30,45,1,是\n")


def test_flat_columns_in_and_period_columns_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text(CSV, encoding="utf-8")
    code, out, err = run(capsys, "eval", POLICY, units)
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("名次"))
    assert header.split()[-8:] == ["第一季度得分", "第一季度等次", "第二季度得分", "第二季度等次", "第三季度得分",
                                   "第三季度等次", "第四季度得分", "第四季度等次"]
    row_a = next(line.split() for line in out.splitlines() if line.split()[1:2] == ["A"])
    # by hand: 97 优秀, 60 满意 (质量达标 false), 100 优秀, 95 优秀 (末季 −5): (97+60+100+95)/4 = 88
    assert row_a[3] == "88" and row_a[-8:] == ["97", "优秀", "60", "满意", "100", "优秀", "95", "优秀"]
    code, out, err = run(capsys, "eval", POLICY, units, "--format", "jsonl")
    assert code == 0, err
    first = json.loads(out.splitlines()[0])
    assert [(p["name"], p["score"]) for p in first["periods"]] == [("一季度", "97"), ("二季度", "60"),
                                                                  ("三季度", "100"), ("四季度", "95")]


def test_the_template_keys_per_period_facts_by_period(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "facts", POLICY, "--template")
    assert code == 0, err
    facts = json.loads(out)["units"][0]["facts"]
    assert facts["季度扣分"] == {"一季度": "0", "二季度": "0", "三季度": "0", "四季度": "0"}
    assert facts["重大事故"] is False
