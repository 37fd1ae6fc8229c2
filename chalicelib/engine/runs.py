"""Creating, stopping and finishing runs, and everything a finish sets off.

A finish (whoever wins the conditional transition to ENDED) releases the concurrency slot,
starts the next waiting run, counts consecutive failures,
schedules a retry, starts chained tasks and restarts service instances, then applies
retention. Ids of runs set off by a finish are derived from the finished run, so doing the
follow-up twice (at-least-once delivery) never creates a second run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from chalicelib.engine import backend, logs, run_ids, stop_signal
from chalicelib.engine.model import (
    EXIT_NEVER_EXECUTED,
    FAILURES,
    RETRYABLE,
    DisabledReason,
    EndReason,
    Restart,
    Run,
    RunStatus,
    Task,
    TriggeredBy,
    new_run,
    restart_wait,
    retry_wait,
)
from chalicelib.errors import Conflict, NotFound
from chalicelib.observability import get_logger, log_event

_log = get_logger("runs")

#: Consecutive quick failures after which a service instance ends `start_failed`.
SERVICE_START_ATTEMPTS = 5
#: A service run shorter than this that fails counts as a failure to start.
SERVICE_QUICK_FAILURE = timedelta(seconds=10)


def outcome_of(reason: EndReason | None) -> str | None:
    """`succeeded`, `failed`, or None for runs that neither succeeded nor failed (stopped, skipped...)."""
    if reason is EndReason.SUCCESS:
        return "succeeded"
    if reason in FAILURES:
        return "failed"
    return None


def derived_run_id(at: datetime, key: str) -> str:
    """A time-ordered id that is the same every time it is derived from the same `key`."""
    millis = int(at.timestamp() * 1000)
    return f"{millis:013d}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def trigger_run(
    task: Task,
    *,
    triggered_by: TriggeredBy,
    now: datetime,
    source: str | None = None,
    params: dict[str, Any] | None = None,
    nominal_at: datetime | None = None,
    run_id: str | None = None,
    delay_seconds: float = 0.0,
    retry_attempt: int = 0,
    retry_of_run_id: str | None = None,
    instance_index: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Run:
    """Create a pending run and put it on the queue; with a known `run_id`, at most once."""
    run = new_run(
        task, run_id=run_id or run_ids.fresh_run_id(now), triggered_by=triggered_by, now=now, source=source,
        nominal_at=nominal_at, params=params, retry_attempt=retry_attempt, retry_of_run_id=retry_of_run_id,
        instance_index=instance_index, extra=extra,
    )
    if backend.current().runs.create_run(run):
        backend.current().queue.send_run(run.tenant, run.task_id, run.run_id, delay_seconds=delay_seconds)
        return run
    return backend.current().runs.get_run(run.tenant, run.task_id, run.run_id)


def record_never_executed(
    task: Task,
    *,
    reason: EndReason,
    now: datetime,
    triggered_by: TriggeredBy,
    run_id: str,
    nominal_at: datetime | None = None,
    detail: str | None = None,
    instance_index: int | None = None,
) -> Run:
    """Record a run that ended without executing (missed, dst_skipped, start_failed): at most
    once per id."""
    run = new_run(task, run_id=run_id, triggered_by=triggered_by, now=now, nominal_at=nominal_at,
                  instance_index=instance_index, never_executed=reason, detail=detail)
    if backend.current().runs.create_run(run):
        return run
    return backend.current().runs.get_run(task.tenant, task.task_id, run_id)


def pending_run(tenant: str, task_id: str, run_id: str) -> Run | None:
    """The run if it exists and is still pending; None otherwise (started, ended or deleted)."""
    try:
        run = backend.current().runs.get_run(tenant, task_id, run_id)
    except NotFound:
        return None
    return run if run.status is RunStatus.PENDING else None


def end_without_executing(run: Run, *, reason: EndReason, now: datetime, detail: str | None = None) -> Run | None:
    """End a pending run that will never execute (skipped, queue_full, stopped while waiting)."""
    ended = backend.current().runs.finish_run(
        run.tenant, run.task_id, run.run_id, reason=reason, exit_code=EXIT_NEVER_EXECUTED, now=now,
        expected_status=RunStatus.PENDING, detail=detail,
    )
    if ended is not None:
        after_finish(ended, now=now)
    return ended


def cancel_pending(run: Run, *, now: datetime, detail: str = "canceled") -> Run | None:
    """Stop a run that has not started yet."""
    backend.current().slots.remove_waiting(run.tenant, run.task_id, run.run_id)
    return end_without_executing(run, reason=EndReason.STOPPED, now=now, detail=detail)


def request_stop(tenant: str, task_id: str, run_id: str) -> bool:
    """Flag the run to stop (its worker ends it after the graceful-stop window): at its next
    heartbeat, or at once if it executes in this process. False if the run is gone or ended."""
    flagged = backend.current().runs.request_stop(tenant, task_id, run_id)
    stop_signal.note(tenant, task_id, run_id)
    return flagged


def stop_run(tenant: str, task_id: str, run_id: str, *, now: datetime) -> Run:
    """Stop a run: a pending one ends `stopped` now; a running one is told to stop (its worker
    ends it after the graceful-stop window). An ended run is a `Conflict`."""
    run = backend.current().runs.get_run(tenant, task_id, run_id)
    if run.status is RunStatus.ENDED:
        raise Conflict(f"run {run_id} has already ended")
    if run.status is RunStatus.PENDING:
        ended = cancel_pending(run, now=now, detail="stopped by request")
        if ended is not None:
            return ended
    request_stop(tenant, task_id, run_id)
    return backend.current().runs.get_run(tenant, task_id, run_id)


def after_finish(run: Run, *, now: datetime) -> None:
    """Everything a finished run sets off (see the module docstring)."""
    # Only a slot holder starts the next waiting run; the release returns the task, fresh.
    task = backend.current().slots.release_slot(run.tenant, run.task_id, run.run_id)
    if task is not None and task.waiting:
        _start_next_waiting(run, now=now)
    # No `run.finished` event: nothing reads one (the run item is the record), and a write per
    # finish that nobody reads is a request per run paid on AWS.
    if task is None:
        try:
            task = backend.current().tasks.get_task(run.tenant, run.task_id)
        except NotFound:
            return
    outcome = outcome_of(run.end_reason)
    if outcome is not None and run.triggered_by is not TriggeredBy.SERVICE:
        _count_outcome(task, failed=outcome == "failed", now=now)
    _maybe_retry(task, run, now=now)
    if outcome is not None:
        _start_children(task, run, outcome, now=now)
    if task.spec.kind == "service" and run.instance_index is not None:
        _restart_instance(task, run, now=now)
    apply_retention(task, now=now)


def _start_next_waiting(run: Run, *, now: datetime) -> None:
    next_id = backend.current().slots.pop_waiting(run.tenant, run.task_id)
    if next_id is not None:
        backend.current().queue.send_run(run.tenant, run.task_id, next_id)


def _count_outcome(task: Task, *, failed: bool, now: datetime) -> None:
    if not failed and task.consecutive_failures == 0:
        return  # nothing to reset (`task` is as fresh as the slot release): spare the write
    count = backend.current().failures.record_outcome(task.tenant, task.task_id, failed=failed)
    limit = task.spec.disable_after_failures
    if failed and limit and count >= limit and task.enabled:
        backend.current().tasks.disable(task.tenant, task.task_id, code=DisabledReason.CONSECUTIVE_FAILURES, now=now)
        log_event(_log, logging.WARNING, "task disabled after consecutive failures", task_id=task.task_id,
                  failures=count)


def _maybe_retry(task: Task, run: Run, *, now: datetime) -> None:
    if run.end_reason not in RETRYABLE or run.retry_attempt >= task.spec.retry_attempts:
        return
    if run.triggered_by is TriggeredBy.SERVICE:
        return  # services follow their restart policy instead
    attempt = run.retry_attempt + 1
    trigger_run(
        task,
        triggered_by=run.triggered_by,
        now=now,
        source=run.source,
        params=run.params,
        nominal_at=run.nominal_at,
        run_id=derived_run_id(run.ended_at or now, f"retry|{run.run_id}"),
        delay_seconds=retry_wait(task.spec, attempt),
        retry_attempt=attempt,
        retry_of_run_id=run.retry_of_run_id or run.run_id,
        extra=run.extra,
    )


def _start_children(parent: Task, run: Run, outcome: str, *, now: datetime) -> None:
    if not parent.may_have_subscribers:
        return  # the task item says no task subscribes to it: spare the lookup
    for child_id, outcomes in backend.current().subscriptions.subscribers(parent.tenant, parent.task_id):
        if outcomes is not None and outcome not in outcomes:
            continue
        try:
            child = backend.current().tasks.get_task(parent.tenant, child_id)
        except NotFound:
            continue
        # The child's spec is the truth; an edge it no longer declares starts nothing.
        declared = next((s for s in child.spec.subscriptions if s.parent_task_id == parent.task_id), None)
        if declared is None or (declared.outcomes is not None and outcome not in declared.outcomes):
            continue
        if not child.enabled:
            continue
        trigger_run(
            child,
            triggered_by=TriggeredBy.EVENT,
            now=now,
            source=parent.name,
            run_id=derived_run_id(run.ended_at or now, f"chain|{child_id}|{run.run_id}"),
            extra={"parent_task_id": parent.task_id, "parent_run_id": run.run_id, "parent_outcome": outcome},
        )


def _restart_instance(task: Task, run: Run, *, now: datetime) -> None:
    if not task.enabled or run.stop_requested or run.end_reason is EndReason.START_FAILED:
        return
    if run.instance_index is None or run.instance_index >= task.spec.instances:
        return
    failed = run.end_reason in FAILURES
    if task.spec.restart is Restart.NEVER or (task.spec.restart is Restart.ON_FAILURE and not failed):
        return
    quick = failed and run.started_at is not None and (run.ended_at or now) - run.started_at < SERVICE_QUICK_FAILURE
    failures = int(run.extra.get("start_failures", 0)) + 1 if quick or run.started_at is None and failed else 0
    if failures >= SERVICE_START_ATTEMPTS:
        record_never_executed(
            task, reason=EndReason.START_FAILED, now=now, triggered_by=TriggeredBy.SERVICE,
            run_id=derived_run_id(run.ended_at or now, f"start_failed|{run.run_id}"),
            detail=f"instance {run.instance_index} failed to start {failures} times; restart the service",
            instance_index=run.instance_index,
        )
        return
    trigger_run(
        task,
        triggered_by=TriggeredBy.SERVICE,
        now=now,
        source=run.source,
        run_id=derived_run_id(run.ended_at or now, f"restart|{run.run_id}"),
        delay_seconds=restart_wait(task.spec, failures),
        instance_index=run.instance_index,
        extra={**run.extra, "start_failures": failures},
    )


def apply_retention(task: Task, *, now: datetime) -> int:
    """Delete ended runs beyond `keep_runs` or older than `keep_for`, with their logs."""
    keep_runs, keep_for = task.spec.keep_runs, task.spec.keep_for
    if keep_runs is None and keep_for is None:
        return 0
    cutoff = now - timedelta(seconds=keep_for) if keep_for is not None else None
    kept = deleted = 0
    for run in backend.current().runs.list_runs(task.tenant, task.task_id):
        if run.status is not RunStatus.ENDED:
            continue
        too_many = keep_runs is not None and kept >= keep_runs
        too_old = cutoff is not None and (run.ended_at or run.created_at) < cutoff
        if too_many or too_old:
            backend.current().runs.delete_run(task.tenant, task.task_id, run.run_id)
            logs.delete_log(run)
            deleted += 1
        else:
            kept += 1
    return deleted


def runs_of(tenant: str, task_id: str) -> Iterator[Run]:
    """A task's runs, newest first."""
    return backend.current().runs.list_runs(tenant, task_id)


