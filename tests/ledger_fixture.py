"""The ledger test policy of the RUNTIME part of issue #16, in ONE place.

Until the language part (``ledger`` declarations, branch lang-ledger) is merged, the policy
is written with ``record 事故 …`` and a plain list fact ``事故``, and its ledger is the
hand-built :class:`LedgerSpec` below (Python lambdas for ``when`` / ``key``), installed in
the compiled module when the policy is loaded.  The ``LEDGER_TEXT`` comment is the same
ledger in the agreed syntax (/work/notes/lang16.md, L1): after the merge, append it to the
policy text, make ``fact 事故`` ``from 事故台账`` and let :func:`load_ledger_policy` load the
text alone — every test using this module then runs on the compiled ledger.

The scheme, modelled on 乌政办[2005]136号 (the Ürümqi 界定办法) and Karamay's 四(二)1:
区县 are charged the accidents of their 辖区 (a development zone's road accidents go to its
对口区 by a map), 部门 those of the sectors they supervise (主管行业), 企业 its own (unit.id);
accidents of 军队/武警 vehicles are excluded, production fires of 中央/自治区 enterprises are
handed over to the autonomous region.  Every accident costs points (5 a death, 2 an accident,
capped) and never adds any: the law "removing an event never lowers a score" holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

import kaohe_rules
import kaohe_rules.policy
from kaohe_rules.runtime.evaluator import CompiledModule
from kaohe_rules.runtime.ledger import UNIT_ID, Event, JoinTerm, LedgerRule, LedgerSpec

POLICY_TEXT = """\
policy 台账示例 "台账归属示例" { period 2013-01-01 .. 2013-12-31 }
category 区县 "区（县）" total 100 { section 指标 "控制指标" 100 }
category 部门 "部门" total 100 { section 指标 "控制指标" 100 }
category 企业 "企业" total 100 { section 指标 "控制指标" 100 }
ratings { 优秀 "优秀" 良好 "良好" 合格 "合格" 不合格 "不合格" } vetoed 不合格
bands 区县 { 优秀 [90, 100] 良好 [75, 90) 合格 [60, 75) 不合格 [0, 60) }
bands 部门 { 优秀 [90, 100] 良好 [75, 90) 合格 [60, 75) 不合格 [0, 60) }
bands 企业 { 优秀 [90, 100] 良好 [75, 90) 合格 [60, 75) 不合格 [0, 60) }
enum 区域 { 天山区, 沙依巴克区, 新市区, 头屯河区, 经济技术开发区, 高新技术产业开发区 }
enum 事故类型 { 道路交通 "道路交通事故", 火灾 "火灾事故", 工矿商贸 "工矿商贸事故" }
enum 车辆属性 { 地方, 军队, 武警 }
enum 隶属 { 市属, 中央, 自治区 }
record 事故 "生产安全事故" {
  编号: text "事故编号"
  日期: date "发生日期"
  类型: 事故类型 "类型"
  发生地: 区域 "发生地"
  车辆属性: 车辆属性 = 地方 "肇事车辆属性"
  生产经营: bool = false "生产经营火灾"
  隶属: 隶属 = 市属 "发生单位隶属"
  发生单位编号: text? "发生单位"
  死亡人数: int >= 0 "死亡人数"
}
fact 辖区: 区域 "本区行政区域" for 区县
fact 主管行业: list of 事故类型 = [] "主管的行业" for 部门
fact 事故: list of 事故 = [] "计入本单位的事故"
fact 瞒报: bool = false "瞒报事故"
defer 自治区火灾 "中央、自治区所属单位的火灾" from 事故 where 类型 == 火灾 and 隶属 == 自治区
  as 本市事故 to "自治区有关规定" cite "第四条"
