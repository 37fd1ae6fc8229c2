"""The execution face's blueprint and its error shape (NestJS's): `{"statusCode", "message",
"error"}` plus `traceId`, and `errors: [{location, message}]` naming the fields at fault.

Validation problems are 400s (the product answers them so), whatever status the engine gives.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import msgspec
from chalice import Blueprint, Response

from chalicelib.engine.execution.values import Event, Instance
from chalicelib.errors import TasklaneError, ValidationError
from chalicelib.faces.http import Face, FaceDoc, retry_after_headers
from chalicelib.faces.request_models import REF_TEMPLATE

execution_blueprint = Blueprint(__name__)


def render_error(error: TasklaneError, trace: str) -> Response:
    """The product's error body; a 500 says only that something failed, with the trace id."""
    status = 400 if isinstance(error, ValidationError) else error.status
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {"statusCode": status, "message": error.message, "error": phrase, "traceId": trace}
    if error.problems:
        body["errors"] = [{"location": p.location, "message": p.message} for p in error.problems]
    headers = {"Content-Type": "application/json", "X-Trace-Id": trace, **retry_after_headers(error)}
    return Response(body=json.dumps(body, default=str), status_code=status, headers=headers)


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(name=name)}


_, _VALUE_SCHEMAS = msgspec.json.schema_components([Event, Instance], ref_template=REF_TEMPLATE)
for _schema in _VALUE_SCHEMAS.values():
    _schema.get("properties", {}).pop("revision", None)
    _schema.get("properties", {}).pop("progress", None)
_SCHEMAS: dict[str, Any] = {
    **_VALUE_SCHEMAS,
    "ExecutionError": {"type": "object", "required": ["statusCode", "message", "error"], "properties": {
        "statusCode": {"type": "integer"}, "message": {"type": "string"}, "error": {"type": "string"},
        "traceId": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "location": {"type": "string"}, "message": {"type": "string"}}}}}},
    "ExecutionEventList": {"type": "array", "items": ref("Event")},
    "ExecutionInstanceAnswer": {"allOf": [ref("Instance"), {"type": "object", "properties": {
        "events": {"type": "array", "items": ref("Event")}, "strategy": {"type": "object"}}}]},
    "ExecutionStrategy": {"type": "object", "required": ["sid", "name", "version", "settings"], "properties": {
        "sid": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "integer"},
        "description": {"type": "string"}, "settings": ref("ExecutionSettings"),
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"}}},
    "ExecutionQueue": {"type": "object", "required": ["paused", "waiting"], "properties": {
        "paused": {"type": "boolean"}, "waiting": {"type": "integer"},
        "released": {"type": "integer"}, "updatedAt": {"type": "string", "format": "date-time"}}},
}

DOC = FaceDoc(
    tag="execution",
    description="Execution-strategy-compatible API: recurring per-customer workflows. Every call but "
                "strategy creation sends `Strategy-Secret: base64(secret)`.",
    errors={"default": {"description": "Error", "content": {"application/json": {"schema": ref("ExecutionError")}}}},
    schemas=_SCHEMAS,
)

face = Face("execution", execution_blueprint, render_error, doc=DOC)
