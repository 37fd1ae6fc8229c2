"""What /openapi.json says about the daemon face as a whole: its tag, the problem answer every
operation may give, the task name's pattern and the response schemas (seeds 002/003). Paths,
methods, query parameters and request bodies are derived from the routes and their models."""

from __future__ import annotations

from typing import Any

from chalicelib.faces.http import FaceDoc

_PROBLEM = {"description": "Problem", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/DaemonProblem"}}}}
#: A bad token is a problem (the document adds the gateway's 401 for a missing header).
_UNAUTHENTICATED = {"description": "A bad token (problem); no Authorization header at all (the gateway's GatewayError)",
                    "content": _PROBLEM["content"]}


def ref(name: str) -> dict[str, str]:
    """A `$ref` to one of the response schemas below."""
    return {"$ref": f"#/components/schemas/{name}"}


_SCHEMAS: dict[str, Any] = {
    "DaemonProblem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "traceId": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "location": {"type": "string"}, "message": {"type": "string"}, "value": {}}}}}},
    "DaemonTask": {"type": "object", "required": ["name", "api_trigger"], "properties": {
        "name": {"type": "string"}, "kind": {"enum": ["task", "service"]}, "cron": {"type": "string"},
        "timezone": {"type": "string"}, "next_run_at": {"type": "string", "format": "date-time"},
        "api_trigger": {"type": "boolean"}, "catch_up": {"enum": ["latest", "all", "skip"]},
        "on_overlap": {"enum": ["queue", "skip", "terminate"]}, "parallelism": {"type": "integer"},
        "timeout": {"type": "integer", "description": "nanoseconds"},
        "retry_attempts": {"type": "integer"}, "retry_delay": {"type": "integer"},
        "retry_backoff": {"enum": ["constant", "linear", "exponential"]},
        "log_max_size": {"type": "integer"}, "log_on_full": {"enum": ["drop_new", "drop_old", "kill_task"]},
        "keep_runs": {"type": "integer"}, "keep_for": {"type": "integer"}, "instances": {"type": "integer"},
        "restart": {"enum": ["never", "always", "on_failure"]}, "restart_delay": {"type": "integer"},
        "restart_backoff": {"enum": ["constant", "linear", "exponential"]},
        "secrets": {"type": "array", "items": {"type": "string"}, "description": "names only"}}},
    "DaemonTaskList": {"type": "array", "items": {"$ref": "#/components/schemas/DaemonTask"}},
    "DaemonRun": {"type": "object", "required": ["id", "task_name", "status", "triggered_by", "created_at",
                                                 "exit_code", "retry_attempt", "instance_index"],
                  "properties": {
                      "id": {"type": "string"}, "task_name": {"type": "string"},
                      "status": {"enum": ["pending", "running", "ended"]},
                      "end_reason": {"enum": ["success", "failed", "stopped", "timeout", "crashed", "skipped",
                                              "log_overflow", "queue_full", "dst_skipped", "daemon_stopped",
                                              "missed", "start_failed"]},
                      "triggered_by": {"enum": ["cron", "api", "cloud", "service", "startup"]},
                      "exit_code": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
                      "start_at": {"type": "string", "format": "date-time"},
                      "end_at": {"type": "string", "format": "date-time"},
                      "scheduled_at": {"type": "string", "format": "date-time"},
                      "params": {"type": "object"}, "retry_attempt": {"type": "integer"},
                      "retry_of_run_id": {"type": "string"}, "instance_index": {"type": "integer"}}},
    "DaemonRunList": {"type": "object", "properties": {
        "runs": {"type": "array", "items": {"$ref": "#/components/schemas/DaemonRun"}},
        "total": {"type": "integer"}}},
}

DOC = FaceDoc(
    tag="daemon",
    description="RunWisp-compatible API (base URL http://host:port/daemon).",
    errors={"401": _UNAUTHENTICATED, "default": _PROBLEM},
    path_parameters={"taskName": {"type": "string", "minLength": 1, "maxLength": 100,
                                  "pattern": "^[a-zA-Z0-9._:-]+$"}},
    schemas=_SCHEMAS,
)
