"""The stable JSON trace document (format ``kaohe-trace``, version 1).

One document records one assessment completely enough to be checked later by
someone who trusts neither the person who produced it nor the file's storage:

* ``policy`` — name, label, document number and the SHA-256 content hash of the
  policy text (with every ``extends`` ancestor);
* ``engine`` — the kaohe_rules version that produced it;
* ``unit`` and ``facts`` — the unit and its facts *as the engine read them*
  (after coercion, defaults filled in, enum members by name, derived record
  fields left out), with ``facts_digest``, a SHA-256 over their canonical JSON;
* ``events`` — the full event tree (see :mod:`kaohe_rules.runtime.trace`);
* ``result`` — score, band, rating, vetoes, deferrals, sections, targets, money.

Determinism is part of the format: keys are sorted by code point, numbers are
plain decimal strings (``5.0`` and ``5`` are one number, so one string), money
is yuan with two decimals, file names are base names, nothing depends on the
time, the machine, the input file's spelling or ``PYTHONHASHSEED``.  The same
policy and facts give byte-identical output from :func:`dumps`.  The JSON
Schema is ``docs/trace-schema.json``.

Reading a trace back (:func:`read_trace`, :func:`check_trace`) trusts nothing in
it: the file's size, its nesting, every number and every string are checked
against :mod:`kaohe_rules.limits` before the document is parsed or walked, and
its shape against the schema before replay looks at any key, so a forged,
truncated or hostile file is refused with a :class:`TraceFormatError` naming
where it is wrong and what was expected.
"""

from __future__ import annotations

import array
import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import KaoheError
from ..language.abi import RAW_EFFECTS
from ..language.types import Type
from ..runtime.cohort import standing_dict
from ..runtime.trace import canonical, money_text, short_file

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.parts import Consequences
    from ..runtime.program import Program
    from ..runtime.result import Result

FORMAT = "kaohe-trace"
VERSION = 1
HASH_PREFIX = "sha256:"


def trace_document(result: Result) -> dict[str, Any]:
    """The stable trace document of a result (evaluates again with tracing on if needed)."""
    from .._version import __version__

    policy = result.program
    checked = policy.checked
    header = checked.header
    facts = canonical_facts(policy, result.category, result.facts)
    memo: dict[int, tuple[object, list[object]]] = {}  # a list read by many events is made canonical once
    return {
        "format": FORMAT,
        "version": VERSION,
        "engine": {"name": "kaohe_rules", "version": __version__},
        "policy": {
            "name": header.name,
            "label": header.label,
            "document": header.document,
            "file": short_file(header.span.file),
            "hash": HASH_PREFIX + checked.content_hash,
        },
        "unit": {"id": result.unit_id, "name": result.name, "category": result.category},
        "facts": facts,
        "facts_digest": facts_digest(facts),
        "result": result_section(result),
        "events": [e.to_dict(memo) for e in result.trace.events],
    }


def dumps(document: object) -> str:
    """Canonical text of a document: sorted keys, two-space indent, UTF-8 characters kept, final newline."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, separators=(",", ": ")) + "\n"


def canonical_json(value: object) -> str:
    """The compact canonical JSON used for digests (sorted keys, no spaces)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def facts_digest(facts: Mapping[str, object]) -> str:
    """``sha256:`` + hex SHA-256 of the UTF-8 canonical compact JSON of the canonical facts."""
    return HASH_PREFIX + hashlib.sha256(canonical_json(dict(facts)).encode("utf-8")).hexdigest()


def canonical_facts(policy: Policy | Program, category: str, facts: Mapping[str, object]) -> dict[str, object]:
    """A unit's coerced facts as canonical JSON values that the engine reads back to the same facts.

    Enum members by name, records without their derived (``let``) fields,
    numbers as plain decimal strings (a percentage ``x`` with ``0 < |x| <= 1`` with its
    ``%``, which alone reads back unambiguously), dates ISO, absent optional facts ``null``.
    """
    checked = policy.checked
    out: dict[str, object] = {}
    per_period = frozenset(checked.period_facts)
    for name in policy.facts_for(category):
        if name in facts:
            values = facts[name]
            if name in per_period and isinstance(values, tuple) and checked.periods is not None:
                # issue #11 P: keyed by period, as a unit gives it (and as it reads back)
                out[name] = {item.name: _value(policy, checked.fact_types[name], v)
                             for item, v in zip(checked.periods.items, values)}
                continue
            out[name] = _value(policy, checked.fact_types[name], facts[name])
    return out


