"""The decision service: a Starlette ASGI application over a :class:`~kaohe_rules.serve.registry.RegistryHolder`.

Why Starlette (docs/serve.md says more): a small, well-kept ASGI toolkit with no model layer of
its own — the request and response shapes are the JSON Schema dicts of :mod:`.schemas`, the one
source of both validation and the OpenAPI document — served by uvicorn.

Every answer is JSON.  Every error is ``{"error": {"code", "message", "diagnostics"|"problems"}}``
with the library's own diagnostics (K-codes) and fact problems (naming the unit and the fact);
an unexpected exception is answered ``500`` with no detail (the log has it), never a traceback.
Each request takes the registry once, at its start (:meth:`Service.entry`): it is answered by one
version of its policy from start to end, whatever the watcher swaps in meanwhile.  Assessment runs
in a worker thread under the request's time limit, so a slow unit never blocks the event loop.
"""

from __future__ import annotations

import datetime
import hmac
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import attrs
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ..batch.items import BatchItem
from ..errors import (
    CohortRequired,
    Diagnostic,
    EvaluationError,
    FactError,
    KaoheError,
    LedgerRequired,
    PolicyError,
)
from ..runtime.parts import plain
from . import schemas
from .describe import policy_dict, policy_summary
from .registry import Entry, Registry, RegistryHolder

if TYPE_CHECKING:
    from ..policy import Policy
    from ..runtime.result import Result

