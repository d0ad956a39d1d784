"""A hand-written plain-Python evaluator of policies/karamay-2013.kh — the benchmark's yardstick.

This is what a competent developer would write for this one scheme without a rules
engine: straight-line code per category, ``int`` points, ``Decimal`` only where the
scheme has fractions or money, money rounded to the fen half up.  It implements
exactly the semantics of the policy file (the same targets, deductions, deferral of
out-of-area 较大 road accidents, four vetoes, bands, rewards and fines) and
``tests/project/test_baseline_agrees.py`` proves it returns the engine's results on the
bundled sample units and on generated ones.

What it does NOT do, by design, is what the engine does on top: validate every fact
(types, ranges, unknown names), accept alternative spellings ("是", "98.5%"),
explain or trace.  It trusts its input, which must use the canonical JSON spellings
(bools, numbers, ISO date strings, enum member names; money may be "120万元").
That is the honest yardstick: the price of validation and generality is part of
what the benchmark measures.

``assess(unit)`` returns a raw tuple (cheap to build, like the engine's):
``(score, sections, targets, vetoes, deferred, band, rating, money)`` where
``sections``/``targets`` are tuples of scores in the order of
:data:`SECTIONS`/:data:`TARGETS`, ``vetoes`` a list of ``(name, evidence)``,
``deferred`` the accidents handed to the autonomous region, ``band`` and
``rating`` names and ``money`` ``(total, ((item name, amount), ...))`` or None.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")
_date = datetime.date.fromisoformat
HALF_YEAR_REPORT_DUE = datetime.date(2013, 7, 15)
DUTY_REPORT_DUE = datetime.date(2013, 11, 25)

SECTIONS = ("管理目标", "管理目标.考核细则", "管理目标.日常督查", "控制指标")

TARGETS: dict[str, tuple[str, ...]] = {
    "区政府": (
        "控制指标_区", "督查_检查督查", "督查_督办事项", "督查_目标抽查",
        "区_一岗双责", "区_民生工程", "区_规划评估", "区_专项资金", "区_重点工程", "区_设施装备计划",
        "区_装备管理制度", "区_督促责任险", "区_考核工作", "区_考核结果运用", "区_履职报告",
        "区_监察大队", "区_六个一流", "区_安监站设置", "区_安监站配员", "区_农机监理",
        "区_基础建设年", "区_督促企业基础",
        "区_打非治违", "区_卫星定位", "区_强制休息", "区_危险路段", "区_农机检验", "区_校车",
        "区_取缔非法开采", "区_非煤标准化", "区_危化备案", "区_两重点一重大", "区_化工诊断",
        "区_危化标准化", "区_机械标准化", "区_建筑施工", "区_消防网格化", "区_特种设备",
        "区_费用提取", "区_火灾险", "区_大型活动", "区_应急队伍", "区_应急预案", "区_应急演练",
        "区_预警预报", "区_应急平台", "区_消火栓", "区_消防水鹤",
        "区_宣传教育", "区_安全生产月", "区_示范企业", "区_示范社区", "区_示范学校", "区_平安创建",
        "区_从业人员培训", "区_领导干部培训", "区_三类人员培训", "区_三类人员持证",
        "区_事故上报", "区_事故结案", "区_公布结果", "区_挂牌督办", "区_统计联席", "区_信访",
    ),
    "部门": (
        "控制指标_部门企业", "督查_检查督查", "督查_督办事项", "督查_目标抽查",
        "部门_一岗双责", "部门_责任体系", "部门_签订责任书", "部门_考核工作", "部门_考核结果运用", "部门_履职报告",
        "部门_安全管理人员", "部门_季度会议", "部门_基础建设年", "部门_督促企业基础",
        "部门_打非治违", "部门_四个一律", "部门_卫星定位", "部门_强制休息", "部门_农机检验", "部门_校车",
        "部门_取缔非法开采", "部门_非煤标准化", "部门_危化备案", "部门_两重点一重大", "部门_危化标准化",
        "部门_机械标准化", "部门_三同时", "部门_建筑施工", "部门_消防网格化", "部门_特种设备",
        "部门_督促责任险", "部门_费用提取", "部门_火灾险", "部门_隐患信息",
        "部门_消防员", "部门_消防文员", "部门_消防装备", "部门_消火栓", "部门_消防水鹤", "部门_消防车",
        "部门_搜救基地", "部门_气象防灾", "部门_安全科技", "部门_大型活动",
        "部门_应急队伍", "部门_预警预报", "部门_应急预案", "部门_应急演练",
        "部门_宣传教育", "部门_安全生产月", "部门_示范创建", "部门_平安创建",
        "部门_从业人员培训", "部门_领导干部培训", "部门_三类人员培训", "部门_三类人员持证",
        "部门_事故上报", "部门_事故结案", "部门_公布结果", "部门_挂牌督办", "部门_统计联席", "部门_信访",
    ),
    "企业": (
        "控制指标_部门企业", "督查_检查督查", "督查_督办事项", "督查_目标抽查",
        "企业_一岗双责", "企业_责任体系", "企业_签订责任书", "企业_考核工作", "企业_考核结果运用",
        "企业_安全管理人员", "企业_季度会议", "企业_基础建设年", "企业_设备设施", "企业_班组建设",
        "企业_网格化", "企业_打非治违", "企业_四个一律", "企业_重大隐患", "企业_重点时期", "企业_隐患信息",
        "企业_现场管理", "企业_标准化", "企业_重点设施", "企业_安全费用", "企业_隐患资金", "企业_火灾险",
        "企业_责任险", "企业_危险物品", "企业_联动机制",
        "企业_管理制度", "企业_适用技术", "企业_消防治理", "企业_应急队伍", "企业_预警预报", "企业_应急预案",
        "企业_应急演练",
        "企业_宣传教育", "企业_安全生产月", "企业_三类人员持证", "企业_从业人员培训",
        "企业_事故上报", "企业_事故整改",
    ),
}

D02 = Decimal("0.2")
D04 = Decimal("0.4")
D01 = Decimal("0.1")
D025 = Decimal("0.25")


def _money(value: Any) -> Decimal:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("万元"):
            return Decimal(text[:-2]) * 10000
        if text.endswith("元"):
            return Decimal(text[:-1])
        return Decimal(text)
    return Decimal(value)


def _fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def _deferred(a: dict[str, Any]) -> bool:
    """四(二)1: an out-of-area vehicle's 较大 (3–9 deaths) road accident goes to the autonomous region's rules."""
    return bool(a.get("异地车辆", False)) and a["类型"] == "道路交通" and 3 <= a["死亡人数"] < 10


def _accidents(f: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(all accidents, those the city assesses, those deferred to the autonomous region — 四(二)1)."""
    accidents = f.get("事故") or []
    kept = []
    deferred = []
    for a in accidents:
        if _deferred(a):
            deferred.append(a)
        else:
            kept.append(a)
    return accidents, kept, deferred


