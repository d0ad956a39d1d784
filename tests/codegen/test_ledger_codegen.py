"""The compiled attribution rules of a ledger (issue #16): ``CompiledModule.ledgers`` as ``LedgerSpec``s.

The attribution engine itself belongs to the runtime; these tests hold the compiler to the
contract it gives the engine: one ``when`` per rule with a condition (None without one), one
key function per join term, the event fields each reads, and the declaration's parts.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.runtime.ledger import UNIT_ID, LedgerSpec

POLICY = Path(__file__).resolve().parents[1] / "data" / "ledgers" / "accidents.kh"
REPOSITORY = Path(__file__).resolve().parents[2]

# the members' indices, as a validated event holds them
ROAD, FIRE, MINE = 0, 1, 2
TIANSHAN, TOUTUNHE, XINSHI, ETDZ, HTDZ = range(5)
LOCAL, ARMY, POLICE = range(3)


@pytest.fixture(scope="module")
def spec() -> LedgerSpec:
    policy = kaohe_rules.load(POLICY)
    (ledger,) = policy.program.ledgers
    return ledger


def event(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"编号": "A-1", "日期": datetime.date(2013, 5, 3), "类型": ROAD, "发生地": TIANSHAN,
                               "车辆": LOCAL, "纵火": False, "死亡人数": 1, "发生单位编号": None}
    return {**base, **fields}


def test_the_declaration_reaches_the_spec(spec: LedgerSpec) -> None:
    assert (spec.name, spec.label, spec.record, spec.fact, spec.key_field) == ("事故台账", "生产安全事故台账", "事故", "事故", "编号")
    assert spec.cite == "第二条" and spec.source == "市安监局"
    assert spec.shown == (("", "日期"), (" ", None), ("", "类型"), (" ", None), ("", "死亡人数"), ("人死亡", None))
    assert spec.unit_facts == ("辖区", "主管行业")
    assert [(r.kind, r.name) for r in spec.rules] == [
        ("exclude", "军警车辆"), ("exclude", "纵火火灾"), ("charge", "属地"), ("charge", "对口"), ("charge", "行业")]
    exclude = spec.rules[0]
    assert exclude.reason == "军队、武警车辆发生的道路交通事故" and exclude.cite == "第三条"
    assert spec.rules[2].categories == ("区县",) and spec.rules[4].categories == ("部门",)


def test_reads_are_the_event_fields_each_rule_reads(spec: LedgerSpec) -> None:
    assert spec.rules[0].reads == ("类型", "车辆")
    assert spec.rules[2].reads == ("发生地",)
    assert spec.rules[2].joins[0].reads == ("发生地",)
    assert spec.rules[4].reads == ("类型",) and spec.rules[4].joins[0].mode == "in"


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, [False, False, True, False, None]),
    ({"车辆": ARMY}, [True, False, True, False, None]),
    ({"类型": FIRE, "车辆": ARMY}, [False, False, True, False, None]),
    ({"类型": FIRE, "纵火": True}, [False, True, True, False, None]),
    ({"发生地": ETDZ}, [False, False, False, True, None]),
    ({"发生地": HTDZ, "类型": MINE}, [False, False, False, True, None]),
])
def test_compiled_conditions(spec: LedgerSpec, fields: dict[str, object], expected: list[bool | None]) -> None:
    ev = event(**fields)
    assert [r.when(ev) if r.when is not None else None for r in spec.rules] == expected


def test_join_keys_map_the_development_zones(spec: LedgerSpec) -> None:
    local, partner, sector = spec.rules[2], spec.rules[3], spec.rules[4]
    assert local.joins[0].unit_fact == "辖区" and local.joins[0].key(event(发生地=XINSHI)) == XINSHI
    assert partner.joins[0].key(event(发生地=ETDZ)) == TOUTUNHE
    assert partner.joins[0].key(event(发生地=HTDZ)) == XINSHI
    assert partner.joins[0].key(event(发生地=TIANSHAN)) is None  # the map lists only the zones: none out
    assert sector.joins[0].key(event(类型=FIRE)) == FIRE


def test_unit_identity_join() -> None:
    text = POLICY.read_text(encoding="utf-8").replace(
        'charge 行业 "计入行业主管部门" to 部门 where 类型 in unit.主管行业 cite "四(二)1"',
        'charge 行业 "计入行业主管部门" to 部门 where 类型 in unit.主管行业 cite "四(二)1"\n'
        '  charge 本企业 to 部门 where unit.id == 发生单位编号')
    (ledger,) = kaohe_rules.load(text).program.ledgers
    join = ledger.rules[-1].joins[0]
    assert (join.unit_fact, join.mode, join.key(event(发生单位编号="E-9"))) == (UNIT_ID, "eq", "E-9")


LEDGER_SCHEMES = frozenset({"urumqi-2005", "karamay-2013-ledger"})


def test_policies_without_ledgers_generate_no_ledger_code() -> None:
    """Byte-identical code for them is checked against main by hand (docs/performance.md); here: nothing added."""
    # the two ledger schemes of issue #16 (urumqi-2005, karamay-2013-ledger) declare ledgers: not these
    for path in sorted(p for p in (REPOSITORY / "policies").glob("*.kh") if p.stem not in LEDGER_SCHEMES):
        policy = kaohe_rules.load(path)
        assert policy.program.ledgers == ()
        assert "ledger_" not in policy.generated_source


def test_a_record_let_read_by_a_rule_counts_as_the_fields_it_reads() -> None:
    policy = kaohe_rules.load(POLICY.parent / "composed.kh")
    (ledger,) = policy.program.ledgers
    hand, own, big, fallback = ledger.rules[1:]
    assert (hand.kind, hand.to, hand.reason) == ("hand_over", "自治区有关规定", None)
    assert hand.reads == ("类型", "生产经营", "单位隶属")  # 直属 = 单位隶属 is set and 单位隶属 in [...]
    assert big.reads == ("死亡人数", "单位") and big.joins[0].unit_fact == ":name"
    assert own.when is None and own.joins[0].unit_fact == UNIT_ID
    assert fallback.categories == ("监管",) and ledger.unit_facts == ("监管行业",)
