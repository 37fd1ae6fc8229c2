"""The values of agent tasks: pull-mode work items that agents claim runs of.

An agent task carries what a user set (title, priority, approval policy, dependencies, parent)
and its derived `status` (see `pull_status.derive_status`), kept on the task so a list can
filter by it. Runs are ordinary pull-mode runs (`engine/pull.py`) under the task's id.
Plain frozen values; `task_to_data` / `task_from_data` are the one stored form both stores use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.engine.pull_status import TaskStatus
from chalicelib.timefmt import from_iso, to_iso

#: Limits of the product: dependencies per task, direct children per task, levels of a tree.
MAX_DEPENDENCIES = 32
MAX_CHILDREN = 64
MAX_DEPTH = 8
DEFAULT_MAX_ATTEMPTS = 3


class ApprovalPolicy(StrEnum):
    """Whether a task waits for a person before it may run."""

    #: Runnable once published (and its dependencies completed).
    NONE = "none"
    #: Stays blocked until approved.
    MANUAL = "manual"


class ApprovalState(StrEnum):
    """Where a task's approval stands."""

    #: `approval_policy: none`.
    NOT_REQUIRED = "not_required"
    #: Waiting for approve or reject.
    PENDING = "pending"
    APPROVED = "approved"
    #: Refused; the task is closed (canceled).
    REJECTED = "rejected"


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who did something: a kind (`human`, `agent_session`, ...) and a reference."""

    kind: str
    ref: str


@dataclass(frozen=True, kw_only=True)
class Dependency:
    """`task` waits for `depends_on_task_id` to complete (kind `blocks`)."""

    depends_on_task_id: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class AgentTask:
    """One agent task of a tenant."""

    tenant: str
    task_id: str
    #: Short human handle, `T-<n>` per tenant.
    identifier: str
    title: str
    description: str | None = None
    #: `global` or `workspace`.
    scope: str = "global"
    workspace_id: str | None = None
    network_channel: str | None = None
    #: `urgent | high | medium | low`.
    priority: str = "medium"
    approval_policy: ApprovalPolicy = ApprovalPolicy.NONE
    approval_state: ApprovalState = ApprovalState.NOT_REQUIRED
    #: Not published yet.
    draft: bool = False
    canceled: bool = False
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    owner: Actor
    created_by: Actor
    origin: Actor | None = None
    parent_task_id: str | None = None
    #: 0 for a root task, parent's + 1 below it.
    depth: int = 0
    dependencies: tuple[Dependency, ...] = ()
    metadata: Any = None
    #: The derived status as of the last change (`agent_tasks.refresh` keeps it current).
    status: TaskStatus = TaskStatus.READY
    created_at: datetime
    updated_at: datetime
    #: When it became completed, failed or canceled.
    closed_at: datetime | None = None
    #: The last change to the task or any of its runs.
    last_activity_at: datetime | None = None
    #: Optimistic concurrency: bumped by every save.
    revision: int = 1
    #: Open fields the face keeps with the task (opaque here).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(d.depends_on_task_id for d in self.dependencies)

    def changed(self, **changes: Any) -> AgentTask:
        """A copy with `changes`."""
        return replace(self, **changes)


def _actor(data: dict[str, str] | None) -> Actor | None:
    return Actor(kind=data["kind"], ref=data["ref"]) if data else None


def _actor_data(actor: Actor | None) -> dict[str, str] | None:
    return {"kind": actor.kind, "ref": actor.ref} if actor else None


def _iso(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


def task_to_data(task: AgentTask) -> dict[str, Any]:
    """The stored form of a task (JSON), without tenant, id and revision (the keys hold them)."""
    return {
        "identifier": task.identifier, "title": task.title, "description": task.description, "scope": task.scope,
        "workspace_id": task.workspace_id, "network_channel": task.network_channel, "priority": task.priority,
        "approval_policy": task.approval_policy.value, "approval_state": task.approval_state.value,
        "draft": task.draft, "canceled": task.canceled, "max_attempts": task.max_attempts,
        "owner": _actor_data(task.owner), "created_by": _actor_data(task.created_by),
        "origin": _actor_data(task.origin), "parent_task_id": task.parent_task_id, "depth": task.depth,
        "dependencies": [{"id": d.depends_on_task_id, "at": to_iso(d.created_at)} for d in task.dependencies],
        "metadata": task.metadata, "status": task.status.value, "created_at": to_iso(task.created_at),
        "updated_at": to_iso(task.updated_at), "closed_at": _iso(task.closed_at),
        "last_activity_at": _iso(task.last_activity_at), "extra": task.extra,
    }


def task_from_data(tenant: str, task_id: str, revision: int, data: dict[str, Any]) -> AgentTask:
    """The task stored as `data` (see `task_to_data`)."""
    owner = _actor(data["owner"])
    created_by = _actor(data["created_by"])
    assert owner is not None and created_by is not None
    return AgentTask(
        tenant=tenant, task_id=task_id, revision=revision, identifier=data["identifier"], title=data["title"],
        description=data.get("description"), scope=data.get("scope", "global"),
        workspace_id=data.get("workspace_id"), network_channel=data.get("network_channel"),
        priority=data.get("priority", "medium"), approval_policy=ApprovalPolicy(data["approval_policy"]),
        approval_state=ApprovalState(data["approval_state"]), draft=bool(data["draft"]),
        canceled=bool(data["canceled"]), max_attempts=int(data["max_attempts"]), owner=owner,
        created_by=created_by, origin=_actor(data.get("origin")), parent_task_id=data.get("parent_task_id"),
        depth=int(data.get("depth", 0)),
        dependencies=tuple(Dependency(depends_on_task_id=d["id"], created_at=from_iso(d["at"]))
                           for d in data.get("dependencies", [])),
        metadata=data.get("metadata"), status=TaskStatus(data["status"]), created_at=from_iso(data["created_at"]),
        updated_at=from_iso(data["updated_at"]),
        closed_at=from_iso(data["closed_at"]) if data.get("closed_at") else None,
        last_activity_at=from_iso(data["last_activity_at"]) if data.get("last_activity_at") else None,
        extra=dict(data.get("extra") or {}),
    )