def _control_and_vetoes(f: dict[str, Any], accidents: list[dict[str, Any]], kept: list[dict[str, Any]],
                        per_death: int, per_accident: int, breach: int, points: int) -> tuple[Any, list[tuple[str, list[Any]]]]:
    deaths = 0
    fatal = 0
    for a in kept:
        d = a["死亡人数"]
        deaths += d
        if d >= 1:  # param 起数指标计入死亡人数下限 = 1 (fatal accidents only)
            fatal += 1
    death_limit = f.get("死亡人数控制指标")
    accident_limit = f.get("事故起数控制指标")
    broke = (death_limit is not None and deaths > death_limit) or (accident_limit is not None and fatal > accident_limit)
    control = points - (per_death * deaths + per_accident * fatal + (breach if broke else 0))
    if control < 0:
        control = 0
    vetoes = []
    big = [a for a in kept if a["死亡人数"] >= 3]
    if big:
        vetoes.append(("较大以上事故", big))
    hidden = [a for a in accidents if a.get("瞒报", False) or a.get("谎报", False)]
    if hidden:
        vetoes.append(("瞒报谎报", hidden))
    if broke:
        vetoes.append(("突破指标", []))
    # 四(二)4(4) reads every accident: below 较大, or the out-of-area 较大 road
    # accidents 四(二)1 hands to the autonomous region (issue #10 item 8).
    social = [a for a in accidents
              if (a["死亡人数"] < 3 or _deferred(a)) and a.get("重大社会影响", False)]
    if social:
        vetoes.append(("重大社会影响", social))
    return control, vetoes


def _inspections(f: dict[str, Any], p1: int, p2: int, p3: int) -> tuple[Any, Any, Any]:
    """四(二)3: the three 日常督查 targets from the pre-deduction records (预扣分)."""
    checks = 0
    supervised = 0
    sampled = 0
    for r in f.get("预扣分记录") or ():
        kind = r["类型"]
        if kind == "督办事项":
            supervised += Decimal(r["扣分"])
        elif kind == "目标抽查":
            sampled += Decimal(r["扣分"])
        elif kind in ("日常检查", "专项督查", "半年考核"):
            checks += Decimal(r["扣分"])
    report = f.get("半年自查报告日期")
    late = 0 if report is not None and _date(report) <= HALF_YEAR_REPORT_DUE else 5
    t1 = p1 - ((checks if checks > 0 else 0) + late)
    t2 = p2 - (supervised if supervised > 0 else 0)
    t3 = p3 - (sampled if sampled > 0 else 0)
    return (t1 if t1 > 0 else 0), (t2 if t2 > 0 else 0), (t3 if t3 > 0 else 0)


