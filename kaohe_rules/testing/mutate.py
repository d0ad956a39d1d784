"""``kaohe test --mutate``: small mutations of a policy, run against the policy's own test files.

A test file that passes on the policy should fail on a policy that is slightly
wrong.  Each *mutant* is the policy text with one small change:

* ``number``   — a number, amount, percentage or date one step up or down at its
  scale (the steps of :mod:`.boundary`: 1, 0.1, one fen, 0.1 percentage point,
  one day), in parameters, ``let``s, rules, vetoes, deferrals, outcomes and
  the last day of the checkpoints an expression reads; a band edge shared by two bands moves for both (a gap or an
  overlap would not check);
* ``compare``  — ``>=`` ↔ ``>`` and ``<=`` ↔ ``<``;
* ``junction`` — ``and`` ↔ ``or``;
* ``default``  — a boolean literal flipped (``?? false`` → ``?? true``, a fact's or
  field's ``= false``);
* ``drop``     — one rule of a target, or one veto, removed;
* ledgers (issue #16) — the conditions of ``exclude`` / ``hand over`` / ``charge`` rules are
  mutated like any other expression (``and`` ↔ ``or``, comparisons, numbers), each ledger rule
  is dropped in turn (``drop``), and each entry of a ``map`` is dropped in turn (``map``): a
  test file whose batches never tell a rule or a 对口 pair apart lets it survive.

Every mutant is loaded (parsed, checked, compiled) from its text; one that does
not load is *not valid* and not counted.  A valid mutant is *killed* when at
least one case of the policy's test files fails on it (a mismatch or an error).
The others *survive*, unless listed as *equivalent* — no unit could tell them
from the policy — in ``<policy stem>.mutants.toml`` beside the test file::

    [[equivalent]]
    at = "209:30"                  # line:column, as the report shows them
    mutation = "`>=` → `>`"
    reason = "…why no unit can tell them apart…"

An entry needs a written reason; one that matches no surviving mutant is
reported as stale (it is either killed now, or the line moved) and fails the check.
"""

from __future__ import annotations

import datetime
import re
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import KaoheError
from ..language import ast
from ..source import SourceFile
from .boundary import display_path

if TYPE_CHECKING:
    from ..language.model import CheckedPolicy
    from ..policy import Policy
    from .casefile import Case, CohortCase

_RULES = ast.RULE_CLASSES  # every scoring rule, add rules (加分) included: a dropped rule is a mutant
_FLIP = {">=": ">", ">": ">=", "<=": "<", "<": "<="}


class MutantFileError(KaoheError):
    """The list of equivalent mutants cannot be read (bad TOML, an entry without a reason)."""


@attrs.frozen
class Mutant:
    kind: str  # number | compare | junction | default | drop
    line: int
    column: int
    mutation: str  # e.g. "`>=` → `>`"
    text: str  # the source text the mutation is in (first line)
    edits: tuple[tuple[int, int, str], ...]  # (start, end, replacement) offsets into the text

    @property
    def key(self) -> tuple[int, int, str]:
        return self.line, self.column, self.mutation

    def apply(self, text: str) -> str:
        for start, end, new in sorted(self.edits, reverse=True):
            text = text[:start] + new + text[end:]
        return text


@attrs.frozen
class Equivalent:
    line: int
    column: int
    mutation: str
    reason: str


