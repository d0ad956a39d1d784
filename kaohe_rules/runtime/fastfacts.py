"""Generated fact coercion: the fast path for facts already given in their canonical types.

The generic :class:`~kaohe_rules.runtime.facts.FactCoercer` interprets each fact's
type at run time and accepts every documented spelling ("是", "98.5%", "100万元"),
collecting every problem of a unit for one clear error.  That generality costs
about as much as evaluating the policy itself.  Most units, though, arrive from
JSON with booleans as booleans and numbers as numbers; for them this module
generates, per category, one straight-line function that reads each fact, checks
its Python type, default, bounds and the absence of unknown names, and builds the
same facts dictionary the generic coercer would.

Whenever anything is not in its canonical form — another spelling, a missing or
unknown fact, a value out of range — the fast function gives up (raises
:class:`SlowPath`) and the caller runs the generic coercer, which either accepts the
spelling or reports every problem with its exact message.  So the fast path never
decides an error and never accepts what the generic path would refuse; a property
test (tests/test_fast_coercion.py) checks that both agree.

Safety rules are the compiler's: identifiers are generated, every name, default,
bound and enum table lives in the constants namespace, and the code runs with a
restricted set of builtins.
"""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Callable, Container, Mapping
from decimal import Decimal
from typing import Any

from ..cache import compile_source
from ..compiler import ConstantTable
from ..model import CheckedPolicy
from ..types import Type
from . import facts as _generic
from .facts import _Bad, _has_default

CoerceFunction = Callable[[Mapping[str, object]], dict[str, object]]


class SlowPath(Exception):
    """The unit is not in canonical form: use the generic coercer (never seen by callers)."""


_ABSENT = object()
_DATE = datetime.date


def _lenient(convert: Callable[[object], object]) -> Callable[[object], object]:
    """The generic coercer's conversion, with its refusal turned into 'take the slow path'."""

    def run(value: object) -> object:
        if value is None:
            raise SlowPath
        try:
            return convert(value)
        except _Bad:
            raise SlowPath from None

    return run


_NUMBER_KINDS = ("decimal", "money", "percent")
_SMALL_LIMIT = 1001
_SMALL = tuple(Decimal(i) for i in range(_SMALL_LIMIT))  # int facts → Decimal without a constructor call
_HELPERS: dict[str, object] = {
    "_bool": _lenient(_generic._bool),
    "_int": _lenient(_generic._int),
    "_decimal": _lenient(lambda v: _generic._decimal(v, "a number")),
    "_money": _lenient(_generic._money),
    "_percent": _lenient(_generic._percent),
    "_date": _lenient(_generic._date),
    "_text": _lenient(_generic._text),
    "_SMALL": _SMALL,
    "_fromiso": datetime.date.fromisoformat,
}


