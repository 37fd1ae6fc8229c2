"""Agent tasks: create, read, list, change, delete, trees, dependencies, cancel, and the status
each one derives from its own state, its runs and its dependencies (`pull_status.derive_status`).

The derived status is stored on the task so lists filter by it; every change that can move it
calls `refresh`, which saves the new status, parks or unparks the task's queued run (a blocked
task's run is invisible to claims) and carries the change on to the tasks that depend on it.
Every refusal is raised before anything is written. Runs and leases are in `agent_runs`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.engine import agent_timeline, backend, pull
from chalicelib.engine.agent_model import (
    MAX_CHILDREN,
    MAX_DEPENDENCIES,
    MAX_DEPTH,
    Actor,
    AgentTask,
    ApprovalPolicy,
    ApprovalState,
    Dependency,
)
from chalicelib.engine.agent_timeline import SYSTEM
from chalicelib.engine.model import Run, RunStatus
from chalicelib.engine.ports import Event
from chalicelib.engine.pull import PRIORITIES
from chalicelib.engine.pull_status import SETTLED, TaskState, TaskStatus, derive_status
from chalicelib.errors import Conflict, NotFound, ValidationError

SCOPES = ("global", "workspace")
MAX_TITLE = 500
MAX_DESCRIPTION = 20_000
#: Tasks read per store page while a filtered list fills.
_SCAN_PAGE = 100
#: Saves retried when a concurrent write won the revision race.
_SAVE_TRIES = 5


@dataclass(frozen=True, kw_only=True)
class TaskFilter:
    """What a task list keeps; None: any."""

    status: TaskStatus | None = None
    priority: str | None = None
    scope: str | None = None
    #: Matches the task's `workspace_id`.
    workspace: str | None = None
    approval_state: ApprovalState | None = None
    owner_kind: str | None = None
    owner_ref: str | None = None
    parent_task_id: str | None = None
    network_channel: str | None = None
    #: Case-insensitive substring of the title or the identifier.
    query: str | None = None
    #: Drafts are left out unless asked for (or `status` is `draft`).
    include_drafts: bool = False

    def keeps(self, task: AgentTask) -> bool:
        """True if `task` passes every filter given."""
        if task.draft and not (self.include_drafts or self.status is TaskStatus.DRAFT):
            return False
        pairs: list[tuple[Any, Any]] = [
            (self.status, task.status), (self.priority, task.priority), (self.scope, task.scope),
            (self.workspace, task.workspace_id), (self.approval_state, task.approval_state),
            (self.owner_kind, task.owner.kind), (self.owner_ref, task.owner.ref),
            (self.parent_task_id, task.parent_task_id), (self.network_channel, task.network_channel)]
        if any(wanted is not None and wanted != actual for wanted, actual in pairs):
            return False
        if self.query:
            needle = self.query.lower()
            return needle in task.title.lower() or needle in task.identifier.lower()
        return True


@dataclass(frozen=True, kw_only=True)
class TaskDetail:
    """A task with what hangs off it."""

    task: AgentTask
    children: list[AgentTask]
    #: The tasks it depends on, in its dependency order.
    blockers: list[AgentTask]
    #: Its runs, newest first.
    runs: list[Run]
    #: Its latest events, oldest first.
    events: list[Event]


def new_task_id(now: datetime, number: int) -> str:
    """A fresh task id, ordered by creation: the time, then the tenant's task number."""
    return f"tsk_{int(now.timestamp() * 1000):013d}{number:08d}{os.urandom(2).hex()}"


def _refuse(field: str, message: str, value: Any = None) -> ValidationError:
    return ValidationError(f"{field.split('.')[-1]} {message}", location=field, value=value)


