"""Karamay 2013 from one accident ledger (issue #16, "Done when"): the same units, the same results —
except where the old per-unit accident lists disagreed with each other.

``policies/karamay-2013-ledger.kh`` extends ``karamay-2013.kh`` and takes the accidents from the
ledger 事故台账 (charge rules 属地 / 行业 / 道路运输 / 本企业). ``policies/karamay-2013/units-with-ledger.json``
holds the same invented units as ``units.json`` with the 17 accident copies of their own lists merged
into 16 ledger rows. ``tests/data/karamay-2013/expected-before-ledger.json`` is the reviewed record of the
per-unit form's results (taken before anything changed, checked against the README's hand-computed table).

13 of the 17 units come out exactly as before. Four departments change, each because a unit's old list
left out an accident another unit's list held and the document's 属地/行业 duties place on it too
(the copies disagreed by omission; the one accident typed twice, 2013-08-03, agrees field by field).
The new values below were worked out by hand (docs/schemes/karamay-2013-ledger.md) before the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
OLD_POLICY = ROOT / "policies" / "karamay-2013.kh"
NEW_POLICY = ROOT / "policies" / "karamay-2013-ledger.kh"
OLD_UNITS = ROOT / "policies" / "karamay-2013" / "units.json"
NEW_UNITS = ROOT / "policies" / "karamay-2013" / "units-with-ledger.json"
BEFORE = ROOT / "tests" / "data" / "karamay-2013" / "expected-before-ledger.json"

FIRE = "2013-08-03 外地籍大型客车在国道217线克拉玛依区路段与货车相撞，3人死亡（异地车辆）"


def _summary(result: Any) -> dict[str, Any]:
    """What the issue compares: score, band, rating, vetoes, deferrals and money (as in BEFORE)."""
    d = result.to_dict()
    c = d["consequences"]
    return {
        "score": d["score"], "band": d["band"], "rating": d["rating"],
        "vetoes": [v["name"] for v in d["vetoes"]],
        "deferred": {x["name"]: [i["日期"] + " " + i["简况"] for i in x["items"]] for x in d["deferred"]},
        "money": None if c is None else {"kind": c["kind"], "total": c["total"],
                                         "items": {i["name"]: i["amount"] for i in c["items"]}},
    }


def _assessed(policy: Any, doc: dict[str, Any]) -> list[Any]:
    """The results of the batch (every row must be assessed: an error row fails the test, naming it)."""
    items = list(policy.evaluate_many(doc["units"], ledgers=doc["ledgers"]))
    assert all(item.ok for item in items), [(item.unit_id, str(item.error)) for item in items if not item.ok]
    return [item.result for item in items]


def _fine(total: str, signatory: str, staff: str) -> dict[str, Any]:
    return {"kind": "fine", "total": total,
            "items": {"罚款": total, "签订人": signatory, "有关人员": staff, "例会检查": None}}


# Worked out by hand; each change is an accident another unit's old list held (docs/schemes/karamay-2013-ledger.md).
CHANGED: dict[str, dict[str, Any]] = {
    # 道路运输 (营运车辆): + KLMY-2013-02 (tongda, 2 deaths), + KLMY-2013-15 (tongda, 0 deaths, 迟报),
    # + KLMY-2013-09 (deferred, 异地较大). Counted: 1+2+0 = 3 deaths, 2 fatal > 死亡 2 → 突破指标.
    # 控制指标 240−3×12−2×6−60 = 132; 事故上报 10−2×5 = 0 (was 5): 168−5+80+132 = 375.
    "transport": {"score": "375", "band": "不合格", "rating": "不合格", "vetoes": ["突破指标"],
                  "deferred": {"异地车辆较大事故": [FIRE]}, "money": _fine("20000.00", "4000.00", "16000.00")},
    # 行业 农业机械: + KLMY-2013-06 (wuerhe's tractor, 1 death). 3 deaths > 2, 2 fatal > 1 → 突破指标.
    # 控制指标 240−36−12−60 = 132 (was 210): 165+55+132 = 352. Rating and fine unchanged.
    "agriculture": {"score": "352", "band": "不合格", "rating": "不合格", "vetoes": ["突破指标"],
                    "deferred": {}, "money": _fine("15000.00", "3000.00", "12000.00")},
    # 行业 建筑施工: + KLMY-2013-08 (hongji's fall, 1 death, 迟报). 4 deaths > 3 → 突破指标 besides 较大.
    # 控制指标 240−48−12−60 = 120 (was 198); 事故上报 10−5 = 5: 240−5+120+120 = 475 (band 合格, vetoed).
    "housing": {"score": "475", "band": "合格", "rating": "不合格", "vetoes": ["较大以上事故", "突破指标"],
                "deferred": {}, "money": _fine("25000.00", "5000.00", "20000.00")},
    # 行业 道路交通: + KLMY-2013-02, -03, -11, -14, -15 (every road accident the others listed).
    # Counted (09 deferred): 2+1+1+2+2+0 = 8 deaths, 5 fatal > 3 → 突破指标. 控制指标 240−96−30−60 = 54;
    # 事故上报 10−3×5 → 0 (was 10): 236−10+118+54 = 398. 优秀 → 不合格, reward → fine 50% of 50000.
    "traffic-police": {"score": "398", "band": "不合格", "rating": "不合格", "vetoes": ["突破指标"],
                       "deferred": {"异地车辆较大事故": [FIRE]}, "money": _fine("25000.00", "5000.00", "20000.00")},
}


@pytest.fixture(scope="module")
def ledger_results() -> dict[str, dict[str, Any]]:
    policy = kaohe_rules.load(NEW_POLICY)
    doc = json.loads(NEW_UNITS.read_text(encoding="utf-8"))
    return {r.unit_id: _summary(r) for r in _assessed(policy, doc)}


def test_the_recorded_expectation_is_still_what_the_per_unit_form_gives() -> None:
    """The reference itself stays true: the per-unit form is kept (units.json, karamay-2013.kh)."""
    before = json.loads(BEFORE.read_text(encoding="utf-8"))["units"]
    policy = kaohe_rules.load(OLD_POLICY)
    units = json.loads(OLD_UNITS.read_text(encoding="utf-8"))["units"]
    assert {u["id"]: _summary(policy.evaluate(u)) for u in units} == before


def test_the_ledger_form_gives_the_same_results_except_where_the_copies_disagreed(
        ledger_results: dict[str, dict[str, Any]]) -> None:
    before = json.loads(BEFORE.read_text(encoding="utf-8"))["units"]
    assert set(ledger_results) == set(before)
    unchanged = {uid: before[uid] for uid in before if uid not in CHANGED}
    assert {uid: ledger_results[uid] for uid in unchanged} == unchanged
    for uid, expected in CHANGED.items():
        assert ledger_results[uid] == expected, uid
        assert ledger_results[uid] != before[uid]  # each listed change is a real change


def test_each_unit_is_charged_the_accidents_its_old_list_held_plus_the_omitted_ones() -> None:
    """Per unit, the ledger rows charged = the rows made from its own old list (+ the listed additions)."""
    policy = kaohe_rules.load(NEW_POLICY)
    doc = json.loads(NEW_UNITS.read_text(encoding="utf-8"))
    rows = doc["ledgers"]["事故台账"]
    key_of = {(e["日期"], e["简况"]): e["编号"] for e in rows}
    old = {u["id"]: sorted(key_of[(a["日期"], a["简况"])] for a in u["facts"]["事故"])
           for u in json.loads(OLD_UNITS.read_text(encoding="utf-8"))["units"]}
    added = {"transport": ["KLMY-2013-02", "KLMY-2013-09", "KLMY-2013-15"],
             "agriculture": ["KLMY-2013-06"], "housing": ["KLMY-2013-08"],
             "traffic-police": ["KLMY-2013-02", "KLMY-2013-03", "KLMY-2013-11", "KLMY-2013-14", "KLMY-2013-15"]}
    charged = {r.unit_id: sorted(str(c.event.key) for c in r.charged)
               for r in _assessed(policy, doc)}
    assert charged == {uid: sorted(keys + added.get(uid, [])) for uid, keys in old.items()}


def test_the_merged_ledger_holds_every_copy_once_and_the_duplicate_agreed() -> None:
    units = json.loads(OLD_UNITS.read_text(encoding="utf-8"))["units"]
    copies: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for u in units:
        for a in u["facts"]["事故"]:
            copies.setdefault((a["日期"], a["简况"]), []).append(a)
    assert sum(map(len, copies.values())) == 17 and len(copies) == 16
    [(key, pair)] = [(k, v) for k, v in copies.items() if len(v) > 1]
    assert key[0] == "2013-08-03" and pair[0] == pair[1]
    rows = json.loads(NEW_UNITS.read_text(encoding="utf-8"))["ledgers"]["事故台账"]
    assert sorted((e["日期"], e["简况"]) for e in rows) == sorted(copies)
