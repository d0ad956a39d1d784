"""No silent misreads (issue #12): a value that could mean two things is refused naming both.

The cross-format property: every spelling of a fact value is read the same from JSON,
JSON Lines, CSV and XLSX — accepted with the same value in all four, or refused in all
four — and the generic coercer and the generated fast readers agree on each.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.errors import FactError
from kaohe_rules.unitio import read_units

POLICY = """
policy 读数 "spellings" { period 2013-01-01 .. 2013-12-31 }
category 单位 "测试单位" total 100 {
  section 甲 "甲项" 100
}
ratings { 好 "good" 差 "bad" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
fact 率: percent in 0%..100% "rate"
fact 增幅: percent "growth"
fact 资金: money >= 0 "funds"
fact 达标: bool "met"
fact 人数: int >= 0 "people"
target t in 单位.甲 points 100 { proportional 率 }
"""

FACTS = ("率", "增幅", "资金", "达标", "人数")


@pytest.fixture(scope="module")
def policy() -> kaohe_rules.Policy:
    return _load(POLICY)


def _load(text: str) -> kaohe_rules.Policy:
    return kaohe_rules.load(text)


def _unit(fact: str, value: object) -> dict[str, object]:
    base: dict[str, object] = {"率": "50%", "增幅": "5%", "资金": "0", "达标": "是", "人数": "0"}
    base[fact] = value
    return {"id": "u1", "category": "单位", "facts": base}


# ---------------------------------------------------------------- writers, one per format
def _json_text(value: object) -> str:
    return str(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else json.dumps(
        value, ensure_ascii=False)


def write_json(path: Path, unit: dict[str, object]) -> Path:
    facts = ", ".join(f'"{k}": {_json_text(v)}' for k, v in unit["facts"].items())  # type: ignore[union-attr]
    path = path / "u.json"
    path.write_text(f'[{{"id": "u1", "category": "单位", "facts": {{{facts}}}}}]', encoding="utf-8")
    return path


def write_jsonl(path: Path, unit: dict[str, object]) -> Path:
    text = write_json(path, unit).read_text(encoding="utf-8")[1:-1]
    path = path / "u.jsonl"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, unit: dict[str, object]) -> Path:
    facts: dict[str, object] = unit["facts"]  # type: ignore[assignment]
    path = path / "u.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "category", *facts])
        w.writerow(["u1", "单位", *(("true" if v else "false") if isinstance(v, bool) else v for v in facts.values())])
    return path


def write_xlsx(path: Path, unit: dict[str, object]) -> Path:
    """Numbers as number cells (as a clerk types them), text as text cells."""
    facts: dict[str, object] = unit["facts"]  # type: ignore[assignment]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "category", *facts])
    ws.append(["u1", "单位", *(float(v) if isinstance(v, Decimal) else v for v in facts.values())])
    path = path / "u.xlsx"
    wb.save(path)
    return path


WRITERS: dict[str, Callable[[Path, dict[str, object]], Path]] = {
    "json": write_json, "jsonl": write_jsonl, "csv": write_csv, "xlsx": write_xlsx,
}


def outcome(policy: kaohe_rules.Policy, path: Path, fact: str) -> tuple[str, object]:
    """("ok", the value read) or ("refused", the fact's problem message)."""
    [row] = list(read_units(path))
    assert row.unit is not None, row.error
    try:
        result = policy.evaluate(row.unit)
    except FactError as e:
        [problem] = [p for p in e.problems if p.fact == fact]
        return "refused", problem.message
    return "ok", result.facts[fact]


# spellings a clerk or a program writes; each is read the same everywhere (or refused everywhere)
SPELLINGS: dict[str, list[object]] = {
    "率": ["98%", "98", 98, Decimal("98.5"), "98.5%", "0.98", Decimal("0.98"), 1, "1", Decimal("1.0"), "1%",
          "100%", 0, "0", "0%", "0.5%", "１２%", "9800%", "-0.5"],
    "增幅": [Decimal("1.5"), "150%", Decimal("0.3"), "-1", "-20%", Decimal("-0.25")],
    "资金": ["120万元", "120万", "1,200,000", "1200000元", "¥1200", 1200000, "12万", "1,0", "100 万元"],
    "达标": ["是", "否", "true", "false", "yes", 1, 0, "1", "对", "也许"],
    "人数": [0, "12", "1,000", Decimal("1.5"), "一"],
}
CASES = [(fact, value) for fact, values in SPELLINGS.items() for value in values]


@pytest.mark.parametrize(("fact", "value"), CASES, ids=[f"{f}={v!r}" for f, v in CASES])
def test_every_spelling_reads_the_same_in_every_format(policy: kaohe_rules.Policy, tmp_path: Path,
                                                       fact: str, value: object) -> None:
    seen = {}
    for fmt, write in WRITERS.items():
        folder = tmp_path / fmt
        folder.mkdir()
        seen[fmt] = outcome(policy, write(folder, _unit(fact, value)), fact)
    kinds = {fmt: o[0] for fmt, o in seen.items()}
    assert len(set(kinds.values())) == 1, seen
    if kinds["json"] == "ok":
        assert len({str(v) for _, v in seen.values()}) == 1, seen


@pytest.mark.parametrize(("value", "readings"), [
    ("0.98", ("0.98%", "98%")), (Decimal("0.98"), ("0.98%", "98%")), (1, ("1%", "100%")),
    ("1", ("1%", "100%")), (Decimal("-0.5"), ("-0.5%", "-50%")),
])
def test_a_bare_percentage_up_to_one_is_refused_naming_both_readings(policy: kaohe_rules.Policy, value: object,
                                                                     readings: tuple[str, str]) -> None:
    with pytest.raises(FactError) as info:
        policy.evaluate(_unit("率", value))
    [problem] = info.value.problems
    assert problem.fact == "率" and info.value.unit == "u1"
    assert "ambiguous" in problem.message and all(r in problem.message for r in readings), problem.message


def test_unambiguous_percentages_are_read(policy: kaohe_rules.Policy) -> None:
    for value, want in (("98%", 98), ("98", 98), (98, 98), ("1%", 1), ("100%", 100), (0, 0), ("0.5%", Decimal("0.5"))):
        assert policy.evaluate(_unit("率", value)).facts["率"] == want


def test_wan_without_yuan_is_refused_with_the_hint(policy: kaohe_rules.Policy) -> None:
    with pytest.raises(FactError) as info:
        policy.evaluate(_unit("资金", "120万"))
    [problem] = info.value.problems
    assert problem.fact == "资金" and problem.hint is not None and "120万元" in problem.hint
    assert policy.evaluate(_unit("资金", "120万元")).facts["资金"] == 1200000


def test_a_percent_formatted_xlsx_cell_is_the_percentage_it_shows(policy: kaohe_rules.Policy, tmp_path: Path) -> None:
    """Excel stores 98% as 0.98 and 100% as 1: read with the cell's format, both are what the clerk saw."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "category", *FACTS])
    ws.append(["u1", "单位", 0.98, 1.5, 0, True, 0])
    ws.append(["u2", "单位", 1, 0.05, 0, True, 0])
    ws.append(["u3", "单位", 0.985, -0.2, 0, True, 0])
    for row in (2, 3, 4):
        ws.cell(row, 3).number_format = "0%"
        ws.cell(row, 4).number_format = "0.00%"
    path = tmp_path / "p.xlsx"
    wb.save(path)
    read = [policy.evaluate(r.unit).facts for r in read_units(path) if r.unit is not None]
    assert [(f["率"], f["增幅"]) for f in read] == [
        (98, 150), (100, 5), (Decimal("98.5"), -20)]


def test_a_percent_sign_inside_quotes_is_not_a_percent_format() -> None:
    from kaohe_rules.unitio import is_percent_format

    assert is_percent_format("0%") and is_percent_format("0.00%") and is_percent_format("#,##0.0%")
    assert not is_percent_format('0"%"') and not is_percent_format("0\\%") and not is_percent_format("General")


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=-2, max_value=200, places=2, allow_nan=False, allow_infinity=False))
def test_fast_and_generic_paths_agree_on_bare_percentages(value: Decimal) -> None:
    policy = _POLICY_CACHE.setdefault("p", _load(POLICY))
    unit = _unit("增幅", value)
    try:
        fast = policy.evaluate(unit).facts["增幅"]
    except FactError as e:
        fast = ("refused", [p.message for p in e.problems])
    # the generic path: the value as text goes through the same conversion, never the fast reader
    unit_text = _unit("增幅", f" {value}")
    try:
        generic = policy.evaluate(unit_text).facts["增幅"]
    except FactError as e:
        generic = ("refused", [p.message.replace(f"' {value}'", str(value)) for p in e.problems])
    assert (isinstance(fast, tuple)) == (isinstance(generic, tuple)), (value, fast, generic)
    if not isinstance(fast, tuple):
        assert fast == generic
    assert isinstance(fast, tuple) == bool(value and -1 <= value <= 1)


_POLICY_CACHE: dict[str, kaohe_rules.Policy] = {}
