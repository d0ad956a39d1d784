"""Hypothesis strategies for units of a policy, derived from what the policy declares.

``units(policy)`` draws whole units (``{"id", "category", "facts"}``) that the
policy accepts: every fact of the unit's category with a value of its declared
type, inside its declared bounds, left out only where the policy allows it
(optional facts and facts with defaults), enum members by name, lists of records
with at most ``max_list`` items.  Numbers are drawn from the declared range and,
more often than chance would, from the policy's own thresholds and the values
next to them, because that is where a policy is wrong.

Everything shrinks to a small unit a person can read: absent optional facts,
``false``, zero or the lower bound, empty lists; with ``near=``, to the base unit
with as few facts changed as possible.

Found by type, too::

    from hypothesis import given, strategies as st
    from kaohe_rules.testing import Unit

    @given(st.from_type(Unit[policy, "企业"]))   # or Unit[policy] for any category
    def test_something(unit): ...

``Unit`` is registered with ``st.register_type_strategy`` when this module is
imported; the ``hypothesis`` entry point of the package imports it, so
``st.from_type(Unit[...])`` works in any test run where kaohe_rules is installed.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, get_args

from hypothesis import strategies as st

from .domains import ABSENT, Domain, Domains

if TYPE_CHECKING:
    from ..policy import Policy

UNIT_ID = "generated"
_TEXT_ALPHABET = "甲乙丙丁ab"
_DOMAINS: dict[int, tuple[object, Domains]] = {}


def domains(policy: Policy) -> Domains:
    """The (cached) domains of a policy's facts."""
    key = id(policy.checked)
    cached = _DOMAINS.get(key)
    if cached is None or cached[0] is not policy.checked:
        cached = (policy.checked, Domains(policy.checked))
        _DOMAINS[key] = cached
    return cached[1]


def value_strategy(domain: Domain, max_list: int = 3) -> st.SearchStrategy[Any]:
    """Values of one domain, as a unit supplies them (never ABSENT)."""
    if domain.periods:  # a per-period fact (issue #11 P): an object keyed by period, each value drawn alike
        return per_period_strategy(domain, max_list)
    kind = domain.kind
    if kind == "bool":
        return st.booleans()
    if domain.number is not None:
        n = domain.number
        if n.kind == "int":
            base: st.SearchStrategy[Any] = st.integers(int(n.low), int(n.high))
        else:
            base = st.decimals(n.low, n.high, places=n.places, allow_nan=False, allow_infinity=False).map(n.value)
        if n.interesting:
            return st.one_of(base, st.sampled_from([n.value(v) for v in n.interesting]))
        return base
    if kind == "date":
        assert domain.dates is not None
        dates = st.dates(domain.dates[0], domain.dates[1])
        return st.one_of(dates, st.sampled_from(domain.interesting_dates)) if domain.interesting_dates else dates
    if kind == "text":
        return st.text(alphabet=_TEXT_ALPHABET, max_size=3)
    if kind == "enum":
        return st.sampled_from(domain.members)
    if kind == "record":
        return record_strategy(domain, max_list)
    if kind == "list":
        assert domain.elem is not None
        items = st.lists(value_strategy(domain.elem, max_list), max_size=max_list)
        # sometimes an item equal to an earlier one: two identical accidents, two entries of one
        # group-by key (issue #10 C) — chance alone almost never draws them
        return st.one_of(items, items.flatmap(_repeated))
    raise ValueError(f"cannot generate values of type {domain.type.describe()}")  # pragma: no cover


