"""The vectorised fact reader (issue #13) against the per-unit reader: hostile tables, never a second reading.

For every table hypothesis builds — nulls, floats, wrong types, text in numeric columns, out-of-range
values, unknown enum names, missing and extra columns, empty lists, zero rows, odd ids and categories —
a row the vectorised reader calls clean must be one the per-unit reader accepts, with exactly the same
canonical values (:func:`reference_canonical` is the per-unit reader itself).  And a well-typed table is
read clean throughout (so the reader cannot pass by declining everything).
"""

from __future__ import annotations

import datetime
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.columnar.canonical import read_canonical, reference_canonical
from kaohe_rules.columnar.frames import units_of
from kaohe_rules.language.types import Type

ROOT = Path(__file__).resolve().parents[2]

# every fact kind, optional and defaulted facts, bounds, labels, a record with defaults, bounds and lets
POLICY = """
policy 读表 "读表测试" { period 2013-01-01 .. 2013-12-31 }
category 甲 "甲类单位" total 100 { section 一 "一" 100 }
category 乙 "乙类单位" total 100 { section 一 "一" 100 }
enum 等级 "等级" ordered { 低 "低级", 中 "中级", 高 "高级" }
enum 类型 "类型" { 甲型 "乙型", 乙型 "甲型" }
record 事件 "事件" {
  日期: date "日期"
  类型: 类型 "类型"
  人数: int >= 0 "人数"
  损失: money >= 0 = 0 "损失"
  比例: percent? in 0%..100% "比例"
  瞒报: bool = false "瞒报"
  说明: text? "说明"
  let 级别: 等级 = if 人数 >= 10 then 高 else if 人数 >= 3 then 中 else 低 "级别"
  let 重: bool = 人数 >= 3 and not 瞒报 "重"
  let 加权: decimal = 人数 * 2 + 1.5 "加权"
  let 翻倍: money = 损失 * 2 "翻倍"
}
param 系数 = 1.5 "系数"
fact 完成: bool "完成"
fact 次数: int in 0..9 "次数"
fact 扣分: decimal >= 0 = 0 "扣分"
fact 金额: money >= 0 "金额"
fact 比率: percent in 0%..100% "比率"
fact 档次: 等级 = 中 "档次"
fact 备注: text? "备注"
fact 日期: date? "日期"
fact 事件: list of 事件 = [] "事件"
fact 甲专有: int? >= 0 "甲专有" for 甲
target 基本 "基本" in 甲.一 points 100, 乙.一 points 100 {
  deduct 扣分
  deduct 次数
}
ratings { 好 "好" 差 "差" } vetoed 差
bands 甲 { 好 [60, 100] 差 [0, 60) }
bands 乙 { 好 [60, 100] 差 [0, 60) }
"""


@pytest.fixture(scope="module")
def policy() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICY)


def _check(policy: kaohe_rules.Policy, frame: pl.DataFrame) -> tuple[int, int]:
    """The vectorised reader against the reference on ``frame``; (rows clean, rows the reference accepts)."""
    got = read_canonical(policy.checked, frame)
    ref = reference_canonical(policy.checked, policy.assess_row, list(units_of(frame)))
    assert got.clean.len() == frame.height == ref.clean.len()
    assert got.frame.columns == ref.frame.columns
    assert got.frame.schema == ref.frame.schema
    wrong = (got.clean & ~ref.clean).arg_true().to_list()
    assert not wrong, f"rows called clean that the per-unit reader refuses: {frame[wrong].to_dicts()[:3]}"
    both = got.clean
    mine, theirs = got.frame.filter(both), ref.frame.filter(both)
    for name in mine.columns:
        a, b = mine[name].to_list(), theirs[name].to_list()
        if a != b:
            at = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            row = both.arg_true()[at]
            raise AssertionError(f"{name} of row {row} ({frame.row(row, named=True)}): read {a[at]!r}, "
                                 f"the per-unit reader {b[at]!r}")
    return int(got.clean.sum()), int(ref.clean.sum())


# ---------------------------------------------------------------- hostile cells, column by column
_TEXTS = st.sampled_from(["", " ", "是", "否", "true", "FALSE", " yes", "1", "0", "2", "-0", "0.5", "1.5", "98%",
                          "98 %", "１２", "1,000", "1,0", "120万元", "120万", "¥5", "5元", "12.34567", "-3",
                          "2013-05-01", " 2013-05-01", "20130501", "2013-13-01", "低", "中级", "高", "甲型", "乙型",
                          "x\x1c", "\x1c", "１", "1e3", "NaN", "inf", "99999999999999999999", "100", "100.00001"])