def check_fields(fields: dict[str, Any]) -> None:
    """Refuse (naming the field) any value a task may not have; `fields` holds the ones given."""
    if "title" in fields and (not isinstance(fields["title"], str) or not fields["title"].strip()
                              or len(fields["title"]) > MAX_TITLE):
        raise _refuse("body.title", f"must be 1 to {MAX_TITLE} characters and not blank", fields["title"])
    if fields.get("description") is not None and len(fields["description"]) > MAX_DESCRIPTION:
        raise _refuse("body.description", f"must be at most {MAX_DESCRIPTION} characters")
    if "scope" in fields and fields["scope"] not in SCOPES:
        raise _refuse("body.scope", "must be global or workspace", fields["scope"])
    if "priority" in fields and fields["priority"] not in PRIORITIES:
        raise _refuse("body.priority", "must be one of " + ", ".join(PRIORITIES), fields["priority"])
    if "approval_policy" in fields and fields["approval_policy"] not in tuple(ApprovalPolicy):
        raise _refuse("body.approval_policy", "must be none or manual", fields["approval_policy"])
    if "max_attempts" in fields and not 1 <= fields["max_attempts"] <= pull.MAX_ATTEMPTS:
        raise _refuse("body.max_attempts", f"must be between 1 and {pull.MAX_ATTEMPTS}", fields["max_attempts"])


def get(tenant: str, task_id: str) -> AgentTask:
    """The task, or `NotFound` (another tenant's too)."""
    return backend.current().agent_tasks.get_task(tenant, task_id)


def create(tenant: str, *, actor: Actor, now: datetime, title: str, description: str | None = None,
           scope: str = "global", workspace_id: str | None = None, network_channel: str | None = None,
           priority: str = "medium", approval_policy: str = "none", max_attempts: int = 3, draft: bool = False,
           parent_task_id: str | None = None, metadata: Any = None, origin: Actor | None = None,
           parent_location: str = "body.parent_task_id") -> AgentTask:
    """A new task owned by `actor`: a draft, or published (runs are enqueued by `agent_runs`).
    Under a parent: at most `MAX_CHILDREN` children per parent and `MAX_DEPTH` levels."""
    check_fields({"title": title, "description": description, "scope": scope, "priority": priority,
                  "approval_policy": approval_policy, "max_attempts": max_attempts})
    if scope == "workspace" and not workspace_id:
        raise _refuse("body.workspace_id", "is required when scope is workspace")
    depth = 0
    if parent_task_id is not None:
        try:
            parent = get(tenant, parent_task_id)
        except NotFound:
            if parent_location.startswith("path"):
                raise
            raise _refuse(parent_location, "names no task", parent_task_id) from None
        if parent.canceled:
            raise Conflict(f"parent task {parent_task_id} is canceled")
        depth = parent.depth + 1
        if depth >= MAX_DEPTH:
            raise _refuse(parent_location, f"is {MAX_DEPTH} levels deep already", parent_task_id)
        if len(backend.current().agent_tasks.children(tenant, parent_task_id)) >= MAX_CHILDREN:
            raise _refuse(parent_location, f"has {MAX_CHILDREN} children already", parent_task_id)
    policy = ApprovalPolicy(approval_policy)
    number = backend.current().agent_tasks.next_number(tenant)
    task = AgentTask(
        tenant=tenant, task_id=new_task_id(now, number), identifier=f"T-{number}", title=title.strip(),
        description=description, scope=scope, workspace_id=workspace_id, network_channel=network_channel,
        priority=priority, approval_policy=policy,
        approval_state=ApprovalState.PENDING if policy is ApprovalPolicy.MANUAL else ApprovalState.NOT_REQUIRED,
        draft=draft, max_attempts=max_attempts, owner=actor, created_by=actor, origin=origin,
        parent_task_id=parent_task_id, depth=depth, metadata=metadata, created_at=now, updated_at=now,
        last_activity_at=now)
    task = task.changed(status=_derive(task, [], now=now))
    backend.current().agent_tasks.create_task(task)
    agent_timeline.record(task, "task.created", actor=actor, now=now, origin=origin,
                          payload={"draft": draft, "parent_task_id": parent_task_id})
    return task


def detail(tenant: str, task_id: str, *, events: int = 50) -> TaskDetail:
    """The task with its children, the tasks it depends on, its runs and its latest events."""
    task = get(tenant, task_id)
    store = backend.current().agent_tasks
    children = [store.get_task(tenant, child) for child in store.children(tenant, task_id)]
    blockers = [store.get_task(tenant, blocker) for blocker in task.depends_on]
    runs = list(backend.current().runs.list_runs(tenant, task_id, newest_first=True))
    latest = list(backend.current().events.list_events(tenant, task_id, after=0, limit=10_000))[-events:]
    return TaskDetail(task=task, children=children, blockers=blockers, runs=runs, events=latest)


