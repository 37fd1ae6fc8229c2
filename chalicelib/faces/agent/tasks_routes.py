"""Agent tasks: list, create, read, change, delete, children, tree, cancel, publish, approve,
reject, start, runs, dependencies (seed 001, `/api/tasks...`)."""

from __future__ import annotations

from typing import Any

import msgspec
from chalice import Response

from chalicelib import settings
from chalicelib.cursor import CursorCodec
from chalicelib.engine import agent_runs, agent_tasks
from chalicelib.engine.agent_model import Actor, ApprovalState
from chalicelib.engine.agent_runs import Started
from chalicelib.engine.agent_tasks import TaskFilter
from chalicelib.engine.pull_status import TaskStatus
from chalicelib.errors import ValidationError
from chalicelib.faces.agent import openapi_doc as doc
from chalicelib.faces.agent import views
from chalicelib.faces.agent.face import actor, face, now, sized
from chalicelib.faces.agent.requests import (
    AgentDependencyBody,
    AgentEmptyBody,
    AgentEnqueueBody,
    AgentOrigin,
    AgentRunListQuery,
    AgentTaskCreateBody,
    AgentTaskListQuery,
    AgentTaskPatchBody,
)
from chalicelib.faces.http import Call, json_response

_LIST_SCOPE = "agent|tasks"


def _codec() -> CursorCodec:
    return CursorCodec(settings.current().cursor_secret or settings.current().jwt_secret)


def _origin(origin: AgentOrigin | None) -> Actor | None:
    return Actor(kind=origin.kind, ref=origin.ref or "") if origin else None


def _filters(query: AgentTaskListQuery) -> TaskFilter:
    return TaskFilter(
        status=TaskStatus(query.status) if query.status and query.status != "pending" else None,
        priority=query.priority, scope=query.scope, workspace=query.workspace,
        approval_state=ApprovalState(query.approval_state) if query.approval_state else None,
        owner_kind=query.owner_kind, owner_ref=query.owner_ref, parent_task_id=query.parent_task_id,
        network_channel=query.network_channel, query=query.query, include_drafts=query.include_drafts)


@face.route("/api/tasks", query=AgentTaskListQuery, response=doc.TASK_LIST)
def list_tasks(call: Call) -> Response:
    """List tasks; `next_cursor` continues the list (pass it as `cursor`)."""
    query: AgentTaskListQuery = call.params
    if query.status == "pending":  # the product's status that tasklane never derives
        return json_response({"tasks": [], "next_cursor": None})
    after = None
    if query.cursor:
        position = _codec().decode(query.cursor, tenant=call.principal.tenant, scope=_LIST_SCOPE,
                                   location="query.cursor")
        if not isinstance(position, dict) or not isinstance(position.get("a"), str):
            raise ValidationError("cursor is not valid", location="query.cursor")
        after = position["a"]
    tasks, last = agent_tasks.list_tasks(call.principal.tenant, filters=_filters(query), after=after,
                                         limit=query.limit)
    cursor = _codec().encode({"a": last}, tenant=call.principal.tenant, scope=_LIST_SCOPE) if last else None
    return json_response({"tasks": [views.list_item(task) for task in tasks], "next_cursor": cursor})


def _create(call: Call, body: AgentTaskCreateBody, parent: str | None, location: str) -> Response:
    started = agent_runs.create(
        call.principal.tenant, actor=actor(call), now=now(), title=body.title, description=body.description,
        scope=body.scope, workspace_id=body.workspace_id, network_channel=body.network_channel,
        priority=body.priority or "medium", approval_policy=body.approval_policy or "none",
        max_attempts=body.max_attempts or 3, draft=bool(body.draft), parent_task_id=parent,
        metadata=body.metadata, origin=_origin(body.origin), parent_location=location)
    return json_response({"task": views.task(started.task)}, 201)


@face.route("/api/tasks", ["POST"], body=AgentTaskCreateBody, status=201, response=doc.TASK)
def create_task(call: Call) -> Response:
    """Create a task (a draft with `draft: true`; a published one gets its first run queued)."""
    body: AgentTaskCreateBody = sized(call.body())
    return _create(call, body, body.parent_task_id, "body.parent_task_id")


@face.route("/api/tasks/{id}", response=doc.TASK_DETAIL)
def get_task(call: Call, id: str) -> Response:  # noqa: A002 - the product's name
    """Get one task with detail."""
    return json_response({"task": views.detail(agent_tasks.detail(call.principal.tenant, id))})


@face.route("/api/tasks/{id}", ["PATCH"], body=AgentTaskPatchBody, response=doc.TASK)
def patch_task(call: Call, id: str) -> Response:  # noqa: A002
    """Update one task: the fields given (null or absent: unchanged)."""
    body: AgentTaskPatchBody = sized(call.body())
    fields = {name: value for name, value in msgspec.structs.asdict(body).items() if value is not None}
    task = agent_tasks.update(call.principal.tenant, id, actor=actor(call), now=now(), fields=fields)
    return json_response({"task": views.task(task)})


@face.route("/api/tasks/{id}", ["DELETE"], status=204)
def delete_task(call: Call, id: str) -> Response:  # noqa: A002
    """Delete one task (refused while it has children or dependents)."""
    agent_tasks.delete(call.principal.tenant, id, actor=actor(call), now=now())
    return Response(body="", status_code=204)


