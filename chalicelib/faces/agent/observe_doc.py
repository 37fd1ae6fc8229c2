"""What /openapi.json says the observe endpoints answer (seed 001's shapes), inline per route."""

from __future__ import annotations

from typing import Any

_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_TEXT = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_ACTOR = {"type": "object", "properties": {"kind": {"type": "string"}, "ref": {"type": "string"}}}
_HEALTH = {"enum": ["ok", "warning", "critical"]}
_LATENCY = {"type": "object", "properties": {"average_ms": _INT, "maximum_ms": _INT, "samples": _INT}}
_TASK = {"type": "object", "properties": {
    "id": {"type": "string"}, "identifier": {"type": "string"}, "owner": _ACTOR, "priority": {"type": "string"},
    "scope": {"type": "string"}, "status": {"type": "string"}, "title": {"type": "string"}, "workspace_id": _TEXT}}


def _counts(*names: str) -> dict[str, Any]:
    return {"type": "object", "properties": dict.fromkeys(names, _INT)}


TRIAGE: dict[str, Any] = {"type": "object", "properties": {
    "actor": _ACTOR, "archived": _BOOL, "dismissed": _BOOL, "last_seen_activity_at": _TIME, "read": _BOOL,
    "task_id": {"type": "string"}, "updated_at": _TIME}}

TRIAGE_ANSWER: dict[str, Any] = {"type": "object", "required": ["triage"], "properties": {"triage": TRIAGE}}

DASHBOARD_ANSWER: dict[str, Any] = {"type": "object", "required": ["dashboard"], "properties": {"dashboard": {
    "type": "object",
    "required": ["active_runs", "cards", "freshness", "health", "queue", "status_breakdown", "totals"],
    "properties": {
        "active_runs": {"type": "object", "properties": {
            **_counts("claimed", "queued", "running", "starting", "total")["properties"],
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "age_ms": _INT, "attempt": _INT, "error": _TEXT, "health_status": _HEALTH,
                "last_activity_at": _TIME, "max_attempts": _INT, "network_channel": _TEXT,
                "run_id": {"type": "string"}, "run_status": {"type": "string"}, "scope": {"type": "string"},
                "session_id": _TEXT, "stuck": _BOOL, "task_id": {"type": "string"}, "task_identifier": _TEXT,
                "task_owner": _ACTOR, "task_priority": _TEXT, "task_status": _TEXT, "task_title": _TEXT,
                "workspace_id": _TEXT}}}}},
        "cards": {"type": "object", "properties": {
            "blocked": {"type": "object", "properties": {
                **_counts("awaiting_approval", "awaiting_dependencies", "tasks")["properties"],
                "health_status": _HEALTH}},
            "failed": {"type": "object", "properties": {
                **_counts("failed_runs", "forced_stops", "tasks")["properties"], "health_status": _HEALTH}},
            "in_progress": {"type": "object", "properties": {
                **_counts("active_runs", "claimed_runs", "queued_runs", "running_runs", "starting_runs",
                          "tasks")["properties"], "health_status": _HEALTH}},
            "latency": {"type": "object", "properties": {"claim_latency_ms": _LATENCY,
                                                         "start_latency_ms": _LATENCY}}}},
        "freshness": {"type": "object", "properties": {
            "age_ms": {"type": ["integer", "null"]}, "has_live_work": _BOOL, "latest_activity_at": _TIME,
            "observed_at": _TIME, "stale": _BOOL, "stale_after_ms": _INT,
            "status": {"enum": ["live", "stale", "idle"]}}},
        "health": {"type": "object", "properties": {
            "active_orphan_runs": _INT, "queue_backlog": _BOOL, "status": _HEALTH, "stuck_runs": _INT}},
        "queue": {"type": "object", "properties": {
            "backlog_status": _HEALTH, "backlog_threshold_ms": _INT, "backlog_warning": _BOOL,
            "depth": {"type": "array", "items": {"type": "object", "properties": {
                "count": _INT, "network_channel": _TEXT, "oldest_queue_age_ms": _INT, "oldest_queued_at": _TIME}}},
            "oldest_queue_age_ms": {"type": ["integer", "null"]}, "oldest_queued_at": _TIME, "total": _INT}},
        "status_breakdown": {"type": "array", "items": {"type": "object", "properties": {
            "count": _INT, "share_percent": {"type": "number"}, "status": {"type": "string"}}}},
        "totals": _counts("active_runs", "awaiting_approval_tasks", "blocked_tasks", "canceled_runs",
                          "canceled_tasks", "claimed_runs", "completed_runs", "completed_tasks",
                          "dependency_blocked_tasks", "draft_tasks", "failed_runs", "failed_tasks",
                          "in_progress_tasks", "pending_tasks", "queued_runs", "ready_tasks", "running_runs",
                          "runs_total", "starting_runs", "tasks_total"),
    }}}}

INBOX_ANSWER: dict[str, Any] = {"type": "object", "required": ["inbox"], "properties": {"inbox": {
    "type": "object", "properties": {
        "archived_total": _INT, "total": _INT, "unread_total": _INT,
        "groups": {"type": "array", "items": {"type": "object", "properties": {
            "count": _INT, "lane": {"type": "string"}, "unread_count": _INT,
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "approval_policy": {"enum": ["none", "manual"]},
                "approval_state": {"enum": ["not_required", "pending", "approved", "rejected"]},
                "blocking_reason": _TEXT, "lane": {"type": "string"}, "latest_activity_at": _TIME,
                "run": {"type": ["object", "null"]}, "task": _TASK, "triage": TRIAGE}}}}}}}}}}