target 事故控制 "事故控制" in 区县.指标 points 100, 部门.指标 points 100, 企业.指标 points 100 {
  deduct sum(本市事故 of 死亡人数) * 5 cap 60
  deduct count(本市事故) * 2 cap 40
}
veto 重大 "发生3人以上死亡事故" cite "第五条" on 本市事故 as x where x.死亡人数 >= 3
veto 瞒报 "瞒报事故" cite "第九条" when 瞒报
"""

#: The same policy ranking its 区县 (issue #11 C): the cohort stage runs on the scores the ledger's events cost.
COHORT_POLICY_TEXT = POLICY_TEXT + """\
cohort 排名 "区县年度排名" cite "第十条" {
  for 区县
  by score
  ties share
  quota 优秀 at most 1
}
"""

#: The same ledger in the agreed syntax (lang16.md L1), for when the language part is merged.
LEDGER_TEXT = """\
map 对口区 "开发区辖区道路交通事故计入的对口区" from 区域 to 区域 cite "136号第三条" {
  经济技术开发区 -> 头屯河区
  高新技术产业开发区 -> 新市区
}
ledger 事故台账 "生产安全事故台账" of 事故 key 编号 shown as "{日期} {类型} {死亡人数}人死亡"
    cite "第二条" source "市安监局、交警支队、消防局统计数据" {
  exclude 军警车辆 "军队、武警车辆发生的道路交通事故" when 类型 == 道路交通 and 车辆属性 in [军队, 武警] cite "第三条"
  hand over 直属企业火灾 "中央所属生产经营单位的生产经营火灾" when 类型 == 火灾 and 生产经营 and 隶属 == 中央
      to "自治区有关规定" cite "第四条(一)"
  charge 属地 "计入事故发生地的区(县)人民政府" to 区县 where unit.辖区 == 发生地
      when not (类型 == 道路交通 and 发生地 in [经济技术开发区, 高新技术产业开发区]) cite "第三条"
  charge 对口区 "开发区辖区道路交通事故计入对口区" to 区县 where unit.辖区 == 对口区(发生地)
      when 类型 == 道路交通 and 发生地 in [经济技术开发区, 高新技术产业开发区] cite "第三条第二款"
  charge 行业 "计入行业主管部门" to 部门 where 类型 in unit.主管行业 cite "四(二)1"
  charge 本企业 "计入发生事故的企业" to 企业 where unit.id == 发生单位编号 cite "四(二)1"
}
"""

LEDGER = "事故台账"
FACT = "事故"

# enum member indices, as the engine holds them (declaration order above)
天山区, 沙依巴克区, 新市区, 头屯河区, 经开区, 高新区 = range(6)
道路交通, 火灾, 工矿商贸 = range(3)
地方, 军队, 武警 = range(3)
市属, 中央, 自治区 = range(3)
对口 = {经开区: 头屯河区, 高新区: 新市区}


def _field(name: str) -> Callable[[Event], object]:
    return lambda event: event[name]


def ledger_spec() -> LedgerSpec:
    """事故台账 compiled by hand: what the compiler will produce from LEDGER_TEXT."""
    def road_in_zone(e: Event) -> bool:
        return e["类型"] == 道路交通 and e["发生地"] in (经开区, 高新区)

    rules = (
        LedgerRule("exclude", "军警车辆", "军队、武警车辆发生的道路交通事故", "第三条",
                   lambda e: e["类型"] == 道路交通 and e["车辆属性"] in (军队, 武警),
                   reason="军队、武警车辆发生的道路交通事故", reads=("类型", "车辆属性")),
        LedgerRule("hand_over", "直属企业火灾", "中央所属生产经营单位的生产经营火灾", "第四条(一)",
                   lambda e: e["类型"] == 火灾 and bool(e["生产经营"]) and e["隶属"] == 中央,
                   to="自治区有关规定", reads=("类型", "生产经营", "隶属")),
        LedgerRule("charge", "属地", "计入事故发生地的区(县)人民政府", "第三条",
                   lambda e: not road_in_zone(e), categories=("区县",),
                   joins=(JoinTerm("辖区", "eq", _field("发生地"), ("发生地",)),), reads=("类型", "发生地")),
        LedgerRule("charge", "对口区", "开发区辖区道路交通事故计入对口区", "第三条第二款",
                   road_in_zone, categories=("区县",),
                   joins=(JoinTerm("辖区", "eq", lambda e: 对口.get(e["发生地"]), ("发生地",)),),  # type: ignore[call-overload]
                   reads=("类型", "发生地")),
        LedgerRule("charge", "行业", "计入行业主管部门", "四(二)1", None, categories=("部门",),
                   joins=(JoinTerm("主管行业", "in", _field("类型"), ("类型",)),), reads=()),
        LedgerRule("charge", "本企业", "计入发生事故的企业", "四(二)1", None, categories=("企业",),
                   joins=(JoinTerm(UNIT_ID, "eq", _field("发生单位编号"), ("发生单位编号",)),), reads=()),
    )
    return LedgerSpec(LEDGER, "生产安全事故台账", "第二条", "事故", FACT, "编号",
                      (("", "日期"), (" ", "类型"), (" ", "死亡人数"), ("人死亡", None)), rules,
                      ("辖区", "主管行业"), "市安监局、交警支队、消防局统计数据")


@contextmanager
def ledgers_installed(*specs: LedgerSpec) -> Iterator[None]:
    """While loading: every compiled module gets ``specs`` as its ledgers (what the compiler will do)."""
    class _WithLedgers(CompiledModule):
        def __init__(self, compiled: object) -> None:
            super().__init__(compiled)  # type: ignore[arg-type]
            self.ledgers = specs

    with mock.patch.object(kaohe_rules.policy, "CompiledModule", _WithLedgers):
        yield


#: The lead: True once the language part (branch lang-ledger) is merged — every test of this module's users
#: then runs on the ledger compiled from LEDGER_TEXT (tests that pass hand-built ``specs`` keep them).
USE_LEDGER_SYNTAX = False
OWN_FACT_LINE = 'fact 事故: list of 事故 = [] "计入本单位的事故"'
LEDGER_FACT_LINE = 'fact 事故: list of 事故 from 事故台账 "计入本单位的事故"'


def ledger_syntax_text(text: str = POLICY_TEXT) -> str:
    """``text`` with its ledger in the agreed syntax: ``fact 事故 … from 事故台账`` and LEDGER_TEXT appended."""
    assert OWN_FACT_LINE in text
    return text.replace(OWN_FACT_LINE, LEDGER_FACT_LINE) + LEDGER_TEXT


def load_ledger_policy(text: str = POLICY_TEXT, *specs: LedgerSpec) -> kaohe_rules.Policy:
    """The test policy with its ledger (``specs`` default: :func:`ledger_spec`, or the compiled ledger when
    :data:`USE_LEDGER_SYNTAX`)."""
    if USE_LEDGER_SYNTAX and not specs:
        return kaohe_rules.load(ledger_syntax_text(text), cache=False)
    with ledgers_installed(*(specs or (ledger_spec(),))):
        return kaohe_rules.load(text, cache=False)


def accident(编号: str, 类型: str, 发生地: str, 死亡人数: int = 1, **more: object) -> dict[str, object]:
    """A raw event as a ledger supplies it (dates default to 2013-05-03)."""
    return {"编号": 编号, "日期": more.pop("日期", "2013-05-03"), "类型": 类型, "发生地": 发生地,
            "死亡人数": 死亡人数, **more}


def units() -> list[dict[str, object]]:
    """Four districts, two departments and an enterprise."""
    return [
        {"id": "TS", "name": "天山区", "category": "区县", "facts": {"辖区": "天山区"}},
        {"id": "SY", "name": "沙依巴克区", "category": "区县", "facts": {"辖区": "沙依巴克区"}},
        {"id": "XS", "name": "新市区", "category": "区县", "facts": {"辖区": "新市区"}},
        {"id": "TT", "name": "头屯河区", "category": "区县", "facts": {"辖区": "头屯河区"}},
        {"id": "JT", "name": "交警支队", "category": "部门", "facts": {"主管行业": ["道路交通"]}},
        {"id": "XF", "name": "消防局", "category": "部门", "facts": {"主管行业": ["火灾"]}},
        {"id": "E1", "name": "某公司", "category": "企业", "facts": {}},
    ]


def ledger() -> list[dict[str, object]]:
    """Seven accidents: charged (属地 + 行业), to the 对口区, excluded, handed over, charged to an enterprise
    (and its district), a fire (属地 + 行业), and one no unit of the batch matches: a 工矿商贸 accident in the
    经济技术开发区 (属地 names 辖区=经济技术开发区, which no 区县 has; 工矿商贸 has no 部门)."""
    return [
        accident("A-1", "道路交通", "天山区", 2),
        accident("A-2", "道路交通", "经济技术开发区", 1),
        accident("A-3", "道路交通", "新市区", 1, 车辆属性="武警"),
        accident("A-4", "火灾", "沙依巴克区", 0, 生产经营=True, 隶属="中央"),
        accident("A-5", "工矿商贸", "头屯河区", 3, 发生单位编号="E1"),
        accident("A-6", "火灾", "天山区", 1, 日期="2013-07-01"),
        accident("A-7", "工矿商贸", "经济技术开发区", 0),
    ]


def with_own_lists(units: list[dict[str, object]], events: list[dict[str, object]],
                   attribution: object) -> list[dict[str, object]]:
    """``units`` each given its own copy of the events ``attribution`` charged to it (the pre-ledger way)."""
    out = []
    for unit in units:
        facts = dict(unit["facts"])  # type: ignore[call-overload]
        charged = attribution.charged.get(unit["id"], ())  # type: ignore[attr-defined]
        if facts.keys() >= {"辖区"} or unit["category"] != "区县":
            facts["事故"] = [events[c.event.row - 1] for c in charged]
        out.append({**unit, "facts": facts})
    return out


def load_validated(policy: kaohe_rules.Policy, event: dict[str, object]) -> dict[str, object]:
    """A raw event validated as the attribution engine validates it (the item a unit's list holds)."""
    record, _fields, problems = policy.coercer.read_record(event, "事故")
    assert record is not None, problems
    return record
