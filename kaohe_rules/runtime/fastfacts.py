"""Generated fact coercion at run time: the fast path for facts already given in their canonical types.

The readers themselves are written by :mod:`kaohe_rules.codegen.facts`; this module
holds what they run against (the lenient conversions, the caches of spellings read,
the namespace) and builds them lazily per category.

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
test (tests/codegen/test_fast_coercion.py) checks that both agree.

Safety rules are the compiler's: identifiers are generated, every name, default,
bound and enum table lives in the constants namespace, and the code runs with a
restricted set of builtins.
"""

from __future__ import annotations

import builtins
import datetime
import decimal
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any

from ..cache import compile_source
from ..codegen.emitter import Site, SourceMap
from ..codegen.facts import SMALL_LIMIT, FactReaderGenerator
from ..language.kinds import converter_name
from ..language.model import CheckedPolicy
from ..limits import (
    MAX_FRACTION_DIGITS,
    NUMBER_LIMIT,
    SURROGATE,
)
from ..numeric import ENGINE_CONTEXT
from .coerce.convert import CONVERTERS, Bad
from .evaluator import CompiledModule
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
        except Bad:
            raise SlowPath from None

    return run


# every kind's conversion, lenient: the generated code calls _{kind} for a value not in canonical form
_CONVERT: dict[str, Callable[[object], object]] = {
    converter_name(kind): _lenient(convert) for kind, convert in CONVERTERS.items()
}
_money_lenient = _CONVERT[converter_name("money")]
# at most 14 digits: 99999999999999.999999万元 < 10**18 (limits.NUMBER_LIMIT)
_WAN_YUAN = re.compile(r"[0-9]{1,14}(?:\.[0-9]{1,6})?万元").fullmatch
_TEN_THOUSAND = Decimal(10000)
_ENGINE_MULTIPLY = ENGINE_CONTEXT.multiply


_READ_CACHE_LIMIT = 4096  # entries of each cache of spellings already read (_AMOUNTS, _DATES)
_AMOUNTS: dict[str, Decimal] = {}  # "120万元" → Decimal('1200000')


def _money(value: object) -> object:
    """The generic reading of an amount, with its commonest spelling ("120万元") read directly.

    The same value as :func:`kaohe_rules.runtime.coerce.convert.to_money` gives (same digits,
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


_date_lenient = _CONVERT[converter_name("date")]
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


_NUMBER_LIMIT = Decimal(NUMBER_LIMIT)
# the test "at most MAX_FRACTION_DIGITS places" of a Decimal already in range (below 10**18): quantized to
# 10**-MAX_FRACTION_DIGITS it needs at most 18 + 6 digits, so it is exact or rounded, never an error; no
# traps, so it raises nothing whatever the caller's context (its flags are nobody's business)
_PLACE = Decimal(1).scaleb(-MAX_FRACTION_DIGITS)
_QUANTIZE_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emin=-999999, Emax=999999, traps=[])
_SMALL = tuple(Decimal(i) for i in range(SMALL_LIMIT))  # int facts → Decimal without a constructor call
_HELPERS: dict[str, object] = {
    **_CONVERT,
    converter_name("money"): _money,  # the commonest spelling read directly, then the same conversion
    "_DATES": _DATES,
    "_read_date": _read_date,
    "_SMALL": _SMALL,
}


_BUILTINS = {name: getattr(builtins, name) for name in ("len", "list", "map", "dict", "str", "int", "ValueError", "KeyError")}


def _compile(gen: FactReaderGenerator, names: list[str], filename: str,
             evaluator_constants: Mapping[str, object]) -> tuple[str, SourceMap, list[Callable[..., Any]]]:
    """Compile what ``gen`` generated; return (source, the functions called ``names``).

    The namespace holds the fast path's constants and helpers next to the compiled
    evaluator's (their names never collide: the tables are tagged apart), with the
    union of both restricted builtin sets and nothing else.
    """
    emitted = gen.emitted()
    source = emitted.source()
    namespace: dict[str, Any] = {"__builtins__": {**SAFE_BUILTINS, **_BUILTINS}, "__name__": "kaohe_generated_facts"}
    namespace.update(HELPERS)
    namespace.update(evaluator_constants)
    namespace.update({"_S": SlowPath, "_A": _ABSENT, "_D": Decimal, "_DATE": _DATE,
                      "_NMIN": _NUMBER_LIMIT.copy_negate(), "_NMAX": _NUMBER_LIMIT, "_PLACES": -MAX_FRACTION_DIGITS,
                      "_QUANT": Decimal.quantize, "_PLACE": _PLACE, "_QCTX": _QUANTIZE_CONTEXT,
                      "_SURR": SURROGATE})
    namespace.update(_HELPERS)
    namespace.update(gen.constants)
    exec(compile_source(source, filename), namespace)  # noqa: S102 - generated from the checked model only
    return source, emitted.source_map(filename), [namespace[name] for name in names]


def _slow_coerce(raw: Mapping[str, object]) -> dict[str, object]:
    """A policy with periods (issue #11 P) has no fast path: a per-period fact is an object keyed by
    period, which the generic coercer reads and reports (unknown and missing periods by name)."""
    raise SlowPath


def _slow_assess(raw: Mapping[str, object]) -> tuple[tuple[Any, ...], tuple[object, ...]]:
    raise SlowPath


class LazyFastCoercers:
    """The fast functions of each category, each generated and compiled on first use.

    Per category there are two: ``assess`` (raw facts → ``(raw result, fact values)``:
    the checks followed by the compiled evaluator's body, see
    :meth:`~kaohe_rules.codegen.facts.FactReaderGenerator.assess_function`), which every plain evaluation runs, and
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
        self.source_maps: list[SourceMap] = []  # of every function built so far
        self.functions: dict[str, CoerceFunction] = {}
        self.assessors: dict[str, AssessFunction] = {}
        for index, category in enumerate(policy.plans):
            self.functions[category], self.assessors[category] = self._stand_ins(index, category)

    def _stand_ins(self, index: int, category: str) -> tuple[CoerceFunction, AssessFunction]:
        if self._policy.periods is not None:  # per-period facts (issue #11 P): the generic coercer reads them
            return _slow_coerce, _slow_assess

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
        if (category, kind) in self.sources or self._policy.periods is not None:
            return
        index = list(self._policy.plans).index(category) if index is None else index
        module = self._module
        gen = FactReaderGenerator(self._policy, module.hoistable)
        if kind == "assess":
            name = gen.assess_function(index, category)
        else:
            name = gen.category_function(index, category)
        filename = f"<kaohe-generated-{kind}-{index}>"
        source, source_map, (function,) = _compile(gen, [name], filename, module.constants)
        self.source_maps.append(source_map)
        if kind == "assess":
            self.assessors[category] = function
        else:
            self.functions[category] = function
        self.sources[category, kind] = source

    def locate(self, tb: TracebackType | None) -> Site | None:
        """The policy clause a failure in one of the generated functions happened in (their source maps)."""
        for source_map in list(self.source_maps):
            site = source_map.locate(tb)
            if site is not None:
                return site
        return None

    def build_all(self) -> None:
        for category in self._policy.plans:
            self.build(category)
            self.build_coerce(category)

    def source(self) -> str:
        """Every category's generated source (building what is not built yet)."""
        self.build_all()
        return "".join(self.sources.get((category, kind), "") for category in self._policy.plans
                       for kind in ("coerce", "assess"))
