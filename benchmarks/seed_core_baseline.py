"""A hand-written plain-Python evaluator of benchmarks/seed-core.kh — the yardstick of the user-cost benchmark.

benchmarks/seed-core.kh keeps only the core rules the Karamay 2013 document states
itself (issue #13): three point losses capped by their sections (四(二)), the accident
list with the out-of-area deferral (四(二)1) and the four vetoes (四(二)4), the 责任书
indicators, inclusive bands (四(三)) and the 六(三) money split rounded half up to the
fen.  This module is what a competent developer writes for those rules without a
rules engine: one function, ``Decimal`` arithmetic, no validation.  It trusts its
input, which must use the canonical JSON spellings (bools, numbers as ``int`` or
``Decimal``, enum member names; money may also be a string such as "120万元").
``tests/project/test_seed_core_baseline.py`` proves it returns the engine's results
on hypothesis-generated units.

It computes everything a user reads of a result, eagerly: ``assess(unit)`` returns
``(score, sections, targets, vetoes, deferred, band, rating, money)`` where
``sections`` holds the scores in the order of :data:`SECTIONS`, ``targets`` those of
:data:`TARGETS`, ``vetoes`` is a list of ``(name, evidence)``, ``deferred`` the
accidents handed to the autonomous region's rules, and ``money``
``(total, ((item name, amount or None), ...))`` — never None, since every rating of
this scheme has an outcome (合格: no items, total 0).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")
ZERO_MONEY = Decimal("0.00")

SECTIONS = ("管理目标", "管理目标.考核细则", "管理目标.日常督查", "控制指标")
TARGETS = ("管理目标", "日常督查", "控制指标")

#: category → (考核细则 points, 日常督查 points, 控制指标 points, 优秀 from, 良好 from, 合格 from)  — 四(二), 四(三)
BUDGETS = {
    "区政府": (400, 200, 400, 900, 850, 800),
    "部门企业": (240, 120, 240, 550, 500, 450),
}


def read_money(value: Any) -> Decimal:
    """A money fact as the generator writes it (int, Decimal or "120万元"/"…元" text) in yuan."""
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.endswith("万元"):
            return Decimal(text[:-2]) * 10000
        if text.endswith("元"):
            return Decimal(text[:-1])
        return Decimal(text)
    return Decimal(value)


def _fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def assess(unit: dict[str, Any]) -> tuple[Any, ...]:
    """Assess one unit (id, category, facts) of the seed-core scheme."""
    f = unit["facts"]
    rules_points, daily_points, control_points, excellent, good, passing = BUDGETS[unit["category"]]

    # 四(二): each section loses its recorded points, never below 0
    rules = rules_points - f["考核细则扣分"]
    if rules < 0:
        rules = 0
    daily = daily_points - f["日常督查扣分"]
    if daily < 0:
        daily = 0
    control = control_points - f["控制指标扣分"]
    if control < 0:
        control = 0
    management = rules + daily
    score = management + control

    # 四(二)1: out-of-area vehicles' 较大 (3–9 deaths) road accidents go to the autonomous region's rules
    accidents = f.get("事故") or ()
    deferred = []
    big = []
    concealed = []
    impact = []
    deaths = 0
    fatal = 0
    for a in accidents:
        d = a["死亡人数"]
        out_of_area = a.get("异地车辆", False) and a["类型"] == "道路交通" and 3 <= d <= 9
        if out_of_area:
            deferred.append(a)
        else:
            deaths += d
            if d >= 1:
                fatal += 1
            if d >= 3:
                big.append(a)
        if a.get("瞒报", False) or a.get("谎报", False):
            concealed.append(a)
        if (d < 3 or out_of_area) and a.get("重大社会影响", False):
            impact.append(a)

    # 四(二)4 一票否决, in the policy's order
    vetoes: list[tuple[str, list[Any]]] = []
    if big:
        vetoes.append(("较大以上事故", big))
    if concealed:
        vetoes.append(("瞒报谎报", concealed))
    death_limit = f.get("死亡人数控制指标")
    accident_limit = f.get("事故起数控制指标")
    if (death_limit is not None and deaths > death_limit) or (accident_limit is not None and fatal > accident_limit):
        vetoes.append(("突破指标", []))
    if impact:
        vetoes.append(("重大社会影响", impact))

    # 四(三): lower bounds included (含本级)
    if score >= excellent:
        band = "优秀"
    elif score >= good:
        band = "良好"
    elif score >= passing:
        band = "合格"
    else:
        band = "不合格"
    rating = "不合格" if vetoes else band

    # 六(三): each reward, fine and share to the fen, half up; 其余部分 is the rest
    money: tuple[Decimal, tuple[tuple[str, Decimal | None], ...]]
    if rating == "优秀":
        amount = read_money(f["奖励金额"])
        full = _fen(amount)
        extra = _fen(amount * 30 / 100)
        total = full + extra
        signatory = _fen(amount * 20 / 100)
        money = (total, (("全额兑现", full), ("追加奖励", extra), ("签订人", signatory), ("有关人员", total - signatory)))
    elif rating == "良好":
        amount = read_money(f["奖励金额"])
        total = _fen(amount)
        signatory = _fen(amount * 20 / 100)
        money = (total, (("全额兑现", total), ("签订人", signatory), ("有关人员", total - signatory)))
    elif rating == "不合格":
        fine = _fen(read_money(f["奖励金额"]) * 50 / 100)
        signatory = _fen(fine * 20 / 100)
        money = (fine, (("罚款", fine), ("签订人", signatory), ("有关人员", fine - signatory), ("例会检查", None)))
    else:  # 合格: 不奖不罚
        money = (ZERO_MONEY, ())
    return (score, (management, rules, daily, control), (rules, daily, control), vetoes, deferred, band, rating, money)
