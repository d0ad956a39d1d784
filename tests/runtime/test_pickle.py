"""Every public exception survives pickling with its type, its message and every attribute.

A process-parallel batch (``kaohe eval --workers``, ``kaohe_rules.dask``) sends the
errors of its rows back from worker processes, so an error that does not pickle, or
comes back without its diagnostics or problems, breaks the batch (Jinja2's
``tests/test_pickle.py`` guards the same property).  The samples are raised by the
engine itself, not built by hand, so they hold what real errors hold: spans into
the policy source, the unit, the place of an evaluation error.
"""

from __future__ import annotations

import importlib
import pickle
import pkgutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
import kaohe_rules.unitio
from kaohe_rules.audit.trace_json import TraceFormatError, read_trace
from kaohe_rules.errors import EvaluationError, FactError, KaoheError, PolicyError, UnitInputError
from kaohe_rules.testing.casefile import CaseFileError
from kaohe_rules.testing.mutate import MutantFileError, read_equivalents

POLICY = """policy p { }
category 单位 total 100 { section 甲 100 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
fact 资金: money >= 0
fact 人数: int >= 0
fact 备注: int?
let 人均 = 资金 / 人数
target t "人均资金" in 单位.甲 points 100 { full when 人均 >= 1元 }
"""


def raised(action: Callable[[], object]) -> KaoheError:
    try:
        action()
    except KaoheError as exc:
        return exc
    raise AssertionError("expected a KaoheError")


def policy_error() -> KaoheError:
    return raised(lambda: kaohe_rules.load(POLICY.replace("人均 >= 1元", "人均 >= 1"), name="p.kh"))


def fact_error() -> KaoheError:
    policy = kaohe_rules.load(POLICY)
    return raised(lambda: policy.evaluate({"id": "u1", "category": "单位", "facts": {"资金": "很多", "人数": -1}}))


def evaluation_error() -> KaoheError:
    policy = kaohe_rules.load(POLICY)
    return raised(lambda: policy.evaluate({"id": "u2", "category": "单位", "facts": {"资金": "10元", "人数": 0}}))


def unit_input_error(tmp_path: Path) -> KaoheError:
    path = tmp_path / "units.json"
    path.write_text("[{", encoding="utf-8")
    return raised(lambda: list(kaohe_rules.unitio.read_units(path)))


def trace_format_error(tmp_path: Path) -> KaoheError:
    path = tmp_path / "trace.json"
    path.write_bytes(b"[]")
    error = raised(lambda: read_trace(path))
    assert isinstance(error, TraceFormatError) and isinstance(error, ValueError)
    return error


def case_file_error(tmp_path: Path) -> KaoheError:
    return CaseFileError("policy.tests.toml: unknown key 'polcy'")


def mutant_file_error(tmp_path: Path) -> KaoheError:
    path = tmp_path / "p.mutants.toml"
    path.write_text('[[equivalent]]\nat = "3:7"\nmutation = "`>=` → `>`"\n', encoding="utf-8")
    try:
        read_equivalents(path)
    except MutantFileError as exc:
        return exc
    raise AssertionError("an entry without a reason was accepted")


def cohort_error(tmp_path: Path) -> KaoheError:
    from kaohe_rules.cohort import rank_rows
    from kaohe_rules.runtime.standing import CategoryCohort, CohortSpec, RankRow

    spec = CohortSpec("排名", (CategoryCohort("单位", 3, ()),), 1)
    row = RankRow("u1", "单位", True, (Decimal(1),), Decimal(1))
    return raised(lambda: rank_rows([row, row], spec))


def cohort_required(tmp_path: Path) -> KaoheError:
    """A unit of a cohort policy assessed alone, without provisional=True (issue #11 C)."""
    policy = kaohe_rules.load(Path(__file__).resolve().parents[1] / "data" / "interpreter" / "cohort.kh")
    return raised(lambda: policy.evaluate({"id": "u1", "category": "部门", "facts": {}}))


def ledger_required(tmp_path: Path) -> KaoheError:
    """A unit whose list comes from a ledger, assessed alone without its own list (issue #16)."""
    import ledger_fixture

    policy = ledger_fixture.load_ledger_policy()
    return raised(lambda: policy.evaluate({"id": "u1", "category": "区县", "facts": {"辖区": "天山区"}}))


