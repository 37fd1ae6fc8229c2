"""The observe endpoints' shapes (AGH Runtime, seed 001): the dashboard and inbox documents and a
triage record, rendered from the engine's observer values (engine/agent_observe.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib.engine.agent_observe import (
    ActiveRun,
    Dashboard,
    Health,
    Inbox,
    InboxItem,
    Latency,
    TaskFacts,
)
from chalicelib.engine.ports import Triage
from chalicelib.engine.pull_status import TaskStatus
from chalicelib.faces.agent.face import USER_SESSION
from chalicelib.timefmt import to_api


def ms(span: timedelta) -> int:
    """A span in whole milliseconds (never negative)."""
    return max(0, int(span.total_seconds() * 1000))


def task_summary(task: TaskFacts) -> dict[str, Any]:
    """The page's task summary (`{id, identifier, owner, priority, scope, status, title, workspace_id}`)."""
    return {"id": task.task_id, "identifier": task.identifier,
            "owner": {"kind": task.owner_kind, "ref": task.owner_ref}, "priority": task.priority,
            "scope": task.scope, "status": task.status.value, "title": task.title,
            "workspace_id": task.workspace_id}


def triage_view(triage: Triage) -> dict[str, Any]:
    return {"actor": {"kind": triage.actor_kind, "ref": triage.actor_ref}, "archived": triage.archived,
            "dismissed": triage.dismissed, "last_seen_activity_at": to_api(triage.last_seen_activity_at),
            "read": triage.read, "task_id": triage.task_id, "updated_at": to_api(triage.updated_at)}


def _latency(latency: Latency) -> dict[str, int]:
    return {"average_ms": ms(latency.average), "maximum_ms": ms(latency.maximum), "samples": latency.samples}


def _session(key: str | None) -> str | None:
    """A lease key as `session_id`: a user's own key (`user:<sub>`) is no agent session."""
    return None if key is None or key.startswith(USER_SESSION) else key


def _active(item: ActiveRun) -> dict[str, Any]:
    run, task = item.run, item.task
    return {"age_ms": ms(item.age), "attempt": run.attempt, "error": run.error, "health_status": item.health.value,
            "last_activity_at": to_api(item.last_activity_at),
            "max_attempts": task.max_attempts if task else None, "network_channel": run.network_channel,
            "run_id": run.run_id, "run_status": run.status, "scope": task.scope if task else None,
            "session_id": _session(run.session_id), "stuck": item.stuck, "task_id": run.task_id,
            "task_identifier": task.identifier if task else None,
            "task_owner": {"kind": task.owner_kind, "ref": task.owner_ref} if task else None,
            "task_priority": task.priority if task else None,
            "task_status": task.status.value if task else None, "task_title": task.title if task else None,
            "workspace_id": task.workspace_id if task else None}


def _worst(*healths: Health) -> str:
    order = [Health.OK, Health.WARNING, Health.CRITICAL]
    return max(healths, key=order.index).value


