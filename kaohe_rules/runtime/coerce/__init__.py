"""Fact coercion shared by both paths: the table of fact kinds (:mod:`.kinds`).

The generic coercer (:mod:`kaohe_rules.runtime.facts`) and the generated fast readers
(:mod:`kaohe_rules.codegen.facts`) read every fact kind by the one :class:`~.kinds.KindSpec`.
"""
