"""The timeline of an agent task: every change to the task or its runs is one event in the
task's event log (`engine/events.py`), numbered by the per-task atomic counter.

An event's data holds who did it (`actor`, `origin`), what changed (`payload`), and snapshots
of the task and of the run it concerns as they were right after the change, so a timeline
reads without joining anything back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.engine import events
from chalicelib.engine.agent_model import Actor, AgentTask
from chalicelib.engine.model import Run
from chalicelib.engine.ports import Event
from chalicelib.engine.pull import attempt_of, run_status
from chalicelib.timefmt import to_iso

#: The actor recorded for what the service does by itself (a lease that ran out, a cascade).
SYSTEM = Actor(kind="daemon", ref="tasklane")


def _iso(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


def task_snapshot(task: AgentTask) -> dict[str, Any]:
    """The task's identity and status, as an event keeps it."""
    return {"id": task.task_id, "identifier": task.identifier, "title": task.title, "status": task.status.value,
            "priority": task.priority, "scope": task.scope, "workspace_id": task.workspace_id,
            "owner": {"kind": task.owner.kind, "ref": task.owner.ref}}


def run_snapshot(run: Run) -> dict[str, Any]:
    """The run's state, as an event keeps it."""
    return {"id": run.run_id, "task_id": run.task_id, "status": run_status(run), "attempt": attempt_of(run),
            "session": run.worker_id or run.attached_session, "claim_token_hash": run.claim_token_hash,
            "lease_until": _iso(run.lease_until), "queued_at": _iso(run.created_at),
            "claimed_at": _iso(run.claimed_at), "started_at": _iso(run.started_at), "ended_at": _iso(run.ended_at),
            "heartbeat_at": _iso(run.heartbeat_at), "error": run.detail if run_status(run) == "failed" else None}


def record(task: AgentTask, event_type: str, *, actor: Actor, now: datetime, run: Run | None = None,
           payload: dict[str, Any] | None = None, origin: Actor | None = None) -> int:
    """Append one event to the task's timeline; its sequence."""
    data = {"actor": {"kind": actor.kind, "ref": actor.ref},
            "origin": {"kind": origin.kind, "ref": origin.ref} if origin else None,
            "payload": payload or {}, "task": task_snapshot(task),
            "run": run_snapshot(run) if run is not None else None}
    return events.record(task.tenant, task.task_id, event_type, data, now=now)


@dataclass(frozen=True, kw_only=True)
class TimelinePage:
    """A page of a task's timeline, oldest first."""

    events: list[Event]
    #: The sequence to continue after; None when the page reached the newest event.
    next_after: int | None


#: How long a missing sequence number is waited for before a reader passes it by: a writer takes
#: its number from the counter, then writes the event, so a later number can land first.
GAP_GRACE = timedelta(seconds=5)


def timeline(tenant: str, task_id: str, *, after: int = 0, limit: int = 100,
             now: datetime | None = None) -> TimelinePage:
    """The task's events numbered above `after`, oldest first, at most `limit` (1..1000). With
    `now`, the page stops before a missing number unless the event after it is older than
    `GAP_GRACE` (its number was lost, or expired), so a reader that resumes from the last
    number it saw never skips an event still being written."""
    page = events.task_events(tenant, task_id, after=after, limit=limit)
    if now is None:
        return TimelinePage(events=page.events, next_after=page.next_after)
    kept: list[Event] = []
    expected = after + 1
    for event in page.events:
        if event.sequence != expected and event.at > now - GAP_GRACE:
            return TimelinePage(events=kept, next_after=kept[-1].sequence if kept else after)
        kept.append(event)
        expected = event.sequence + 1
    return TimelinePage(events=kept, next_after=page.next_after)