def get_run(tenant: str, task_id: str, run_id: str) -> Run:
    """One run of one task, or `NotFound`."""
    return backend.current().runs.get_run(tenant, task_id, run_id)


def find_run(tenant: str, run_id: str) -> Run:
    """A run from its id alone, or `NotFound`."""
    return backend.current().runs.find_run(tenant, run_id)


def list_tenant_runs(tenant: str) -> Iterator[Run]:
    """Every run of a tenant, newest first."""
    return backend.current().runs.list_tenant_runs(tenant)


def delete_run(tenant: str, task_id: str, run_id: str) -> None:
    """Delete an ended run and its log; a run in flight is a `Conflict` (stop it first)."""
    run = backend.current().runs.get_run(tenant, task_id, run_id)
    if run.status is not RunStatus.ENDED:
        raise Conflict(f"run {run_id} is {run.status.value}; stop it before deleting it")
    backend.current().runs.delete_run(tenant, task_id, run_id)
    logs.delete_log(run)


def last_run(tenant: str, task_id: str) -> Run | None:
    """A task's newest run (one read of one item), or None when it never ran."""
    return next(iter(backend.current().runs.list_runs(tenant, task_id, limit=1)), None)


def last_runs(tenant: str, task_ids: Sequence[str]) -> dict[str, Run]:
    """`last_run` of each task, read together; a task that never ran is absent."""
    return backend.current().runs.newest_runs(tenant, task_ids)
