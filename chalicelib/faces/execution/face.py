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
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json", "X-Trace-Id": trace,
                                           **retry_after_headers(error)}
    return Response(body=json.dumps(body, default=str), status_code=status, headers=headers)


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(name=name)}




#: The values' instants (msgspec documents a datetime as a bare string).
_INSTANTS = frozenset({"date", "createdAt", "updatedAt", "scheduledAt", "executedAt", "finishedAt", "startDate",
                       "endDate", "executionDate"})


def _prefixed_value_schemas() -> dict[str, Any]:
    """The schemas of the stored values, named `Execution<Name>` (`ExecutionEvent`, ...) so
    they never collide with another face's components; the internal `revision` and `progress` left out."""
    _, found = msgspec.json.schema_components([Event, Instance], ref_template=REF_TEMPLATE)
    text = json.dumps(found)
    for name in found:
        text = text.replace(f'"{REF_TEMPLATE.format(name=name)}"', f'"{REF_TEMPLATE.format(name="Execution" + name)}"')
    schemas: dict[str, Any] = {f"Execution{name}": schema for name, schema in json.loads(text).items()}
    for schema in schemas.values():
        properties = schema.get("properties", {})
        properties.pop("revision", None)
        properties.pop("progress", None)  # the step machine's state, never shown
        for name, prop in properties.items():
            if name in _INSTANTS:
                for option in prop.get("anyOf", [prop]):
                    if option.get("type") == "string":
                        option["format"] = "date-time"
    return schemas


_VALUE_SCHEMAS = _prefixed_value_schemas()
_SCHEMAS: dict[str, Any] = {
    **_VALUE_SCHEMAS,
    "ExecutionError": {"type": "object", "required": ["statusCode", "message", "error"], "properties": {
        "statusCode": {"type": "integer"}, "message": {"type": "string"}, "error": {"type": "string"},
        "traceId": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "location": {"type": "string"}, "message": {"type": "string"}}}}}},
    "ExecutionEventList": {"type": "array", "items": {"allOf": [ref("ExecutionEvent"), {
        "type": "object", "properties": {"instance": ref("ExecutionInstance")}}]}},
    "ExecutionInstanceAnswer": {"allOf": [ref("ExecutionInstance"), {"type": "object", "properties": {
        "events": {"type": "array", "items": ref("ExecutionEvent")}, "strategy": {"type": "object"}}}]},
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
