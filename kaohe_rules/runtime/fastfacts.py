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
import operator
import re
from collections.abc import Callable, Container, Mapping
from decimal import Decimal
from typing import Any

import attrs

from ..cache import compile_source
from ..codegen.compiler import ConstantTable
from ..language.model import CategoryPlan, CheckedPolicy
from ..language.types import Type
from ..limits import (
    MAX_FRACTION_DIGITS,
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    NUMBER_LIMIT,
    SURROGATE,
    has_lone_surrogate,
)
from ..numeric import ENGINE_CONTEXT
from . import facts as _generic
from .evaluator import CompiledModule
from .facts import Bad as _Bad
from .facts import has_default as _has_default
from .helpers import HELPERS, SAFE_BUILTINS

CoerceFunction = Callable[[Mapping[str, object]], dict[str, object]]
AssessFunction = Callable[[Mapping[str, object]], tuple[tuple[Any, ...], tuple[object, ...]]]


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


_money_lenient = _lenient(_generic._money)
# at most 14 digits: 99999999999999.999999万元 < 10**18 (limits.NUMBER_LIMIT)
_WAN_YUAN = re.compile(r"[0-9]{1,14}(?:\.[0-9]{1,6})?万元").fullmatch
_TEN_THOUSAND = Decimal(10000)
_ENGINE_MULTIPLY = ENGINE_CONTEXT.multiply


_READ_CACHE_LIMIT = 4096  # entries of each cache of spellings already read (_AMOUNTS, _DATES)
_AMOUNTS: dict[str, Decimal] = {}  # "120万元" → Decimal('1200000')


def _money(value: object) -> object:
    """The generic reading of an amount, with its commonest spelling ("120万元") read directly.

    The same value as :func:`kaohe_rules.runtime.facts._money` gives (same digits,
    same multiplication in the engine's context); every other spelling goes to it.
    """
    if value.__class__ is str:
        amount = _AMOUNTS.get(value)
        if amount is not None:
            return amount
        if _WAN_YUAN(value):
            amount = _ENGINE_MULTIPLY(Decimal(value[:-2]), _TEN_THOUSAND)
            if len(_AMOUNTS) < _READ_CACHE_LIMIT:
                _AMOUNTS[value] = amount
            return amount
    return _money_lenient(value)


_date_lenient = _lenient(_generic._date)
# ISO date strings already read, shared by every policy (a date is a date): most units of a
# batch repeat the same few hundred dates, and a lookup is cheaper than parsing.  Bounded.
_DATES: dict[str, datetime.date] = {}


def _read_date(text: str) -> object:
    """An ISO date read and remembered; any other spelling goes to the generic reading."""
    try:
        value = datetime.date.fromisoformat(text)
    except ValueError:
        return _date_lenient(text)
    if len(_DATES) < _READ_CACHE_LIMIT:
        _DATES[text] = value
    return value


_NUMBER_KINDS = ("decimal", "money", "percent")
_NUMBER_LIMIT = Decimal(NUMBER_LIMIT)
_SMALL_LIMIT = 1001
_SMALL = tuple(Decimal(i) for i in range(_SMALL_LIMIT))  # int facts → Decimal without a constructor call
_HELPERS: dict[str, object] = {
    "_bool": _lenient(_generic._bool),
    "_int": _lenient(_generic._int),
    "_decimal": _lenient(lambda v: _generic._decimal(v, "a number")),
    "_money": _money,
    "_percent": _lenient(_generic._percent),
    "_date": _date_lenient,
    "_DATES": _DATES,
    "_read_date": _read_date,
    "_text": _lenient(_generic._text),
    "_SMALL": _SMALL,
}


@attrs.frozen
class _Field:
    """One fact of a category or field of a record, as the generated code reads it."""

    local: str  # the generated local it is read into
    key: str  # the constant holding its name
    type: Type
    default: object
    bounds: tuple[object, object, bool, bool] | None
    copy_list: bool = True  # a list default is copied per unit (facts), or shared (record fields)

    @property
    def optional(self) -> bool:
        return _has_default(self.default) or self.type.optional


