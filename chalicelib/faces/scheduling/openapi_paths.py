"""The scheduling face's part of the OpenAPI document (the 16 operations of seed 000)."""

from __future__ import annotations

from typing import Any

from chalicelib.faces import openapi

TAG = "scheduling"
BASE = "/api/scheduling/tasks"


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _query(name: str, kind: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": kind, **schema}}


_ERROR_TEXTS = {400: "Bad request (names the offending field).", 401: "No or bad token.",
                403: "No access to the task.", 404: "No such task in this tenant.",
                415: "Wrong content type.", 429: "Rate tier exceeded; see Retry-After."}
_ERRORS = {str(code): {"description": text, "content": _json({"$ref": "#/components/schemas/SchedulingErrors"})}
           for code, text in _ERROR_TEXTS.items()}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_RUN_ID = {"name": "runId", "in": "path", "required": True, "schema": {"type": "string"}}
_PAGING = [_query("limit", "integer", minimum=1, maximum=100), _query("page", "string")]
_TASK_LIST_PARAMS = [_query("filter", "string"), _query("sort", "string", default="-updatedAt"), *_PAGING]
_RUN_LIST_PARAMS = [_query("sort", "string", default="-startedAt"), *_PAGING]
_GRAPH_PARAMS = [_ID, _query("level", "integer", minimum=0), _query("withTask", "boolean")]
_TASK = {"$ref": "#/components/schemas/SchedulingTask"}
_TASK_LIST = {"type": "object", "properties": {"data": {"type": "array", "items": _TASK}, "links": {"type": "object"}}}
_RUN_LIST = {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object"}},
                                              "links": {"type": "object"}}}
_GRAPH = {"type": "object", "properties": {"taskId": {"type": "string"}, "vertices": {"type": "array"},
                                           "edges": {"type": "array"}}}
_PATCH = {"type": "array", "items": {"type": "object"}}


def _op(summary: str, ok: str, params: list[dict[str, Any]], *, tier: int = 1, schema: dict | None = None,
        body: dict[str, Any] | None = None) -> dict[str, Any]:
    success: dict[str, Any] = {"description": summary}
    if schema is not None:
        success["content"] = _json(schema)
    operation: dict[str, Any] = {"tags": [TAG], "summary": summary, "description": f"Rate limit: tier {tier}.",
                                 "parameters": params, "responses": {ok: success, **_ERRORS}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


openapi.contribute(
    tag=TAG,
    description="Qlik Cloud Scheduling Tasks API: Serverless Workflow task documents, chains, runs and logs.",
    paths={
        BASE: {
            "get": _op("List tasks", "200", [*_TASK_LIST_PARAMS, _query("resourceId", "string")], schema=_TASK_LIST),
            "post": _op("Create a task", "201", [], tier=2, schema=_TASK, body=_json(_TASK)),
        },
        BASE + "/{id}": {
            "get": _op("Get a task", "200", [_ID], schema=_TASK),
            "put": _op("Replace a task", "200", [_ID], tier=2, schema=_TASK, body=_json(_TASK)),
            "patch": _op("Patch a task (RFC 6902)", "200", [_ID], tier=2, schema=_TASK,
                         body={"application/json": {"schema": _PATCH},
                               "application/json-patch+json": {"schema": _PATCH}}),
            "delete": _op("Delete a task", "204", [_ID], tier=2),
        },
        BASE + "/{id}/actions/start": {
            "post": _op("Start a run now", "200", [_ID, _query("source", "string", default="manual")], tier=2),
        },
        BASE + "/{id}/graphs/ancestors": {"get": _op("Ancestor graph", "200", _GRAPH_PARAMS, schema=_GRAPH)},
        BASE + "/{id}/graphs/descendants": {"get": _op("Descendant graph", "200", _GRAPH_PARAMS, schema=_GRAPH)},
        BASE + "/{id}/graphs/subgraph": {"get": _op("Both directions", "200", _GRAPH_PARAMS, schema=_GRAPH)},
        BASE + "/{id}/graphs/children": {"get": _op("Children", "200", [_ID, *_TASK_LIST_PARAMS], schema=_TASK_LIST)},
        BASE + "/{id}/graphs/parents": {"get": _op("Parents", "200", [_ID, *_TASK_LIST_PARAMS], schema=_TASK_LIST)},
        BASE + "/{id}/runs": {"get": _op("A task's runs", "200", [_ID, *_RUN_LIST_PARAMS], schema=_RUN_LIST)},
        BASE + "/{id}/runs/last": {"get": _op("A task's last run", "200", [_ID])},
        BASE + "/{id}/runs/{runId}/log": {"get": _op(
            "A run's log, at most 1 MiB from line `from`; a cut response names the next `from` "
            "(header X-Log-Next-From, JSON nextFrom)", "200", [_ID, _RUN_ID, _query("from", "integer", minimum=1)])},
        BASE + "/resources/{id}/runs": {
            "get": _op("A resource's runs", "200", [_ID, *_RUN_LIST_PARAMS], schema=_RUN_LIST),
        },
    },
    schemas={
        "SchedulingTask": {"type": "object", "required": ["name", "specVersion"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"},
            "specVersion": {"type": "string"}, "enabled": {"type": "boolean"}, "start": {"type": "object"},
            "events": {"type": "array"}, "states": {"type": "array"}, "metadata": {"type": "object"},
            "resourceId": {"type": "string"}, "description": {"type": "string"}, "key": {"type": "string"},
            "annotations": {"type": "array", "items": {"type": "string"}}, "keepActive": {"type": "boolean"}}},
        "SchedulingErrors": {"type": "object", "properties": {
            "errors": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"}}}},
            "traceId": {"type": "string"}}},
    },
)
