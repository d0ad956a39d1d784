"""The ledger example of docs/language.md is real: it loads, and its rules decide the table's rows.

The attribution engine is the runtime's (``kaohe_rules.ledger``); this test applies the documented
order of the rules (the first exclude / hand over that holds removes the event; otherwise every
charge rule whose ``when`` holds charges each unit whose join terms hold) to the compiled
``LedgerSpec`` of the example, and to the interpreter's, and compares with the table.
"""

from __future__ import annotations

import datetime
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules.language.types import Type
from kaohe_rules.runtime.interpreter import ledger_specs
from kaohe_rules.runtime.ledger import UNIT_ID, LedgerSpec

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")

UNITS = {  # unit id -> (category, join facts)
    "天山区": ("区县", {"辖区": "天山区"}),
    "头屯河区": ("区县", {"辖区": "头屯河区"}),
    "交通局": ("部门", {"主管行业": ["道路交通"]}),
    "消防局": ("部门", {"主管行业": ["火灾"]}),
}
# (编号, fields, decided by, charged to): the rows of the table under the example
ROWS = [
    ("A-1", {"类型": "道路交通", "发生地": "天山区"}, "属地, 行业", ["天山区", "交通局"]),
    ("A-2", {"类型": "道路交通", "发生地": "经济技术开发区"}, "对口区, 行业", ["头屯河区", "交通局"]),
    ("A-3", {"类型": "道路交通", "发生地": "天山区", "车辆": "军队"}, "exclude 军警车辆", []),
    ("A-4", {"类型": "火灾", "发生地": "天山区", "纵火": True}, "exclude 纵火", []),
    ("A-5", {"类型": "火灾", "发生地": "新市区", "生产经营": True, "单位隶属": "中央"}, "hand over 直属企业火灾", []),
    ("A-6", {"类型": "火灾", "发生地": "新市区"}, "属地 (no unit has 辖区 新市区 in this batch), 行业", ["消防局"]),
]


def example() -> str:
    match = re.search(r"```kaohe\n(policy 台账示例 .*?)```", TEXT, flags=re.S)
    assert match, "docs/language.md lost its ledger example (policy 台账示例)"
    return match.group(1)


POLICY = kaohe_rules.load(example())


def value(t: Type, raw: Any) -> Any:
    """A raw value as a validated event or fact holds it (enum members by index)."""
    if t.kind == "list" and t.elem is not None:
        return [value(t.elem, r) for r in raw]
    if t.kind == "enum" and isinstance(raw, str):
        return [m.name for m in POLICY.checked.enums[t.name].members].index(raw)
    return raw


def event(key: str, fields: dict[str, Any]) -> dict[str, Any]:
    checked = POLICY.checked
    out: dict[str, Any] = {"编号": key, "日期": datetime.date(2013, 5, 3)}
    for f in checked.records["事故"].fields:
        if f.name in out:
            continue
        default = checked.field_defaults[("事故", f.name)]
        out[f.name] = value(checked.record_fields["事故"][f.name], fields.get(f.name, default))
    return out


def attribute(spec: LedgerSpec, ev: dict[str, Any]) -> tuple[str, list[str]]:
    """The documented order of the rules, over one event and the units of the table."""
    for rule in spec.rules:
        if rule.kind != "charge" and rule.when is not None and rule.when(ev):
            return f"{'exclude' if rule.kind == 'exclude' else 'hand over'} {rule.name}", []
    charged: dict[str, None] = {}
    decided: list[str] = []
    for rule in spec.rules:
        if rule.kind != "charge" or (rule.when is not None and not rule.when(ev)):
            continue
        decided.append(rule.name)
        for unit, (category, facts) in UNITS.items():
            if category not in rule.categories:
                continue
            values = {name: value(POLICY.checked.fact_types[name], raw) for name, raw in facts.items()}
            ok = True
            for join in rule.joins:
                key = join.key(ev)
                mine = unit if join.unit_fact == UNIT_ID else values.get(join.unit_fact)
                ok = ok and key is not None and (key in mine if join.mode == "in" else key == mine)  # type: ignore[operator]
            if ok:
                charged[unit] = None
    return ", ".join(decided), list(charged)


@pytest.mark.parametrize("specs", [POLICY.program.ledgers, ledger_specs(POLICY.checked)], ids=["compiled", "interpreted"])
def test_the_documented_example_decides_as_its_table_says(specs: tuple[LedgerSpec, ...]) -> None:
    (spec,) = specs
    for key, fields, decided, charged in ROWS:
        by, units = attribute(spec, event(key, fields))
        assert by == re.sub(r" \(.*?\)", "", decided) and units == charged, key
    assert POLICY.warnings == ()  # the checker proves every combination is decided (no K272)


def test_the_table_rows_are_the_ones_tested() -> None:
    table = TEXT[TEXT.index("| 编号 | event | decided by | charged to |"):]
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), table.splitlines()[2:]))
    assert len(rows) == len(ROWS)
    for line, (key, _, decided, charged) in zip(rows, ROWS):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == key and cells[2] == decided, line
        assert cells[3].startswith(", ".join(charged) if charged else "—"), line


def test_a_dead_charge_rule_is_refused_as_documented() -> None:
    text = example().replace('  charge 行业 "计入行业主管部门"', '  charge 火灾属地 to 区县 where unit.辖区 == 发生地 '
                             'when 类型 == 火灾 and 纵火\n  charge 行业 "计入行业主管部门"')
    with pytest.raises(kaohe_rules.PolicyError) as info:
        kaohe_rules.load(text)
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "K270" and "removed by 纵火" in diagnostic.message
