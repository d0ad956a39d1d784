"""Shared pytest configuration: the golden switch, the diagnostic-code guard, the markers.

The tests are laid out like the package (tests/README.md): each folder is a layer,
and its tests carry that layer's marker (``pytest -m language``); tests measured at
two seconds or more carry ``slow`` (``pytest -m "not slow"`` for a quick run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: Test folders and the marker their tests get (registered in pyproject.toml).
LAYERS = ("language", "codegen", "runtime", "batch", "audit", "testing", "cli", "project", "robustness", "serve", "lsp")

#: ``module::test`` of the tests that take two seconds or more (``pytest --durations=40``, 2 shared cores).
SLOW_TESTS = frozenset({
    "test_iteration_positions.py::test_positions_are_the_same_with_workers",
    "test_testing_strategies.py::test_a_vetoed_unit_shrinks_to_just_what_the_veto_needs",
    "test_testing_strategies.py::test_shrinks_to_a_small_readable_unit",
    "test_trace.py::test_documents_are_byte_identical_across_processes_and_hash_seeds",
    "test_trace.py::test_document_validates_against_the_schema",
    "test_robustness.py::test_mutated_karamay_policy_never_crashes",
    "test_robustness.py::test_hostile_facts_give_fact_errors_or_results",
    "test_fast_coercion.py::test_fused_assess_agrees_with_coercion_then_evaluation",
    "test_fast_coercion.py::test_fast_path_agrees_with_the_generic_coercer",
    "test_interpreter_differential.py::test_compiled_evaluator_agrees_with_the_interpreter",
    "test_generated_policies.py::test_fuzz_every_generated_policy_is_accepted_and_every_construct_occurs",
    "test_rb_fuzz_policies.py::test_rich_generated_policies_load_and_survive_hostile_units",
    "test_diff.py::test_generated_units_find_every_kind_of_change",
    "test_boundary.py::test_a_sample_of_karamay_mutants_is_killed_or_listed_as_equivalent",
    "test_diff.py::test_kaohe_diff_command",
    "test_diff.py::test_the_issue_example_from_the_command_line",
    "test_diff.py::test_directed_search_on_the_2014_policy",
    "test_diff.py::test_a_threshold_inside_a_record_is_searched_through_the_facts_that_hold_it",
    "test_dask.py::test_policy_is_shipped_to_worker_processes",
    "test_dask_cohort.py::test_standings_are_shipped_to_worker_processes",
    "test_whynot.py::test_law_why_not_minimal_sets_match_brute_force",
    "test_report.py::test_html_renders_in_headless_chromium",
    "test_laws.py::test_every_law_holds_on_karamay_2013_and_2014",
    "test_cache.py::test_parser_tables_from_the_cache_parse_the_same",
    "test_rb_fuzz_rows.py::test_fixed_seed_slice_under_the_watchdog",
    "test_rb_replay_mutations.py::test_a_mutated_trace_is_confirmed_disputed_or_refused",
    "test_rb_replay_mutations.py::test_the_shape_check_agrees_with_the_documented_schema",
    "test_rb_outputs_hypothesis.py::test_verify_leaves_the_current_directory_alone",
    "test_rb_outputs_hypothesis.py::test_diff_without_a_disk_cache_leaves_nothing_anywhere",
    "test_rb_outputs_hypothesis.py::test_an_explicit_hypothesis_storage_directory_is_honoured",
    "test_rb_cache_malformed.py::test_random_damage_to_any_entry_never_changes_the_load",
    "test_rb_fuzz_policies.py::test_generated_policies_load_and_evaluate",
    "test_rb_fuzz_policies.py::test_mutated_policies_give_policies_or_diagnostics",
    "test_rb_fuzz_harness.py::test_the_command_prints_its_figures",
    "test_columnar_bench.py::test_the_columnar_benchmark_runs",
    "test_serve_load.py::test_fifty_clients_get_their_own_answers",  # issue #15: 10 s of load by design
    "test_serve_reload.py::test_a_rewritten_policy_is_swapped_whole_while_requests_run",
    "test_serve_reload.py::test_a_policy_that_stops_loading_keeps_its_old_version_serving",
    "test_serve.py::test_the_openapi_document_validates_and_names_every_route",
    "test_fmt.py::test_laws_hold_on_generated_policies_with_comments",  # issue #14: the formatter's laws
    "test_fmt.py::test_laws_hold_on_the_karamay_policy",
    "test_fmt.py::test_whitespace_does_not_change_the_karamay_layout",
    "test_fmt.py::test_the_cst_parser_from_cached_tables_builds_the_same_trees",
})

#: Tests that open a headless Chromium (skipped without one).
BROWSER_TESTS = frozenset({"test_report.py::test_html_renders_in_headless_chromium"})


def slow_key(item: pytest.Item) -> str:
    """``module.py::function`` of a test, without its parameters: how SLOW_TESTS names it."""
    return f"{item.path.name}::{getattr(item, 'originalname', item.name)}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            parts = item.path.resolve().relative_to(TESTS).parts
        except ValueError:  # collected outside tests/ (the kaohe plugin's *.tests.toml files)
            continue
        if len(parts) > 1 and parts[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
        key = slow_key(item)
        if key in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
        if key in BROWSER_TESTS:
            item.add_marker(pytest.mark.browser)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files (tests/goldens/, tests/data/checker/*.expected) from the current "
                          "output (review the diff!)")


def pytest_configure(config: pytest.Config) -> None:
    guard_diagnostic_codes()


def guard_diagnostic_codes() -> None:
    """Make every ``Diagnostic`` built during the tests check its code against the registry.

    ``errors`` is a leaf and does not know ``kaohe_rules.language.codes``; the package
    builds diagnostics with plain strings.  Under pytest, a diagnostic with an
    unregistered code, or with another severity than the registered one, raises
    ``AssertionError`` where it is built, so the test that reaches it fails.
    """
    from kaohe_rules.errors import Diagnostic
    from kaohe_rules.language import codes

    original = Diagnostic.__init__
    if getattr(original, "kaohe_guarded", False):
        return

    def checked_init(self: Diagnostic, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        why = codes.problem(self.code, self.severity)
        if why is not None:
            raise AssertionError(why)

    checked_init.kaohe_guarded = True  # type: ignore[attr-defined]
    checked_init.__wrapped__ = original  # type: ignore[attr-defined]
    Diagnostic.__init__ = checked_init  # type: ignore[method-assign]


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with --update-goldens."""
    return bool(request.config.getoption("--update-goldens"))


