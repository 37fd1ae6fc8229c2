"""Task documents: list, create, read, replace, patch, delete, and start a run now.

A write validates the whole resulting document before anything is stored (a bad document is
a 400 naming its path; a patch that would leave an invalid task is rejected whole), computes
the server-owned fields, and saves with optimistic concurrency (`expected_revision`), so two
concurrent writes cannot both win: the loser gets a 409.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jsonpatch
import jsonpointer
from chalice import Response

from chalicelib.engine import runs as run_engine
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.model import DisabledReason, Task, TriggeredBy
from chalicelib.errors import BadRequest, Conflict, NotFound, UnsupportedMediaType, ValidationError
from chalicelib.faces.http import Call, json_response
from chalicelib.faces.scheduling import access, catalog
from chalicelib.faces.scheduling.documents import (
    FACE,
    action_id,
    filter_record,
    stored_document,
    task_spec,
    worker_type,
)
from chalicelib.faces.scheduling.face import face
from chalicelib.faces.scheduling.graph import Adjacency, Direction, traverse
from chalicelib.faces.scheduling.listing import ListQuery, keyset_paginate, order, paginate, parse_list_query
from chalicelib.faces.scheduling.rate_limit import Tier, enforce
from chalicelib.faces.scheduling.scim import DEFAULT_TASK_SORT, TASK_FILTER_FIELDS, TASK_SORT_FIELDS
from chalicelib.faces.scheduling.workflow import TaskDocument, validate_task_document
from chalicelib.identity import Principal
from chalicelib.timefmt import utcnow

BASE = "/api/scheduling/tasks"
#: PATCH operations the face takes (RFC 6902; `test` costs nothing to support).
PATCH_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
JSON = frozenset({"application/json"})
JSON_PATCH = frozenset({"application/json", "application/json-patch+json"})


def require_content_type(call: Call, allowed: frozenset[str]) -> None:
    """`UnsupportedMediaType` unless the body's media type is one of `allowed`."""
    media = (call.header("content-type") or "").split(";")[0].strip().lower()
    if media not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type must be {' or '.join(sorted(allowed))}, not '{media or 'none'}'")


# -- listing ------------------------------------------------------------------------------------


def _needs_every_run(query: ListQuery) -> bool:
    """A task's newest run costs one read: read it for every candidate only when the filter or
    the sort looks at the last run (`last...` fields), otherwise only for the page's tasks."""
    filter_text = query.filter.text.lower() if query.filter is not None else ""
    return query.sort_field.startswith("last") or "last" in filter_text


def _candidate(call: Call, query: ListQuery, adjacency: Adjacency, every_run: bool):
    """The list record of a task the caller sees and the filter matches, or None."""

    def record(task: Task) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if not access.can_reach(call.principal, task.document):
            return None
        body = catalog.render(task, adjacency, with_last_run=every_run)
        fields = filter_record(body)
        if query.filter is not None and not query.filter.matches(fields):
            return None
        return fields, body

    return record


def list_response(
    call: Call, tasks: list[Task], *, list_name: str, query: ListQuery | None = None,
    adjacency: Adjacency | None = None,
) -> Response:
    """Filter, sort and paginate tasks in memory, as every task list of the page does."""
    query = query or _task_list_query(call, list_name)
    adjacency = adjacency if adjacency is not None else catalog.tenant_adjacency(call.principal.tenant)
    every_run = _needs_every_run(query)
    candidate = _candidate(call, query, adjacency, every_run)
    by_id = {task.task_id: task for task in tasks}
    records = [pair for pair in map(candidate, by_id.values()) if pair is not None]
    records = order(records, lambda pair: pair[0].get(query.sort_field), descending=query.descending,
                    tie=lambda pair: pair[0]["id"])
    page = paginate(call, query, records)
    data = [body if every_run else catalog.render(by_id[body["id"]], adjacency) for _, body in page.items]
    return json_response({"data": data, "links": page.links})


