"""The contract between generated code and the runtime that reads what it returns.

The code generator (:mod:`kaohe_rules.codegen`) emits evaluators that return a raw
tuple laid out as :data:`RAW_FIELDS` and, in their traced twin, append event tuples
whose first element is one of the trace tags below.  The runtime
(:mod:`kaohe_rules.runtime.result`, ``trace``, ``facts``) decodes them.  Both sides
import the layout from here, so neither imports the other and a change of layout is
one edit in one place.  The tag values are the strings the evaluators have always
emitted: the trace goldens depend on them.
"""

from __future__ import annotations

from typing import Final

#: The raw result tuple of a generated evaluator, by position.
RAW_FIELDS: Final = ("score", "sections", "targets", "vetoes", "excepted", "deferred", "band", "rating", "outcome",
                      "effects", "base_score", "bonus")

RAW_SCORE: Final = 0
RAW_SECTIONS: Final = 1
RAW_TARGETS: Final = 2
RAW_VETOES: Final = 3
RAW_EXCEPTED: Final = 4
RAW_DEFERRED: Final = 5
RAW_BAND: Final = 6
RAW_RATING: Final = 7
RAW_OUTCOME: Final = 8
#: None, or (the score before score effects, [(kind, index, value, before, after), ...]) in the order
#: applied (issue #10 A3); kind score|requires|cap|downgrade|rating|vetoed; index a veto's (a band's
#: for requires) in the plan; value, before and after are scores for ``score``, else rating indices.
RAW_EFFECTS: Final = 9
RAW_BASE_SCORE: Final = 10  # the base (the sections that make up the total); == score without bonus sections
RAW_BONUS: Final = 11  # the bonus points counted after every cap (加分, issue #10); 0 without bonus sections

#: Only in the raw result of a policy with a cohort block (issue #11 C), after RAW_BONUS:
#: ``(ranked, keys)`` — whether the unit is ranked (its category is, and ``among`` holds) and its
#: ranking keys oriented larger-is-better (``()`` when not ranked).  The quota step is an effect
#: ``('quota', quota clause, band index, before, after)`` in RAW_EFFECTS.
RAW_COHORT: Final = 12

assert RAW_FIELDS.index("deferred") == RAW_DEFERRED and RAW_FIELDS.index("outcome") == RAW_OUTCOME
assert RAW_FIELDS.index("effects") == RAW_EFFECTS and RAW_FIELDS.index("bonus") == RAW_BONUS
assert len(RAW_FIELDS) == RAW_BONUS + 1
#: Only in the raw result of a policy with periods (issue #11 P), its last field (after RAW_COHORT in a
#: policy that also has a cohort): one tuple per period, ``(score, section scores, target scores, band,
#: rating, base, bonus, None)`` (the last kept for a later use).  Other policies' tuples have no such field.
RAW_PERIODS: Final = -1
#: ``(TAG_PERIOD, period_index, score, rating, events)``: one period scored (issue #11 P), with its own events.
TAG_PERIOD: Final = "period"

# Trace events: ``(TAG_LET, name, value)``, ``(TAG_RULE, target_index, rule_index, value, reads)``,
# ``(TAG_TARGET, target_index, score)``, ``(TAG_VETO, veto_index, fired, exception_index, evidence, reads)``.
TAG_LET: Final = "let"
TAG_RULE: Final = "rule"
TAG_TARGET: Final = "target"
TAG_VETO: Final = "veto"
#: ``(TAG_EFFECT, kind, index, value, before, after)``: one step of the rating effects (issue #10 A3).
TAG_EFFECT: Final = "effect"
TRACE_TAGS: Final = (TAG_LET, TAG_RULE, TAG_TARGET, TAG_VETO, TAG_EFFECT)
#: The trace event of an event of a shared ledger charged to the unit (issue #16), one per event, before
#: the deferrals.  The generated evaluators never emit it: the charged list is known before evaluation,
#: so the trace builder puts these first, from ``result.charged``.
TAG_CHARGE: Final = "charge"


#: In a raw outcome's amounts: the item does not apply (its ``for`` excludes the category, or
#: its ``when`` did not hold); such an item is absent from the result.  A string, so that no
#: amount (a Decimal, or None for a sanction or before ``rest``) can equal it.
NOT_APPLICABLE: Final = "not applicable"

#: With outcomes for every rating (``outcome { … }``) the raw outcome is ``(own, general)``:
#: ``own`` the rating's own as before (None or ``(total, amounts)``), ``general`` one
#: ``(total, amounts)`` per such outcome in declaration order.  Without them it is ``own``.


class Missing:
    """The type of :data:`MISSING`: a fact with no default (``None`` is a default of its own)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no default>"

    def __reduce__(self) -> str:
        return "MISSING"  # unpickles as the one instance


#: ``checked.fact_defaults.get(name, MISSING)``: the checker's marker for "no default".
MISSING: Final = Missing()
