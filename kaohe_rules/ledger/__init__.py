"""Shared event ledgers (issue #16): the attribution engine, batch layer.

:func:`attribute` decides, for a batch's ledgers and units, which events are charged to
which unit (and which are excluded, handed over, unattributed or bad); ``Policy.attribute``,
``Policy.evaluate_many(ledgers=…)``, ``Policy.evaluate_cohort(ledgers=…)`` and the cohort
stream driver call it.  The data it produces lives in :mod:`kaohe_rules.runtime.ledger`.
"""

from __future__ import annotations

from .engine import LedgerInput, attribute, check_ledger_names, event_name, ledger_facts, render_shown

__all__ = ["LedgerInput", "attribute", "check_ledger_names", "event_name", "ledger_facts", "render_shown"]