def _task_list_query(call: Call, list_name: str) -> ListQuery:
    return parse_list_query(call, list_name=list_name, sort_fields=TASK_SORT_FIELDS,
                            default_sort=DEFAULT_TASK_SORT, filter_fields=TASK_FILTER_FIELDS)


@face.route(BASE, methods=["GET"])
def list_tasks(call: Call) -> Response:
    """The tasks the caller may reach, filtered, sorted and paginated."""
    enforce(call, Tier.READ)
    tenant = call.principal.tenant
    resource_id = call.query.get("resourceId")
    query = _task_list_query(call, "tasks")
    if query.sort_field != "updatedAt":
        tasks = catalog.tenant_tasks(tenant)
        if resource_id:
            tasks = [task for task in tasks if (task.document or {}).get("resourceId") == resource_id]
        return list_response(call, tasks, list_name="tasks", query=query)
    # The default sort: page by key over the `updatedAt` index, reading a page's worth of tasks.
    adjacency = catalog.tenant_adjacency(tenant)
    every_run = _needs_every_run(query)
    candidate = _candidate(call, query, adjacency, every_run)

    def accept(task: Task) -> tuple[Task, dict[str, Any]] | None:
        if resource_id and (task.document or {}).get("resourceId") != resource_id:
            return None
        pair = candidate(task)
        return None if pair is None else (task, pair[1])

    page = keyset_paginate(
        call, query, lambda descending, after: task_engine.tasks_by_update(
            tenant, FACE, descending=descending, after=after, first_chunk=query.limit + 1), accept)
    data = [body if every_run else catalog.render(task, adjacency) for task, body in page.items]
    return json_response({"data": data, "links": page.links})


# -- writes -------------------------------------------------------------------------------------


def unique_key(name: str, version: str | None) -> str:
    """The tenant-wide key of a (`name`, `version`) pair (hashed: names may be long)."""
    pair = json.dumps([FACE, name, version], separators=(",", ":"))
    return hashlib.sha256(pair.encode()).hexdigest()


def _key_of(task: Task) -> str:
    document = task.document or {}
    return unique_key(document.get("name", task.name), document.get("version"))


def _check_parents(principal: Principal, doc: TaskDocument, task_id: str) -> None:
    """Parents must be live scheduling tasks of the tenant that the writer may read (a chained
    task's runs carry its parent's name and times), and a chain may not loop."""
    if not doc.parents:
        return
    tenant = principal.tenant
    downstream = traverse(task_id, catalog.tenant_adjacency(tenant), Direction.DESCENDANTS)
    descendants = {vertex.task_id for vertex in downstream.vertices}
    for link in doc.parents:
        try:
            parent = task_engine.get_task(tenant, link.task_id)
        except NotFound:
            parent = None
        if parent is None or parent.face != FACE:
            raise ValidationError(f"events: the parent task '{link.task_id}' does not exist", location="events",
                                  value=link.task_id)
        access.require_reach(principal, parent.document, link.task_id)
        if link.task_id in descendants:
            raise ValidationError(f"events: depending on task '{link.task_id}' would make the chain loop",
                                  location="events", value=link.task_id)


def save(call: Call, body: Any, *, task_id: str, existing: Task | None) -> Task:
    """Validate a whole document and store it; the caller becomes (or stays) the owner."""
    doc = validate_task_document(body)
    spec = task_spec(doc)
    if spec.trigger is not None:
        task_engine.parse_trigger(spec.trigger, field="start.schedule", timezone_field="start.schedule.timezone")
    tenant, user = call.principal.tenant, call.principal.user_id
    _check_parents(call.principal, doc, task_id)
    previous = ((existing.document or {}).get("metadata") or {}) if existing else {}
    document = stored_document(doc, tenant=tenant, owner=user, created_by=previous.get("createdBy") or user,
                               updated_by=user)
    disabled_code = None
    if not doc.enabled and existing is not None:
        disabled_code = DisabledReason.REQUESTED if existing.enabled else existing.disabled_code
    # (name, version) is unique in the tenant: reserved with a conditional put before the save,
    # so two racing writes cannot both take it; the old pair is given back after a rename.
    key, old_key = unique_key(doc.name, doc.version), _key_of(existing) if existing else None
    if not task_engine.claim_name(tenant, key, task_id):
        raise Conflict(f"a task named '{doc.name}' with version '{doc.version}' already exists")
    try:
        task = task_engine.save_task(
            tenant=tenant, task_id=task_id, face=FACE, name=doc.name, spec=spec, enabled=doc.enabled,
            document=document, now=utcnow(), expected_revision=existing.revision if existing else None,
            disabled_code=disabled_code,
        )
    except Exception:
        if key != old_key:
            task_engine.release_name(tenant, key, task_id)
        raise
    if old_key is not None and old_key != key:
        task_engine.release_name(tenant, old_key, task_id)
    return task


