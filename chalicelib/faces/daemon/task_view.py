"""Daemon tasks as the API shows them (seed 002)."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.model import Task
from chalicelib.faces.daemon.names import name_of
from chalicelib.faces.daemon.units import nanos
from chalicelib.timefmt import to_api


def render_task(task: Task) -> dict[str, Any]:
    """The API's task object (seed 002): policies with defaults filled in, durations in
    nanoseconds, secret names only."""
    doc, spec = task.document or {}, task.spec
    body: dict[str, Any] = {
        "name": name_of(task.task_id),
        "kind": spec.kind,
        "description": doc.get("description") or "",
        "group": doc.get("group") or "",
        "cron": doc.get("cron") or "",
        "timezone": doc.get("timezone") or "UTC",
        "api_trigger": bool(doc.get("api_trigger", True)),
        "catch_up": spec.catch_up.value,
        "max_catch_up_runs": spec.max_catch_up_runs,
        "parallelism": spec.parallelism,
        "on_overlap": spec.on_overlap.value,
        "queue_max": spec.queue_max,
        "timeout": nanos(spec.timeout) or 0,
        "graceful_stop": nanos(spec.graceful_stop),
        "retry_attempts": spec.retry_attempts,
        "retry_delay": nanos(spec.retry_delay),
        "retry_backoff": spec.retry_backoff.value,
        "log_max_size": spec.log_max_size or 0,
        "log_on_full": spec.log_on_full.value,
        "keep_runs": spec.keep_runs or 0,
        "keep_for": nanos(spec.keep_for) or 0,
        "instances": spec.instances if spec.kind == "service" else 0,
        "restart": spec.restart.value,
        "restart_delay": nanos(spec.restart_delay),
        "restart_backoff": spec.restart_backoff.value,
        "run_on_start": spec.run_on_start,
        "run": doc.get("run"),
        "shell": doc.get("shell") or "/bin/sh",
        "working_dir": doc.get("working_dir") or "",
        "env": dict(doc.get("env") or {}),
        "secrets": sorted((doc.get("secrets") or {}).keys()),
        "params": list(doc.get("params") or []),
        "enabled": task.enabled,
    }
    if spec.kind == "task" and task.enabled and task.next_fire_at is not None:
        body["next_run_at"] = to_api(task.next_fire_at)
    return body


