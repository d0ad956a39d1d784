"""Fact coercion shared by both paths: the conversions (:mod:`.convert`) and the canonical envelope (:mod:`.envelope`).

The generic coercer (:mod:`kaohe_rules.runtime.facts`) and the generated fast readers
(:mod:`kaohe_rules.codegen.facts`, run by :mod:`kaohe_rules.runtime.fastfacts`) read
every fact kind by the one table :data:`kaohe_rules.language.kinds.KINDS` and convert
other spellings with the same functions.
"""
