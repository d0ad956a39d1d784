"""``kaohe replay`` refuses forged, empty, huge and hostile trace documents with a clear message.

Each reproduction of issue #9 (replay part) is a test here: an empty list, an
empty object, a scalar, non-trace items, missing keys and keys of the wrong
type used to exit 0 or raise KeyError/AttributeError; a deeply nested trace
raised RecursionError; a score of 1E+5000 or a fact of 1E+100000000 raised
decimal.InvalidOperation.  Now each is a refusal (exit 2, a usage error per
docs/cli.md) naming the key or the path and what was expected, before any
report is printed, and never a traceback.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

import kaohe_rules
from kaohe_rules import limits
from kaohe_rules.audit.replay import replay
from kaohe_rules.audit.trace_json import (
    SCHEMA,
    TraceFormatError,
    check_trace,
    dumps,
    loads_trace,
    read_trace,
    trace_document,
)
from kaohe_rules.cli import main
from kaohe_rules.errors import KaoheError

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "karamay-2013.kh"
UNITS = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="module")
def policy(karamay: kaohe_rules.Policy) -> kaohe_rules.Policy:
    return karamay  # loaded once for the session (tests/conftest.py)


@pytest.fixture(scope="module")
def stored_text(policy: kaohe_rules.Policy) -> str:
    """A real trace, as ``kaohe explain --format json --id karamay-district`` writes it."""
    from kaohe_rules.unitio import read_units

    unit = next(r.unit for r in read_units(UNITS) if r.unit is not None and r.unit["id"] == "karamay-district")
    return dumps(trace_document(policy.evaluate(unit)))


@pytest.fixture()
def stored(stored_text: str) -> dict[str, Any]:
    document = json.loads(stored_text)
    assert isinstance(document, dict)
    return document


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def refused(tmp_path: Path, text: str | bytes) -> str:
    """Replay a trace file of this text: it must be refused (exit 2, nothing printed); the message."""
    path = tmp_path / "t.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    code, out, err = run("replay", str(POLICY), str(path))
    assert code == 2, (code, out, err)
    assert out == "" and "Traceback" not in err
    assert err.startswith(f"kaohe: {path}: ")
    return err


def test_the_honest_trace_is_still_confirmed(tmp_path: Path, stored_text: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(stored_text, encoding="utf-8")
    code, out, err = run("replay", str(POLICY), str(path), "--lang", "en")
    assert code == 0, err
    assert "Confirmed" in out
    assert len(read_trace(path)) == 1


# ------------------------------------------------------------------ 1. forged
def test_an_empty_list_is_refused(tmp_path: Path) -> None:
    # was: exit 0 with no output at all
    assert "holds an empty list, not a trace" in refused(tmp_path, "[]\n")


@pytest.mark.parametrize(("text", "message"), [
    ("{}", "not a kaohe trace (format missing, expected 'kaohe-trace')"),
    ("5", "a trace document is a JSON object, found the number 5"),
    ('"trace"', "a trace document is a JSON object, found the text 'trace'"),
    ("null", "a trace document is a JSON object, found null"),
    ("true", "a trace document is a JSON object, found true"),
    ("[1, 2]", "[0]: a trace document is a JSON object, found the number 1"),
    ('{"format": "other"}', "not a kaohe trace (format 'other', expected 'kaohe-trace')"),
    ('{"format": "kaohe-trace", "version": 2}', "trace format version 2 is not supported"),
    ('{"format": "kaohe-trace", "version": true}', "trace format version True is not supported"),
    ('{"format": "kaohe-trace", "version": 1}',
     "the keys 'engine', 'policy', 'unit', 'facts', 'facts_digest', 'result', 'events' are missing"),
])
def test_empty_scalar_and_foreign_documents_are_refused(tmp_path: Path, text: str, message: str) -> None:
    assert message in refused(tmp_path, text)


def test_a_list_with_one_non_trace_item_is_refused_before_any_report(tmp_path: Path, stored_text: str) -> None:
    good = json.loads(stored_text)
    err = refused(tmp_path, json.dumps([good, {"format": "kaohe-trace"}, good], ensure_ascii=False))
    assert "[1]: trace format version None is not supported" in err


def _without(document: dict[str, Any], *path: str) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    here = doc
    for key in path[:-1]:
        here = here[key]
    del here[path[-1]]
    return doc


def _with(document: dict[str, Any], value: object, *path: str | int) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    here: Any = doc
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = value
    return doc


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: _without(d, "events"), "the key 'events' is missing: expected a list"),
    (lambda d: _without(d, "result", "score"),
     "result: the key 'score' is missing: expected a number written as a plain decimal string"),
    (lambda d: _without(d, "unit", "id"), "unit: the key 'id' is missing: expected text"),
    (lambda d: _with(d, 87, "result", "score"),
     "result.score: expected a number written as a plain decimal string (such as \"87.5\"), found the number 87"),
    (lambda d: _with(d, "eighty", "result", "score"), "result.score: expected a number written as a plain decimal"),
    (lambda d: _with(d, 5, "unit", "id"), "unit.id: expected text, found the number 5"),
    (lambda d: _with(d, ["x"], "unit", "category"), "unit.category: expected text, found a list of 1 item(s)"),
    (lambda d: _with(d, [], "facts"), "facts: expected an object, found a list of 0 item(s)"),
    (lambda d: _with(d, "x", "events", 0), "events[0]: expected an event (kind, id, label"),
    (lambda d: _with(d, "x", "events", 0, "children"), "events[0].children: expected a list, found the text 'x'"),
    (lambda d: _with(d, "boo", "events", 0, "kind"), "events[0].kind: expected one of deferral, let, section"),
    (lambda d: _with(d, "3", "events", 0, "span", "line"),
     "events[0].span.line: expected a whole number of at least 1, found the text '3'"),
    (lambda d: _with(d, 0, "events", 0, "span", "line"), "events[0].span.line: expected a whole number of at least 1"),
    (lambda d: _with(d, "md5:abc", "facts_digest"), "facts_digest: expected a digest ('sha256:' and 64"),
    (lambda d: _with(d, "/etc/passwd", "policy", "file"), "policy.file: expected a file's base name"),
    (lambda d: _with(d, 1, "facts", "专项资金预算"), "facts.专项资金预算: expected a value (text, true/false, null"),
    (lambda d: _with(d, 1, "extra"), "unexpected key 'extra' (a version-1 trace has here only format, version"),
    (lambda d: _with(d, "a\n", "engine", "version") | {"facts_digest": d["facts_digest"] + "\n"},
     "facts_digest: expected a digest"),
])
def test_missing_keys_and_wrong_types_name_the_key_and_what_was_expected(
        tmp_path: Path, policy: kaohe_rules.Policy, stored: dict[str, Any], change: Any, message: str) -> None:
    forged = change(stored)
    assert message in refused(tmp_path, json.dumps(forged, ensure_ascii=False))
    with pytest.raises(TraceFormatError) as caught:  # the library says the same, as a kaohe error
        replay(policy, forged)
    assert message in str(caught.value) and isinstance(caught.value, KaoheError)


# ------------------------------------------------------------------ 2. deep
@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # was: RecursionError
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    "[" * 100_000,  # truncated as well as deep: still refused as deep, before the parser recurses
    "[[]" * 5_000 + "]" * 5_000,  # no long run of opening brackets, deep all the same
])
def test_deep_nesting_is_refused_without_recursion(tmp_path: Path, text: str) -> None:
    assert f"nests lists and objects deeper than {limits.MAX_TRACE_NESTING} levels" in refused(tmp_path, text)


def test_nesting_up_to_the_limit_is_parsed_and_brackets_in_strings_do_not_count() -> None:
    depth = limits.MAX_TRACE_NESTING
    assert loads_trace("[" * depth + "]" * depth) is not None
    with pytest.raises(TraceFormatError, match="deeper than"):
        loads_trace("[" * (depth + 1) + "]" * (depth + 1))
    text = json.dumps({"a": "[" * 1000 + '\\"[[[' + "{" * 1000, "b": ["\\", "[["]})
    assert loads_trace(text) == json.loads(text)


def test_a_deep_document_given_to_the_library_is_refused_without_recursion(policy: kaohe_rules.Policy,
                                                                          stored: dict[str, Any]) -> None:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(TraceFormatError, match=r"facts\.专项资金预算\[0\]\[0\].*deeper than 96 levels"):
        replay(policy, _with(stored, nested, "facts", "专项资金预算"))


# --------------------------------------------------------------- 3. numbers
def _raw(document: dict[str, Any], raw: str, *path: str | int) -> str:
    """The document's text with ``raw`` (JSON text, written as it is) at ``path``."""
    marker = "@@raw@@"
    return json.dumps(_with(document, marker, *path), ensure_ascii=False).replace(json.dumps(marker), raw)