def _value(policy: Policy | Program, t: Type, value: object) -> object:
    if value is None:
        return None
    if t.kind == "list" and isinstance(value, (list, tuple)):
        elem = t.elem
        return [_value(policy, elem, v) if elem is not None else canonical(v) for v in value]
    if t.kind == "record" and isinstance(value, Mapping):
        decl = policy.checked.records[t.name or ""]
        fields = policy.checked.record_fields[decl.name]
        return {f.name: _value(policy, fields[f.name], value.get(f.name)) for f in decl.fields}
    if t.kind == "enum" and isinstance(value, int) and not isinstance(value, bool):
        members = policy.checked.enums[t.name or ""].members
        return members[value].name
    if (t.kind == "percent" and isinstance(value, (int, Decimal)) and not isinstance(value, bool)
            and value and -1 <= value <= 1):
        # bare, 0.5 reads two ways (0.5% or 50%) and the engine refuses it: written "0.5%" it reads back the same
        return f"{canonical(value)}%"
    return canonical(value)


def _consequences_section(c: Consequences) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "citation": c.citation,
        "total": money_text(c.total),
        "items": [{"kind": i.kind, "name": i.name, "amount": None if i.amount is None else money_text(i.amount)}
                  for i in c.items],
        "notes": list(c.notes),
    }


def result_section(result: Result) -> dict[str, Any]:
    """The outcome of the assessment in canonical form (what replay compares first).

    ``general_consequences`` and ``reported`` (issue #10) are there only for a policy that
    has outcomes for every rating or reported lets, so other documents are unchanged.
    """
    checked = result.program.checked
    extra: dict[str, Any] = {}
    if checked.general_outcomes:
        extra["general_consequences"] = [_consequences_section(c) for c in result.general_consequences]
    if checked.reported:
        extra["reported"] = {n: {"label": r.label, "citation": r.citation, "value": canonical(r.value)}
                             for n, r in result.reported.items()}
    if checked.periods is not None:  # issue #11 P: each period's score and rating, with its weight
        extra["periods"] = [{"name": p.name, "label": p.label, "weight": canonical(p.weight),
                             "score": canonical(p.score), "rating": p.rating, "weighted": canonical(p.weighted)}
                            for p in result.periods]
    if checked.cohort is not None:  # issue #11 C: only for a policy with a cohort block
        standing = result.standing
        extra["standing"] = None if standing is None else canonical(standing_dict(standing))
        extra["provisional"] = result.provisional
    if result.from_ledger:  # issue #16: only for a unit assessed with its batch's ledgers
        extra["charged"] = [c.to_dict() for c in result.charged]
    bonus: dict[str, Any] = {}
    if result.program.checked.categories[result.category].has_bonus:  # only then: other documents keep their shape
        bonus = {"base_score": canonical(result.base_score), "bonus": canonical(result.bonus)}
    return {
        "score": canonical(result.score),
        "total": canonical(result.total),
        **bonus,
        "band": result.band,
        "rating": result.rating,
        "rating_label": result.rating_label,
        "vetoed": result.vetoed,
        "vetoes": [{"name": v.name, "citation": v.citation, "evidence": canonical(list(v.evidence)),
                    **({"positions": list(v.positions)} if v.evidence else {})}
                   for v in result.vetoes],
        "excepted": [{"name": v.name, "citation": v.citation, "exception": v.exception} for v in result.excepted],
        "deferred": [{"name": d.name, "citation": d.citation, "to": d.to, "items": canonical(list(d.items)),
                      "positions": list(d.positions)}
                     for d in result.deferred],
        "sections": {path: canonical(s.score) for path, s in result.sections.items()},
        "targets": {t.name: canonical(t.score) for t in result.targets},
        "consequences": _consequences_section(result.consequences),
        **effects_section(result),
        **extra,
    }


def effects_section(result: Result) -> dict[str, Any]:
    """The raw score and the rating effects in order, for a category that has any (issue #10 A3)."""
    if result.raw[RAW_EFFECTS] is None:
        return {}
    return {"raw_score": canonical(result.raw_score),
            "effects": [{"kind": e.kind, "clause": e.clause, "value": canonical(e.value), "before": canonical(e.before),
                         "after": canonical(e.after)} for e in result.effects]}