def list_tasks(tenant: str, *, filters: TaskFilter, after: str | None = None,
               limit: int = 50) -> tuple[list[AgentTask], str | None]:
    """Up to `limit` tasks passing `filters`, oldest first, after task id `after`; and the id to
    continue after (None at the end). Reads the tenant's partition a page at a time."""
    found: list[AgentTask] = []
    position = after
    while True:
        page, more = backend.current().agent_tasks.list_tasks(tenant, after=position, limit=_SCAN_PAGE)
        for task in page:
            if filters.keeps(task):
                found.append(task)
                if len(found) == limit:
                    last = task.task_id
                    return found, last if (more is not None or task is not page[-1]) else None
        if more is None:
            return found, None
        position = more


def all_tasks(tenant: str) -> Iterator[AgentTask]:
    """Every agent task of the tenant, oldest first (one query per 100)."""
    position: str | None = None
    while True:
        page, position = backend.current().agent_tasks.list_tasks(tenant, after=position, limit=_SCAN_PAGE)
        yield from page
        if position is None:
            return


def children(tenant: str, task_id: str) -> list[AgentTask]:
    """The task's direct children, oldest first; `NotFound` for no such task."""
    get(tenant, task_id)
    store = backend.current().agent_tasks
    return [store.get_task(tenant, child) for child in store.children(tenant, task_id)]


def subtree(tenant: str, task_id: str) -> list[tuple[AgentTask, int]]:
    """The task and every descendant with its depth below the task (0 for the task), breadth first."""
    found = [(get(tenant, task_id), 0)]
    queue = deque(found)
    store = backend.current().agent_tasks
    while queue:
        parent, depth = queue.popleft()
        for child_id in store.children(tenant, parent.task_id):
            try:
                entry = (store.get_task(tenant, child_id), depth + 1)
            except NotFound:
                continue
            found.append(entry)
            queue.append(entry)
    return found


def save(tenant: str, task_id: str, change: Callable[[AgentTask], AgentTask], *,
         dependency_added: str | None = None, dependency_removed: str | None = None,
         read: AgentTask | None = None) -> AgentTask:
    """Apply `change` to the stored task (`read`, when the caller just read it) and save it,
    reading again when another write won."""
    store = backend.current().agent_tasks
    for attempt in range(_SAVE_TRIES):
        current = read if read is not None and attempt == 0 else store.get_task(tenant, task_id)
        try:
            return store.save_task(change(current), expected_revision=current.revision,
                                   dependency_added=dependency_added, dependency_removed=dependency_removed)
        except Conflict:
            continue
    raise Conflict(f"task {task_id} kept changing; try again")


def update(tenant: str, task_id: str, *, actor: Actor, now: datetime, fields: dict[str, Any]) -> AgentTask:
    """Change the given fields (title, description, priority, metadata, max_attempts,
    network_channel, workspace_id, scope; approval_policy while a draft)."""
    check_fields(fields)
    task = get(tenant, task_id)
    if task.canceled:
        raise Conflict(f"task {task_id} is canceled")
    if "approval_policy" in fields and fields["approval_policy"] != task.approval_policy.value and not task.draft:
        raise _refuse("body.approval_policy", "can change only while the task is a draft")
    if "max_attempts" in fields:
        used = len(list(backend.current().runs.list_runs(tenant, task_id)))
        if fields["max_attempts"] < used:
            raise _refuse("body.max_attempts", f"must be at least the {used} attempts already made")
    if fields.get("scope", task.scope) == "workspace" and not fields.get("workspace_id", task.workspace_id):
        raise _refuse("body.workspace_id", "is required when scope is workspace")

    def apply(current: AgentTask) -> AgentTask:
        changes = dict(fields)
        if "approval_policy" in changes:
            policy = ApprovalPolicy(changes["approval_policy"])
            changes["approval_policy"] = policy
            changes["approval_state"] = (ApprovalState.PENDING if policy is ApprovalPolicy.MANUAL
                                         else ApprovalState.NOT_REQUIRED)
        return current.changed(**changes, updated_at=now, last_activity_at=now)

    task = save(tenant, task_id, apply)
    agent_timeline.record(task, "task.updated", actor=actor, now=now, payload={"fields": sorted(fields)})
    return refresh(tenant, task_id, now=now, actor=actor)


