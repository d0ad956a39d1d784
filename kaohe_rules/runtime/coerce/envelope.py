"""The unit envelope in canonical form: the one test both evaluation paths use.

Why one function: ``Policy.evaluate``'s fast path used to carry its own inline copy
of this test, next to the one the general path asked.  A unit whose envelope is in
canonical form (a dict; a short, non-blank text id; an optional short text name;
a known category; facts as a dict) is read by the generated code; anything else
goes to :meth:`kaohe_rules.runtime.facts.FactCoercer.envelope`, which accepts the
other spellings or reports every problem.  So this test never decides an error.
"""

from __future__ import annotations

from collections.abc import Container

from ...limits import MAX_ID_CHARS, MAX_TEXT_CHARS, has_lone_surrogate

Envelope = tuple[str, "str | None", str, dict[str, object]]


def canonical_envelope(unit: object, categories: Container[str]) -> Envelope | None:
    """(id, name, category, facts) when the unit envelope is in canonical form, else None (use the generic one).

    ``isascii()`` first: ASCII text cannot hold a lone surrogate, and the test is far
    cheaper than the search.
    """
    if unit.__class__ is dict:
        get = unit.get
        unit_id = get("id")
        category = get("category")
        facts = get("facts")
        if (unit_id.__class__ is str and category.__class__ is str and facts.__class__ is dict
                and category in categories and unit_id.strip() and len(unit_id) <= MAX_ID_CHARS
                and (unit_id.isascii() or not has_lone_surrogate(unit_id))):
            name = get("name")  # the generic envelope's limits (facts.FactCoercer.envelope), else it decides
            if len(unit) != (4 if "name" in unit else 3):  # a key beside "facts": the generic envelope refuses it
                return None
            if name is None or (name.__class__ is str and len(name) <= MAX_TEXT_CHARS
                                and (name.isascii() or not has_lone_surrogate(name))):
                return unit_id, name, category, facts
    return None
