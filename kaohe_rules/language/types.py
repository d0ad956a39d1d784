"""The types of the policy language and the rules of typed arithmetic.

Kept apart from the checker so the compiler and the fact coercer can share them
without importing the checker.
"""

from __future__ import annotations

import attrs

SCALAR_KINDS = ("int", "decimal", "money", "percent", "bool", "date", "text")
TYPE_ALIASES = {
    "int": "int", "整数": "int",
    "decimal": "decimal", "小数": "decimal", "数值": "decimal",
    "money": "money", "金额": "money",
    "percent": "percent", "百分比": "percent",
    "bool": "bool", "布尔": "bool", "是否": "bool",
    "date": "date", "日期": "date",
    "text": "text", "文本": "text",
}
NUMERIC = ("int", "decimal")


@attrs.frozen
class Type:
    """A value type: ``kind`` is a scalar kind, "enum", "record", "list", "none", "empty" or "error"."""

    kind: str
    name: str | None = None  # enum or record name
    elem: Type | None = None  # list element
    optional: bool = False

    def required(self) -> Type:
        return attrs.evolve(self, optional=False) if self.optional else self

    def as_optional(self) -> Type:
        return attrs.evolve(self, optional=True)

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def is_error(self) -> bool:
        return self.kind == "error"

    def describe(self) -> str:
        if self.kind == "list":
            base = f"list of {self.elem.describe() if self.elem else '?'}"
        elif self.kind in ("enum", "record"):
            base = str(self.name)
        elif self.kind == "empty":
            base = "empty list"
        else:
            base = self.kind
        return base + ("?" if self.optional else "")


INT = Type("int")
DECIMAL = Type("decimal")
MONEY = Type("money")
PERCENT = Type("percent")
BOOL = Type("bool")
DATE = Type("date")
TEXT = Type("text")
NONE = Type("none", optional=True)
EMPTY = Type("empty")
ERROR = Type("error")
# periods (issue #11 P): which period (``period``, a period's bare name) and a period's rating;
# each compares with == / != only, and is an int index at run time
PERIOD = Type("period")
RATING = Type("rating")
#: the record type of a period's values (``periods``, ``一季度.score``); ``record period`` is refused (K247)
PERIOD_RECORD = "period"


def numeric_join(a: Type, b: Type) -> Type:
    return INT if a.kind == "int" and b.kind == "int" else DECIMAL


def arithmetic(op: str, a: Type, b: Type) -> Type | None:
    """The result type of ``a op b``, or None when the combination is not allowed."""
    ka, kb = a.kind, b.kind
    if ka in NUMERIC and kb in NUMERIC:
        return DECIMAL if op == "/" else numeric_join(a, b)
    if op in "+-":
        if ka == kb and ka in ("money", "percent"):
            return a
        if op == "-" and ka == kb == "date":
            return INT
        return None
    if op == "*":
        if (ka == "money" and kb in NUMERIC) or (kb == "money" and ka in NUMERIC):
            return MONEY
        if {ka, kb} == {"money", "percent"}:
            return MONEY
        if (ka == "percent" and kb in NUMERIC) or (kb == "percent" and ka in NUMERIC):
            return DECIMAL  # q * 25%: that much of a number is a number (a weight, issue #10)
        return None
    if op == "/":
        if ka == "money" and kb in NUMERIC:
            return MONEY
        if ka == "money" and kb == "money":
            return DECIMAL
        if ka == "percent" and kb in NUMERIC:
            return PERCENT
        if ka == "percent" and kb == "percent":
            return DECIMAL
        if ka == "money" and kb == "percent":
            return MONEY
        return None
    return None


def comparable(a: Type, b: Type, op: str) -> bool:
    """Whether ``a op b`` is allowed (equality is wider than ordering)."""
    if a.kind in NUMERIC and b.kind in NUMERIC:
        return True
    if a.kind != b.kind:
        return False
    if a.kind in ("money", "percent", "date"):
        return True
    if a.kind == "enum":
        return a.name == b.name
    if op in ("==", "!="):
        return a.kind in ("text", "bool")
    return a.kind == "text"


def assignable(value: Type, target: Type) -> bool:
    """Whether a value of type ``value`` may stand where ``target`` is expected."""
    if value.is_error or target.is_error:
        return True
    if value.kind == "none":
        return target.optional
    if value.optional and not target.optional:
        return False
    if value.kind == "empty":
        return target.kind == "list"
    if value.kind == target.kind:
        if value.kind in ("enum", "record"):
            return value.name == target.name
        if value.kind == "list":
            return value.elem == target.elem
        return True
    return value.kind == "int" and target.kind == "decimal"
