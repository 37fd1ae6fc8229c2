"""The agent face's response shapes, built from the engine's values (seed 001)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.engine import agent_tasks
from chalicelib.engine.agent_model import Actor, AgentTask
from chalicelib.engine.agent_tasks import TaskDetail
from chalicelib.engine.model import Run
from chalicelib.engine.ports import Event
from chalicelib.engine.pull import attempt_of, run_status
from chalicelib.engine.pull_status import HELD
from chalicelib.errors import NotFound
from chalicelib.faces.agent.face import USER_SESSION, holder
from chalicelib.timefmt import from_iso, to_api


def _at(value: datetime | None) -> str | None:
    return to_api(value)


def _actor(value: Actor | None) -> dict[str, str] | None:
    return {"kind": value.kind, "ref": value.ref} if value else None


def task_summary(task: AgentTask) -> dict[str, Any]:
    """The short task (`task` of a claim, a timeline item, a tree node)."""
    return {"id": task.task_id, "identifier": task.identifier, "owner": _actor(task.owner),
            "priority": task.priority, "scope": task.scope, "status": task.status.value, "title": task.title,
            "workspace_id": task.workspace_id}


def task(value: AgentTask) -> dict[str, Any]:
    """The whole task."""
    return {"approval_policy": value.approval_policy.value, "approval_state": value.approval_state.value,
            "closed_at": _at(value.closed_at), "created_at": _at(value.created_at),
            "created_by": _actor(value.created_by), "description": value.description, "draft": value.draft,
            "id": value.task_id, "identifier": value.identifier, "max_attempts": value.max_attempts,
            "metadata": value.metadata, "network_channel": value.network_channel, "origin": _actor(value.origin),
            "owner": _actor(value.owner), "parent_task_id": value.parent_task_id, "priority": value.priority,
            "scope": value.scope, "status": value.status.value, "title": value.title,
            "updated_at": _at(value.updated_at), "workspace_id": value.workspace_id}


def _session(run: Run) -> str | None:
    key = run.attached_session or run.worker_id
    if key and key.startswith(USER_SESSION):
        return None
    return key


def _run_common(run: Run) -> dict[str, Any]:
    return {"attempt": attempt_of(run), "claim_token_hash": run.claim_token_hash, "claimed_at": _at(run.claimed_at),
            "claimed_by": holder(run.worker_id) if run.status in HELD else None, "coordination_channel": None,
            "coordination_channel_id": None, "ended_at": _at(run.ended_at),
            "error": run.detail if run_status(run) in ("failed", "canceled") else None,
            "heartbeat_at": _at(run.heartbeat_at), "id": run.run_id,
            "lease_until": _at(run.lease_until) if run.status in HELD else None, "queued_at": _at(run.created_at),
            "session_id": _session(run), "started_at": _at(run.started_at), "status": run_status(run),
            "task_id": run.task_id}


def run(value: Run, of: AgentTask | None = None) -> dict[str, Any]:
    """The whole run."""
    origin = value.extra.get("origin")
    return {**_run_common(value), "idempotency_key": value.idempotency_key, "metadata": value.extra.get("metadata"),
            "network_channel": of.network_channel if of else None, "origin": origin, "result": value.result}


def run_brief(value: Run, max_attempts: int) -> dict[str, Any]:
    """The run as lists and timelines show it (with the task's `max_attempts`)."""
    return {**_run_common(value), "max_attempts": max_attempts}


def lease(value: Run) -> dict[str, Any]:
    """The lease of a held (or just released) run."""
    return {"claim_token_hash": value.claim_token_hash, "claimed_by": holder(value.worker_id),
            "coordination_channel": None, "coordination_channel_id": None, "heartbeat_at": _at(value.heartbeat_at),
            "lease_until": _at(value.lease_until), "run_id": value.run_id, "session_id": _session(value),
            "status": run_status(value), "task_id": value.task_id}


def _active(runs: list[Run]) -> Run | None:
    return next((r for r in runs if not r.is_terminal), None)


def list_item(value: AgentTask, *, runs: list[Run] | None = None, child_count: int | None = None) -> dict[str, Any]:
    """A task as lists show it: with its active run, child count and dependencies."""
    runs = runs if runs is not None else agent_tasks.runs_of(value.tenant, value.task_id)
    if child_count is None:
        child_count = agent_tasks.child_count(value.tenant, value.task_id)
    active = _active(runs)
    whole = task(value)
    for key in ("description", "metadata"):
        whole.pop(key)
    return {**whole, "active_run": run_brief(active, value.max_attempts) if active else None,
            "child_count": child_count, "dependencies": dependency_references(value),
            "dependency_count": len(value.dependencies), "last_activity_at": _at(value.last_activity_at)}


def dependencies(value: AgentTask) -> list[dict[str, Any]]:
    return [{"created_at": _at(d.created_at), "depends_on_task_id": d.depends_on_task_id, "kind": "blocks",
             "task_id": value.task_id} for d in value.dependencies]


def dependency_references(value: AgentTask, blockers: list[AgentTask] | None = None) -> list[dict[str, Any]]:
    """Each dependency with the short form of the task it waits for."""
    if blockers is None:
        blockers = []
        for dep in value.depends_on:
            try:
                blockers.append(agent_tasks.get(value.tenant, dep))
            except NotFound:  # a dependency deleted meanwhile shows without its task
                continue
    by_id = {b.task_id: b for b in blockers}
    return [{**ref, "depends_on": task_summary(by_id[ref["depends_on_task_id"]])
             if ref["depends_on_task_id"] in by_id else None} for ref in dependencies(value)]


def event(value: Event, task_id: str) -> dict[str, Any]:
    """An event as a task's detail shows it."""
    data = value.data
    return {"actor": data.get("actor"), "event_type": value.type, "id": f"{task_id}:{value.sequence}",
            "origin": data.get("origin"), "payload": data.get("payload"),
            "run_id": (data.get("run") or {}).get("id"), "task_id": task_id, "timestamp": _at(value.at)}


def _api_time(text: str | None) -> str | None:
    return to_api(from_iso(text)) if text else None


def _snapshot_run(snapshot: dict[str, Any] | None, max_attempts: int) -> dict[str, Any] | None:
    if not snapshot:
        return None
    snapshot = {**snapshot, **{key: _api_time(snapshot.get(key)) for key in (
        "claimed_at", "ended_at", "heartbeat_at", "lease_until", "queued_at", "started_at")}}
    session_key = snapshot.get("session")
    held = snapshot.get("status") in ("claimed", "starting", "running")
    return {"attempt": snapshot.get("attempt"), "claim_token_hash": snapshot.get("claim_token_hash"),
            "claimed_at": snapshot.get("claimed_at"), "claimed_by": holder(session_key) if held else None,
            "coordination_channel": None, "coordination_channel_id": None, "ended_at": snapshot.get("ended_at"),
            "error": snapshot.get("error"), "heartbeat_at": snapshot.get("heartbeat_at"), "id": snapshot.get("id"),
            "lease_until": snapshot.get("lease_until"), "max_attempts": max_attempts,
            "queued_at": snapshot.get("queued_at"),
            "session_id": None if not session_key or session_key.startswith(USER_SESSION) else session_key,
            "started_at": snapshot.get("started_at"), "status": snapshot.get("status"),
            "task_id": snapshot.get("task_id")}


def timeline_item(value: Event, task_now: AgentTask) -> dict[str, Any]:
    """A timeline entry: the task and run as the event recorded them."""
    data = value.data
    recorded = data.get("task") or {}
    return {"actor": data.get("actor"), "event_id": f"{task_now.task_id}:{value.sequence}",
            "event_type": value.type, "origin": data.get("origin"), "payload": data.get("payload"),
            "run": _snapshot_run(data.get("run"), task_now.max_attempts), "sequence": value.sequence,
            "task": {**task_summary(task_now), **{k: recorded[k] for k in ("status", "title", "priority")
                                                  if k in recorded}},
            "timestamp": _at(value.at)}


def detail(value: TaskDetail) -> dict[str, Any]:
    """`GET /api/tasks/{id}`."""
    summary = list_item(value.task, runs=value.runs, child_count=len(value.children))
    summary["dependencies"] = dependency_references(value.task, value.blockers)
    return {"children": [list_item(child) for child in value.children],
            "dependencies": dependencies(value.task),
            "dependency_references": dependency_references(value.task, value.blockers),
            "events": [event(e, value.task.task_id) for e in value.events],
            "runs": [run(r, value.task) for r in value.runs], "summary": summary, "task": task(value.task),
            "dependents": agent_tasks.dependents(value.task.tenant, value.task.task_id)}


def tree_node(value: AgentTask, depth: int) -> dict[str, Any]:
    """A node of a task tree."""
    active = _active(agent_tasks.runs_of(value.tenant, value.task_id))
    return {"active_run": run_brief(active, value.max_attempts) if active else None,
            "child_count": agent_tasks.child_count(value.tenant, value.task_id), "depth": depth,
            "last_activity_at": _at(value.last_activity_at), "parent_task_id": value.parent_task_id,
            "task": task_summary(value)}