def unit_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """The unit a trace document describes, in the form ``Policy.evaluate`` takes."""
    unit = document.get("unit") or {}
    return {"id": unit.get("id"), "name": unit.get("name"), "category": unit.get("category"),
            "facts": document.get("facts") or {}}


# ------------------------------------------------------------------ reading
class TraceFormatError(KaoheError, ValueError):
    """The file is not a kaohe trace document this engine can read.

    A kaohe error (the command line turns it into a usage error, exit 2) and a
    ValueError (what it was before the reader checked everything).
    ``path`` is where in the document it is wrong (``result.score``), when known.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def read_trace(path: str | os.PathLike[str]) -> list[Mapping[str, Any]]:
    """The checked trace documents of a file (one document, or a non-empty JSON array of them).

    Refused with :class:`TraceFormatError`, before anything is replayed: a file
    over ``limits.MAX_DOCUMENT_BYTES`` (found without reading it all), text that
    is not UTF-8 or not JSON, nesting deeper than ``limits.MAX_TRACE_NESTING``, a number
    outside the range kaohe represents, and any document not shaped like a
    version-1 trace.  OSError (missing, unreadable) is left to the caller.
    """
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limits.MAX_DOCUMENT_BYTES:
            raise TraceFormatError(_too_big(size))
        data = stream.read(limits.MAX_DOCUMENT_BYTES + 1)  # a pipe or special file may not know its size
    if len(data) > limits.MAX_DOCUMENT_BYTES:
        raise TraceFormatError(_too_big(None))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFormatError(f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    loaded = loads_trace(text)
    if isinstance(loaded, list):
        if not loaded:
            raise TraceFormatError("holds an empty list, not a trace (a trace is the JSON object "
                                   "'kaohe explain --format json' writes, or a list of them)")
        return [check_trace(document, f"[{index}]" if len(loaded) > 1 else "")
                for index, document in enumerate(loaded)]
    return [check_trace(loaded)]


def _too_big(size: int | None) -> str:
    mib = limits.MAX_DOCUMENT_BYTES // (1024 * 1024)
    held = f"{size:,} bytes" if size is not None else "more"
    return f"is too large for a trace ({held}; at most {mib} MiB)"


def loads_trace(text: str) -> object:
    """Parse the text of a trace: nesting bounded first, numbers read as Decimal, NaN and Infinity refused.

    The parsed value is not yet checked (see :func:`check_trace`); numbers too
    long to be in range are kept as :class:`_LongNumber` so that no digit string
    is ever converted whole.
    """
    problem = _nesting_problem(text)
    if problem:
        raise TraceFormatError(problem)
    try:
        return json.loads(text, parse_float=_number, parse_int=_number, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        what = exc.msg.removesuffix(" starting at")
        raise TraceFormatError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: "
                               f"{what[:1].lower()}{what[1:]} (is the file complete?)") from None


#: bytes.translate table: an opening bracket counts +1, a closing one -1 (as a signed byte).
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[{]}")
_DEEP_RUN = b"\x01" * (limits.MAX_TRACE_NESTING + 1)  # found at once: more opening brackets in a row than the limit


def _nesting_problem(text: str) -> str | None:
    """Why the text nests too deep for a trace, or None; never recursive, linear in the text.

    The text outside strings (escaped backslashes and quotes taken out first, so
    the remaining quotes pair up) keeps only its brackets, as +1/-1 steps; the
    deepest point is the largest running sum.  For invalid JSON the number is
    an upper bound of the depth the parser reaches before it fails, so the
    parser never recurses deeper than the limit either.
    """
    outside = "".join(text.replace("\\\\", "").replace('\\"', "").split('"')[0::2])
    steps = outside.encode("utf-8", "surrogatepass").translate(_BRACKET_STEPS, _NOT_BRACKETS)
    if not steps:
        return None
    if _DEEP_RUN not in steps and max(itertools.accumulate(array.array("b", steps))) <= limits.MAX_TRACE_NESTING:
        return None
    return (f"nests lists and objects deeper than {limits.MAX_TRACE_NESTING} levels "
            f"(a trace nests about 12; this is not a trace kaohe wrote)")


class _LongNumber(str):
    """The text of a JSON number too long to be in range: kept as text, refused by :func:`check_trace`."""


#: A number of more characters is outside the range whatever it says (18 + 16 digits, '-', '.').
_NUMBER_TEXT = limits.MAX_INTEGER_DIGITS + limits.MAX_FRACTION_DIGITS + 2


def _number(text: str) -> Decimal | int | _LongNumber:
    if len(text) > 2 * _NUMBER_TEXT:
        return _LongNumber(text)
    if "." in text or "e" in text or "E" in text:
        return Decimal(text)
    return int(text)


def _constant(name: str) -> object:
    raise TraceFormatError(f"holds {name}, which is not a JSON number (a trace holds no NaN or Infinity)")


_PLAIN_KEY = re.compile(r"[^\W\d][\w-]*\Z")


def _key_path(path: str, key: object) -> str:
    if isinstance(key, str) and len(key) <= 60 and _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{limits.shown(key)}]"


def _found(value: object) -> str:
    """What a value is, for a message ("the number 5", "a list of 3 items", "the text 'x'")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return f"the number {limits.shown(value)}"
    if isinstance(value, str):
        return f"the text {limits.shown(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, Mapping):
        return f"an object with {len(value)} key(s)"
    return f"a Python {type(value).__name__}"