def dashboard_view(board: Dashboard) -> dict[str, Any]:
    """`{"dashboard": {...}}` as the page shows it."""
    tasks, runs = board.task_counts, board.run_counts
    active = {status: sum(1 for item in board.active if item.run.status == status)
              for status in ("queued", "claimed", "starting", "running")}
    failed_tasks = tasks[TaskStatus.FAILED]
    oldest = board.oldest_queued_at
    stuck_health = Health.WARNING if board.stuck_runs else Health.OK
    orphan_health = Health.CRITICAL if board.orphaned_runs else Health.OK
    total_tasks = board.tasks_total
    return {"dashboard": {
        "active_runs": {**active, "items": [_active(item) for item in board.active], "total": len(board.active)},
        "cards": {
            "blocked": {"awaiting_approval": board.awaiting_approval,
                        "awaiting_dependencies": board.awaiting_dependencies,
                        "health_status": (Health.WARNING if tasks[TaskStatus.BLOCKED] else Health.OK).value,
                        "tasks": tasks[TaskStatus.BLOCKED]},
            "failed": {"failed_runs": runs["failed"], "forced_stops": board.forced_stops,
                       "health_status": (Health.CRITICAL if failed_tasks else
                                         Health.WARNING if runs["failed"] else Health.OK).value,
                       "tasks": failed_tasks},
            "in_progress": {"active_runs": len(board.active), "claimed_runs": active["claimed"],
                            "health_status": _worst(stuck_health, orphan_health), "queued_runs": active["queued"],
                            "running_runs": active["running"], "starting_runs": active["starting"],
                            "tasks": tasks[TaskStatus.IN_PROGRESS]},
            "latency": {"claim_latency_ms": _latency(board.claim_latency),
                        "start_latency_ms": _latency(board.start_latency)},
        },
        "freshness": {
            "age_ms": ms(board.observed_at - board.latest_activity_at) if board.latest_activity_at else None,
            "has_live_work": board.has_live_work, "latest_activity_at": to_api(board.latest_activity_at),
            "observed_at": to_api(board.observed_at), "stale": board.stale,
            "stale_after_ms": ms(board.stale_after),
            "status": "stale" if board.stale else "live" if board.has_live_work else "idle"},
        "health": {"active_orphan_runs": board.orphaned_runs, "queue_backlog": board.backlog,
                   "status": board.health.value, "stuck_runs": board.stuck_runs},
        "queue": {
            "backlog_status": (Health.WARNING if board.backlog else Health.OK).value,
            "backlog_threshold_ms": ms(board.backlog_after), "backlog_warning": board.backlog,
            "depth": [{"count": channel.count, "network_channel": channel.network_channel,
                       "oldest_queue_age_ms": ms(board.observed_at - channel.oldest_queued_at),
                       "oldest_queued_at": to_api(channel.oldest_queued_at)} for channel in board.depth],
            "oldest_queue_age_ms": ms(board.observed_at - oldest) if oldest else None,
            "oldest_queued_at": to_api(oldest), "total": board.queued_total},
        "status_breakdown": [
            {"count": tasks[status], "share_percent": round(100 * tasks[status] / total_tasks, 1) if total_tasks else 0,
             "status": status.value} for status in TaskStatus],
        "totals": {
            "active_runs": len(board.active), "awaiting_approval_tasks": board.awaiting_approval,
            "blocked_tasks": tasks[TaskStatus.BLOCKED], "canceled_runs": runs["canceled"],
            "canceled_tasks": tasks[TaskStatus.CANCELED], "claimed_runs": runs["claimed"],
            "completed_runs": runs["completed"], "completed_tasks": tasks[TaskStatus.COMPLETED],
            "dependency_blocked_tasks": board.awaiting_dependencies, "draft_tasks": tasks[TaskStatus.DRAFT],
            "failed_runs": runs["failed"], "failed_tasks": failed_tasks,
            "in_progress_tasks": tasks[TaskStatus.IN_PROGRESS],
            "pending_tasks": tasks[TaskStatus.READY] + tasks[TaskStatus.BLOCKED],
            "queued_runs": runs["queued"], "ready_tasks": tasks[TaskStatus.READY], "running_runs": runs["running"],
            "runs_total": board.runs_total, "starting_runs": runs["starting"], "tasks_total": total_tasks,
        },
    }}


#: Renders the run of an inbox item (the item has one).
RunRenderer = Callable[[InboxItem], dict[str, Any]]


def inbox_view(box: Inbox, *, approval_policy: Callable[[TaskFacts], str],
               approval_state: Callable[[TaskFacts], str], run_view: RunRenderer) -> dict[str, Any]:
    """`{"inbox": {...}}` as the page shows it; `run_view` renders an item's latest run."""

    def item(entry: InboxItem) -> dict[str, Any]:
        run = run_view(entry) if entry.run is not None else None
        return {"approval_policy": approval_policy(entry.task), "approval_state": approval_state(entry.task),
                "blocking_reason": entry.blocking_reason, "lane": entry.lane.value,
                "latest_activity_at": to_api(entry.latest_activity_at), "run": run,
                "task": task_summary(entry.task), "triage": triage_view(entry.triage)}

    return {"inbox": {
        "archived_total": box.archived_total,
        "groups": [{"count": lane.count, "items": [item(entry) for entry in lane.items], "lane": lane.lane.value,
                    "unread_count": lane.unread_count} for lane in box.lanes],
        "total": box.total, "unread_total": box.unread_total}}