def _reporting(accidents: list[dict[str, Any]], points: int, per_late: int) -> Any:
    honest = not any(a.get("瞒报", False) or a.get("谎报", False) for a in accidents)
    late = sum(1 for a in accidents if a.get("迟报", False))
    t = points - ((0 if honest else points) + per_late * late)
    return t if t > 0 else 0


def _duty_report(f: dict[str, Any], points: int, late_deduction: int) -> int:
    reported = f.get("履职报告日期")
    if reported is None:
        return 0
    t = points - (late_deduction if _date(reported) > DUTY_REPORT_DUE else 0)
    return t if t > 0 else 0


def _short(target: int, done: Any, per: Decimal | int, points: int) -> Any:
    missing = target - done
    t = points - per * (missing if missing > 0 else 0)
    return t if t > 0 else 0


def _rate(value: Any, absent: int) -> bool:
    return (absent if value is None else value) >= 100


def _district(f: dict[str, Any]) -> tuple[Any, ...]:
    g = f.get
    accidents, kept, deferred = _accidents(f)
    control, vetoes = _control_and_vetoes(f, accidents, kept, 20, 10, 100, 400)
    c1, c2, c3 = _inspections(f, 100, 60, 40)
    stations = g("安监站") or ()
    models = g("示范单位") or ()
    kinds = [m["类型"] for m in models]
    budget = _money(f["专项资金预算"])
    detail = (
        10 if f["落实一岗双责"] else 0,
        5 if f["列入重点民生工程"] else 0,
        5 if f["跟踪评估十二五规划"] else 0,
        15 if budget >= 1000000 else 0,
        5 if f["支持重点工程"] else 0,
        5 if f["制定基础设施装备计划"] else 0,
        5 if f["落实装备管理制度"] else 0,
        5 if f["督促投保责任险"] else 0,
        5 if f["开展半年年度考核"] else 0,
        5 if f["考核结果运用"] else 0,
        _duty_report(f, 5, 3),
        10 if f["监察大队人员到位"] else 0,
        10 if f["六个一流达标"] else 0,
        _short(f["街道乡镇数"], len(stations), 5, 15),
        _short(0, -sum(1 for s in stations if s["专职人员"] < 2), 5, 10),
        5 if f["农机监理人员数"] >= 1 else 0,
        15 if f["开展基础建设年活动"] else 0,
        15 if f["督促企业夯实基础"] else 0,
        10 if f["打非治违专项行动"] else 0,
        8 if _rate(g("重点车辆卫星定位安装率"), 0) else 0,
        4 if g("驾驶人强制休息") else 0,
        3 if f["危险路段排查治理"] else 0,
        5 if g("农机实地安全检验") else 0,
        5 if g("校车安全管理") else 0,
        4 if g("取缔非法开采") else 0,
        6 if _rate(g("非煤矿山标准化达标率"), 100) else 0,
        4 if g("危化重大危险源备案") else 0,
        3 if g("两重点一重大改造方案") else 0,
        3 if f["化工装置安全诊断"] else 0,
        5 if _rate(g("危化标准化达标率"), 100) else 0,
        5 if _rate(g("机械企业标准化达标率"), 100) else 0,
        5 if g("建筑施工监管") else 0,
        5 if g("消防网格化管理") else 0,
        5 if g("特种设备整治") else 0,
        3 if f["督促费用提取"] else 0,
        2 if f["推动火灾公众责任险"] else 0,
        5 if g("大型活动安全管理") else 0,
        5 if f["应急队伍建设"] else 0,
        5 if f["应急预案报备"] else 0,
        5 if f["应急演练"] else 0,
        8 if f["预警预报机制"] else 0,
        5 if f["应急资源普查与平台"] else 0,
        _short(50, g("新增消火栓数") or 0, D02, 10),
        _short(3, g("新增消防水鹤数") or 0, 4, 12),
        5 if f["安全宣传教育"] else 0,
        5 if f["安全生产月活动"] else 0,
        5 if "示范企业" in kinds else 0,
        5 if "示范社区" in kinds else 0,
        5 if "示范学校" in kinds else 0,
        5 if g("保持平安创建成果") else 0,
        10 if f["从业人员培训合格率"] >= 100 else 0,
        6 if f["领导干部安全培训率"] >= 100 else 0,
        7 if f["三类人员培训率"] >= 100 else 0,
        7 if f["三类人员持证率"] >= 100 else 0,
        _reporting(accidents, 15, 5),
        10 if _rate(g("事故结案率"), 100) else 0,
        5 if f["公布查处结果"] else 0,
        5 if f["落实挂牌督办"] else 0,
        10 if f["统计报告与联席会议"] else 0,
        5 if f["安全信访工作"] else 0,
    )
    return _finish(f, control, c1, c2, c3, detail, vetoes, deferred, 900, 850, 800)


