"""The generated reader's test of a Decimal's places (issue #13: quantize, not as_tuple) decides as the generic one.

A Decimal fact already in canonical form is taken as it is when it has at most
MAX_FRACTION_DIGITS places as a value; anything else goes to the generic reading,
which accepts it (trailing zeros) or refuses it.  At the edges — trailing zeros far
past the limit, one place too many, the largest numbers, -0, in any caller context —
the fast reader gives the generic reader's value (the same digits and exponent) or
leaves the unit to it.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

import kaohe_rules
from kaohe_rules.errors import FactError
from kaohe_rules.limits import MAX_FRACTION_DIGITS
from kaohe_rules.runtime.fastfacts import SlowPath

POLICY = """
policy 测试 "测试政策" { period 2013-01-01 .. 2013-12-31 }
category 单位 "测试单位" total 100 {
  section 甲 "甲项" 100
}
ratings { 好 "好" 差 "差" } vetoed 差
bands 单位 { 好 [60, 100] 差 [0, 60) }
fact x: decimal "x"
target t in 单位.甲 points 100 { deduct 1 when x > 0 }
"""

PLACES = MAX_FRACTION_DIGITS
VALUES = [
    Decimal("1." + "0" * (PLACES + 20)),  # trailing zeros past the limit: the value has no places
    Decimal(1).scaleb(-PLACES),  # exactly the limit
    Decimal(1).scaleb(-PLACES - 1),  # one place too many
    Decimal(5).scaleb(-PLACES - 1),  # would round half to even to 0 at the limit
    Decimal("9" * 17 + "." + "9" * PLACES),  # 17 + PLACES digits: the largest in range
    Decimal("-" + "9" * 17 + "." + "9" * PLACES),
    Decimal("1" + "0" * 17),  # 10**17
    Decimal("1" + "0" * 18),  # 10**18: out of range
    Decimal("-0"), Decimal("0E-40"), Decimal("-0E-40"), Decimal("12.50"), Decimal("1E+5"),
]


def _reading(policy: kaohe_rules.Policy, value: Decimal) -> object:
    try:
        return policy.coercer.coerce("u", "单位", {"x": value})["x"]
    except FactError:
        return FactError


@pytest.mark.parametrize("value", VALUES, ids=[str(v) for v in VALUES])
@pytest.mark.parametrize("context", [None, decimal.Context(prec=3, traps=[decimal.Inexact, decimal.Rounded])])
def test_the_fast_reader_takes_a_decimal_exactly_when_the_generic_reader_does(value: Decimal,
                                                                               context: decimal.Context | None) -> None:
    policy = kaohe_rules.load(POLICY)
    generic = _reading(policy, value)
    with decimal.localcontext(context or decimal.getcontext()):
        try:
            fast: object = policy._fast_coerce["单位"]({"x": value})["x"]
        except SlowPath:
            fast = None
    if generic is FactError:
        assert fast is None
    elif fast is not None:  # taken: the generic reader's very value, digits and exponent
        assert str(fast) == str(generic)
    if generic is not FactError and value.is_finite() and value and abs(value) < 10**18:
        assert fast is not None  # canonical and in range: the fast path takes it