def per_period_strategy(domain: Domain, max_list: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """``{period: value}`` (issue #11 P); a period may be left out (its default applies) when the fact may be."""
    value = value_strategy(domain.one_period(), max_list)
    if domain.may_be_absent:
        return st.fixed_dictionaries({}, optional={name: value for name in domain.periods})
    return st.fixed_dictionaries({name: value for name in domain.periods})


def _repeated(items: list[Any]) -> st.SearchStrategy[list[Any]]:
    """``items`` with its last item replaced by a copy of an earlier one (same length, so ``max_list`` holds)."""
    if len(items) < 2:
        return st.just(items)
    return st.integers(0, len(items) - 2).map(
        lambda i: [*items[:-1], dict(items[i]) if isinstance(items[i], dict) else items[i]])


def record_strategy(domain: Domain, max_list: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    required = {name: value_strategy(f, max_list) for name, f in domain.fields if not f.may_be_absent}
    optional = {name: value_strategy(f, max_list) for name, f in domain.fields if f.may_be_absent}
    return st.fixed_dictionaries(required, optional=optional)


def facts(policy: Policy, category: str, *, max_list: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """The facts of one unit of ``category``: a dict a unit's ``facts`` may be."""
    if category not in policy.checked.plans:
        raise ValueError(f"policy {policy.name} has no category {category!r}; it has {', '.join(policy.categories)}")
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, domain in domains(policy).facts_for(category):
        (optional if domain.may_be_absent else required)[name] = value_strategy(domain, max_list)
    return st.fixed_dictionaries(required, optional=optional)


def units(policy: Policy, category: str | None = None, *, near: Sequence[Mapping[str, Any]] | None = None,
          max_list: int = 3, max_changes: int = 6) -> st.SearchStrategy[dict[str, Any]]:
    """Units of ``policy`` (of one ``category``, or of any).

    With ``near``, each unit is one of the given units with up to ``max_changes``
    facts redrawn (or left out, where allowed): realistic units, close to real
    ones or to :func:`~kaohe_rules.testing.landmarks.landmarks`, that shrink back
    towards the unit they started from.
    """
    categories = [category] if category is not None else list(policy.categories)
    for name in categories:
        if name not in policy.checked.plans:
            raise ValueError(f"policy {policy.name} has no category {name!r}; it has {', '.join(policy.categories)}")
    if near is not None:
        bases = [u for u in near if u.get("category") in categories]
        if not bases:
            raise ValueError("none of the units given as 'near' belongs to " + ", ".join(categories))
        return st.sampled_from(bases).flatmap(lambda base: _changed(policy, base, max_list, max_changes))
    return st.one_of([facts(policy, cat, max_list=max_list).map(_envelope(cat)) for cat in categories])


def _envelope(category: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def wrap(unit_facts: dict[str, Any]) -> dict[str, Any]:
        return {"id": UNIT_ID, "category": category, "facts": unit_facts}

    return wrap


def _changed(policy: Policy, base: Mapping[str, Any], max_list: int, max_changes: int) -> st.SearchStrategy[dict[str, Any]]:
    category = str(base["category"])
    space = dict(domains(policy).facts_for(category))
    names = sorted(space)

    def apply(changes: dict[str, Any]) -> dict[str, Any]:
        raw = base.get("facts")
        new_facts = dict(raw) if isinstance(raw, Mapping) else {}
        for name, value in changes.items():
            if value is ABSENT:
                new_facts.pop(name, None)
            else:
                new_facts[name] = value
        return {"id": str(base.get("id", UNIT_ID)), "category": category, "facts": new_facts}

    def values(chosen: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        strategies: dict[str, st.SearchStrategy[Any]] = {}
        for name in chosen:
            domain = space[name]
            value = value_strategy(domain, max_list)
            strategies[name] = st.one_of(st.just(ABSENT), value) if domain.may_be_absent else value
        return st.fixed_dictionaries(strategies)

    chosen = st.lists(st.sampled_from(names), unique=True, max_size=max_changes) if names else st.just([])
    return chosen.flatmap(values).map(apply)


# ----------------------------------------------------------------- from_type
class Unit:
    """Marker type for ``st.from_type``: ``Unit[policy]`` or ``Unit[policy, "category"]`` draws units of it.

    The units drawn are plain dicts (what ``policy.evaluate`` takes); ``Unit`` only names them.
    """

    def __class_getitem__(cls, params: Any) -> Any:
        return types.GenericAlias(cls, params if isinstance(params, tuple) else (params,))


def unit_type(policy: Policy, category: str | None = None) -> Any:
    """``Unit[policy, category]`` spelled for typed code (the subscript holds objects, not types)."""
    return types.GenericAlias(Unit, (policy, category) if category is not None else (policy,))


def _resolve(thing: Any) -> st.SearchStrategy[Any]:
    args = get_args(thing)
    if not args:
        raise TypeError("say which policy the units belong to: st.from_type(Unit[policy]) or Unit[policy, 'category']")
    policy = args[0]
    category = args[1] if len(args) > 1 else None
    if not hasattr(policy, "checked"):
        raise TypeError(f"Unit[...] needs a loaded policy (kaohe_rules.load(...)), not {policy!r}")
    return units(policy, category)


def register() -> None:
    """Register ``Unit`` with hypothesis (idempotent); done on import and by the entry point."""
    st.register_type_strategy(Unit, _resolve)


register()