def _walk(document: object, where: str) -> None:
    """Depth, numbers, text and types of every value, with an explicit stack (no recursion).

    Run before anything else reads the document: nothing deeper than
    ``MAX_TRACE_NESTING``, no number outside the range kaohe represents (read as
    Decimal or int, checked by ``limits.number_problem``/``int_problem`` without
    any arithmetic), no string or key with a lone surrogate (it cannot be written
    as UTF-8, so no digest or message could be made of it), only JSON values.
    """
    stack: list[tuple[object, str, int]] = [(document, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, (list, Mapping)):
            if depth > limits.MAX_TRACE_NESTING:
                raise TraceFormatError(f"nests lists and objects deeper than {limits.MAX_TRACE_NESTING} levels",
                                       where + path)
            if isinstance(value, list):
                stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
                continue
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TraceFormatError(f"has a key {limits.shown(key)} that is not text", where + path)
                if limits.has_lone_surrogate(key):
                    raise TraceFormatError("has a key that is not valid Unicode (it holds a lone surrogate)",
                                           where + _key_path(path, key))
                stack.append((item, _key_path(path, key), depth + 1))
            continue
        problem: str | None = None
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, _LongNumber):
            problem = f"a number of {len(value):,} characters"
        elif isinstance(value, str):
            if limits.has_lone_surrogate(value):
                raise TraceFormatError("holds text that is not valid Unicode (a lone surrogate)", where + path)
            continue
        elif isinstance(value, int):
            problem = limits.int_problem(value)
        elif isinstance(value, Decimal):
            problem = limits.number_problem(value)
        elif isinstance(value, float):
            problem = limits.number_problem(Decimal(value))  # exact; NaN and inf are not finite
        else:
            raise TraceFormatError(f"holds {_found(value)}, which is not a JSON value", where + path)
        if problem:
            raise _out_of_range(where + path, problem)


def _out_of_range(path: str, problem: str) -> TraceFormatError:
    """The refusal of a number: "… outside the range kaohe represents at result.score: 1E+5000 is too large …"."""
    error = TraceFormatError(f"the trace holds a number outside the range kaohe represents"
                             f"{' at ' + path if path else ''}: {problem}")
    error.path = path or None
    return error


def check_trace(document: object, where: str = "") -> Mapping[str, Any]:
    """The document if it is shaped like a version-1 trace; TraceFormatError saying where and why otherwise.

    Safe for any value: the walk bounds depth, numbers and text first, then the
    format and version are named on their own (the commonest mistakes), then the
    whole shape is checked against :data:`SCHEMA` (``docs/trace-schema.json``),
    with the path of the first key that is missing, unexpected or of the wrong kind.
    ``where`` prefixes paths (``[2]`` for the third document of a list).
    """
    if not isinstance(document, Mapping):
        raise TraceFormatError(f"a trace document is a JSON object, found {_found(document)}", where or None)
    _walk(document, where)
    if document.get("format") != FORMAT:
        got = document.get("format")
        raise TraceFormatError(f"not a kaohe trace (format {'missing' if got is None else limits.shown(got)}, "
                               f"expected {FORMAT!r})", where or None)
    version = document.get("version")
    if version.__class__ is bool or version != VERSION:
        raise TraceFormatError(f"trace format version {limits.shown(version)} is not supported "
                               f"(this engine reads version {VERSION})", where or None)
    _validate(document, SCHEMA, where)
    return document