@attrs.frozen
class MutationReport:
    policy: str  # the policy file as shown
    cases: int
    total: int
    invalid: int
    killed: tuple[Mutant, ...]
    survivors: tuple[Mutant, ...]
    equivalent: tuple[tuple[Mutant, str], ...]
    stale: tuple[Equivalent, ...]
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.survivors and not self.stale

    def to_dict(self) -> dict[str, object]:
        def one(m: Mutant) -> dict[str, object]:
            return {"at": f"{self.policy}:{m.line}:{m.column}", "kind": m.kind, "mutation": m.mutation, "text": m.text}

        return {"policy": self.policy, "cases": self.cases, "mutants": self.total, "not_valid": self.invalid,
                "killed": len(self.killed), "survivors": [one(m) for m in self.survivors],
                "equivalent": [{**one(m), "reason": why} for m, why in self.equivalent],
                "stale": [attrs.asdict(e) for e in self.stale], "seconds": round(self.seconds, 1), "error": self.error}

    def render(self) -> str:
        if self.error:
            return f"mutation check of {self.policy}: {self.error}"
        valid = self.total - self.invalid
        lines = [f"mutation check of {self.policy} by {self.cases} case(s): {self.total} mutants, "
                 f"{self.invalid} not valid policies (not counted), {valid} run in {self.seconds:.1f} s",
                 f"  killed {len(self.killed)}, equivalent {len(self.equivalent)}, survived {len(self.survivors)}"]
        if self.survivors:
            lines.append("  mutants no case kills:")
            lines.extend(f"    {self.policy}:{m.line}:{m.column}  {m.mutation}   in  {m.text}" for m in self.survivors)
        if self.equivalent:
            lines.append("  equivalent (listed, with the reason):")
            lines.extend(f"    {self.policy}:{m.line}:{m.column}  {m.mutation}  — {why}" for m, why in self.equivalent)
        for e in self.stale:
            lines.append(f"  stale entry in the list of equivalent mutants: {e.line}:{e.column} {e.mutation} "
                         "(no surviving mutant matches: it is killed now, or the line moved)")
        return "\n".join(lines)


# ------------------------------------------------------------ making mutants
class _Text:
    """Offsets of (line, column) positions in the policy text, columns as the parser counts them
    (1-based; a span's end column is just past its last character)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for line in text.split("\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1

    def span(self, span: Any) -> tuple[int, int]:
        return self.offset(span.line, span.column), self.offset(span.end_line, span.end_column)

    def first_line(self, span: Any) -> str:
        return str(self.text.split("\n")[span.line - 1].strip())


def _walk(obj: object) -> Iterator[object]:
    """Every AST node under ``obj`` (attrs instances, through tuples, lists and dicts)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif attrs.has(type(item)) and not isinstance(item, SourceFile):
            yield item
            stack.extend(getattr(item, f.name) for f in attrs.fields(type(item)) if f.name != "span")  # type: ignore[arg-type]


