"""What /openapi.json says about the scheduling face as a whole (seed 000): its tag, the error
answers every operation may give and the response schemas. Paths, methods, query parameters
and request bodies are derived from the routes and their models."""

from __future__ import annotations

from typing import Any

from chalicelib.faces.http import FaceDoc


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def ref(name: str) -> dict[str, str]:
    """A `$ref` to one of the response schemas below."""
    return {"$ref": f"#/components/schemas/{name}"}


def tier(number: int) -> str:
    """The operation's description: which rate tier it counts against."""
    return f"Rate limit: tier {number}."


_ERROR_TEXTS = {400: "Bad request (names the offending field).",
                401: "A bad token; with no Authorization header at all, the gateway's own 401 (GatewayError).",
                403: "No access to the task.", 404: "No such task in this tenant.",
                405: "Method not allowed; Allow names the methods the path serves.",
                409: "A task with this name and version exists already, or the task changed meanwhile.",
                413: "Body over 256 KiB.", 415: "Wrong content type.", 429: "Rate tier exceeded; see Retry-After.",
                500: "Unexpected failure (logged with the trace id)."}
_ERRORS = {str(code): {"description": text, "content": _json(ref("SchedulingErrors"))}
           for code, text in _ERROR_TEXTS.items()}

TASK = ref("SchedulingTask")
TASK_LIST = {"type": "object", "properties": {"data": {"type": "array", "items": TASK}, "links": {"type": "object"}}}
RUN_LIST = {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object"}},
                                             "links": {"type": "object"}}}
GRAPH = {"type": "object", "properties": {"taskId": {"type": "string"}, "vertices": {"type": "array"},
                                          "edges": {"type": "array"}}}

DOC = FaceDoc(
    tag="scheduling",
    description="Qlik Cloud Scheduling Tasks API: Serverless Workflow task documents, chains, runs and logs.",
    errors=_ERRORS,
    schemas={
        "SchedulingTask": {"type": "object", "required": ["name", "specVersion"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"},
            "specVersion": {"type": "string"}, "enabled": {"type": "boolean"}, "start": {"type": "object"},
            "events": {"type": "array"}, "states": {"type": "array"}, "metadata": {"type": "object"},
            "resourceId": {"type": "string"}, "description": {"type": "string"}, "key": {"type": "string"},
            "annotations": {"type": "array", "items": {"type": "string"}}, "keepActive": {"type": "boolean"}}},
        "SchedulingErrors": {"type": "object", "required": ["errors", "traceId"], "properties": {
            "errors": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["code", "title", "detail"], "properties": {
                    "code": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"}}}},
            "traceId": {"type": "string"}}},
    },
)