class _Generator:
    def __init__(self, policy: CheckedPolicy, derive_inline: Mapping[str, tuple[tuple[str, str], ...]]) -> None:
        self.policy = policy
        self.derive_inline = derive_inline
        self.lines: list[str] = []
        self.table = ConstantTable(tag="f")  # apart from the compiler's names: assess_N runs both
        self.constants = self.table.values
        self._enum_tables: dict[str | None, str] = {}
        self.records: dict[str, str] = {}
        self._inline = True  # a list of records is built in place, except inside a record
        self.elements: dict[tuple[object, ...], str] = {}

    def const(self, value: object, prefix: str = "_c") -> str:
        return self.table.name(value, prefix)

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    # ------------------------------------------------------------ one value
    def convert(self, indent: int, var: str, t: Type,
                bounds: tuple[object, object, bool, bool] | None = None) -> None:
        """Give ``var`` the Python type of ``t`` in place and check its ``bounds``, or raise _S.

        The canonical type costs one or two identity tests; any other value goes
        through the generic coercer's own function for that type (so "是" or
        "100万元" are read exactly as the generic path reads them), and a value that
        function refuses raises _S, leaving the error message to the generic path.
        A number given as an int is checked against its bounds while still an int
        (int comparisons are the cheapest), then made a Decimal.
        """
        kind = t.kind
        if kind in _NUMBER_KINDS:
            self.emit(indent, f"if {var}.__class__ is int:")
            self.int_range(indent + 1, var, bounds)
            self.bounds(indent + 1, var, bounds, "int")
            self.emit(indent + 1, f"{var} = _SMALL[{var}] if -1 < {var} < {_SMALL_LIMIT} else _D({var})")
            self.emit(indent, "else:")
            # a Decimal in canonical form: finite, in range (limits.number_problem), not -0;
            # anything else goes through the generic reading, which accepts it or refuses
            self.emit(indent + 1, f"if {var}.__class__ is not _D or not {var}.is_finite() or not (_NMIN < {var} < _NMAX)"
                                  f" or {var}.as_tuple()[2] < _PLACES or (not {var} and {var}.is_signed()):"
                                  f" {var} = _{kind}({var})")
            self.bounds(indent + 1, var, bounds, kind)
            return
        if kind == "bool":
            self.emit(indent, f"if {var} is not True and {var} is not False: {var} = _bool({var})")
        elif kind == "int":
            self.emit(indent, f"if {var}.__class__ is not int: {var} = _int({var})")
            self.int_range(indent, var, bounds)
        elif kind == "date":
            self.emit(indent, f"if {var}.__class__ is str: {var} = _DATES.get({var}) or _read_date({var})")
            self.emit(indent, f"elif {var}.__class__ is not _DATE: {var} = _date({var})")
        elif kind == "text":
            self.emit(indent, f"if {var}.__class__ is not str or len({var}) > {MAX_TEXT_CHARS}"
                              f" or not {var}.isascii() and _SURR({var}): {var} = _text({var})")
        elif kind == "enum":
            self.emit(indent, f"{var} = {self.enum_table(t)}.get({var}) if {var}.__class__ is str else None")
            self.emit(indent, f"if {var} is None: raise _S")
        elif kind == "list":
            assert t.elem is not None
            self.emit(indent, f"if {var}.__class__ is not list or len({var}) > {MAX_LIST_ITEMS}: raise _S")
            if self._inline and t.elem.kind == "record":
                # a fact's list of records, built in a loop right here: no call per record
                self.emit(indent, f"if {var}:")
                self.emit(indent + 1, "_l = []")
                self.emit(indent + 1, f"for x in {var}:")
                built = self.record_body(indent + 2, t.elem.name or "")
                self.emit(indent + 2, f"_l.append({built})")
                self.emit(indent + 1, f"{var} = _l")
                self.emit(indent, f"else: {var} = []")
            else:
                func = self.element_function(t.elem)
                self.emit(indent, f"{var} = list(map({func}, {var})) if {var} else []")
        else:  # pragma: no cover - the checker admits no other fact types
            self.emit(indent, "raise _S")
        self.bounds(indent, var, bounds, kind)

    def int_range(self, indent: int, var: str, bounds: tuple[object, object, bool, bool] | None) -> None:
        """Refuse an int outside the representable range (limits.NUMBER_LIMIT), unless its bounds already do."""
        low, high = (bounds[0], bounds[1]) if bounds is not None else (None, None)
        low_ok = isinstance(low, (int, Decimal)) and low > -NUMBER_LIMIT
        high_ok = isinstance(high, (int, Decimal)) and high < NUMBER_LIMIT
        if low_ok and high_ok:
            return
        if low_ok:
            self.emit(indent, f"if {var} >= {NUMBER_LIMIT}: raise _S")
        elif high_ok:
            self.emit(indent, f"if {var} <= {-NUMBER_LIMIT}: raise _S")
        else:
            self.emit(indent, f"if not {-NUMBER_LIMIT} < {var} < {NUMBER_LIMIT}: raise _S")

    def bounds(self, indent: int, var: str, bounds: tuple[object, object, bool, bool] | None, kind: str) -> None:
        """Refuse a value outside its declared range.

        Each bound is written in the type the value has by now (a Decimal for
        decimal/money/percent, an int for int): comparing like with like is about
        twice as fast as Decimal against int, and gives the same answer.
        """
        if bounds is None:
            return
        low, high, low_closed, high_closed = bounds
        for bound, op in ((low, ">=" if low_closed else ">"), (high, "<=" if high_closed else "<")):
            if bound is None:
                continue
            if kind in _NUMBER_KINDS and isinstance(bound, (int, Decimal)) and not isinstance(bound, bool):
                bound = Decimal(bound)
            elif kind == "int" and isinstance(bound, Decimal) and bound == bound.to_integral_value():
                bound = int(bound)
            self.emit(indent, f"if not ({var} {op} {self.const(bound)}): raise _S")

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
    def read_all(self, indent: int, mapping: str, fields: list[_Field], get: str = "g", count: str = "n") -> None:
        """Read, check and convert ``fields`` of the dict ``mapping`` into their locals.

        The required ones come first, all in one ``operator.itemgetter`` call (one C
        call instead of a subscript per name; the caller turns its KeyError into
        _S); the optional ones are read with ``g`` (the dict's ``get``) and counted in
        ``n``, so that ``len(mapping) == required + n`` proves no name is unknown.
        """
        required = [f for f in fields if not f.optional]
        optional = [f for f in fields if f.optional]
        if len(required) == 1:
            self.emit(indent, f"{required[0].local} = {mapping}[{required[0].key}]")
        elif required:
            getter = self.const(operator.itemgetter(*(self.constants[f.key] for f in required)), "_get")
            self.emit(indent, f"{', '.join(f.local for f in required)} = {getter}({mapping})")
        for f in required:
            self.convert(indent, f.local, f.type, f.bounds)
        if not optional:
            self.emit(indent, f"if len({mapping}) != {len(required)}: raise _S")
            return
        # only the required names present: every optional one takes its fallback, unread
        self.emit(indent, f"if len({mapping}) == {len(required)}:")
        for f in optional:
            self.emit(indent + 1, f"{f.local} = {self.fallback(f)}")
        if len(optional) > 1:
            # as many names as facts: all present (read in one call), or some unknown name in
            # place of a missing one — KeyError, and the generic coercer reports it
            getter = self.const(operator.itemgetter(*(self.constants[f.key] for f in optional)), "_get")
            self.emit(indent, f"elif len({mapping}) == {len(required) + len(optional)}:")
            self.emit(indent + 1, f"{', '.join(f.local for f in optional)} = {getter}({mapping})")
            for f in optional:
                self.emit(indent + 1, f"if {f.local} is None: {f.local} = {self.fallback(f)}")
                self.emit(indent + 1, "else:")
                self.convert(indent + 2, f.local, f.type.required(), f.bounds)
        self.emit(indent, "else:")
        self.emit(indent + 1, f"{get} = {mapping}.get")
        self.emit(indent + 1, f"{count} = 0")
        for f in optional:
            self.read_optional(indent + 1, f, get, count)
        self.emit(indent + 1, f"if len({mapping}) != {len(required)} + {count}: raise _S")

    def fallback(self, f: _Field) -> str:
        """What an absent or null optional fact/field becomes: its default, or None."""
        if not _has_default(f.default):
            return "None"
        fallback = self.const(f.default)
        if f.copy_list and isinstance(f.default, tuple):  # the generic coercer gives each unit its own list
            fallback = f"list({fallback})" if f.default else "[]"
        return fallback

    def read_optional(self, indent: int, f: _Field, get: str, count: str) -> None:
        """An optional fact/field: absent or null takes the default (or None)."""
        local = f.local
        fallback = self.fallback(f)
        self.emit(indent, f"{local} = {get}({f.key}, _A)")
        self.emit(indent, f"if {local} is _A: {local} = {fallback}")
        self.emit(indent, "else:")
        self.emit(indent + 1, f"{count} += 1")
        self.emit(indent + 1, f"if {local} is None: {local} = {fallback}")
        self.emit(indent + 1, "else:")
        self.convert(indent + 2, local, f.type.required(), f.bounds)

    def prologue(self, name: str, mapping: str) -> None:
        """``def name(mapping):`` taking only a plain dict."""
        self.emit(0, f"def {name}({mapping}):")
        self.emit(1, f"if {mapping}.__class__ is not dict: raise _S")

    def record_function(self, rname: str) -> str:
        """``_recordN(x)``: one record checked and built (for lists inside records, and elements)."""
        name = self.records.get(rname)
        if name is not None:
            return name
        name = f"_record{len(self.records)}"
        self.records[rname] = name
        body: list[str] = []
        saved, self.lines = self.lines, body
        self.emit(0, f"def {name}(x):")
        self.emit(1, "try:")
        built = self.record_body(2, rname)
        self.emit(1, "except KeyError:  # a required field is missing")
        self.emit(2, "raise _S from None")
        self.emit(1, f"return {built}")
        self.emit(0, "")
        self.lines = body + saved
        return name

    def record_body(self, indent: int, rname: str) -> str:
        """Check and convert the record ``x`` into locals v0, v1, ... (w0, ... derived); returns its dict display.

        A missing required field raises KeyError, which the caller turns into _S.
        Lists inside the record are built by record functions (never inlined).
        """
        policy = self.policy
        inline, self._inline = self._inline, False
        self.emit(indent, "if x.__class__ is not dict: raise _S")
        fields: list[_Field] = []
        pairs: list[str] = []
        for index, field in enumerate(policy.records[rname].fields):
            key = self.const(field.name, "_k")
            local = f"v{index}"
            fields.append(_Field(local, key, policy.record_fields[rname][field.name],
                                 policy.field_defaults.get((rname, field.name)),
                                 policy.field_bounds.get((rname, field.name)), copy_list=False))
            pairs.append(f"{key}: {local}")
        self.read_all(indent, "x", fields, get="rg", count="rn")
        # derived fields computed from the locals just checked (compiler.CompiledSource.derive_inline)
        for index, (let_name, expression) in enumerate(self.derive_inline.get(rname, ())):
            self.emit(indent, f"w{index} = {expression}")
            pairs.append(f"{self.const(let_name, '_k')}: w{index}")
        self._inline = inline
        return f"{{{', '.join(pairs)}}}"

    def _read_facts(self, plan: CategoryPlan) -> list[tuple[str, str]]:
        """Read, check and convert every fact of ``plan`` into locals F0, F1, ...; (key, local) pairs."""
        policy = self.policy
        fields = [_Field(f"F{f_index}", self.const(fact, "_k"), policy.fact_types[fact], policy.fact_defaults.get(fact),
                         policy.fact_bounds.get(fact)) for f_index, fact in enumerate(plan.facts)]
        self.emit(1, "try:")
        self.read_all(2, "raw", fields)
        self.emit(1, "except KeyError:  # a required fact is missing")
        self.emit(2, "raise _S from None")
        return [(f.key, f.local) for f in fields]

    def category_function(self, index: int, category: str) -> str:
        """``coerce_N(raw)``: the facts dictionary the generic coercer would return."""
        plan = self.policy.plans[category]
        name = f"coerce_{index}"
        self.prologue(name, "raw")
        pairs = self._read_facts(plan)
        # copying a prototype (keys in the generic coercer's order) then storing is
        # about twice as fast as a dict display of some sixty entries
        self.emit(1, f"f = {self.const(dict.fromkeys(plan.facts), '_proto')}.copy()")
        for key, local in pairs:
            self.emit(1, f"f[{key}] = {local}")
        self.emit(1, "return f")
        self.emit(0, "")
        return name

    def assess_function(self, index: int, category: str, body: tuple[str, str]) -> str:
        """``assess_N(raw)``: the fact checks, then the compiled evaluator's own body, in one function.

        The evaluator's body reads its facts from locals F0, F1, ... in the order
        of ``plan.facts`` — the very locals the checks leave behind — so no facts
        dictionary is built and read back.  Returns ``(raw result, fact values)``;
        :class:`~kaohe_rules.runtime.result.Result` builds the dictionary only if asked.
        """
        plan = self.policy.plans[category]
        name = f"assess_{index}"
        self.prologue(name, "raw")
        pairs = self._read_facts(plan)
        statements, returned = body
        self.emit(1, "T = None")
        self.lines.append(statements)
        values = "(" + "".join(f"{local}, " for _key, local in pairs) + ")"
        self.emit(1, f"return {returned}, {values}")
        self.emit(0, "")
        return name