def _fmt(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number_mutants(node: Any, src: _Text) -> list[Mutant]:
    start, end = src.span(node.span)
    written = src.text[start:end]
    where = (node.span.line, node.span.column)
    out = []
    if isinstance(node, ast.DateLit):
        for days in (1, -1):
            new = (node.value + datetime.timedelta(days=days)).isoformat()
            out.append((new, f"{written} → {new}"))
    elif isinstance(node, (ast.Number, ast.MoneyLit, ast.PercentLit)):
        value: Decimal = node.value
        exponent = value.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if isinstance(node, ast.MoneyLit):
            step, suffix = Decimal("0.01"), "元"
        elif isinstance(node, ast.PercentLit):
            step, suffix = Decimal("0.1") if places <= 1 else Decimal(1).scaleb(-places), "%"
        else:
            step = Decimal(1) if node.is_int else Decimal(1).scaleb(-max(places, 1))
            suffix = ""
        for sign in (1, -1):
            moved = value + sign * step
            if moved < 0 and value >= 0:
                continue  # a negative constant is refused or means something else: not a small change
            new = _fmt(moved) + suffix
            out.append((new, f"{written} → {new}"))
    return [Mutant("number", *where, desc, src.first_line(node.span), ((start, end, new),)) for new, desc in out]


def _operator_offset(node: Any, src: _Text, pattern: str) -> tuple[int, int] | None:
    """Where the operator between the node's two operands is written."""
    left_end = src.span(node.left.span)[1]
    right_start = src.span(node.right.span)[0]
    between = src.text[left_end:right_start]
    found = list(re.finditer(pattern, between))
    if len(found) != 1:
        return None
    return left_end + found[0].start(1), left_end + found[0].end(1)


def mutants(checked: CheckedPolicy, text: str) -> list[Mutant]:
    """Every mutant of the policy's own file (``text``), in source order."""
    src = _Text(text)
    main = checked.header.span.source.name
    roots: list[object] = [checked.params, checked.lets, checked.defers, checked.targets, checked.vetoes,
                           checked.outcomes, [r.lets for r in checked.records.values()],
                           [plan.decl.rules for plan in checked.ledgers]]  # issue #16: the ledgers' rules
    defaults: list[object] = [[d.default for d in checked.facts.values()],
                              [f.default for r in checked.records.values() for f in r.fields]]
    out: list[Mutant] = []
    # Point values are not mutated: a section's targets must add up to its points, so a
    # moved point value never checks.  Nor is a target's only rule dropped (a target
    # needs one).  Both would only cost a load each.
    placements = [p for t in checked.targets for p in t.placements]
    seen: set[int] = {id(n) for p in placements for n in _walk(p.points)}
    point_params = {n.ident for p in placements for n in _walk(p.points) if isinstance(n, ast.Name)}
    seen |= {id(n) for name in point_params if name in checked.params for n in _walk(checked.params[name].value)}
    seen |= {id(t.rules[0]) for t in checked.targets if len(t.rules) == 1}

    def own(node: Any) -> bool:
        span = getattr(node, "span", None)
        return span is not None and span.source.name == main and id(node) not in seen

    for node in _walk(roots):
        if not own(node):
            continue
        seen.add(id(node))
        if isinstance(node, (ast.Number, ast.MoneyLit, ast.PercentLit, ast.DateLit)):
            out.extend(_number_mutants(node, src))
        elif isinstance(node, ast.Compare) and node.op in _FLIP:
            at = _operator_offset(node, src, rf"(?<![<>=!])({re.escape(node.op)})(?![=])")
            if at is not None:
                out.append(Mutant("compare", node.span.line, node.span.column, f"`{node.op}` → `{_FLIP[node.op]}`",
                                  src.first_line(node.span), ((*at, _FLIP[node.op]),)))
        elif isinstance(node, (ast.And, ast.Or)):
            word, other = ("and", "or") if isinstance(node, ast.And) else ("or", "and")
            at = _operator_offset(node, src, rf"(?<![\w])({word})(?![\w])")
            if at is not None:
                out.append(Mutant("junction", node.span.line, node.span.column, f"`{word}` → `{other}`",
                                  src.first_line(node.span), ((*at, other),)))
        elif isinstance(node, ast.BoolLit):
            out.append(_flip(node, src))
        elif isinstance(node, _RULES):
            start, end = src.span(node.span)
            out.append(Mutant("drop", node.span.line, node.span.column, "rule dropped", src.first_line(node.span),
                              ((start, end, ""),)))
        elif isinstance(node, (ast.LedgerExclude, ast.LedgerHandOver, ast.LedgerCharge)):  # issue #16
            start, end = src.span(node.span)
            out.append(Mutant("drop", node.span.line, node.span.column, f"ledger rule {node.name} dropped",
                              src.first_line(node.span), ((start, end, ""),)))
        elif isinstance(node, ast.VetoDecl):
            start, end = src.span(node.span)
            out.append(Mutant("drop", node.span.line, node.span.column, f"veto {node.name} dropped",
                              src.first_line(node.span), ((start, end, ""),)))
            if node.effect is not None:  # the rating effect dropped: the veto becomes 一票否决 (issue #10 A3)
                effect = node.effect
                e_start, e_end = src.span(effect.span)
                out.append(Mutant("drop", effect.span.line, effect.span.column,
                                  f"effect `then {effect.kind}` of veto {node.name} dropped",
                                  src.first_line(effect.span), ((e_start, e_end, ""),)))
    for node in _walk(defaults):
        if isinstance(node, ast.BoolLit) and own(node):
            seen.add(id(node))
            out.append(_flip(node, src))
    out.extend(_band_mutants(checked, src, main))
    out.extend(_requires_mutants(checked, src, main))
    out.extend(_checkpoint_mutants(checked, src, main))
    out.extend(_map_mutants(checked, src, main))
    out.sort(key=lambda m: (m.line, m.column, m.mutation))
    return out


def _map_mutants(checked: CheckedPolicy, src: _Text, main: str) -> list[Mutant]:
    """Each entry of each ``map`` of the policy's own file dropped (issue #16): ``A -> B`` gone, ``A`` maps to nothing."""
    out: list[Mutant] = []
    for decl in checked.maps.values():
        if decl.span.source.name != main:
            continue
        for entry in decl.entries:
            start, end = src.span(entry.span)
            out.append(Mutant("map", entry.span.line, entry.span.column,
                              f"map {decl.name}: entry {entry.key} dropped", src.first_line(entry.span),
                              ((start, end, ""),)))
    return out


def _flip(node: ast.BoolLit, src: _Text) -> Mutant:
    start, end = src.span(node.span)
    old, new = src.text[start:end], ("false" if node.value else "true")
    return Mutant("default", node.span.line, node.span.column, f"`{old}` → `{new}`", src.first_line(node.span),
                  ((start, end, new),))


_BAND = re.compile(r"([\[(])\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*([\])])")


def _band_mutants(checked: CheckedPolicy, src: _Text, main: str) -> list[Mutant]:
    """A band edge moved by one point, for the band above it and the band below it together."""
    out = []
    for plan in checked.plans.values():
        bands = sorted(plan.bands, key=lambda b: b.low)
        for lower, upper in zip(bands, bands[1:], strict=False):
            if upper.span.source.name != main or lower.span.source.name != main:
                continue
            up, low = (_BAND.search(src.text, *src.span(b.span)) for b in (upper, lower))
            if up is None or low is None:
                continue
            for sign in (1, -1):
                new = _fmt(Decimal(up.group(2)) + sign)
                out.append(Mutant("number", upper.span.line, upper.span.column,
                                  f"band edge {up.group(2)} → {new} (and the band below)", src.first_line(upper.span),
                                  ((up.start(2), up.end(2), new), (low.start(3), low.end(3), new))))
    unique = {(m.line, m.mutation): m for m in out}  # a bands block shared by categories appears once
    return list(unique.values())


def _requires_mutants(checked: CheckedPolicy, src: _Text, main: str) -> list[Mutant]:
    """A band's ``requires COND`` dropped (issue #10 A3): the band no longer asks anything."""
    out = []
    for plan in checked.plans.values():
        for band in plan.bands:
            condition = band.requires
            if condition is None or condition.span.source.name != main:
                continue
            start, end = src.span(condition.span)
            keyword = src.text.rfind("requires", 0, start)
            if keyword < 0:
                continue
            out.append(Mutant("drop", band.span.line, band.span.column, f"`requires` of band {band.rating} dropped",
                              src.first_line(band.span), ((keyword, end, ""),)))
    unique = {(m.line, m.mutation): m for m in out}  # a bands block shared by categories appears once
    return list(unique.values())


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _checkpoint_mutants(checked: CheckedPolicy, src: _Text, main: str) -> list[Mutant]:
    """The date a rule reads (a due date, or the end of a period) one day earlier or later.

    Only checkpoints some expression reads, and only their last day (what an expression
    sees): the other dates are for people and cannot change a result.
    """
    read = {res.name for res in checked.resolutions.values() if res.kind == "checkpoint"}
    out = []
    for checkpoint in checked.checkpoints.values():
        if checkpoint.span.source.name != main or checkpoint.name not in read:
            continue
        start, end = src.span(checkpoint.span)
        for found in _DATE.finditer(src.text, start, end):
            day = datetime.date.fromisoformat(found.group())
            if day != checkpoint.end:
                continue
            for days in (1, -1):
                new = (day + datetime.timedelta(days=days)).isoformat()
                out.append(Mutant("number", checkpoint.span.line, checkpoint.span.column, f"{found.group()} → {new}",
                                  src.first_line(checkpoint.span), ((found.start(), found.end(), new),)))
    return out


# ------------------------------------------------------------- running them
def read_equivalents(path: Path) -> list[Equivalent]:
    """The allow-list beside the test file (empty when there is none)."""
    if not path.is_file():
        return []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MutantFileError(f"{path}: cannot read the list of equivalent mutants: {exc}") from None
    out = []
    for index, entry in enumerate(doc.get("equivalent", [])):
        where = f"{path}: entry {index + 1}"
        if not isinstance(entry, dict) or set(entry) - {"at", "mutation", "reason", "text"}:
            raise MutantFileError(f"{where}: an entry holds at, mutation, reason (and optionally text)")
        at, mutation, reason = entry.get("at"), entry.get("mutation"), entry.get("reason")
        match = re.fullmatch(r"(\d+):(\d+)", at) if isinstance(at, str) else None
        if match is None or not isinstance(mutation, str):
            raise MutantFileError(f"{where}: say which mutant, as the report shows it: "
                                  "at = \"LINE:COLUMN\" and mutation = \"`>=` → `>`\"")
        if not isinstance(reason, str) or not reason.strip():
            raise MutantFileError(f"{where}: an equivalent mutant needs a written reason (reason = \"…\")")
        out.append(Equivalent(int(match.group(1)), int(match.group(2)), mutation, reason.strip()))
    return out


def _killed(policy: Policy, cases: Sequence[tuple[Case | CohortCase, Path]]) -> bool:
    """Whether some case fails on ``policy``; a cohort case (issue #11) fails when any of its units does.

    A cohort policy's rules on ``rank`` are decided only in a batch: without its ``[[cohort]]``
    cases a mutant of such a rule would survive every plain case.
    """
    from .casefile import CohortCase, run_case, run_cohort

    for case, path in cases:
        if isinstance(case, CohortCase):
            if any(not outcome.ok for outcome in run_cohort(policy, case, path)):
                return True
        elif not run_case(policy, case, path).ok:
            return True
    return False


def check_mutants(policy_path: Path, policy: Policy, cases: Sequence[tuple[Case | CohortCase, Path]],
                  equivalents: Sequence[Equivalent] = (),
                  select: Callable[[Sequence[Mutant]], Sequence[Mutant]] | None = None) -> MutationReport:
    """Run every mutant of the policy at ``policy_path`` against ``cases`` (which must pass on the policy).

    ``select`` picks the mutants to run from all of them (a test runs a sample); entries
    of ``equivalents`` that match no selected mutant are then not called stale.
    """
    from ..errors import PolicyError
    from ..policy import load_source
    from ..source import read_policy_file

    shown = display_path(str(policy_path))
    started = time.perf_counter()
    if not cases:
        return MutationReport(shown, 0, 0, 0, (), (), (), (), 0.0, "no cases to run the mutants against")
    if _killed(policy, cases):
        return MutationReport(shown, len(cases), 0, 0, (), (), (), (), 0.0,
                              "some cases fail on the policy itself: fix them before checking mutants")
    text = read_policy_file(policy_path)
    name = policy.checked.header.span.source.name
    found = mutants(policy.checked, text)
    if select is not None:
        found = list(select(found))
        chosen = {m.key for m in found}
        equivalents = [e for e in equivalents if (e.line, e.column, e.mutation) in chosen]
    invalid = 0
    killed: list[Mutant] = []
    survivors: list[Mutant] = []
    for mutant in found:
        try:
            mutated = load_source(SourceFile(name, mutant.apply(text)), policy_path.parent)
        except PolicyError:
            invalid += 1
            continue
        (killed if _killed(mutated, cases) else survivors).append(mutant)
    listed = {(e.line, e.column, e.mutation): e for e in equivalents}
    equivalent = [(m, listed[m.key].reason) for m in survivors if m.key in listed]
    used = {m.key for m, _ in equivalent}
    return MutationReport(shown, len(cases), len(found), invalid, tuple(killed),
                          tuple(m for m in survivors if m.key not in used), tuple(equivalent),
                          tuple(e for key, e in listed.items() if key not in used), time.perf_counter() - started)


def mutation_reports(paths: Sequence[Path],
                     select: Callable[[Sequence[Mutant]], Sequence[Mutant]] | None = None) -> list[MutationReport]:
    """One report per policy tested by the test files ``paths`` (cases of all its files together)."""
    from ..errors import PolicyError
    from ..policy import load
    from .casefile import CaseFileError, load_casefile

    groups: dict[Path, list[tuple[Case | CohortCase, Path]]] = {}
    lists: dict[Path, list[Equivalent]] = {}
    errors: list[MutationReport] = []
    for path in paths:
        try:
            casefile = load_casefile(path)
        except CaseFileError as exc:
            errors.append(MutationReport(str(path), 0, 0, 0, (), (), (), (), 0.0, str(exc)))
            continue
        group = groups.setdefault(casefile.policy_path, [])
        group.extend((case, path) for case in casefile.cases)
        group.extend((cohort, path) for cohort in casefile.cohorts)  # issue #11: batches kill mutants too
        allow = path.parent / (casefile.policy_path.stem + ".mutants.toml")
        try:
            lists.setdefault(casefile.policy_path, read_equivalents(allow))
        except MutantFileError as exc:
            errors.append(MutationReport(str(allow), 0, 0, 0, (), (), (), (), 0.0, str(exc)))
    reports = []
    for policy_path, cases in groups.items():
        try:
            policy = load(policy_path)
        except PolicyError as exc:
            reports.append(MutationReport(display_path(str(policy_path)), len(cases), 0, 0, (), (), (), (), 0.0,
                                          "the policy does not load:\n" + exc.render()))
            continue
        reports.append(check_mutants(policy_path, policy, cases, lists.get(policy_path, []), select))
    return errors + reports