# The schema of docs/trace-schema.json without its descriptions (tests/robustness keeps the two equal).
_VALUE: dict[str, Any] = {"$ref": "#/$defs/value"}
# each evidence or deferred item's 1-based place in its list fact; optional, so version-1 traces
# written before positions existed stay valid (issue #10 C)
_POSITIONS: dict[str, Any] = {"type": "array", "items": {"type": ["integer", "null"], "minimum": 1}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "version", "engine", "policy", "unit", "facts", "facts_digest", "result", "events"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": "kaohe-trace"},
        "version": {"const": 1},
        "engine": {"type": "object", "required": ["name", "version"], "additionalProperties": False,
                   "properties": {"name": {"const": "kaohe_rules"}, "version": {"type": "string"}}},
        "policy": {
            "type": "object", "required": ["name", "label", "document", "file", "hash"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "label": {"type": ["string", "null"]},
                           "document": {"type": ["string", "null"]},
                           "file": {"type": "string", "pattern": "^[^/\\\\]*$"},
                           "hash": {"$ref": "#/$defs/digest"}}},
        "unit": {"type": "object", "required": ["id", "name", "category"], "additionalProperties": False,
                 "properties": {"id": {"type": "string"}, "name": {"type": ["string", "null"]},
                                "category": {"type": "string"}}},
        "facts": {"type": "object", "additionalProperties": _VALUE},
        "facts_digest": {"$ref": "#/$defs/digest"},
        "result": {"$ref": "#/$defs/result"},
        "events": {"type": "array", "items": {"$ref": "#/$defs/event"}},
    },
    "$defs": {
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "number": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
        "money": {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"},
        "value": {"type": ["string", "boolean", "null", "array", "object"], "items": _VALUE,
                  "additionalProperties": _VALUE},
        "span": {
            "type": ["object", "null"], "required": ["file", "line", "column", "end_line", "end_column"],
            "additionalProperties": False,
            "properties": {"file": {"type": "string", "pattern": "^[^/\\\\]*$"},
                           "line": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1},
                           "end_line": {"type": "integer", "minimum": 1},
                           "end_column": {"type": "integer", "minimum": 1}}},
        "event": {
            "type": "object", "required": ["kind", "id", "label", "citation", "value", "reads", "span"],
            "additionalProperties": False,
            "properties": {
                "kind": {"enum": ["deferral", "let", "section", "target", "rule", "score", "veto", "exception", "band",
                                  "band_test", "rating", "consequence", "reward", "fine", "share", "sanction",
                                  "effects", "effect", "standing", "period", "charge"]},
                "id": {"type": "string"}, "label": {"type": ["string", "null"]},
                "citation": {"type": ["string", "null"]}, "value": _VALUE,
                "reads": {"type": "object", "additionalProperties": _VALUE},
                "span": {"$ref": "#/$defs/span"}, "text": {"type": "string"},
                "detail": {"type": "object", "additionalProperties": _VALUE},
                "children": {"type": "array", "items": {"$ref": "#/$defs/event"}}}},
        "result": {
            "type": "object",
            "required": ["score", "total", "band", "rating", "rating_label", "vetoed", "vetoes", "excepted", "deferred",
                         "sections", "targets", "consequences"],
            "additionalProperties": False,
            "properties": {
                "score": {"$ref": "#/$defs/number"}, "total": {"$ref": "#/$defs/number"},
                "base_score": {"$ref": "#/$defs/number"}, "bonus": {"$ref": "#/$defs/number"},
                "band": {"type": ["string", "null"]}, "rating": {"type": "string"},
                "rating_label": {"type": "string"}, "vetoed": {"type": "boolean"},
                "vetoes": {"type": "array", "items": {
                    "type": "object", "required": ["name", "citation", "evidence"], "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "citation": {"type": ["string", "null"]},
                                   "evidence": {"type": "array", "items": _VALUE},
                                   "positions": _POSITIONS}}},
                "excepted": {"type": "array", "items": {
                    "type": "object", "required": ["name", "citation", "exception"], "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "citation": {"type": ["string", "null"]},
                                   "exception": {"type": ["string", "null"]}}}},
                "deferred": {"type": "array", "items": {
                    "type": "object", "required": ["name", "citation", "to", "items"], "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "citation": {"type": ["string", "null"]},
                                   "to": {"type": ["string", "null"]}, "items": {"type": "array", "items": _VALUE},
                                   "positions": _POSITIONS}}},
                "sections": {"type": "object", "additionalProperties": {"$ref": "#/$defs/number"}},
                "targets": {"type": "object", "additionalProperties": {"$ref": "#/$defs/number"}},
                "raw_score": {"$ref": "#/$defs/number"},
                "effects": {"type": "array", "items": {
                    "type": "object", "required": ["kind", "clause", "value", "before", "after"],
                    "additionalProperties": False,
                    "properties": {"kind": {"enum": ["score", "requires", "cap", "downgrade", "rating", "vetoed",
                                                     "quota"]},
                                   "clause": {"type": "string"}, "value": _VALUE, "before": _VALUE,
                                   "after": _VALUE}}},
                "consequences": {"$ref": "#/$defs/consequences"},
                # issue #11 C, a cohort policy only: the unit's standing (null: assessed alone) and why provisional
                "standing": {"type": ["object", "null"], "additionalProperties": _VALUE},
                "provisional": {"type": ["string", "null"]},
                "general_consequences": {"type": "array", "items": {"$ref": "#/$defs/consequences"}},
                "periods": {"type": "array", "items": {  # issue #11 P: only for a policy with periods
                    "type": "object", "required": ["name", "label", "weight", "score", "rating", "weighted"],
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "label": {"type": ["string", "null"]},
                                   "weight": {"$ref": "#/$defs/number"}, "score": {"$ref": "#/$defs/number"},
                                   "rating": {"type": "string"}, "weighted": {"$ref": "#/$defs/number"}}}},
                # issue #16, a unit assessed with its batch's ledgers only: the events charged to it
                "charged": {"type": "array", "items": {
                    "type": "object", "required": ["ledger", "row", "key", "shown", "fact", "rules"],
                    "additionalProperties": False,
                    "properties": {"ledger": {"type": "string"}, "row": {"type": "integer", "minimum": 1},
                                   "key": {"type": ["string", "null"]}, "shown": {"type": "string"},
                                   "fact": {"type": "string"}, "rules": {"type": "array", "items": {
                                       "type": "object", "required": ["name", "label", "citation"],
                                       "additionalProperties": False,
                                       "properties": {"name": {"type": "string"},
                                                      "label": {"type": ["string", "null"]},
                                                      "citation": {"type": ["string", "null"]}}}}}}},
                "reported": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["label", "citation", "value"], "additionalProperties": False,
                    "properties": {"label": {"type": ["string", "null"]}, "citation": {"type": ["string", "null"]},
                                   "value": _VALUE}}}}},
        "consequences": {
            "type": "object", "required": ["kind", "citation", "total", "items", "notes"],
            "additionalProperties": False,
            "properties": {
                "kind": {"enum": ["reward", "fine", "none"]}, "citation": {"type": ["string", "null"]},
                "total": {"$ref": "#/$defs/money"},
                "items": {"type": "array", "items": {
                    "type": "object", "required": ["kind", "name", "amount"], "additionalProperties": False,
                    "properties": {"kind": {"enum": ["reward", "fine", "share", "sanction"]},
                                   "name": {"type": "string"},
                                   "amount": {"oneOf": [{"$ref": "#/$defs/money"}, {"type": "null"}]}}}},
                "notes": {"type": "array", "items": {"type": "string"}}}},
    },
}

