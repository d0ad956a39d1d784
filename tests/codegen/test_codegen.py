"""The code generator package: source map → evaluation error positions, shared symbols, no spliced text."""

from __future__ import annotations

import pickle

import pytest

import kaohe_rules
from kaohe_rules.codegen.emitter import Emitter, Site
from kaohe_rules.codegen.frame import Frame, Symbols
from kaohe_rules.errors import EvaluationError

HEAD = """
policy 测试 "测试政策" { period 2013-01-01 .. 2013-12-31 }
category 单位 "测试单位" total 100 {
  section 甲 "甲项" 100
}
ratings { 好 "好" 中 "中" 差 "差" } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
record R "r" { v: int "v" }
fact a: int
fact b: int
fact L: list of R = []
"""
FIRST = HEAD.count("\n") + 1  # the line the case's first declaration is on

# (policy body, the error's ``where`` as the traced re-run decoded it before the source map, line of the clause)
CASES = {
    "first rule, no lets": ('target t "t" cite "c1" in 单位.甲 points 100 { deduct a / b }',
                            "a deferral or the first rule", 0),
    "second rule": ('target t "t" cite "c1" in 单位.甲 points 100 { deduct 1 when a > 0 deduct a / b }',
                    "target t, rule 2〔c1〕", 0),
    "second target": ('target t "t" in 单位.甲 points 50 { deduct 1 when a > 0 }\n'
                      'target u "u" cite "c2" in 单位.甲 points 50 { deduct a / b }', "target u, rule 1〔c2〕", 1),
    "first let": ('let x = a / b "x" cite "lx"\ntarget t "t" in 单位.甲 points 100 { deduct x }', "let x", 0),
    "second let": ('let y = a + 1 "y" cite "ly"\nlet x = a / (b * y) "x" cite "lx"\n'
                   'target t "t" in 单位.甲 points 100 { deduct x }', "let x〔lx〕", 1),
    "rule after lets": ('let y = a + 1 "y"\ntarget t "t" cite "c1" in 单位.甲 points 100 { deduct y / b }',
                        "target t, rule 1〔c1〕", 1),
    "deferral": ('defer d "d" from L where v / b > 1 as K to "x"\n'
                 'target t "t" in 单位.甲 points 100 { deduct count(K) }', "a deferral or the first rule", 0),
    "deferral with let": ('defer d "d" from L where v / b > 1 as K to "x"\nlet y = count(K) "y" cite "ly"\n'
                          'target t "t" in 单位.甲 points 100 { deduct y }', "let y", 0),
    "veto": ('target t "t" in 单位.甲 points 100 { deduct 1 when a > 0 }\nveto w "w" cite "vw" when a / b > 1',
             "a veto or an outcome", 1),
    "veto on list": ('target t "t" in 单位.甲 points 100 { deduct 1 when a > 0 }\nveto w "w" on L where v / b > 1',
                     "a veto or an outcome", 1),
    "hoisted aggregate": ('target t "t" in 单位.甲 points 100 { deduct a / b + count(L where v / b > 0) }',
                          "a deferral or the first rule", 0),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("trace", [False, True])
def test_an_evaluation_error_names_its_clause_and_its_span(case: str, trace: bool) -> None:
    body, where, line = CASES[case]
    policy = kaohe_rules.load(HEAD + body)
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"id": "u", "category": "单位", "facts": {"a": 1, "b": 0, "L": [{"v": 1}]}}, trace=trace)
    error = caught.value
    assert (error.message, error.where) == ("division by zero", where)
    assert str(error) == f"unit 'u': division by zero (in {where})"
    assert error.span is not None and error.span.line == FIRST + line
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert (copy.where, copy.span, str(copy)) == (error.where, error.span, str(error))
    assert copy.span.excerpt() == error.span.excerpt()


def test_the_source_map_pairs_policy_spans_with_generated_lines() -> None:
    policy = kaohe_rules.load(HEAD + CASES["second rule"][0])
    pairs = policy.module.source_map.pairs()
    lines = policy.generated_source.split("\n")
    rule_lines = [line for span, line in pairs if span is not None and span.line == FIRST]
    assert rule_lines and all(lines[n - 1].lstrip().startswith(("D0_", "T0", "if T0")) for n in rule_lines)