class _Generator:
    def __init__(self, policy: CheckedPolicy, derive: Mapping[str, Callable[[dict[str, object]], object]]) -> None:
        self.policy = policy
        self.derive = derive
        self.lines: list[str] = []
        self.table = ConstantTable()
        self.constants = self.table.values
        self._enum_tables: dict[str | None, str] = {}
        self.records: dict[str, str] = {}
        self.elements: dict[tuple[object, ...], str] = {}

    def const(self, value: object, prefix: str = "_c") -> str:
        return self.table.name(value, prefix)

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    # ------------------------------------------------------------ one value
    def convert(self, indent: int, var: str, t: Type) -> None:
        """Give ``var`` the Python type of ``t`` in place, or raise _S.

        The canonical type costs one or two identity tests; any other value goes
        through the generic coercer's own function for that type (so "是" or
        "100万元" are read exactly as the generic path reads them), and a value that
        function refuses raises _S, leaving the error message to the generic path.
        """
        kind = t.kind
        if kind == "bool":
            self.emit(indent, f"if {var} is not True and {var} is not False: {var} = _bool({var})")
        elif kind == "int":
            self.emit(indent, f"if {var}.__class__ is not int: {var} = _int({var})")
        elif kind in _NUMBER_KINDS:
            self.emit(indent, f"if {var}.__class__ is int: {var} = _SMALL[{var}] if -1 < {var} < {_SMALL_LIMIT} else _D({var})")
            self.emit(indent, f"elif {var}.__class__ is not _D or not {var}.is_finite(): {var} = _{kind}({var})")
        elif kind == "date":
            self.emit(indent, f"if {var}.__class__ is str:")
            self.emit(indent + 1, f"try: {var} = _fromiso({var})")
            self.emit(indent + 1, f"except ValueError: {var} = _date({var})")
            self.emit(indent, f"elif {var}.__class__ is not _DATE: {var} = _date({var})")
        elif kind == "text":
            self.emit(indent, f"if {var}.__class__ is not str: {var} = _text({var})")
        elif kind == "enum":
            self.emit(indent, f"{var} = {self.enum_table(t)}.get({var}) if {var}.__class__ is str else None")
            self.emit(indent, f"if {var} is None: raise _S")
        elif kind == "list":
            assert t.elem is not None
            func = self.element_function(t.elem)
            self.emit(indent, f"if {var}.__class__ is not list: raise _S")
            self.emit(indent, f"{var} = [{func}(_x) for _x in {var}]")
        else:  # pragma: no cover - the checker admits no other fact types
            self.emit(indent, "raise _S")

    def bounds(self, indent: int, var: str, bounds: tuple[object, object, bool, bool] | None) -> None:
        if bounds is None:
            return
        low, high, low_closed, high_closed = bounds
        if low is not None:
            self.emit(indent, f"if not ({var} {'>=' if low_closed else '>'} {self.const(low)}): raise _S")
        if high is not None:
            self.emit(indent, f"if not ({var} {'<=' if high_closed else '<'} {self.const(high)}): raise _S")

    def enum_table(self, t: Type) -> str:
        cached = self._enum_tables.get(t.name)
        if cached is not None:
            return cached
        members = self.policy.enums[t.name or ""].members
        table: dict[str, int] = {}
        for index, member in enumerate(members):  # labels first: a member's name wins over another's label
            if member.label is not None and member.label not in table:
                table[member.label] = index
        for index, member in enumerate(members):
            table[member.name] = index
        name = self.const(table, "_e")
        self._enum_tables[t.name] = name
        return name

    def element_function(self, elem: Type) -> str:
        if elem.kind == "record":
            return self.record_function(elem.name or "")
        key = (elem.kind, elem.name)
        name = self.elements.get(key)
        if name is None:
            name = f"_elem{len(self.elements)}"
            self.elements[key] = name
            body: list[str] = []
            saved, self.lines = self.lines, body
            self.emit(0, f"def {name}(v):")
            self.convert(1, "v", elem)
            self.emit(1, "return v")
            self.emit(0, "")
            self.lines = body + saved
        return name

    # ------------------------------------------------------- named values
    def read(self, indent: int, mapping: str, local: str, key: str, t: Type, default: object,
             bounds: tuple[object, object, bool, bool] | None, copy_list: bool = True) -> bool:
        """Read one fact/field into ``local``; returns True when the key may be absent (counted in ``n``)."""
        has_default = _has_default(default)
        if not has_default and not t.optional:
            if mapping == "raw":  # a subscript is faster than .get(); the caller turns KeyError into _S
                self.emit(indent, f"{local} = raw[{key}]")
            else:
                self.emit(indent, f"{local} = {mapping}({key})")  # None (absent) is refused by every conversion
            self.convert(indent, local, t)
            self.bounds(indent, local, bounds)
            return False
        if has_default:
            fallback = self.const(default)
            if copy_list and isinstance(default, tuple):  # the generic coercer gives each unit its own list
                fallback = f"list({fallback})" if default else "[]"
        else:
            fallback = "None"
        self.emit(indent, f"{local} = {'g' if mapping == 'raw' else mapping}({key}, _A)")
        self.emit(indent, f"if {local} is _A: {local} = {fallback}")
        self.emit(indent, "else:")
        self.emit(indent + 1, "n += 1")
        self.emit(indent + 1, f"if {local} is None: {local} = {fallback}")
        self.emit(indent + 1, "else:")
        self.convert(indent + 2, local, t.required())
        self.bounds(indent + 2, local, bounds)
        return True

    def prologue(self, name: str, mapping: str) -> None:
        """``def name(mapping):`` taking only a plain dict, with ``g`` its get and ``n`` the optional keys seen."""
        self.emit(0, f"def {name}({mapping}):")
        self.emit(1, f"if {mapping}.__class__ is not dict: raise _S")
        self.emit(1, f"g = {mapping}.get")
        self.emit(1, "n = 0")

    def record_function(self, rname: str) -> str:
        name = self.records.get(rname)
        if name is not None:
            return name
        name = f"_record{len(self.records)}"
        self.records[rname] = name
        policy = self.policy
        decl = policy.records[rname]
        body: list[str] = []
        saved, self.lines = self.lines, body
        self.prologue(name, "x")
        required = 0
        pairs: list[str] = []
        for index, field in enumerate(decl.fields):
            ftype = policy.record_fields[rname][field.name]
            key = self.const(field.name, "_k")
            local = f"v{index}"
            if not self.read(1, "g", local, key, ftype, policy.field_defaults.get((rname, field.name)),
                             policy.field_bounds.get((rname, field.name)), copy_list=False):
                required += 1
            pairs.append(f"{key}: {local}")
        self.emit(1, f"if len(x) != {required} + n: raise _S")
        self.emit(1, f"r = {{{', '.join(pairs)}}}")
        derive = self.derive.get(rname)
        if derive is not None:
            self.emit(1, f"{self.const(derive, '_d')}(r)")
        self.emit(1, "return r")
        self.emit(0, "")
        self.lines = body + saved
        return name

    def category_function(self, index: int, category: str) -> str:
        policy = self.policy
        plan = policy.plans[category]
        name = f"coerce_{index}"
        self.prologue(name, "raw")
        self.emit(1, "try:")
        required = 0
        pairs: list[str] = []
        for f_index, fact in enumerate(plan.facts):
            key = self.const(fact, "_k")
            local = f"F{f_index}"
            if not self.read(2, "raw", local, key, policy.fact_types[fact], policy.fact_defaults.get(fact),
                             policy.fact_bounds.get(fact)):
                required += 1
            pairs.append(f"{key}: {local}")
        if not pairs:
            self.emit(2, "pass")
        self.emit(1, "except KeyError:  # a required fact is missing")
        self.emit(2, "raise _S from None")
        self.emit(1, f"if len(raw) != {required} + n: raise _S")
        # copying a prototype (keys in the generic coercer's order) then storing is
        # about twice as fast as a dict display of some sixty entries
        self.emit(1, f"f = {self.const(dict.fromkeys(plan.facts), '_proto')}.copy()")
        for pair in pairs:
            key, local = pair.split(": ")
            self.emit(1, f"f[{key}] = {local}")
        self.emit(1, "return f")
        self.emit(0, "")
        return name