@pytest.mark.parametrize(("path", "raw", "message"), [
    (("result", "score"), "1E+5000",
     "the trace holds a number outside the range kaohe represents at result.score: 1E+5000 is too large"),
    (("facts", "专项资金预算"), "1E+100000000",
     "outside the range kaohe represents at facts.专项资金预算: 1E+100000000 is too large"),
    (("facts", "专项资金预算"), "9" * 5000,
     "outside the range kaohe represents at facts.专项资金预算: a number of 5,000 characters"),
    (("facts", "专项资金预算"), "-1E-400",
     "outside the range kaohe represents at facts.专项资金预算: -1E-400 has 400 decimal places"),
    (("events", 0, "span", "line"), "1" + "0" * 30, "at events[0].span.line: 1000000000000000000000000000000 is too large"),
    (("facts", "专项资金预算"), "NaN", "holds NaN, which is not a JSON number"),
    (("facts", "专项资金预算"), "-Infinity", "holds -Infinity, which is not a JSON number"),
])
def test_huge_numbers_are_refused_before_any_arithmetic(tmp_path: Path, stored: dict[str, Any],
                                                        path: tuple[str | int, ...], raw: str, message: str) -> None:
    assert message in refused(tmp_path, _raw(stored, raw, *path))


def test_an_in_range_json_number_is_refused_by_shape_not_range(tmp_path: Path, stored: dict[str, Any]) -> None:
    err = refused(tmp_path, _raw(stored, "870.0", "result", "score"))
    assert "result.score: expected a number written as a plain decimal string" in err


