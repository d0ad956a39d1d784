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
import contextlib
import importlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING

import attrs

from .batch.items import BatchItem, error_entry, error_text, rendered
from .batch.progress import Progress
from .columnar.frames import DEFAULT_BATCH_ROWS
from .errors import KaoheError, PolicyError, UnitInputError
from .errors import UsageError as UsageError
from .messages import error_message, resolve_lang, text, usage_error
from .outfile import OutputFile
from .reports.jsondoc import JsonDocumentWriter
from .reports.ranked import Summary, ranked_table
from .reports.ranked import money as money
from .reports.ranked import ranked_report as ranked_report
from .reports.ranked import summary_dict as summary_dict
from .reports.rows import RankedRow, Tally, rank, ranked_row
from .reports.table import display_width as display_width
from .reports.table import pad as pad
from .reports.table import render_table
from .reports.tabular import fact_namer
from .runtime.jsonline import json_line
from .runtime.result import Result
from .unitio import UnitRow

if TYPE_CHECKING:
    import polars as pl

    from .columnar.results import ResultColumns
    from .policy import Policy
    from .runtime.ledger import Attribution
    from .unitio import JsonlRecord, Ledgers

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_INTERNAL = 4

# Extra subcommands live in their own modules; each exposes ``register(subparsers)``.
EXTENSION_MODULES = (
    "kaohe_rules.audit.cli",
    "kaohe_rules.testing.cli",
    "kaohe_rules.serve.cli",  # issue #15: kaohe serve (Starlette/uvicorn imported only when it runs)
    "kaohe_rules.lsp.cli",  # issue #14: kaohe lsp, the language server
)


def out_stream() -> IO[str]:
    """Where commands write their output: standard output, looked up at each call (tests replace it)."""
    return sys.stdout


def _configure_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(encoding="utf-8")
            except (ValueError, OSError):  # pragma: no cover - exotic streams
                pass


# ------------------------------------------------------------------ helpers
def load_policy(path: str) -> Policy:
    from .policy import load

    return load(path)


def iter_units(path: str, policy: Policy | None = None, encoding: str | None = None,
               stdin: Sequence[JsonlRecord] | None = None) -> Iterator[UnitRow]:
    """Rows of a unit file (JSON, JSON Lines, CSV, XLSX); ``-`` reads JSON Lines from stdin.

    With the ``policy``, a header column that is no fact of it is one file-level
    error and a workbook may hold one sheet per category (:class:`~kaohe_rules.unitio.Expect`).
    A unit id seen before is an error row naming both rows (docs/cli.md): the first
    is assessed, the repeat is not — two rows of one unit would otherwise both be ranked.
    """
    from .unitio import UnitIds

    seen = UnitIds()
    for row in _unit_rows(path, policy, encoding, stdin):
        repeat = seen.repeat(row.unit.get("id"), row.location) if row.unit is not None else None
        yield row if repeat is None else UnitRow(row.index, row.location, None, repeat)


def _unit_rows(path: str, policy: Policy | None, encoding: str | None,
               stdin: Sequence[JsonlRecord] | None = None) -> Iterator[UnitRow]:
    from .unitio import read_units

    with_ledgers = policy is not None and bool(policy.program.ledgers)
    if path == "-":  # read as JSON Lines files are: same rows, indexes, locations and errors
        from .unitio import jsonl_row, jsonl_stream_texts, unit_records

        records = iter(stdin) if stdin is not None else jsonl_stream_texts(sys.stdin.buffer, "<stdin>")
        for record in unit_records(records, ledgers=with_ledgers):  # issue #16: ledger lines are no units
            yield jsonl_row(record)
        return
    from .unitio import Expect

    expect = Expect.of(policy.checked, policy.program.ledgers) if policy is not None else None
    yield from read_units(path, encoding=encoding, expect=expect)


_UNIT_EXTENSIONS = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xlsx", ".parquet")


def check_order(policy: str, units: str) -> None:
    """Refuse ``kaohe eval UNITS POLICY`` before reading either: "did you swap them?"."""
    import os

    policy_ext = os.path.splitext(policy)[1].lower()
    if policy_ext in _UNIT_EXTENSIONS:
        swapped = os.path.splitext(units)[1].lower() == ".kh"
        raise (usage_error("swapped", policy=policy, units=units, ext=policy_ext) if swapped else
               usage_error("units_not_policy", policy=policy, ext=policy_ext))


# ------------------------------------------------------------------- check
def cmd_check(args: argparse.Namespace) -> int:
    if args.format == "sarif":  # issue #14: one SARIF log for all the policies
        return cmd_check_sarif(args)
    if getattr(args, "docs_url", None):
        raise usage_error("docs_url_needs_sarif", fmt=args.format)
    status = EXIT_OK
    out = out_stream()
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
        found = policy.warnings
        if args.strict and found:
            status = EXIT_POLICY
        if args.format == "json":
            out.write(json.dumps({"policy": path, "ok": True, "name": policy.name, "hash": policy.content_hash,
                                  "diagnostics": [d.to_dict() for d in found]}, ensure_ascii=False) + "\n")
            continue
        for w in found:
            out.write(w.render() + "\n\n")
        c = policy.checked
        targets = len(c.targets)
        summary = (f"{path}: ok — {policy.label or policy.name}; {len(c.categories)} categories, {targets} targets, "
                   f"{len(c.vetoes)} vetoes, {len(c.facts)} facts, {len(c.params)} params"
                   + (f", {len(found)} warning(s)" if found else ""))
        out.write(summary + "\n")
    return status


