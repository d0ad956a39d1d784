"""Policy test files: cases a domain expert reads and writes next to the policy.

A test file is TOML (``policies/karamay-2013.tests.toml`` next to
``policies/karamay-2013.kh``)::

    policy = "karamay-2013.kh"          # default: the .kh file of the same stem
    units = "karamay-2013/units.json"   # optional: cases may start from these units
    bases_from = "other.tests.toml"     # optional: reuse another file's bases (next year's file)

    [base."满分企业"]                   # a named starting point
    category = "企业"
    facts = { "落实一岗双责" = true, "开会季度数" = 4, ... }

    [[case]]
    name = "一起一般事故：控制指标扣 18 分"
    from = "满分企业"                   # a base, or the id of a unit of the units file
    facts = { "事故" = [ { "日期" = 2013-05-01, ... } ] }   # replaces these facts
    unset = ["履职报告日期"]             # leaves these facts out
    add = { "预扣分记录" = [ ... ] }     # appends to list facts
    expect = { score = 582, band = "优秀", rating = "优秀", vetoes = [] }

``expect`` may hold ``score``, ``band``, ``rating`` (name or label), ``vetoed``,
``vetoes``, ``excepted`` and ``deferred`` (names, compared as sets), ``money``
(``total`` and item names → amounts), ``sanctions``, ``targets`` and
``sections`` (name → score), ``reported`` (reported let → value), ``periods`` (period →
``{ score = …, rating = … }``, issue #11 P) and ``rejected`` (facts the policy must refuse).  ``sanctions`` and the item names of ``money`` include
the outcomes for every rating (``outcome { … }``); ``money.total`` is the rating's own.
Only what is written is checked.

A policy with a cohort block (issue #11 C) ranks units across a batch; its cases are
``[[cohort]]`` tables — units assessed together, expectations per unit id::

    [[cohort]]
    name = "前两名评为先进，优秀不超过40%"
    units = [ { id = "A", from = "满分县区", facts = { "扣分" = 5 } },
              { id = "B", category = "县区", facts = { "扣分" = 8 } } ]
    expect.A = { rank = 1, rating = "优秀", money = { "先进" = 1000 } }
    expect.B = { rank = 2, rating = "良好", provisional = false }

Each unit is written like a case (``from``, ``category``, ``facts``, ``unset``, ``add``)
with its ``id``; an expectation takes every ``expect`` key plus ``rank`` (a number, or
``"none"`` for a unit that is not ranked) and ``provisional`` (true or false).  A plain
``[[case]]`` of a cohort policy assesses its unit alone (provisional: no rank, no quota).

A policy with ledgers (issue #16) attributes each event over a batch: its cases are
``[[batch]]`` tables (units assessed together, as ``[[cohort]]`` but for any policy; a
``[[cohort]]`` takes the same keys), carrying the ledgers and what each unit is charged::

    [[batch]]
    name = "开发区的道路交通事故计入对口区"
    units = [ { id = "TTH", category = "区县", facts = { 辖区 = "头屯河区" } } ]
    ledgers = { 事故台账 = [ { 编号 = "A-17", 类型 = "道路交通", 发生地 = "经济技术开发区", 死亡人数 = 2 } ] }
    expect.TTH = { charged = ["A-17"], score = 60 }
    unattributed = []                    # the events no unit was charged (keys, or rows)
    excluded = []  handed_over = []      # the events an exclude / hand over rule removed

``charged`` lists the events charged to the unit by key (the ledger's ``key`` field), or by
row number (1-based) for a ledger without a key; compared as sets.
Coverage tells which bands, vetoes, veto
exceptions, deferrals, targets and rules the cases exercised, and which never.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import FactError, KaoheError, PolicyError
from ..runtime.result import plain
from ..source import UnreadablePolicy, read_policy_file

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result

SUFFIX = ".tests.toml"
_FILE_KEYS = {"policy", "units", "base", "case", "title", "note", "bases_from", "cohort", "batch"}
#: issue #16: the batch-level expectations on a ledger's events (keys, or rows)
_EVENT_KEYS = {"unattributed", "excluded", "handed_over"}
_COHORT_KEYS = {"name", "units", "expect", "note", "ledgers"} | _EVENT_KEYS
_COHORT_EXPECT_KEYS = {"rank", "provisional", "charged"}
_ENTRY_KEYS = {"category", "from", "facts", "unset", "add", "note"}
_CASE_KEYS = _ENTRY_KEYS | {"name", "id", "expect"}
_EXPECT_KEYS = {"score", "band", "rating", "vetoed", "vetoes", "excepted", "deferred", "money", "sanctions",
                "targets", "sections", "rejected", "reported", "periods"}


class CaseFileError(KaoheError):
    """A test file cannot be read: bad TOML, an unknown key, a ``from`` that names nothing."""


@attrs.frozen
class Expect:
    score: Decimal | None = None
    band: str | None = None
    rating: str | None = None
    vetoed: bool | None = None
    vetoes: frozenset[str] | None = None
    excepted: frozenset[str] | None = None
    deferred: frozenset[str] | None = None
    money: tuple[tuple[str, Decimal], ...] | None = None
    sanctions: frozenset[str] | None = None
    targets: tuple[tuple[str, Decimal], ...] = ()
    sections: tuple[tuple[str, Decimal], ...] = ()
    rejected: frozenset[str] | None = None
    reported: tuple[tuple[str, object], ...] = ()  # issue #10: ``let … report`` name → value
    # issue #11 P: period name → (score, rating) as written (None: not checked)
    periods: tuple[tuple[str, Decimal | None, str | None], ...] = ()
    rank: str | None = None  # issue #11 C, cohort cases: the rank ("3"), or "none" for a unit not ranked
    provisional: bool | None = None  # issue #11 C, cohort cases: whether the result is provisional
    charged: frozenset[str] | None = None  # issue #16, batch cases: the events charged (keys, or rows as text)


@attrs.frozen
class Case:
    name: str
    index: int
    line: int | None
    unit: dict[str, Any]
    expect: Expect
    origin: str | None  # the base or unit it starts from

    def where(self, path: Path) -> str:
        return f"{path}:{self.line}" if self.line else str(path)


@attrs.frozen
class CohortCase:
    """``[[cohort]]``: units assessed together (issue #11 C), with expectations per unit id."""

    name: str
    index: int
    line: int | None
    units: tuple[dict[str, Any], ...]
    expects: tuple[tuple[str, Expect], ...]  # unit id -> what its result must show
    # issue #16: a [[batch]] (or [[cohort]]) with ledgers: the events per ledger, and what became of them
    kind: str = "cohort"  # "cohort" or "batch"
    ledgers: Mapping[str, tuple[dict[str, Any], ...]] | None = None
    events: tuple[tuple[str, frozenset[str]], ...] = ()  # ("unattributed" | "excluded" | "handed_over", keys)

    def where(self, path: Path) -> str:
        return f"{path}:{self.line}" if self.line else str(path)


@attrs.frozen
class CaseFile:
    path: Path
    policy_path: Path
    title: str | None
    cases: tuple[Case, ...]
    cohorts: tuple[CohortCase, ...] = ()


@attrs.frozen
class Mismatch:
    what: str
    expected: str
    actual: str


@attrs.frozen
class CaseOutcome:
    case: Case
    path: Path
    mismatches: tuple[Mismatch, ...]
    error: str | None
    result: Result | None

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.error is None

    @property
    def status(self) -> str:
        return "passed" if self.ok else "error" if self.error and not self.mismatches else "failed"

    def render(self, explain: bool = True) -> str:
        """A failure as a person reads it: what was expected, what came out, and why."""
        head = f"FAILED {self.case.name}  ({self.case.where(self.path)})"
        lines = [head]
        if self.error:
            lines.append(f"  {self.error}")
        if self.mismatches:
            from ..reports.table import display_width, pad

            width = max(display_width(m.what) for m in self.mismatches)
            ew = max(display_width("expected"), *(display_width(m.expected) for m in self.mismatches))
            lines.append(f"  {pad('', width)}  {pad('expected', ew)}  actual")
            for m in self.mismatches:
                lines.append(f"  {pad(m.what, width)}  {pad(m.expected, ew)}  {m.actual}")
        if explain and self.result is not None:
            lines.append("")
            lines.extend("  " + line for line in self.result.explain(full=False).splitlines())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {"case": self.case.name, "file": str(self.path), "line": self.case.line, "status": self.status,
                "error": self.error, "mismatches": [attrs.asdict(m) for m in self.mismatches],
                "result": self.result.to_dict() if self.result is not None else None}


# ------------------------------------------------------------------ loading
def find_casefiles(paths: Iterable[str | Path]) -> list[Path]:
    """Every ``*.tests.toml`` named, or under the directories named (sorted)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*" + SUFFIX) if p.is_file()))
        elif path.is_file():
            out.append(path)
        else:
            raise CaseFileError(f"no such file or directory: {path}")
    return out


def load_casefile(path: str | Path) -> CaseFile:
    """Read a test file and resolve every case to a unit; raises :class:`CaseFileError`."""
    path = Path(path)
    try:  # a regular file, size-capped: a test file named /dev/zero or a FIFO must not stall
        text = read_policy_file(path)
    except UnreadablePolicy as exc:
        raise CaseFileError(f"{path}: cannot read the test file ({exc.reason})") from None
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise CaseFileError(f"{path}: not valid TOML: {exc}") from None
    except (RecursionError, ValueError, ArithmeticError):
        raise CaseFileError(f"{path}: the test file nests too deeply or holds a number beyond the range kaohe "
                            "reads (docs/limits.md)") from None
    _no_unknown(doc, _FILE_KEYS, f"{path}", "the file")
    policy_name = doc.get("policy", path.name[: -len(SUFFIX)] + ".kh" if path.name.endswith(SUFFIX) else None)
    if not isinstance(policy_name, str):
        raise CaseFileError(f"{path}: say which policy the cases test: policy = \"name.kh\"")
    policy_path = (path.parent / policy_name).resolve()
    bases, units = _imported(path, doc.get("bases_from"), ())
    units.update(_units(path, doc.get("units")))
    own = doc.get("base", {})
    if not isinstance(own, dict):
        raise CaseFileError(f"{path}: [base.NAME] tables expected")
    bases.update(own)
    resolver = _Resolver(path, bases, units)
    cases = []
    for index, entry, line, where, name in _named_tables(path, text, doc.get("case", []), "case", _CASE_KEYS):
        category, facts = resolver.resolve(entry, where, ())
        unit_id = entry.get("id", f"case-{index + 1}")
        unit = {"id": str(unit_id), "name": name, "category": category, "facts": facts}
        expect = _expect(entry.get("expect", {}), where)
        origin = entry.get("from")
        cases.append(Case(name, index, line, unit, expect, origin if isinstance(origin, str) else None))
    title = doc.get("title")
    cohorts = _cohort_cases(path, text, doc.get("cohort", []), resolver)
    cohorts += _cohort_cases(path, text, doc.get("batch", []), resolver, "batch")  # issue #16: with ledgers
    return CaseFile(path, policy_path, title if isinstance(title, str) else None, tuple(cases), cohorts)


def _named_tables(path: Path, text: str, raw: object, key: str,
                  allowed: set[str]) -> Iterator[tuple[int, dict[str, Any], int | None, str, str]]:
    """The ``[[key]]`` tables of a test file, each with its index, line, "file:line" and name.

    Every one must be a table with a name and only the keys ``allowed``; the message says where.
    """
    what = "a case" if key == "case" else f"a {key} case"
    if not isinstance(raw, list):
        raise CaseFileError(f"{path}: {what[2:]}s are written [[{key}]]")
    pattern = re.compile(rf"\s*\[\[\s*{key}\s*\]\]")
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if pattern.match(line)]
    for index, entry in enumerate(raw):
        line = lines[index] if index < len(lines) else None
        where = f"{path}:{line}" if line else str(path)
        if not isinstance(entry, dict):
            raise CaseFileError(f"{where}: {what} is a table")
        _no_unknown(entry, allowed, where, what)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CaseFileError(f"{where}: every {what[2:]} needs a name = \"...\"")
        yield index, entry, line, where, name


def _cohort_cases(path: Path, text: str, raw: object, resolver: _Resolver, key: str = "cohort") -> tuple[CohortCase, ...]:
    """The ``[[cohort]]`` (issue #11 C) or ``[[batch]]`` (issue #16) tables: each unit resolved like a case,
    expectations by unit id, and the ledgers of the batch."""
    out = []
    for index, entry, line, where, name in _named_tables(path, text, raw, key, _COHORT_KEYS):
        rows = entry.get("units")
        if not isinstance(rows, list) or not rows:
            raise CaseFileError(f"{where}: units = [ {{ id = \"...\", ... }}, ... ] lists the units assessed together")
        units: list[dict[str, Any]] = []
        for number, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise CaseFileError(f"{where}: unit {number} of the cohort is a table")
            _no_unknown(row, _ENTRY_KEYS | {"id", "name"}, f"{where}: unit {number}", "a cohort unit")
            unit_id = row.get("id")
            if not isinstance(unit_id, str) or not unit_id:
                raise CaseFileError(f"{where}: unit {number} of the cohort needs an id = \"...\"")
            category, facts = resolver.resolve(row, f"{where}: unit {unit_id}", ())
            shown = row.get("name")
            units.append({"id": unit_id, "name": shown if isinstance(shown, str) else unit_id, "category": category,
                          "facts": facts})
        ids = [u["id"] for u in units]
        expects_raw = entry.get("expect", {})
        if not isinstance(expects_raw, dict):
            raise CaseFileError(f"{where}: expect.ID = {{ ... }} gives what each unit's result must show")
        expects = []
        for unit_id, wanted in expects_raw.items():
            if unit_id not in ids:
                import difflib

                match = difflib.get_close_matches(unit_id, ids, n=1)
                raise CaseFileError(f"{where}: expect.{unit_id} names no unit of the cohort"
                                    + (f" (did you mean {match[0]!r}?)" if match else f"; units: {', '.join(ids)}"))
            expects.append((str(unit_id), _cohort_expect(wanted, f"{where}: expect.{unit_id}")))
        ledgers = _case_ledgers(entry.get("ledgers"), where)
        events = tuple((k, _event_names(entry[k], f"{where}: {k}")) for k in sorted(_EVENT_KEYS) if k in entry)
        if events and ledgers is None:
            raise CaseFileError(f"{where}: {events[0][0]} says what became of the events of ledgers = {{ ... }},"
                                " and this case gives none")
        out.append(CohortCase(name, index, line, tuple(units), tuple(expects), key, ledgers, events))
    return tuple(out)


def _case_ledgers(raw: object, where: str) -> dict[str, tuple[dict[str, Any], ...]] | None:
    """``ledgers = { 事故台账 = [ { … }, … ] }``: each ledger a list of events (tables), in ledger order."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CaseFileError(f"{where}: ledgers = {{ NAME = [ {{ ... }}, ... ] }} gives each ledger's events")
    out = {}
    for name, events in raw.items():
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise CaseFileError(f"{where}: ledgers.{name} is a list of events, each a table {{ field = value, ... }}")
        out[str(name)] = tuple(copy.deepcopy(e) for e in events)
    return out


def _event_names(raw: object, where: str) -> frozenset[str]:
    """Events named by key (text) or by row (a number from 1), as ``charged`` and ``unattributed`` take them."""
    if not isinstance(raw, list) or not all(
            isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool) and v >= 1) for v in raw):
        raise CaseFileError(f"{where}: a list of events, each by its key (\"A-17\") or its row (3)")
    return frozenset(str(v) for v in raw)