def _department(f: dict[str, Any]) -> tuple[Any, ...]:
    g = f.get
    accidents, kept, deferred = _accidents(f)
    control, vetoes = _control_and_vetoes(f, accidents, kept, 12, 6, 60, 240)
    c1, c2, c3 = _inspections(f, 60, 36, 24)
    detail = (
        5 if f["落实一岗双责"] else 0,
        5 if f["完善责任体系"] else 0,
        5 if f["层层签订责任书"] else 0,
        5 if f["开展半年年度考核"] else 0,
        5 if f["考核结果运用"] else 0,
        _duty_report(f, 15, 8),
        10 if f["配备安全管理人员"] else 0,
        _short(4, f["开会季度数"], 5, 20),
        10 if f["开展基础建设年活动"] else 0,
        10 if f["督促企业夯实基础"] else 0,
        6 if f["打非治违专项行动"] else 0,
        4 if f["四个一律落实"] else 0,
        4 if _rate(g("重点车辆卫星定位安装率"), 100) else 0,
        2 if g("驾驶人强制休息", True) is not False else 0,
        2 if g("农机实地安全检验", True) is not False else 0,
        2 if g("校车安全管理", True) is not False else 0,
        2 if g("取缔非法开采", True) is not False else 0,
        2 if _rate(g("非煤矿山标准化达标率"), 100) else 0,
        2 if g("危化重大危险源备案", True) is not False else 0,
        2 if g("两重点一重大改造方案", True) is not False else 0,
        2 if _rate(g("危化标准化达标率"), 100) else 0,
        2 if _rate(g("机械企业标准化达标率"), 100) else 0,
        2 if g("三同时制度", True) is not False else 0,
        2 if g("建筑施工监管", True) is not False else 0,
        2 if g("消防网格化管理", True) is not False else 0,
        2 if g("特种设备整治", True) is not False else 0,
        3 if f["督促投保责任险"] else 0,
        3 if f["督促费用提取"] else 0,
        2 if f["推动火灾公众责任险"] else 0,
        2 if f["按时报送隐患信息"] else 0,
        _short(10, _or(g("合同制消防员征召数"), 10), D04, 4),
        _short(25, _or(g("合同制消防文员征召数"), 25), D02, 5),
        4 if g("消防装备配齐", True) is not False else 0,
        _short(50, _or(g("新增消火栓数"), 50), D01, 5),
        _short(3, _or(g("新增消防水鹤数"), 3), 1, 3),
        _short(12, _or(g("购置消防车数"), 12), D025, 3),
        3 if g("搜救基地建设", True) is not False else 0,
        2 if g("气象灾害防御", True) is not False else 0,
        1 if g("推进安全科技", True) is not False else 0,
        2 if g("大型活动安全管理", True) is not False else 0,
        2 if f["应急队伍建设"] else 0,
        2 if f["预警预报机制"] else 0,
        2 if f["应急预案报备"] else 0,
        2 if f["应急演练"] else 0,
        4 if f["安全宣传教育"] else 0,
        4 if f["安全生产月活动"] else 0,
        4 if g("示范单位") else 0,
        2 if g("保持平安创建成果", True) is not False else 0,
        4 if f["从业人员培训合格率"] >= 100 else 0,
        4 if f["领导干部安全培训率"] >= 100 else 0,
        4 if f["三类人员培训率"] >= 100 else 0,
        4 if f["三类人员持证率"] >= 100 else 0,
        _reporting(accidents, 10, 5),
        6 if _rate(g("事故结案率"), 100) else 0,
        3 if f["公布查处结果"] else 0,
        3 if f["落实挂牌督办"] else 0,
        4 if f["统计报告与联席会议"] else 0,
        4 if f["安全信访工作"] else 0,
    )
    return _finish(f, control, c1, c2, c3, detail, vetoes, deferred, 550, 500, 450)


