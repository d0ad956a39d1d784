"""The compiled attribution predicates agree with the reference interpreter's (issue #16).

For every event hypothesis draws (over the ledger's record: every enum member, true and
false, none for an optional field), each rule's compiled ``when`` and each join term's
compiled key give what :func:`kaohe_rules.runtime.interpreter.ledger_specs` computes from
the checked AST.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.language.types import Type
from kaohe_rules.numeric import engine_context
from kaohe_rules.runtime.interpreter import ledger_specs

DATA = Path(__file__).resolve().parents[1] / "data" / "ledgers"
POLICY = kaohe_rules.load(DATA / "accidents.kh")
COMPOSED = kaohe_rules.load(DATA / "composed.kh")


def value_of(policy: Any, t: Type) -> st.SearchStrategy[Any]:
    if t.kind == "enum":
        base: st.SearchStrategy[Any] = st.integers(0, len(policy.checked.enums[t.name].members) - 1)
    elif t.kind == "bool":
        base = st.booleans()
    elif t.kind == "int":
        base = st.integers(0, 5)
    elif t.kind == "text":
        base = st.sampled_from(["A-1", "E-9", ""])
    elif t.kind == "date":
        base = st.dates(datetime.date(2013, 1, 1), datetime.date(2013, 12, 31))
    else:
        base = st.decimals(0, 100, places=2).map(Decimal)
    return st.one_of(st.none(), base) if t.optional else base


def events(policy: Any, record: str) -> st.SearchStrategy[dict[str, Any]]:
    decl = policy.checked.records[record]
    fields = {f.name: value_of(policy, policy.checked.record_fields[record][f.name]) for f in decl.fields}
    derive = policy.module.derive.get(record)
    return st.fixed_dictionaries(fields).map(lambda r: derive(dict(r)) if derive is not None else r)


def decisions(specs: Any, event: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for spec in specs:
        for rule in spec.rules:
            out.append(None if rule.when is None else rule.when(event))
            out.extend(join.key(event) for join in rule.joins)
    return out


@pytest.mark.parametrize("policy", [POLICY, COMPOSED], ids=["accidents", "composed"])
def test_compiled_and_interpreted_predicates_agree(policy: Any) -> None:
    compiled, interpreted = policy.program.ledgers, ledger_specs(policy.checked)
    assert [s.name for s in compiled] == [s.name for s in interpreted]
    assert [[(r.kind, r.name, r.reads, r.categories) for r in s.rules] for s in compiled] == \
           [[(r.kind, r.name, r.reads, r.categories) for r in s.rules] for s in interpreted]

    @settings(max_examples=150, deadline=None)
    @given(events(policy, compiled[0].record))
    def agree(event: dict[str, Any]) -> None:
        with engine_context():
            assert decisions(compiled, event) == decisions(interpreted, event)

    agree()