GOLDENS = TESTS / "goldens"


@pytest.fixture
def golden(update_goldens: bool):  # type: ignore[no-untyped-def]
    """``golden(name, text)``: compare with tests/goldens/NAME, or rewrite it under --update-goldens."""
    import difflib

    def check(name: str, text: str) -> None:
        path = GOLDENS / name
        if update_goldens:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"no golden file tests/goldens/{name}; run pytest --update-goldens and review it")
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(list(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                     f"goldens/{name}", "now"))[:60])
            pytest.fail(f"output differs from tests/goldens/{name} (review; --update-goldens rewrites it):\n{diff}")

    return check


# The bundled Karamay policy and its sample units, loaded once per session for the tests that read them.
ROOT = GOLDENS.parent.parent
KARAMAY_POLICY = ROOT / "policies" / "karamay-2013.kh"
KARAMAY_UNITS = ROOT / "policies" / "karamay-2013" / "units.json"


@pytest.fixture(scope="session")
def karamay():  # type: ignore[no-untyped-def]
    """The Karamay 2013 policy, loaded once (a Policy is immutable: tests share it)."""
    import kaohe_rules

    return kaohe_rules.load(KARAMAY_POLICY)


@pytest.fixture
def karamay_units():  # type: ignore[no-untyped-def]
    """The bundled sample units as JSON gives them (numbers as Decimal), a fresh copy per test."""
    import json
    from decimal import Decimal

    document = json.loads(KARAMAY_UNITS.read_text(encoding="utf-8"), parse_float=Decimal)
    return document["units"] if isinstance(document, dict) else document


@pytest.fixture(autouse=True)
def _no_language_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests check kaohe's default texts (English messages, Chinese reports): a developer's
    zh_CN or en_US locale, or $KAOHE_LANG, must not switch them (``--lang`` defaults from these)."""
    for name in ("KAOHE_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