T = TypeVar("T")
#: an explain / whynot / whatif answer and the result it is about (for the decision log)
Answered = tuple["Result", dict[str, object]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: paths anyone may call without the bearer token (a load balancer's liveness probe)
OPEN_PATHS = frozenset({"/healthz"})


@attrs.frozen
class ServeConfig:
    """The service's limits and switches (``kaohe serve`` options; docs/serve.md)."""

    max_body: int = 1024 * 1024  # bytes of a request body
    max_batch: int = 1000  # units of one batch
    timeout: float = 30.0  # seconds per request
    token: str | None = None  # bearer token; None: no authentication
    cors_origins: tuple[str, ...] = ()  # no CORS headers unless origins are given
    log_facts: bool = False  # put each unit's facts into its decision log line


class ServiceError(Exception):
    """An answer other than 200: its status, code, message and the library's detail."""

    def __init__(self, status: int, code: str, message: str, *, diagnostics: list[dict[str, object]] | None = None,
                 problems: list[dict[str, object]] | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
        self.problems = problems
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.diagnostics is not None:
            error["diagnostics"] = self.diagnostics
        if self.problems is not None:
            error["problems"] = self.problems
        return {"error": error}


class JsonLog:
    """JSON lines on a stream (standard error): the access log, the decision log and the service's events."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, kind: str, **fields: object) -> None:
        record = {"ts": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"), "log": kind, **fields}
        line = json.dumps(record, ensure_ascii=False, default=_json_default) + "\n"
        stream = self._stream or sys.stderr
        with self._lock:
            try:
                stream.write(line)
                stream.flush()
            except (OSError, ValueError):  # a closed or broken log stream must not fail the request
                pass


class JsonLogHandler(logging.Handler):
    """uvicorn's own messages (a request that is not HTTP, a port in use) as ``server`` lines of the JSON log."""

    def __init__(self, log: JsonLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record must not break the server
            message = str(record.msg)
        fields: dict[str, object] = {"level": record.levelname.lower(), "logger": record.name, "message": message}
        if record.exc_info and record.exc_info[1] is not None:
            fields["exception"] = type(record.exc_info[1]).__name__
            fields["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        self.log.write("server", **fields)


def json_server_logging(log: JsonLog) -> None:
    """Route the ``uvicorn`` loggers into ``log`` (called with ``uvicorn.run(log_config=None)``)."""
    handler = JsonLogHandler(log)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler] if name == "uvicorn" else []
        logger.propagate = name != "uvicorn"


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def json_response(payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, default=_json_default).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


# ----------------------------------------------------------------- errors of the library
def error_of(exc: KaoheError) -> ServiceError:
    """A library error as the service answers it: the same messages, diagnostics and fact problems."""
    if isinstance(exc, FactError):
        return ServiceError(422, "fact_error", f"unit {exc.unit}: the facts were refused",
                            problems=[p.to_dict() for p in exc.problems])
    if isinstance(exc, PolicyError):
        return ServiceError(422, "policy_error", str(exc).split("\n")[0],
                            diagnostics=[d.to_dict() for d in exc.diagnostics])
    if isinstance(exc, EvaluationError):
        where: dict[str, object] = {"unit": exc.unit, "fact": None, "where": exc.where, "message": exc.message}
        return ServiceError(422, "evaluation_error", str(exc), problems=[where])
    if isinstance(exc, CohortRequired):
        return ServiceError(422, "cohort_required", str(exc) + " — the service: send {\"units\": [...]} (the whole "
                            "cohort) to evaluate, or {\"units\": [...], \"id\": …} to explain, whynot or whatif")
    if isinstance(exc, LedgerRequired):
        return ServiceError(422, "ledger_required", str(exc) + " — the service: send {\"units\": [...], "
                            "\"ledgers\": {...}}", problems=[{"unit": exc.unit, "fact": exc.fact, "message":
                                                              f"comes from the ledger {exc.ledger}"}])
    return ServiceError(422, "refused", str(exc))


def unit_error(exc: KaoheError | None) -> dict[str, object]:
    """The ``error`` of a batch row's entry (the same code, message and problems as a single unit's answer)."""
    if exc is None:  # pragma: no cover - an item holds a result or an error
        return {"code": "internal", "message": "the unit was not assessed"}
    error = error_of(exc)
    out: dict[str, object] = {"code": error.code, "message": error.message}
    if error.problems is not None:
        out["problems"] = error.problems
    return out


# ----------------------------------------------------------------- the request body
def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:  # two values for one key: which one did the sender mean?
            raise ValueError(f"the key {key!r} is given twice in one object (which value was meant?)")
        seen[key] = value
    return seen


def _no_constant(text: str) -> object:
    raise ValueError(f"{text} is not a number JSON allows")


def _whole_number(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:  # int() would refuse past 4300 digits naming sys.set_int_max_str_digits
        raise ValueError(f"a whole number of {len(text.lstrip('-'))} digits, longer than any fact takes "
                         f"(at most {MAX_INT_DIGITS})")
    return int(text)


MAX_INT_DIGITS = 1000
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_whole_number, parse_constant=_no_constant,
                            object_pairs_hook=_no_duplicates)


def parse_json(data: bytes) -> object:
    """A request body as JSON with exact numbers (a fraction is a Decimal, never a float); 400 when it is not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(400, "malformed_json", f"the body is not UTF-8 text (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ServiceError(400, "malformed_json", "the body nests too deeply to read") from None
    except ValueError as exc:
        raise ServiceError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes (declared or streamed).

    It must arrive within ``timeout`` seconds (504 after): a client that declares a body and stalls
    would otherwise hold its connection for ever, whatever ``--timeout`` says.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ServiceError(400, "bad_request", "Content-Length is not a number") from None
        if size > limit:
            raise _too_large(size, limit)
    chunks: list[bytes] = []
    total = 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit:
                    raise _too_large(total, limit)
                chunks.append(chunk)
    except TimeoutError:
        raise ServiceError(504, "timeout", f"the body did not arrive within {timeout:g} s (kaohe serve --timeout)"
                           ) from None
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> ServiceError:
    return ServiceError(413, "body_too_large", f"the body has {size} bytes or more, above the limit of {limit} "
                        "(kaohe serve --max-body)")


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json(request: Request, config: ServeConfig) -> object:
    kind = _content_type(request)
    if kind.startswith("multipart/") or (kind.startswith("text/") and kind != "text/json"):
        raise ServiceError(415, "unsupported_media_type", f"the body must be JSON (application/json), not {kind}")
    return parse_json(await read_body(request, config.max_body, config.timeout))


def validated(name: str, value: object) -> None:
    found = schemas.problems(name, value)
    if found:
        raise ServiceError(422, "invalid_request", f"the request does not match {name}: "
                           + "; ".join(f"{p['where']}: {p['message']}" for p in found[:3]), problems=found)


def _flag(text: str | None) -> bool | None:
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no", ""):
        return False
    raise ServiceError(422, "invalid_request", f"expected 1/0 or true/false, got {text!r}")


def _query(request: Request, key: str) -> str | None:
    """An option of the query string; given twice with different values (``?lang=en&lang=zh``): refused."""
    values = request.query_params.getlist(key)
    if len(set(values)) > 1:
        raise ServiceError(422, "ambiguous_option", f"{key} is given {len(values)} times in the query string ("
                           + ", ".join(repr(v) for v in values) + "): give it once")
    return values[0] if values else None


def _option(request: Request, body: Mapping[str, object], key: str, default: T) -> T | Any:
    """An option given in the query string or in the body (both, and differing: refused, naming both)."""
    query = _query(request, key)
    given = body.get(key)
    if query is not None and given is not None and str(given).lower() != query.lower():
        raise ServiceError(422, "ambiguous_option", f"{key} is {query!r} in the query string and {given!r} in the "
                           "body: give it once")
    value = given if given is not None else query
    return default if value is None else value


# ----------------------------------------------------------------- assessment (worker threads)
def result_entry(index: int, result: Result, trace: bool) -> dict[str, object]:
    from ..audit.trace_json import trace_document

    document = result.to_dict()
    unit = document.pop("unit")
    document.pop("policy", None)
    assert isinstance(unit, dict)
    entry: dict[str, object] = {"index": index, "id": unit["id"], "status": "ok", "name": unit["name"],
                                "category": unit["category"], **document}
    if trace:
        entry["trace"] = trace_document(result)
    return entry


@attrs.frozen
class Row:
    """One unit's answer: its JSON text (as written into the response) and what the decision log needs."""

    text: str
    meta: dict[str, object]  # index, id, status, rating, score (or the error code)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def result_row(index: int, result: Result, trace: bool) -> Row:
    """A result's answer entry.  Untraced, its text is spliced from :func:`~kaohe_rules.runtime.jsonline.json_line`
    (the bytes of ``json.dumps(result.to_dict())`` from the category's template, four times faster than building
    the dict and encoding it): the entry's own keys, then the result's keys from ``"score"`` on."""
    meta: dict[str, object] = {"index": index, "id": result.unit_id, "status": "ok", "rating": result.rating,
                               "score": plain(result.score)}
    if not trace:
        from ..runtime.jsonline import json_line

        line = json_line(result)
        cut = line.find(', "score": ')  # the first top-level key after "unit" and "policy" (strings escape '"')
        if line.startswith('{"unit": ') and cut > 0:
            head = (f'{{"index": {index}, "id": {_dumps(result.unit_id)}, "status": "ok", "name": {_dumps(result.name)}, '
                    f'"category": {_dumps(result.category)}, ')
            return Row(head + line[cut + 2:], meta)
    return Row(_dumps(result_entry(index, result, trace)), meta)


def item_row(item: BatchItem, trace: bool) -> Row:
    """A batch row's answer; a result that cannot be rendered costs that row only (an error entry)."""
    if item.result is not None:
        try:
            return result_row(item.index, item.result, trace)
        except Exception as exc:
            error: KaoheError | None = EvaluationError(item.unit_id or item.result.unit_id, "internal error while "
                                                       f"rendering the result ({type(exc).__name__})")
    else:
        error = item.error
    entry = {"index": item.index, "id": item.unit_id, "status": "error", "error": unit_error(error)}
    code = entry["error"]["code"]  # type: ignore[index]
    return Row(_dumps(entry), {"index": item.index, "id": item.unit_id, "status": "error", "error": code})


def assess_batch(policy: Policy, units: list[Any], ledgers: Any, trace: bool) -> list[Row]:
    """Every row of a batch, in order, one entry each (the library's batch contract: no row lost)."""
    try:
        items = policy.evaluate_many(units, trace=trace, ledgers=ledgers)
        return [item_row(item, trace) for item in items]
    except KaoheError as exc:
        raise error_of(exc) from None
    except ValueError as exc:  # e.g. a ledger the policy does not declare
        raise ServiceError(422, "refused", str(exc)) from None


def assess_one(policy: Policy, unit: object, trace: bool, provisional: bool = False) -> Row:
    """One unit alone; ``provisional`` (a cohort policy only): a result without rank, marked provisional."""
    if not isinstance(unit, Mapping):  # pragma: no cover - the schema refuses it first
        raise ServiceError(422, "invalid_request", "a unit is a JSON object")
    try:
        if provisional:
            return result_row(0, policy.evaluate(unit, trace=trace, provisional=True), trace)
        return result_row(0, policy.evaluate(unit, trace=trace), trace)
    except KaoheError as exc:
        raise error_of(exc) from None


def subject(policy: Policy, body: Mapping[str, Any], trace: bool = True) -> tuple[Result, dict[str, Any], list[Any]]:
    """The result of the unit an explain / whynot / whatif asks about, the unit itself and its batch."""
    try:
        if "unit" in body:
            unit = body["unit"]
            return policy.evaluate(unit, trace=trace), unit, [unit]
        units = list(body["units"])
        wanted = str(body["id"])
        items = list(policy.evaluate_many(units, trace=trace, ledgers=body.get("ledgers")))
    except KaoheError as exc:
        raise error_of(exc) from None
    except ValueError as exc:
        raise ServiceError(422, "refused", str(exc)) from None
    rows = [item for item in items if item.unit_id == wanted]
    if not rows:
        raise ServiceError(422, "no_such_unit", f"no unit with id {wanted!r} among the {len(units)} units sent")
    if len(rows) > 1:
        raise ServiceError(422, "ambiguous_unit", f"the id {wanted!r} is given to rows "
                           + ", ".join(str(item.index) for item in rows) + ": which one was meant?")
    item = rows[0]
    if item.error is not None:
        raise error_of(item.error)
    assert item.result is not None
    return item.result, dict(units[item.index]), units


def explain(policy: Policy, body: Mapping[str, Any], lang: str, fmt: str, short: bool) -> Answered:
    result, _unit, _units = subject(policy, body)
    if fmt == "json":
        from ..audit.trace_json import trace_document

        return result, {"id": result.unit_id, "format": fmt, "document": trace_document(result)}
    return result, {"id": result.unit_id, "format": fmt, "lang": lang, "text": result.explain(lang=lang, full=not short)}


def whynot(policy: Policy, body: Mapping[str, Any], band: str | None, lang: str, fmt: str) -> Answered:
    from ..audit.whynot import charged_lines, event_effects, render, resolve_band, why_not

    result, _unit, _units = subject(policy, body)
    if band is not None:
        try:
            resolve_band(result, band)
        except ValueError as exc:
            raise ServiceError(422, "unknown_band", str(exc)) from None
    answer = why_not(result, band=band)
    if fmt == "json":
        document = answer.to_dict()
        if result.program.ledgers:  # the events charged, and what read them (as kaohe whynot --format json)
            document["charged"] = [c.to_dict() for c in result.charged]
            document["from_ledger"] = result.from_ledger
            document["event_effects"] = [e.to_dict() for e in event_effects(result)]
        return result, {"id": result.unit_id, "format": fmt, "document": document}
    text = render(answer, result, lang)
    if result.program.ledgers:
        text += "\n" + "\n".join(charged_lines(result, lang)) + "\n"
    return result, {"id": result.unit_id, "format": fmt, "lang": lang, "text": text}


def whatif(policy: Policy, body: Mapping[str, Any], lang: str, fmt: str) -> Answered:
    from ..audit.whatif import EventEdit, PatchError, render, render_events, what_if, what_if_events

    sets = list(body.get("set", {}).items())
    edits = [EventEdit(e["op"], e["ledger"], None if "event" not in e else str(e["event"]), e.get("field"),
                       e.get("value")) for e in body.get("events", ())]
    if edits and ("units" not in body or body.get("ledgers") is None):
        raise ServiceError(422, "invalid_change", "ledger events change a batch: send {\"units\": [...], \"id\": …, "
                           "\"ledgers\": {...}, \"events\": [...]}")
    result, unit, units = subject(policy, body, trace=False)  # the unit exists, reads and is assessed
    try:
        if "units" in body and body.get("ledgers") is not None and policy.ledgers:
            events = what_if_events(policy, units, body["ledgers"], edits, result.unit_id, sets)
            if fmt == "json":
                return result, {"id": result.unit_id, "format": fmt, "document": events.to_dict()}
            return result, {"id": result.unit_id, "format": fmt, "lang": lang, "text": render_events(events, lang, policy)}
        answer = what_if(policy, unit, sets, batch=units if policy.cohort is not None else None)
    except PatchError as exc:
        raise ServiceError(422, "invalid_change", str(exc)) from None
    except KaoheError as exc:
        raise error_of(exc) from None
    if fmt == "json":
        return result, {"id": result.unit_id, "format": fmt, "document": answer.to_dict()}
    return result, {"id": result.unit_id, "format": fmt, "lang": lang, "text": render(answer, lang)}


def check_text(registry: Registry, text: str, name: str | None) -> dict[str, object]:
    """``kaohe check --format json`` of posted text: nothing written, ``extends`` only among the served policies."""
    from ..language.linker import parse_source
    from ..policy import load_source
    from ..source import SourceFile, display_name, point_span

    shown = display_name(name or "<posted>")
    source = SourceFile(shown, text)
    try:
        parsed = parse_source(source)
    except (RecursionError, MemoryError):  # load_source's own guard turns these into K009; this pre-read has none
        too_deep = Diagnostic("K009", "an expression nests too deeply to parse", point_span(source, 1, 1),
                              hint="split long or deeply nested expressions into several let declarations")
        return {"policy": shown, "ok": False, "diagnostics": [too_deep.to_dict()]}
    base_dir: Path | None = None
    if not isinstance(parsed, Diagnostic) and parsed.header.extends is not None:
        written = parsed.header.extends
        base_dir = _served_parent(registry, written)
        if base_dir is None:
            files = ", ".join(sorted(entry.file for entry in registry.entries.values())) or "none"
            refused = Diagnostic("K155", f"extends {written!r}: the service resolves extends only among the policies "
                                 f"it serves (files: {files})", parsed.header.span,
                                 hint="extend a served policy by its file name, e.g. extends \"karamay-2013.kh\"")
            return {"policy": shown, "ok": False, "diagnostics": [refused.to_dict()]}
    try:
        policy = load_source(source, base_dir)
    except PolicyError as exc:
        return {"policy": shown, "ok": False, "diagnostics": [d.to_dict() for d in exc.diagnostics]}
    return {"policy": shown, "ok": True, "name": policy.name, "hash": "sha256:" + policy.content_hash,
            "diagnostics": [d.to_dict() for d in policy.warnings]}


def _served_parent(registry: Registry, written: str) -> Path | None:
    """The directory to resolve ``extends written`` from, if it names a served policy's file; else None."""
    for entry in sorted(registry.entries.values(), key=lambda e: str(e.path)):
        try:
            if (entry.path.parent / written).resolve() == entry.path.resolve():
                return entry.path.parent
        except (OSError, RuntimeError, ValueError):
            continue
    return None


# ----------------------------------------------------------------- the application
class Service:
    """The endpoints, bound to one registry holder, configuration and log."""

    def __init__(self, holder: RegistryHolder, config: ServeConfig, log: JsonLog) -> None:
        self.holder = holder
        self.config = config
        self.log = log
        self._described: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}

    # ------------------------------------------------------------ helpers
    def entry(self, request: Request) -> Entry:
        """The policy a request names, from the registry taken once for the whole request."""
        registry: Registry = self.holder.current
        name = request.path_params["name"]
        found = registry.get(name)
        if found is None:
            known = ", ".join(sorted(registry.entries)) or "none"
            raise ServiceError(404, "unknown_policy", f"no policy {name!r} is served; served: {known}")
        return found

    async def in_thread(self, work: Callable[[], T]) -> T:
        """``work()`` in a worker thread, under the request's time limit (504 after it; the thread finishes alone)."""
        try:
            with anyio.fail_after(self.config.timeout):
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except TimeoutError:
            raise ServiceError(504, "timeout", f"the request took longer than {self.config.timeout:g} s "
                               "(kaohe serve --timeout); split the batch or raise the limit") from None

    def describe(self, entry: Entry) -> dict[str, Any]:
        key = (entry.name, entry.policy.content_hash, entry.aliases)
        found = self._described.get(key)
        if found is None:
            found = policy_dict(entry.policy, entry.file, entry.aliases)
            if len(self._described) > 256:
                self._described.clear()
            self._described[key] = found
        return {**found, "stale": entry.stale}

    def decided(self, request: Request, entry: Entry, result: Result, endpoint: str) -> None:
        """The decision log line of the unit an explain / whynot / whatif was about."""
        answer = {"index": 0, "id": result.unit_id, "status": "ok", "rating": result.rating,
                  "score": plain(result.score)}
        facts = ({name: result.program.display_value(name, value) for name, value in result.facts.items()}
                 if self.config.log_facts else {})  # as read (enum members by name), not as sent
        self.decisions(request, entry, [answer], [{"facts": facts}], endpoint)

    def decisions(self, request: Request, entry: Entry, answers: list[dict[str, object]],  # Row.meta
                  units: list[Any], endpoint: str = "evaluate") -> None:
        rid = request.scope.get("state", {}).get("request_id")
        for answer in answers:
            fields: dict[str, object] = {"request_id": rid, "endpoint": endpoint, "policy": entry.name,
                                         "hash": "sha256:" + entry.policy.content_hash, "unit": answer.get("id"),
                                         "status": answer.get("status"), "rating": answer.get("rating"),
                                         "score": answer.get("score")}
            if answer.get("status") == "error":
                error = answer.get("error")
                fields["error"] = error.get("code") if isinstance(error, dict) else error
            if self.config.log_facts:
                index = answer.get("index")
                if isinstance(index, int) and 0 <= index < len(units):
                    unit = units[index]
                    fields["facts"] = unit.get("facts", unit) if isinstance(unit, Mapping) else unit
            self.log.write("decision", **fields)

    # ------------------------------------------------------------ endpoints
    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        registry = self.holder.current
        body = {"status": "ready" if registry.ready else "not ready", "generation": registry.generation,
                "policies": [{**policy_summary(e.policy, e.file, e.aliases), "stale": e.stale}
                             for e in registry.entries.values()],
                "problems": [p.to_dict() for p in registry.problems]}
        return json_response(body, 200 if registry.ready else 503)

    async def openapi(self, request: Request) -> Response:
        return json_response(schemas.openapi(max_batch=self.config.max_batch))

    async def policies(self, request: Request) -> Response:
        registry = self.holder.current
        return json_response({"generation": registry.generation,
                              "policies": [self.describe(e) for e in registry.entries.values()]})

    async def policy(self, request: Request) -> Response:
        return json_response(self.describe(self.entry(request)))

    def _ref(self, entry: Entry) -> dict[str, str]:
        return {"name": entry.name, "hash": "sha256:" + entry.policy.content_hash}

    async def evaluate(self, request: Request) -> Response:
        entry = self.entry(request)
        body = await read_json(request, self.config)
        policy = entry.policy
        if isinstance(body, dict) and "units" in body:
            both = [key for key in ("id", "category", "facts") if key in body]
            if both:
                raise ServiceError(422, "ambiguous_request", "the body has \"units\" (a batch) and "
                                   + ", ".join(f'"{k}"' for k in both) + " (a unit): send one unit, or a batch "
                                   "{\"units\": [...]}")
            units = body["units"]
            if isinstance(units, list) and len(units) > self.config.max_batch:
                raise ServiceError(413, "batch_too_large", f"the batch has {len(units)} units, above the limit of "
                                   f"{self.config.max_batch} (kaohe serve --max-batch); split it")
            validated("Batch", body)
            if _flag(_query(request, "provisional")):
                raise ServiceError(422, "ambiguous_option", "provisional=1 is for one unit (a result without rank); "
                                   "a batch is ranked as one cohort: send one unit, or leave provisional out")
            query = _flag(_query(request, "trace"))
            trace = bool(body.get("trace")) if query is None else query
            if query is not None and "trace" in body and bool(body["trace"]) != query:
                raise ServiceError(422, "ambiguous_option", "trace differs in the query string and the body")
            ledgers = body.get("ledgers")
            rows = await self.in_thread(lambda: assess_batch(policy, units, ledgers, trace))
            self.decisions(request, entry, [row.meta for row in rows], units)
            summary = {"ok": sum(1 for row in rows if row.meta["status"] == "ok"),
                       "error": sum(1 for row in rows if row.meta["status"] != "ok")}
            text = (f'{{"policy": {_dumps(self._ref(entry))}, "results": [{", ".join(row.text for row in rows)}], '
                    f'"summary": {_dumps(summary)}}}')
            return Response(text.encode("utf-8"), media_type="application/json")
        validated("EvaluateRequest", body)
        if isinstance(body, dict) and "trace" in body and "facts" in body:  # not a fact (they are under "facts")
            raise ServiceError(422, "ambiguous_option", "\"trace\" beside a unit's \"facts\" is neither a fact nor "
                               "an option of a single unit: ask for the trace with ?trace=1")
        trace = bool(_flag(_query(request, "trace")))
        provisional = bool(_flag(_query(request, "provisional")))
        if provisional and policy.cohort is None:
            raise ServiceError(422, "invalid_request", f"provisional=1 is for a policy that ranks units across a "
                               f"batch; {policy.name} does not: its results are never provisional")
        try:
            row = await self.in_thread(lambda: assess_one(policy, body, trace, provisional))
        except ServiceError as exc:
            if exc.status == 422:
                unit_id = body.get("id") if isinstance(body, dict) else None
                self.decisions(request, entry, [{"index": 0, "id": unit_id, "status": "error", "error": exc.code}],
                               [body])
            raise
        self.decisions(request, entry, [row.meta], [body])
        text = f'{{"policy": {_dumps(self._ref(entry))}, "result": {row.text}}}'
        return Response(text.encode("utf-8"), media_type="application/json")

    async def _subject_body(self, request: Request, schema: str) -> tuple[Entry, dict[str, Any]]:
        entry = self.entry(request)
        body = await read_json(request, self.config)
        if isinstance(body, dict) and isinstance(body.get("units"), list) and len(body["units"]) > self.config.max_batch:
            raise ServiceError(413, "batch_too_large", f"the batch has {len(body['units'])} units, above the limit "
                               f"of {self.config.max_batch} (kaohe serve --max-batch)")
        validated(schema, body)
        assert isinstance(body, dict)
        return entry, body

    def _lang_format(self, request: Request, body: Mapping[str, object]) -> tuple[str, str]:
        lang = str(_option(request, body, "lang", "zh"))
        fmt = str(_option(request, body, "format", "text"))
        if lang not in ("zh", "en"):
            raise ServiceError(422, "invalid_request", f"lang must be zh or en, not {lang!r}")
        if fmt not in ("text", "json"):
            raise ServiceError(422, "invalid_request", f"format must be text or json, not {fmt!r}")
        return lang, fmt

    async def explain(self, request: Request) -> Response:
        entry, body = await self._subject_body(request, "ExplainRequest")
        lang, fmt = self._lang_format(request, body)
        query_short = _flag(_query(request, "short"))
        if query_short is not None and "short" in body and bool(body["short"]) != query_short:
            raise ServiceError(422, "ambiguous_option", f"short is {query_short} in the query string and "
                               f"{body['short']} in the body: give it once")
        short = bool(body.get("short", False)) if query_short is None else query_short
        result, answer = await self.in_thread(lambda: explain(entry.policy, body, lang, fmt, short))
        self.decided(request, entry, result, "explain")
        return json_response({"policy": self._ref(entry), **answer})

    async def whynot(self, request: Request) -> Response:
        entry, body = await self._subject_body(request, "WhyNotRequest")
        lang, fmt = self._lang_format(request, body)
        band = _option(request, body, "band", None)
        result, answer = await self.in_thread(
            lambda: whynot(entry.policy, body, None if band is None else str(band), lang, fmt))
        self.decided(request, entry, result, "whynot")
        return json_response({"policy": self._ref(entry), **answer})

    async def whatif(self, request: Request) -> Response:
        entry, body = await self._subject_body(request, "WhatIfRequest")
        lang, fmt = self._lang_format(request, body)
        result, answer = await self.in_thread(lambda: whatif(entry.policy, body, lang, fmt))
        self.decided(request, entry, result, "whatif")  # the unit as sent (the answer's "before")
        return json_response({"policy": self._ref(entry), **answer})

    async def check(self, request: Request) -> Response:
        registry = self.holder.current
        kind = _content_type(request)
        raw = await read_body(request, self.config.max_body, self.config.timeout)
        if kind == "text/plain":
            try:
                text, name = raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                raise ServiceError(400, "malformed_text", f"the policy text is not UTF-8 (byte {exc.start})") from None
        else:
            if kind.startswith("multipart/") or kind.startswith("text/"):
                raise ServiceError(415, "unsupported_media_type", "post the policy text as text/plain, or as JSON "
                                   "{\"text\": ...}")
            body = parse_json(raw)
            validated("CheckRequest", body)
            assert isinstance(body, dict)
            text, name = body["text"], body.get("name")
        return json_response(await self.in_thread(lambda: check_text(registry, text, name)))

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/policies", self.policies, methods=["GET"]),
            Route("/policies/{name}", self.policy, methods=["GET"]),
            Route("/policies/{name}/evaluate", self.evaluate, methods=["POST"]),
            Route("/policies/{name}/explain", self.explain, methods=["POST"]),
            Route("/policies/{name}/whynot", self.whynot, methods=["POST"]),
            Route("/policies/{name}/whatif", self.whatif, methods=["POST"]),
            Route("/check", self.check, methods=["POST"]),
        ]


class Guard:
    """The outer layer of every request: request id, bearer token, the error format, the access log.

    It is the one place an unexpected exception is caught: answered 500 with a JSON body that names
    nothing internal (the request id lets an operator find the logged traceback), never re-raised.
    """

    def __init__(self, app: ASGIApp, config: ServeConfig, log: JsonLog) -> None:
        self.app = app
        self.config = config
        self.log = log
        self._token = config.token.encode("utf-8") if config.token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 0
        sent_start = False

        async def sending(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                status = message["status"]
                sent_start = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("ascii"))]
            await send(message)

        try:
            if self._token is not None and scope["path"] not in OPEN_PATHS and not self._authorised(scope):
                await self._error(ServiceError(401, "unauthorized", "a bearer token is required: "
                                               "Authorization: Bearer <token>",
                                               headers={"WWW-Authenticate": 'Bearer realm="kaohe"'}),
                                  scope, receive, sending)
            else:
                await self.app(scope, receive, sending)
        except ServiceError as exc:
            if not sent_start:
                await self._error(exc, scope, receive, sending)
        except ClientDisconnect:  # the client went away before its body arrived: nobody to answer
            status = status or 499
        except Exception as exc:
            self.log.write("error", request_id=request_id, method=scope.get("method"), path=scope.get("path"),
                           exception=type(exc).__name__,
                           traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            if not sent_start:
                await self._error(ServiceError(500, "internal", "internal error; the service logged it under this "
                                               "request id"), scope, receive, sending)
        finally:
            self.log.write("access", request_id=request_id, method=scope.get("method"), path=scope.get("path"),
                           status=status, ms=round((time.perf_counter() - started) * 1000, 2),
                           client=(scope.get("client") or [None])[0])

    def _authorised(self, scope: Scope) -> bool:
        assert self._token is not None
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self._token)
        return False

    async def _error(self, exc: ServiceError, scope: Scope, receive: Receive, send: Send) -> None:
        body = exc.body()
        error = body["error"]
        assert isinstance(error, dict)
        error["request_id"] = scope.get("state", {}).get("request_id")
        await json_response(body, exc.status, exc.headers)(scope, receive, send)


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS layer, but a refused preflight is a JSON error as every other error (it was plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode("utf-8", "replace")  # "Disallowed CORS origin, method"
        refused = reason.removeprefix("Disallowed CORS ").strip() or "request"
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return json_response({"error": {"code": "cors_refused", "message": f"a cross-origin call refused: its "
                                        f"{refused} is not allowed (kaohe serve --cors-origin)"}},
                             response.status_code, headers)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    body = exc.body()
    error = body["error"]
    assert isinstance(error, dict)
    error["request_id"] = request.scope.get("state", {}).get("request_id")
    return json_response(body, exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = {404: f"no endpoint {request.url.path} (see /openapi.json)",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    body = {"error": {"code": codes.get(exc.status_code, "http_error"), "message": message,
                      "request_id": request.scope.get("state", {}).get("request_id")}}
    return json_response(body, exc.status_code, exc.headers)


def create_app(holder: RegistryHolder, config: ServeConfig | None = None, log: JsonLog | None = None,
               reload_interval: float = 0) -> Starlette:
    """The ASGI application; ``reload_interval`` > 0 starts the file watcher with the application."""
    import contextlib
    from collections.abc import AsyncIterator

    config = config or ServeConfig()
    log = log or JsonLog()
    service = Service(holder, config, log)
    middleware = []
    if config.cors_origins:  # CORS is off unless origins are named (outermost: a preflight needs no token)
        middleware.append(Middleware(JsonCORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                                     # a page's script may read the id to quote it to whoever reads the access log
                                     expose_headers=["X-Request-Id"]))
    middleware.append(Middleware(Guard, config=config, log=log))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        holder.start(reload_interval)
        try:
            yield
        finally:
            holder.stop()

    app = Starlette(routes=service.routes(), middleware=middleware, lifespan=lifespan,
                    exception_handlers={ServiceError: _service_error, HTTPException: _http_error})
    app.state.service = service
    return app
