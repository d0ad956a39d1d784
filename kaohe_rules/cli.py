"""The ``kaohe`` command line (also ``python -m kaohe_rules``).

Exit codes (documented in docs/cli.md):

* 0 — success;
* 1 — the policy has errors (``check``, or any command that loads it), or a
  ``test``/``verify``/``replay`` found a disagreement;
* 2 — usage error (bad arguments, unreadable input file);
* 3 — some units could not be assessed (bad facts); the others were;
* 4 — internal error (a bug in kaohe; please report it).

No Python traceback reaches the user: every expected failure is a message.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

import attrs

from .errors import EvaluationError, KaoheError, PolicyError, UnitInputError

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_INTERNAL = 4

# Extra subcommands live in their own modules; each exposes ``register(subparsers)``.
EXTENSION_MODULES = (
    "kaohe_rules.audit.cli",
    "kaohe_rules.testing.cli",
)


class UsageError(Exception):
    """A command-line mistake: reported with exit code 2."""


def _out() -> IO[str]:
    return sys.stdout


def _configure_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(encoding="utf-8")
            except (ValueError, OSError):  # pragma: no cover - exotic streams
                pass


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    gap = max(width - display_width(text), 0)
    return (" " * gap + text) if right else (text + " " * gap)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A plain-text table aligned for CJK text (wide characters take two columns)."""
    widths = [display_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], display_width(cell))
    lines = ["  ".join(pad(h, widths[i], i in right) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(pad(c, widths[i], i in right) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines)


# ------------------------------------------------------------------ helpers
def load_policy(path: str) -> Any:
    from .policy import load

    return load(path)


def iter_units(path: str) -> Iterator[Any]:
    """Rows of a unit file (JSON, JSON Lines, CSV, XLSX); ``-`` reads JSON Lines from stdin."""
    from .unitio import read_units

    if path == "-":  # read as JSON Lines files are: same rows, indexes, locations and errors
        from .unitio import jsonl_row, jsonl_stream_texts

        for record in jsonl_stream_texts(sys.stdin.buffer, "<stdin>"):
            yield jsonl_row(record)
        return
    yield from read_units(path)


def money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}"


# ------------------------------------------------------------------- check
def cmd_check(args: argparse.Namespace) -> int:
    status = EXIT_OK
    out = _out()
    for path in args.policies:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            status = EXIT_POLICY
            if args.format == "json":
                out.write(json.dumps({"policy": path, "ok": False, "diagnostics": [d.to_dict() for d in exc.diagnostics]},
                                     ensure_ascii=False) + "\n")
            else:
                out.write(exc.render() + "\n\n")
                errors = sum(1 for d in exc.diagnostics if d.severity == "error")
                warnings = len(exc.diagnostics) - errors
                out.write(f"{path}: {errors} error(s), {warnings} warning(s)\n")
            continue
        warnings = policy.warnings
        if args.strict and warnings:
            status = EXIT_POLICY
        if args.format == "json":
            out.write(json.dumps({"policy": path, "ok": True, "name": policy.name, "hash": policy.content_hash,
                                  "diagnostics": [d.to_dict() for d in warnings]}, ensure_ascii=False) + "\n")
            continue
        for w in warnings:
            out.write(w.render() + "\n\n")
        c = policy.checked
        targets = len(c.targets)
        summary = (f"{path}: ok — {policy.label or policy.name}; {len(c.categories)} categories, {targets} targets, "
                   f"{len(c.vetoes)} vetoes, {len(c.facts)} facts, {len(c.params)} params"
                   + (f", {len(warnings)} warning(s)" if warnings else ""))
        out.write(summary + "\n")
    return status


# -------------------------------------------------------------------- eval
def cmd_eval(args: argparse.Namespace) -> int:
    workers = getattr(args, "workers", 1)
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    policy = load_policy(args.policy)
    out = _out()
    results: list[Any] = []
    errors: list[dict[str, object]] = []
    stream_jsonl = args.format == "jsonl"
    if stream_jsonl and workers > 1:
        return _eval_jsonl_parallel(policy, args, out, workers)
    documents: list[dict[str, object]] = []
    for row, item in _assess(policy, args.units, args):
        document: dict[str, object] | None = None
        if item is not None and item.error is None:
            document, item = _rendered(item, needs_document=args.format != "table")
        if item is None or item.error is not None:
            entry = _error_entry(row, item)
            errors.append(entry)
            if stream_jsonl:
                out.write(json.dumps({"error": entry}, ensure_ascii=False) + "\n")
            continue
        if stream_jsonl:
            out.write(json.dumps(document, ensure_ascii=False) + "\n")
        else:
            results.append(item.result)
            if document is not None:
                documents.append(document)
    if args.format == "json":
        doc = {
            "policy": {"name": policy.name, "label": policy.label, "hash": policy.content_hash},
            "results": documents,
            "errors": errors,
            "summary": summary_dict(policy, results, errors),
        }
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    elif args.format == "table":
        out.write(ranked_report(policy, results, errors) + "\n")
    for entry in errors:
        sys.stderr.write(_error_text(entry) + "\n")
    return EXIT_DATA if errors else EXIT_OK


def _eval_jsonl_parallel(policy: Any, args: argparse.Namespace, out: IO[str], workers: int) -> int:
    """``--format jsonl --workers N``: the workers assess and render; this process reads and writes, in order."""
    from .parallel import render_records_jsonl, render_rows_jsonl
    from .unitio import detect_format, read_jsonl_texts

    errors: list[dict[str, object]] = []
    buffer: IO[bytes] | None = getattr(out, "buffer", None)
    if buffer is not None and args.units != "-" and detect_format(args.units) == "jsonl":
        # the workers parse the lines too, and send the output as UTF-8 bytes to write as they are
        out.flush()
        for data, entry in render_records_jsonl(policy, read_jsonl_texts(args.units), workers):
            if entry is not None:
                errors.append(entry)
                data = (json.dumps({"error": entry}, ensure_ascii=False) + "\n").encode("utf-8")
            assert data is not None
            buffer.write(data)
        buffer.flush()
    else:
        for line, entry in render_rows_jsonl(policy, iter_units(args.units), workers):
            if entry is not None:
                errors.append(entry)
                line = json.dumps({"error": entry}, ensure_ascii=False)
            out.write(f"{line}\n")
    for entry in errors:
        sys.stderr.write(_error_text(entry) + "\n")
    return EXIT_DATA if errors else EXIT_OK


def _assess(policy: Any, path: str, args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
    if getattr(args, "workers", 1) > 1:  # process-parallel, same rows in the same order
        from .parallel import assess_rows

        yield from assess_rows(policy, iter_units(path), args.workers)
        return
    for row in iter_units(path):
        if row.unit is None:
            yield row, None
            continue
        yield row, attrs.evolve(policy.assess_row(row.index, row.unit), location=row.location)


def _rendered(item: Any, *, needs_document: bool) -> tuple[dict[str, object] | None, Any]:
    """The row's output document (and what the 通报 table reads), or the row turned into an error row."""
    if needs_document:
        return _render_row(item, lambda result: result.to_dict())

    def table_reads(result: Any) -> None:
        result.score, result.rating, result.consequences.total  # noqa: B018 - what the table reads, read now

    return _render_row(item, table_reads)


def _render_row(item: Any, render: Callable[[Any], Any]) -> tuple[Any, Any]:
    """``render(item.result)``, or None and the row turned into an error row if rendering fails.

    Rendering happens per row, while the row is at hand: a result that cannot be
    rendered costs that row only, never the rows after it (the batch contract).
    """
    try:
        return render(item.result), item
    except Exception as exc:
        error = EvaluationError(item.unit_id, f"internal error while rendering the result ({type(exc).__name__}); "
                                "the unit was not assessed")
        return None, attrs.evolve(item, result=None, error=error)


def _error_entry(row: Any, item: Any) -> dict[str, object]:
    if item is None:
        return {"index": row.index, "location": row.location, "unit": None, "problems": [{"message": row.error}]}
    err = item.error
    problems = [p.to_dict() for p in getattr(err, "problems", ())] or [{"message": str(err)}]
    return {"index": row.index, "location": row.location, "unit": item.unit_id, "problems": problems}


def _error_text(entry: dict[str, object]) -> str:
    head = f"{entry['location']}: unit {entry['unit']!r} not assessed:" if entry.get("unit") else f"{entry['location']}:"
    lines = [head]
    for p in entry["problems"]:  # type: ignore[attr-defined]
        if "fact" in p:
            text = f"  - {p['fact']}: {p['message']}"
            if p.get("expected"):
                text += f" (expected {p['expected']})"
            if p.get("hint"):
                text += f"; {p['hint']}"
        else:
            text = f"  - {p['message']}"
        lines.append(text)
    return "\n".join(lines)


def summary_dict(policy: Any, results: Sequence[Any], errors: Sequence[object]) -> dict[str, object]:
    bands: dict[str, dict[str, int]] = {}
    for r in results:
        bands.setdefault(r.category, {}).setdefault(r.rating, 0)
        bands[r.category][r.rating] += 1
    rewards = sum((r.consequences.total for r in results if r.consequences.kind == "reward"), Decimal("0.00"))
    fines = sum((r.consequences.total for r in results if r.consequences.kind == "fine"), Decimal("0.00"))
    return {
        "assessed": len(results),
        "not_assessed": len(errors),
        "ratings": bands,
        "vetoed": [r.unit_id for r in results if r.vetoed],
        "rewards_total": str(rewards),
        "fines_total": str(fines),
    }


def ranked_report(policy: Any, results: Sequence[Any], errors: Sequence[object]) -> str:
    """The city's 通报: per category, units ranked by score, with vetoes and money."""
    checked = policy.checked
    lines = [f"{policy.label or policy.name}" + (f"（{checked.header.document}）" if checked.header.document else ""),
             f"考核结果通报 / ranked results — {len(results)} 个单位" + (f", {len(errors)} 个未能考核" if errors else ""), ""]
    for category, info in checked.categories.items():
        rows_in = [r for r in results if r.category == category]
        if not rows_in:
            continue
        order = {r.name: i for i, r in enumerate(checked.ratings.ratings)}
        # like the city's 通报: by rating first (a vetoed unit is ranked with its rating), then by score
        rows_in.sort(key=lambda r: (order[r.rating], -r.score, r.unit_id))
        lines.append(f"【{info.label or category}】 满分 {info.total}")
        table = []
        for rank, r in enumerate(rows_in, 1):
            c = r.consequences
            amount = money(c.total) if c.kind != "none" else ""
            sign = "+" if c.kind == "reward" else "-" if c.kind == "fine" else ""
            # short names here; the full labels and evidence are in `kaohe explain`
            vetoes = "；".join(f"{v.name}〔{v.citation}〕" for v in r.vetoes)
            deferred = "；".join(f"{d.name} {len(d.items)}项→{d.to}" for d in r.deferred)
            table.append([str(rank), r.unit_id, r.name or "", _plain(r.score), r.rating_label,
                          vetoes or "—", (sign + amount) if amount else "—", deferred or ""])
        lines.append(render_table(["名次", "编号", "单位", "得分", "等次", "一票否决", "奖惩(元)", "移交"], table, right=(0, 3, 6)))
        counts = {rating.label or rating.name: 0 for rating in checked.ratings.ratings}
        for r in rows_in:
            counts[r.rating_label] += 1
        lines.append("  " + "，".join(f"{k} {v}" for k, v in counts.items()))
        lines.append("")
    summary = summary_dict(policy, results, errors)
    lines.append(f"奖励合计 {money(Decimal(str(summary['rewards_total'])))} 元；罚款合计 {money(Decimal(str(summary['fines_total'])))} 元")
    return "\n".join(lines)


def _plain(value: Decimal) -> str:
    from .numeric import normalize

    return str(normalize(value))


# ----------------------------------------------------------------- explain
def cmd_explain(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    out = _out()
    found = False
    status = EXIT_OK
    documents = []
    for row, item in _assess(policy, args.unit, args):
        unit_id = item.unit_id if item is not None else None
        if args.id and unit_id != args.id:
            continue
        found = True
        rendered = None
        if item is not None and item.error is None:
            if args.format == "json":
                from .audit.trace_json import trace_document

                rendered, item = _render_row(item, trace_document)
            else:
                rendered, item = _render_row(item, lambda r: r.explain(lang=args.lang, full=not args.short))
        if item is None or item.error is not None:
            sys.stderr.write(_error_text(_error_entry(row, item)) + "\n")
            status = EXIT_DATA
            continue
        if args.format == "json":
            documents.append(rendered)
        else:
            out.write(f"{rendered}\n")
    if args.format == "json" and documents:
        # one unit: the stable trace document (docs/trace-schema.json); several: a JSON array of them
        from .audit.trace_json import dumps

        out.write(dumps(documents[0]) if len(documents) == 1 else dumps(documents))
    if not found:
        raise UsageError(f"no unit {args.id!r} in {args.unit}" if args.id else f"no units in {args.unit}")
    return status


# ------------------------------------------------------------------- facts
def cmd_facts(args: argparse.Namespace) -> int:
    """What a unit must supply, per category: the contract between a policy and its data."""
    from .runtime.fact_sheet import fact_rows, unit_template

    policy = load_policy(args.policy)
    categories = [args.category] if args.category else list(policy.categories)
    for category in categories:
        if category not in policy.categories:
            raise UsageError(f"no category {category!r}; the policy has " + ", ".join(policy.categories))
    out = _out()
    if args.template:
        templates = [unit_template(policy, c) for c in categories]
        out.write(json.dumps(templates[0] if len(templates) == 1 else {"units": templates}, ensure_ascii=False,
                             indent=2) + "\n")
        return EXIT_OK
    for category in categories:
        info = policy.checked.categories[category]
        out.write(f"【{info.label or category}】 ({category})\n")
        rows = fact_rows(policy, category)
        out.write(render_table(["事实 fact", "类型 type", "必填 required", "约束 range", "说明 label", "条款 clause"],
                               rows) + "\n\n")
    return EXIT_OK


# -------------------------------------------------------------------- main
def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    parser = argparse.ArgumentParser(prog="kaohe", description="kaohe_rules: check policies, assess units, explain results.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}

    p = sub.add_parser("check", help="check policies and print diagnostics")
    p.add_argument("policies", nargs="+", metavar="POLICY")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    handlers["check"] = cmd_check

    p = sub.add_parser("eval", help="assess every unit of a file (JSON, JSON Lines, CSV, XLSX; '-' = JSON Lines on stdin)")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("units", metavar="UNITS")
    p.add_argument("--format", choices=("table", "json", "jsonl"), default="table")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="assess in N processes (same output, same order; jsonl streams)")
    handlers["eval"] = cmd_eval

    p = sub.add_parser("explain", help="explain the assessment of units clause by clause")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("unit", metavar="UNIT", help="a unit file (any format eval reads)")
    p.add_argument("--id", help="explain only the unit with this id")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--short", action="store_true", help="only the decisive reasons")
    p.add_argument("--format", choices=("text", "json"), default="text")
    handlers["explain"] = cmd_explain

    p = sub.add_parser("facts", help="list the facts a unit supplies (or print a unit template to fill in)")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("--category", help="only the facts of this category")
    p.add_argument("--template", action="store_true", help="print a JSON unit to fill in instead of the table")
    handlers["facts"] = cmd_facts

    for module_name in EXTENSION_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        handlers.update(module.register(sub))
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    _configure_streams()
    parser, handlers = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.version:
        from ._version import __version__

        _out().write(f"kaohe_rules {__version__}\n")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handlers[args.command](args)
    except PolicyError as exc:
        sys.stderr.write(exc.render() + "\n")
        return EXIT_POLICY
    except (UsageError, UnitInputError) as exc:
        sys.stderr.write(f"kaohe: {exc}\n")
        return EXIT_USAGE
    except KaoheError as exc:
        sys.stderr.write(f"kaohe: {exc}\n")
        return EXIT_DATA
    except BrokenPipeError:  # pragma: no cover - e.g. `kaohe eval ... | head`
        return EXIT_OK
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except Exception as exc:  # pragma: no cover - last line of defence: no tracebacks for users
        sys.stderr.write(f"kaohe: internal error ({type(exc).__name__}: {exc}); please report this with the input\n")
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
