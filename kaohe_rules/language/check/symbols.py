"""The collect pass: every declaration filed by name, duplicates and keywords reported.

It runs first, so that later passes can resolve any name regardless of the order
the declarations were written in.  Facts, params, lets, checkpoints and deferred
lists share one value namespace (K100 across kinds); types, targets, vetoes,
bands and outcomes have their own.
"""

from __future__ import annotations

from decimal import Decimal

from ...source import Span
from .. import ast
from ..keywords import NAMES_READ_AS_KEYWORDS
from ..linker import LinkedPolicy
from ..model import CategoryInfo
from ..visitor import DeclVisitor
from .diagnostics import Collector

#: names that call a built-in function (or an aggregate) and so cannot name a map (issue #16)
_FUNCTION_NAMES = frozenset("round floor ceil abs year month day index score count sum any all min max "
                            "streak increasing decreasing".split())


class Symbols:
    """The declarations of a policy, by namespace and name (filled by :func:`collect`)."""

    def __init__(self) -> None:
        self.categories: dict[str, CategoryInfo] = {}  # placeholders until the structure pass
        self.enums: dict[str, ast.EnumDecl] = {}
        self.records: dict[str, ast.RecordDecl] = {}
        self.facts: dict[str, ast.FactDecl] = {}
        self.params: dict[str, ast.ParamDecl] = {}
        self.lets: dict[str, ast.LetDecl] = {}
        self.checkpoints: dict[str, ast.Checkpoint] = {}
        self.defers: list[ast.DeferDecl] = []
        self.aliases: dict[str, ast.DeferDecl] = {}  # a defer's ``as`` name -> the defer
        self.targets: list[ast.TargetDecl] = []
        self.vetoes: list[ast.VetoDecl] = []
        self.ratings: ast.RatingsDecl | None = None
        self.bands: dict[str, ast.BandsDecl] = {}
        self.outcomes: dict[str, ast.OutcomeDecl] = {}
        self.general_outcomes: list[ast.OutcomeDecl] = []
        self.cohorts: list[ast.CohortDecl] = []  # at most one (K250); issue #11 C  # ``outcome { … }``: for every rating, in order
        self.global_names: dict[str, tuple[str, Span]] = {}  # the value namespace: name -> (kind, where)
        self.periods: ast.PeriodsDecl | None = None  # ``periods { … }`` (issue #11 P)
        # issue #16: ledgers and maps, each its own namespace (a map is called, ``M(x)``)
        self.ledgers: dict[str, ast.LedgerDecl] = {}
        self.maps: dict[str, ast.MapDecl] = {}

    def rating_names(self) -> list[str]:
        return [r.name for r in self.ratings.ratings] if self.ratings else []


def collect(linked: LinkedPolicy, diag: Collector) -> Symbols:
    """File every declaration of ``linked`` (K100 duplicates, K170 keywords, K126 no ratings)."""
    collector = _Collect(diag)
    for decl in linked.decls:
        collector.visit_decl(decl)
    sym = collector.sym
    for decl in linked.decls:  # categories after everything else, as their diagnostics always came
        if isinstance(decl, ast.Category):
            if decl.name in sym.categories:
                diag.error("K100", f"category '{decl.name}' is declared twice", decl.span)
                continue
            if decl.name in NAMES_READ_AS_KEYWORDS:
                diag.error("K170", f"'{decl.name}' is a keyword in expressions and cannot name a category", decl.span)
                continue
            # placeholder; the structure pass fills in totals and sections
            sym.categories[decl.name] = CategoryInfo(decl.name, decl.label, Decimal(0), decl.cite, (), decl.span)
    if sym.ratings is None:
        diag.error("K126", "the policy declares no ratings", linked.header.span,
                   hint='add: ratings { 优秀 良好 合格 不合格 } vetoed 不合格')
    return sym


