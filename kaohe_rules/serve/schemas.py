"""The service's request and response schemas: JSON Schema dicts, the one source of both checks and docs.

Each request body is validated against its schema here (:func:`problems`, with ``jsonschema``), and
the OpenAPI 3.1 document served at ``/openapi.json`` (:func:`openapi`) is built from the very same
dicts — OpenAPI 3.1 schemas *are* JSON Schema 2020-12 — so the documentation cannot drift from what
the service accepts.  No pydantic models: the facts a unit carries are the policy's, checked by the
library with its own messages (naming the unit and the fact); the schema checks the envelope.

A batch's ``units`` items are deliberately unconstrained: a row that is not a unit is answered as an
error entry of its own (the batch contract: never lose a row), not by refusing the whole request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._version import __version__

JSONSchema = dict[str, Any]

DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
           "description": "a decimal number as a string (exact; never a float)"}
NULLABLE_TEXT = {"type": ["string", "null"]}


def ref(name: str) -> JSONSchema:
    return {"$ref": f"#/components/schemas/{name}"}


UNIT: JSONSchema = {
    "type": "object",
    "description": "One unit: id, category (name or label) and its facts — under \"facts\", or flat beside the "
                   "envelope keys. The facts are checked by the policy (FactError problems name the unit and fact).",
    "properties": {
        "id": {"type": ["string", "integer"], "description": "the unit's id, echoed in its answer"},
        "name": {"type": ["string", "null"]},
        "category": {"type": "string"},
        "facts": {"type": "object"},
    },
}

LEDGERS: JSONSchema = {
    "type": "object", "description": "the batch's shared event ledgers (issue #16): {ledger name: [event, …]}",
    "additionalProperties": {"type": "array", "items": {"type": "object"}},
}

BATCH: JSONSchema = {
    "type": "object",
    "description": "Several units, assessed together: a cohort policy ranks them as one cohort, a ledger "
                   "policy attributes the ledgers' events among them. One answer per row, in order.",
    "properties": {
        "units": {"type": "array", "items": {
            "description": "a unit (see Unit); a row that is not one is answered as an error entry of its own"}},
        "ledgers": ref("Ledgers"),
        "trace": {"type": "boolean", "description": "include the stable trace document of each result"},
    },
    "required": ["units"],
    "additionalProperties": False,
}

EVALUATE_REQUEST: JSONSchema = {
    "description": "One unit, or a batch {\"units\": [...]} (an object with \"units\" is a batch; one that "
                   "also has a unit's id/category/facts is refused as ambiguous)",
    "oneOf": [ref("Batch"), {"allOf": [ref("Unit"), {"not": {"required": ["units"]}}]}],
}

#: a subject of explain / whynot / whatif: one unit alone, or one unit (by id) within its batch
SUBJECT: dict[str, JSONSchema] = {
    "unit": ref("Unit"),
    "units": {"type": "array", "items": {}, "description": "the batch the unit is assessed in (cohort, ledgers)"},
    "id": {"type": ["string", "integer"], "description": "with units: which unit of the batch"},
    "ledgers": ref("Ledgers"),
}
LANG = {"type": "string", "enum": ["zh", "en"], "default": "zh"}
FORMAT = {"type": "string", "enum": ["text", "json"], "default": "text"}


def _subject(extra: Mapping[str, JSONSchema], description: str) -> JSONSchema:
    return {"type": "object", "description": description + " Give \"unit\", or \"units\" and \"id\".",
            "properties": {**SUBJECT, **extra}, "additionalProperties": False,
            "oneOf": [{"required": ["unit"], "not": {"required": ["units"]}},
                      {"required": ["units", "id"], "not": {"required": ["unit"]}}]}


EXPLAIN_REQUEST = _subject({"lang": LANG, "format": FORMAT, "short": {"type": "boolean", "default": False}},
                           "Explain one unit's assessment clause by clause (format json: the stable trace document).")
WHYNOT_REQUEST = _subject({"band": {"type": "string", "description": "one rating to aim for (name, label, "
                                                                     "or excellent/good/pass/fail)"},
                           "lang": LANG, "format": FORMAT},
                          "Why the unit is not in a better band.")
WHATIF_REQUEST = _subject({"set": {"type": "object", "minProperties": 1,
                                   "description": "facts to change: {fact: new value}; null removes the fact; "
                                                  "\"record.field\" or \"fact.period\" changes one part"},
                           "events": {"type": "array", "minItems": 1, "items": ref("EventEdit"),
                                      "description": "changes to the batch's ledgers (needs units, id, ledgers): "
                                                     "the batch is re-attributed and every unit that changes listed"},
                           "lang": LANG, "format": FORMAT},
                          "Assess the unit again with changed facts (or ledger events) and show what changes.")
WHATIF_REQUEST["anyOf"] = [{"required": ["set"]}, {"required": ["events"]}]

EVENT_EDIT: JSONSchema = {
    "type": "object",
    "description": "one change to a ledger (kaohe whatif --event / --drop-event / --add-event): set a field of an "
                   "event, drop an event, or add one at the end; an event is named by its row (1, 2, …) or its key",
    "properties": {"op": {"enum": ["set", "drop", "add"]}, "ledger": {"type": "string"},
                   "event": {"type": ["string", "integer"]}, "field": {"type": "string"},
                   "value": {"description": "set: the new value (null removes the field); add: the event object"}},
    "required": ["op", "ledger"],
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"op": {"const": "set"}}}, "then": {"required": ["event", "field", "value"]}},
        {"if": {"properties": {"op": {"const": "drop"}}},
         "then": {"required": ["event"], "not": {"anyOf": [{"required": ["field"]}, {"required": ["value"]}]}}},
        {"if": {"properties": {"op": {"const": "add"}}},
         "then": {"required": ["value"], "properties": {"value": {"type": "object"}},
                  "not": {"anyOf": [{"required": ["event"]}, {"required": ["field"]}]}}},
    ],
}

CHECK_REQUEST: JSONSchema = {
    "type": "object", "description": "Policy text to check (also accepted as a text/plain body). Nothing is "
                                     "written; extends resolves only among the served policies.",
    "properties": {"text": {"type": "string"}, "name": {"type": "string", "description": "a file name for messages"}},
    "required": ["text"], "additionalProperties": False,
}

DIAGNOSTIC: JSONSchema = {
    "type": "object", "description": "a policy diagnostic, as kaohe check --format json writes it",
    "properties": {"code": {"type": "string", "pattern": "^K[0-9]+$"}, "severity": {"enum": ["error", "warning"]},
                   "message": {"type": "string"}, "hint": NULLABLE_TEXT, "span": {"type": ["object", "null"]}},
    "required": ["code", "severity", "message"],
}
PROBLEM: JSONSchema = {
    "type": "object", "description": "a fact problem (the unit and the fact), or a request problem (where)",
    "properties": {"unit": NULLABLE_TEXT, "fact": NULLABLE_TEXT, "where": NULLABLE_TEXT, "message": {"type": "string"},
                   "expected": NULLABLE_TEXT, "hint": NULLABLE_TEXT},
    "required": ["message"],
}
ERROR: JSONSchema = {
    "type": "object", "description": "every error answer: a stable code, a message, and the library's detail",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "diagnostics": {"type": "array", "items": ref("Diagnostic")},
        "problems": {"type": "array", "items": ref("Problem")},
        "request_id": {"type": "string"}}, "required": ["code", "message"]}},
    "required": ["error"],
}
UNIT_ERROR: JSONSchema = {
    "type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                     "problems": {"type": "array", "items": ref("Problem")},
                                     "where": NULLABLE_TEXT},
    "required": ["code", "message"],
}
UNIT_RESULT: JSONSchema = {
    "type": "object",
    "description": "The answer for one unit: status ok with its result (Result.to_dict's keys), or status error "
                   "with the error that kept it from being assessed.",
    "properties": {
        "index": {"type": "integer", "minimum": 0}, "id": NULLABLE_TEXT, "status": {"enum": ["ok", "error"]},
        "name": NULLABLE_TEXT, "category": NULLABLE_TEXT,
        "score": DECIMAL, "total": DECIMAL, "rating": {"type": "string"}, "rating_label": {"type": "string"},
        "band": NULLABLE_TEXT, "vetoed": {"type": "boolean"}, "vetoes": {"type": "array"},
        "sections": {"type": "object"}, "targets": {"type": "array"}, "consequences": {"type": "object"},
        "trace": {"type": "object", "description": "the stable trace document (docs/trace-schema.json)"},
        "error": ref("UnitError"),
    },
    "required": ["index", "id", "status"],
    "if": {"properties": {"status": {"const": "ok"}}},
    "then": {"required": ["score", "rating", "band", "vetoes", "sections", "consequences"]},
    "else": {"required": ["error"]},
}
POLICY_REF: JSONSchema = {"type": "object", "properties": {"name": {"type": "string"},
                                                           "hash": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}},
                          "required": ["name", "hash"]}
EVALUATE_RESPONSE: JSONSchema = {
    "type": "object",
    "properties": {"policy": ref("PolicyRef"), "request_id": {"type": "string"},
                   "result": ref("UnitResult"), "results": {"type": "array", "items": ref("UnitResult")},
                   "summary": {"type": "object", "properties": {"ok": {"type": "integer"}, "error": {"type": "integer"}}}},
    "required": ["policy"],
    "oneOf": [{"required": ["result"]}, {"required": ["results", "summary"]}],
}
ANSWER: JSONSchema = {
    "type": "object", "description": "explain / whynot / whatif: text (format text) or the library's JSON document",
    "properties": {"policy": ref("PolicyRef"), "id": {"type": "string"}, "lang": LANG, "format": FORMAT,
                   "text": {"type": "string"}, "document": {"type": "object"}},
    "required": ["policy", "id", "format"],
    "oneOf": [{"required": ["text"]}, {"required": ["document"]}],
}
SECTION: JSONSchema = {"type": "object", "properties": {
    "name": {"type": "string"}, "path": {"type": "array", "items": {"type": "string"}}, "label": NULLABLE_TEXT,
    "points": DECIMAL, "cite": NULLABLE_TEXT, "bonus": {"type": "boolean"}, "cap": {"oneOf": [DECIMAL, {"type": "null"}]},
    "sections": {"type": "array", "items": ref("Section")}}, "required": ["name", "points", "sections"]}
FACT: JSONSchema = {"type": "object", "description": "what a form needs of one fact", "properties": {
    "name": {"type": "string"}, "label": NULLABLE_TEXT, "cite": NULLABLE_TEXT, "note": NULLABLE_TEXT,
    "type": {"type": "object", "properties": {"kind": {"type": "string"}, "name": {"type": "string"},
                                              "optional": {"type": "boolean"}, "expects": {"type": "string"},
                                              "unit": NULLABLE_TEXT}, "required": ["kind", "name"]},
    "unit": NULLABLE_TEXT, "required": {"type": "boolean"},
    "default": {"type": ["object", "null"], "description": "{\"value\": …} when the fact has a default"},
    "bounds": {"type": ["object", "null"]}, "per_period": {"type": "boolean"}, "ledger": NULLABLE_TEXT},
    "required": ["name", "type", "required"]}
CATEGORY: JSONSchema = {"type": "object", "properties": {
    "name": {"type": "string"}, "label": NULLABLE_TEXT, "total": DECIMAL, "cite": NULLABLE_TEXT,
    "maximum": {"oneOf": [DECIMAL, {"type": "null"}]},
    "sections": {"type": "array", "items": ref("Section")}, "facts": {"type": "array", "items": ref("Fact")},
    "bands": {"type": "array", "items": {"type": "object", "required": ["rating", "low", "interval"]}}},
    "required": ["name", "total", "sections", "facts", "bands"]}
POLICY_SUMMARY: JSONSchema = {"type": "object", "properties": {
    "name": {"type": "string"}, "label": NULLABLE_TEXT, "document": NULLABLE_TEXT, "file": {"type": "string"},
    "aliases": {"type": "array", "items": {"type": "string"}},
    "hash": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}}, "required": ["name", "file", "hash"]}
POLICY: JSONSchema = {"allOf": [ref("PolicySummary"), {"type": "object", "properties": {
    "categories": {"type": "array", "items": ref("Category")},
    "ratings": {"type": "array", "items": {"type": "object", "required": ["name"]}},
    "cohort": {"type": "boolean"}, "ledgers": {"type": "array"},
    "warnings": {"type": "array", "items": ref("Diagnostic")}}, "required": ["categories", "ratings"]}]}
POLICIES: JSONSchema = {"type": "object", "properties": {"policies": {"type": "array", "items": ref("Policy")},
                                                          "generation": {"type": "integer"}}, "required": ["policies"]}
CHECK_RESPONSE: JSONSchema = {"type": "object", "description": "as kaohe check --format json", "properties": {
    "policy": {"type": "string"}, "ok": {"type": "boolean"}, "name": {"type": "string"},
    "hash": {"type": "string"}, "diagnostics": {"type": "array", "items": ref("Diagnostic")}},
    "required": ["policy", "ok", "diagnostics"]}
HEALTH: JSONSchema = {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}
READY: JSONSchema = {"type": "object", "properties": {
    "status": {"enum": ["ready", "not ready"]}, "generation": {"type": "integer"},
    "policies": {"type": "array", "items": ref("PolicySummary")},
    "problems": {"type": "array", "items": {"type": "object", "properties": {
        "file": {"type": "string"}, "diagnostics": {"type": "array", "items": ref("Diagnostic")},
        "serving": {"type": ["string", "null"]}}, "required": ["file", "diagnostics", "serving"]}}},
    "required": ["status", "policies", "problems"]}

#: every schema by its name in ``#/components/schemas``
SCHEMAS: dict[str, JSONSchema] = {
    "Unit": UNIT, "Ledgers": LEDGERS, "Batch": BATCH, "EvaluateRequest": EVALUATE_REQUEST,
    "ExplainRequest": EXPLAIN_REQUEST, "WhyNotRequest": WHYNOT_REQUEST, "WhatIfRequest": WHATIF_REQUEST, "EventEdit": EVENT_EDIT,
    "CheckRequest": CHECK_REQUEST, "Diagnostic": DIAGNOSTIC, "Problem": PROBLEM, "Error": ERROR,
    "UnitError": UNIT_ERROR, "UnitResult": UNIT_RESULT, "PolicyRef": POLICY_REF, "EvaluateResponse": EVALUATE_RESPONSE,
    "Answer": ANSWER, "Section": SECTION, "Fact": FACT, "Category": CATEGORY, "PolicySummary": POLICY_SUMMARY,
    "Policy": POLICY, "Policies": POLICIES, "CheckResponse": CHECK_RESPONSE, "Health": HEALTH, "Ready": READY,
}

_VALIDATORS: dict[str, Any] = {}


def validator(name: str) -> Any:
    """The ``jsonschema`` validator of schema ``name`` (its ``$ref``s resolved among :data:`SCHEMAS`)."""
    found = _VALIDATORS.get(name)
    if found is None:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

        root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **inlined(SCHEMAS[name], (name,)),
                "components": {"schemas": SCHEMAS}}
        found = _VALIDATORS[name] = Draft202012Validator(root)
    return found


def inlined(schema: Any, stack: tuple[str, ...] = ()) -> Any:
    """``schema`` with each ``$ref`` to a component replaced by the component itself (a recursive one is kept
    as a reference).  The same schema, checked five times faster: resolving references is most of the cost
    of ``jsonschema`` on a small body (measured: 0.78 ms → 0.15 ms per unit)."""
    if isinstance(schema, dict):
        target = schema.get("$ref")
        if isinstance(target, str) and target.startswith("#/components/schemas/") and len(schema) == 1:
            name = target.rsplit("/", 1)[1]
            return schema if name in stack else inlined(SCHEMAS[name], (*stack, name))
        return {key: inlined(value, stack) for key, value in schema.items()}
    if isinstance(schema, list):
        return [inlined(value, stack) for value in schema]
    return schema


def problems(name: str, value: object, most: int = 10) -> list[dict[str, object]]:
    """Where ``value`` breaks schema ``name``: ``[{"where": JSON pointer, "message": …}]`` (at most ``most``)."""
    found: list[dict[str, object]] = []
    checker = validator(name)
    if checker.is_valid(value):  # the common case, without collecting errors
        return found
    for error in sorted(checker.iter_errors(value), key=lambda e: list(e.absolute_path))[:most]:
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        found.append({"where": where, "message": _message(error)})
    return found


def _message(error: Any) -> str:
    """A jsonschema error in words that quote no large value (a batch can be megabytes)."""
    if error.validator == "type":
        return f"expected {error.validator_value if isinstance(error.validator_value, str) else ' or '.join(error.validator_value)}"
    if error.validator == "required":
        return str(error.message).split(" is a required property")[0] + " is required"
    if error.validator == "additionalProperties":
        return "unexpected key(s): " + ", ".join(sorted(set(error.instance) - set(error.schema.get("properties", {}))))
    if error.validator == "enum":
        return "expected one of " + ", ".join(map(str, error.validator_value))
    if error.validator == "oneOf" and error.schema.get("oneOf", [{}])[0].get("required") == ["unit"]:
        return "give \"unit\", or \"units\" and \"id\" (one of them)"
    if error.validator == "oneOf":
        return "matches none (or several) of the accepted shapes: " + _shapes(error.schema)
    message = str(error.message)
    return message if len(message) <= 200 else message[:200] + "…"


def _shapes(schema: Mapping[str, Any]) -> str:
    return str(schema.get("description") or "see the OpenAPI document")


# ------------------------------------------------------------------ OpenAPI 3.1
def _body(name: str, text: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": ref(name)}}
    if text:
        content["text/plain"] = {"schema": {"type": "string"}}
    return {"required": True, "content": content}


def _answer(description: str, name: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(name)}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "malformed JSON or request", 401: "missing or wrong bearer token", 404: "no such policy",
             413: "body or batch too large", 415: "unsupported content type", 422: "the request or its unit "
             "was refused: the library's diagnostics or fact problems", 500: "internal error (no detail shown; logged)",
             503: "no policy loaded", 504: "the request took longer than the time limit"}
    return {str(code): _answer(words[code], "Error") for code in codes}


NAME_PARAM = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "the policy's name (policy X …) or its file name without .kh"}


def _query(name: str, schema: JSONSchema, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def openapi(server_url: str | None = None, max_batch: int | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service, from :data:`SCHEMAS` (the schemas requests are checked with)."""
    evaluating = (400, 401, 404, 413, 415, 422, 500, 504)
    security: list[dict[str, list[str]]] = [{"bearer": []}]
    batch_note = f" At most {max_batch} units per batch." if max_batch else ""
    paths: dict[str, Any] = {
        "/healthz": {"get": {"summary": "liveness", "operationId": "healthz", "security": [],
                             "responses": {"200": _answer("the process answers", "Health")}}},
        "/readyz": {"get": {"summary": "readiness: every policy file has a version loaded", "operationId": "readyz",
                            "responses": {"200": _answer("ready", "Ready"), "503": _answer("not ready", "Ready"),
                                          **_errors(401)}}},
        "/openapi.json": {"get": {"summary": "this document", "operationId": "openapi",
                                  "responses": {"200": {"description": "OpenAPI 3.1",
                                                        "content": {"application/json": {"schema": {"type": "object"}}}},
                                                **_errors(401)}}},
        "/policies": {"get": {"summary": "every served policy, described for a form", "operationId": "listPolicies",
                              "responses": {"200": _answer("the policies", "Policies"), **_errors(401, 500)}}},
        "/policies/{name}": {"get": {"summary": "one policy, described for a form", "operationId": "getPolicy",
                                     "parameters": [NAME_PARAM],
                                     "responses": {"200": _answer("the policy", "Policy"), **_errors(401, 404, 500)}}},
        "/policies/{name}/evaluate": {"post": {
            "summary": "assess one unit, or a batch", "operationId": "evaluate",
            "description": "One unit: 200 with result, or 422 with its error. A batch: 200 with one entry per row, "
                           "in order; a bad row is an error entry naming the unit and the fact." + batch_note,
            "parameters": [NAME_PARAM, _query("trace", {"type": "string", "enum": ["0", "1", "true", "false"]},
                                              "1: include each result's stable trace document"),
                           _query("provisional", {"type": "string", "enum": ["0", "1", "true", "false"]},
                                  "1 (one unit of a cohort policy): a result without rank, marked provisional")],
            "requestBody": _body("EvaluateRequest"),
            "responses": {"200": _answer("the answers", "EvaluateResponse"), **_errors(*evaluating)}}},
        "/policies/{name}/explain": {"post": {
            "summary": "explain one unit clause by clause", "operationId": "explain",
            "parameters": [NAME_PARAM, _query("lang", LANG, "zh or en"), _query("format", FORMAT, "text or json")],
            "requestBody": _body("ExplainRequest"),
            "responses": {"200": _answer("the explanation (json: the trace document)", "Answer"), **_errors(*evaluating)}}},
        "/policies/{name}/whynot": {"post": {
            "summary": "why the unit is not in a better band", "operationId": "whynot",
            "parameters": [NAME_PARAM, _query("band", {"type": "string"}, "one rating to aim for"),
                           _query("lang", LANG, "zh or en"), _query("format", FORMAT, "text or json")],
            "requestBody": _body("WhyNotRequest"),
            "responses": {"200": _answer("the analysis", "Answer"), **_errors(*evaluating)}}},
        "/policies/{name}/whatif": {"post": {
            "summary": "assess again with changed facts", "operationId": "whatif",
            "parameters": [NAME_PARAM, _query("lang", LANG, "zh or en"), _query("format", FORMAT, "text or json")],
            "requestBody": _body("WhatIfRequest"),
            "responses": {"200": _answer("before, after and what changed", "Answer"), **_errors(*evaluating)}}},
        "/check": {"post": {
            "summary": "check policy text (nothing written)", "operationId": "check",
            "requestBody": _body("CheckRequest", text=True),
            "responses": {"200": _answer("the diagnostics (ok false when the policy has errors)", "CheckResponse"),
                          **_errors(400, 401, 413, 415, 422, 500, 504)}}},
    }
    for item in paths.values():
        for operation in item.values():
            operation.setdefault("security", security)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "kaohe decision service", "version": __version__,
                 "description": "Assess units against loaded kaohe policies (docs/serve.md).",
                 "license": {"name": "MIT", "identifier": "MIT"}},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "only when the service was started with a token"}}},
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
