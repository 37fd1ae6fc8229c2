"""Task documents: list, create, read, replace, patch, delete, and start a run now.

A write validates the whole resulting document before anything is stored (a bad document is
a 400 naming its path; a patch that would leave an invalid task is rejected whole) and saves it
with optimistic concurrency (`task_saving`); lists are `task_lists`, patches `json_patch`.
"""

from __future__ import annotations

from chalice import Response

from chalicelib.engine import runs as run_engine
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.model import TriggeredBy
from chalicelib.errors import UnsupportedMediaType
from chalicelib.faces.http import Call, json_response
from chalicelib.faces.request_models import refuse
from chalicelib.faces.scheduling import access, catalog
from chalicelib.faces.scheduling.documents import action_id, worker_type
from chalicelib.faces.scheduling.face import face
from chalicelib.faces.scheduling.json_patch import PATCH_BODY, apply_patch
from chalicelib.faces.scheduling.openapi_paths import TASK, TASK_LIST, tier
from chalicelib.faces.scheduling.rate_limit import Tier, enforce
from chalicelib.faces.scheduling.requests import SchedulingStartQuery, SchedulingTaskBody, SchedulingTaskListQuery
from chalicelib.faces.scheduling.task_lists import task_list
from chalicelib.faces.scheduling.task_saving import key_of, save
from chalicelib.faces.scheduling.workflow import CONTROL_CHARACTERS
from chalicelib.timefmt import utcnow

BASE = "/api/scheduling/tasks"
JSON = frozenset({"application/json"})
JSON_PATCH = frozenset({"application/json", "application/json-patch+json"})


def require_content_type(call: Call, allowed: frozenset[str]) -> None:
    """`UnsupportedMediaType` unless the body's media type is one of `allowed`."""
    media = (call.header("content-type") or "").split(";")[0].strip().lower()
    if media not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type must be {' or '.join(sorted(allowed))}, not '{media or 'none'}'")


@face.route(BASE, methods=["GET"], query=SchedulingTaskListQuery, response=TASK_LIST, description=tier(1))
def list_tasks(call: Call) -> Response:
    """The tasks the caller may reach, filtered, sorted and paginated."""
    enforce(call, Tier.READ)
    return task_list(call)


@face.route(BASE, methods=["POST"], body=SchedulingTaskBody, status=201, response=TASK, description=tier(2))
def create_task(call: Call) -> Response:
    """Create a task owned by the caller; disabled unless the body enables it."""
    enforce(call, Tier.WRITE)
    require_content_type(call, JSON)
    task = save(call, call.json_body(), task_id=task_engine.new_task_id(), existing=None)
    return json_response(catalog.render(task, with_last_run=False), 201)  # a new task never ran


@face.route(BASE + "/{id}", methods=["GET"], response=TASK, description=tier(1))
def get_task(call: Call, id: str) -> Response:
    """One task the caller may reach."""
    enforce(call, Tier.READ)
    return json_response(catalog.render(catalog.reachable_task(call, id)))


@face.route(BASE + "/{id}", methods=["PUT"], body=SchedulingTaskBody, response=TASK, description=tier(2))
def replace_task(call: Call, id: str) -> Response:
    """Replace the whole document; the caller becomes the owner."""
    enforce(call, Tier.WRITE)
    require_content_type(call, JSON)
    existing = catalog.reachable_task(call, id)
    task = save(call, call.json_body(), task_id=id, existing=existing)
    return json_response(catalog.render(task))


@face.route(BASE + "/{id}", methods=["PATCH"], body=PATCH_BODY, body_types=tuple(sorted(JSON_PATCH)),
            response=TASK, description=tier(2))
def patch_task(call: Call, id: str) -> Response:
    """Apply a JSON Patch (RFC 6902) to the task as GET shows it, then validate and store the
    result whole."""
    enforce(call, Tier.WRITE)
    require_content_type(call, JSON_PATCH)
    existing = catalog.reachable_task(call, id)
    patched = apply_patch(catalog.render(existing), call.json_body())
    task = save(call, patched, task_id=id, existing=existing)
    return json_response(catalog.render(task))


@face.route(BASE + "/{id}", methods=["DELETE"], status=204, description=tier(2))
def delete_task(call: Call, id: str) -> Response:
    """Delete a task (owner or tenant admin); its pending runs are canceled."""
    enforce(call, Tier.WRITE)
    task = catalog.find_task(call, id)
    access.require_delete(call.principal, task.document, id)
    task_engine.delete_task(call.principal.tenant, id, now=utcnow())
    task_engine.release_name(call.principal.tenant, key_of(task), id)
    return Response(body="", status_code=204, headers={"X-Trace-Id": call.trace_id})


@face.route(BASE + "/{id}/actions/start", methods=["POST"], query=SchedulingStartQuery, description=tier(2))
def start_task(call: Call, id: str) -> Response:
    """Run the task now, whether or not it is enabled; `source` defaults to `manual`."""
    enforce(call, Tier.WRITE)
    source = call.params.source
    if CONTROL_CHARACTERS.search(source):
        refuse("query.source", "must not contain control characters (NUL, CR, LF, tab, ...)")
    task = catalog.reachable_task(call, id)
    run_engine.trigger_run(
        task, triggered_by=TriggeredBy.API, now=utcnow(), source=source,
        extra={
            "executedAs": access.owner_of(task.document),
            "taskMeta": catalog.metadata_snapshot(task),
            "taskName": task.name,
            "workerType": worker_type(task),
            "actionId": action_id(task),
        },
    )
    return json_response({"message": "Task started successfully"})