_DECIMALS = st.decimals(min_value=Decimal("-1e19"), max_value=Decimal("1e19"), allow_nan=False, places=6)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` seven times in eight, else ``bad`` (hypothesis's one_of would pick each half the time)."""
    return st.integers(min_value=0, max_value=7).flatmap(lambda i: bad if i == 7 else good)


_NATIVE: dict[str, tuple[pl.DataType, st.SearchStrategy[Any]]] = {
    "bool": (pl.Boolean(), st.booleans()),
    "int": (pl.Int64(), _mostly(st.integers(min_value=0, max_value=9), st.sampled_from([-1, 10]))),
    "decimal": (pl.Decimal(38, 2), _mostly(st.decimals(min_value=0, max_value=200, places=2),
                                           st.just(Decimal("-0.01")))),
    "money": (pl.Decimal(38, 3), _mostly(st.decimals(min_value=0, max_value=10**6, places=3), st.just(Decimal(-1)))),
    "percent": (pl.Decimal(38, 5), st.decimals(min_value=-2, max_value=101, places=5)
                | st.sampled_from([Decimal(0), Decimal(1), Decimal("100.00000"), Decimal("1.00001")])),
    "date": (pl.Date(), st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2030, 1, 1))),
    "text": (pl.String(), st.text(max_size=5)),
    "等级": (pl.String(), _mostly(st.sampled_from(["低", "中", "高", "低级", "高级"]),
                                st.sampled_from(["丙", "", " 低", "LOW", "甲型"]))),
    "类型": (pl.String(), _mostly(st.sampled_from(["甲型", "乙型"]), st.sampled_from(["丙", "", "低"]))),
}
_OTHERS: list[tuple[pl.DataType, st.SearchStrategy[Any]]] = [
    (pl.String(), _TEXTS),
    (pl.Float64(), st.floats(allow_nan=True, allow_infinity=False, width=32)),
    (pl.Int64(), st.integers(min_value=-2, max_value=200)),
    (pl.Int64(), st.integers(min_value=-2**63, max_value=2**63 - 1)),
    (pl.UInt64(), st.integers(min_value=0, max_value=2**64 - 1)),
    (pl.Boolean(), st.booleans()),
    (pl.Decimal(38, 8), _DECIMALS),
    (pl.Decimal(38, 0), st.integers(min_value=-10**20, max_value=10**20).map(Decimal)),
    (pl.Date(), st.dates()),
    (pl.Datetime(), st.datetimes(min_value=datetime.datetime(2000, 1, 1))),
    (pl.Categorical(), st.sampled_from(["低", "是", "1"])),
]


@st.composite
def _column(draw: st.DrawFn, type_: Type, height: int, hostile: bool) -> pl.Series:
    """A column of a fact of ``type_``: its own type, mostly valid, or (hostile) any type and any cell."""
    dtype, cells = draw(st.sampled_from(_OTHERS)) if hostile else _NATIVE[type_.name or type_.kind]
    if hostile:
        values = [draw(st.none() | cells) for _ in range(height)]
    else:  # a null now and then (a fact not given)
        values = [None if draw(st.integers(min_value=0, max_value=15)) == 15 else draw(cells) for _ in range(height)]
    return pl.Series(values, dtype=dtype, strict=False)


@st.composite
def _records(draw: st.DrawFn, policy: kaohe_rules.Policy, height: int, hostile: bool) -> pl.Series:
    fields = {f.name: policy.checked.record_fields["事件"][f.name] for f in policy.checked.records["事件"].fields}
    names = list(fields)
    if hostile:
        names = draw(st.lists(st.sampled_from([*fields, "未知字段", "级别"]), unique=True, max_size=9))
    weird = draw(st.sets(st.sampled_from(names))) if hostile and names else set()
    lengths = [draw(st.integers(min_value=0, max_value=2) | st.none()) for _ in range(height)]
    total = sum(n or 0 for n in lengths)
    columns = {name: draw(_column(fields[name] if name in fields else Type("int"), total, name in weird))
               for name in names}
    if not columns:
        columns = {"人数": pl.Series([None] * total, dtype=pl.Int64)}
    items = pl.DataFrame(columns).to_struct("事件")
    if hostile and total and draw(st.booleans()):
        items = pl.Series("事件", [None, *items.to_list()[1:]], dtype=items.dtype)  # a null item
    out: list[Any] = []
    at = 0
    for n in lengths:
        out.append(None if n is None else items.slice(at, n).to_list())
        at += n or 0
    return pl.Series("事件", out, dtype=pl.List(items.dtype))


@st.composite
def _tables(draw: st.DrawFn, policy: kaohe_rules.Policy) -> pl.DataFrame:
    """A table whose columns are mostly well typed, with a few hostile columns, ids and categories."""
    height = draw(st.integers(min_value=0, max_value=6))
    facts = list(policy.checked.fact_types)
    hostile = draw(st.sets(st.sampled_from(facts), max_size=2)) if draw(st.booleans()) else set()
    missing = draw(st.sets(st.sampled_from(facts), max_size=2)) if draw(st.integers(0, 3)) == 3 else set()
    ids = draw(_mostly(st.just("text"), st.sampled_from(["int", "odd", "missing"])))
    columns: dict[str, pl.Series] = {}
    if ids == "text":
        columns["id"] = pl.Series([f"u{i}" for i in range(height)], dtype=pl.String)
    elif ids == "int":
        columns["id"] = pl.Series([draw(st.integers(min_value=-10**19, max_value=10**19)) for _ in range(height)],
                                  dtype=pl.Int128)
    elif ids == "odd":
        columns["id"] = pl.Series([draw(st.sampled_from(["a", " ", "", "\x1c", "\u3000", "x" * 201, None]))
                                   for _ in range(height)], dtype=pl.String)
    categories = _mostly(st.sampled_from(["甲", "乙", "甲类单位", "乙类单位"]), st.sampled_from(["丙", "", None]))
    columns["category"] = pl.Series([draw(categories) for _ in range(height)], dtype=pl.String)
    if draw(st.booleans()):
        columns["name"] = pl.Series([draw(st.none() | st.text(max_size=3)) for _ in range(height)], dtype=pl.String)
    for name, type_ in policy.checked.fact_types.items():
        if name in missing or (name == "甲专有" and draw(_mostly(st.just(True), st.just(False)))):
            continue
        if type_.kind == "list":
            columns[name] = draw(_records(policy, height, name in hostile))
        else:
            columns[name] = draw(_column(type_, height, name in hostile)).alias(name)
    if draw(st.integers(min_value=0, max_value=4)) == 4:
        columns["多余列"] = draw(_column(Type("int"), height, True)).alias("多余列")
    return pl.DataFrame(columns)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_row_called_clean_is_read_exactly_as_the_per_unit_reader_reads_it(policy: kaohe_rules.Policy,
                                                                              data: st.DataObject) -> None:
    _check(policy, data.draw(_tables(policy)))


def test_zero_rows_and_a_table_of_only_ids(policy: kaohe_rules.Policy) -> None:
    assert _check(policy, pl.DataFrame({"id": pl.Series([], dtype=pl.String)})) == (0, 0)
    assert _check(policy, pl.DataFrame({"id": ["a"], "category": ["甲"]})) == (0, 0)  # facts missing


def test_a_well_typed_table_is_read_clean(policy: kaohe_rules.Policy) -> None:
    event = {"日期": datetime.date(2013, 3, 1), "类型": "甲型", "人数": 4, "损失": Decimal("12.5"), "比例": None,
             "瞒报": None, "说明": "x"}
    frame = pl.DataFrame({
        "id": ["a", "b", "c"], "name": ["甲一", None, "丙"], "category": ["甲", "乙类单位", "乙"],
        "完成": [True, False, True], "次数": [0, 9, 3], "扣分": [Decimal("1.5"), None, Decimal("0")],
        "金额": ["120万元", "5元", "1,000"], "比率": ["98%", "100", "0"], "档次": ["高级", None, "低"],
        "备注": ["", None, "说明"], "日期": [datetime.date(2013, 1, 1), None, None],
        "事件": [[event, {**event, "人数": 12, "瞒报": True}], [], None],
    })
    assert _check(policy, frame) == (3, 3)
    canonical = read_canonical(policy.checked, frame).frame
    assert canonical["金额"].to_list() == [12_000_000_000, 50_000, 10_000_000]  # 元 × 10**4
    assert canonical["事件"][0].to_list()[1]["级别"] == 2 and canonical["事件"][0].to_list()[1]["重"] is False
    assert canonical["事件"][0].to_list()[0]["加权"] == 95_000  # 4 × 2 + 1.5
    assert canonical["事件"][0].to_list()[0]["翻倍"] == 250_000  # 12.5 × 2


@pytest.mark.parametrize("path", ["benchmarks/seed-core.kh", "policies/karamay-2013.kh"])
def test_generated_units_of_the_benchmark_policies_are_read_clean(path: str) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import synthetic
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    policy = kaohe_rules.load(ROOT / path)
    generate = synthetic.seed_core_units if "seed" in path else synthetic.units
    rows = [{"id": u["id"], "name": u.get("name"), "category": u["category"], **u["facts"]}
            for u in generate(policy, 300)]
    frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    clean, accepted = _check(policy, frame)
    assert clean == accepted == 300


# ----------------------------------------------- record lets at the edge of the canonical columns (review13)
BIG_LETS = """
policy 记录派生 "记录派生" { period 2020-01-01 .. 2020-12-31 }
category 甲 "甲" total 100 { section 一 "一" 100 }
record 事 "事" {
  人: int >= 0 "人"
  分: decimal >= 0 = 0 "分"
  let 倍: int = 人 * 99999999 "倍"
  let 折 = 分 * 3 - 人 "折"
}
fact 事: list of 事 = [] "事"
target 一 "一" in 甲.一 points 100 {
  deduct 1 when any(事 where 倍 > 1000)
  deduct 3 when any(事 where 折 > 7)
}
ratings { 好 "好" 差 "差" } vetoed 差
bands 甲 { 好 [50, 100] 差 [0, 50) }
"""


def test_an_int_record_let_beyond_int64_goes_per_unit_and_never_fails_the_batch() -> None:
    """``人 * 99999999`` with 人 = 10**11 is about 10**19: the per-unit evaluator holds it, the canonical
    Int64 column cannot — that item goes per unit (it used to fail the whole batch with polars'
    InvalidOperationError), the other rows stay columnar, every row equals policy.evaluate."""
    policy = kaohe_rules.load(BIG_LETS, name="big-lets.kh")
    rows = [{"id": "a", "category": "甲", "事": [{"人": 10 ** 11, "分": Decimal(1)}]},
            {"id": "b", "category": "甲", "事": [{"人": 2 ** 62, "分": Decimal(0)}]},  # refused per unit
            {"id": "c", "category": "甲", "事": [{"人": 3, "分": Decimal(10)}]}]
    results = policy.evaluate_table(pl.DataFrame(rows))
    assert results["engine"].to_list() == ["per-unit", "per-unit", "columnar"]
    assert results["status"].to_list() == ["assessed", "error", "assessed"]
    for row, unit in zip(results.iter_rows(named=True), rows, strict=True):
        if row["status"] == "assessed":
            result = policy.evaluate({"id": unit["id"], "category": "甲", "facts": {"事": unit["事"]}})
            assert row["score"] == result.score


def test_a_record_let_that_could_pass_34_digits_is_not_compiled() -> None:
    """Int128 wraps silently and the per-unit context rounds past 34 digits: such a let is never read
    columnar (the rows holding those records are clean only when they hold none)."""
    policy = kaohe_rules.load(BIG_LETS.replace("人 * 99999999 \"倍\"", "人 * 99999999 * 99999999 * 99999999 \"倍\""),
                              name="huge-lets.kh")
    rows = [{"id": "a", "category": "甲", "事": [{"人": 5, "分": Decimal(1)}]}, {"id": "b", "category": "甲", "事": []}]
    canonical = read_canonical(policy.checked, pl.DataFrame(rows))
    assert canonical.clean.to_list() == [False, True]
    with pytest.warns(kaohe_rules.ColumnarFallbackWarning, match="34 digits"):  # the compiler refuses it too
        results = policy.evaluate_table(pl.DataFrame(rows))
    assert results["score"].to_list() == [Decimal(99), Decimal(100)]  # 倍 = 5 × 10**24 > 1000: 1 deducted
    assert policy.evaluate({"id": "a", "category": "甲", "facts": {"事": rows[0]["事"]}}).score == 99