def internal_format_error() -> KaoheError:
    from kaohe_rules.language.fmt import InternalFormatError

    return InternalFormatError("x.kh: the formatted text reads differently from token 3 ('a b c' became 'ab c')")


def with_notes() -> KaoheError:
    error = KaoheError("something went wrong")
    error.add_note("while loading p.kh")
    return error


SAMPLES: dict[str, Callable[[Path], KaoheError]] = {
    "KaoheError": lambda _: with_notes(),
    "PolicyError": lambda _: policy_error(),
    "FactError": lambda _: fact_error(),
    "EvaluationError": lambda _: evaluation_error(),
    "CohortError": cohort_error,
    "CohortRequired": cohort_required,
    "LedgerRequired": ledger_required,
    "UnitInputError": unit_input_error,
    "CaseFileError": case_file_error,
    "MutantFileError": mutant_file_error,
    "TraceFormatError": trace_format_error,
    # issue #14: a formatter bug caught by its own check (nothing real triggers it: built directly)
    "InternalFormatError": lambda _: internal_format_error(),
}


def public_error_classes() -> set[type[KaoheError]]:
    """KaoheError and its subclasses, as every module of the package defines them (all imported first)."""
    for module in pkgutil.walk_packages(kaohe_rules.__path__, "kaohe_rules."):
        if module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional extra (dask) that is not installed
            continue
    found: set[type[KaoheError]] = set()
    todo: list[type[KaoheError]] = [KaoheError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("kaohe_rules") and cls not in found:
            found.add(cls)
            todo.extend(cls.__subclasses__())
    return found


def test_every_public_error_class_has_a_sample() -> None:
    assert {cls.__name__ for cls in public_error_classes()} == set(SAMPLES)


def state(error: BaseException) -> dict[str, Any]:
    return dict(vars(error))


@pytest.mark.parametrize("protocol", [0, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_error_round_trips(name: str, protocol: int, tmp_path: Path) -> None:
    error = SAMPLES[name](tmp_path)
    assert type(error).__name__ == name
    copy = pickle.loads(pickle.dumps(error, protocol))  # noqa: S301 - our own data
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert state(copy) == state(error)
    assert getattr(copy, "__notes__", None) == getattr(error, "__notes__", None)


def test_policy_error_keeps_its_diagnostics_and_their_spans() -> None:
    error = policy_error()
    assert isinstance(error, PolicyError) and error.diagnostics
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert isinstance(copy, PolicyError)
    assert copy.diagnostics == error.diagnostics
    assert copy.render() == error.render() and "^" in copy.render()
    assert [d.to_dict() for d in copy.diagnostics] == [d.to_dict() for d in error.diagnostics]
    assert [(d.file, d.line, d.column) for d in copy.diagnostics] == [(d.file, d.line, d.column) for d in error.diagnostics]


def test_fact_error_keeps_its_unit_and_problems() -> None:
    error = fact_error()
    assert isinstance(error, FactError) and error.unit == "u1" and len(error.problems) == 2
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert isinstance(copy, FactError)
    assert copy.unit == "u1" and copy.problems == error.problems
    assert [p.to_dict() for p in copy.problems] == [p.to_dict() for p in error.problems]


def test_evaluation_error_keeps_its_unit_message_and_place() -> None:
    error = evaluation_error()
    assert isinstance(error, EvaluationError) and error.unit == "u2" and error.where
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert isinstance(copy, EvaluationError)
    assert (copy.unit, copy.message, copy.where) == (error.unit, error.message, error.where)


def test_unit_input_error_keeps_its_message(tmp_path: Path) -> None:
    error = unit_input_error(tmp_path)
    assert isinstance(error, UnitInputError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert isinstance(copy, UnitInputError) and str(copy) == str(error)


def test_decimal_in_problems_survives() -> None:
    # Facts are Decimal, never float; a problem that quotes a value keeps its text.
    policy = kaohe_rules.load(POLICY)
    error = raised(lambda: policy.evaluate({"id": "u3", "category": "单位", "facts": {"资金": Decimal("-1"), "人数": 1}}))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert str(copy) == str(error)
