"""A result's parts made from per-category templates (issue #13) are the parts the classes themselves build.

``runtime.templates`` computes the static fields of sections, targets, vetoes, deferrals and
consequences once per category and makes each part from a copy of a template dict, without
the class's ``__init__``.  Here every part of every sample unit of every bundled policy is
compared with the same part built the way the result built it before: by the constructors,
walking the section tree and filtering the targets of each section — equal, same repr, same
``to_dict``, and still frozen.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import kaohe_rules
from kaohe_rules.language.abi import RAW_DEFERRED, RAW_OUTCOME, RAW_SECTIONS, RAW_TARGETS, RAW_VETOES
from kaohe_rules.runtime.parts import (
    Consequences,
    SectionResult,
    TargetResult,
    consequences_of,
    item_positions,
    outcome_lines,
)
from kaohe_rules.runtime.templates import period_points

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [(kh, kh.with_suffix("") / "units.json") for kh in sorted((ROOT / "policies").glob("*.kh"))
           if (kh.with_suffix("") / "units.json").exists()]


def reference_targets(result: Any) -> tuple[TargetResult, ...]:
    program, plan = result.program, result.program.plans[result.category]
    return tuple(TargetResult(p.target.name, p.target.label, p.target.cite, ".".join(p.section),
                              period_points(program.checked, plan, p.section, p.points), Decimal(score), p.bonus, p.cap)
                 for p, score in zip(plan.targets, result.raw[RAW_TARGETS]))


def reference_sections(result: Any) -> dict[str, SectionResult]:
    program, plan = result.program, result.program.plans[result.category]
    infos = {s.path: s for s in plan.category.all_sections()}
    targets = reference_targets(result)
    out = {}
    for path, score in zip(program.section_order(result.category), result.raw[RAW_SECTIONS]):
        info, key = infos[path], ".".join(path)
        out[key] = SectionResult(key, info.name, info.label, info.cite,
                                 period_points(program.checked, plan, path, info.points), Decimal(score),
                                 tuple(t for t in targets if t.section == key), len(path), info.bonus, info.cap)
    return out


def reference_consequences(result: Any) -> Consequences:
    lines = outcome_lines(result.program.checked, result.rating, result.raw[RAW_OUTCOME])
    own = lines[0] if lines and not lines[0][0].for_every_rating else None
    return consequences_of(result.rating, own)


def same(made: object, built: object) -> None:
    assert made == built
    assert repr(made) == repr(built)
    to_dict = getattr(built, "to_dict", None)
    if to_dict is not None:
        assert made.to_dict() == to_dict()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("policy_path", "units_path"), SAMPLES, ids=[kh.stem for kh, _ in SAMPLES])
def test_parts_from_templates_are_the_parts_the_classes_build(policy_path: Path, units_path: Path) -> None:
    policy = kaohe_rules.load(policy_path)
    units = json.loads(units_path.read_text(encoding="utf-8"), parse_float=Decimal)["units"]
    checked = 0
    for item in policy.evaluate_many(units) if policy.cohort is None else policy.evaluate_cohort(units):
        result = item.result
        if result is None:
            continue
        checked += 1
        for made, built in zip(result.targets, reference_targets(result), strict=True):
            same(made, built)
        sections = result.sections
        reference = reference_sections(result)
        assert list(sections) == list(reference)
        for key, section in sections.items():
            same(section, reference[key])
        same(result.consequences, reference_consequences(result))
        vetoes = result.vetoes  # positions found among the fact values without building result.facts first
        for veto, entry in zip(vetoes, result.raw[RAW_VETOES], strict=True):
            assert veto.positions == (item_positions(result.facts, entry[1]) if entry[1] else ())
            assert veto.evidence == tuple(result.program.display_record(i) for i in entry[1] or ())
        for deferral, (_, items) in zip(result.deferred, result.raw[RAW_DEFERRED], strict=True):
            assert deferral.positions == item_positions(result.facts, items)
    assert checked or policy.ledgers  # a ledger policy's sample units need their ledgers


def test_made_parts_stay_frozen() -> None:
    policy = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    units = json.loads((ROOT / "policies" / "karamay-2013" / "units.json").read_text(encoding="utf-8"),
                       parse_float=Decimal)["units"]
    result = policy.evaluate(units[0])
    section = next(iter(result.sections.values()))
    for part in (section, result.targets[0], result.consequences):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            part.score = Decimal(1)  # type: ignore[misc,union-attr]


@pytest.mark.parametrize(("policy_path", "units_path"), SAMPLES, ids=[kh.stem for kh, _ in SAMPLES])
def test_an_explanation_from_the_partial_trace_is_the_one_from_the_full_trace(policy_path: Path,
                                                                           units_path: Path) -> None:
    """explain() builds only the events it shows (build_trace(explanation=True)); with the result's whole
    trace built first it reads that one: the text is the same, in both languages, full and short."""
    policy = kaohe_rules.load(policy_path)
    units = json.loads(units_path.read_text(encoding="utf-8"), parse_float=Decimal)["units"]
    assess = policy.evaluate_many if policy.cohort is None else policy.evaluate_cohort
    lean = [item.result for item in assess(units) if item.result is not None]
    whole = [item.result for item in assess(units) if item.result is not None]
    assert len(lean) == len(whole)
    for a, b in zip(lean, whole, strict=True):
        b.trace  # noqa: B018 - the whole tree first: explain() reads it
        for lang in ("zh", "en"):
            for full in (True, False):
                assert a.explain(lang, full) == b.explain(lang, full)
        assert "trace" not in a._cache  # the partial tree is never the result's trace