# -------------------------------------------------------------------- eval
#: formats rendered only when every unit is read (ranked), and those written as bytes
RANKED_FORMATS = ("table", "xlsx", "csv")
#: JSON Lines rows written at once (a Karamay row is about 10 kB: one write each cost a flush each)
JSONL_BATCH = 32


def cmd_eval(args: argparse.Namespace) -> int:
    workers = getattr(args, "workers", 1)
    lang = getattr(args, "message_lang", None)
    if workers < 1:
        raise usage_error("workers", n=workers)
    check_order(args.policy, args.units)
    output = _eval_output(args)
    policy = load_policy(args.policy)
    if output is not None:
        output.protect_policy(policy)
    out = out_stream()
    progress = Progress.for_stream(sys.stderr, args.quiet, lambda n, rate: text("progress", lang, n=n, rate=rate))
    batch = batch_input(policy, args.units, args)  # issue #16: the ledgers, read before any unit is assessed
    if args.format == "parquet":  # issue #13: the results table, streamed record batch by record batch
        assert output is not None
        return eval_parquet(policy, args, output, progress, batch)
    if (args.format == "jsonl" and workers > 1 and policy.cohort is None  # a cohort is assessed together (_assess)
            and batch.ledgers is None and batch.stdin is None):  # so are the units of a batch with ledgers
        return _eval_jsonl_parallel(policy, args, out, workers, progress)
    with contextlib.ExitStack() as stack:
        document_writer: JsonDocumentWriter | None = None
        if args.format == "json":  # streamed: each result document written as it is made
            sink = out if output is None else stack.enter_context(output.stream())
            document_writer = JsonDocumentWriter(sink, {"name": policy.name, "label": policy.label,
                                                        "hash": policy.content_hash})
        status = _eval_rows(policy, args, out, output, progress, document_writer, batch)
    return status


def _eval_rows(policy: Policy, args: argparse.Namespace, out: IO[str], output: OutputFile | None,
               progress: Progress, document_writer: JsonDocumentWriter | None, batch: BatchInput | None = None) -> int:
    """The serial ``eval``: every row assessed, streamed (jsonl, json) or kept as a small row (ranked)."""
    lang = getattr(args, "message_lang", None)
    errors: list[dict[str, object]] = []
    stream_jsonl = args.format == "jsonl"
    summary = Summary()
    rows: list[RankedRow] = []  # the ranked formats: one small row per unit, not the result
    pending: list[str] = []  # jsonl lines not yet written: one write per JSONL_BATCH rows
    tally = Tally()
    program = policy.program
    for row, item in _assess(policy, args.units, args, batch):
        progress.tick()
        document: dict[str, object] | None = None
        ranked: RankedRow | None = None
        line: str | None = None
        if item is not None and item.error is None:
            if args.format in RANKED_FORMATS:
                ranked, item = rendered(item, lambda result: ranked_row(program, result))
            elif stream_jsonl:
                line, item = rendered(item, json_line)
            else:
                document, item = rendered(item, Result.to_dict)
        if item is None or item.error is not None:
            tally.not_assessed += 1
            entry = error_entry(row, item)
            errors.append(entry)
            if stream_jsonl:
                pending.append(json.dumps({"error": entry}, ensure_ascii=False))
            continue
        tally.assessed += 1
        if stream_jsonl:
            assert line is not None
            pending.append(line)
            if len(pending) >= JSONL_BATCH:
                out.write("\n".join(pending) + "\n")
                pending.clear()
        elif ranked is not None:
            rows.append(ranked)
        else:
            assert item.result is not None and document is not None and document_writer is not None
            summary.add(item.result)
            document_writer.add(document)
    if pending:
        out.write("\n".join(pending) + "\n")
    progress.close()
    if document_writer is not None:
        document_writer.finish(errors, summary.to_dict(len(errors)), ledger_document(batch))
    elif args.format == "table":
        _emit(output, ranked_table(program, rows, len(errors)) + "\n")
    elif args.format in ("xlsx", "csv"):
        ranked_rows = rank(rows, program.checked.categories)
        if args.format == "xlsx":
            from .reports.xlsx import ranked_workbook

            data = ranked_workbook(program, ranked_rows, errors, tally, getattr(args, "message_lang", None))
        else:
            from .reports.csvout import ENCODINGS, ranked_csv

            data = ranked_csv(program, ranked_rows, errors, tally, lang).encode(ENCODINGS[args.output_encoding])
        assert output is not None
        output.write_bytes(data)
    namer = fact_namer(program)
    for entry in errors:
        sys.stderr.write(error_text(entry, lang, namer) + "\n")
    if args.format in ("xlsx", "csv") and not args.quiet:
        sys.stderr.write(text("tally", lang, assessed=tally.assessed, not_assessed=tally.not_assessed,
                              total=tally.total) + "\n")
    ledger_problems = ledger_summary(policy, batch, lang)  # issue #16: never a silently dropped event
    return EXIT_DATA if errors or ledger_problems else EXIT_OK


