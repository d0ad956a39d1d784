"""``kaohe check --format sarif`` (issue #14): one SARIF 2.1.0 log, valid against the official schema.

The schema is vendored (tests/data/sarif/, its source in the README there) and every log these
tests make is validated with jsonschema; the rest pins what the schema cannot: one rule per
K-code, results pointing at their rules, locations relative to the current directory with UTF-16
columns (a character outside the BMP on the line moves them), the parent file of an ``extends``,
and the exit status, which is the text format's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from cli_runner import POLICY, ROOT, run

from kaohe_rules.language.codes import CODES
from kaohe_rules.language.sarif import help_page, utf16_column

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
BROKEN = ROOT / "tests" / "data" / "checker" / "K101.kh"  # K101 (error) and K180 (warning)

BASE = """policy 基础 { }
category 单位 total 100 { section 甲 100 }
ratings { 好 中 差 } vetoed 差
bands 单位 { 好 [80, 100] 中 [60, 80) 差 [0, 60) }
fact n: int
fact 未用: int
target t in 单位.甲 points 100 { full when n > 3 }
"""
# U+20000 (CJK Extension B) is one code point and two UTF-16 code units.
CHILD = """policy p extends "sub/base.kh" { }
fact 𠀀名称: int "𠀀"
target u in 单位.甲 points 10 { full when 𠀀名称 > 未知 }
"""


def _validate(log: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(log)


def _sarif(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "check", "--format", "sarif", *args)
    log = json.loads(out)
    _validate(log)
    return code, log


def test_the_vendored_schema_is_the_official_one() -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]


def test_the_schema_rejects_what_it_should() -> None:
    """The validation can fail: a log without its version, or with a column 0, is refused."""
    good = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "kaohe"}}, "results": [
        {"message": {"text": "m"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "a.kh"}, "region": {"startLine": 1, "startColumn": 1}}}]}]}]}
    _validate(good)
    with pytest.raises(jsonschema.ValidationError):
        _validate({"runs": good["runs"]})
    bad = json.loads(json.dumps(good))
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0
    with pytest.raises(jsonschema.ValidationError):
        _validate(bad)


def test_one_log_for_every_policy_with_every_k_code_as_a_rule(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, log = _sarif(capsys, POLICY, BROKEN, "missing.kh")
    assert code == 1
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    [run_] = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "kaohe" and driver["version"]
    assert [r["id"] for r in driver["rules"]] == list(CODES)
    for rule in driver["rules"]:
        registered = CODES[rule["id"]]
        assert rule["name"] == registered.name and rule["shortDescription"]["text"] == registered.title
        assert rule["defaultConfiguration"]["level"] == registered.severity
        assert f"docs/{registered.anchor}" in rule["help"]["text"]
    assert run_["columnKind"] == "utf16CodeUnits"
    results = run_["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("K101", "error"), ("K180", "warning"), ("K004", "error")]
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    k101 = results[0]
    assert k101["message"]["text"] == "unknown name '专项资余'\nhint: did you mean '专项资金'?"
    location = k101["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "tests/data/checker/K101.kh", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 6, "startColumn": 41, "endLine": 6, "endColumn": 45}
    missing = results[2]["locations"][0]["physicalLocation"]
    assert missing == {"artifactLocation": {"uri": "missing.kh", "uriBaseId": "%SRCROOT%"}}  # no span: the file
    assert len(run_["artifacts"]) == 3


def test_locations_are_relative_percent_encoded_and_counted_in_utf16(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.kh").write_text(BASE, encoding="utf-8")
    (tmp_path / "考核.kh").write_text(CHILD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, log = _sarif(capsys, "考核.kh")
    assert code == 1
    [run_] = log["runs"]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    found = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in run_["results"]}
    assert set(found) == {"K101", "K111", "K180"}
    child_uri = found["K101"]["artifactLocation"]["uri"]
    assert child_uri == "%E8%80%83%E6%A0%B8.kh" and unquote(child_uri) == "考核.kh"
    assert child_uri.isascii()
    # `未知` starts at code point 46 of line 3; 𠀀 before it on the line makes that UTF-16 unit 47
    line = CHILD.splitlines()[2]
    assert line.index("未知") + 1 == 46
    assert found["K101"]["region"] == {"startLine": 3, "startColumn": 47, "endLine": 3, "endColumn": 49}
    # a diagnostic of the parent policy points into the parent file
    assert found["K180"]["artifactLocation"]["uri"] == "sub/base.kh"
    assert found["K180"]["region"] == {"startLine": 6, "startColumn": 1, "endLine": 6, "endColumn": 13}
    assert [a["location"]["uri"] for a in run_["artifacts"]] == [child_uri]


def test_a_clean_policy_has_no_results_and_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "ok.kh"
    policy.write_text(BASE.replace("fact 未用: int\n", ""), encoding="utf-8")
    code, log = _sarif(capsys, policy)
    assert code == 0 and log["runs"][0]["results"] == []


@pytest.mark.parametrize("strict", [False, True])
def test_the_exit_status_is_the_text_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path, strict: bool) -> None:
    warned = tmp_path / "warned.kh"
    warned.write_text(BASE, encoding="utf-8")  # K180: a warning only
    flags = ["--strict"] if strict else []
    for paths in ([warned], [POLICY], [BROKEN], [POLICY, warned]):
        text_code, _, _ = run(capsys, "check", *flags, *paths)
        sarif_code, log = _sarif(capsys, *flags, *paths)
        assert sarif_code == text_code, (paths, strict)
    assert text_code == (1 if strict else 0)


def test_help_uri_only_with_a_docs_address(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kaohe_rules.language.sarif.documentation_url", lambda: None)
    _, log = _sarif(capsys, BROKEN)
    driver = log["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver and all("helpUri" not in r for r in driver["rules"])
    _, log = _sarif(capsys, "--docs-url", "https://example.org/kaohe/", BROKEN)
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "https://example.org/kaohe/"
    rule = driver["rules"][list(CODES).index("K101")]
    assert rule["helpUri"] == "https://example.org/kaohe/" + help_page(CODES["K101"])
    assert urlsplit(rule["helpUri"]).fragment == "k101"
    assert help_page(CODES["K101"]).split("#")[0].endswith(".html")  # the site page, not the markdown file


@pytest.mark.parametrize("line, column, expected", [
    ("abc", 1, 1), ("abc", 3, 3), ("abc", 4, 4), ("abc", 6, 6),  # past the end keeps its distance
    ("单位甲", 3, 3),  # BMP ideographs: one unit each
    ("𠀀x", 2, 3), ("𠀀𠀀x", 3, 5), ("a😀b", 3, 4),
])
def test_utf16_column(line: str, column: int, expected: int) -> None:
    assert utf16_column(line, column) == expected


def test_docs_url_without_sarif_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--docs-url", "https://example.org/", BROKEN)
    assert code == 2 and out == "" and "--docs-url is for --format sarif" in err