def _cohort_expect(raw: object, where: str) -> Expect:
    """A unit's expectation in a cohort case: the case keys, and ``rank`` and ``provisional``."""
    if not isinstance(raw, dict):
        raise CaseFileError(f"{where}: is a table, e.g. {{ rank = 1, rating = \"优秀\" }}")
    _no_unknown(raw, _EXPECT_KEYS | _COHORT_EXPECT_KEYS, where, "expect")
    rank = raw.get("rank")
    if rank is not None and not (rank == "none" or (isinstance(rank, int) and not isinstance(rank, bool) and rank >= 1)):
        raise CaseFileError(f"{where}: rank is a number from 1, or \"none\" for a unit that is not ranked")
    provisional = raw.get("provisional")
    if provisional is not None and not isinstance(provisional, bool):
        raise CaseFileError(f"{where}: provisional is true or false")
    charged = _event_names(raw["charged"], f"{where}.charged") if "charged" in raw else None
    base = _expect({k: v for k, v in raw.items() if k not in _COHORT_EXPECT_KEYS}, where)
    return attrs.evolve(base, rank=None if rank is None else str(rank), provisional=provisional, charged=charged)


def _imported(path: Path, names: object, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The bases (and units) of the test files named by ``bases_from``: next year's file reuses last year's."""
    if names is None:
        return {}, {}
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CaseFileError(f"{path}: bases_from = \"other.tests.toml\" (or a list of files)")
    bases: dict[str, Any] = {}
    units: dict[str, dict[str, Any]] = {}
    for name in names:
        other = (path.parent / name).resolve()
        if other in chain or other == path.resolve():
            raise CaseFileError(f"{path}: bases_from {name!r} comes back to a file already read")
        try:
            doc = tomllib.loads(other.read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CaseFileError(f"{path}: cannot read bases_from {name!r}: {exc}") from None
        more_bases, more_units = _imported(other, doc.get("bases_from"), chain + (path.resolve(),))
        bases.update(more_bases)
        units.update(more_units)
        units.update(_units(other, doc.get("units")))
        own = doc.get("base", {})
        if isinstance(own, dict):
            bases.update(own)
    return bases, units


def _units(path: Path, name: object) -> dict[str, dict[str, Any]]:
    if name is None:
        return {}
    if not isinstance(name, str):
        raise CaseFileError(f"{path}: units = \"file\" names a units file")
    from ..unitio import read_units

    out: dict[str, dict[str, Any]] = {}
    try:
        for row in read_units(path.parent / name):
            unit_id = row.unit.get("id") if row.unit is not None else None
            if row.unit is not None and isinstance(unit_id, str):
                out[unit_id] = dict(row.unit)
    except (KaoheError, OSError) as exc:
        raise CaseFileError(f"{path}: cannot read units {name!r}: {exc}") from None
    return out


def _no_unknown(table: Mapping[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        import difflib

        hints = []
        for key in unknown:
            match = difflib.get_close_matches(key, sorted(allowed), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {match[0]!r}?)" if match else ""))
        raise CaseFileError(f"{where}: unknown key(s) in {what}: {', '.join(hints)}; allowed: {', '.join(sorted(allowed))}")


class _Resolver:
    """Resolves ``from`` chains: a case starts from a base, which may start from a unit or another base."""

    def __init__(self, path: Path, bases: dict[str, Any], units: dict[str, dict[str, Any]]) -> None:
        self.path = path
        self.bases = bases
        self.units = units

    def resolve(self, entry: Mapping[str, Any], where: str, chain: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
        origin = entry.get("from")
        category: object = None
        facts: dict[str, Any] = {}
        if origin is not None:
            if not isinstance(origin, str):
                raise CaseFileError(f"{where}: from = \"...\" names a base or a unit")
            if origin in chain:
                raise CaseFileError(f"{where}: base {origin!r} starts from itself ({' → '.join(chain + (origin,))})")
            if origin in self.bases:
                base = self.bases[origin]
                if not isinstance(base, dict):
                    raise CaseFileError(f"{self.path}: [base.{origin}] must be a table")
                _no_unknown(base, _ENTRY_KEYS, f"{self.path}: [base.{origin}]", "a base")
                category, facts = self.resolve(base, f"{self.path}: [base.{origin}]", chain + (origin,))
            elif origin in self.units:
                unit = self.units[origin]
                category = unit.get("category")
                raw = unit.get("facts", {k: v for k, v in unit.items() if k not in ("id", "name", "category")})
                facts = copy.deepcopy(dict(raw)) if isinstance(raw, Mapping) else {}
            else:
                options = sorted(self.bases) + sorted(self.units)
                raise CaseFileError(f"{where}: from = {origin!r} names no base and no unit"
                                    + (f"; known: {', '.join(options)}" if options else ""))
        if "category" in entry:
            category = entry["category"]
        if not isinstance(category, str):
            raise CaseFileError(f"{where}: say the unit's category = \"...\" (or start from a base that does)")
        changes = entry.get("facts", {})
        if not isinstance(changes, dict):
            raise CaseFileError(f"{where}: facts = {{ ... }} is a table of fact names to values")
        facts.update(copy.deepcopy(changes))
        unset = entry.get("unset", [])
        if not isinstance(unset, list) or not all(isinstance(u, str) for u in unset):
            raise CaseFileError(f"{where}: unset = [\"fact\", ...] lists fact names")
        for name in unset:
            facts.pop(name, None)
        add = entry.get("add", {})
        if not isinstance(add, dict):
            raise CaseFileError(f"{where}: add = {{ list_fact = [ ... ] }} appends items to list facts")
        for name, items in add.items():
            if not isinstance(items, list):
                raise CaseFileError(f"{where}: add.{name} must be a list of items to append")
            current = facts.get(name, [])
            facts[name] = list(current if isinstance(current, list) else []) + copy.deepcopy(items)
        return category, facts


def _expect(raw: object, where: str) -> Expect:
    if not isinstance(raw, dict):
        raise CaseFileError(f"{where}: expect = {{ ... }} is a table")
    _no_unknown(raw, _EXPECT_KEYS, where, "expect")

    def names(key: str) -> frozenset[str] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CaseFileError(f"{where}: expect.{key} is a list of names")
        return frozenset(value)

    def scores(key: str) -> tuple[tuple[str, Decimal], ...]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise CaseFileError(f"{where}: expect.{key} is a table of names to scores")
        return tuple((str(k), _number(v, f"{where}: expect.{key}.{k}")) for k, v in value.items())

    money = raw.get("money")
    if money is not None and not isinstance(money, dict):
        raise CaseFileError(f"{where}: expect.money is a table: total and item names to amounts")
    for key in ("band", "rating"):
        if key in raw and not isinstance(raw[key], str):
            raise CaseFileError(f"{where}: expect.{key} is a rating name")
    if "vetoed" in raw and not isinstance(raw["vetoed"], bool):
        raise CaseFileError(f"{where}: expect.vetoed is true or false")
    reported = raw.get("reported", {})
    if not isinstance(reported, dict) or not all(isinstance(v, (bool, int, str, Decimal)) for v in reported.values()):
        raise CaseFileError(f"{where}: expect.reported is a table of reported lets to values (numbers, true/false, names)")
    return Expect(
        score=_number(raw["score"], f"{where}: expect.score") if "score" in raw else None,
        band=raw.get("band"), rating=raw.get("rating"), vetoed=raw.get("vetoed"),
        vetoes=names("vetoes"), excepted=names("excepted"), deferred=names("deferred"),
        money=tuple((str(k), _number(v, f"{where}: expect.money.{k}")) for k, v in money.items()) if money is not None else None,
        sanctions=names("sanctions"), targets=scores("targets"), sections=scores("sections"), rejected=names("rejected"),
        reported=tuple((str(k), v) for k, v in reported.items()),
        periods=_periods(raw.get("periods", {}), where),
    )


def _periods(value: object, where: str) -> tuple[tuple[str, Decimal | None, str | None], ...]:
    """``periods = { 一季度 = { score = 97, rating = "优秀" } }`` (issue #11 P): each period's score and rating."""
    if not isinstance(value, dict):
        raise CaseFileError(f"{where}: expect.periods is a table of periods to {{ score = …, rating = … }}")
    out: list[tuple[str, Decimal | None, str | None]] = []
    for name, expected in value.items():
        if not isinstance(expected, dict) or not set(expected) <= {"score", "rating"} or not expected:
            raise CaseFileError(f"{where}: expect.periods.{name} is a table with score and/or rating")
        rating = expected.get("rating")
        if rating is not None and not isinstance(rating, str):
            raise CaseFileError(f"{where}: expect.periods.{name}.rating is a rating name")
        score = _number(expected["score"], f"{where}: expect.periods.{name}.score") if "score" in expected else None
        out.append((str(name), score, rating))
    return tuple(out)


def _number(value: object, where: str) -> Decimal:
    if isinstance(value, bool):
        raise CaseFileError(f"{where}: {value!r} is not a number")
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        factor = Decimal(1)
        if text.endswith("万元"):
            text, factor = text[:-2], Decimal(10000)
        elif text.endswith("元"):
            text = text[:-1]
        try:
            return Decimal(text) * factor
        except InvalidOperation:
            pass
    raise CaseFileError(f"{where}: {value!r} is not a number")


# ------------------------------------------------------------------ running
def run_case(policy: Policy, case: Case, path: Path, *, trace: bool = False) -> CaseOutcome:
    """Assess the case's unit and compare with what the case expects."""
    expect = case.expect
    try:
        if policy.cohort is not None:  # a unit of a cohort policy alone: provisional (no rank, no quota)
            result = policy.evaluate(case.unit, trace=trace, provisional=True)
        else:
            result = policy.evaluate(case.unit, trace=trace)
    except FactError as exc:
        bad = frozenset(p.fact.split("[", 1)[0].split(".", 1)[0] for p in exc.problems)
        if expect.rejected is not None:
            if bad == expect.rejected:
                return CaseOutcome(case, path, (), None, None)
            return CaseOutcome(case, path, (Mismatch("rejected", _set(expect.rejected), _set(bad)),), None, None)
        return CaseOutcome(case, path, (), "the unit was not assessed: " + "; ".join(p.render() for p in exc.problems), None)
    except KaoheError as exc:
        return CaseOutcome(case, path, (), f"the unit was not assessed: {exc}", None)
    return CaseOutcome(case, path, tuple(compare(policy, expect, result)), None, result)


def compare(policy: Policy, expect: Expect, result: Result) -> list[Mismatch]:
    """Every difference between what a case expects and the result."""
    out: list[Mismatch] = []
    checked = policy.checked
    if expect.rejected is not None:
        out.append(Mismatch("rejected", _set(expect.rejected), "accepted"))
    if expect.score is not None and expect.score != result.score:
        out.append(Mismatch("score", plain(expect.score), plain(result.score)))
    for what, wanted, actual in (("band", expect.band, result.band), ("rating", expect.rating, result.rating)):
        if wanted is not None and _rating_name(checked, wanted) != actual:
            out.append(Mismatch(what, wanted, f"{actual} ({checked.rating_label(actual)})" if actual else "none"))
    if expect.vetoed is not None and expect.vetoed != result.vetoed:
        out.append(Mismatch("vetoed", str(expect.vetoed).lower(), str(result.vetoed).lower()))
    for what, wanted_set, actual_set in (
        ("vetoes", expect.vetoes, frozenset(v.name for v in result.vetoes)),
        ("excepted", expect.excepted, frozenset(v.name for v in result.excepted)),
        ("deferred", expect.deferred, frozenset(d.name for d in result.deferred)),
        ("sanctions", expect.sanctions, frozenset(i.name for c in (result.consequences, *result.general_consequences)
                                                  for i in c.sanctions)),
    ):
        if wanted_set is not None and wanted_set != actual_set:
            out.append(Mismatch(what, _set(wanted_set), _set(actual_set)))
    if expect.money is not None:
        c = result.consequences
        amounts = {i.name: i.amount for g in reversed(result.general_consequences) for i in g.items
                   if i.amount is not None}
        amounts.update({i.name: i.amount for i in c.items if i.amount is not None})  # the rating's own first
        for name, wanted_amount in expect.money:
            actual_amount = c.total if name == "total" else amounts.get(name)
            if actual_amount is None:
                out.append(Mismatch(f"money.{name}", _yuan(wanted_amount), "no such item"))
            elif actual_amount != wanted_amount:
                out.append(Mismatch(f"money.{name}", _yuan(wanted_amount), _yuan(actual_amount)))
    targets = {t.name: t.score for t in result.targets}
    for name, wanted_score in expect.targets:
        got = targets.get(name)
        if got is None or got != wanted_score:
            out.append(Mismatch(f"target {name}", plain(wanted_score), "not assessed" if got is None else plain(got)))
    reported = result.reported if expect.reported else {}
    for name, wanted_value in expect.reported:
        if name not in reported:
            out.append(Mismatch(f"reported {name}", _shown(wanted_value), "not reported"))
        elif not _same_value(wanted_value, reported[name].value):
            out.append(Mismatch(f"reported {name}", _shown(wanted_value), _shown(reported[name].value)))
    periods = {p.name: p for p in result.periods}
    for name, period_score, wanted_rating in expect.periods:  # issue #11 P
        period = periods.get(name)
        if period is None:
            out.append(Mismatch(f"period {name}", "a period", "no such period"))
            continue
        if period_score is not None and period_score != period.score:
            out.append(Mismatch(f"period {name} score", plain(period_score), plain(period.score)))
        if wanted_rating is not None and _rating_name(checked, wanted_rating) != period.rating:
            out.append(Mismatch(f"period {name} rating", wanted_rating, period.rating))
    sections = {key: s.score for key, s in result.sections.items()}
    for name, wanted_score in expect.sections:
        got = sections.get(name)
        if got is None or got != wanted_score:
            out.append(Mismatch(f"section {name}", plain(wanted_score), "no such section" if got is None else plain(got)))
    if expect.rank is not None:  # issue #11 C
        standing = result.standing
        actual_rank = "none" if standing is None or standing.rank is None else str(standing.rank)
        if actual_rank != expect.rank:
            out.append(Mismatch("rank", expect.rank, actual_rank))
    if expect.provisional is not None and expect.provisional != (result.provisional is not None):
        out.append(Mismatch("provisional", str(expect.provisional).lower(),
                            f"true ({result.provisional})" if result.provisional else "false"))
    if expect.charged is not None:  # issue #16: the events charged to the unit, by key or row
        charged = frozenset(c.event.key if c.event.key is not None else str(c.event.row)
                            for c in getattr(result, "charged", ()))
        if charged != expect.charged:
            out.append(Mismatch("charged", _set(expect.charged), _set(charged)))
    return out


def run_cohort(policy: Policy, cohort: CohortCase, path: Path, *, trace: bool = False) -> list[CaseOutcome]:
    """Assess a cohort case's units together; one outcome per expected unit (named ``cohort name: id``).

    A ``[[batch]]`` case (issue #16) assesses them with ``evaluate_many`` (a cohort policy still ranks
    them), both with the case's ledgers; the events' fate (``unattributed`` …) is one more outcome.
    """
    units = list(cohort.units)
    events = {k: list(v) for k, v in cohort.ledgers.items()} if cohort.ledgers is not None else None
    if events is None:
        items = (policy.evaluate_cohort(units, trace=trace) if cohort.kind == "cohort" or policy.cohort is not None
                 else list(policy.evaluate_many(units, trace=trace)))
    else:
        try:  # a ledger the policy does not declare is this case's failure, not the whole run's
            items = (policy.evaluate_cohort(units, trace=trace, ledgers=events)
                     if cohort.kind == "cohort" or policy.cohort is not None
                     else list(policy.evaluate_many(units, trace=trace, ledgers=events)))
        except KaoheError as exc:
            return [CaseOutcome(Case(f"{cohort.name}: {unit_id}", cohort.index, cohort.line, by_unit, expect, None),
                                path, (), f"the ledgers were not read: {exc}", None)
                    for unit_id, expect in cohort.expects
                    for by_unit in [next(u for u in cohort.units if u["id"] == unit_id)]]
    by_id = {}
    for unit, item in zip(cohort.units, items):
        by_id[unit["id"]] = (unit, item)
    out = []
    for unit_id, expect in cohort.expects:
        unit, item = by_id[unit_id]
        case = Case(f"{cohort.name}: {unit_id}", cohort.index, cohort.line, unit, expect, None)
        if item.result is None:
            error = item.error
            if isinstance(error, FactError) and expect.rejected is not None:
                bad = frozenset(p.fact.split("[", 1)[0].split(".", 1)[0] for p in error.problems)
                mismatches = () if bad == expect.rejected else (Mismatch("rejected", _set(expect.rejected), _set(bad)),)
                out.append(CaseOutcome(case, path, mismatches, None, None))
                continue
            out.append(CaseOutcome(case, path, (), f"the unit was not assessed: {error}", None))
            continue
        out.append(CaseOutcome(case, path, tuple(compare(policy, expect, item.result)), None, item.result))
    if cohort.events and events is not None:
        out.append(_event_outcome(policy, cohort, path, units, events))
    return out


def _event_outcome(policy: Policy, cohort: CohortCase, path: Path, units: list[dict[str, Any]],
                   events: dict[str, list[dict[str, Any]]]) -> CaseOutcome:
    """``unattributed`` / ``excluded`` / ``handed_over`` of a batch case against the attribution (issue #16)."""
    case = Case(f"{cohort.name}: events", cohort.index, cohort.line, {}, Expect(), None)
    try:
        attribution = policy.attribute(units, events)
    except KaoheError as exc:
        return CaseOutcome(case, path, (), f"the ledgers were not attributed: {exc}", None)

    def name(ref: Any) -> str:
        return str(ref.key) if ref.key is not None else str(ref.row)

    actual = {"unattributed": frozenset(name(u.event) for u in attribution.unattributed),
              "excluded": frozenset(name(r.event) for r in attribution.removed if r.kind == "excluded"),
              "handed_over": frozenset(name(r.event) for r in attribution.removed if r.kind == "handed_over")}
    mismatches = tuple(Mismatch(what, _set(wanted), _set(actual[what]))
                       for what, wanted in cohort.events if actual[what] != wanted)
    return CaseOutcome(case, path, mismatches, None, None)


def _rating_name(checked: Any, wanted: str) -> str:
    for rating in checked.ratings.ratings:
        if wanted in (rating.name, rating.label):
            return str(rating.name)
    return wanted


def _set(names: Iterable[str]) -> str:
    items = sorted(names)
    return "[" + ", ".join(items) + "]" if items else "[] (none)"


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}元"


# ------------------------------------------------------------------ reports
@attrs.frozen
class FileReport:
    path: Path
    policy: Policy | None
    outcomes: tuple[CaseOutcome, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(o.ok for o in self.outcomes)


def run_casefile(path: str | Path, *, only: str | None = None, trace: bool = False,
                 policies: dict[Path, Policy] | None = None) -> FileReport:
    """Run every case of one test file (``only``: cases whose name contains it)."""
    from ..policy import load

    path = Path(path)
    try:
        casefile = load_casefile(path)
    except CaseFileError as exc:
        return FileReport(path, None, (), str(exc))
    cache = policies if policies is not None else {}
    policy = cache.get(casefile.policy_path)
    if policy is None:
        try:
            policy = load(casefile.policy_path)
        except PolicyError as exc:
            return FileReport(path, None, (), f"the policy {casefile.policy_path} does not load:\n{exc.render()}")
        cache[casefile.policy_path] = policy
    outcomes = tuple(run_case(policy, case, path, trace=trace) for case in casefile.cases
                     if only is None or only in case.name)
    for cohort in casefile.cohorts:  # issue #11 C: units assessed together
        if only is None or only in cohort.name:
            outcomes += tuple(run_cohort(policy, cohort, path, trace=trace))
    return FileReport(path, policy, outcomes)


def run_casefiles(paths: Sequence[str | Path], *, only: str | None = None, trace: bool = False) -> list[FileReport]:
    cache: dict[Path, Policy] = {}
    return [run_casefile(p, only=only, trace=trace, policies=cache) for p in find_casefiles(paths)]



def _same_value(wanted: object, actual: object) -> bool:
    """A test file's value against a reported one: numbers by value, true/false, names as text."""
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return wanted is actual
    if isinstance(wanted, (int, Decimal)) and isinstance(actual, (int, Decimal)):
        return Decimal(wanted) == Decimal(actual)
    return str(wanted) == str(actual)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return plain(Decimal(value))
    return str(value)