@pytest.mark.parametrize(("fact", "value", "message"), [
    ("专项资金预算", "1" * 5000, "is longer than any number kaohe reads (at most 64 characters)"),
    ("专项资金预算", "9" * 40, "is too large (numbers must be below 10^18 in size)"),
    ("专项资金预算", "0.00000000000000001", "has 17 decimal places (at most 16)"),
    ("专项资金预算", "9" * 50 + "万元", "is too large"),  # another spelling, caught as the engine read it
])
def test_number_facts_out_of_range_are_not_confirmed(policy: kaohe_rules.Policy, stored: dict[str, Any],
                                                     fact: str, value: str, message: str) -> None:
    # was: decimal.InvalidOperation when the facts were written out again
    report = replay(policy, _with(stored, value, "facts", fact))
    assert not report.ok
    # refused by replay's own check, or by the fact layer that reads the stored text again
    assert any(fact in p and message in p for p in report.problems), report.problems


def test_a_number_fact_inside_a_record_list_is_checked(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    report = replay(policy, _with(stored, "9" * 30, "facts", "事故", 0, "死亡人数"))
    assert any(p.startswith("facts.事故[0].死亡人数: the trace holds a number outside the range") for p in report.problems)


def test_text_facts_made_of_digits_are_not_numbers(policy: kaohe_rules.Policy, stored: dict[str, Any]) -> None:
    report = replay(policy, _with(stored, "9" * 200, "facts", "事故", 0, "简况"))
    assert not any("outside the range" in p for p in report.problems)
    assert not report.ok and report.roots  # a changed fact, reported as tampering


def test_lone_surrogates_are_refused(tmp_path: Path, policy: kaohe_rules.Policy, stored_text: str,
                                     stored: dict[str, Any]) -> None:
    # was: UnicodeEncodeError while computing the facts digest
    text = _raw(stored, '"\\ud800"', "facts", "专项资金预算")
    assert "facts.专项资金预算: holds text that is not valid Unicode (a lone surrogate)" in refused(tmp_path, text)
    with pytest.raises(TraceFormatError, match="not valid Unicode"):
        replay(policy, _with(stored, {"\udc80": "1"}, "facts", "事故", 0))


def test_not_utf8_and_truncated_text_are_refused(tmp_path: Path, stored_text: str) -> None:
    assert "is not UTF-8 text (byte 0xff at offset 0)" in refused(tmp_path, b"\xff\xfe{}")
    err = refused(tmp_path, stored_text[: len(stored_text) // 2])
    assert "invalid JSON at line" in err and "(is the file complete?)" in err


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as stream:  # sparse: the size is there, the bytes are not
        stream.truncate(limits.MAX_DOCUMENT_BYTES + 1)
    code, out, err = run("replay", str(POLICY), str(path))
    assert code == 2 and out == ""
    assert f"is too large for a trace ({limits.MAX_DOCUMENT_BYTES + 1:,} bytes; at most 256 MiB)" in err


def test_the_size_limit_holds_when_the_size_is_not_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    monkeypatch.setattr(limits, "MAX_DOCUMENT_BYTES", 1000)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    import threading

    def feed() -> None:
        with open(fifo, "wb") as stream:
            with contextlib.suppress(BrokenPipeError):
                stream.write(b"[" + b"0," * 5000 + b"0]")

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with pytest.raises(TraceFormatError, match=r"is too large for a trace \(more; at most"):
            read_trace(fifo)
    finally:
        writer.join(timeout=10)


def test_a_missing_file_is_still_a_read_error(tmp_path: Path) -> None:
    code, _, err = run("replay", str(POLICY), str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read trace" in err and "No such file" in err


def test_check_trace_refuses_what_json_cannot_hold(stored: dict[str, Any]) -> None:
    for value, message in ((object(), "a Python object, which is not a JSON value"),
                           (float("nan"), "NaN is not a finite number"),
                           (10**5000, "is too large")):
        with pytest.raises(TraceFormatError, match=message):
            check_trace(_with(stored, value, "facts", "专项资金预算"))
    with pytest.raises(TraceFormatError, match="a key 1 that is not text"):
        check_trace(_with(stored, {1: "x"}, "facts"))


# ------------------------------------------------------------------- schema
def _strip(schema: object) -> object:
    """The schema without what only documents it."""
    if isinstance(schema, dict):
        return {k: _strip(v) for k, v in schema.items() if k not in ("description", "title", "$schema", "$id")}
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


def test_the_reader_checks_the_documented_schema() -> None:
    documented = json.loads((ROOT / "docs" / "trace-schema.json").read_text(encoding="utf-8"))
    assert _strip(documented) == SCHEMA


def test_a_list_of_traces_is_replayed_whole_and_units_are_matched(tmp_path: Path, stored: dict[str, Any]) -> None:
    path = tmp_path / "both.json"
    path.write_text(json.dumps([stored, stored], ensure_ascii=False), encoding="utf-8")
    code, out, err = run("replay", str(POLICY), str(path), "--units", str(UNITS), "--format", "json")
    assert code == 0, err
    assert [r["ok"] for r in json.loads(out)] == [True, True]
    other = _with(stored, "nowhere", "unit", "id")
    path.write_text(json.dumps([stored, other], ensure_ascii=False), encoding="utf-8")
    code, out, err = run("replay", str(POLICY), str(path), "--units", str(UNITS))
    assert code == 2 and out == "" and f"no unit 'nowhere' in {UNITS}" in err