_BUILTINS = {name: getattr(builtins, name) for name in ("len", "list", "map", "dict", "str", "int", "ValueError", "KeyError")}


def _compile(gen: _Generator, names: list[str], filename: str,
             evaluator_constants: Mapping[str, object]) -> tuple[str, list[Callable[..., Any]]]:
    """Compile what ``gen`` generated; return (source, the functions called ``names``).

    The namespace holds the fast path's constants and helpers next to the compiled
    evaluator's (their names never collide: the tables are tagged apart), with the
    union of both restricted builtin sets and nothing else.
    """
    source = "# generated by kaohe_rules.runtime.fastfacts; do not edit\n" + "\n".join(gen.lines) + "\n"
    namespace: dict[str, Any] = {"__builtins__": {**SAFE_BUILTINS, **_BUILTINS}, "__name__": "kaohe_generated_facts"}
    namespace.update(HELPERS)
    namespace.update(evaluator_constants)
    namespace.update({"_S": SlowPath, "_A": _ABSENT, "_D": Decimal, "_DATE": _DATE,
                      "_NMIN": -_NUMBER_LIMIT, "_NMAX": _NUMBER_LIMIT, "_PLACES": -MAX_FRACTION_DIGITS,
                      "_SURR": SURROGATE})
    namespace.update(_HELPERS)
    namespace.update(gen.constants)
    exec(compile_source(source, filename), namespace)  # noqa: S102 - generated from the checked model only
    return source, [namespace[name] for name in names]


