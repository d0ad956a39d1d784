"""The reserved words of the policy language.

Kept apart from the parser so that the checker (K170: a keyword cannot name a
declaration) and editor tools can know them without loading Lark.
"""

from __future__ import annotations

KEYWORDS = frozenset(
    """policy extends document issuer adopted issued period note cite checkpoint due from to for
    category total section enum ordered record fact param let source defer where as target in
    points full when deduct unless per cap proportional score veto on because ratings vetoed
    bands outcome reward fine share rest sanction override remove if then else and or not is
    none set true false list of count sum any all min max it add bonus""".split()
)