def _eval_output(args: argparse.Namespace) -> OutputFile | None:
    """Where ``eval`` writes: standard output (None) or ``-o FILE``, checked before any unit is assessed."""
    path = getattr(args, "output", None)
    if args.format == "xlsx" and (path is None or path == "-"):
        raise usage_error("needs_output", fmt=args.format)
    if args.format == "xlsx":
        from .reports.xlsx import require_openpyxl

        require_openpyxl()
    if args.format == "jsonl" and path is not None and path != "-":
        raise usage_error("jsonl_no_output")
    if args.format == "parquet" and (path is None or path == "-"):
        raise usage_error("needs_output", fmt=args.format)
    engine = getattr(args, "engine", "auto")
    if engine != "auto" and args.format != "parquet":
        raise usage_error("engine_needs_parquet", engine=engine)
    if getattr(args, "output_encoding", "utf-8-sig") != "utf-8-sig" and args.format != "csv":
        raise usage_error("output_encoding_csv")
    if path is None or path == "-":
        return None if args.format != "csv" else OutputFile(None)
    return OutputFile(path, force=args.force, inputs=[("the policy file", args.policy), ("the units file", args.units)])


def _emit(output: OutputFile | None, data: str) -> None:
    if output is None:
        out_stream().write(data)
    else:
        output.write(data)


def _eval_jsonl_parallel(policy: Policy, args: argparse.Namespace, out: IO[str], workers: int,
                         progress: Progress) -> int:
    """``--format jsonl --workers N``: the workers assess and render; this process reads and writes, in order."""
    from .batch.jsonl import render_records_keyed, render_rows_jsonl
    from .unitio import UnitIds, detect_format, read_jsonl_texts

    errors: list[dict[str, object]] = []
    buffer: IO[bytes] | None = getattr(out, "buffer", None)
    if buffer is not None and args.units != "-" and detect_format(args.units) == "jsonl":
        # the workers parse the lines too, and send the output as UTF-8 bytes to write as they are,
        # with each row's id and location: a repeated id is refused here, as iter_units does
        out.flush()
        seen = UnitIds()
        records = read_jsonl_texts(args.units, ledgers=bool(policy.program.ledgers))  # issue #16: no ledger line
        for data, entry, (index, location, unit_id) in render_records_keyed(policy, records, workers):
            progress.tick()
            repeat = seen.repeat(unit_id, location)
            if repeat is not None:
                data, entry = None, error_entry(UnitRow(index, location, None, repeat), None)
            if entry is not None:
                errors.append(entry)
                data = (json.dumps({"error": entry}, ensure_ascii=False) + "\n").encode("utf-8")
            assert data is not None
            buffer.write(data)
        buffer.flush()
    else:
        for line, entry in render_rows_jsonl(policy, iter_units(args.units, policy, _encoding(args)), workers):
            progress.tick()
            if entry is not None:
                errors.append(entry)
                line = json.dumps({"error": entry}, ensure_ascii=False)
            out.write(f"{line}\n")
    progress.close()
    namer = fact_namer(policy.program)
    for entry in errors:
        sys.stderr.write(error_text(entry, getattr(args, "message_lang", None), namer) + "\n")
    return EXIT_DATA if errors else EXIT_OK


def _assess(policy: Policy, path: str, args: argparse.Namespace,
            batch: BatchInput | None = None) -> Iterator[tuple[UnitRow, BatchItem | None]]:
    if batch is not None and batch.ledgers is not None:  # issue #16: the events attributed over the batch
        yield from _assess_with_ledgers(policy, batch, args)
        return
    if batch is not None and batch.stdin is not None:  # a ledger policy read standard input: its rows are held
        yield from _assess_held(policy, batch, args)
        return
    if policy.cohort is not None:  # issue #11 C: the units are ranked across the batch, so assessed together
        yield from _assess_cohort(policy, path, args)
        return
    if getattr(args, "workers", 1) > 1:  # process-parallel, same rows in the same order
        from .batch.pool import assess_rows

        yield from assess_rows(policy, iter_units(path, policy, _encoding(args)), args.workers)
        return
    for row in iter_units(path, policy, _encoding(args)):
        if row.unit is None:
            yield row, None
            continue
        item = policy.assess_row(row.index, row.unit)
        # the location only matters to an error row (a good row's costs an attrs.evolve per unit)
        yield row, (item if item.error is None else attrs.evolve(item, location=row.location))


def _assess_cohort(policy: Policy, path: str, args: argparse.Namespace) -> Iterator[tuple[UnitRow, BatchItem | None]]:
    """A cohort policy's rows (issue #11 C), assessed together, in file order.

    A file is read once per pass by the cohort engine's streaming driver
    (:func:`kaohe_rules.cohort.stream.assess_rows`): between passes it keeps the compact
    standings, never the results.  Standard input cannot be read twice: its rows are held,
    and a row that could not be read goes in as a unit the policy refuses, so that its
    absence makes the results provisional (its category is unknown: every category)
    instead of silently ranking the others without it.
    """
    if path != "-":
        from .cohort.stream import assess_rows as assess_cohort_rows

        yield from assess_cohort_rows(policy, lambda: iter_units(path, policy, _encoding(args)))
        return
    rows = list(iter_units(path, policy, _encoding(args)))
    items = policy.evaluate_cohort([row.unit if row.unit is not None else _UNREADABLE for row in rows])
    for row, item in zip(rows, items):
        if row.unit is None:
            yield row, None
            continue
        yield row, attrs.evolve(item, index=row.index, location=row.location if item.error is not None else None)


