"""Robustness fuzzing (issue #9): hostile fact rows, unit files and policies, with metamorphic checks.

The promise under test: **one bad row never costs the batch, no input stalls the
engine, and nothing but a kaohe error reaches a user.**  This module generates
the inputs that break that promise and classifies what the engine does with them:

* **Fact rows** — valid units of the bundled Karamay policy and of two small
  policies (one covering every fact type), mutated: a fact or record field
  replaced by a hostile value (``10**5000``, ``Decimal('9E+999999')``, NaN,
  5,000-deep lists, 200,000-character strings, lone surrogates, full-width
  digits, ``"1,,,,20万元"``, bytes, objects whose ``__repr__``/``__eq__``/
  ``__hash__`` raise, cyclic lists …), keys deleted, renamed or doubled, the
  envelope (id/category/facts) broken, lists made long.  Each row goes through
  ``evaluate`` (plain and traced), ``evaluate_many``, ``Result.explain()`` /
  ``to_dict()`` / the trace document and its replay, and ``what_if``.
* **Unit files** — the same units written as JSON, JSON Lines, CSV and XLSX and
  read back with :func:`kaohe_rules.unitio.read_units`, plus hand-made hostile
  files (deep nesting, huge number literals, NaN, duplicate keys, invalid UTF-8).
* **Policies** — well-formed policies generated from the grammar (categories,
  sections, targets with rules, bands covering the range, vetoes, enums,
  records with ``let`` fields, outcomes) and token mutations of those and of the
  bundled policies.  ``load`` must return a Policy or raise a PolicyError whose
  diagnostics all carry a ``K`` code and render; accepted policies are then fed
  generated units.
* **Metamorphic checks** — the same unit with its keys in another order, as a
  read-only mapping, with its numbers/bools/dates spelled in another documented
  way, written in another file format, evaluated with the trace on or off, or in
  a batch with ``workers=2``: the same result, or the same error.

Every case is generated from ``(seed, kind, index)`` alone, so a failure found by
a long run is reproduced exactly by ``--replay KIND:SEED:INDEX``.

The classification:

* **internal error** — any exception that is not a kaohe error (``KeyError``,
  ``RecursionError``, ``ValueError`` …), and an ``EvaluationError`` whose message
  says "internal error" (the engine's own last-resort wrapper);
* **stall** — a case slower than the stall threshold (2 s by default); the long
  run executes cases in a child process with a watchdog that kills it after the
  hard timeout, because some stalls (a C-level ``int(Decimal('9E+999999'))``)
  cannot be interrupted by a signal;
* **violation** — a broken promise that is not an exception: results that differ
  where they must agree, a batch that loses or reorders a row, a message that
  echoes a 200,000-character value, a diagnostic without a ``K`` code.

Run it::

    python -m kaohe_rules.testing.fuzz --rows 100000 --mutations 10000
    bash dev.sh fuzz-robustness --rows 2000 --mutations 300

The CI suite (``tests/robustness/test_rb_fuzz_*.py``) runs bounded slices of
the same generators.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import EvaluationError, FactError, KaoheError, PolicyError, UnitInputError
from ..limits import shown as _limits_shown
from .choosers import Chooser, DrawChooser, RandomChooser
from .domains import ABSENT, Domain, Domains
from .policygen import generate_rich_policy

if TYPE_CHECKING:
    from ..policy import Policy

ROOT = Path(__file__).resolve().parent.parent.parent
KARAMAY_PATH = ROOT / "policies" / "karamay-2013.kh"
KARAMAY_UNITS_PATH = ROOT / "policies" / "karamay-2013" / "units.json"

#: The small policy of tests/runtime/test_robustness.py: lists of records with defaults, optional facts, a veto.
SMALL_POLICY = """policy 小 { }
category 单位 total 100 { section 甲 60 section 乙 40 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
enum 级 ordered { 低, 高 }
record 事 { 人: int >= 0  级别: 级 = 低  日: date? }
fact 事: list of 事 = []
fact 钱: money >= 0
fact 率: percent? in 0%..100%
fact 指标: int?
let 合计 = sum(事 of 人)
target 甲 in 单位.甲 points 60 { full when 钱 >= 100万元 deduct 5 per count(事 where 级别 == 高) cap 30 }
target 乙 in 单位.乙 points 40 { proportional 率 ?? 0% deduct 1 per 合计 }
veto 突破 when 指标 is set and 合计 > 指标
"""

#: Every fact type: int, decimal, money, percent, bool, date, text, enum, a list of records with
#: optional fields, defaults and a derived ``let`` field, an optional fact, a list of an enum.
ALL_TYPES_POLICY = """policy 全类型 "每种事实类型各一" { period 2013-01-01 .. 2013-12-31 }
category 单位 "被考核单位" total 100 { section 甲 60 section 乙 40 }
ratings { 好 "好" 中 "中" 差 "差" } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
enum 级 "等级" ordered { 低 "低级", 中 "中级", 高 "高级" }
record 事 "事件" {
  日: date "日期"
  人: int >= 0 "人数"
  级别: 级 = 低
  额: money? "金额"
  迟报: bool = false
  备注: text?
  let 重: bool = 级别 >= 中 or 人 >= 3
}
fact 事: list of 事 = [] "事件"
fact 标签: list of 级 = []
fact 人数: int >= 0
fact 系数: decimal in 0..10
fact 钱: money >= 0
fact 率: percent? in 0%..100%
fact 达标: bool
fact 报告日: date?
fact 名称: text?
fact 等: 级 = 低
fact 指标: int?
fact 奖励金额: money = 0元
let 合计 = sum(事 of 人)
target 甲 in 单位.甲 points 60 {
  full when 钱 >= 100万元
  deduct 5 per count(事 where 重) cap 30
  deduct 10 unless 达标
  deduct 1 per 人数 - 100 cap 5
  deduct 2 when 名称 is set and 名称 == "坏"
  deduct 2 when count(标签 where it == 高) > 1
}
target 乙 in 单位.乙 points 40 {
  proportional 率 ?? 0%
  deduct 系数
  deduct 1 per 合计 cap 20
  deduct 5 when 报告日 is set and 报告日 > 2013-11-25
  deduct 3 when 等 >= 高
}
veto 突破 "突破指标" when 指标 is set and 合计 > 指标
veto 大事 "重大事件" on 事 where 人 >= 10
outcome 好 { reward 奖 "奖励" = 奖励金额 * 10% }
outcome 差 { fine 罚 "罚款" = 奖励金额 * 5% }
"""

BUNDLED_POLICIES = ("karamay", "small", "all-types")


# ===================================================================== choices
# Chooser, RandomChooser and DrawChooser live in .choosers (shared with .policygen); imported above.

# ===================================================================== hostile values
class HostileObject:
    """An object that raises from every method an engine might call while reporting it."""

    def __repr__(self) -> str:
        raise RuntimeError("hostile __repr__")

    def __str__(self) -> str:
        raise RuntimeError("hostile __str__")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("hostile __eq__")

    def __hash__(self) -> int:
        raise RuntimeError("hostile __hash__")

    def __bool__(self) -> bool:
        raise RuntimeError("hostile __bool__")

    def __len__(self) -> int:
        raise RuntimeError("hostile __len__")


class HostileStr(str):
    """A string subclass whose ``__repr__``, ``__eq__`` and ``__hash__`` raise."""

    def __repr__(self) -> str:
        raise RuntimeError("hostile str __repr__")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("hostile str __eq__")

    def __hash__(self) -> int:
        raise RuntimeError("hostile str __hash__")


class HostileInt(int):
    """An int subclass whose ``__repr__`` and ``__str__`` raise."""

    def __repr__(self) -> str:
        raise RuntimeError("hostile int __repr__")

    __str__ = __repr__


class HostileMapping(dict[str, object]):
    """A dict subclass whose lookups raise: a unit that is a mapping only in name."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError("hostile mapping __getitem__")

    def get(self, key: str, default: object = None) -> object:
        raise RuntimeError("hostile mapping get")


def _nested_list(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _nested_dict(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"人": value}
    return value


def _cyclic() -> object:
    items: list[object] = []
    items.append(items)
    return items


def _cyclic_record() -> object:
    record: dict[str, object] = {"人": 1}
    record["级别"] = record
    return record


#: Values that stall the current engine for seconds in C code (``int()`` of a huge exponent);
#: used where a watchdog guards the run.
MONSTERS: tuple[Callable[[], object], ...] = (
    lambda: Decimal("9E+999999"),
    lambda: Decimal("1E-999999"),
    lambda: Decimal("-9E+999999"),
    lambda: "9E+999999",
    lambda: "1E-999999",
    lambda: "9e999999万元",
    lambda: range(10**12),  # a Sequence of a trillion items: the engine iterates it (difflib hints)
)

#: Hostile values, built on demand (some are large).
HOSTILE: tuple[Callable[[], object], ...] = (
    lambda: 10**5000, lambda: -(10**5000), lambda: 10**18, lambda: 10**18 - 1, lambda: -(10**18), lambda: 2**63,
    lambda: 10**30,
    lambda: Decimal("1E+5000"), lambda: Decimal("-1E+5000"), lambda: Decimal("1E-5000"), lambda: Decimal("-0"),
    lambda: Decimal("NaN"), lambda: Decimal("sNaN"), lambda: Decimal("Infinity"), lambda: Decimal("-Infinity"),
    lambda: Decimal("1." + "0" * 40 + "1"), lambda: Decimal("0.00000000000000001"), lambda: Decimal("1E+17"),
    lambda: float("nan"), lambda: float("inf"), lambda: 0.1, lambda: 1e308,
    lambda: "NaN", lambda: "Infinity", lambda: "-inf", lambda: "1e5000", lambda: "1E+5000", lambda: "1e-5000",
    lambda: "１２３", lambda: "١٢٣", lambda: "۱۲", lambda: "१२", lambda: "1,0", lambda: "1,,,,20万元",
    lambda: "-0", lambda: "+5", lambda: " 5 ", lambda: "0x10", lambda: "1_000", lambda: "∞", lambda: "1e2",
    lambda: "100万元", lambda: "-100万元", lambda: "¥-1", lambda: "98.5%", lambda: "%", lambda: "万元",
    lambda: "元", lambda: "", lambda: " ", lambda: "\x00", lambda: "\ud800", lambda: "a\udfffb", lambda: "是",
    lambda: "否", lambda: "true", lambda: "TRUE", lambda: "2013-02-30", lambda: "2013-13-01",
    lambda: "0000-01-01", lambda: "9999-12-31", lambda: "2013-1-1", lambda: "99999999-01-01", lambda: "低",
    lambda: "高", lambda: "不存在", lambda: "1" * 5000, lambda: "9" * 200_000, lambda: "x" * 200_000,
    lambda: "1." + "0" * 100 + "1", lambda: "1" * 30 + "万元", lambda: "\u202e12", lambda: "1\u00a0000",
    lambda: True, lambda: False, lambda: None, lambda: b"12", lambda: bytearray(b"12"), lambda: memoryview(b"1"),
    lambda: [], lambda: {}, lambda: [1, 2], lambda: {"人": 1}, lambda: _nested_list(5000),
    lambda: _nested_dict(5000), lambda: _cyclic(), lambda: [_cyclic_record()], lambda: {1, 2}, lambda: (1, 2),
    lambda: datetime.date(1, 1, 1), lambda: datetime.date.max, lambda: datetime.datetime(2013, 1, 1, 12, 30),
    lambda: datetime.time(1, 2), lambda: datetime.timedelta(days=1), lambda: HostileObject(),
    lambda: HostileStr("5"), lambda: HostileInt(5), lambda: range(3), lambda: (i for i in range(3)),
    lambda: object(), lambda: type, lambda: Decimal, lambda: 1j, lambda: [[{"人": 1}] * 3],
    lambda: [{"人": _nested_list(3000)}], lambda: [{"日": "9" * 200_000, "人": 1}],
)


def hostile_value(ch: Chooser, *, monsters: bool) -> object:
    """One hostile value; ``monsters`` adds the ones that stall the unfixed engine for seconds."""
    pool = HOSTILE + MONSTERS if monsters else HOSTILE
    return ch.choice(pool)()


# ===================================================================== valid values
def valid_value(domain: Domain, ch: Chooser, max_list: int = 3) -> object:
    """A value of the domain as a unit supplies it (never ABSENT): the canonical spelling."""
    kind = domain.kind
    if kind == "bool":
        return ch.chance(50)
    if domain.number is not None:
        n = domain.number
        if n.interesting and ch.chance(40):
            return n.value(ch.choice(n.interesting))
        step = n.step
        low, high = int(n.low / step), int(n.high / step)
        if high - low > 10**6:
            high = low + 10**6
        return n.value(Decimal(ch.integer(low, high)) * step)
    if kind == "date":
        assert domain.dates is not None
        if domain.interesting_dates and ch.chance(40):
            day: datetime.date = ch.choice(domain.interesting_dates)
            return day.isoformat()
        span = (domain.dates[1] - domain.dates[0]).days
        return (domain.dates[0] + datetime.timedelta(days=ch.integer(0, max(span, 0)))).isoformat()
    if kind == "text":
        return "".join(ch.choice("甲乙丙ab") for _ in range(ch.integer(1, 3)))
    if kind == "enum":
        return str(ch.choice(domain.members))
    if kind == "record":
        record: dict[str, object] = {}
        for name, field in domain.fields:
            if field.may_be_absent and ch.chance(40):
                continue
            record[name] = valid_value(field, ch, max_list)
        return record
    if kind == "list":
        assert domain.elem is not None
        return [valid_value(domain.elem, ch, max_list) for _ in range(ch.integer(0, max_list))]
    raise ValueError(f"cannot generate a value of {domain.type.describe()}")  # pragma: no cover


def valid_unit(policy: Policy, domains: Domains, ch: Chooser, category: str | None = None,
               max_list: int = 3) -> dict[str, Any]:
    """A unit the policy accepts: every fact of one category, optional ones sometimes left out."""
    cat = category if category is not None else str(ch.choice(policy.categories))
    facts: dict[str, object] = {}
    for name, domain in domains.facts_for(cat):
        if domain.may_be_absent and ch.chance(30):
            continue
        facts[name] = valid_value(domain, ch, max_list)
    return {"id": f"u{ch.integer(0, 999)}", "name": "单位", "category": cat, "facts": facts}


# ===================================================================== spellings
def respell(value: object, domain: Domain, ch: Chooser) -> object:
    """Another spelling of a canonical value that docs/api.md says is the same value."""
    kind = domain.kind
    if value is None or value is ABSENT:
        return value
    if kind == "bool":
        assert isinstance(value, bool)
        return ch.choice([value, int(value), "true" if value else "false", "是" if value else "否",
                          "yes" if value else "no"])
    if domain.number is not None:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            return value
        if isinstance(value, str):
            if not re.fullmatch(r"-?\d+(\.\d+)?", value):
                return value  # already another spelling ("120万元"): keep it
            value = Decimal(value)
        number = Decimal(value)
        options: list[object] = [str(number), number]
        if number == number.to_integral_value():
            options.append(int(number))
        if kind == "decimal" and abs(number) >= 1000 and number == number.to_integral_value():
            options.append(f"{int(number):,}")
        if kind == "money":
            options += [f"{number}元", f"¥{number}"]
            wan = number / 10000
            if wan * 10000 == number and len(wan.as_tuple().digits) < 20:
                options.append(f"{wan.normalize():f}万元")
        if kind == "percent":
            options.append(f"{number}%")
            if number and -1 <= number <= 1:  # bare, it reads two ways (to_percent refuses it): only with %
                options = [f"{number}%"]
        return ch.choice(options)
    if kind == "date":
        return ch.choice([value, datetime.date.fromisoformat(str(value))])
    if kind == "record" and isinstance(value, dict):
        fields = dict(domain.fields)
        return {k: respell(v, fields[k], ch) if k in fields else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list) and domain.elem is not None:
        return [respell(v, domain.elem, ch) for v in value]
    return value


def respelled_unit(unit: Mapping[str, Any], domains: Domains, ch: Chooser) -> dict[str, Any]:
    facts = unit["facts"]
    new = {name: respell(value, domains.fact(name), ch) for name, value in facts.items()}
    return dict(unit) | {"facts": new}


# ===================================================================== outcomes
Outcome = tuple[Any, ...]


def result_signature(result: Any) -> Outcome:
    """What two evaluations of the same unit must agree on: numbers by value (``552`` and ``552.0``
    are one score — the trace document writes them alike), ratings, vetoes, money, every target."""
    return ("result", _number(result.score), result.band, result.rating, result.vetoed,
            tuple(sorted(v.name for v in result.vetoes)), _number(result.consequences.total),
            tuple((t.name, _number(t.score)) for t in result.targets))


def _number(value: object) -> str:
    return str(value.normalize()) if isinstance(value, Decimal) and value.is_finite() else str(value)


def error_signature(exc: KaoheError) -> Outcome:
    if isinstance(exc, FactError):
        return ("FactError", tuple(sorted((p.fact, p.message) for p in exc.problems)))
    return (type(exc).__name__, str(exc))


def loose(outcome: Outcome) -> Outcome:
    """For comparisons across file formats: results exactly, errors by kind and fact paths only
    (a CSV cell and a JSON number may be refused with differently worded messages)."""
    if outcome[0] == "result":
        return outcome
    if outcome[0] == "FactError":
        return ("refused", tuple(sorted({fact for fact, _ in outcome[1]})))
    return ("refused",)


class Internal(Exception):
    """An internal error caught by a check, with where it happened."""

    def __init__(self, exc: BaseException, what: str) -> None:
        self.exc = exc
        self.what = what
        super().__init__(what)


class Violation(Exception):
    """A broken promise that is not an exception of the engine."""

    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(f"{check}: {detail}")


def _location(exc: BaseException) -> str:
    """The innermost frame inside kaohe_rules (or the innermost frame): the deduplication key."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "kaohe_rules" in f.filename and not f.filename.endswith("testing/fuzz.py")]
    candidates = ours or list(frames)
    if not candidates:
        return "?"
    frame = candidates[-1]
    name = frame.filename
    if "kaohe_rules" in name:
        name = "kaohe_rules" + name.rsplit("kaohe_rules", 1)[1]
    return f"{name}:{frame.lineno} in {frame.name}"


MAX_MESSAGE = 2_000


def shown(value: object, depth: int = 2) -> str:
    """``limits.shown`` for the harness's own descriptions, which must survive any value."""
    try:
        return _limits_shown(value, depth)
    except Exception:
        return f"<a {type(value).__name__} whose repr raises>"


def _check_error(exc: KaoheError, what: str) -> None:
    """A kaohe error must be well formed: problems that render, bounded messages, K codes."""
    if isinstance(exc, EvaluationError) and "internal error" in str(exc):
        raise Internal(exc, what)
    if isinstance(exc, FactError):
        if not exc.problems:
            raise Violation("fact-error-without-problems", what)
        for p in exc.problems:
            if len(p.render()) > MAX_MESSAGE:
                raise Violation("unbounded-message", f"{what}: a problem of {len(p.render())} characters "
                                f"({shown(p.render())})")
            json.dumps(p.to_dict(), ensure_ascii=False)
    elif len(str(exc)) > MAX_MESSAGE:
        raise Violation("unbounded-message", f"{what}: {type(exc).__name__} of {len(str(exc))} characters")


#: The slowest single engine call of the current task: (seconds, what).  A stall is one call over
#: the threshold, whatever the harness does around it (a row runs a dozen calls).
_LONGEST: list[Any] = [0.0, ""]


def _clocked(what: str, started: float) -> None:
    elapsed = time.perf_counter() - started
    if elapsed > _LONGEST[0]:
        _LONGEST[0], _LONGEST[1] = elapsed, what


def outcome(policy: Policy, unit: object, what: str, *, trace: bool = False) -> tuple[Outcome, Any]:
    """Evaluate and classify: (signature, result or None); raises Internal for a non-kaohe exception."""
    started = time.perf_counter()
    try:
        result = policy.evaluate(unit, trace=trace)  # type: ignore[arg-type]
    except (FactError, EvaluationError) as exc:
        _clocked(what, started)
        _check_error(exc, what)
        return error_signature(exc), None
    except Exception as exc:
        raise Internal(exc, what) from exc
    _clocked(what, started)
    try:
        return result_signature(result), result
    except Exception as exc:
        raise Internal(exc, what + ": reading the result") from exc


# ===================================================================== row mutations
@attrs.frozen
class Case:
    """A generated input and how it was made (for the report)."""

    kind: str
    seed: str
    index: int
    policy: str
    steps: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.kind}:{self.seed}:{self.index} [{self.policy}] " + "; ".join(self.steps)


class Policies:
    """The bundled policies, loaded once (before forking, so children inherit them)."""

    def __init__(self) -> None:
        import kaohe_rules

        self.by_name: dict[str, Policy] = {
            "karamay": kaohe_rules.load(KARAMAY_PATH),
            "small": kaohe_rules.load(SMALL_POLICY, name="small.kh"),
            "all-types": kaohe_rules.load(ALL_TYPES_POLICY, name="all-types.kh"),
        }
        self.domains = {name: Domains(p.checked) for name, p in self.by_name.items()}
        raw = json.loads(KARAMAY_UNITS_PATH.read_text(encoding="utf-8"), parse_float=Decimal)
        self.karamay_units: list[dict[str, Any]] = list(raw["units"])
        self.texts = {"karamay": KARAMAY_PATH.read_text(encoding="utf-8"), "small": SMALL_POLICY,
                      "all-types": ALL_TYPES_POLICY}

    def base_unit(self, name: str, ch: Chooser) -> dict[str, Any]:
        if name == "karamay" and ch.chance(70):
            unit = ch.choice(self.karamay_units)
            return dict(unit) | {"facts": dict(unit["facts"])}
        return valid_unit(self.by_name[name], self.domains[name], ch)


def _list_facts(facts: Mapping[str, Any]) -> list[str]:
    return [k for k, v in facts.items() if isinstance(v, list) and v and isinstance(v[0], dict)]


def mutate_unit(unit: dict[str, Any], ch: Chooser, *, monsters: bool, max_list: int) -> tuple[object, list[str]]:
    """Apply one to three hostile edits to a copy of a valid unit; returns the row and the steps."""
    steps: list[str] = []
    row: object = dict(unit) | {"facts": dict(unit["facts"])}
    for _ in range(ch.integer(1, 3)):
        if not isinstance(row, dict) or not isinstance(row.get("facts"), dict):
            break
        facts: dict[str, Any] = row["facts"]
        names = list(facts)
        op = ch.choice(["set"] * 6 + ["field"] * 3 + ["delete", "rename", "double", "unknown", "envelope",
                                                        "envelope", "long-list", "flat", "unit"])
        if op == "set" and names:
            name = ch.choice(names)
            facts[name] = hostile_value(ch, monsters=monsters)
            steps.append(f"set {name} = {shown(facts[name])}")
        elif op == "field" and _list_facts(facts):
            name = ch.choice(_list_facts(facts))
            items = list(facts[name])
            at = ch.integer(0, len(items) - 1)
            record = dict(items[at])
            fields = list(record) + ["人", "日", "级别", "名称", "死亡人数", "扣分"]
            field = ch.choice(fields)
            if ch.chance(15):
                record.pop(field, None)
                steps.append(f"delete {name}[{at}].{field}")
            else:
                record[field] = hostile_value(ch, monsters=monsters)
                steps.append(f"set {name}[{at}].{field} = {shown(record[field])}")
            items[at] = record
            facts[name] = items
        elif op == "delete" and names:
            name = ch.choice(names)
            del facts[name]
            steps.append(f"delete {name}")
        elif op == "rename" and names:
            name = ch.choice(names)
            new = ch.choice([name + " ", " " + name, name[:-1], name + "\u200b", name.upper() + "X", "ＩＤ"])
            facts[new] = facts.pop(name)
            steps.append(f"rename {name} -> {shown(new)}")
        elif op == "double" and names:
            name = ch.choice(names)
            facts["\ufeff" + name] = facts[name]
            steps.append(f"double {name} (BOM-prefixed copy)")
        elif op == "unknown":
            key = ch.choice(["x", "", " ", "id", "facts", "category", "\x00", "a" * 10_000, "事故[0]"])
            facts[key] = hostile_value(ch, monsters=False)
            steps.append(f"unknown fact {shown(key)}")
        elif op == "envelope":
            key = ch.choice(["id", "category", "facts", "name"])
            if ch.chance(25):
                row.pop(key, None)
                steps.append(f"delete envelope {key}")
            else:
                value = ch.choice([lambda: hostile_value(ch, monsters=False), lambda: "区政府 ", lambda: "区人民政府",
                                   lambda: "不存在", lambda: "", lambda: 3, lambda: -1])()
                row[key] = value
                steps.append(f"envelope {key} = {shown(value)}")
        elif op == "long-list":
            name = ch.choice(_list_facts(facts) or names or ["事"])
            template = facts.get(name)  # possibly a hostile value: never asked for its truth
            # mostly a few hundred items; one in twenty up to max_list (beyond MAX_LIST_ITEMS in the long run)
            size = ch.integer(max_list // 2, max_list) if ch.chance(5) else ch.integer(1, max(1, max_list // 200))
            facts[name] = [template[0] if isinstance(template, list) and template else {"人": 1}] * size
            steps.append(f"long list {name} x{size}")
        elif op == "flat":
            flat = {k: v for k, v in row.items() if k != "facts"} | facts
            row = flat
            steps.append("flat form (facts beside id/category)")
        elif op == "unit":
            choice = ch.integer(0, 6)
            if choice == 0:
                row = HostileMapping(row)
            elif choice == 1:
                row = types.MappingProxyType(row)
            else:
                row = hostile_value(ch, monsters=False)
            steps.append(f"unit replaced by {type(row).__name__}")
            break
    return row, steps


def reorder(unit: object) -> object:
    """The same unit with its keys (envelope, facts, record fields) in reverse order."""
    if unit.__class__ is not dict:
        return unit
    assert isinstance(unit, dict)
    out: dict[str, Any] = {}
    for key in reversed(list(unit)):
        value = unit[key]
        if key == "facts" and value.__class__ is dict:
            value = {k: _reorder_value(value[k]) for k in reversed(list(value))}
        out[key] = value
    return out


def _reorder_value(value: object) -> object:
    if value.__class__ is list:
        assert isinstance(value, list)
        return [{k: v[k] for k in reversed(list(v))} if v.__class__ is dict else v for v in value]
    return value


# ===================================================================== row checks
@attrs.define
class Tally:
    """What a slice of the run did and found."""

    rows: int = 0
    policies: int = 0
    mutations: int = 0
    accepted: int = 0
    generated: int = 0
    file_records: int = 0
    batches: int = 0
    spellings: int = 0
    results: int = 0
    refusals: int = 0
    failures: list[Failure] = attrs.Factory(list)
    slowest: tuple[float, str] = (0.0, "")
    #: the slowest single engine call: (seconds, what, case)
    longest_call: tuple[float, str] = (0.0, "")

    def failures_text(self) -> str:
        """Each failure with the case that shows it (for a test's assertion message)."""
        return "\n".join(f"[{f.kind}] {f.key}: {f.detail}\n    {f.case}" for f in self.failures)

    def add(self, other: Tally) -> None:
        for field in ("rows", "policies", "mutations", "accepted", "generated", "file_records", "batches",
                      "results", "refusals", "spellings"):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.failures.extend(other.failures)
        if other.slowest[0] > self.slowest[0]:
            self.slowest = other.slowest
        if other.longest_call[0] > self.longest_call[0]:
            self.longest_call = other.longest_call


@attrs.frozen
class Failure:
    kind: str  # internal | stall | violation
    key: str  # exception type + location, or check name
    detail: str
    case: str


def _record(tally: Tally, case: Case, exc: BaseException) -> None:
    if isinstance(exc, Internal):
        inner = exc.exc
        tally.failures.append(Failure("internal", f"{type(inner).__name__} at {_location(inner)}",
                                      f"{exc.what}: {shown(_safe_str(inner), 1)}", case.describe()))
    elif isinstance(exc, Violation):
        tally.failures.append(Failure("violation", exc.check, exc.detail[:500], case.describe()))
    else:
        tally.failures.append(Failure("internal", f"{type(exc).__name__} at {_location(exc)} (harness step)",
                                      shown(_safe_str(exc), 1), case.describe()))


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:300]
    except Exception:
        return f"<{type(exc).__name__}>"


def _guard(what: str, function: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        return function()
    except (Internal, Violation):
        raise
    except KaoheError as exc:
        _check_error(exc, what)
        return None
    except Exception as exc:
        raise Internal(exc, what) from exc
    finally:
        _clocked(what, started)


def check_row(policy: Policy, row: object, base: Mapping[str, Any], ch: Chooser, tally: Tally,
              case: Case, *, deep: bool = True, count: bool = True) -> None:
    """All the row checks; failures go into the tally (one per row: the first that fails)."""
    started = time.perf_counter()
    if count:
        tally.rows += 1
    try:
        _check_row(policy, row, base, ch, tally, deep=deep)
    except (Internal, Violation) as exc:
        _record(tally, case, exc)
    except RecursionError as exc:  # the harness itself must not die of the row
        _record(tally, case, exc)
    elapsed = time.perf_counter() - started
    if elapsed > tally.slowest[0]:
        tally.slowest = (elapsed, case.describe())


#: Hypothesis phases for the CI slices: no shrinking (a failing 200,000-character row would be
#: re-run hundreds of times); the failure message names the case instead.  Phase names, not
#: hypothesis objects: this module imports nothing from hypothesis at load time.
NO_SHRINK_PHASES = ("explicit", "reuse", "generate")

#: The trace round trip (trace document, JSON, replay) runs on rows with at most this many list items.
#: A trace repeats each list in every event that reads it (13 times in Karamay), so its cost grows as
#: items x events — linear, documented in docs/limits.md, and tested on ordinary rows; the engine's
#: own calls (evaluate, explain, to_dict, batches) run on every row, however long its lists.
ROUND_TRIP_ITEMS = 1_000


def _list_items(row: object) -> int:
    """How many items the lists of a row's facts hold in all (0 for anything that is not a plain unit)."""
    facts = row.get("facts", row) if isinstance(row, Mapping) else None
    if not isinstance(facts, Mapping):
        return 0
    return sum(len(value) for value in facts.values() if isinstance(value, list))


def _check_row(policy: Policy, row: object, base: Mapping[str, Any], ch: Chooser, tally: Tally,
               *, deep: bool) -> None:
    plain, result = outcome(policy, row, "evaluate")
    if result is not None:
        tally.results += 1
        _guard("Result.to_dict", lambda: json.dumps(result.to_dict(), ensure_ascii=False))
        _guard("Result.explain", lambda: result.explain())
        _guard("Result.explain(en, short)", lambda: result.explain(lang="en", full=False))
    else:
        tally.refusals += 1
    traced, traced_result = outcome(policy, row, "evaluate(trace=True)", trace=True)
    if traced != plain:
        raise Violation("trace-on-off-differ", f"{shown(plain, 3)} vs {shown(traced, 3)}")
    again, _ = outcome(policy, reorder(row), "evaluate(keys reversed)")
    if _unordered(again) != _unordered(plain):
        raise Violation("key-order-changes-outcome", f"{shown(plain, 3)} vs {shown(again, 3)}")
    if row.__class__ is dict:
        view, _ = outcome(policy, types.MappingProxyType(row), "evaluate(read-only mapping)")
        if _unordered(view) != _unordered(plain):
            raise Violation("mapping-type-changes-outcome", f"{shown(plain, 3)} vs {shown(view, 3)}")
    # a batch: the row between two good ones, nothing lost, nothing reordered
    started = time.perf_counter()
    try:
        items = list(policy.evaluate_many([base, row, base]))  # type: ignore[list-item]
    except Exception as exc:
        raise Internal(exc, "evaluate_many") from exc
    _clocked("evaluate_many", started)
    if [i.index for i in items] != [0, 1, 2]:
        raise Violation("batch-loses-rows", f"indexes {[i.index for i in items]}")
    if not (items[0].ok and items[2].ok):
        raise Violation("batch-bad-row-spoils-good-ones", shown([i.ok for i in items]))
    middle = items[1]
    got = result_signature(middle.result) if middle.result is not None else (
        error_signature(middle.error) if middle.error is not None else ("nothing",))
    if got != plain:
        raise Violation("batch-differs-from-evaluate", f"{shown(plain, 3)} vs {shown(got, 3)}")
    if traced_result is not None and deep and _list_items(row) <= ROUND_TRIP_ITEMS:
        from ..audit import replay as replay_module
        from ..audit.trace_json import dumps, trace_document

        def replayed() -> object:
            document = json.loads(dumps(trace_document(traced_result)))
            report = replay_module.replay(policy, document)
            if not report.ok:
                raise Violation("trace-does-not-replay", shown(report.to_dict(), 3))
            return replay_module.render(report, document)

        _guard("replay", replayed)
    if result is not None and deep and row.__class__ is dict and ch.chance(30):
        from ..audit.whatif import render, what_if

        facts = row.get("facts") if isinstance(row, dict) else None
        if isinstance(facts, dict) and facts:
            name = ch.choice(list(facts))
            value = hostile_value(ch, monsters=False) if ch.chance(50) else base.get("facts", {}).get(name, 1)

            def whatif() -> object:
                answer = what_if(policy, row, sets=[(name, value)])
                json.dumps(answer.to_dict(), ensure_ascii=False, default=str)
                return render(answer)

            _guard("what_if", whatif)


def _unordered(o: Outcome) -> Outcome:
    """Messages quote values as given (a record's keys in input order): compare the facts named only."""
    if o[0] == "FactError":
        return ("FactError", tuple(sorted({fact for fact, _ in o[1]})))
    return o


# ===================================================================== metamorphic: spellings
def check_spellings(policy: Policy, domains: Domains, unit: dict[str, Any], ch: Chooser, tally: Tally,
                    case: Case) -> None:
    """A valid unit and the same unit with numbers, bools and dates spelled another documented way."""
    tally.spellings += 1
    try:
        want, _ = outcome(policy, unit, "evaluate(canonical)")
        other = respelled_unit(unit, domains, ch)
        got, _ = outcome(policy, other, "evaluate(respelled)")
        if got != want:
            raise Violation("spelling-changes-outcome", f"{shown(unit['facts'], 3)} vs {shown(other['facts'], 3)}"
                            f": {shown(want, 2)} vs {shown(got, 2)}")
    except (Internal, Violation) as exc:
        _record(tally, case, exc)


# ===================================================================== files
def _json_text(value: object) -> str:
    """JSON for the value with exact numbers (Decimal written as its own digits)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else "NaN"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return json.dumps(value.isoformat())
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_json_text(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not JSON: {type(value).__name__}")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, Mapping)):
        return _json_text(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


_TAME = re.compile(r"^[^\[{\s\x00-\x1f\ud800-\udfff][^\x00-\x1f\ud800-\udfff]{0,200}$")


def tame(unit: Mapping[str, Any]) -> bool:
    """Whether every format can hold the unit unchanged (CSV strips cells, reads '[' as JSON …)."""
    def ok(value: object, depth: int = 0) -> bool:
        if depth > 3:
            return False
        if value is None or isinstance(value, (bool, int, datetime.date)):
            return not isinstance(value, int) or abs(value) < 10**15
        if isinstance(value, Decimal):
            return value.is_finite() and len(value.as_tuple().digits) <= 15 and -20 < value.adjusted() < 15
        if isinstance(value, str):
            return bool(_TAME.match(value)) and value == value.strip()
        if isinstance(value, list):
            return all(isinstance(v, (dict, str)) and ok(v, depth + 1) for v in value) and len(value) <= 20
        if isinstance(value, dict):
            return all(isinstance(k, str) and _TAME.match(k) and ok(v, depth + 1) for k, v in value.items())
        return False

    facts = unit.get("facts")
    return (isinstance(facts, dict) and isinstance(unit.get("id"), str) and bool(_TAME.match(unit["id"]))
            and isinstance(unit.get("category"), str) and ok(facts))


def write_units(units: Sequence[Mapping[str, Any]], directory: Path) -> dict[str, Path]:
    """The units as JSON, JSON Lines, CSV and XLSX files; the formats each reader takes."""
    paths: dict[str, Path] = {}
    paths["json"] = directory / "units.json"
    paths["json"].write_text('{"units": [' + ",\n".join(_json_text(u) for u in units) + "]}", encoding="utf-8")
    paths["jsonl"] = directory / "units.jsonl"
    paths["jsonl"].write_text("".join(_json_text(u) + "\n" for u in units), encoding="utf-8")
    names: list[str] = []
    for unit in units:
        for name in unit["facts"]:
            if name not in names:
                names.append(name)
    header = ["id", "name", "category", *names]
    rows = [[_cell(u.get("id")), _cell(u.get("name")), _cell(u.get("category"))]
            + [_cell(u["facts"].get(n)) for n in names] for u in units]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    paths["csv"] = directory / "units.csv"
    paths["csv"].write_text(buffer.getvalue(), encoding="utf-8")
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dev dependency
        return paths
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "units"
    sheet.append(header)
    for unit in units:
        cells: list[object] = [unit.get("id"), unit.get("name"), unit.get("category")]
        for n in names:
            value = unit["facts"].get(n)
            if isinstance(value, (list, dict)):
                value = _json_text(value)
            elif isinstance(value, (datetime.date,)):
                value = value.isoformat()
            cells.append(value)
        sheet.append(cells)
    paths["xlsx"] = directory / "units.xlsx"
    book.save(paths["xlsx"])
    return paths


def read_back(path: Path, what: str, policy: Policy | None = None) -> list[tuple[object, str | None]]:
    """The rows of a file as (unit, error); reading may refuse the whole file with UnitInputError only.

    With the ``policy``, read as ``kaohe eval`` reads it (its fact names win over header aliases).
    """
    from ..unitio import Expect, read_units

    try:
        expect = Expect.of(policy.checked) if policy is not None else None
        return [(row.unit, row.error) for row in read_units(path, expect=expect)]
    except UnitInputError as exc:
        if len(str(exc)) > MAX_MESSAGE:
            raise Violation("unbounded-message", f"{what}: UnitInputError of {len(str(exc))} characters") from exc
        return [(None, f"file refused: {exc}")]
    except Exception as exc:
        raise Internal(exc, f"read_units({what})") from exc


def check_files(policy: Policy, units: Sequence[Mapping[str, Any]], tally: Tally, case: Case) -> None:
    """The same units in every format: read back, the same result or the same refusal."""
    tally.batches += 1
    units = [u for u in units if tame(u)]
    if not units:
        return
    try:
        want = [loose(outcome(policy, json.loads(_json_text(u), parse_float=Decimal), "evaluate(json text)")[0])
                for u in units]
        with tempfile.TemporaryDirectory(prefix="kaohe-fuzz-") as tmp:
            paths = write_units(units, Path(tmp))
            for fmt, path in paths.items():
                rows = read_back(path, fmt, policy)
                tally.file_records += len(rows)
                if len(rows) != len(units):
                    raise Violation("reader-row-count", f"{fmt}: {len(rows)} rows for {len(units)} units")
                for i, (unit, error) in enumerate(rows):
                    got = ("refused",) if unit is None else loose(outcome(policy, unit, f"evaluate({fmt} row)")[0])
                    if error is not None and want[i][0] == "refused":
                        continue
                    if got != want[i] and not (got[0] == want[i][0] == "refused"):
                        raise Violation("format-changes-outcome", f"{fmt} row {i}: {shown(want[i], 2)} vs "
                                        f"{shown(got, 2)} ({error or ''}) unit {shown(units[i]['facts'], 2)}")
    except (Internal, Violation) as exc:
        _record(tally, case, exc)


HOSTILE_DOCUMENTS: tuple[tuple[str, Callable[[], bytes]], ...] = (
    ("json", lambda: b"[" * 100_000 + b"]" * 100_000),
    ("json", lambda: b'{"units": [{"id": "a", "category": "\xe5\x8d\x95\xe4\xbd\x8d", "facts": {"x": '
     + b"[" * 5000 + b"]" * 5000 + b"}}]}"),
    ("json", lambda: b'[{"id": "a", "category": "c", "facts": {"n": 1' + b"0" * 50_000 + b"}}]"),
    ("json", lambda: b'[{"id": "a", "category": "c", "facts": {"n": 9E+999999}}]'),
    ("json", lambda: b'[{"id": "a", "category": "c", "facts": {"n": NaN, "m": -Infinity}}]'),
    ("json", lambda: b'[{"id": "a", "id": "b", "category": "c", "facts": {}}]'),
    ("json", lambda: b'[{"id": "\\ud800", "category": "c", "facts": {"t": "\\udfff"}}]'),
    ("json", lambda: b'\xef\xbb\xbf[{"id": "a", "category": "c", "facts": {}}]'),
    ("json", lambda: b'[{"id": "a", "category": "c", "facts": {}}'),
    ("json", lambda: b'\xff\xfe[]'),
    ("json", lambda: b'{"units": 5}'),
    ("json", lambda: b'"units"'),
    ("json", lambda: b""),
    ("jsonl", lambda: b'{"id": "a", "category": "c", "facts": {}}\n' + b"[" * 100_000 + b"\n{}\n"),
    ("jsonl", lambda: b'{"id": "a"}\n\xff\xfe\n{"id": 1e5000, "category": "c"}\n[1]\nnull\n'),
    ("jsonl", lambda: b'{"id": "a", "category": "c", "facts": {"t": "' + b"x" * 300_000 + b'"}}\n'),
    ("csv", lambda: b"id,category,n\na,c,1\nb,c," + b"9" * 200_000 + b"\n"),
    ("csv", lambda: b"id,category,n\na,c,\"[" + b"[" * 5000 + b"\"\n"),
    ("csv", lambda: b"id,id,category\na,b,c\n"),
    ("csv", lambda: b"id,category,n\na\x00,c,1\n"),
    ("csv", lambda: b"id,category,n\na,c,1,2,3\n\xff,c,1\n"),
    ("csv", lambda: b"id,category,n\n\"a,c,1\n"),
    ("csv", lambda: b"\n\n\n"),
)


def check_hostile_file(policy: Policy, ch: Chooser, tally: Tally, case: Case) -> None:
    """A hand-made hostile unit file: read_units yields rows or refuses the file, then rows evaluate."""
    tally.batches += 1
    fmt, build = ch.choice(HOSTILE_DOCUMENTS)
    try:
        with tempfile.TemporaryDirectory(prefix="kaohe-fuzz-") as tmp:
            path = Path(tmp) / f"units.{fmt}"
            path.write_bytes(build())
            for unit, error in read_back(path, fmt):
                tally.file_records += 1
                if error is not None and len(error) > MAX_MESSAGE:
                    raise Violation("unbounded-message", f"{fmt}: a row error of {len(error)} characters")
                if unit is not None:
                    outcome(policy, unit, f"evaluate({fmt} hostile row)")
    except (Internal, Violation) as exc:
        _record(tally, case, exc)


def check_workers(policy: Policy, rows: Sequence[object], tally: Tally, case: Case) -> None:
    """``workers=2`` gives the same items as the serial batch."""
    tally.batches += 1
    try:
        def items(workers: int | None) -> list[tuple[int, Outcome]]:
            try:
                got = list(policy.evaluate_many(rows, workers=workers))  # type: ignore[arg-type]
            except Exception as exc:
                raise Internal(exc, f"evaluate_many(workers={workers})") from exc
            return [(i.index, result_signature(i.result) if i.result is not None else
                     error_signature(i.error) if i.error is not None else ("nothing",)) for i in got]

        serial = items(None)
        parallel = items(2)
        if [i for i, _ in serial] != list(range(len(rows))):
            raise Violation("batch-loses-rows", f"serial indexes {[i for i, _ in serial][:20]}")
        if parallel != serial:
            diff = next((a, b) for a, b in zip(serial, parallel, strict=False) if a != b) \
                if len(parallel) == len(serial) else (len(serial), len(parallel))
            raise Violation("workers-change-items", shown(diff, 3))
    except (Internal, Violation) as exc:
        _record(tally, case, exc)


# ===================================================================== policies
KEYWORDS = ("policy", "{", "}", "(", ")", "[", "]", ",", ".", "..", ":", "=", "==", ">=", "<", "+", "-", "*", "/",
            "??", "if", "then", "else", "and", "or", "not", "target", "fact", "deduct", "per", "cap", "when",
            "unless", "full", "veto", "on", "where", "count(", "sum(", "of", "in", "points", "section", "category",
            "total", "100", "0", "1.5", "100万元", "30%", "2013-11-25", "\"标签\"", "甲", "单位", "事", "钱", "合计",
            "\n", " ", "#", "override", "remove", "extends", "let", "param", "record", "enum", "ordered", "is",
            "set", "none", "“", "：", "\x00", "\ufeff", "é", "list", "rest", "share", "reward", "fine", "bands",
            "ratings", "vetoed", "proportional", "score", "defer", "as", "to", "it", "any(", "all(", "min(", "max(",
            "round(", "true", "false", "\"")
HOSTILE_TOKENS = ("9E+999999", "1E-999999", "1" * 5000, "(" * 3000, "[" * 3000, "\ud800", "\"" + "x" * 100_000 + "\"",
                  "99999999-01-01", "2013-02-30", "1" * 40 + "万元", "1" * 40 + "%", "0.0000000000000000000001",
                  "extends \"/etc/passwd\"", "extends \"" + "../" * 50 + "x.kh\"", "a" * 10_000, "-" * 1000)

_TOKEN = re.compile(r"\s+|[\w\u4e00-\u9fff%.]+|\"[^\"\n]*\"|“[^”\n]*”|#[^\n]*|\.\.|\?\?|[<>=!]=|.", re.S)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def mutate_policy(text: str, ch: Chooser, *, monsters: bool) -> tuple[str, list[str]]:
    """Token-level mutations: delete, duplicate, swap, insert a keyword or a hostile literal."""
    parts = tokens(text)
    steps: list[str] = []
    for _ in range(ch.integer(1, 4)):
        if not parts:
            parts = [""]
        at = ch.integer(0, len(parts) - 1)
        op = ch.choice(["delete", "duplicate", "swap", "insert", "insert", "replace", "hostile"])
        if op == "delete":
            steps.append(f"delete {shown(parts[at])}@{at}")
            del parts[at]
        elif op == "duplicate":
            steps.append(f"duplicate {shown(parts[at])}@{at}")
            parts.insert(at, parts[at])
        elif op == "swap" and at + 1 < len(parts):
            steps.append(f"swap @{at}")
            parts[at], parts[at + 1] = parts[at + 1], parts[at]
        elif op in ("insert", "replace"):
            token = ch.choice(KEYWORDS) if ch.chance(70) else ch.choice(parts)
            steps.append(f"{op} {shown(token)}@{at}")
            if op == "insert":
                parts.insert(at, token if token.isspace() else f" {token} ")
            else:
                parts[at] = token
        else:
            pool = HOSTILE_TOKENS if monsters else HOSTILE_TOKENS[2:]
            token = ch.choice(pool)
            steps.append(f"hostile {shown(token)}@{at}")
            parts.insert(at, f" {token} ")
    return "".join(parts), steps


def generate_policy(ch: Chooser) -> str:
    """A small random policy built from the grammar: meant to be well formed, and most often accepted."""
    out: list[str] = []
    name = ch.choice(["测试", "p", "考核甲", "Policy_1"])
    header = ch.choice(["", "document \"文号\"", "period 2013-01-01 .. 2013-12-31",
                        "issuer \"某委员会\" adopted 2013-04-18"])
    out.append(f"policy {name} \"生成的政策\" {{ {header} }}")
    # enums and a record
    enum_members = [["低", "中", "高"], ["A", "B"], ["一般", "较大", "重大", "特大"]][ch.integer(0, 2)]
    ordered = ch.chance(70)
    out.append(f"enum 级 {'ordered ' if ordered else ''}{{ " + ", ".join(
        f"{m} \"{m}级\"" if ch.chance(50) else m for m in enum_members) + " }")
    fields = ["数: int >= 0", f"类: 级 = {enum_members[0]}"]
    if ch.chance(60):
        fields.append("日: date?")
    if ch.chance(50):
        fields.append("额: money? >= 0")
    if ch.chance(50):
        fields.append("标: bool = false")
    if ch.chance(50):
        fields.append("let 大: bool = 数 >= 3" + (f" or 类 >= {enum_members[-1]}" if ordered else ""))
    out.append("record 项 { " + "  ".join(fields) + " }")
    # facts
    facts = {"项目": "list of 项 = []", "计数": "int >= 0", "资金": "money >= 0", "比率": "percent in 0%..100%",
             "达标": "bool", "日期": "date?", "可选": "int?", "系数": "decimal in 0..10", "等": f"级 = {enum_members[0]}"}
    chosen = [n for n in facts if n in ("项目", "计数") or ch.chance(60)]
    for fact in chosen:
        out.append(f"fact {fact}: {facts[fact]}" + (f" \"{fact}说明\"" if ch.chance(30) else ""))
    if ch.chance(50):
        out.append(f"param 门槛 = {ch.integer(1, 5)}")
    has_param = out[-1].startswith("param")
    out.append("let 合计 = sum(项目 of 数)")
    # conditions and quantities over the chosen facts
    conds = ["合计 > 2", "count(项目) >= 1", "any(项目 where 数 > 1)", "all(项目 where 数 >= 0)"]
    quantities = ["合计", "count(项目)", "count(项目 where 数 >= 2)", "计数", "max(计数, 1)", "计数 - 1"]
    if "资金" in chosen:
        conds.append(f"资金 >= {ch.integer(1, 200)}万元")
    if "比率" in chosen:
        conds.append(f"比率 < {ch.integer(0, 100)}%")
    if "达标" in chosen:
        conds += ["达标", "not 达标"]
    if "日期" in chosen:
        conds.append("日期 is set and 日期 > 2013-06-30")
    if "可选" in chosen:
        conds.append("可选 is set and 合计 > 可选")
        quantities.append("可选 ?? 0")
    if "等" in chosen:
        conds.append(f"等 {'>=' if ordered else '=='} {enum_members[-1]}")
    if has_param:
        conds.append("计数 >= 门槛")
        quantities.append("门槛")
    if "系数" in chosen:
        quantities.append("系数")

    def cond() -> str:
        c = str(ch.choice(conds))
        if ch.chance(20):
            c = f"{c} {ch.choice(['and', 'or'])} {ch.choice(conds)}"
        return c

    def rule() -> str:
        kind = ch.integer(0, 5)
        if kind == 0:
            return f"full when {cond()}"
        if kind == 1:
            return f"deduct {ch.integer(1, 10)} {ch.choice(['when', 'unless'])} {cond()}"
        if kind == 2:
            return f"deduct {ch.integer(1, 5)} per {ch.choice(quantities)}" + (
                f" cap {ch.integer(1, 20)}" if ch.chance(50) else "")
        if kind == 3:  # an amount is never negative (an evaluation error since issue #10): clamp the quantity
            return f"deduct max({ch.choice(quantities)}, 0)" + (f" cap {ch.integer(1, 20)}" if ch.chance(50) else "")
        if kind == 4 and "比率" in chosen:
            return "proportional 比率"
        return f"score {ch.choice(quantities)}"

    # categories, sections, targets, bands
    ratings = ["优", "良", "中", "差"][: ch.integer(2, 4)]
    out.append("ratings { " + " ".join(ratings) + " } vetoed " + ratings[-1])
    categories = ["单位", "部门"][: ch.integer(1, 2)]
    target_no = 0
    for cat in categories:
        total = ch.choice([10, 100, 1000])
        n_sections = ch.integer(1, 3)
        cuts = sorted(set(ch.integer(1, total - 1) for _ in range(n_sections - 1)))
        bounds = [0, *cuts, total]
        sections = [(f"节{i}", bounds[i + 1] - bounds[i]) for i in range(len(bounds) - 1)]
        out.append(f"category {cat} total {total} {{ " + " ".join(
            f"section {s} {p}" for s, p in sections) + " }")
        for section, points in sections:
            n_targets = ch.integer(1, min(3, points))
            cuts = sorted(set(ch.integer(1, points - 1) for _ in range(n_targets - 1))) if points > 1 else []
            edges = [0, *cuts, points]
            for i in range(len(edges) - 1):
                target_no += 1
                body = "  ".join(dict.fromkeys(rule() for _ in range(ch.integer(1, 3))))
                out.append(f"target 目标{target_no} \"目标{target_no}\" in {cat}.{section} points "
                           f"{edges[i + 1] - edges[i]} {{ {body} }}")
        cuts = sorted(set(ch.integer(1, total - 1) for _ in range(len(ratings) - 1)))
        while len(cuts) < len(ratings) - 1:
            cuts.append(total)  # impossible band: the checker must say so (K127) — a deliberate rejection
        edges = [0, *cuts, total]
        lines = []
        for i, rating in enumerate(ratings):
            high, low = edges[len(edges) - 1 - i], edges[len(edges) - 2 - i]
            lines.append(f"{rating} [{low}, {high}{']' if i == 0 else ')'}")
        out.append(f"bands {cat} {{ " + " ".join(lines) + " }")
    for v in range(ch.integer(0, 2)):
        if ch.chance(50):
            out.append(f"veto 否决{v} when {cond()}")
        else:
            out.append(f"veto 否决{v} on 项目 where 数 >= {ch.integer(1, 10)}")
    if "资金" in chosen and ch.chance(50):
        out.append(f"outcome {ratings[0]} {{ reward 奖 = 资金 * {ch.integer(1, 30)}% }}")
    if ch.chance(30):  # issue #10: a conditional item in an outcome for every rating (drawn last: the rest is as before)
        out.append(f"outcome {{ sanction 约谈 \"约谈\" when {cond()} }}")
    return "\n".join(out) + "\n"


def rich_policy(ch: Chooser) -> str:
    """A policy of :mod:`.policygen`: every construct of issue #10, accepted by the checker every time."""
    return generate_rich_policy(ch).text


def _check_loaded(text: str, what: str) -> Policy | None:
    """load: a Policy, or a PolicyError whose diagnostics all have a K code and render."""
    import kaohe_rules

    try:
        return kaohe_rules.load(text, name="fuzz.kh")
    except PolicyError as exc:
        if not exc.diagnostics:
            raise Violation("policy-error-without-diagnostics", what) from exc
        for d in exc.diagnostics:
            if not (isinstance(d.code, str) and re.fullmatch(r"K\d{3}", d.code)):
                raise Violation("diagnostic-without-K-code", f"{what}: {shown(d.code)} {shown(d.message)}") from exc
            try:
                rendered = d.render()
                json.dumps(d.to_dict(), ensure_ascii=False)
            except Exception as inner:
                raise Internal(inner, f"{what}: Diagnostic.render") from inner
            if len(rendered) > 20 * MAX_MESSAGE:
                raise Violation("unbounded-message", f"{what}: a diagnostic of {len(rendered)} characters") from None
        return None
    except KaoheError as exc:
        raise Violation("load-raises-other-kaohe-error", f"{what}: {type(exc).__name__}") from exc
    except Exception as exc:
        raise Internal(exc, what) from exc


def check_policy(text: str, ch: Chooser, tally: Tally, case: Case, *, mutated: bool, monsters: bool,
                 units: int = 3) -> bool:
    """Load one policy text; an accepted one is fed generated units and one hostile row."""
    started = time.perf_counter()
    tally.policies += 1
    if mutated:
        tally.mutations += 1
    else:
        tally.generated += 1
    accepted = False
    try:
        policy = _check_loaded(text, "load")
        if policy is not None:
            accepted = True
            tally.accepted += 1
            domains = Domains(policy.checked)
            base: dict[str, Any] | None = None
            for i in range(units):
                try:
                    unit = valid_unit(policy, domains, ch)
                except Exception as exc:  # a domain the generator cannot fill: not the engine's fault
                    raise Violation("harness-cannot-generate", f"{type(exc).__name__}: {exc}") from exc
                base = base or unit
                sub = Case("policy-unit", case.seed, case.index * 100 + i, case.policy, case.steps)
                check_row(policy, unit, unit, ch, tally, sub, deep=False, count=False)
                row, steps = mutate_unit(unit, ch, monsters=monsters, max_list=50)
                sub = Case("policy-unit", case.seed, case.index * 100 + i, case.policy, (*case.steps, *steps))
                check_row(policy, row, base, ch, tally, sub, deep=False, count=False)
    except (Internal, Violation) as exc:
        _record(tally, case, exc)
    elapsed = time.perf_counter() - started
    if elapsed > tally.slowest[0]:
        tally.slowest = (elapsed, case.describe())
    return accepted


# ===================================================================== one task
#: Where in the long run each case kind is scheduled.
FILES_EVERY = 100
WORKERS_EVERY = 2_000
SPELLINGS_EVERY = 5


def run_task(policies: Policies, kind: str, seed: str, index: int, *, monsters: bool, max_list: int) -> Tally:
    """Run one case, generated from (kind, seed, index) alone; in the parent or in a child."""
    ch = RandomChooser(f"{seed}:{kind}:{index}")
    tally = Tally()
    _LONGEST[0], _LONGEST[1] = 0.0, ""
    try:
        _run_task(policies, kind, seed, index, ch, tally, monsters=monsters, max_list=max_list)
    finally:
        tally.longest_call = (_LONGEST[0], f"{_LONGEST[1]} in {kind}:{seed}:{index}")
    return tally


def _run_task(policies: Policies, kind: str, seed: str, index: int, ch: Chooser, tally: Tally, *, monsters: bool,
              max_list: int) -> None:
    if kind == "row":
        name = ch.choice(BUNDLED_POLICIES)
        policy = policies.by_name[name]
        base = policies.base_unit(name, ch)
        row, steps = mutate_unit(base, ch, monsters=monsters, max_list=max_list)
        check_row(policy, row, base, ch, tally, Case(kind, seed, index, name, tuple(steps)))
        if index % SPELLINGS_EVERY == 0:
            spelled = Case("spelling", seed, index, name, ())
            check_spellings(policy, policies.domains[name], policies.base_unit(name, ch), ch, tally, spelled)
    elif kind == "files":
        name = ch.choice(BUNDLED_POLICIES)
        policy = policies.by_name[name]
        units: list[Mapping[str, Any]] = []
        for _ in range(20):
            unit = policies.base_unit(name, ch)
            if ch.chance(50):
                unit = respelled_unit(unit, policies.domains[name], ch) if ch.chance(50) else unit
            if ch.chance(40):
                facts = dict(unit["facts"])
                if facts:
                    fact = ch.choice(list(facts))
                    facts[fact] = ch.choice(["abc", "1,0", "-0", "１２", "1,,,,20万元", "", "2013-02-30", "-5"])
                unit = dict(unit) | {"facts": facts}
            units.append(unit)
        check_files(policy, units, tally, Case(kind, seed, index, name, ("20 units, 4 formats",)))
        check_hostile_file(policy, ch, tally, Case("hostile-file", seed, index, name, ()))
    elif kind == "workers":
        name = ch.choice(BUNDLED_POLICIES)
        policy = policies.by_name[name]
        rows: list[object] = []
        for _ in range(40):
            base = policies.base_unit(name, ch)
            rows.append(mutate_unit(base, ch, monsters=False, max_list=20)[0] if ch.chance(50) else base)
        picklable = [r for r in rows if _picklable(r)]
        check_workers(policy, picklable, tally, Case(kind, seed, index, name, (f"{len(picklable)} rows",)))
    elif kind == "generated":  # every other one with every issue-#10 construct (always accepted by the checker)
        text = generate_policy(ch) if index % 2 == 0 else rich_policy(ch)
        check_policy(text, ch, tally, Case(kind, seed, index, "generated", ()), mutated=False, monsters=monsters)
    elif kind == "selftest-sleep":  # the watchdog's own test: a case that never answers in time
        time.sleep(index)
    elif kind == "policy":
        source = ch.choice(["karamay", "small", "all-types", "generated", "generated", "rich"])
        text = (policies.texts[source] if source in policies.texts
                else rich_policy(ch) if source == "rich" else generate_policy(ch))
        mutated, steps = mutate_policy(text, ch, monsters=monsters)
        check_policy(mutated, ch, tally, Case(kind, seed, index, source, tuple(steps)), mutated=True,
                     monsters=monsters)
    else:
        raise ValueError(f"unknown task kind {kind!r}")


def _picklable(value: object) -> bool:
    import pickle

    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


# ===================================================================== the long run
@attrs.frozen
class Task:
    kind: str
    index: int


def schedule(rows: int, mutations: int) -> Iterator[Task]:
    """Rows, with a files case every 100 rows and a workers case every 2,000, interleaved with policy
    mutations, and one generated (unmutated) policy for every four mutations."""
    per_row = mutations / rows if rows else 0.0
    done = 0
    for i in range(rows):
        yield Task("row", i)
        if i % FILES_EVERY == FILES_EVERY - 1:
            yield Task("files", i // FILES_EVERY)
        if i % WORKERS_EVERY == WORKERS_EVERY - 1:
            yield Task("workers", i // WORKERS_EVERY)
        while done < mutations and done < (i + 1) * per_row:
            yield from _policy_tasks(done)
            done += 1
    while done < mutations:
        yield from _policy_tasks(done)
        done += 1


def _policy_tasks(n: int) -> Iterator[Task]:
    yield Task("policy", n)
    if n % 4 == 3:
        yield Task("generated", n // 4)


def _child(policies: Policies, connection: multiprocessing.connection.Connection, monsters: bool,
           max_list: int) -> None:  # pragma: no cover - runs in the child process
    os.setpgrp()  # its own process group: the watchdog kills it with the workers it started
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        kind, seed, index = message
        started = time.perf_counter()
        try:
            tally = run_task(policies, kind, seed, index, monsters=monsters, max_list=max_list)
        except BaseException as exc:  # the harness must report, not die
            tally = Tally()
            tally.failures.append(Failure("internal", f"{type(exc).__name__} at {_location(exc)} (harness)",
                                          _safe_str(exc), f"{kind}:{seed}:{index}"))
        connection.send((tally, time.perf_counter() - started))


class Watchdog:
    """One child process that runs tasks; killed (with its process group) when a task overruns."""

    def __init__(self, policies: Policies, monsters: bool, max_list: int) -> None:
        self.policies = policies
        self.monsters = monsters
        self.max_list = max_list
        self.context = multiprocessing.get_context("fork")
        self.process: Any = None
        self.connection: multiprocessing.connection.Connection | None = None

    def start(self) -> None:
        parent, child = self.context.Pipe()
        self.process = self.context.Process(target=_child, args=(self.policies, child, self.monsters,
                                                                 self.max_list), daemon=False)
        self.process.start()
        child.close()
        self.connection = parent

    def run(self, kind: str, seed: str, index: int, timeout: float) -> tuple[Tally, float] | None:
        """The task's tally and time, or None when it overran ``timeout`` (the child is killed)."""
        if self.process is None or not self.process.is_alive():
            self.start()
        assert self.connection is not None
        started = time.perf_counter()
        try:
            self.connection.send((kind, seed, index))
            if self.connection.poll(timeout):
                answer: tuple[Tally, float] = self.connection.recv()
                return answer
        except (EOFError, OSError, BrokenPipeError):
            # the child died (a crash of the interpreter itself): a stall-class failure, recorded by the caller
            self.kill()
            return (Tally(failures=[Failure("internal", "child process died", f"after {time.perf_counter() - started:.1f} s",
                                            f"{kind}:{seed}:{index}")]), time.perf_counter() - started)
        self.kill()
        return None

    def kill(self) -> None:
        if self.process is not None and self.process.pid is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.join(5)
        if self.connection is not None:
            self.connection.close()
        self.process = None
        self.connection = None

    def stop(self) -> None:
        if self.connection is not None and self.process is not None and self.process.is_alive():
            try:
                self.connection.send(None)
                self.process.join(5)
            except (OSError, BrokenPipeError):
                pass
        if self.process is not None and self.process.is_alive():
            self.kill()
        self.process = None


@attrs.define
class Report:
    tally: Tally
    stalls: list[Failure]
    elapsed: float
    date: str
    seed: str

    @property
    def internal(self) -> list[Failure]:
        return [f for f in self.tally.failures if f.kind == "internal"]

    @property
    def violations(self) -> list[Failure]:
        return [f for f in self.tally.failures if f.kind == "violation"]

    @property
    def ok(self) -> bool:
        return not self.tally.failures and not self.stalls

    def distinct(self) -> list[tuple[Failure, int]]:
        """Failures deduplicated by kind and key (exception type + location), with counts, first example kept."""
        seen: dict[tuple[str, str], list[Any]] = {}
        for f in [*self.stalls, *self.tally.failures]:
            entry = seen.setdefault((f.kind, f.key), [f, 0])
            entry[1] += 1
        return [(f, n) for f, n in seen.values()]

    def render(self) -> str:
        t = self.tally
        lines = [
            f"kaohe robustness fuzz — {self.date} — seed {self.seed}",
            f"  fact rows run:          {t.rows:,} ({t.results:,} evaluated, {t.refusals:,} refused with a kaohe error)",
            f"  policy mutations run:   {t.mutations:,} (+ {t.generated:,} generated policies; "
            f"{t.accepted:,} of {t.policies:,} loaded)",
            f"  unit file records read: {t.file_records:,} in {t.batches:,} file/batch cases",
            f"  internal errors:        {len(self.internal):,}",
            f"  stalls:                 {len(self.stalls):,}",
            f"  violations:             {len(self.violations):,}",
            f"  slowest engine call:    {t.longest_call[0]:.3f} s ({t.longest_call[1][:160]})",
            f"  slowest row (all checks): {t.slowest[0]:.3f} s ({t.slowest[1][:160]})",
            f"  spelling checks:        {t.spellings:,}",
            f"  elapsed:                {self.elapsed:.1f} s",
        ]
        distinct = self.distinct()
        if distinct:
            lines.append(f"distinct failures ({len(distinct)}):")
            for f, n in sorted(distinct, key=lambda e: (e[0].kind, -e[1])):
                lines.append(f"  [{f.kind}] {f.key}  ×{n}")
                lines.append(f"      {f.detail[:300]}")
                lines.append(f"      first case: {f.case[:400]}")
        return "\n".join(lines)


def run(rows: int = 100_000, mutations: int = 10_000, *, seed: str = "kaohe", stall: float = 2.0,
        hard_timeout: float = 10.0, monsters: bool = True, max_list: int = 12_000, isolate: bool = True,
        progress: Callable[[str], None] | None = None) -> Report:
    """The long run: every task in a watched child (``isolate``) or in this process (bounded inputs only)."""
    started = time.perf_counter()
    date = datetime.date.today().isoformat()
    policies = Policies()
    total = Tally()
    stalls: list[Failure] = []
    watchdog = Watchdog(policies, monsters, max_list) if isolate else None
    tasks = list(schedule(rows, mutations))
    last = time.perf_counter()
    try:
        for n, task in enumerate(tasks):
            what = f"{task.kind}:{seed}:{task.index}"
            if watchdog is not None:
                answer = watchdog.run(task.kind, seed, task.index, hard_timeout)
                if answer is None:
                    stalls.append(Failure("stall", f"{task.kind} killed after {hard_timeout:.0f} s",
                                          "no answer within the hard timeout", _describe(policies, task, seed, max_list)))
                    _count_killed(total, task)
                    continue
                tally, elapsed = answer
            else:
                t0 = time.perf_counter()
                try:
                    tally = run_task(policies, task.kind, seed, task.index, monsters=monsters, max_list=max_list)
                except Exception as exc:  # the harness must report, not die
                    tally = Tally(failures=[Failure("internal", f"{type(exc).__name__} at {_location(exc)} (harness)",
                                                    _safe_str(exc), what)])
                elapsed = time.perf_counter() - t0
            if tally.longest_call[0] > stall:
                stalls.append(Failure("stall", f"one engine call over {stall:g} s",
                                      f"{tally.longest_call[0]:.1f} s: {tally.longest_call[1]} (case {elapsed:.1f} s)",
                                      _describe(policies, task, seed, max_list)))
            total.add(tally)
            if progress is not None and time.perf_counter() - last > 30:
                last = time.perf_counter()
                progress(f"  … {n + 1:,}/{len(tasks):,} cases, {total.rows:,} rows, {total.mutations:,} mutations, "
                         f"{len(total.failures) + len(stalls):,} failures, {last - started:.0f} s")
    finally:
        if watchdog is not None:
            watchdog.stop()
    return Report(total, stalls, time.perf_counter() - started, date, seed)


def _count_killed(total: Tally, task: Task) -> None:
    if task.kind == "row":
        total.rows += 1
    elif task.kind == "policy":
        total.policies += 1
        total.mutations += 1


def _describe(policies: Policies, task: Task, seed: str, max_list: int) -> str:
    """The case a killed task was running, regenerated in the parent (generation alone is cheap)."""
    ch = RandomChooser(f"{seed}:{task.kind}:{task.index}")
    try:
        if task.kind == "row":
            name = ch.choice(BUNDLED_POLICIES)
            base = policies.base_unit(name, ch)
            _, steps = mutate_unit(base, ch, monsters=True, max_list=max_list)
            return Case(task.kind, seed, task.index, name, tuple(steps)).describe()
    except Exception:  # noqa: S110 - the description is a courtesy
        pass
    return f"{task.kind}:{seed}:{task.index}"


def replay_case(spec: str, *, monsters: bool = True, max_list: int = 12_000) -> Tally:
    """Re-run one case named ``KIND:SEED:INDEX`` in this process, for debugging a reported failure."""
    kind, seed, index = spec.split(":")
    return run_task(Policies(), kind, seed, int(index), monsters=monsters, max_list=max_list)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaohe_rules.testing.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="hostile fact rows (default 100,000)")
    parser.add_argument("--mutations", type=int, default=10_000, help="policy mutations (default 10,000)")
    parser.add_argument("--seed", default=None, help="seed (default: today's date); the same seed repeats the run")
    parser.add_argument("--stall", type=float, default=2.0, help="a case slower than this many seconds is a stall")
    parser.add_argument("--hard-timeout", type=float, default=10.0, help="kill a case after this many seconds")
    parser.add_argument("--max-list", type=int, default=12_000, help="longest list a row may carry")
    parser.add_argument("--replay", metavar="KIND:SEED:INDEX", help="re-run one reported case in this process")
    args = parser.parse_args(argv)
    if args.replay:
        tally = replay_case(args.replay, max_list=args.max_list)
        for f in tally.failures:
            print(f"[{f.kind}] {f.key}\n  {f.detail}\n  {f.case}")
        print("ok" if not tally.failures else f"{len(tally.failures)} failure(s)")
        return 1 if tally.failures else 0
    seed = args.seed or datetime.date.today().isoformat()
    print(f"fuzzing {args.rows:,} rows and {args.mutations:,} policy mutations (seed {seed}) …", flush=True)
    report = run(args.rows, args.mutations, seed=seed, stall=args.stall, hard_timeout=args.hard_timeout,
                 max_list=args.max_list, progress=lambda line: print(line, flush=True))
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["ALL_TYPES_POLICY", "SMALL_POLICY", "Chooser", "DrawChooser", "RandomChooser", "Report", "Tally",
           "check_files", "check_policy", "check_row", "check_spellings", "check_workers", "generate_policy",
           "hostile_value", "main", "mutate_policy", "mutate_unit", "run", "run_task", "valid_unit"]
