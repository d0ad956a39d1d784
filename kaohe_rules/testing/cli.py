"""``kaohe test``, ``kaohe verify`` and ``kaohe diff`` (registered by :func:`register`).

Exit codes follow :mod:`kaohe_rules.cli`: 0 all good; 1 a case failed, a law
failed, coverage is under ``--fail-under`` or the policy has errors; 2 usage
(no test files, an unreadable units file, hypothesis missing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..cli import EXIT_OK, EXIT_POLICY, UsageError, load_policy
from ..errors import KaoheError
from ..messages import error_message, usage_error
from ..outfile import OutputFile

Handler = Callable[[argparse.Namespace], int]


def register(sub: Any) -> dict[str, Handler]:
    p = sub.add_parser("test", help="run the policy test files (*.tests.toml) next to policies")
    p.add_argument("paths", nargs="+", metavar="PATH", help="test files, or directories searched for *.tests.toml")
    p.add_argument("-k", dest="only", metavar="TEXT", help="only the cases whose name contains TEXT")
    p.add_argument("--coverage", action="store_true",
                   help="report the bands, vetoes, exceptions, deferrals, targets and rules the cases exercise, "
                        "and the edges of comparisons, conditions and defaults they try on both sides")
    p.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="fail when rule coverage or boundary coverage is below PERCENT (implies --coverage)")
    p.add_argument("--mutate", action="store_true",
                   help="apply small mutations to each policy and report those no case kills (see docs/testing.md)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-explain", action="store_true", help="do not explain failing cases")

    v = sub.add_parser("verify", help="check the built-in policy laws on generated units")
    v.add_argument("policies", nargs="+", metavar="POLICY")
    v.add_argument("--examples", type=int, default=50, metavar="N",
                   help="generated examples per category (default 50; more finds rarer failures)")
    v.add_argument("--seed", type=int, help="draw other examples (runs are reproducible without it)")
    v.add_argument("--units", metavar="FILE", help="real units: checked as they are and used as starting points")
    v.add_argument("--category", action="append", help="only this category (repeatable)")
    v.add_argument("--short", action="store_true", help="short explanations of failing units")
    v.add_argument("--lang", choices=("zh", "en"), default="zh")
    v.add_argument("--format", choices=("text", "json"), default="text")

    d = sub.add_parser("diff", help="what changed between two policies: in the text, and for which units")
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--units", metavar="FILE", help="real units to assess under both policies")
    d.add_argument("--examples", type=int, default=100, metavar="N",
                   help="generated units per category (default 100; 0 for none)")
    d.add_argument("--seed", type=int, help="draw other units (runs are reproducible without it)")
    d.add_argument("--no-directed", dest="directed", action="store_false",
                   help="skip directed search (units built on and beside every changed edge)")
    d.add_argument("--lang", choices=("zh", "en"), default="zh")
    d.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    d.add_argument("--output", "-o", metavar="FILE",
                   help="write the report to FILE (never over an input; see --force)")
    d.add_argument("--force", action="store_true", help="replace FILE if it exists (never an input)")
    return {"test": cmd_test, "verify": cmd_verify, "diff": cmd_diff}


def _read_units(path: str | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    from ..unitio import read_units

    try:
        return [dict(row.unit) for row in read_units(path) if row.unit is not None]
    except (OSError, KaoheError) as exc:
        raise usage_error("cannot_read_units", path=path, detail=str(exc), detail_zh=error_message(exc, "zh")) from None


def _need_hypothesis(command: str) -> None:
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise usage_error("needs_hypothesis", command=command) from None


@contextlib.contextmanager
def hypothesis_storage() -> Iterator[None]:
    """Keep hypothesis's files out of the current directory while ``verify``/``diff`` generate units.

    The settings kaohe builds have no example database (``database=None``), but
    hypothesis also caches the Unicode tables and the constants it finds in
    source files under its "home", ``./.hypothesis`` by default.  A command must
    not litter the directory it is run from, so the home is, in this order:
    ``$HYPOTHESIS_STORAGE_DIRECTORY`` when the user sets it (hypothesis's own
    setting, left alone); else ``hypothesis/`` in kaohe's private cache
    directory (:func:`kaohe_rules.cache.directory`, which saves about a second
    a run); else, with ``KAOHE_CACHE=0`` or no usable cache directory, a
    temporary directory removed when the command ends.  The previous home is
    restored afterwards (``verify`` may be called from a test session).
    """
    import os
    import tempfile

    from hypothesis import configuration

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    from .. import cache

    previous = vars(configuration).get("__hypothesis_home_directory")
    with contextlib.ExitStack() as stack:
        home = _private_subdirectory(cache.directory(), "hypothesis")
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kaohe-hypothesis-")))
        configuration.set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(previous if isinstance(previous, Path) else None)


def _private_subdirectory(root: Path | None, name: str) -> Path | None:
    """``root/name``, created 0700 and owned by this user only, or None when that cannot be had."""
    import os

    if root is None:
        return None
    path = root / name
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.lstat()
    except OSError:
        return None
    if not path.is_dir() or path.is_symlink():
        return None
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
        return None
    return path


# ---------------------------------------------------------------------- test
def cmd_test(args: argparse.Namespace) -> int:
    from .boundary import BoundaryCoverage, boundary_coverage
    from .casefile import CaseFileError, find_casefiles, run_casefile
    from .coverage import Coverage, coverage

    try:
        paths = find_casefiles(args.paths)
    except CaseFileError as exc:
        raise UsageError(str(exc)) from None
    if not paths:
        raise usage_error("no_test_files", paths=", ".join(args.paths))
    want_coverage = args.coverage or args.fail_under is not None
    if args.mutate:
        return _cmd_mutate(args, paths)
    cache: dict[Path, Any] = {}
    reports = [run_casefile(p, only=args.only, trace=want_coverage, policies=cache) for p in paths]
    out = sys.stdout
    passed = sum(1 for r in reports for o in r.outcomes if o.ok)
    failed = sum(1 for r in reports for o in r.outcomes if not o.ok) + sum(1 for r in reports if r.error)
    by_policy: dict[int, tuple[Any, list[Any]]] = {}
    for r in reports:
        if r.policy is not None:
            by_policy.setdefault(id(r.policy), (r.policy, []))[1].extend(o.result for o in r.outcomes if o.result)
    coverages = [coverage(policy, results) for policy, results in by_policy.values()] if want_coverage else []
    boundaries = [boundary_coverage(policy, results) for policy, results in by_policy.values()] if want_coverage else []
    status = EXIT_OK if failed == 0 else EXIT_POLICY
    # rule and boundary coverage are two measures, not one average: each must reach --fail-under
    measures: list[Coverage | BoundaryCoverage] = [*coverages, *boundaries]
    low = [c for c in measures if args.fail_under is not None and float(c.percent()) < args.fail_under]
    if low:
        status = EXIT_POLICY
    if args.format == "json":
        doc = {"ok": status == EXIT_OK, "passed": passed, "failed": failed,
               "files": [{"file": str(r.path), "error": r.error, "cases": [o.to_dict() for o in r.outcomes]}
                         for r in reports],
               "coverage": [c.to_dict() for c in coverages],
               "boundary_coverage": [b.to_dict() for b in boundaries]}
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return status
    for r in reports:
        if r.error:
            out.write(f"ERROR {r.path}: {r.error}\n\n")
            continue
        ok = sum(1 for o in r.outcomes if o.ok)
        out.write(f"{r.path}: {len(r.outcomes)} cases, {ok} passed, {len(r.outcomes) - ok} failed\n")
    for r in reports:
        for o in r.outcomes:
            if not o.ok:
                out.write("\n" + o.render(explain=not args.no_explain) + "\n")
    for c in coverages:
        out.write("\n" + c.render() + "\n")
    for b in boundaries:
        out.write("\n" + b.render() + "\n")
    for measure in low:
        what = "boundary coverage" if isinstance(measure, BoundaryCoverage) else "coverage"
        out.write(f"\n{what} of {measure.policy} is {measure.percent()}%, under --fail-under {args.fail_under:g}%\n")
    out.write(f"\n{passed} passed, {failed} failed\n")
    return status


def _cmd_mutate(args: argparse.Namespace, paths: list[Path]) -> int:
    """``kaohe test --mutate``: exit 1 when a mutant survives (or an equivalent-list entry is stale)."""
    from .mutate import mutation_reports

    reports = mutation_reports(paths)
    out = sys.stdout
    if args.format == "json":
        doc = {"ok": all(r.ok for r in reports), "mutation": [r.to_dict() for r in reports]}
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write("\n\n".join(r.render() for r in reports) + "\n")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_POLICY


# -------------------------------------------------------------------- verify
def cmd_verify(args: argparse.Namespace) -> int:
    _need_hypothesis("verify")
    from .verifier import verify

    if args.examples < 1:
        raise usage_error("examples_min")
    units = _read_units(args.units)
    status = EXIT_OK
    documents = []
    for path in args.policies:
        policy = load_policy(path)
        unknown = [c for c in args.category or () if c not in policy.categories]
        if unknown:
            raise usage_error("policy_no_category", path=path, unknown=", ".join(unknown), known=", ".join(policy.categories))
        with hypothesis_storage():
            report = verify(policy, examples=args.examples, categories=args.category, units=units, seed=args.seed,
                            full=not args.short, lang=args.lang)
        if not report.ok:
            status = EXIT_POLICY
        if args.format == "json":
            documents.append(report.to_dict() | {"file": path})
        else:
            sys.stdout.write(report.render() + "\n")
    if args.format == "json":
        sys.stdout.write(json.dumps(documents if len(documents) != 1 else documents[0], ensure_ascii=False, indent=2) + "\n")
    return status


# ---------------------------------------------------------------------- diff
def cmd_diff(args: argparse.Namespace) -> int:
    if args.examples < 0:
        raise usage_error("examples_negative")
    if args.examples:
        _need_hypothesis("diff")
    from .diff import diff_policies
    from .diffreport import render_json, render_markdown, render_text

    # checked before any work: the report must never replace a policy or the units it compares
    output = OutputFile(args.output, force=args.force,
                        inputs=[("the old policy file", args.old), ("the new policy file", args.new),
                                ("the units file", args.units)])
    old, new = load_policy(args.old), load_policy(args.new)
    output.protect_policy(old, "the old policy")
    output.protect_policy(new, "the new policy")
    units = _read_units(args.units)
    source = f"real units ({Path(args.units).name})" if args.units else "real units"
    with hypothesis_storage():
        report = diff_policies(old, new, units=units, examples=args.examples, seed=args.seed, units_source=source,
                               directed=args.directed)
    render = {"text": render_text, "markdown": render_markdown, "json": render_json}[args.format]
    text = render(report, args.lang)
    output.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK
