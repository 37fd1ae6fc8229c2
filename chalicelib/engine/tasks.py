"""Defining tasks: validate the trigger, compute the first fire, store, and clean up on delete."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from chalicelib import settings
from chalicelib.engine import backend, command_policy, due_signal, schedule
from chalicelib.engine.model import DisabledReason, EndReason, RunStatus, Task, TaskListing, TaskSpec, TriggerSpec
from chalicelib.errors import NotFound
from chalicelib.observability import get_logger, log_event

_log = get_logger("tasks")


def new_task_id() -> str:
    """A fresh task id (32 hex characters)."""
    return uuid.uuid4().hex


def parse_trigger(trigger: TriggerSpec, *, field: str = "cron", timezone_field: str = "timezone") -> schedule.Schedule:
    """Validate a trigger; `ValidationError` names `field` or `timezone_field`."""
    return schedule.parse_schedule(
        trigger.expression,
        timezone=trigger.timezone,
        start=trigger.start,
        end=trigger.end,
        field=field,
        timezone_field=timezone_field,
    )


def first_fire(spec: TaskSpec, now: datetime) -> datetime | None:
    """The first nominal fire strictly after `now` (dst-skipped repeats included), or None."""
    if spec.kind == "service":
        return now  # services are reconciled by the dispatcher straight away
    if spec.trigger is None:
        return None
    fire = schedule.next_fire(parse_trigger(spec.trigger), now)
    return fire.at if fire else None


def save_task(
    *,
    tenant: str,
    task_id: str,
    face: str,
    name: str,
    spec: TaskSpec,
    enabled: bool,
    document: dict[str, Any] | None,
    now: datetime,
    expected_revision: int | None = None,
    disabled_code: DisabledReason | None = None,
) -> Task:
    """Create (no `expected_revision`) or replace a task; its trigger restarts from `now`.
    A command task needs its tenant to be allowed to run commands (`Forbidden` says why)."""
    if spec.executor == "command":
        command_policy.require_commands_allowed(tenant)
    return _store_task(tenant=tenant, task_id=task_id, face=face, name=name, spec=spec, enabled=enabled,
                       document=document, now=now, expected_revision=expected_revision, disabled_code=disabled_code)


def _store_task(*, tenant: str, task_id: str, face: str, name: str, spec: TaskSpec, enabled: bool,
                document: dict[str, Any] | None, now: datetime, expected_revision: int | None,
                disabled_code: DisabledReason | None) -> Task:
    if spec.trigger is not None:
        parse_trigger(spec.trigger)
    next_fire_at = first_fire(spec, now) if enabled else None
    task = backend.current().tasks.put_task(
        tenant=tenant,
        task_id=task_id,
        face=face,
        name=name,
        enabled=enabled,
        spec=spec,
        document=document,
        next_fire_at=next_fire_at,
        due_shards=settings.current().due_shards,
        now=now,
        expected_revision=expected_revision,
        disabled_code=disabled_code,
    )
    due_signal.note(next_fire_at)
    return task


def get_task(tenant: str, task_id: str) -> Task:
    """One task of the tenant, or `NotFound`."""
    return backend.current().tasks.get_task(tenant, task_id)


def list_tasks(tenant: str, *, face: str | None = None) -> Iterator[Task]:
    """The tenant's tasks (of one face)."""
    return backend.current().tasks.list_tasks(tenant, face=face)


def tasks_by_update(
    tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None, first_chunk: int = 25
) -> Iterator[tuple[Task, dict[str, str]]]:
    """A face's tasks in order of last change, each with a position to resume after it; the
    first read takes `first_chunk` tasks (a page's worth), later ones more."""
    return backend.current().tasks.tasks_by_update(tenant, face, descending=descending, after=after,
                                                   first_chunk=first_chunk)


def listings_by_update(
    tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None, first_chunk: int = 25
) -> Iterator[tuple[TaskListing, dict[str, str]]]:
    """`tasks_by_update`, each task read as a listing: what a list filters and sorts on."""
    return backend.current().tasks.listings_by_update(tenant, face, descending=descending, after=after,
                                                      first_chunk=first_chunk)


