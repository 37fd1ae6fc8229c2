"""Saving a task document: validate it whole, check its parents, keep (name, version) unique in
the tenant, and store it with optimistic concurrency (`expected_revision`), so two concurrent
writes cannot both win: the loser gets a 409."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.engine import tasks as task_engine
from chalicelib.engine.model import DisabledReason, Task
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.faces.http import Call
from chalicelib.faces.scheduling import access, catalog
from chalicelib.faces.scheduling.documents import FACE, stored_document, task_spec
from chalicelib.faces.scheduling.graph import Direction, traverse
from chalicelib.faces.scheduling.workflow import TaskDocument, validate_task_document
from chalicelib.identity import Principal
from chalicelib.timefmt import utcnow


def unique_key(name: str, version: str | None) -> str:
    """The tenant-wide key of a (`name`, `version`) pair (hashed: names may be long)."""
    pair = json.dumps([FACE, name, version], separators=(",", ":"))
    return hashlib.sha256(pair.encode()).hexdigest()


def key_of(task: Task) -> str:
    """The unique key a stored task holds."""
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
    key, old_key = unique_key(doc.name, doc.version), key_of(existing) if existing else None
    if not task_engine.claim_name(tenant, key, task_id):
        version = "without a version" if doc.version is None else f"with version '{doc.version}'"
        raise Conflict(f"a task named '{doc.name}' {version} already exists")
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
