"""Runs of agent tasks: enqueue (publish, approve, start), claims under leases, the holder's
calls, operator calls on one run, and the lease sweep; each one recorded on the task's timeline
and followed by `agent_tasks.refresh`, so the task's status (and its dependents') follows.

The lease mechanics are `engine/pull.py`'s; this module ties them to agent tasks. A keyed call
(`idempotency_key`) that is retried answers the run as the first call left it and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.engine import agent_tasks, agent_timeline, backend, pull
from chalicelib.engine.agent_model import Actor, AgentTask, ApprovalState
from chalicelib.engine.agent_timeline import SYSTEM
from chalicelib.engine.model import Run, RunStatus
from chalicelib.engine.pull import Claim, run_status
from chalicelib.engine.pull_status import HELD, TaskStatus
from chalicelib.errors import Conflict, NotFound

#: Run statuses as agents see them.
RUN_STATUSES = ("queued", "claimed", "starting", "running", "completed", "failed", "canceled")


@dataclass(frozen=True, kw_only=True)
class Started:
    """A task and the run an operation enqueued (None when it enqueued nothing)."""

    task: AgentTask
    run: Run | None


@dataclass(frozen=True, kw_only=True)
class AgentClaim:
    """A claim with the task it is for."""

    claim: Claim
    task: AgentTask


def _task_of(run: Run) -> AgentTask:
    return agent_tasks.get(run.tenant, run.task_id)


def get_run(tenant: str, run_id: str) -> tuple[Run, AgentTask]:
    """An agent run and its task; `NotFound` for no such run of the tenant (other faces' runs too)."""
    run = backend.current().runs.find_run(tenant, run_id)
    if run.source != "agent":
        raise NotFound(f"task run {run_id} not found")
    return run, _task_of(run)


def list_runs(tenant: str, task_id: str, *, status: str | None = None, session: str | None = None,
              limit: int = 100) -> list[Run]:
    """The task's runs, newest first, of one agent status and/or session."""
    agent_tasks.get(tenant, task_id)
    found = []
    for run in backend.current().runs.list_runs(tenant, task_id, newest_first=True):
        if status is not None and run_status(run) != status:
            continue
        if session is not None and session not in (run.worker_id, run.attached_session):
            continue
        found.append(run)
        if len(found) >= limit:
            break
    return found


def tenant_runs(tenant: str, *, statuses: frozenset[str] | None = None) -> Iterator[Run]:
    """Every agent run of the tenant (newest first), of the given agent statuses (for observers)."""
    for run in backend.current().runs.list_tenant_runs(tenant, newest_first=True):
        if run.source == "agent" and (statuses is None or run_status(run) in statuses):
            yield run


def enqueue(tenant: str, task_id: str, *, actor: Actor, now: datetime, origin: Actor | None = None,
            metadata: Any = None) -> Run:
    """Queue the task's next attempt. Refused for a draft or canceled task, while a run is open,
    past `max_attempts`, and while approval is pending or was refused."""
    task = agent_tasks.refresh(tenant, task_id, now=now, actor=actor)
    if task.approval_state in (ApprovalState.PENDING, ApprovalState.REJECTED) and not task.draft:
        raise Conflict(f"task {task_id} is awaiting approval" if task.approval_state is ApprovalState.PENDING
                       else f"task {task_id} was rejected")
    extra = {key: value for key, value in (("metadata", metadata),
                                           ("origin", {"kind": origin.kind, "ref": origin.ref} if origin else None))
             if value is not None}
    run = pull.enqueue(tenant, task_id, now=now, priority=task.priority, channel=task.network_channel,
                       max_attempts=task.max_attempts, status=task.status, extra=extra)
    agent_timeline.record(task, "run.queued", actor=actor, now=now, run=run, origin=origin)
    agent_tasks.refresh(tenant, task_id, now=now, actor=actor)
    return backend.current().runs.get_run(tenant, task_id, run.run_id)


def _open_run(tenant: str, task_id: str) -> Run | None:
    return next((run for run in backend.current().runs.list_runs(tenant, task_id) if not run.is_terminal), None)


def create(tenant: str, *, actor: Actor, now: datetime, **fields: Any) -> Started:
    """Create a task (see `agent_tasks.create`); a published one that needs no approval gets
    its first run queued at once, so agents can claim it."""
    task = agent_tasks.create(tenant, actor=actor, now=now, **fields)
    run = None
    if not task.draft and task.approval_state is ApprovalState.NOT_REQUIRED:
        run = enqueue(tenant, task.task_id, actor=actor, now=now, origin=fields.get("origin"))
    return Started(task=agent_tasks.get(tenant, task.task_id), run=run)


def publish(tenant: str, task_id: str, *, actor: Actor, now: datetime) -> Started:
    """A draft becomes runnable: its first run is queued unless it awaits approval."""
    task = agent_tasks.get(tenant, task_id)
    if not task.draft:
        raise Conflict(f"task {task_id} is not a draft")
    if task.canceled:
        raise Conflict(f"task {task_id} is canceled")
    task = agent_tasks.save(tenant, task_id, lambda t: t.changed(draft=False, updated_at=now, last_activity_at=now))
    agent_timeline.record(task, "task.published", actor=actor, now=now)
    task = agent_tasks.refresh(tenant, task_id, now=now, actor=actor)
    run = None
    if task.approval_state is ApprovalState.NOT_REQUIRED:
        run = enqueue(tenant, task_id, actor=actor, now=now)
    return Started(task=agent_tasks.get(tenant, task_id), run=run)


def approve(tenant: str, task_id: str, *, actor: Actor, now: datetime) -> Started:
    """Approve a task awaiting approval and queue its run (unless one is open already)."""
    task = agent_tasks.get(tenant, task_id)
    if task.draft:
        raise Conflict(f"task {task_id} is a draft: publish it first")
    if task.approval_state is not ApprovalState.PENDING:
        raise Conflict(f"task {task_id} is not awaiting approval ({task.approval_state.value})")
    task = agent_tasks.save(tenant, task_id, lambda t: t.changed(approval_state=ApprovalState.APPROVED,
                                                                 updated_at=now, last_activity_at=now))
    agent_timeline.record(task, "task.approved", actor=actor, now=now)
    agent_tasks.refresh(tenant, task_id, now=now, actor=actor)
    run = _open_run(tenant, task_id) or enqueue(tenant, task_id, actor=actor, now=now)
    return Started(task=agent_tasks.get(tenant, task_id), run=run)


def reject(tenant: str, task_id: str, *, actor: Actor, now: datetime) -> AgentTask:
    """Refuse a task awaiting approval: it is closed as canceled (with its open runs)."""
    task = agent_tasks.get(tenant, task_id)
    if task.approval_state is not ApprovalState.PENDING:
        raise Conflict(f"task {task_id} is not awaiting approval ({task.approval_state.value})")
    task = agent_tasks.save(tenant, task_id, lambda t: t.changed(approval_state=ApprovalState.REJECTED,
                                                                 updated_at=now, last_activity_at=now))
    agent_timeline.record(task, "task.rejected", actor=actor, now=now)
    return agent_tasks.cancel(tenant, task_id, actor=actor, now=now)


def start(tenant: str, task_id: str, *, actor: Actor, now: datetime, origin: Actor | None = None) -> Started:
    """Queue the task's next attempt (`enqueue`), answered with the task."""
    run = enqueue(tenant, task_id, actor=actor, now=now, origin=origin)
    return Started(task=agent_tasks.get(tenant, task_id), run=run)


def _on_requeued(now: datetime) -> Any:
    def requeued(run: Run) -> None:
        try:
            task = _task_of(run)
        except NotFound:
            return
        agent_timeline.record(task, "run.lease_expired", actor=SYSTEM, now=now, run=run)
        agent_tasks.refresh(run.tenant, run.task_id, now=now)
    return requeued


def requeue_expired(now: datetime, *, limit: int | None = None) -> int:
    """The lease sweep (maintenance role): requeue every run whose lease ran out, on the timeline."""
    return pull.requeue_expired(now, limit=limit, on_requeued=_on_requeued(now))


def claim_next(tenant: str, session: str, *, actor: Actor, now: datetime, lease_seconds: float | None = None,
               network_channel: str | None = None, scope: str | None = None,
               workspace_id: str | None = None) -> AgentClaim | None:
    """Claim the best claimable run for `session` (priority, then oldest), of the channel's queue
    and, when given, of tasks of that scope / workspace; None when nothing is claimable."""
    pull.lease_length(lease_seconds)  # refuse a bad lease before anything moves
    accept = None
    if scope is not None or workspace_id is not None:
        def accept(task_id: str) -> bool:
            try:
                task = agent_tasks.get(tenant, task_id)
            except NotFound:
                return False
            return scope in (None, task.scope) and workspace_id in (None, task.workspace_id)
    claim = pull.claim_next(tenant, session, now=now, channel=network_channel, lease_seconds=lease_seconds,
                            on_requeued=_on_requeued(now), accept=accept)
    if claim is None:
        return None
    task = _task_of(claim.run)
    agent_timeline.record(task, "run.claimed", actor=actor, now=now, run=claim.run)
    task = agent_tasks.refresh(tenant, claim.run.task_id, now=now, actor=actor, read=task)
    return AgentClaim(claim=claim, task=task)


def claim(tenant: str, run_id: str, *, session: str, actor: Actor, now: datetime,
          lease_seconds: float | None = None, idempotency_key: str | None = None) -> Run:
    """An operator's claim of one queued run for `session`."""
    run, task = get_run(tenant, run_id)
    if idempotency_key is not None and run.idempotency_key == idempotency_key and run.worker_id == session:
        return run
    if task.status is TaskStatus.BLOCKED or run.parked:
        raise Conflict(f"task {task.task_id} is blocked: its run cannot be claimed")
    claimed = pull.claim(tenant, session, run.task_id, run_id, now=now, lease_seconds=lease_seconds,
                         idempotency_key=idempotency_key)
    if claimed is None:
        raise Conflict(f"run {run_id} is {run_status(run)}, not queued")
    agent_timeline.record(task, "run.claimed", actor=actor, now=now, run=claimed.run)
    agent_tasks.refresh(tenant, run.task_id, now=now, actor=actor)
    return claimed.run


def start_run(tenant: str, run_id: str, *, session: str, actor: Actor, now: datetime,
              idempotency_key: str | None = None) -> Run:
    """The holder starts its claimed run: claimed | starting -> running."""
    run, task = get_run(tenant, run_id)
    if idempotency_key is not None and run.idempotency_key == idempotency_key and run.status is RunStatus.RUNNING:
        return run
    started = pull.mark_running(tenant, session, run_id, now=now, idempotency_key=idempotency_key)
    agent_timeline.record(task, "run.running", actor=actor, now=now, run=started)
    return started


def attach_session(tenant: str, run_id: str, *, session_id: str, actor: Actor, now: datetime) -> Run:
    """Record the agent session working an open run."""
    run, task = get_run(tenant, run_id)
    attached = pull.attach_session(tenant, run.task_id, run_id, session_id=session_id)
    agent_timeline.record(task, "run.session_attached", actor=actor, now=now, run=attached,
                          payload={"session_id": session_id})
    return attached


def heartbeat(tenant: str, session: str, run_id: str, *, actor: Actor, now: datetime,
              lease_seconds: float | None = None) -> Run:
    """The holder extends its lease; the stale holder (lease ran out, or requeued) is a `Conflict`."""
    run = pull.heartbeat(tenant, session, run_id, now=now, lease_seconds=lease_seconds)
    agent_timeline.record(_task_of(run), "run.heartbeat", actor=actor, now=now, run=run)
    return run


def complete(tenant: str, session: str, run_id: str, *, actor: Actor, now: datetime, result: Any = None) -> Run:
    """The holder's run completed: the task completes and its dependents may turn ready."""
    run = pull.complete(tenant, session, run_id, now=now, result=result)
    task = _task_of(run)
    agent_timeline.record(task, "run.completed", actor=actor, now=now, run=run)
    agent_tasks.refresh(tenant, run.task_id, now=now, actor=actor, read=task)
    return run


def fail(tenant: str, session: str, run_id: str, *, actor: Actor, now: datetime, error: str | None = None) -> Run:
    """The holder's run failed: the task is runnable again while attempts remain, else failed."""
    run = pull.fail(tenant, session, run_id, now=now, detail=error)
    task = _task_of(run)
    agent_timeline.record(task, "run.failed", actor=actor, now=now, run=run, payload={"error": error})
    agent_tasks.refresh(tenant, run.task_id, now=now, actor=actor, read=task)
    return run


def release(tenant: str, session: str, run_id: str, *, actor: Actor, now: datetime, reason: str | None = None) -> Run:
    """The holder gives the run back to the queue."""
    run = pull.release(tenant, session, run_id, now=now)
    task = _task_of(run)
    agent_timeline.record(task, "run.released", actor=actor, now=now, run=run, payload={"reason": reason})
    agent_tasks.refresh(tenant, run.task_id, now=now, actor=actor, read=task)
    return run


def cancel_run(tenant: str, run_id: str, *, actor: Actor, now: datetime) -> Run:
    """End an open run as canceled (its holder's session is freed); `Conflict` once it has ended."""
    run, task = get_run(tenant, run_id)
    ended = pull.cancel(tenant, run.task_id, run_id, now=now, detail=f"canceled by {actor.ref}")
    if ended is None:
        raise Conflict(f"run {run_id} has ended already")
    agent_timeline.record(task, "run.canceled", actor=actor, now=now, run=ended)
    agent_tasks.refresh(tenant, run.task_id, now=now, actor=actor)
    return ended


def session_run(tenant: str, session: str) -> Run | None:
    """The run `session` holds, if any."""
    return pull.session_run(tenant, session)


def is_held(run: Run) -> bool:
    """True while the run is under a lease (claimed, starting, running)."""
    return run.status in HELD
