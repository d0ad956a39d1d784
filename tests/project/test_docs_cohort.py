"""The cohort example of docs/language.md is real: it loads and ranks, caps and pays as its table says."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from pathlib import Path

import kaohe_rules

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")

# (unit, facts, score, rank, rating, 先进 amount): the rows of the table under the example
ROWS = [
    ("A", {"扣分": 5}, 95, 1, "优秀", 1000),
    ("B", {"扣分": 8}, 92, 2, "良好", 1000),
    ("C", {"扣分": 8}, 92, 2, "良好", 1000),
    ("D", {"扣分": 12}, 88, 4, "合格", None),
    ("E", {"扣分": 9, "达标": False}, 91, None, "合格", None),
]


def example() -> str:
    match = re.search(r"```kaohe\n(policy 排名示例 .*?)```", TEXT, flags=re.S)
    assert match, "docs/language.md lost its cohort example (policy 排名示例)"
    return match.group(1)


def test_the_documented_cohort_example_ranks_as_its_table_says() -> None:
    policy = kaohe_rules.load(example())
    items = policy.evaluate_cohort([{"id": u, "category": "县区", "facts": f} for u, f, *_ in ROWS])
    for item, (unit, _, score, rank, rating, paid) in zip(items, ROWS):
        result = item.result
        assert result is not None and result.standing is not None
        money = {i.name: i.amount for c in result.general_consequences for i in c.items}
        assert (result.score, result.standing.rank, result.rating, money.get("先进")) == \
            (score, rank, rating, None if paid is None else Decimal(paid)), unit
    standing = items[0].result.standing  # type: ignore[union-attr]
    assert (standing.ranked_count, standing.unit_count, standing.best, standing.average) == (4, 5, 95, Decimal("91.75"))
    vetoed = policy.evaluate_cohort([{"id": u, "category": "县区", "facts": {**f, "重大事故": u == "A"}}
                                     for u, f, *_ in ROWS])
    a = vetoed[0].result
    assert a is not None and a.standing is not None and (a.score, a.standing.rank, a.rating) == (0, 4, "不合格")


def test_the_table_rows_are_the_ones_tested() -> None:
    table = TEXT[TEXT.index("| unit | facts | score | rank | before quotas | rating | 先进 |"):]
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), table.splitlines()[2:]))
    assert len(rows) == len(ROWS)
    for line, (unit, _, score, rank, rating, _paid) in zip(rows, ROWS):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == unit and cells[2] == str(score) and cells[3] == (str(rank) if rank else "—"), line
        assert cells[5].split()[0] == rating, line
