"""The daemon face's part of /openapi.json (paths under /daemon, schemas from seeds 002/003)."""

from __future__ import annotations

from typing import Any

from chalicelib.faces import openapi

_TAG = "daemon"
_PROBLEM = {"description": "Problem", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/DaemonProblem"}}}}
_NAME = {"name": "taskName", "in": "path", "required": True,
         "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[a-zA-Z0-9._:-]+$"}}
_RUN_ID = {"name": "runId", "in": "path", "required": True, "schema": {"type": "string"}}
_LIST_QUERY = [
    {"name": "status", "in": "query", "schema": {"type": "string"},
     "description": "Comma list of phases (pending, running, ended) or end reasons."},
    {"name": "triggered_by", "in": "query", "schema": {"type": "string"}},
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 50, "minimum": 1, "maximum": 1000}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0, "minimum": 0}},
]


def _op(summary: str, ok: str, *, params: list | None = None, body: str | None = None,
        schema: str | None = None, status: str = "200", public: bool = False) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}} if schema else None
    op: dict[str, Any] = {
        "tags": [_TAG], "summary": summary, "parameters": params or [],
        "responses": {status: {"description": ok, **({"content": content} if content else {})}, "default": _PROBLEM},
    }
    if body:
        op["requestBody"] = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if public:
        op["security"] = []
    return op


_RUN_PATH = "/daemon/api/tasks/{taskName}/runs/{runId}"

openapi.contribute(
    tag=_TAG,
    description="RunWisp-compatible API (base URL http://host:port/daemon).",
    paths={
        "/daemon/health": {"get": _op("Liveness", "ok", public=True)},
        "/daemon/api/tasks": {"get": _op("List all tasks", "Tasks", schema="DaemonTaskList")},
        "/daemon/api/tasks/{taskName}": {
            "get": _op("Get a task", "Task", params=[_NAME], schema="DaemonTask"),
            "put": _op("Create (201) or replace (200) a task", "Task", params=[_NAME], body="DaemonTaskDefinition",
                       schema="DaemonTask"),
            "delete": _op("Delete a task", "Deleted", params=[_NAME], status="204"),
        },
        "/daemon/api/tasks/{taskName}/run": {"post": _op(
            "Trigger a new run", "Created", status="201", schema="DaemonRun", body="DaemonRunRequest",
            params=[_NAME, {"name": "wait", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "wait_timeout", "in": "query",
                     "schema": {"type": "integer", "default": 300, "minimum": 1, "maximum": 3600}}])},
        "/daemon/api/tasks/{taskName}/runs": {"get": _op("A task's runs", "{runs, total}", params=[_NAME, *_LIST_QUERY],
                                                         schema="DaemonRunList")},
        "/daemon/api/runs": {"get": _op("Every run", "{runs, total}", params=_LIST_QUERY, schema="DaemonRunList")},
        "/daemon/api/runs/summary": {"get": _op("Counts of ended runs", "{total, success, failed, missed}")},
        _RUN_PATH: {
            "get": _op("Get a run", "Run", params=[_NAME, _RUN_ID], schema="DaemonRun"),
            "delete": _op("Delete an ended run", "Deleted", params=[_NAME, _RUN_ID], status="204"),
        },
        _RUN_PATH + "/stop": {"post": _op("Stop a run", "Run", params=[_NAME, _RUN_ID], schema="DaemonRun")},
        _RUN_PATH + "/log": {"get": _op(
            "Log lines, at most 1 MiB", "{lines, first_available, total_lines, truncated, finalized, cut, next_from}",
            params=[_NAME, _RUN_ID, {"name": "from", "in": "query", "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}}])},
        _RUN_PATH + "/log/raw": {"get": _op(
            "Log as text/plain, at most 1 MiB from line `from`; X-Log-Next-From names the next `from`", "text",
            params=[_NAME, _RUN_ID, {"name": "from", "in": "query", "schema": {"type": "integer", "minimum": 1}}])},
        _RUN_PATH + "/log/stream": {"get": _op("Log as server-sent events (line, done)", "text/event-stream",
                                               params=[_NAME, _RUN_ID])},
        "/daemon/api/tasks/{taskName}/stop": {"post": _op("Stop a service", "Task", params=[_NAME])},
        "/daemon/api/tasks/{taskName}/restart": {"post": _op("Restart a service", "Task", params=[_NAME])},
        "/daemon/api/reload": {"post": _op("Reload runwisp.toml", "{added, removed, changed}")},
    },
    schemas={
        "DaemonProblem": {"type": "object", "properties": {
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
        "DaemonTaskDefinition": {"type": "object", "required": ["run"], "description":
                                 "The task object's fields plus run, shell, working_dir, env, secrets, params, "
                                 "queue_max, max_catch_up_runs, graceful_stop; durations as nanoseconds or '1h30m'."},
        "DaemonRunRequest": {"type": "object", "properties": {"params": {
            "type": "object", "additionalProperties": {"type": ["string", "null"]}}}},
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
    },
)
