"""Every kaohe error survives pickling: same class, same fields, same message.

A process-parallel batch sends the errors of its rows from the worker processes as
they are; before, FactError / EvaluationError / PolicyError failed to unpickle
(BaseException's reduce calls the class with the rendered message) and the batch
code rebuilt them by hand with ``__new__``.
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules import errors
from kaohe_rules.errors import (
    CohortRequired,
    ColumnarFallbackWarning,
    Diagnostic,
    EvaluationError,
    FactError,
    FactProblem,
    KaoheError,
    LedgerRequired,
    PolicyError,
    UnitInputError,
    UsageError,
)
from kaohe_rules.source import SourceFile, Span

SOURCE = SourceFile("demo.kh", "policy 甲 \"甲\" {\n  period 2013-01-01 .. 2013-12-31\n}\n")
SPAN = Span(SOURCE, 2, 3, 2, 8)


def samples() -> dict[type[BaseException], list[BaseException]]:
    return {
        KaoheError: [KaoheError("something went wrong"), KaoheError()],
        PolicyError: [PolicyError([Diagnostic("K101", "unknown name 'x'", SPAN, "did you mean 'y'?"),
                                   Diagnostic("K180", "unused fact", None, severity="warning")]),
                      PolicyError([])],
        FactError: [FactError("u1", [FactProblem("u1", "事故", "function is not a list", "a list of 事故", "hint"),
                                     FactProblem("u1", "id", "the unit has no id")])],
        EvaluationError: [EvaluationError("u1", "division by zero", "target t, rule 1"),
                          EvaluationError("单位", "not assessed: the worker process assessing it died")],
        UnitInputError: [UnitInputError("units.csv: 文件不存在 / no such file")],
        UsageError: [UsageError("--workers must be at least 1, not 0")],
        CohortRequired: [CohortRequired("排名", "综合排名", "第十条"), CohortRequired("p", "c")],
        LedgerRequired: [LedgerRequired("u1", "事故", "事故台账")],  # issue #16 (on main without a sample here)
        ColumnarFallbackWarning: [ColumnarFallbackWarning("assessed per unit, not columnar: division (/) at p.kh:3:5")],
    }


def fields(error: BaseException) -> dict[str, Any]:
    return {k: v for k, v in vars(error).items()}


def test_every_error_class_has_a_sample() -> None:
    """A new error class in kaohe_rules.errors must be added here (and so be shown to pickle)."""
    classes = {obj for _, obj in inspect.getmembers(errors, inspect.isclass)
               if issubclass(obj, BaseException) and obj.__module__ == errors.__name__}
    assert classes == set(samples())


@pytest.mark.parametrize("error", [e for group in samples().values() for e in group],
                         ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_round_trip(error: BaseException, protocol: int) -> None:
    copy = pickle.loads(pickle.dumps(error, protocol))  # noqa: S301 - our own data
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert fields(copy) == fields(error)
    if isinstance(error, PolicyError):
        assert copy.render() == error.render()
        assert [d.to_dict() for d in copy.diagnostics] == [d.to_dict() for d in error.diagnostics]


def test_attributes_added_later_travel_too() -> None:
    error = FactError("u1", [FactProblem("u1", "a", "bad")])
    error.add_note("row 7 of units.csv")
    error.location = "units.csv:7"  # type: ignore[attr-defined]
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301
    assert copy.__notes__ == ["row 7 of units.csv"] and copy.location == "units.csv:7"
    assert copy.problems == error.problems and str(copy) == str(error)


def test_a_subclass_keeps_its_class() -> None:
    class Special(EvaluationError):
        pass

    globals()["Special"] = Special  # picklable by reference
    Special.__qualname__ = "Special"
    try:
        copy = pickle.loads(pickle.dumps(Special("u", "m", "w")))  # noqa: S301
        assert type(copy) is Special and (copy.unit, copy.message, copy.where) == ("u", "m", "w")
    finally:
        del globals()["Special"]


def test_errors_from_the_engine_round_trip() -> None:
    """Real errors, with spans into a real source file and problems from the coercer."""
    with pytest.raises(PolicyError) as caught:
        kaohe_rules.load("policy 甲 \"甲\" { period 2013-01-01 .. 2013-12-31 }\nfact a: nosuchtype\n")
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301
    assert str(copy) == str(caught.value) and copy.render() == caught.value.render()
    assert [d.span.location() for d in copy.diagnostics if d.span] == \
        [d.span.location() for d in caught.value.diagnostics if d.span]

    policy = kaohe_rules.load("""
policy 除法 "除法" { period 2013-01-01 .. 2013-12-31 }
category 单位 "单位" total 100 { section 甲 "甲" 100 }
fact a: int
fact b: int
target t in 单位.甲 points 100 { score a / b * 100 }
ratings { 好 "好" 差 "差" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
""")
    for unit, kind in (({"id": "u", "category": "单位", "facts": {"a": 1, "b": 0}}, EvaluationError),
                       ({"id": "u", "category": "单位", "facts": {"a": "x", "c": 1}}, FactError)):
        with pytest.raises(kind) as raised:
            policy.evaluate(unit)
        copy = pickle.loads(pickle.dumps(raised.value))  # noqa: S301
        assert type(copy) is kind and str(copy) == str(raised.value)
        assert fields(copy) == fields(raised.value)
