"""The OpenAPI a service publishes says what it really returns: problem documents for every failure.

FastAPI documents only the success status and a 422 in its own validation
shape. Every service answers failures as ``application/problem+json`` (see
:mod:`shared.errors`), so :func:`document_problems` rewrites each operation's
responses: the 422 gets the problem schema (with ``errors``), and the statuses
an operation can meet get a problem response:

- every operation: 400 (malformed input), 401 (token missing or refused),
  403 (role or ownership), 404 (an id in the path or query names nothing),
  409 (the resource's state forbids it, e.g. a report of an unsettled period),
  422 (validation), 429 (rate limits, lockouts), 503 (a dependency unreachable);
- with a request body: 413 (size limit) and 415.

It also documents local times (``datetime.time``, e.g. a check-in deadline
``"22:00:00"``) as what they are: pydantic labels them JSON Schema
``format: time``, which is RFC 3339's full time *with* an offset.

Schema checks in the fuzzing suite then mean something: an undocumented status
or body shape is a failure.
"""

from __future__ import annotations

from typing import Any

from shared.errors import PROBLEM_JSON

PROBLEM_SCHEMA_NAME = "Problem"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "Stable URI of the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong (Simplified Chinese where people read it)"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    "400": "Malformed request",
    "401": "Authentication required or refused",
    "403": "Forbidden for this caller",
    "404": "Not found",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Invalid request (field-level errors)",
    "429": "Too many requests",
    "503": "Temporarily unavailable",
}

_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})


LOCAL_TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$"


def _statuses(operation: dict[str, Any]) -> list[str]:
    statuses = ["400", "401", "403", "404", "409", "422", "429", "503"]
    if "requestBody" in operation:
        statuses += ["413", "415"]
    return sorted(statuses)


def _local_times(node: Any) -> None:
    """Replace ``format: time`` (offset required) by the pattern of a local time of day."""
    if isinstance(node, dict):
        if node.get("format") == "time" and node.get("type") == "string":
            del node["format"]
            node["pattern"] = LOCAL_TIME_PATTERN
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Add the problem responses to every operation of an OpenAPI document (in place; returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[PROBLEM_SCHEMA_NAME] = PROBLEM_SCHEMA
    # FastAPI's own validation shapes are never sent: every 422 is a problem document.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    ref = {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"}
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status in _statuses(operation):
                existing = responses.get(status, {})
                responses[status] = {
                    "description": existing.get("description") or _DESCRIPTIONS[status],
                    "content": {PROBLEM_JSON: {"schema": ref}},
                }
    _local_times(document)
    return document
