"""Deliberately broken copies of the Karamay 2013 policy are caught by ``kaohe test`` or ``kaohe verify``.

Each mutant is made by text substitution into a copy of policies/karamay-2013.kh
in a temporary directory, next to a copy of its test file.  A mutant must still
load (a mutant the checker rejects proves nothing about the tests), and then at
least one case must fail — or, where said, a law.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import kaohe_rules
from kaohe_rules.testing.casefile import run_casefile
from kaohe_rules.testing.verifier import verify

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
CASES = ROOT / "policies" / "karamay-2013.tests.toml"
UNITS = ROOT / "policies" / "karamay-2013"

Mutation = Callable[[str], str]


def sub(old: str, new: str, within: str | None = None) -> Mutation:
    """Replace the one occurrence of ``old`` (inside the block that starts at ``within``, if given)."""

    def mutate(text: str) -> str:
        start, end = 0, len(text)
        if within is not None:
            start = text.index(within)
            end = text.index("}", start)
        scope = text[start:end]
        assert scope.count(old) == 1, f"{old!r} occurs {scope.count(old)} times in the policy; update the mutant"
        return text[:start] + scope.replace(old, new) + text[end:]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(text: str) -> str:
        for m in mutations:
            text = m(text)
        return text

    return mutate


def remove_decl(head: str) -> Mutation:
    """Drop a declaration: from the line starting with ``head`` to the next blank line."""

    def mutate(text: str) -> str:
        match = re.search(rf"^{re.escape(head)}\b.*?\n\n", text, flags=re.S | re.M)
        assert match, f"no declaration {head!r} in the policy; update the mutant"
        return text[: match.start()] + text[match.end():]

    return mutate


def remove_line(fragment: str) -> Mutation:
    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        hits = [i for i, line in enumerate(lines) if fragment in line]
        assert len(hits) == 1, f"{fragment!r} is on {len(hits)} lines; update the mutant"
        del lines[hits[0]]
        return "".join(lines)

    return mutate


def edge(category: str, upper: str, lower: str, old: str, new: str) -> Mutation:
    """Move the edge between two bands of a category by one point (both bands, so the policy still checks)."""
    return both(sub(f"{upper} [{old},", f"{upper} [{new},", f"bands {category}"),
                sub(f", {old})", f", {new})", f"bands {category}") if lower else (lambda t: t))


MUTANTS: dict[str, Mutation] = {
    # a threshold moved by one point
    "区政府 优秀 from 901": edge("区政府", "优秀", "良好", "900", "901"),
    "区政府 优秀 from 899": edge("区政府", "优秀", "良好", "900", "899"),
    "区政府 良好 from 851": edge("区政府", "良好", "合格", "850", "851"),
    "区政府 合格 from 799": edge("区政府", "合格", "不合格", "800", "799"),
    "部门 优秀 from 551": edge("部门", "优秀", "良好", "550", "551"),
    "部门 合格 from 449": edge("部门", "合格", "不合格", "450", "449"),
    "企业 良好 from 499": edge("企业", "良好", "合格", "500", "499"),
    "企业 合格 from 451": edge("企业", "合格", "不合格", "450", "451"),
    "special fund floor one yuan up": sub("param 专项资金下限: money = 100万元", "param 专项资金下限: money = 1000001元"),
    "较大 from 4 deaths": sub("else if 死亡人数 >= 3 then 较大", "else if 死亡人数 >= 4 then 较大"),
    "quarterly meetings: 3 suffice": sub("param 会议季度下限 = 4", "param 会议季度下限 = 3"),
    # a veto removed
    "veto 较大以上事故 removed": remove_decl("veto 较大以上事故"),
    "veto 瞒报谎报 removed": remove_decl("veto 瞒报谎报"),
    "veto 突破指标 removed": remove_decl("veto 突破指标"),
    "veto 重大社会影响 removed": remove_decl("veto 重大社会影响"),
    # a deduction's sign flipped
    "deaths counted negative": sub("deduct 区_每死亡一人扣分 per 死亡人数合计", "deduct 区_每死亡一人扣分 per -死亡人数合计"),
    "fund test flipped": sub("full when 专项资金预算 >= 专项资金下限", "full when 专项资金预算 < 专项资金下限"),
    "late report test flipped": sub("deduct 自查报告逾期扣分 unless", "deduct 自查报告逾期扣分 when"),
    "late 履职报告 test flipped": sub("履职报告日期 is set and 履职报告日期 > 履职报告", "履职报告日期 is set and 履职报告日期 < 履职报告",
                                  "target 区_履职报告"),
    # the 30% bonus dropped
    "30% bonus line dropped": remove_line("reward 追加奖励"),
    "30% bonus set to 0%": sub("param 追加奖励比例: percent = 30%", "param 追加奖励比例: percent = 0%"),
}

# Mutants a law catches on its own, without any test case.
LAW_MUTANTS: dict[str, tuple[Mutation, str]] = {
    "signatory share above the whole": (sub("param 签订人奖励比例: percent = 20%", "param 签订人奖励比例: percent = 200%"),
                                        "money-exact"),
}


def _mutant_dir(tmp_path: Path, mutation: Mutation) -> Path:
    original = POLICY.read_text(encoding="utf-8")
    mutated = mutation(original)
    assert mutated != original
    (tmp_path / POLICY.name).write_text(mutated, encoding="utf-8")
    shutil.copy(CASES, tmp_path / CASES.name)
    shutil.copytree(UNITS, tmp_path / UNITS.name)
    return tmp_path


def test_the_unbroken_policy_passes_its_cases(tmp_path: Path) -> None:
    report = run_casefile(_mutant_dir(tmp_path, lambda text: text + "\n# unchanged\n") / CASES.name)
    assert report.ok, [o.render(explain=False) for o in report.outcomes if not o.ok]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught_by_the_test_file(tmp_path: Path, name: str) -> None:
    directory = _mutant_dir(tmp_path, MUTANTS[name])
    kaohe_rules.load(directory / POLICY.name)  # the mutant is a valid policy: only the tests can tell
    report = run_casefile(directory / CASES.name)
    assert report.error is None
    failed = [o.case.name for o in report.outcomes if not o.ok]
    assert failed, f"mutant {name!r} survived all {len(report.outcomes)} cases"


@pytest.mark.parametrize("name", sorted(LAW_MUTANTS))
def test_mutant_is_caught_by_a_law(tmp_path: Path, name: str) -> None:
    mutation, law = LAW_MUTANTS[name]
    from kaohe_rules.unitio import read_units

    policy = kaohe_rules.load(_mutant_dir(tmp_path, mutation) / POLICY.name)
    real = [dict(row.unit) for row in read_units(UNITS / "units.json") if row.unit is not None]
    report = verify(policy, examples=30, categories=["企业"], units=real)
    assert law in report.failed_laws(), report.render()
