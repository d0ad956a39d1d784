"""Subcommands ``whynot``, ``whatif``, ``report`` and ``replay`` of the ``kaohe`` command.

Registered by :func:`register` (``kaohe_rules.cli.EXTENSION_MODULES``).  Exit
codes follow docs/cli.md: 0 success, 1 policy errors or a replay that does not
confirm the trace, 2 usage errors (bad arguments, unreadable files, a file
that is not a trace), 3 units that could not be assessed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..batch.items import BatchItem, error_entry, error_text
from ..cli import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_POLICY,
    BatchInput,
    UsageError,
    add_ledger_option,
    assess_input,
    batch_input,
    iter_units,
    load_policy,
    out_stream,
)
from ..errors import KaoheError
from ..messages import fact_message_zh, usage_error
from ..outfile import OutputFile
from ..reports.tabular import fact_namer

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: Any) -> dict[str, Handler]:
    p = subparsers.add_parser("whynot", help="why a unit is not in a better band: points lacking, vetoes, "
                                             "the smallest set of deductions to remove")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("unit", metavar="UNIT", help="a unit file (any format eval reads)")
    p.add_argument("--id", help="the unit to analyse (needed when the file holds several)")
    p.add_argument("--band", help="one rating to aim for: its name or label, or excellent/good/pass/fail")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_ledger_option(p)

    q = subparsers.add_parser("whatif", help="assess a unit again with changed facts and show what changes")
    q.add_argument("policy", metavar="POLICY")
    q.add_argument("unit", metavar="UNIT", help="a unit file (any format eval reads)")
    q.add_argument("--id", help="the unit to change (needed when the file holds several)")
    q.add_argument("--set", action="append", default=[], metavar="FACT=VALUE",
                   help="change a fact, e.g. 专项资金预算=80万元 (repeatable; VALUE is JSON or text)")
    q.add_argument("--patch", action="append", default=[], metavar="FILE",
                   help="a JSON merge patch (object) or JSON Patch (array) of the facts (repeatable)")
    q.add_argument("--lang", choices=("zh", "en"), default="zh")
    q.add_argument("--format", choices=("text", "json"), default="text")
    q.add_argument("--event", action="append", default=[], metavar="LEDGER[ROW|KEY].FIELD=VALUE",
                   help="change a field of a ledger event, e.g. 事故台账[3].死亡人数=0 or 事故台账[A-17].死亡人数=0")
    q.add_argument("--drop-event", action="append", default=[], metavar="LEDGER[ROW|KEY]",
                   help="leave a ledger event out, e.g. 事故台账[3]")
    q.add_argument("--add-event", action="append", default=[], metavar="LEDGER=JSON",
                   help="add an event at the end of a ledger, e.g. 事故台账='{\"编号\": \"A-99\", …}'")
    add_ledger_option(q)

    r = subparsers.add_parser("report", help="a report of one unit (--id) or of the whole batch, "
                                             "as Markdown or self-contained HTML")
    r.add_argument("policy", metavar="POLICY")
    r.add_argument("units", metavar="UNITS")
    r.add_argument("--id", help="report on this unit only")
    r.add_argument("--format", choices=("md", "html", "xlsx"), default="md",
                   help="md, html, or xlsx (the ranked workbook of kaohe eval --format xlsx; needs -o)")
    r.add_argument("--lang", choices=("zh", "en"), default="zh")
    r.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE instead of standard output (never over an input; see --force)")
    r.add_argument("--force", action="store_true", help="replace FILE if it exists (never an input)")
    add_ledger_option(r)

    s = subparsers.add_parser("replay", help="re-evaluate a stored JSON trace and confirm it, "
                                             "or show where it disagrees")
    s.add_argument("policy", metavar="POLICY")
    s.add_argument("trace", metavar="TRACE.json", help="a trace from 'kaohe explain --format json'")
    s.add_argument("--units", metavar="FILE", help="also compare the trace's facts with this unit file")
    s.add_argument("--lang", choices=("zh", "en"), default="zh")
    s.add_argument("--format", choices=("text", "json"), default="text")
    return {"whynot": cmd_whynot, "whatif": cmd_whatif, "report": cmd_report, "replay": cmd_replay}


# ------------------------------------------------------------------ helpers
def _units(path: str, policy: Any = None, batch: BatchInput | None = None) -> Iterator[Any]:
    """Rows of a unit file, as ``kaohe eval`` reads them (with the policy: its ledger lines and sheets are no units)."""
    yield from iter_units(path, policy, None, batch.stdin if batch is not None else None)


def _one_unit(path: str, unit_id: str | None, policy: Any = None, batch: BatchInput | None = None) -> dict[str, Any]:
    """The unit with ``unit_id`` (or the only unit) of a file; UsageError when absent or ambiguous."""
    found = []
    for row in _units(path, policy, batch):
        if row.unit is None:
            if unit_id is None:
                raise usage_error("row_error", location=row.location, error=row.error, error_zh=fact_message_zh(str(row.error)))
            continue
        if unit_id is None or str(row.unit.get("id")) == unit_id:
            found.append(row.unit)
    if not found:
        raise usage_error("no_unit_id", id=unit_id, path=path) if unit_id else usage_error("no_units", path=path)
    if len(found) > 1:
        ids = ", ".join(str(u.get("id")) for u in found[:8])
        raise usage_error("choose_id", path=path, n=len(found), ids=ids + (", …" if len(found) > 8 else ""))
    return dict(found[0])


def _batch_units(path: str, policy: Any = None) -> list[dict[str, Any]]:
    """Every unit of a file, for a cohort policy (issue #11 C); a row that cannot be read counts as refused."""
    return [dict(row.unit) if row.unit is not None else {} for row in _units(path, policy)]


def _in_batch(policy: Any, batch: BatchInput, args: argparse.Namespace, unit_id: str | None) -> Any:
    """The result of one unit assessed with its batch's ledgers (issue #16): the events attributed first."""
    unit = _one_unit(batch.path, unit_id, policy, batch)
    for _, item in assess_input(policy, batch, args):
        if item is not None and item.unit_id == unit.get("id"):
            if item.result is None:
                assert item.error is not None
                raise item.error
            return item.result
    raise usage_error("no_unit_id", id=unit_id, path=batch.path)  # pragma: no cover - _one_unit found it


def _in_cohort(policy: Any, path: str, unit_id: str | None) -> Any:
    """The result of one unit of a cohort policy, assessed with every unit of its file (issue #11 C)."""
    unit = _one_unit(path, unit_id)
    for item in policy.evaluate_cohort(_batch_units(path)):
        if item.unit_id == unit.get("id"):
            if item.result is None:
                raise item.error
            return item.result
    raise usage_error("no_unit_id", id=unit_id, path=path)  # pragma: no cover - _one_unit found it


def _write(text: str, output: OutputFile | None = None) -> None:
    """To standard output, or through the shared checks of :class:`~kaohe_rules.outfile.OutputFile`."""
    if output is not None:
        output.write(text)
    else:
        out_stream().write(text)


def _json(value: object) -> str:
    from .trace_json import dumps

    return dumps(value)


# ----------------------------------------------------------------- commands
def cmd_whynot(args: argparse.Namespace) -> int:
    from .whynot import render, resolve_band, why_not

    policy = load_policy(args.policy)
    batch = batch_input(policy, args.unit, args)
    if batch.ledgers is not None:  # issue #16: the unit's events come from its batch's ledgers
        result = _in_batch(policy, batch, args, args.id)
    elif policy.cohort is not None:  # issue #11 C: the unit's result with its rank, among the file's units
        result = _in_cohort(policy, args.unit, args.id)
    else:
        result = policy.evaluate(_one_unit(args.unit, args.id, policy, batch))
    if args.band is not None:
        try:
            resolve_band(result, args.band)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    answer = why_not(result, band=args.band)
    if args.format == "json":
        document = answer.to_dict()
        if result.program.ledgers:  # issue #16: the events charged, and what read them
            from .whynot import event_effects

            document["charged"] = [c.to_dict() for c in result.charged]
            document["from_ledger"] = result.from_ledger
            document["event_effects"] = [e.to_dict() for e in event_effects(result)]
        _write(_json(document))
        return EXIT_OK
    text = render(answer, result, args.lang)
    if result.program.ledgers:
        from .whynot import charged_lines

        text += "\n" + "\n".join(charged_lines(result, args.lang)) + "\n"
    _write(text)
    return EXIT_OK


def cmd_whatif(args: argparse.Namespace) -> int:
    from .whatif import PatchError, load_patch, parse_assignment, render, what_if

    if args.event or args.drop_event or args.add_event:  # issue #16: ledger edits re-attribute the batch
        return _whatif_events(args)
    if not args.set and not args.patch:
        raise usage_error("nothing_to_change")
    try:
        sets = [parse_assignment(text) for text in args.set]
        patches = [load_patch(path) for path in args.patch]
    except PatchError as exc:
        raise UsageError(str(exc)) from None
    policy = load_policy(args.policy)
    batch = batch_input(policy, args.unit, args)
    if batch.ledgers is not None:  # issue #16: the unit is changed within its batch, its events re-attributed
        return _whatif_events(args, policy, batch, sets, patches)
    unit = _one_unit(args.unit, args.id, policy, batch)
    try:  # a cohort policy (issue #11 C): the unit is changed within its batch, the others may change too
        answer = what_if(policy, unit, sets, patches,
                         batch=_batch_units(args.unit, policy) if policy.cohort is not None else None)
    except PatchError as exc:
        raise UsageError(str(exc)) from None
    if args.format == "json":
        _write(_json(answer.to_dict()))
    else:
        _write(render(answer, args.lang, [str(p) for p in args.patch]))
    return EXIT_OK


def _whatif_events(args: argparse.Namespace, policy: Any = None, batch: BatchInput | None = None,
                   sets: list[tuple[str, object]] | None = None, patches: list[object] | None = None) -> int:
    """``whatif`` with ledger edits (``--event``, ``--drop-event``, ``--add-event``), or on a batch with ledgers:
    the batch re-attributed and re-assessed; every unit whose score, rating, money or charged events change."""
    from .whatif import PatchError, load_patch, parse_assignment, parse_event_edit, render_events, what_if_events

    try:
        edits = ([parse_event_edit("set", t) for t in args.event] + [parse_event_edit("drop", t) for t in args.drop_event]
                 + [parse_event_edit("add", t) for t in args.add_event])
        if sets is None:
            sets = [parse_assignment(text) for text in args.set]
            patches = [load_patch(path) for path in args.patch]
    except PatchError as exc:
        raise UsageError(str(exc)) from None
    if (sets or patches) and args.id is None:
        raise usage_error("whatif_needs_id")
    if policy is None:
        policy = load_policy(args.policy)
        batch = batch_input(policy, args.unit, args)
    assert batch is not None
    if not policy.program.ledgers:
        raise usage_error("no_ledgers", policy=args.policy)
    units = [dict(row.unit) for row in _units(args.unit, policy, batch) if row.unit is not None]
    if args.id is not None and not any(u.get("id") == args.id for u in units):
        raise usage_error("no_unit_id", id=args.id, path=args.unit)
    ledgers = {k: list(v) for k, v in (batch.events() or {}).items()}
    try:
        answer = what_if_events(policy, units, ledgers, edits, args.id, sets, patches or [])
    except PatchError as exc:
        raise UsageError(str(exc)) from None
    _write(_json(answer.to_dict()) if args.format == "json" else render_events(answer, args.lang, policy))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .report import batch_report, unit_report

    # checked before any work: a report must never replace the data it is made from
    if args.format == "xlsx" and (args.output is None or args.output == "-"):
        raise usage_error("needs_output", fmt=args.format)
    if args.format == "xlsx":
        from ..reports.xlsx import require_openpyxl

        require_openpyxl()
    output = OutputFile(args.output, force=args.force,
                        inputs=[("the policy file", args.policy), ("the units file", args.units)])
    policy = load_policy(args.policy)
    output.protect_policy(policy)
    results: list[Any] = []
    errors: list[dict[str, object]] = []
    batch = batch_input(policy, args.units, args)
    if batch.ledgers is not None:  # issue #16: assessed with the ledgers, reported with the 台账归属 section
        return _report_with_ledgers(policy, batch, output, args)
    rows = list(_units(args.units, policy, batch))
    cohort = None  # issue #11 C: a cohort policy's units are assessed together, then reported as before
    if policy.cohort is not None:
        cohort = policy.evaluate_cohort([dict(row.unit) if row.unit is not None else {} for row in rows])
    for number, row in enumerate(rows):
        if row.unit is None:
            if args.id is None:
                errors.append(error_entry(row, None))
            continue
        if args.id is not None and str(row.unit.get("id")) != args.id:
            continue
        try:
            if cohort is not None:
                item = cohort[number]
                if item.result is None:
                    raise item.error  # type: ignore[misc]
                results.append(item.result)
            else:
                results.append(policy.evaluate(row.unit))
        except KaoheError as exc:
            errors.append(error_entry(row, BatchItem(row.index, getattr(exc, "unit", None), None, exc, row.location)))
    if args.format == "xlsx":
        return _report_xlsx(policy, results, errors, output, args)
    if args.id is not None:
        if errors:
            for entry in errors:
                sys.stderr.write(error_text(entry, getattr(args, "message_lang", None), fact_namer(policy.program)) + "\n")
            return EXIT_DATA
        if not results:
            raise usage_error("no_unit_id", id=args.id, path=args.units)
        _write(unit_report(results[0], args.format, args.lang), output)
        return EXIT_OK
    if not results and not errors:
        raise usage_error("no_units", path=args.units)
    _write(batch_report(policy, results, errors, args.format, args.lang), output)
    for entry in errors:
        sys.stderr.write(error_text(entry, getattr(args, "message_lang", None), fact_namer(policy.program)) + "\n")
    return EXIT_DATA if errors else EXIT_OK


def _report_with_ledgers(policy: Any, batch: BatchInput, output: OutputFile, args: argparse.Namespace) -> int:
    """``kaohe report`` of a batch with ledgers: every row as ``eval`` assesses it, and the attribution."""
    from .report import batch_report, unit_report

    results: list[Any] = []
    errors: list[dict[str, object]] = []
    for row, item in assess_input(policy, batch, args):
        if args.id is not None and (item is None or item.unit_id != args.id):
            continue
        if item is None or item.error is not None:
            errors.append(error_entry(row, item))
        else:
            results.append(item.result)
    lang = getattr(args, "message_lang", None)
    namer = fact_namer(policy.program)
    if args.format == "xlsx":
        return _report_xlsx(policy, results, errors, output, args)
    if args.id is not None:
        if errors:
            for entry in errors:
                sys.stderr.write(error_text(entry, lang, namer) + "\n")
            return EXIT_DATA
        if not results:
            raise usage_error("no_unit_id", id=args.id, path=args.units)
        _write(unit_report(results[0], args.format, args.lang), output)
        return EXIT_OK
    unreadable = [(r.ledger, r.row, r.location, r.error or "") for r in batch.ledgers.problems()] \
        if batch.ledgers is not None else []
    _write(batch_report(policy, results, errors, args.format, args.lang, batch.attribution, unreadable), output)
    for entry in errors:
        sys.stderr.write(error_text(entry, lang, namer) + "\n")
    problems = bool(unreadable) or (batch.attribution is not None and bool(batch.attribution.problems))
    return EXIT_DATA if errors or problems else EXIT_OK


def _report_xlsx(policy: Any, results: list[Any], errors: list[dict[str, object]], output: OutputFile,
                 args: argparse.Namespace) -> int:
    """``kaohe report --format xlsx``: the ranked workbook (``--id``: of that unit alone)."""
    from ..reports.rows import Tally, rank, ranked_row
    from ..reports.xlsx import ranked_workbook

    if not results and not errors:
        raise usage_error("no_unit_id", id=args.id, path=args.units) if args.id else usage_error("no_units", path=args.units)
    program = policy.program
    ranked = rank((ranked_row(program, r) for r in results), program.checked.categories)
    lang = getattr(args, "message_lang", None)
    output.write_bytes(ranked_workbook(program, ranked, errors, Tally(len(results), len(errors)), lang))
    namer = fact_namer(program)
    for entry in errors:
        sys.stderr.write(error_text(entry, lang, namer) + "\n")
    return EXIT_DATA if errors else EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay every document of the trace file; a file that is not wholly traces is refused before any output."""
    from .replay import render, replay
    from .trace_json import TraceFormatError, read_trace

    try:
        documents = read_trace(args.trace)
    except OSError as exc:
        raise usage_error("cannot_read_trace", path=args.trace, detail=str(exc.strerror or exc)) from None
    except TraceFormatError as exc:
        raise usage_error("trace_format", path=args.trace, detail=str(exc)) from None
    policy = load_policy(args.policy)
    units: dict[str, Any] = {}
    if args.units:
        units = {str(row.unit.get("id")): row.unit for row in _units(args.units) if row.unit is not None}
        for document in documents:
            if document["unit"]["id"] not in units:
                raise usage_error("no_unit_id", id=document["unit"]["id"], path=args.units)
    status = EXIT_OK
    reports = []
    for document in documents:
        report = replay(policy, document, units.get(document["unit"]["id"]) if args.units else None)
        if not report.ok:
            status = EXIT_POLICY
        reports.append(report)
        if args.format == "text":
            _write(render(report, document, args.lang))
    if args.format == "json":
        payload = [r.to_dict() for r in reports]
        _write(_json(payload[0] if len(payload) == 1 else payload))
    return status
