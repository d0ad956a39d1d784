"""Every fact/data message the engine can emit has a Chinese form (issue #12, ``--lang zh``).

The corpus is what the engine says about bad data: each fact kind of the bundled policies
and of the robustness fuzzer's all-types policy, given each of the fuzzer's hostile values
(:data:`kaohe_rules.testing.fuzz.HOSTILE`) or left out; the misread spellings of
``tests/batch/test_input_misreads.py``; broken envelopes (no id, unknown category, unknown
fact …); and the rows the readers refuse (JSON Lines, CSV).  Each problem rendered under
``zh`` must hold no English word outside the values it quotes (a pattern's groups), the
names of the policy, and a few technical words.  A message the engine learns to say without
a pattern in :mod:`kaohe_rules.messages` fails here, instead of reaching a clerk in English.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules import messages
from kaohe_rules.errors import FactError, KaoheError
from kaohe_rules.testing import fuzz
from kaohe_rules.unitio import read_units

#: Words that are not English prose in a Chinese message: formats, encodings, limits' names, options.
ALLOWED = {"JSON", "Lines", "CSV", "UTF", "xlsx", "jsonl", "csv", "Unicode", "Decimal", "YYYY", "MM", "DD",
           "MAX_TEXT_CHARS", "MAX_LINE_BYTES", "MAX_NESTING", "MAX_DOCUMENT_BYTES", "id", "facts", "units",
           "null", "kaohe", "NaN", "Infinity", "inf", "nan", "sNaN", "GB", "encoding"}
WORD = re.compile(r"[A-Za-z_][A-Za-z_]+")
QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _values(message: str, patterns: tuple[tuple[re.Pattern[str], str], ...]) -> list[str]:
    """The groups of the first pattern matching ``message``: the values it quotes (not a library's
    ``detail``, which must be translated, nor an ``inner`` message, which is checked in its turn)."""
    for pattern, _ in patterns:
        match = pattern.match(message)
        if match:
            skip = {pattern.groupindex[n] for n in ("detail", "inner") if n in pattern.groupindex}
            return [g for i, g in enumerate(match.groups(), 1) if g and i not in skip]
    return []


def residue(english: str, chinese: str, patterns: tuple[tuple[re.Pattern[str], str], ...],
            names: frozenset[str]) -> list[str]:
    """English words left in ``chinese``: not in a quoted value, a group, a policy name, or ALLOWED."""
    rest = chinese
    for value in sorted(_values(english, patterns), key=len, reverse=True):
        rest = rest.replace(value, " ")
    rest = QUOTED.sub(" ", rest)
    rest = re.sub(r"<[^<>]*>", " ", rest)  # a value shown by its type (<a HostileObject>)
    return [w for w in WORD.findall(rest) if w not in ALLOWED and w not in names and not w.startswith("Hostile")]


def _names(policy: kaohe_rules.Policy) -> frozenset[str]:
    checked = policy.checked
    words: set[str] = set()
    for name in [*checked.facts, *checked.categories, *checked.enums, *getattr(checked, "records", {})]:
        words.update(WORD.findall(str(name)))
    return frozenset(words)


def _problems(policy: kaohe_rules.Policy, unit: object) -> list[dict[str, object]]:
    try:
        policy.evaluate(unit)  # type: ignore[arg-type]
    except FactError as exc:
        return [p.to_dict() for p in exc.problems]
    except KaoheError:
        return []
    return []


def fact_corpus() -> Iterator[tuple[str, dict[str, object]]]:
    """(policy name, problem) for every fact × hostile value or absence, and broken envelopes."""
    bundled = fuzz.Policies()
    for name, policy in bundled.by_name.items():
        chooser = fuzz.RandomChooser(f"zh-{name}")
        for category in policy.categories:
            base = fuzz.valid_unit(policy, bundled.domains[name], chooser, category)
            facts = [f for f, _ in bundled.domains[name].facts_for(category)]
            for fact in facts:
                for make in fuzz.HOSTILE:
                    unit = base | {"facts": base["facts"] | {fact: make()}}
                    for problem in _problems(policy, unit):
                        yield name, problem
                unit = base | {"facts": {k: v for k, v in base["facts"].items() if k != fact}}
                for problem in _problems(policy, unit):
                    yield name, problem
            other = [c for c in policy.categories if c != category]
            envelopes: list[object] = [
                {k: v for k, v in base.items() if k != "id"}, base | {"id": ""}, base | {"id": 1.5},
                base | {"id": "x" * 500}, base | {"id": "\ud800"}, base | {"name": 5}, base | {"name": "x" * 200_000},
                base | {"category": "不存在"}, base | {"category": 3}, base | {"facts": [1]},
                base | {"facts": base["facts"] | {"不存在的事实": 1}}, base | {"facts": base["facts"] | {1: 1}},
                [base], "unit", None,
            ]
            if other:
                alien = [f for f, _ in bundled.domains[name].facts_for(other[0]) if f not in facts]
                if alien:
                    envelopes.append(base | {"facts": base["facts"] | {alien[0]: 1}})
            for unit in envelopes:
                for problem in _problems(policy, unit):
                    yield name, problem


def misread_corpus() -> Iterator[tuple[str, dict[str, object]]]:
    """The spellings of tests/batch/test_input_misreads.py, each as the one fact of a unit."""
    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    try:
        import test_input_misreads as misreads
    finally:
        sys.path.remove(str(here))
    policy = kaohe_rules.load(misreads.POLICY)
    base = {"率": "98%", "增幅": "1%", "资金": 0, "达标": "是", "人数": 0}
    for fact, value in misreads.CASES:
        for problem in _problems(policy, {"id": "a", "category": "单位", "facts": base | {fact: value}}):
            yield "misreads", problem


def reader_corpus(tmp: Path) -> Iterator[str]:
    """The error of every row the readers refuse (JSON Lines and CSV)."""
    lines = [
        "[1, 2]", "{bad json", '{"id": "a", "category": "区政府", "facts": {}, "额外": 1}', '{"id": "a", "facts": [1]}',
        '{"id": {"x": 1}, "facts": {}}', "[" * 40 + "]" * 40, '{"id": "a", "id": "b", "facts": {}}',
        '{"id": "a", "facts": {"x": NaN}}', '{"id": "a", "facts": {"x": 1e999999}}', '{"id": "\\ud800", "facts": {}}',
        '{"id": "a", "编号": "b", "facts": {}}', '{"id": "a", "facts": {"\\udc00": 1}}', '{"id": "a", "facts": {"x": Infinity}}',
        '{"id": "a", "facts": {"x": ' + "[" * 40 + "]" * 40 + "}}", '"just text"', "12",
        '{"id": "a", "name": ["x"], "facts": {}}', '{"id": "a", "category": {"x": 1}, "facts": {}}',
    ]
    path = tmp / "rows.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8") + b"\n\xff\xfe{}\n")
    for row in read_units(path):
        if row.error is not None:
            yield row.error
    csv_path = tmp / "rows.csv"
    csv_path.write_text("id,category,人数,事\n"
                        "a,单位,1,[{\"人\": 1}]\n"
                        "b,单位,1,[bad json\n"
                        "c,单位,1,[],extra\n"
                        "d,单位,1," + "[" * 40 + "]" * 40 + "\n"
                        "e,单位," + "9" * 100_001 + ",[]\n", encoding="utf-8")
    for row in read_units(csv_path):
        if row.error is not None:
            yield row.error


def _line(problem: Mapping[str, Any], namer: messages.FactNamer | None = None) -> str:
    return messages.problem_line(problem, "zh", namer)


def test_every_fact_problem_has_a_chinese_form() -> None:
    bundled = fuzz.Policies()
    names = {name: _names(p) for name, p in bundled.by_name.items()}
    seen: dict[tuple[str, str], str] = {}
    count = 0
    for policy_name, problem in [*fact_corpus(), *misread_corpus()]:
        count += 1
        fact_words = frozenset(WORD.findall(str(problem.get("fact", ""))))
        allowed = names.get(policy_name, frozenset()) | fact_words
        for part, patterns in (("message", messages.FACT_MESSAGES), ("expected", messages.EXPECTED_MESSAGES),
                               ("hint", messages.HINT_MESSAGES)):
            english = problem.get(part)
            if not english:
                continue
            chinese = {"message": messages.fact_message_zh, "expected": messages.expected_zh,
                       "hint": messages.hint_zh}[part](str(english))
            left = residue(str(english), chinese, patterns, allowed)
            if left:
                seen.setdefault((part, re.sub(r"\d+", "N", str(english))[:120]), chinese)
    assert count > 1000  # the corpus is what it says (every fact × every hostile value)
    assert not seen, "\n".join(f"{part}: {english!r} → {zh!r}" for (part, english), zh in sorted(seen.items()))


def test_every_row_the_readers_refuse_has_a_chinese_form(tmp_path: Path) -> None:
    found: dict[str, str] = {}
    errors = list(reader_corpus(tmp_path))
    assert len(errors) >= 15
    for error in errors:
        chinese = _line({"message": error})[4:]
        left = residue(error, chinese, messages.READER_MESSAGES + messages.FACT_MESSAGES, frozenset({"x", "人", "事"}))
        if left:
            found.setdefault(error[:160], chinese)
    assert not found, "\n".join(f"{e!r} → {z!r}" for e, z in found.items())


@pytest.mark.parametrize("english", ["something new went wrong", "'x' is frobnicated"])
def test_a_message_without_a_pattern_is_english_and_caught(english: str) -> None:
    """The check can fail: a message no pattern knows stays English, and residue() finds it."""
    chinese = messages.fact_message_zh(english)
    assert chinese == english and residue(english, chinese, messages.FACT_MESSAGES, frozenset())


def test_a_fact_is_named_by_its_label_and_clause_in_chinese() -> None:
    policy = kaohe_rules.load(fuzz.KARAMAY_PATH)
    from kaohe_rules.reports.tabular import fact_namer

    [problem] = [p for p in _problems(policy, json.loads(fuzz.KARAMAY_UNITS_PATH.read_text(encoding="utf-8"))["units"][0]
                                      | {"facts": {}}) if p["fact"] == "从业人员培训合格率"] or [None]
    assert problem is not None
    line = _line(problem, fact_namer(policy.program))
    assert "从业人员培训合格率" in line and "〔" in line and "缺少" in line