@face.route("/api/tasks/{id}/children", ["POST"], body=AgentTaskCreateBody, status=201, response=doc.TASK)
def create_child(call: Call, id: str) -> Response:  # noqa: A002
    """Create one child task."""
    body: AgentTaskCreateBody = sized(call.body())
    if body.parent_task_id is not None and body.parent_task_id != id:
        raise ValidationError("parent_task_id must be absent or the path's task id", location="body.parent_task_id",
                              value=body.parent_task_id)
    return _create(call, body, id, "path.id")


@face.route("/api/tasks/{id}/tree", response=doc.TREE)
def task_tree(call: Call, id: str) -> Response:  # noqa: A002
    """Get one task tree live view."""
    nodes = agent_tasks.subtree(call.principal.tenant, id)
    (root, _), rest = nodes[0], nodes[1:]
    return json_response({"tree": {"root": views.tree_node(root, 0),
                                   "descendants": [views.tree_node(task, depth) for task, depth in rest]}})


def _optional_body(call: Call) -> Any:
    return call.body(required=False)


@face.route("/api/tasks/{id}/cancel", ["POST"], body=AgentEmptyBody, body_required=False, response=doc.TASK)
def cancel_task(call: Call, id: str) -> Response:  # noqa: A002
    """Cancel one task tree (its open runs end canceled)."""
    _optional_body(call)
    task = agent_tasks.cancel(call.principal.tenant, id, actor=actor(call), now=now())
    return json_response({"task": views.task(task)})


def _started(started: Started) -> Response:
    run = views.run(started.run, started.task) if started.run is not None else None
    return json_response({"run": run, "task": views.task(started.task)})


@face.route("/api/tasks/{id}/publish", ["POST"], body=AgentEmptyBody, body_required=False, response=doc.RUN_AND_TASK)
def publish_task(call: Call, id: str) -> Response:  # noqa: A002
    """Publish one draft task and enqueue executable work (`run` null while it awaits approval)."""
    _optional_body(call)
    return _started(agent_runs.publish(call.principal.tenant, id, actor=actor(call), now=now()))


@face.route("/api/tasks/{id}/approve", ["POST"], body=AgentEmptyBody, body_required=False, response=doc.RUN_AND_TASK)
def approve_task(call: Call, id: str) -> Response:  # noqa: A002
    """Approve one approval-gated task and enqueue executable work."""
    _optional_body(call)
    return _started(agent_runs.approve(call.principal.tenant, id, actor=actor(call), now=now()))


@face.route("/api/tasks/{id}/reject", ["POST"], body=AgentEmptyBody, body_required=False, response=doc.TASK)
def reject_task(call: Call, id: str) -> Response:  # noqa: A002
    """Reject one approval-gated task (it is closed as canceled)."""
    _optional_body(call)
    return json_response({"task": views.task(agent_runs.reject(call.principal.tenant, id, actor=actor(call),
                                                               now=now()))})


@face.route("/api/tasks/{id}/start", ["POST"], body=AgentEnqueueBody, body_required=False, response=doc.RUN_AND_TASK)
def start_task(call: Call, id: str) -> Response:  # noqa: A002
    """Start one task by enqueueing executable work."""
    body: AgentEnqueueBody = sized(call.body(required=False) or AgentEnqueueBody())
    return _started(agent_runs.start(call.principal.tenant, id, actor=actor(call), now=now(),
                                     origin=_origin(body.origin)))


@face.route("/api/tasks/{id}/runs", query=AgentRunListQuery, response=doc.RUN_LIST)
def list_task_runs(call: Call, id: str) -> Response:  # noqa: A002
    """List runs for one task, newest first."""
    query: AgentRunListQuery = call.params
    task = agent_tasks.get(call.principal.tenant, id)
    runs = agent_runs.list_runs(call.principal.tenant, id, status=query.status, session=query.session_id,
                                limit=query.limit)
    return json_response({"runs": [views.run(run, task) for run in runs]})


@face.route("/api/tasks/{id}/runs", ["POST"], body=AgentEnqueueBody, body_required=False, status=201, response=doc.RUN)
def enqueue_run(call: Call, id: str) -> Response:  # noqa: A002
    """Enqueue one task run (refused for a draft or canceled task, while a run is open, past max_attempts)."""
    body: AgentEnqueueBody = sized(call.body(required=False) or AgentEnqueueBody())
    run = agent_runs.enqueue(call.principal.tenant, id, actor=actor(call), now=now(), origin=_origin(body.origin),
                             metadata=body.metadata)
    return json_response({"run": views.run(run, agent_tasks.get(call.principal.tenant, id))}, 201)


@face.route("/api/tasks/{id}/dependencies", ["POST"], body=AgentDependencyBody, response=doc.TASK_DETAIL)
def add_dependency(call: Call, id: str) -> Response:  # noqa: A002
    """Add one task dependency (kind `blocks`); a cycle is refused."""
    body: AgentDependencyBody = call.body()
    agent_tasks.add_dependency(call.principal.tenant, id, body.depends_on_task_id, actor=actor(call), now=now())
    return json_response({"task": views.detail(agent_tasks.detail(call.principal.tenant, id))})


@face.route("/api/tasks/{id}/dependencies/{depends_on_id}", ["DELETE"], response=doc.TASK_DETAIL)
def remove_dependency(call: Call, id: str, depends_on_id: str) -> Response:  # noqa: A002
    """Remove one task dependency."""
    agent_tasks.remove_dependency(call.principal.tenant, id, depends_on_id, actor=actor(call), now=now())
    return json_response({"task": views.detail(agent_tasks.detail(call.principal.tenant, id))})