#: What each definition is, in the words of a message ("expected …").
_DEF_TEXT = {
    "digest": "a digest ('sha256:' and 64 lower-case hex digits)",
    "number": "a number written as a plain decimal string (such as \"87.5\")",
    "money": "an amount of yuan written with two decimals (such as \"1500.00\")",
    "value": "a value (text, true/false, null, a list or an object; numbers as plain decimal strings)",
    "span": "a place in the policy (file, line, column, end_line, end_column) or null",
    "event": "an event (kind, id, label, citation, value, reads, span, …)",
    "result": "the result (score, total, band, rating, …)",
    "consequences": "the consequences of an outcome (kind, citation, total, items, notes)",
}
_TYPE_TEXT = {"string": "text", "boolean": "true or false", "null": "null", "array": "a list",
              "object": "an object", "integer": "a whole number"}
_PATTERN_TEXT = {"^[^/\\\\]*$": "a file's base name (no '/' or '\\')"}
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _expected(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return _DEF_TEXT[schema["$ref"].rsplit("/", 1)[-1]]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(schema["enum"])
    if "oneOf" in schema:
        return " or ".join(_expected(s) for s in schema["oneOf"])
    if "pattern" in schema:
        return _PATTERN_TEXT.get(schema["pattern"], f"text matching {schema['pattern']}")
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    text = " or ".join(_TYPE_TEXT[k] for k in kinds)
    if "minimum" in schema:
        text += f" of at least {schema['minimum']}"
    return text


def _is(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, Mapping)
    return isinstance(value, int) and not isinstance(value, bool)  # integer


def _pattern(pattern: str) -> re.Pattern[str]:
    """A schema pattern with ``$`` as the very end of the text (Python's ``$`` allows a final newline)."""
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)
    return compiled