@face.route(BASE, methods=["POST"])
def create_task(call: Call) -> Response:
    """Create a task owned by the caller; disabled unless the body enables it."""
    enforce(call, Tier.WRITE)
    require_content_type(call, JSON)
    task = save(call, call.json_body(), task_id=task_engine.new_task_id(), existing=None)
    return json_response(catalog.render(task, with_last_run=False), 201)  # a new task never ran


@face.route(BASE + "/{id}", methods=["GET"])
def get_task(call: Call, id: str) -> Response:
    """One task the caller may reach."""
    enforce(call, Tier.READ)
    return json_response(catalog.render(catalog.reachable_task(call, id)))


@face.route(BASE + "/{id}", methods=["PUT"])
def replace_task(call: Call, id: str) -> Response:
    """Replace the whole document; the caller becomes the owner."""
    enforce(call, Tier.WRITE)
    require_content_type(call, JSON)
    existing = catalog.reachable_task(call, id)
    task = save(call, call.json_body(), task_id=id, existing=existing)
    return json_response(catalog.render(task))


def apply_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations one by one, so a failure names the operation that failed."""
    if not isinstance(operations, list):
        raise BadRequest("a JSON Patch body is an array of operations")
    result = document
    for index, operation in enumerate(operations):
        where = f"body[{index}]"
        if not isinstance(operation, dict):
            raise ValidationError(f"{where} must be an object", location=where)
        if operation.get("op") not in PATCH_OPS:
            raise ValidationError(f"{where}.op must be one of {', '.join(sorted(PATCH_OPS))}",
                                  location=f"{where}.op", value=operation.get("op"))
        if not isinstance(operation.get("path"), str):
            raise ValidationError(f"{where}.path must be a JSON Pointer string", location=f"{where}.path")
        try:
            result = jsonpatch.apply_patch(result, [operation])
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise ValidationError(f"{where} cannot be applied: {exc}", location=f"{where}.path",
                                  value=operation.get("path")) from None
    return result


@face.route(BASE + "/{id}", methods=["PATCH"])
def patch_task(call: Call, id: str) -> Response:
    """Apply a JSON Patch to the task as GET shows it, then validate and store the result whole."""
    enforce(call, Tier.WRITE)
    require_content_type(call, JSON_PATCH)
    existing = catalog.reachable_task(call, id)
    patched = apply_patch(catalog.render(existing), call.json_body())
    task = save(call, patched, task_id=id, existing=existing)
    return json_response(catalog.render(task))


@face.route(BASE + "/{id}", methods=["DELETE"])
def delete_task(call: Call, id: str) -> Response:
    """Delete a task (owner or tenant admin); its pending runs are canceled."""
    enforce(call, Tier.WRITE)
    task = catalog.find_task(call, id)
    access.require_delete(call.principal, task.document, id)
    task_engine.delete_task(call.principal.tenant, id, now=utcnow())
    task_engine.release_name(call.principal.tenant, _key_of(task), id)
    return Response(body="", status_code=204, headers={"X-Trace-Id": call.trace_id})


@face.route(BASE + "/{id}/actions/start", methods=["POST"])
def start_task(call: Call, id: str) -> Response:
    """Run the task now, whether or not it is enabled; `source` defaults to `manual`."""
    enforce(call, Tier.WRITE)
    task = catalog.reachable_task(call, id)
    source = call.query.get("source") or "manual"
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
