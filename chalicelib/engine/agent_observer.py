"""The observer's reads and writes over agent tasks: the dashboard and an actor's inbox (the
rules are `agent_observe`'s), and the actor's triage of one task (read, dismiss, archive).

Reads are bounded by the tenant: the tenant's agent tasks are one query of its partition per
100 tasks (`agent_tasks.all_tasks`), its agent runs one query of the `tenant_runs` index
(`agent_runs.tenant_runs`), an actor's triage one query of its records; nothing scans a table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.engine import agent_runs, agent_tasks, backend
from chalicelib.engine.agent_model import AgentTask, ApprovalState
from chalicelib.engine.agent_observe import (
    Actor,
    Dashboard,
    Inbox,
    InboxQuery,
    RunFacts,
    TaskFacts,
    dashboard,
    inbox,
    latest_activity,
)
from chalicelib.engine.model import Run
from chalicelib.engine.ports import Triage
from chalicelib.engine.pull import attempt_of, run_status
from chalicelib.engine.pull_status import TaskStatus


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which tasks an observer looks at; None: any."""

    scope: str | None = None
    #: Matches the task's `workspace_id`.
    workspace: str | None = None
    owner_kind: str | None = None
    owner_ref: str | None = None
    network_channel: str | None = None
    origin_kind: str | None = None

    def keeps(self, task: AgentTask) -> bool:
        pairs = [(self.scope, task.scope), (self.workspace, task.workspace_id), (self.owner_kind, task.owner.kind),
                 (self.owner_ref, task.owner.ref), (self.network_channel, task.network_channel),
                 (self.origin_kind, task.origin.kind if task.origin else None)]
        return all(wanted is None or wanted == actual for wanted, actual in pairs)


def task_facts(task: AgentTask, statuses: dict[str, TaskStatus]) -> TaskFacts:
    """What the observer needs of `task`; `statuses` are the tenant's task statuses by id."""
    blocked = task.status is TaskStatus.BLOCKED
    changed = max(task.updated_at, task.last_activity_at or task.updated_at)
    return TaskFacts(
        task_id=task.task_id, title=task.title, identifier=task.identifier, status=task.status,
        priority=task.priority, scope=task.scope, workspace_id=task.workspace_id, owner_kind=task.owner.kind,
        owner_ref=task.owner.ref, origin_kind=task.origin.kind if task.origin else None,
        network_channel=task.network_channel, max_attempts=task.max_attempts, updated_at=changed,
        awaiting_approval=blocked and task.approval_state is ApprovalState.PENDING,
        awaiting_dependencies=blocked and any(statuses.get(blocker) is not TaskStatus.COMPLETED
                                              for blocker in task.depends_on))


def run_facts(run: Run, task: AgentTask | None) -> RunFacts:
    """What the observer needs of `run` (of `task`)."""
    status = run_status(run)
    return RunFacts(run_id=run.run_id, task_id=run.task_id, status=status, attempt=attempt_of(run),
                    network_channel=task.network_channel if task else None,
                    session_id=run.worker_id or run.attached_session, queued_at=run.created_at,
                    claimed_at=run.claimed_at, started_at=run.started_at, ended_at=run.ended_at,
                    heartbeat_at=run.heartbeat_at, lease_until=run.lease_until,
                    error=run.detail if status == "failed" else None, parked=run.parked)


@dataclass(frozen=True, kw_only=True)
class Observed:
    """The tenant's agent tasks in scope and their runs, as read and as facts."""

    tasks: dict[str, AgentTask]
    runs: dict[str, Run]
    task_facts: list[TaskFacts]
    run_facts: list[RunFacts]


def observe(tenant: str, scope: Scope) -> Observed:
    """Read the tenant's agent tasks in `scope` and their runs."""
    every = list(agent_tasks.all_tasks(tenant))
    statuses = {task.task_id: task.status for task in every}
    tasks = {task.task_id: task for task in every if scope.keeps(task)}
    runs = {run.run_id: run for run in agent_runs.tenant_runs(tenant) if run.task_id in tasks}
    return Observed(tasks=tasks, runs=runs, task_facts=[task_facts(task, statuses) for task in tasks.values()],
                    run_facts=[run_facts(run, tasks.get(run.task_id)) for run in runs.values()])


def tenant_dashboard(tenant: str, scope: Scope, *, now: datetime) -> tuple[Dashboard, Observed]:
    """The dashboard of the tenant's agent work in `scope` at `now`."""
    seen = observe(tenant, scope)
    return dashboard(seen.task_facts, seen.run_facts, now=now), seen


def actor_inbox(tenant: str, actor: Actor, scope: Scope, query: InboxQuery) -> tuple[Inbox, Observed]:
    """The actor's inbox over the tenant's agent tasks in `scope`."""
    seen = observe(tenant, scope)
    triage = backend.current().triage.triage_of_actor(tenant, actor.kind, actor.ref)
    return inbox(seen.task_facts, seen.run_facts, triage, actor=actor, query=query), seen


class TriageAction(StrEnum):
    """What an actor does to an inbox item."""

    READ = "read"
    DISMISS = "dismiss"
    ARCHIVE = "archive"


def _activity_of(tenant: str, task: AgentTask) -> datetime:
    runs: Iterable[Run] = backend.current().runs.list_runs(tenant, task.task_id)
    facts = task_facts(task, {})
    return latest_activity(facts, (run_facts(run, task) for run in runs))


def triage(tenant: str, actor: Actor, task_id: str, action: TriageAction, *, now: datetime) -> Triage:
    """Mark the task read, dismissed or archived for `actor`, as of its latest activity (newer
    activity makes it unread, and brings a dismissed one back). `NotFound` for no such task."""
    task = agent_tasks.get(tenant, task_id)
    seen = _activity_of(tenant, task)
    flags = {TriageAction.READ: {"read": True}, TriageAction.DISMISS: {"read": True, "dismissed": True},
             TriageAction.ARCHIVE: {"read": True, "archived": True}}[action]
    return backend.current().triage.mark_triage(tenant, actor.kind, actor.ref, task_id, now=now,
                                                last_seen_activity_at=seen, **flags)