def _validate(value: object, schema: Mapping[str, Any], path: str) -> None:
    """Check ``value`` against a schema of the keywords :data:`SCHEMA` uses; raise at the first problem.

    Recursive, but only after :func:`_walk` has bounded the depth.  Keywords
    apply as in JSON Schema (``items`` to lists only, ``required`` to objects only).
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target: Mapping[str, Any] = SCHEMA["$defs"][name]
        kinds = target["type"]
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds) or (
                isinstance(value, str) and "pattern" in target and not _pattern(target["pattern"]).search(value)):
            raise TraceFormatError(f"expected {_DEF_TEXT[name]}, found {_found(value)}", path or None)
        _validate(value, target, path)
        return
    if "const" in schema:
        if value != schema["const"] or value.__class__ is bool:
            raise TraceFormatError(f"expected {_expected(schema)}, found {_found(value)}", path or None)
        return
    if "enum" in schema:
        if not isinstance(value, str) or value not in schema["enum"]:
            raise TraceFormatError(f"expected {_expected(schema)}, found {_found(value)}", path or None)
        return
    if "oneOf" in schema:
        for option in schema["oneOf"]:
            try:
                _validate(value, option, path)
            except TraceFormatError:
                continue
            return
        raise TraceFormatError(f"expected {_expected(schema)}, found {_found(value)}", path or None)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            raise TraceFormatError(f"expected {_expected(schema)}, found {_found(value)}", path or None)
    if isinstance(value, str) and "pattern" in schema and not _pattern(schema["pattern"]).search(value):
        raise TraceFormatError(f"expected {_expected(schema)}, found {_found(value)}", path or None)
    if isinstance(value, int) and "minimum" in schema and value < schema["minimum"]:
        raise TraceFormatError(f"expected {_expected(schema)}, found {_found(value)}", path or None)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _validate(item, schema["items"], f"{path}[{index}]")
    if isinstance(value, Mapping):
        _validate_object(value, schema, path)


def _validate_object(value: Mapping[str, Any], schema: Mapping[str, Any], path: str) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    missing = [key for key in schema.get("required", ()) if key not in value]
    if len(missing) == 1:
        raise TraceFormatError(f"the key {missing[0]!r} is missing: expected {_expected(properties[missing[0]])}",
                               path or None)
    if missing:
        raise TraceFormatError(f"the keys {', '.join(repr(k) for k in missing)} are missing (here a trace "
                               f"has {', '.join(properties)})", path or None)
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        here = _key_path(path, key)
        if key in properties:
            _validate(item, properties[key], here)
        elif extra is False:
            raise TraceFormatError(f"unexpected key {limits.shown(key)} (a version-1 trace has here only "
                                   f"{', '.join(properties)})", path or None)
        elif isinstance(extra, Mapping):
            _validate(item, extra, here)