def get_tasks(tenant: str, task_ids: Sequence[str]) -> dict[str, Task]:
    """The tasks of these ids, read together, by id; a missing one is absent."""
    read = backend.current().tasks.get_tasks([(tenant, task_id) for task_id in task_ids])
    return {task_id: task for (_, task_id), task in read.items()}


#: The detail of a run ended `stopped` because its task was deleted.
TASK_DELETED = "task deleted"


def delete_task(tenant: str, task_id: str, *, now: datetime) -> None:
    """Delete a task, then end its runs: every pending or queued run ends `stopped` ("task
    deleted") and every running run is told to stop.

    The item goes first: from then on no dispatcher can claim a tick (the claim is conditional
    on the trigger) and no worker can queue a run behind a slot (conditional on the item), so
    the sweep that follows sees every run those could still make. A run created later by a
    caller that read the task before it went (a manual trigger, say) is ended by the worker
    when its message arrives (`worker.handle_message`).
    """
    task = backend.current().tasks.get_task(tenant, task_id)
    try:
        backend.current().tasks.delete_task(tenant, task_id, subscriptions=task.spec.subscriptions)
    except NotFound:
        log_event(_log, logging.INFO, "task already deleted", task_id=task_id)
    end_runs_of_deleted_task(tenant, task_id, now=now)


def end_runs_of_deleted_task(tenant: str, task_id: str, *, now: datetime) -> None:
    """End what is left of a deleted task's runs (see `delete_task`)."""
    from chalicelib.engine import runs as run_engine

    for run in backend.current().runs.list_runs(tenant, task_id):
        if run.status is RunStatus.ENDED:
            continue
        # The stop flag first: a worker cannot start a flagged run, so a pending run that a
        # worker is about to start either ends here or never starts.
        run_engine.request_stop(tenant, task_id, run.run_id)
        if run.status is RunStatus.PENDING:
            run_engine.end_without_executing(run, reason=EndReason.STOPPED, now=now, detail=TASK_DELETED)


def set_enabled(task: Task, enabled: bool, *, now: datetime, disabled_code: DisabledReason | None = None) -> Task:
    """Enable or disable a task (its trigger restarts from `now` when enabled); a concurrent
    change to the task is a `Conflict`. Not a (re)definition, so it needs no command right:
    a tenant whose right was withdrawn can still stop its services."""
    return _store_task(
        tenant=task.tenant,
        task_id=task.task_id,
        face=task.face,
        name=task.name,
        spec=task.spec,
        enabled=enabled,
        document=task.document,
        now=now,
        expected_revision=task.revision,
        disabled_code=None if enabled else disabled_code,
    )


def chain_edges(tenant: str) -> Iterator[tuple[str, str, frozenset[str] | None]]:
    """(parent id, child id, outcomes) of every subscription edge of the tenant."""
    return backend.current().subscriptions.subscriptions_of_tenant(tenant)


def parents_of(task: Task) -> list[str]:
    """Ids of the tasks whose finish runs this one: its spec's parents whose edge still stands
    (a deleted parent's edges are gone although the child's document still names it)."""
    return [sub.parent_task_id for sub in task.spec.subscriptions
            if backend.current().subscriptions.has_subscription(task.tenant, sub.parent_task_id, task.task_id)]


def children_of(tenant: str, parent_task_id: str) -> list[str]:
    """Ids of the tasks that run when this one finishes (one query of its own edges)."""
    return [child for child, _ in backend.current().subscriptions.subscribers(tenant, parent_task_id)]


def claim_name(tenant: str, key: str, task_id: str) -> bool:
    """Atomically reserve a name that must be unique in the tenant for `task_id`; False when
    another task holds it."""
    return backend.current().names.claim(tenant, key, task_id)


def release_name(tenant: str, key: str, task_id: str) -> None:
    """Give back a name reserved with `claim_name` (only if `task_id` holds it)."""
    backend.current().names.release(tenant, key, task_id)