def test_symbols_own_every_local_and_inner_scopes_fall_back() -> None:
    symbols = Symbols()
    assert [symbols.fact("甲"), symbols.fact("乙")] == ["F0", "F1"]
    assert symbols.let("丙") == "L2"
    frame = Frame(symbols)
    inner = frame.inner("record", loop=True)
    inner.symbols.declare("v", "v0")
    assert inner.symbols["甲"] == "F0" and inner.symbols["v"] == "v0" and "v" not in symbols
    assert inner.depth == 1 and inner.in_record and not frame.in_record
    assert symbols.temp("_n") != inner.symbols.temp("_n")  # temporaries are unique in the function
    assert symbols.first("_fl") and not inner.symbols.first("_fl")


def test_the_emitter_indents_and_records_sites() -> None:
    out = Emitter()
    site = Site("let x")
    out.writeline("def f():")
    with out.indent(), out.at(site):
        out.writeline("return 1")
    assert out.source() == "def f():\n    return 1\n"
    assert out.source_map("<x>").site(2) is site and out.source_map("<x>").site(1) is None


def test_the_fused_function_reads_the_facts_from_the_shared_symbols() -> None:
    policy = kaohe_rules.load(HEAD + CASES["rule after lets"][0])
    source = policy.fast_coercion_source
    assess = source[source.index("def assess_0(raw):"):]
    # the facts are read into F0.. and the evaluator's statements use the very same locals
    assert "F0" in assess.split("T = None")[0] and "F0" in assess.split("T = None")[1]


def test_one_table_of_kinds_serves_both_coercion_paths() -> None:
    from kaohe_rules.language.kinds import KINDS, NUMBER_KINDS, SCALAR_KINDS, converter_name, describe
    from kaohe_rules.language.types import Type
    from kaohe_rules.runtime.coerce.convert import CONVERTERS
    from kaohe_rules.runtime.fastfacts import LazyFastCoercers

    assert set(CONVERTERS) == set(SCALAR_KINDS)  # every scalar kind has its conversion, and no other
    assert NUMBER_KINDS == ("decimal", "money", "percent")
    policy = kaohe_rules.load(HEAD + CASES["first rule, no lets"][0])
    assess = LazyFastCoercers(policy.checked, policy.module).build("单位")
    # what the generated readers call for a value not in canonical form: one per scalar kind
    assert all(callable(assess.__globals__[converter_name(kind)]) for kind in SCALAR_KINDS)
    for kind, spec in KINDS.items():
        if spec.description is not None:
            assert describe(policy.checked, Type(kind)) == spec.description


def test_only_a_fault_in_a_hoisted_loop_asks_the_traced_evaluator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The source map alone places a failure; the traced evaluator runs only to order two faults in one
    statement when the plain evaluator computed an aggregate ahead of it."""
    unit = {"id": "u", "category": "单位", "facts": {"a": 1, "b": 0, "L": [{"v": 1}]}}
    runs: list[str] = []
    for case in ("second rule", "hoisted aggregate"):
        policy = kaohe_rules.load(HEAD + CASES[case][0])
        original = policy._run_traced
        monkeypatch.setattr(policy, "_run_traced", lambda *args, case=case, run=original: (runs.append(case), run(*args)))
        with pytest.raises(EvaluationError):
            policy.evaluate(unit)
    assert runs == ["hoisted aggregate"]


def test_a_derived_field_error_carries_the_span_of_its_let() -> None:
    policy = kaohe_rules.load(HEAD.replace('record R "r" { v: int "v" }', 'record R "r" { v: int "v"\n  let q = a0 / v }')
                              .replace("fact a: int", 'fact a: int\nparam a0 = 1')
                              + 'target t "t" in 单位.甲 points 100 { deduct count(L where q > 1) }')
    for spelling in (0, "0"):  # the fused reader, and the generic coercer's derive function
        for trace in (False, True):
            with pytest.raises(EvaluationError) as caught:
                policy.evaluate({"id": "u", "category": "单位", "facts": {"a": 1, "b": 1, "L": [{"v": spelling}]}},
                                trace=trace)
            assert caught.value.where == "a derived field (let) of record R"
            assert caught.value.span is not None and caught.value.span.line == 9