def delete(tenant: str, task_id: str, *, actor: Actor, now: datetime) -> None:
    """Delete a task that has no children and no dependents, with its runs (open ones are
    ended first, freeing their sessions). Its events expire with the log's retention."""
    get(tenant, task_id)
    store = backend.current().agent_tasks
    if store.children(tenant, task_id):
        raise Conflict(f"task {task_id} has children: delete or cancel them first")
    dependents = store.dependents(tenant, task_id)
    if dependents:
        raise Conflict(f"tasks depend on {task_id}: {', '.join(dependents[:5])}; remove those dependencies first")
    runs = backend.current().runs
    for run in list(runs.list_runs(tenant, task_id)):
        if not run.is_terminal:
            pull.cancel(tenant, task_id, run.run_id, now=now, detail=f"task deleted by {actor.ref}")
        try:
            runs.delete_run(tenant, task_id, run.run_id)
        except NotFound:
            continue
    store.delete_task(tenant, task_id)


def cancel(tenant: str, task_id: str, *, actor: Actor, now: datetime) -> AgentTask:
    """Cancel the task and its whole subtree, ending their open runs; the root as it is now."""
    for task, _ in subtree(tenant, task_id):
        if task.canceled:
            continue
        for run in backend.current().runs.list_runs(tenant, task.task_id):
            if not run.is_terminal:
                ended = pull.cancel(tenant, task.task_id, run.run_id, now=now, detail=f"canceled by {actor.ref}")
                if ended is not None:
                    agent_timeline.record(task, "run.canceled", actor=actor, now=now, run=ended)
        canceled = save(tenant, task.task_id, lambda t: t.changed(canceled=True, updated_at=now, last_activity_at=now))
        agent_timeline.record(canceled, "task.canceled", actor=actor, now=now,
                              payload={"root_task_id": task_id})
        refresh(tenant, task.task_id, now=now, actor=actor)
    return get(tenant, task_id)