def _enterprise(f: dict[str, Any]) -> tuple[Any, ...]:
    g = f.get
    accidents, kept, deferred = _accidents(f)
    control, vetoes = _control_and_vetoes(f, accidents, kept, 12, 6, 60, 240)
    c1, c2, c3 = _inspections(f, 60, 36, 24)
    open_hazards = sum(1 for h in g("重大隐患") or () if not h["五落实"])
    detail = (
        5 if f["落实一岗双责"] else 0,
        5 if f["完善责任体系"] else 0,
        10 if f["层层签订责任书"] else 0,
        5 if f["开展半年年度考核"] else 0,
        5 if f["考核结果运用"] else 0,
        10 if f["配备安全管理人员"] else 0,
        _short(4, f["开会季度数"], 5, 20),
        10 if f["开展基础建设年活动"] else 0,
        10 if f["完善安全设备设施"] else 0,
        10 if f["班组建设"] else 0,
        5 if f["网格化管理"] else 0,
        5 if f["打非治违专项行动"] else 0,
        5 if f["四个一律落实"] else 0,
        _short(0, -open_hazards, 4, 8),
        3 if f["重点时期部位治理"] else 0,
        4 if f["按时报送隐患信息"] else 0,
        4 if f["现场安全管理"] else 0,
        3 if f["推进标准化建设"] else 0,
        3 if f["重点设施定期检查"] else 0,
        5 if f["足额提取安全费用"] else 0,
        3 if f["落实隐患治理资金"] else 0,
        3 if f["投保火灾公众责任险"] else 0,
        4 if g("安全生产责任险", True) is not False else 0,
        3 if f["危险物品合规"] else 0,
        2 if f["警保安消联动"] else 0,
        4 if f["安全管理制度健全"] else 0,
        3 if f["推广适用技术"] else 0,
        3 if f["配合消防专项治理"] else 0,
        5 if f["应急队伍建设"] else 0,
        5 if f["预警预报机制"] else 0,
        5 if f["应急预案报备"] else 0,
        5 if f["应急演练"] else 0,
        5 if f["安全宣传教育"] else 0,
        5 if f["安全生产月活动"] else 0,
        10 if f["三类人员持证率"] >= 100 else 0,
        10 if f["从业人员培训合格率"] >= 100 else 0,
        _reporting(accidents, 20, 10),
        10 if g("落实事故整改", True) is not False else 0,
    )
    return _finish(f, control, c1, c2, c3, detail, vetoes, deferred, 550, 500, 450)


def _or(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _finish(f: dict[str, Any], control: Any, c1: Any, c2: Any, c3: Any, detail: tuple[Any, ...],
            vetoes: list[tuple[str, list[Any]]], deferred: list[Any], excellent: int, good: int, passing: int) -> tuple[Any, ...]:
    rules = sum(detail)
    daily = c1 + c2 + c3
    management = rules + daily
    score = management + control
    if score >= excellent:
        band = "优秀"
    elif score >= good:
        band = "良好"
    elif score >= passing:
        band = "合格"
    else:
        band = "不合格"
    rating = "不合格" if vetoes else band
    money: tuple[Decimal, tuple[tuple[str, Decimal | None], ...]] | None = None
    if rating == "优秀":
        amount = _money(f["奖励金额"])
        full = _fen(amount)
        extra = _fen(amount * 30 / 100)
        total = full + extra
        signatory = _fen(amount * 20 / 100)
        money = (total, (("全额兑现", full), ("追加奖励", extra), ("签订人", signatory), ("有关人员", total - signatory)))
    elif rating == "良好":
        amount = _money(f["奖励金额"])
        total = _fen(amount)
        signatory = _fen(amount * 20 / 100)
        money = (total, (("全额兑现", total), ("签订人", signatory), ("有关人员", total - signatory)))
    elif rating == "不合格":
        fine = _fen(_money(f["奖励金额"]) * 50 / 100)
        signatory = _fen(fine * 20 / 100)
        money = (fine, (("罚款", fine), ("签订人", signatory), ("有关人员", fine - signatory), ("例会检查", None)))
    targets = (control, c1, c2, c3, *detail)
    return (score, (management, rules, daily, control), targets, vetoes, deferred, band, rating, money)


_BY_CATEGORY = {"区政府": _district, "部门": _department, "企业": _enterprise}


def assess(unit: dict[str, Any]) -> tuple[Any, ...]:
    """Assess one unit (id, name, category, facts) of the Karamay 2013 scheme."""
    return _BY_CATEGORY[unit["category"]](unit["facts"])