def _assess_held(policy: Policy, batch: BatchInput, args: argparse.Namespace
                 ) -> Iterator[tuple[UnitRow, BatchItem | None]]:
    """Standard input's held rows, without ledgers: each unit assessed with its own lists."""
    rows = list(iter_units(batch.path, policy, _encoding(args), batch.stdin))
    if policy.cohort is not None:
        items = policy.evaluate_cohort([row.unit if row.unit is not None else _UNREADABLE for row in rows])
        for row, item in zip(rows, items):
            yield row, (None if row.unit is None else
                        attrs.evolve(item, index=row.index, location=row.location if item.error is not None else None))
        return
    for row in rows:
        if row.unit is None:
            yield row, None
            continue
        item = policy.assess_row(row.index, row.unit)
        yield row, (item if item.error is None else attrs.evolve(item, location=row.location))


#: what a cohort batch assesses in place of a row that could not be read (refused, so the category is provisional)
_UNREADABLE: dict[str, object] = {}


def _encoding(args: argparse.Namespace) -> str | None:
    encoding: str | None = getattr(args, "encoding", None)
    return encoding


# ----------------------------------------------------------------- ledgers (issue #16)
def add_ledger_option(parser: argparse.ArgumentParser) -> None:
    """``--ledger NAME=FILE`` (repeatable) on every command that assesses a batch."""
    parser.add_argument("--ledger", action="append", default=[], metavar="NAME=FILE",
                        help="a ledger of the policy from its own file: CSV/TSV, XLSX (book.xlsx#SHEET), JSON "
                             "(an array of events) or JSON Lines (repeatable; see docs/ledgers.md)")


@attrs.define
class BatchInput:
    """A batch as a command reads it: the units file and the ledgers beside it (issue #16).

    ``stdin`` holds standard input's records when a ledger policy reads its units there
    (the ledger lines may come after the units, and standard input cannot be read twice).
    ``attribution`` is filled in once the batch is assessed with its ledgers.
    """

    path: str
    ledgers: Ledgers | None = None
    stdin: list[JsonlRecord] | None = None
    attribution: Attribution | None = None

    def events(self) -> dict[str, list[Mapping[str, object]]] | None:
        return self.ledgers.events() if self.ledgers is not None else None


def batch_input(policy: Policy, path: str, args: argparse.Namespace) -> BatchInput:
    """The units path and every ledger of the batch: those in the units file and each ``--ledger``.

    A policy without ledgers given one is refused (``--ledger``, a document's "ledgers");
    its JSON Lines event lines are error rows of the unit stream.  A ledger policy whose
    input carries no ledger assesses each unit with its own lists (``ledgers`` None).
    """
    options: list[str] = getattr(args, "ledger", None) or []
    specs = policy.program.ledgers
    if not specs and not options:
        return BatchInput(path)
    from .unitio import jsonl_stream_texts, ledger_shapes, read_ledgers

    stdin = list(jsonl_stream_texts(sys.stdin.buffer, "<stdin>")) if path == "-" and specs else None
    ledgers = read_ledgers(None if path == "-" else path, options, shapes=ledger_shapes(policy.checked, specs),
                           encoding=_encoding(args), stdin_records=stdin)
    return BatchInput(path, ledgers if ledgers else None, stdin)


def _assess_with_ledgers(policy: Policy, batch: BatchInput, args: argparse.Namespace
                         ) -> Iterator[tuple[UnitRow, BatchItem | None]]:
    """The rows of a batch assessed with its ledgers: the events are attributed over the batch's units.

    The units are held (attribution reads every unit's join facts; the ledgers are small);
    a cohort policy from a file goes through the stream driver with the ledgers.
    """
    assert batch.ledgers is not None
    events = batch.ledgers.events()
    if policy.cohort is not None and batch.stdin is None:  # a file: the cohort driver streams it, pass by pass
        from .cohort.stream import assess_rows as assess_cohort_rows

        def read() -> Iterator[UnitRow]:
            return iter_units(batch.path, policy, _encoding(args))

        batch.attribution = policy.attribute((row.unit for row in read() if row.unit is not None), events)
        yield from assess_cohort_rows(policy, read, ledgers=events)
        return
    rows = list(iter_units(batch.path, policy, _encoding(args), batch.stdin))
    units = [row.unit for row in rows if row.unit is not None]
    batch.attribution = policy.attribute(units, events)
    if policy.cohort is not None:
        items = policy.evaluate_cohort([row.unit if row.unit is not None else _UNREADABLE for row in rows],
                                       ledgers=events)
        for row, item in zip(rows, items):
            if row.unit is None:
                yield row, None
                continue
            yield row, attrs.evolve(item, index=row.index, location=row.location if item.error is not None else None)
        return
    assessed = iter(policy.evaluate_many(units, ledgers=events))
    for row in rows:
        if row.unit is None:
            yield row, None
            continue
        item = next(assessed)
        yield row, attrs.evolve(item, index=row.index, location=row.location if item.error is not None else None)


def assess_input(policy: Policy, batch: BatchInput, args: argparse.Namespace
                 ) -> Iterator[tuple[UnitRow, BatchItem | None]]:
    """Every row of a batch with its assessment, as ``kaohe eval`` makes them (the ledgers attributed first)."""
    yield from _assess(policy, batch.path, args, batch)


