"""The streaming cohort driver (kaohe_rules.cohort.stream) against a fake policy with the issue-#11 Policy API.

The fake ranks by a ``score`` fact, rates 优秀/良好/合格/不合格 at 90/80/60, and applies
``standing.demoted_to`` as the real quota step does; a unit with a ``bad`` fact fails as a
unit with a bad fact does.  Each test counts the passes over the input and checks the
items against the engine run on the same rows directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from kaohe_rules.cohort import CohortError, apply_quotas, rank_rows
from kaohe_rules.cohort.stream import assess_rows, evaluate_cohort_file, evaluate_cohort_stream
from kaohe_rules.errors import EvaluationError, FactError, FactProblem
from kaohe_rules.runtime.standing import CategoryCohort, CohortSpec, QuotaRow, QuotaRule, RankRow, Standing
from kaohe_rules.unitio import UnitRow

SPEC = CohortSpec("综合排名", (CategoryCohort("县区", 4, (QuotaRule(0, 2, None, False, 0),)),
                              CategoryCohort("部门", 4, ())), 1)


@attrs.frozen
class FakeResult:
    unit_id: str
    category: str
    score: Decimal
    standing: Standing | None
    provisional: bool

    @property
    def rank_row(self) -> RankRow:
        return RankRow(self.unit_id, self.category, self.category in ("县区", "部门"), (self.score,), self.score)

    @property
    def band_index(self) -> int:
        if self.standing is not None and self.standing.demoted_to is not None:
            return self.standing.demoted_to
        return 0 if self.score >= 90 else 1 if self.score >= 80 else 2 if self.score >= 60 else 3


class FakePolicy:
    def __init__(self, spec: CohortSpec | None = SPEC) -> None:
        self.cohort = spec
        self.calls: list[str] = []

    def _result(self, unit: Mapping[str, object], standing: Standing | None, provisional: bool) -> FakeResult:
        facts = unit["facts"]
        assert isinstance(facts, Mapping)
        unit_id, category = str(unit["id"]), str(unit["category"])
        if "bad" in facts:
            raise FactError(unit_id, [FactProblem(unit_id, "bad", "is bad")])
        if standing is not None and "needs_rank" in facts and standing.rank is None:
            raise EvaluationError(unit_id, "rank is unset")
        return FakeResult(unit_id, category, Decimal(str(facts["score"])), standing, provisional)

    def evaluate(self, unit: Mapping[str, object], *, trace: bool = False, provisional: bool = False) -> FakeResult:
        self.calls.append("alone")
        if self.cohort is not None and not provisional:
            raise AssertionError("a cohort policy is never assessed alone for real")
        return self._result(unit, None, provisional)

    def evaluate_in_cohort(self, unit: Mapping[str, object], standing: Standing, *, trace: bool = False) -> FakeResult:
        self.calls.append("cohort")
        return self._result(unit, standing, False)


def unit(uid: str, score: object, category: str = "县区", **extra: object) -> dict[str, object]:
    return {"id": uid, "category": category, "facts": {"score": score, **extra}}


class Source:
    """A re-readable input that counts its passes."""

    def __init__(self, units: list[dict[str, object]]) -> None:
        self.units = units
        self.passes = 0

    def __call__(self) -> Iterator[dict[str, object]]:
        self.passes += 1
        yield from self.units


UNITS = [unit("a", 95), unit("b", 91), unit("c", 90), unit("d", 70), unit("e", 99, "部门"), unit("f", 50, "部门"),
         unit("g", 88, "其他")]


def test_the_stream_gives_the_engines_standings_in_input_order() -> None:
    source = Source(UNITS)
    items = list(evaluate_cohort_stream(FakePolicy(), source))
    assert source.passes == 3  # rank, quotas, final
    assert [item.unit_id for item in items] == list("abcdefg") and all(item.ok for item in items)
    rows = [RankRow(str(u["id"]), str(u["category"]), u["category"] != "其他",
                    (Decimal(str(u["facts"]["score"])),), Decimal(str(u["facts"]["score"]))) for u in UNITS]  # type: ignore[index]
    expected = rank_rows(rows, SPEC)
    bands = {"a": 0, "b": 0, "c": 0, "d": 2, "e": 0, "f": 3, "g": 1}
    expected = apply_quotas([QuotaRow(r.unit_id, r.category, bands[r.unit_id]) for r in rows], expected, SPEC)
    standings = {item.unit_id: item.result.standing for item in items}  # type: ignore[union-attr]
    assert standings == dict(expected)
    # 优秀 at most 2 in 县区: a, b keep it, c (rank 3) is demoted to 良好
    assert standings["c"].demoted_to == 1 and items[2].result.band_index == 1  # type: ignore[union-attr]
    assert standings["a"].rank == 1 and standings["g"].rank is None


def test_without_quotas_two_passes() -> None:
    spec = CohortSpec("综合排名", (CategoryCohort("县区", 4, ()),), 1)
    source = Source([unit("a", 80), unit("b", 90)])
    items = list(evaluate_cohort_stream(FakePolicy(spec), source))
    assert source.passes == 2
    assert [item.result.standing.rank for item in items] == [2, 1]  # type: ignore[union-attr]


def test_a_policy_without_a_cohort_is_one_pass_unit_by_unit() -> None:
    source = Source([unit("a", 80)])
    policy = FakePolicy(None)
    items = list(evaluate_cohort_stream(policy, source))
    assert source.passes == 1 and items[0].ok and policy.calls == ["alone"]


def test_a_failed_row_is_an_error_item_and_makes_its_category_provisional() -> None:
    units = [unit("a", 95), unit("x", 99, bad=1), unit("b", 91), unit("e", 99, "部门")]
    items = list(evaluate_cohort_stream(FakePolicy(), Source(units)))
    assert [item.ok for item in items] == [True, False, True, True]
    assert isinstance(items[1].error, FactError) and items[1].unit_id == "x"
    a = items[0].result.standing  # type: ignore[union-attr]
    assert a.provisional == "1 unit of 县区 could not be assessed (row 2); ranks and quotas may change"
    assert a.unit_count == 2  # the failed unit is not counted: it is not in the batch the engine saw
    assert items[3].result.standing.provisional is None  # type: ignore[union-attr]


def test_a_row_failing_with_its_standing_is_reported_and_marks_its_category() -> None:
    units = [unit("a", 95), unit("n", 50, "其他", needs_rank=1), unit("b", 91)]
    items = list(evaluate_cohort_stream(FakePolicy(), Source(units)))
    assert [item.ok for item in items] == [True, False, True]
    assert "rank is unset" in str(items[1].error)


def test_a_unit_id_given_twice_refuses_both_rows_and_ranks_the_rest() -> None:
    units = [unit("a", 95), unit("b", 91), unit("a", 50), unit("c", 80)]
    source = Source(units)
    items = list(evaluate_cohort_stream(FakePolicy(), source))
    assert source.passes == 4  # pass 1, pass 1 again without the repeated id, quotas, final
    assert [item.ok for item in items] == [False, True, False, True]
    assert "unit id a is given twice in one cohort (rows 1 and 3)" in str(items[0].error)
    assert str(items[0].error) == str(items[2].error)
    assert items[1].result.standing.rank == 1 and items[1].result.standing.ranked_count == 2  # type: ignore[union-attr]
    assert "rows 1, 3" in items[1].result.standing.provisional  # type: ignore[union-attr,operator]


def test_an_input_that_changes_between_passes_is_refused() -> None:
    class Changing(Source):
        def __call__(self) -> Iterator[dict[str, object]]:
            self.passes += 1
            yield from (self.units if self.passes == 1 else self.units[::-1])

    with pytest.raises(CohortError, match="changed between passes: row 1 is unit b now"):
        list(evaluate_cohort_stream(FakePolicy(), Changing([unit("a", 95), unit("b", 91)])))

    class Growing(Source):
        def __call__(self) -> Iterator[dict[str, object]]:
            self.passes += 1
            yield from self.units
            if self.passes > 1:
                yield unit("z", 1)

    with pytest.raises(CohortError, match="row 3 was not there in the first pass"):
        list(evaluate_cohort_stream(FakePolicy(), Growing([unit("a", 95), unit("b", 91)])))

    class Shrinking(Source):
        def __call__(self) -> Iterator[dict[str, object]]:
            self.passes += 1
            yield from (self.units if self.passes == 1 else self.units[:1])

    with pytest.raises(CohortError, match="1 rows now, 2 in the first pass"):
        list(evaluate_cohort_stream(FakePolicy(), Shrinking([unit("a", 95), unit("b", 91)])))


def test_the_last_pass_streams() -> None:
    """The final items come as the last pass reads: nothing is collected before the first is yielded."""
    read: list[int] = []

    def rows() -> Iterator[UnitRow]:
        for index, u in enumerate(UNITS):
            read.append(index)
            yield UnitRow(index, f"row {index + 1}", u, None)

    stream = assess_rows(FakePolicy(), rows)
    row, item = next(stream)
    assert item is not None and item.unit_id == "a"
    assert len(read) == 2 * len(UNITS) + 1  # two whole passes, and the first row of the last


def test_a_unit_file_with_an_unreadable_line(tmp_path: Path) -> None:
    path = tmp_path / "units.jsonl"
    lines = [json.dumps(u) for u in UNITS[:3]]
    lines.insert(1, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = list(evaluate_cohort_file(FakePolicy(), path))
    assert [item.ok for item in items] == [True, False, True, True]
    assert items[1].location == "units.jsonl:2" or items[1].location.endswith(":2")  # type: ignore[union-attr]
    # an unreadable row has no category: every category's standings are provisional
    assert "could not be assessed (row 2)" in items[0].result.standing.provisional  # type: ignore[union-attr,operator]
    assert items[0].result.standing.rank == 1  # type: ignore[union-attr]


# ------------------------------------------------------- against the real Policy
COHORT_POLICY = Path(__file__).resolve().parents[1] / "data" / "cohort" / "ranked.kh"


def real_units() -> list[dict[str, object]]:
    units: list[dict[str, object]] = [
        {"id": f"u{i}", "category": "县区" if i % 3 else "部门", "facts": {"扣分": i % 7, "死亡人数": i % 2}}
        for i in range(30)]
    units[5] = {"id": "u5", "category": "县区", "facts": {"扣分": "很多"}}  # a bad fact: an error item
    return units


def test_the_stream_gives_what_evaluate_cohort_gives() -> None:
    import kaohe_rules

    policy = kaohe_rules.load(COHORT_POLICY)
    units = real_units()
    expected = policy.evaluate_cohort(units)
    got = list(evaluate_cohort_stream(policy, lambda: units))
    assert [i.ok for i in got] == [i.ok for i in expected]
    assert [i.result.to_dict() for i in got if i.ok] == [i.result.to_dict() for i in expected if i.ok]  # type: ignore[union-attr]
    assert [str(i.error) for i in got if not i.ok] == [str(i.error) for i in expected if not i.ok]
    demoted = [i.result.standing.demoted_to for i in got if i.ok]  # type: ignore[union-attr]
    assert demoted.count(1) > 0  # the quota did demote some: the test exercises pass 2


def test_a_real_unit_file_streams(tmp_path: Path) -> None:
    import kaohe_rules

    policy = kaohe_rules.load(COHORT_POLICY)
    units = real_units()
    path = tmp_path / "units.jsonl"
    path.write_text("".join(json.dumps(u, ensure_ascii=False) + "\n" for u in units), encoding="utf-8")
    got = list(evaluate_cohort_file(policy, path))
    expected = policy.evaluate_cohort(units)
    assert [i.result.to_dict() for i in got if i.ok] == [i.result.to_dict() for i in expected if i.ok]  # type: ignore[union-attr]


def test_permuting_a_real_batch_changes_no_result() -> None:
    """The issue's law on whole results: the same units in any order, the same result for each unit."""
    import random

    import kaohe_rules

    policy = kaohe_rules.load(COHORT_POLICY)
    units = [u for u in real_units() if u["id"] != "u5"]  # no failed row: its row number would move
    for u in units[::4]:
        u["facts"] = {"扣分": 3, "死亡人数": 1}  # ties across the quota's limit
    base = {i.unit_id: i.result.to_dict() for i in evaluate_cohort_stream(policy, lambda: units)}  # type: ignore[union-attr]
    shuffler = random.Random(11)
    for _ in range(3):
        shuffled = units[:]
        shuffler.shuffle(shuffled)
        got = {i.unit_id: i.result.to_dict() for i in evaluate_cohort_stream(policy, lambda s=shuffled: s)}  # type: ignore[union-attr]
        assert got == base


def test_a_row_that_becomes_readable_between_passes_is_refused() -> None:
    calls = []

    def rows() -> Iterator[UnitRow]:
        calls.append(1)
        yield UnitRow(0, "row 1", unit("a", 95), None)
        if len(calls) == 1:
            yield UnitRow(1, "row 2", None, "not JSON")
        else:
            yield UnitRow(1, "row 2", unit("b", 99), None)

    with pytest.raises(CohortError, match="row 2 is readable now"):
        list(assess_rows(FakePolicy(), rows))


def test_a_failed_row_naming_no_known_category_marks_every_category() -> None:
    from kaohe_rules.cohort.stream import provisional_reasons

    reasons = provisional_reasons({"县区政府": [4], "部门": [2]}, ["县区", "部门"])
    assert reasons == {"县区": "1 unit of 县区 could not be assessed (row 4); ranks and quotas may change",
                       "部门": "2 units of 部门 could not be assessed (rows 2, 4); ranks and quotas may change"}
    many = provisional_reasons({"县区": list(range(1, 26))}, ["县区"])
    assert many["县区"].startswith("25 units of 县区 could not be assessed (rows 1, 2,") and "20 and 5 more)" in many["县区"]