class _Collect(DeclVisitor[None]):
    """Files one declaration into its namespace (a new declaration kind must say where it goes)."""

    def __init__(self, diag: Collector) -> None:
        self.diag = diag
        self.sym = Symbols()
        self.seen: set[tuple[str, str]] = set()  # (kind, name) of targets and vetoes: duplicates in O(1)

    def declare_global(self, kind: str, name: str, span: Span) -> bool:
        sym = self.sym
        if name in NAMES_READ_AS_KEYWORDS:
            self.diag.error("K170", f"'{name}' is a keyword in expressions and cannot name a {kind}", span,
                            hint=f"choose another name, e.g. {name}_值")
            return False
        if name in sym.global_names:
            other_kind, other_span = sym.global_names[name]
            self.diag.error("K100", f"{kind} '{name}' is already declared as a {other_kind} at {other_span.location()}",
                            span, hint="names of facts, params, lets, checkpoints and deferred lists share one namespace")
            return False
        sym.global_names[name] = (kind, span)
        return True

    def _new_type(self, decl: ast.EnumDecl | ast.RecordDecl) -> bool:
        if decl.name in self.sym.enums or decl.name in self.sym.records:
            self.diag.error("K100", f"type '{decl.name}' is declared twice", decl.span)
            return False
        return True

    def visit_EnumDecl(self, decl: ast.EnumDecl) -> None:
        if self._new_type(decl):
            self.sym.enums[decl.name] = decl

    def visit_RecordDecl(self, decl: ast.RecordDecl) -> None:
        if self._new_type(decl):
            self.sym.records[decl.name] = decl

    def visit_FactDecl(self, decl: ast.FactDecl) -> None:
        if self.declare_global("fact", decl.name, decl.span):
            self.sym.facts[decl.name] = decl

    def visit_ParamDecl(self, decl: ast.ParamDecl) -> None:
        if self.declare_global("param", decl.name, decl.span):
            self.sym.params[decl.name] = decl

    def visit_LetDecl(self, decl: ast.LetDecl) -> None:
        if self.declare_global("let", decl.name, decl.span):
            self.sym.lets[decl.name] = decl

    def visit_Checkpoint(self, decl: ast.Checkpoint) -> None:
        if self.declare_global("checkpoint", decl.name, decl.span):
            self.sym.checkpoints[decl.name] = decl

    def visit_DeferDecl(self, decl: ast.DeferDecl) -> None:
        if any(d.name == decl.name for d in self.sym.defers):
            self.diag.error("K100", f"defer '{decl.name}' is declared twice", decl.span)
            return
        if self.declare_global("deferred list", decl.alias, decl.span):
            self.sym.aliases[decl.alias] = decl
        self.sym.defers.append(decl)

    def visit_TargetDecl(self, decl: ast.TargetDecl) -> None:
        if ("target", decl.name) in self.seen:
            self.diag.error("K100", f"target '{decl.name}' is declared twice", decl.span,
                            hint="give each target its own name, e.g. with the clause number")
            return
        self.seen.add(("target", decl.name))
        self.sym.targets.append(decl)

    def visit_VetoDecl(self, decl: ast.VetoDecl) -> None:
        if ("veto", decl.name) in self.seen:
            self.diag.error("K100", f"veto '{decl.name}' is declared twice", decl.span)
            return
        self.seen.add(("veto", decl.name))
        self.sym.vetoes.append(decl)

    def visit_RatingsDecl(self, decl: ast.RatingsDecl) -> None:
        if self.sym.ratings is not None:
            self.diag.error("K100", "ratings are declared twice", decl.span)
            return
        self.sym.ratings = decl

    def visit_BandsDecl(self, decl: ast.BandsDecl) -> None:
        if decl.category in self.sym.bands:
            self.diag.error("K100", f"bands for '{decl.category}' are declared twice", decl.span)
            return
        self.sym.bands[decl.category] = decl

    def visit_OutcomeDecl(self, decl: ast.OutcomeDecl) -> None:
        if decl.for_every_rating:
            self.sym.general_outcomes.append(decl)
            return
        if decl.rating in self.sym.outcomes:
            self.diag.error("K100", f"outcome for '{decl.rating}' is declared twice", decl.span)
            return
        self.sym.outcomes[decl.rating] = decl

    def visit_PeriodsDecl(self, decl: ast.PeriodsDecl) -> None:
        """``periods { … }`` (issue #11 P): one block per policy; the period names share the value namespace."""
        if self.sym.periods is not None:
            self.diag.error("K240", f"periods are declared twice (first at {self.sym.periods.span.location()})", decl.span,
                            hint="a policy has one periods block: list every period in it")
            return
        self.sym.periods = decl
        for item in decl.items:
            self.declare_global("period", item.name, item.span)
    def visit_CohortDecl(self, decl: ast.CohortDecl) -> None:
        """A cohort block (issue #11 C): at most one per policy."""
        if self.sym.cohorts:
            first = self.sym.cohorts[0]
            self.diag.error("K250", f"a second cohort block '{decl.name}': cohort '{first.name}' is declared at "
                            f"{first.span.location()}", decl.span,
                            hint="a policy ranks its units one way; put every ranking rule in one cohort block")
            return
        self.sym.cohorts.append(decl)

    def visit_LedgerDecl(self, decl: ast.LedgerDecl) -> None:
        """A ledger (issue #16): its own namespace (facts name it in ``from``)."""
        if decl.name in self.sym.ledgers:
            self.diag.error("K259", f"ledger '{decl.name}' is declared twice", decl.span)
            return
        self.sym.ledgers[decl.name] = decl

    def visit_MapDecl(self, decl: ast.MapDecl) -> None:
        """A map (issue #16): called as ``NAME(x)``, so it may not take a built-in function's name."""
        if decl.name in self.sym.maps:
            self.diag.error("K268", f"map '{decl.name}' is declared twice", decl.span)
            return
        if decl.name in _FUNCTION_NAMES:
            self.diag.error("K268", f"'{decl.name}' is a built-in function and cannot name a map", decl.span,
                            hint=f"choose another name, e.g. {decl.name}_表")
            return
        self.sym.maps[decl.name] = decl

    def visit_Category(self, decl: ast.Category) -> None:
        """Filed in a second sweep by :func:`collect`, after every other declaration."""