def _reaches(tenant: str, start: str, target: str) -> bool:
    """True if `start` depends on `target`, directly or through other tasks."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current == target:
            return True
        if current in seen:
            continue
        seen.add(current)
        try:
            todo.extend(get(tenant, current).depends_on)
        except NotFound:
            continue
    return False


def add_dependency(tenant: str, task_id: str, depends_on: str, *, actor: Actor, now: datetime) -> AgentTask:
    """`task_id` waits for `depends_on` to complete. Refused: itself, a missing task, a duplicate,
    more than `MAX_DEPENDENCIES`, a cycle, a settled task."""
    task = get(tenant, task_id)
    location = "body.depends_on_task_id"
    if depends_on == task_id:
        raise _refuse(location, "must name another task", depends_on)
    try:
        get(tenant, depends_on)
    except NotFound:
        raise _refuse(location, "names no task", depends_on) from None
    if depends_on in task.depends_on:
        raise Conflict(f"task {task_id} already depends on {depends_on}")
    if len(task.dependencies) >= MAX_DEPENDENCIES:
        raise _refuse(location, f"is one too many: a task has at most {MAX_DEPENDENCIES} dependencies", depends_on)
    if task.status in SETTLED:
        raise Conflict(f"task {task_id} is {task.status.value}")
    if _reaches(tenant, depends_on, task_id):
        raise _refuse(location, f"would make a cycle: {depends_on} already depends on {task_id}", depends_on)
    edge = Dependency(depends_on_task_id=depends_on, created_at=now)
    task = save(tenant, task_id, lambda t: t.changed(dependencies=(*t.dependencies, edge), updated_at=now,
                                                     last_activity_at=now), dependency_added=depends_on)
    agent_timeline.record(task, "task.dependency_added", actor=actor, now=now,
                          payload={"depends_on_task_id": depends_on})
    return refresh(tenant, task_id, now=now, actor=actor)


def remove_dependency(tenant: str, task_id: str, depends_on: str, *, actor: Actor, now: datetime) -> AgentTask:
    """Drop one dependency; `NotFound` when the task has no such dependency."""
    task = get(tenant, task_id)
    if depends_on not in task.depends_on:
        raise NotFound(f"task {task_id} does not depend on {depends_on}")
    task = save(tenant, task_id, lambda t: t.changed(
        dependencies=tuple(d for d in t.dependencies if d.depends_on_task_id != depends_on), updated_at=now,
        last_activity_at=now), dependency_removed=depends_on)
    agent_timeline.record(task, "task.dependency_removed", actor=actor, now=now,
                          payload={"depends_on_task_id": depends_on})
    return refresh(tenant, task_id, now=now, actor=actor)


def _state(task: AgentTask) -> TaskState:
    return TaskState(published=not task.draft, approval_required=task.approval_policy is ApprovalPolicy.MANUAL,
                     approved=task.approval_state is ApprovalState.APPROVED,
                     canceled=task.canceled or task.approval_state is ApprovalState.REJECTED,
                     max_attempts=task.max_attempts)


def _derive(task: AgentTask, runs: list[Run], *, now: datetime) -> TaskStatus:
    statuses = []
    for blocker in task.depends_on:
        try:
            statuses.append(get(task.tenant, blocker).status)
        except NotFound:
            statuses.append(TaskStatus.BLOCKED)
    return derive_status(_state(task), runs, statuses, now=now)


def _set_status(task: AgentTask, status: TaskStatus, *, now: datetime, actor: Actor) -> AgentTask:
    before = task.status

    def apply(current: AgentTask) -> AgentTask:
        return current.changed(status=status, updated_at=now, last_activity_at=now,
                               closed_at=now if status in SETTLED else None)

    task = save(task.tenant, task.task_id, apply, read=task)
    agent_timeline.record(task, "task.status_changed", actor=actor, now=now,
                          payload={"from": before.value, "to": status.value})
    return task


def _park(task: AgentTask, runs: list[Run]) -> None:
    """Hide a blocked task's queued run from claims, or show a ready task's again."""
    for run in runs:
        if run.status is RunStatus.QUEUED:
            if task.status is TaskStatus.BLOCKED and not run.parked:
                pull.set_claimable(task.tenant, task.task_id, run.run_id, claimable=False)
            elif task.status is TaskStatus.READY and run.parked:
                pull.set_claimable(task.tenant, task.task_id, run.run_id, claimable=True)


def refresh(tenant: str, task_id: str, *, now: datetime, actor: Actor = SYSTEM,
            read: AgentTask | None = None) -> AgentTask:
    """Derive the task's status again and save it if it moved, then carry the change to its
    dependents (and theirs, while theirs move too), re-deriving each; settled tasks stay as they
    are. `read`: the task as the caller just read it (saves a read). The task as stored."""
    current = read if read is not None else get(tenant, task_id)
    task = _refresh_one(current, now=now, actor=actor)
    if task.status is current.status:
        return task  # dependents derive from this task's status alone: nothing to carry on
    todo = deque(backend.current().agent_tasks.dependents(tenant, task_id))
    seen: set[str] = set()
    while todo:
        dependent_id = todo.popleft()
        if dependent_id in seen:
            continue
        seen.add(dependent_id)
        try:
            dependent = get(tenant, dependent_id)
        except NotFound:
            continue
        if dependent.status in SETTLED:
            continue
        before = dependent.status
        if _refresh_one(dependent, now=now, actor=SYSTEM).status is not before:
            todo.extend(backend.current().agent_tasks.dependents(tenant, dependent_id))
    return task


def _refresh_one(task: AgentTask, *, now: datetime, actor: Actor) -> AgentTask:
    runs = list(backend.current().runs.list_runs(task.tenant, task.task_id))
    status = _derive(task, runs, now=now)
    if status is not task.status:
        task = _set_status(task, status, now=now, actor=actor)
    _park(task, runs)
    return task


def runs_of(tenant: str, task_id: str) -> list[Run]:
    """The task's runs, newest first."""
    return list(backend.current().runs.list_runs(tenant, task_id, newest_first=True))


def child_count(tenant: str, task_id: str) -> int:
    """How many direct children the task has."""
    return len(backend.current().agent_tasks.children(tenant, task_id))


def dependents(tenant: str, task_id: str) -> list[str]:
    """Ids of the tasks that wait for this one."""
    return backend.current().agent_tasks.dependents(tenant, task_id)