class LazyFastCoercers:
    """The fast functions of each category, each generated and compiled on first use.

    Per category there are two: ``assess`` (raw facts → ``(raw result, fact values)``:
    the checks followed by the compiled evaluator's body, see
    :meth:`_Generator.assess_function`), which every plain evaluation runs, and
    ``coerce`` (raw facts → the facts dictionary the generic coercer would return),
    which only traced runs need.  Both raise :class:`SlowPath` for anything not in
    canonical form.  They are compiled apart, so a batch that never traces never
    pays for compiling ``coerce``, and a load pays nothing for categories it never
    assesses.

    ``assessors[category]`` and ``functions[category]`` start as stand-ins that
    build the real function, put it in place and call it; after that the
    dictionaries hold the generated functions themselves, so the per-unit path is
    unchanged.  (Two threads racing on a first unit both build the same function;
    either one is kept.)
    """

    def __init__(self, policy: CheckedPolicy, module: CompiledModule) -> None:
        self._policy = policy
        self._module = module
        self.sources: dict[tuple[str, str], str] = {}  # (category, "assess" or "coerce") -> source
        self.functions: dict[str, CoerceFunction] = {}
        self.assessors: dict[str, AssessFunction] = {}
        for index, category in enumerate(policy.plans):
            self.functions[category], self.assessors[category] = self._stand_ins(index, category)

    def _stand_ins(self, index: int, category: str) -> tuple[CoerceFunction, AssessFunction]:
        def first_coerce(raw: Mapping[str, object]) -> dict[str, object]:
            return self.build_coerce(category, index)(raw)

        def first_assess(raw: Mapping[str, object]) -> tuple[tuple[Any, ...], tuple[object, ...]]:
            return self.build(category, index)(raw)

        return first_coerce, first_assess

    def build(self, category: str, index: int | None = None) -> AssessFunction:
        """The category's assess function, generated and compiled if not yet done."""
        self._build(category, "assess", index)
        return self.assessors[category]

    def build_coerce(self, category: str, index: int | None = None) -> CoerceFunction:
        """The category's coerce function, generated and compiled if not yet done."""
        self._build(category, "coerce", index)
        return self.functions[category]

    def _build(self, category: str, kind: str, index: int | None) -> None:
        if (category, kind) in self.sources:
            return
        index = list(self._policy.plans).index(category) if index is None else index
        module = self._module
        gen = _Generator(self._policy, module.derive_inline)
        if kind == "assess":
            name = gen.assess_function(index, category, module.bodies[category])
        else:
            name = gen.category_function(index, category)
        source, (function,) = _compile(gen, [name], f"<kaohe-generated-{kind}-{index}>", module.constants)
        if kind == "assess":
            self.assessors[category] = function
        else:
            self.functions[category] = function
        self.sources[category, kind] = source

    def build_all(self) -> None:
        for category in self._policy.plans:
            self.build(category)
            self.build_coerce(category)

    def source(self) -> str:
        """Every category's generated source (building what is not built yet)."""
        self.build_all()
        return "".join(self.sources[category, kind] for category in self._policy.plans for kind in ("coerce", "assess"))


def fast_envelope(unit: object, categories: Container[str]) -> tuple[str, str | None, str, dict[str, object]] | None:
    """(id, name, category, facts) when the unit envelope is in canonical form, else None (use the generic one)."""
    if unit.__class__ is dict:
        get = unit.get
        unit_id = get("id")
        category = get("category")
        facts = get("facts")
        if (unit_id.__class__ is str and category.__class__ is str and facts.__class__ is dict
                and category in categories and unit_id.strip() and len(unit_id) <= MAX_ID_CHARS
                and not has_lone_surrogate(unit_id)):
            name = get("name")  # the generic envelope's limits (facts.FactCoercer.envelope), else it decides
            if name is None or (name.__class__ is str and len(name) <= MAX_TEXT_CHARS
                                and not has_lone_surrogate(name)):
                return unit_id, name, category, facts
    return None
