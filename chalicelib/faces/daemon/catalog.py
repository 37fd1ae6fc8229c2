"""The daemon face's task catalogue: create, replace and delete definitions, apply a whole
configuration file, and the start-up duties (`run_on_start`).

A definition from the file is marked `origin: file`; one written over HTTP `origin: api`. A
reload removes file tasks the file no longer names and leaves HTTP-made tasks alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from chalicelib.engine import command_policy
from chalicelib.engine import runs as run_engine
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.model import Task, TriggeredBy
from chalicelib.errors import NotFound
from chalicelib.faces.daemon.config_file import ConfigFile
from chalicelib.faces.daemon.definition import Definition, changed
from chalicelib.faces.daemon.names import name_of, task_id_for

FACE = "daemon"


def daemon_tasks(tenant: str) -> Iterator[Task]:
    """The tenant's daemon tasks and services, by name."""
    return iter(sorted(task_engine.list_tasks(tenant, face=FACE), key=lambda t: t.task_id))


def get(tenant: str, name: str) -> Task:
    """One daemon task, or `NotFound` naming it."""
    try:
        task = task_engine.get_task(tenant, task_id_for(name))
    except NotFound:
        raise NotFound(f"task {name!r} not found") from None
    if task.face != FACE:
        raise NotFound(f"task {name!r} not found")
    return task


def put(tenant: str, definition: Definition, *, now: datetime, origin: str = "api") -> tuple[Task, bool]:
    """Create or replace a definition; returns the task and whether it was created."""
    document = {**definition.document, "origin": origin}
    try:
        existing = get(tenant, definition.name)
    except NotFound:
        existing = None
    task = task_engine.save_task(
        tenant=tenant,
        task_id=task_id_for(definition.name),
        face=FACE,
        name=definition.name,
        spec=definition.spec,
        enabled=existing.enabled if existing is not None and definition.kind == "service" else True,
        document=document,
        now=now,
        expected_revision=existing.revision if existing is not None else None,
    )
    return task, existing is None


def delete(tenant: str, name: str, *, now: datetime) -> None:
    """Delete a task: pending runs are canceled, running runs stopped."""
    get(tenant, name)
    task_engine.delete_task(tenant, task_id_for(name), now=now)


@dataclass(frozen=True, kw_only=True)
class ReloadResult:
    added: list[str]
    removed: list[str]
    changed: list[str]

    def to_api(self) -> dict[str, list[str]]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def apply_file(tenant: str, config: ConfigFile, *, now: datetime) -> ReloadResult:
    """Make the tenant's file tasks match a validated file (all of it or, when the tenant may not
    run commands, none of it)."""
    if config.definitions:
        command_policy.require_commands_allowed(tenant)
    current = {name_of(t.task_id): t for t in daemon_tasks(tenant)}
    added, removed, updated = [], [], []
    for name, definition in sorted(config.definitions.items()):
        old = current.get(name)
        if old is None:
            put(tenant, definition, now=now, origin="file")
            added.append(name)
        elif changed(old, _as_stored(definition, "file")) or (old.document or {}).get("origin") != "file":
            put(tenant, definition, now=now, origin="file")
            updated.append(name)
    for name, task in sorted(current.items()):
        if name not in config.definitions and (task.document or {}).get("origin") == "file":
            delete(tenant, name, now=now)
            removed.append(name)
    return ReloadResult(added=added, removed=removed, changed=updated)


def _as_stored(definition: Definition, origin: str) -> Definition:
    return Definition(name=definition.name, document={**definition.document, "origin": origin},
                      spec=definition.spec, params=definition.params)


def start_up(tenant: str, *, now: datetime) -> int:
    """The runtime's start-up duty: one `startup` run of every `run_on_start` task (services
    need nothing: the dispatcher reconciles their instances). Returns how many runs started."""
    started = 0
    for task in daemon_tasks(tenant):
        if task.spec.kind == "task" and task.spec.run_on_start:
            run_engine.trigger_run(task, triggered_by=TriggeredBy.STARTUP, now=now, source="startup")
            started += 1
    return started
