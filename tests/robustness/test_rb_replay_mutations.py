"""A real trace, mutated every way a forger or a broken disk could: replay confirms, disagrees or refuses.

The trace is what ``kaohe explain --format json`` writes for a Karamay sample
unit.  Each example deletes a key or list item, replaces a value (another type,
a huge number, a deep list, text with a lone surrogate, a number string out of
range) or truncates the text; then the file is read, replayed, and the report
rendered in both languages and as JSON, as ``kaohe replay`` does.  The only
exceptions allowed are kaohe errors (a refused trace, or a unit file problem);
anything else — KeyError, RecursionError, InvalidOperation, UnicodeError,
TypeError — is a bug.

The reader's shape check is also held to the documented schema: what it
accepts, ``jsonschema`` accepts, and the other way round.
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaohe_rules
from kaohe_rules.audit.replay import render, replay
from kaohe_rules.audit.trace_json import SCHEMA, TraceFormatError, check_trace, dumps, read_trace, trace_document
from kaohe_rules.errors import KaoheError

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
UNITS = ROOT / "policies" / "karamay-2013" / "units.json"
MARKER = "@@mutated@@"


@functools.cache
def policy() -> kaohe_rules.Policy:
    return kaohe_rules.load(POLICY)


@functools.cache
def stored_text() -> str:
    from kaohe_rules.unitio import read_units

    unit = next(r.unit for r in read_units(UNITS) if r.unit is not None and r.unit["id"] == "baijiantan")
    return dumps(trace_document(policy().evaluate(unit)))


def _paths(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


@functools.cache
def paths() -> list[tuple[str | int, ...]]:
    """Every place in the trace; the facts and the result twice over (where forgery pays)."""
    every = list(_paths(json.loads(stored_text())))
    return every + [p for p in every if p[0] in ("facts", "result", "unit")]


RAW = [  # JSON text put in place of a value, as it is
    "1E+5000", "-1E+100000000", "9" * 5000, "1E-400", "0.1", "-0", "7", "870", "true", "null", "[]", "{}",
    '"1E+5000"', '"' + "9" * 5000 + '"', '"9999999999999999999999"', '"0.00000000000000001"', '"-5"',
    '"' + "9" * 60 + '万元"', '"120万元"', '"\\ud800"', '{"\\udc80": "1"}', '["\\ud83d"]',
    "[" * 40 + "]" * 40, "[" * 3000 + "]" * 3000, '{"a":' * 40 + "1" + "}" * 40,
    '"sha256:' + "0" * 64 + '"', '"2013-13-45"', '"优秀"', '"x"', '""', '"' + "字" * 200_000 + '"',
    '[{"kind": "rule", "id": "x", "label": null, "citation": null, "value": "1", "reads": {}, "span": null}]',
    "[" + ",".join(['"1"'] * 1000) + "]",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
).map(lambda v: json.dumps(v, ensure_ascii=False))

mutations = st.one_of(
    st.tuples(st.just("delete"), st.integers(min_value=0)),
    st.tuples(st.just("replace"), st.integers(min_value=0), st.sampled_from(RAW) | json_values),
    st.tuples(st.just("truncate"), st.integers(min_value=0)),
)


def mutate(mutation: tuple[Any, ...]) -> tuple[str, tuple[str | int, ...]]:
    """The mutated text, and the path of what was changed (``()`` for a truncation)."""
    text = stored_text()
    if mutation[0] == "truncate":
        return text[: mutation[1] % len(text)], ()
    document = json.loads(text)
    every = paths()
    path = every[mutation[1] % len(every)]
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    if mutation[0] == "delete":
        del parent[path[-1]]
        return dumps(document), path
    parent[path[-1]] = MARKER
    return dumps(document).replace(json.dumps(MARKER), mutation[2], 1), path


def replay_file(text: str) -> list[int]:
    """What ``kaohe replay`` does with a file of this text, without the printing: 0 confirmed, 1 not."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        documents = read_trace(path)
    outcomes = []
    for document in documents:
        report = replay(policy(), document)
        for lang in ("zh", "en"):
            render(report, document, lang).encode("utf-8")  # printable: no lone surrogate in any message
        dumps(report.to_dict()).encode("utf-8")
        outcomes.append(0 if report.ok else 1)
    return outcomes


def test_the_unmutated_trace_is_confirmed() -> None:
    assert replay_file(stored_text()) == [0]


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(mutations)
def test_a_mutated_trace_is_confirmed_disputed_or_refused(mutation: tuple[Any, ...]) -> None:
    text, path = mutate(mutation)
    try:
        outcomes = replay_file(text)
    except TraceFormatError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        message.encode("utf-8")  # printable as it is
        assert len(message) < 1000
        return
    except KaoheError:  # e.g. a unit the policy cannot place: refused as a kaohe error
        return
    assert outcomes and set(outcomes) <= {0, 1}
    if outcomes == [0] and json.loads(text) != json.loads(stored_text()):
        # confirmed although changed: only what replay notes but does not check (the engine's version,
        # the policy's name, label, document number and file name; its hash is checked)
        assert path[0] in ("engine", "policy") and path[:2] != ("policy", "hash"), path


# ------------------------------------------------------------------- schema
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(st.sampled_from(["delete", "replace"]), st.integers(min_value=0), json_values))
def test_the_shape_check_agrees_with_the_documented_schema(mutation: tuple[Any, ...]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    documented = json.loads((ROOT / "docs" / "trace-schema.json").read_text(encoding="utf-8"))
    document = json.loads(mutate(mutation)[0])
    try:
        check_trace(document)
        ours = True
    except TraceFormatError:
        ours = False
    theirs = jsonschema.Draft202012Validator(documented).is_valid(document)
    assert ours == theirs, mutation


def test_the_schema_check_names_the_first_problem_it_meets() -> None:
    document = json.loads(stored_text())
    assert check_trace(document) is document
    assert SCHEMA["required"] == ["format", "version", "engine", "policy", "unit", "facts", "facts_digest", "result",
                                  "events"]