_BUILTINS = {name: getattr(builtins, name) for name in ("len", "list", "dict", "str", "int", "ValueError", "KeyError")}


def _compile(gen: _Generator, names: dict[str, str], filename: str) -> tuple[str, dict[str, CoerceFunction]]:
    """Compile what ``gen`` generated; return (source, {category: fast coerce function}).

    Each function returns the facts dictionary the generic coercer would return,
    or raises :class:`SlowPath` when the input needs the generic coercer.
    """
    source = "# generated by kaohe_rules.runtime.fastfacts; do not edit\n" + "\n".join(gen.lines) + "\n"
    namespace: dict[str, Any] = {"__builtins__": dict(_BUILTINS), "__name__": "kaohe_generated_facts",
                                 "_S": SlowPath, "_A": _ABSENT, "_D": Decimal, "_DATE": _DATE}
    namespace.update(_HELPERS)
    namespace.update(gen.constants)
    exec(compile_source(source, filename), namespace)  # noqa: S102 - generated from the checked model only
    return source, {category: namespace[fname] for category, fname in names.items()}


class LazyFastCoercers:
    """The fast coerce functions, each generated and compiled on its category's first unit.

    ``functions[category]`` starts as a stand-in that builds the real function, puts
    it in its place and calls it; after that the dictionary holds the generated
    function itself, so the per-unit path is unchanged.  A load pays nothing for
    categories it never assesses.  (Two threads racing on a first unit both build
    the same function; either one is kept.)
    """

    def __init__(self, policy: CheckedPolicy, derive: Mapping[str, Callable[[dict[str, object]], object]]) -> None:
        self._policy = policy
        self._derive = derive
        self.sources: dict[str, str] = {}
        self.functions: dict[str, CoerceFunction] = {
            category: self._stand_in(index, category) for index, category in enumerate(policy.plans)
        }

    def _stand_in(self, index: int, category: str) -> CoerceFunction:
        def first_call(raw: Mapping[str, object]) -> dict[str, object]:
            return self.build(category, index)(raw)
        return first_call

    def build(self, category: str, index: int | None = None) -> CoerceFunction:
        """The category's function, generated and compiled if not yet done."""
        if category in self.sources:
            return self.functions[category]
        if index is None:
            index = list(self._policy.plans).index(category)
        gen = _Generator(self._policy, self._derive)
        name = gen.category_function(index, category)
        source, functions = _compile(gen, {category: name}, f"<kaohe-generated-facts-{index}>")
        self.functions[category] = function = functions[category]
        self.sources[category] = source
        return function

    def source(self) -> str:
        """Every category's generated source (building what is not built yet)."""
        for category in self._policy.plans:
            self.build(category)
        return "".join(self.sources[category] for category in self._policy.plans)


def fast_envelope(unit: object, categories: Container[str]) -> tuple[str, str | None, str, dict[str, object]] | None:
    """(id, name, category, facts) when the unit envelope is in canonical form, else None (use the generic one)."""
    if unit.__class__ is dict:
        get = unit.get
        unit_id = get("id")
        category = get("category")
        facts = get("facts")
        if (unit_id.__class__ is str and category.__class__ is str and facts.__class__ is dict
                and category in categories and unit_id.strip()):
            name = get("name")
            if name is None or name.__class__ is str:
                return unit_id, name, category, facts
    return None