def ledger_document(batch: BatchInput | None) -> dict[str, object] | None:
    """``kaohe eval --format json``'s ``"ledgers"`` (a batch with ledgers only): the events removed, every
    unattributed event with why, the ledger problems and the rows that could not be read."""
    if batch is None or batch.attribution is None:
        return None
    document = batch.attribution.to_dict()
    return {"ledgers": {"removed": document["removed"], "unattributed": document["unattributed"],
                        "problems": document["problems"],
                        "unreadable": [{"ledger": r.ledger, "row": r.row, "location": r.location, "error": r.error}
                                       for r in (batch.ledgers.problems() if batch.ledgers is not None else [])]}}


def ledger_summary(policy: Policy, batch: BatchInput | None, lang: str | None) -> bool:
    """``kaohe eval``'s standard-error lines on the ledgers: counts, unattributed events, problems.

    Returns whether the ledgers had problems (the batch then exits 3: some data could not be used).
    Nothing is written for a batch without ledgers.
    """
    if batch is None or batch.attribution is None:
        return False
    from .reports.ledgers import summary_lines

    unreadable = [(r.ledger, r.row, r.location, r.error or "") for r in batch.ledgers.problems()] \
        if batch.ledgers is not None else []
    for line in summary_lines(batch.attribution, policy.program.ledgers, lang, unreadable=unreadable):
        sys.stderr.write(line + "\n")
    return bool(batch.attribution.problems or unreadable)


# ----------------------------------------------------------------- explain
def cmd_explain(args: argparse.Namespace) -> int:
    check_order(args.policy, args.unit)
    policy = load_policy(args.policy)
    out = out_stream()
    found = False
    status = EXIT_OK
    documents = []
    batch = batch_input(policy, args.unit, args)  # issue #16: the ledgers of the unit's batch
    for row, item in _assess(policy, args.unit, args, batch):
        unit_id = item.unit_id if item is not None else None
        if args.id and unit_id != args.id:
            continue
        found = True
        shown: object = None
        if item is not None and item.error is None:
            if args.format == "json":
                from .audit.trace_json import trace_document

                shown, item = rendered(item, trace_document)
            else:
                shown, item = rendered(item, lambda r: r.explain(lang=args.lang, full=not args.short))
        if item is None or item.error is not None:
            sys.stderr.write(error_text(error_entry(row, item), args.message_lang, fact_namer(policy.program)) + "\n")
            status = EXIT_DATA
            continue
        if args.format == "json":
            documents.append(shown)
        else:
            out.write(f"{shown}\n")
    if args.format == "json" and documents:
        # one unit: the stable trace document (docs/trace-schema.json); several: a JSON array of them
        from .audit.trace_json import dumps

        out.write(dumps(documents[0]) if len(documents) == 1 else dumps(documents))
    if not found:
        raise usage_error("no_unit_id", id=args.id, path=args.unit) if args.id else \
            usage_error("no_units", path=args.unit)
    return status


# ------------------------------------------------------------------- facts
def cmd_facts(args: argparse.Namespace) -> int:
    """What a unit must supply, per category: the contract between a policy and its data."""
    from .runtime.fact_sheet import fact_rows, unit_template

    policy = load_policy(args.policy)
    from .unitio import category_spellings

    spellings = category_spellings(policy.checked)  # by name or label, as eval reads a unit's category
    categories = [spellings.get(args.category, args.category)] if args.category else list(policy.categories)
    for category in categories:
        if category not in policy.categories:
            raise usage_error("no_category", category=category, known=", ".join(
                f"{name} ({info.label})" if info.label else name for name, info in policy.checked.categories.items()))
    fmt = getattr(args, "format", "json")
    if fmt == "xlsx" and not args.template:
        raise usage_error("xlsx_needs_template")
    if args.template and fmt == "xlsx":
        return _write_xlsx_template(policy, categories, args)
    if args.template:
        # always the {"units": [...]} document eval reads; required facts are null, so unfilled it is refused
        units = [unit_template(policy, c) for c in categories]
        document: dict[str, object] = {"units": units}
        if policy.program.ledgers:  # issue #16: the ledgers beside the units, one event to fill in each
            from .reports.template import ledger_template

            fed = {spec.fact for spec in policy.program.ledgers}
            for unit in units:
                facts = unit["facts"]
                assert isinstance(facts, dict)
                unit["facts"] = {k: v for k, v in facts.items() if k not in fed}
            document["ledgers"] = {spec.name: [ledger_template(policy, spec)] for spec in policy.program.ledgers}
        text = json.dumps(document, ensure_ascii=False, indent=2)
        _write_text(text + "\n", args)
        return EXIT_OK
    out = out_stream()
    for category in categories:
        info = policy.checked.categories[category]
        out.write(f"【{info.label or category}】 ({category})\n")
        rows = fact_rows(policy, category)
        out.write(render_table(["事实 fact", "类型 type", "必填 required", "约束 range", "说明 label", "条款 clause"],
                               rows) + "\n\n")
    return EXIT_OK


def _write_text(text: str, args: argparse.Namespace) -> None:
    output = getattr(args, "output", None)
    if output is None or output == "-":
        out_stream().write(text)
        return
    from .outfile import OutputFile

    OutputFile(output, force=args.force, inputs=[("the policy file", args.policy)]).write(text)


