"""The rating-effects example of docs/language.md is real: it loads and rates as its table says."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")


def example() -> str:
    match = re.search(r"```kaohe\n(policy 效果示例 .*?)```", TEXT, flags=re.S)
    assert match, "docs/language.md lost its rating-effects example (policy 效果示例)"
    return match.group(1)


# (facts, raw score, effect kinds in order, rating, vetoed): the rows of the table under the example
ROWS = [
    ({}, 100, [], "优秀", False),
    ({"瞒报": True}, 100, ["downgrade"], "良好", False),
    ({"较大事故数": 1}, 80, ["cap"], "良好", False),
    ({"较大事故数": 1, "瞒报": True}, 80, ["cap", "downgrade"], "合格", False),
    ({"重大事故": True}, 100, ["score"], "不合格", False),
    ({"督查扣分": 15}, 85, ["rating"], "基本合格", False),
    ({"细则扣分": 40, "督查扣分": 20, "瞒报": True}, 40, ["downgrade", "rating"], "基本合格", False),
    ({"细则扣分": 40, "督查扣分": 20, "较大事故数": 1}, 20, ["cap", "rating", "vetoed"], "不合格", True),
]


@pytest.mark.parametrize(("facts", "raw", "kinds", "rating", "vetoed"), ROWS)
def test_the_documented_example_rates_as_its_table_says(facts: dict[str, object], raw: int, kinds: list[str],
                                                        rating: str, vetoed: bool) -> None:
    policy = kaohe_rules.load(example())
    result = policy.evaluate({"id": "u", "category": "县区", "facts": facts})
    assert (result.raw_score, [e.kind for e in result.effects], result.rating, result.vetoed) == \
        (raw, kinds, rating, vetoed)


def test_the_table_rows_are_the_ones_tested() -> None:
    table = TEXT[TEXT.index("| facts | raw score | steps | rating |"):]
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), table.splitlines()[2:]))  # this table only
    assert len(rows) == len(ROWS)
    for line, (_, raw, _, rating, _) in zip(rows, ROWS):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1].split()[0] == str(raw) and cells[3].split()[0] == rating, line