def _write_xlsx_template(policy: Policy, categories: list[str], args: argparse.Namespace) -> int:
    """``facts --template --format xlsx -o FILE``: the workbook, written atomically, never over an input."""
    from .outfile import OutputFile, write_atomically
    from .reports.template import xlsx_template

    output = getattr(args, "output", None)
    if output is None or output == "-":
        raise usage_error("template_needs_output")
    OutputFile(output, force=args.force, inputs=[("the policy file", args.policy)])  # checks before the work
    try:
        data = xlsx_template(policy, categories, policy.program.ledgers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    import os

    try:
        write_atomically(os.path.realpath(output), data, overwrite=args.force, shown=output)
    except OSError as exc:
        raise usage_error("cannot_write", path=output, detail=str(exc.strerror or exc)) from None
    return EXIT_OK


# -------------------------------------------------------------------- main
def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    parser = argparse.ArgumentParser(prog="kaohe", description="kaohe_rules: check policies, assess units, explain results.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}

    p = sub.add_parser("check", help="check policies and print diagnostics")
    p.add_argument("policies", nargs="+", metavar="POLICY")
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help="text (default), json (one line per policy), sarif (one SARIF 2.1.0 log, for CI annotations)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--docs-url", metavar="URL",
                   help="--format sarif: the docs site's address, for each rule's helpUri (default: the package's "
                        "Documentation URL, if it has one)")
    handlers["check"] = cmd_check

    p = sub.add_parser("eval", help="assess every unit of a file (JSON, JSON Lines, CSV, XLSX; '-' = JSON Lines on stdin)")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("units", metavar="UNITS")
    p.add_argument("--format", choices=("table", "json", "jsonl", "xlsx", "csv", "parquet"), default="table",
                   help="table (the 通报, default), json, jsonl (streams), xlsx (needs -o), csv")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="assess in N processes (same output, same order; jsonl streams)")
    p.add_argument("--encoding", metavar="ENC",
                   help="the encoding of a CSV units file (default: UTF-8 or GB18030, detected)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE instead of standard output (never over an input; see --force)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists (never an input)")
    p.add_argument("--output-encoding", choices=("utf-8-sig", "utf-8", "gb18030"), default="utf-8-sig",
                   help="encoding of --format csv output (default UTF-8 with a BOM, which Chinese Excel opens)")
    p.add_argument("--quiet", action="store_true", help="no progress line on standard error")
    # issue #13: the results table (--format parquet) by the columnar engine or per unit
    p.add_argument("--engine", choices=("auto", "columnar", "per-unit"), default="auto",
                   help="how --format parquet's results table is made: columnar where the policy allows it "
                        "(auto, columnar) or every unit per unit (per-unit); the same results either way")
    add_ledger_option(p)
    handlers["eval"] = cmd_eval

    p = sub.add_parser("explain", help="explain the assessment of units clause by clause")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("unit", metavar="UNIT", help="a unit file (any format eval reads)")
    p.add_argument("--id", help="explain only the unit with this id")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--short", action="store_true", help="only the decisive reasons")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--encoding", metavar="ENC", help="the encoding of CSV files (default: UTF-8 or GB18030, detected)")
    add_ledger_option(p)
    handlers["explain"] = cmd_explain

    p = sub.add_parser("facts", help="list the facts a unit supplies (or print a unit template to fill in)")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("--category", help="only the facts of this category")
    p.add_argument("--template", action="store_true",
                   help="a template to fill in instead of the table: JSON, or an Excel workbook with --format xlsx")
    p.add_argument("--format", choices=("json", "xlsx"), default="json", help="the template's format")
    p.add_argument("-o", "--output", metavar="FILE", help="write the template to FILE (needed for xlsx)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    handlers["facts"] = cmd_facts

    # issue #14: the formatter
    p = sub.add_parser("fmt", help="format policies in the canonical layout (in place; --check, --diff; '-' = stdin)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="policy files, folders (searched for *.kh), or - for stdin")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; list the files that would change, exit 1 if any")
    mode.add_argument("--diff", action="store_true", help="write nothing; print a unified diff, exit 1 if any file would change")
    handlers["fmt"] = cmd_fmt

    for module_name in EXTENSION_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        handlers.update(module.register(sub))
    for command in sub.choices.values():
        # --lang on every command; its default is decided in main (messages.resolve_lang), not here
        if not any("--lang" in action.option_strings for action in command._actions):
            command.add_argument("--lang", choices=("zh", "en"), default=None,
                                 help="language of messages (and reports): zh or en; default from "
                                      "$KAOHE_LANG or the locale, see docs/cli.md")
        command.set_defaults(lang=None)
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

        out_stream().write(f"kaohe_rules {__version__}\n")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    # None: nothing asked for a language — English messages, Chinese reports, as always
    args.message_lang = resolve_lang(args.lang)
    args.lang = args.message_lang or "zh"
    prefix = text("prefix", args.message_lang)
    try:
        return handlers[args.command](args)
    except PolicyError as exc:
        sys.stderr.write(exc.render() + "\n")
        return EXIT_POLICY
    except (UsageError, UnitInputError) as exc:
        sys.stderr.write(f"{prefix}{error_message(exc, args.message_lang)}\n")
        return EXIT_USAGE
    except KaoheError as exc:
        sys.stderr.write(f"{prefix}{exc}\n")
        return EXIT_DATA
    except BrokenPipeError:  # pragma: no cover - e.g. `kaohe eval ... | head`
        return EXIT_OK
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except Exception as exc:  # pragma: no cover - last line of defence: no tracebacks for users
        sys.stderr.write(prefix + text("internal", args.message_lang, kind=type(exc).__name__, detail=exc) + "\n")
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# ------------------------------------------------------------ eval --format parquet (issue #13)
#: units per record batch of ``eval --format parquet``: the columnar engine's own batch (bounded memory)
TABLE_BATCH_ROWS = DEFAULT_BATCH_ROWS


def eval_parquet(policy: Policy, args: argparse.Namespace, output: OutputFile, progress: Progress,
                 batch: BatchInput) -> int:
    """``kaohe eval POLICY UNITS --format parquet -o FILE``: the results table, one record batch at a time.

    The columnar engine assesses the rows it can (``--engine auto``/``columnar``), every other row is
    assessed per unit; ``--engine per-unit`` assesses all per unit.  A cohort or ledger policy is
    assessed as ``eval`` always does (over the whole batch) and written as the same table.  Every
    error row (a unit not assessed, a record that could not be read, a repeated id) is a row of the
    table (``status`` = ``error``) and is reported on standard error as the other formats report it;
    the exit status is theirs (3 when a row was not assessed).
    """
    from .columnar.engine import is_whole_batch, table_support
    from .columnar.results import result_columns
    from .columnar.stream import ResultsWriter

    lang = getattr(args, "message_lang", None)
    columns = result_columns(policy.checked)
    per_unit = (getattr(args, "engine", "auto") == "per-unit" or is_whole_batch(policy)
                or batch.ledgers is not None or batch.stdin is not None)
    support = table_support(policy)
    if getattr(args, "engine", "auto") != "per-unit" and support.fallbacks:  # the fallback warning, once
        sys.stderr.write(f"warning: {support.message()}\n")
    entries: list[dict[str, object]] = []
    rows = 0
    with output.binary_stream() as sink:
        writer = ResultsWriter(sink, columns)
        try:
            frames = (_per_unit_frames(policy, args, batch, columns, entries) if per_unit else
                      _columnar_frames(policy, args, columns, entries))
            for frame in frames:
                writer.write(frame)
                rows += frame.height
                progress.tick(frame.height)
        finally:
            writer.close()
    progress.close()
    namer = fact_namer(policy.program)
    for entry in entries:
        sys.stderr.write(error_text(entry, lang, namer) + "\n")
    if not args.quiet:
        sys.stderr.write(text("tally", lang, assessed=rows - len(entries), not_assessed=len(entries),
                              total=rows) + "\n")
    ledger_problems = ledger_summary(policy, batch, lang)
    return EXIT_DATA if entries or ledger_problems else EXIT_OK


def _per_unit_frames(policy: Policy, args: argparse.Namespace, batch: BatchInput, columns: ResultColumns,
                     entries: list[dict[str, object]]) -> Iterator[pl.DataFrame]:
    """The rows ``eval`` assesses (any input, any policy), as results-table frames of TABLE_BATCH_ROWS rows."""
    rows: list[dict[str, object]] = []
    for row, item in _assess(policy, args.units, args, batch):
        if item is not None and item.result is not None:
            rows.append(columns.row(item.result))
        else:
            entries.append(error_entry(row, item))
            rows.append(_table_error_row(columns, row, item))
        if len(rows) >= TABLE_BATCH_ROWS:
            yield columns.frame(rows)
            rows = []
    if rows:
        yield columns.frame(rows)


def _table_error_row(columns: ResultColumns, row: UnitRow, item: BatchItem | None,
                     message: str | None = None) -> dict[str, object]:
    """The results-table row of a row not assessed: the unit's id, name and category as given, the message."""
    unit = row.unit or {}
    name, category, given = unit.get("name"), unit.get("category"), unit.get("id")
    unit_id = item.unit_id if item is not None else (given if isinstance(given, str) else None)
    if message is None:
        message = str(item.error) if item is not None else f"{row.location}: {row.error}"
    return columns.error_row(unit_id, name if isinstance(name, str) else None,
                             category if isinstance(category, str) else None, message)


def _columnar_frames(policy: Policy, args: argparse.Namespace, columns: ResultColumns,
                     entries: list[dict[str, object]]) -> Iterator[pl.DataFrame]:
    """The columnar engine's results, one frame per record batch: a Parquet file read batch by batch, any
    other input read by its reader (the clerk's spellings), then held as an exact table."""
    if args.units != "-" and args.units.lower().endswith(".parquet"):
        yield from _parquet_results(policy, args.units, columns, entries)
        return
    chunk: list[UnitRow] = []
    for row in iter_units(args.units, policy, _encoding(args)):
        chunk.append(row)
        if len(chunk) >= TABLE_BATCH_ROWS:
            yield _columnar_chunk(policy, columns, chunk, entries)
            chunk = []
    if chunk:
        yield _columnar_chunk(policy, columns, chunk, entries)


def _parquet_results(policy: Policy, path: str, columns: ResultColumns,
                     entries: list[dict[str, object]]) -> Iterator[pl.DataFrame]:
    """A Parquet file's results, record batch by record batch (ids given twice refused, as eval does)."""
    import polars as pl

    from .columnar.engine import iter_results
    from .columnar.frames import unit_of
    from .columnar.stream import error_rows, location_of, parquet_frames
    from .unitio import UnitIds

    seen = pl.DataFrame(schema={"id": pl.String, "row": pl.Int64})  # the text ids before this batch, and where
    first: dict[str, str] = {}  # where each repeated id was first given (filled only for repeats)
    offset = 0
    for frame in parquet_frames(path, TABLE_BATCH_ROWS):
        results = next(iter_results(policy, iter([frame])))
        repeats: dict[int, str] = {}
        ids = frame.get_column("id") if "id" in frame.columns and frame.schema["id"] == pl.String else None
        if ids is not None:
            fresh = ids.is_not_null() & ids.is_first_distinct() & ~ids.is_in(seen.get_column("id").implode())
            repeated = (ids.is_not_null() & ~fresh).arg_true().to_list()
            if repeated:  # rare: each repeat refused naming the row where the id was first given
                checker = UnitIds()
                for index in repeated:
                    unit_id = ids[index]
                    if unit_id not in first:
                        earlier = seen.filter(pl.col("id") == unit_id).get_column("row")
                        at = earlier[0] if earlier.len() else offset + ids.to_list().index(unit_id)
                        first[unit_id] = location_of(path, at)
                    checker.repeat(unit_id, first[unit_id])
                    refusal = checker.repeat(unit_id, location_of(path, offset + index))
                    if refusal is not None:
                        repeats[index] = refusal
                rows = results.to_dicts()
                for index, refusal in repeats.items():
                    rows[index] = columns.error_row(ids[index], None, None, refusal)
                results = columns.frame(rows)
            rows_here = pl.int_range(offset, offset + frame.height, dtype=pl.Int64, eager=True)
            seen = pl.concat([seen, pl.DataFrame({"id": ids.filter(fresh), "row": rows_here.filter(fresh)})])
        for index in error_rows(results):
            at = offset + index
            unit_row = UnitRow(at, location_of(path, at), unit_of(frame.row(index, named=True)), None)
            if index in repeats:
                entries.append(error_entry(UnitRow(at, unit_row.location, None, repeats[index]), None))
                continue
            assert unit_row.unit is not None
            item = policy.assess_row(at, unit_row.unit)  # the error again, with every problem, for stderr
            entries.append(error_entry(unit_row, attrs.evolve(item, location=unit_row.location)))
        offset += frame.height
        yield results


def _columnar_chunk(policy: Policy, columns: ResultColumns, chunk: list[UnitRow],
                    entries: list[dict[str, object]]) -> pl.DataFrame:
    """One chunk of rows read by a clerk-facing reader: the exact table through the columnar engine; the
    rows it cannot hold exactly per unit from the unit itself; unreadable rows as error rows."""
    from .columnar.engine import iter_results
    from .columnar.stream import error_rows, exact_frame

    readable = [row for row in chunk if row.unit is not None]
    frame, exact = exact_frame([row.unit for row in readable if row.unit is not None])
    held = [i for i, ok in enumerate(exact) if ok]
    results = next(iter_results(policy, iter([frame[held]]))) if held else columns.frame([])
    failed = set(error_rows(results))
    if len(held) == len(chunk) and not failed:
        return results
    by_row = {readable[i].index: k for k, i in enumerate(held)}
    result_rows = results.to_dicts()
    out: list[dict[str, object]] = []
    for row in chunk:
        if row.unit is None:
            entries.append(error_entry(row, None))
            out.append(_table_error_row(columns, row, None))
            continue
        k = by_row.get(row.index)
        if k is not None and k not in failed:
            out.append(result_rows[k])
            continue
        item = policy.assess_row(row.index, row.unit)  # not held exactly, or an error: its own result or error
        if item.result is not None:
            out.append(columns.row(item.result))
        else:
            item = attrs.evolve(item, location=row.location)
            entries.append(error_entry(row, item))
            out.append(_table_error_row(columns, row, item))
    return columns.frame(out)


# ------------------------------------------------------- check --format sarif (issue #14)
def cmd_check_sarif(args: argparse.Namespace) -> int:
    """``kaohe check --format sarif``: every policy's diagnostics in one SARIF 2.1.0 log.

    The exit status is the text format's: 1 when a policy has errors (or warnings with
    ``--strict``), else 0.  The log is written whole at the end, as one JSON document.
    """
    from .errors import Diagnostic
    from .language.sarif import documentation_url, sarif_log

    status = EXIT_OK
    checked: list[tuple[str, Sequence[Diagnostic]]] = []
    for path in args.policies:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            status = EXIT_POLICY
            checked.append((path, exc.diagnostics))
            continue
        if args.strict and policy.warnings:
            status = EXIT_POLICY
        checked.append((path, policy.warnings))
    log = sarif_log(checked, docs_url=args.docs_url or documentation_url())
    out_stream().write(json.dumps(log, ensure_ascii=False, indent=2) + "\n")
    return status


# ------------------------------------------------------------------------------------- fmt (issue #14)
def cmd_fmt(args: argparse.Namespace) -> int:
    """``kaohe fmt PATH…``: the canonical layout, written in place, checked (--check) or shown (--diff)."""
    from .language.fmt.files import run

    return run(args.paths, check=args.check, diff=args.diff, out=out_stream(), err=sys.stderr)
