"""The worker: take a run from the queue, apply the overlap policy, execute it, finish it.

Delivery is at-least-once, so every step is idempotent: a message for a run that is not
pending any more (already started, ended, or deleted) is dropped; starting is a conditional
PENDING -> RUNNING transition that only one worker wins; finishing is a conditional RUNNING ->
ENDED transition that only the lease holder wins (a swept, "crashed" run stays crashed).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.engine import backend, command_policy, functions, logs, stop_signal
from chalicelib.engine import runs as run_engine
from chalicelib.engine.executors import ExecutionContext, ExecutionResult, Outcome, get_executor
from chalicelib.engine.model import EndReason, LogOnFull, Overlap, Run, RunStatus, Task
from chalicelib.engine.roles import QueueMessage
from chalicelib.engine.run_log import RunLogWriter
from chalicelib.engine.tasks import TASK_DELETED
from chalicelib.errors import NotFound, TasklaneError
from chalicelib.observability import get_logger, log_event
from chalicelib.timefmt import Clock, utcnow

_log = get_logger("worker")

#: How long a worker's claim on a running run lasts without a heartbeat.
LEASE = timedelta(seconds=float(os.environ.get("TASKLANE_LEASE_SECONDS", "60")))
#: How often a running run renews its lease and learns of a stop request (one write each): a
#: stop is noticed within this long. The local runtime uses 1 s.
HEARTBEAT_SECONDS = float(os.environ.get("TASKLANE_HEARTBEAT_SECONDS", "5"))

_OUTCOME_REASONS = {
    Outcome.SUCCESS: EndReason.SUCCESS,
    Outcome.FAILED: EndReason.FAILED,
    Outcome.TIMEOUT: EndReason.TIMEOUT,
    Outcome.STOPPED: EndReason.STOPPED,
    Outcome.LOG_OVERFLOW: EndReason.LOG_OVERFLOW,
    Outcome.START_FAILED: EndReason.START_FAILED,
}


def worker_id() -> str:
    """Who is executing: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


#: A scheduled run whose message arrives at most this early waits for its nominal time (SQS
#: delays in whole seconds; the dispatcher rounds down). Earlier than that, it just starts.
MAX_EARLY = timedelta(seconds=2)


def handle_message(
    payload: dict[str, Any], message: QueueMessage, *, clock: Clock = utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Handle one run message (see the module docstring)."""
    ref = backend.current().queue.parse_run_message(payload)
    if ref is None:
        log_event(_log, logging.WARNING, "dropping a message that names no run", message_id=message.message_id)
        return
    tenant, task_id, run_id = ref
    run = run_engine.pending_run(tenant, task_id, run_id)
    if run is None:
        return
    early = run.nominal_at - clock() if run.nominal_at is not None else timedelta(0)
    if timedelta(0) < early <= MAX_EARLY:
        sleep(early.total_seconds())
    try:
        task = backend.current().tasks.get_task(tenant, task_id)
    except NotFound:
        _end_for_deleted_task(run, now=clock())
        return
    if run.stop_requested:
        run_engine.cancel_pending(run, now=clock(), detail="stopped before it started")
        return
    me = worker_id()
    now = clock()
    # The common case in one request: a free slot taken and the run started together.
    started = backend.current().slots.start_with_slot(run, task.spec.parallelism, worker_id=me, now=now,
                                                      lease_until=now + LEASE)
    if started is None:  # the slots are full, the task went, or the run moved on: step by step
        run = run_engine.pending_run(tenant, task_id, run_id)
        if run is None or not _take_slot(task, run, now=clock()):
            return
        now = clock()
        started = backend.current().runs.start_run(tenant, task_id, run_id, worker_id=me, now=now,
                                                   lease_until=now + LEASE)
        if started is None:
            backend.current().slots.release_slot(tenant, task_id, run_id)
            return
    execute(task, started, worker=me, clock=clock)


def _end_for_deleted_task(run: Run, *, now: datetime) -> None:
    """A run whose task is gone (deleted while the run was on its way) never executes."""
    run_engine.end_without_executing(run, reason=EndReason.STOPPED, now=now, detail=TASK_DELETED)


def _task_gone(task: Task) -> bool:
    try:
        backend.current().slots.occupancy(task.tenant, task.task_id)
    except NotFound:
        return True
    return False


def _take_slot(task: Task, run: Run, *, now: datetime) -> bool:
    """Apply the overlap policy; True if the run may start now."""
    spec = task.spec
    if backend.current().slots.acquire_slot(task.tenant, task.task_id, run.run_id, spec.parallelism):
        return True
    # The slot write is conditional on the task item: it may have failed because the task was
    # deleted since we read it, and then the run ends here instead of waiting for nothing.
    try:
        current = backend.current().slots.occupancy(task.tenant, task.task_id)
    except NotFound:
        _end_for_deleted_task(run, now=now)
        return False
    if spec.on_overlap is Overlap.SKIP:
        run_engine.end_without_executing(run, reason=EndReason.SKIPPED, now=now,
                                         detail="the task was at its concurrency limit")
        return False
    if run.run_id in current.waiting:
        return False  # a redelivered message for a run that is already waiting
    queue_max = spec.queue_max
    if spec.on_overlap is Overlap.TERMINATE:
        active = sorted(current.active)
        if active:
            run_engine.request_stop(task.tenant, task.task_id, active[0])
        queue_max = max(spec.queue_max, 1_000)
    if not backend.current().slots.enqueue_waiting(task.tenant, task.task_id, run.run_id, queue_max=queue_max):
        if _task_gone(task):
            _end_for_deleted_task(run, now=now)
        else:
            run_engine.end_without_executing(run, reason=EndReason.QUEUE_FULL, now=now,
                                             detail=f"the wait queue already holds {queue_max} runs")
        return False
    # The holder may have finished between our failed attempt and the enqueue, popping an empty
    # queue: try once more so the run does not wait for a finish that already happened.
    if backend.current().slots.acquire_slot(task.tenant, task.task_id, run.run_id, spec.parallelism):
        backend.current().slots.remove_waiting(task.tenant, task.task_id, run.run_id)
        return True
    return False


class _Heartbeat(threading.Thread):
    """Renews the lease and turns a stop request (or a lost lease) into the stop event."""

    def __init__(self, run: Run, worker: str, clock: Clock, stop_event: threading.Event) -> None:
        super().__init__(name=f"heartbeat-{run.run_id}", daemon=True)
        self._run, self._worker, self._clock, self._stop_event = run, worker, clock, stop_event
        self.done = threading.Event()
        self.lost_lease = False

    def run(self) -> None:
        r = self._run
        while not self.done.wait(HEARTBEAT_SECONDS):
            try:
                stop_requested = backend.current().runs.renew_lease(
                    r.tenant, r.task_id, r.run_id, worker_id=self._worker, lease_until=self._clock() + LEASE)
                if stop_requested is None:
                    self.lost_lease = True
                    self._stop_event.set()
                    return
                if stop_requested:
                    self._stop_event.set()
            except Exception:
                _log.exception("heartbeat failed", extra={"fields": {"run_id": r.run_id}})


def _resolve(task: Task, run: Run) -> tuple[str, dict[str, Any]]:
    """The executor kind and configuration for this run: face overrides in `run.extra["exec"]`
    replace the task's values, except `env`, which is merged (the run adds to the task's)."""
    kind, config = task.spec.executor, dict(task.spec.executor_config)
    if kind == "function":
        kind, config = functions.resolve(config)
    override = dict(run.extra.get("exec") or {})
    env = {**(config.get("env") or {}), **(override.pop("env", None) or {})}
    config.update(override)
    if env:
        config["env"] = env
    return kind, config


def execute(task: Task, run: Run, *, worker: str, clock: Clock = utcnow) -> Run | None:
    """Execute a run this worker holds, then finish it and set off what follows."""
    spec = task.spec
    writer = RunLogWriter(logs.log_store(), logs.log_key(run), max_size=logs.size_cap(spec.log_max_size),
                          on_full=spec.log_on_full, clock=clock)
    stop_event = threading.Event()
    key = (run.tenant, run.task_id, run.run_id)
    stop_signal.register(key, stop_event)  # a stop asked in this process lands at once
    heartbeat = _Heartbeat(run, worker, clock, stop_event)
    heartbeat.start()
    try:
        result = _run_executor(task, run, writer, stop_event)
    finally:
        stop_signal.unregister(key)
        heartbeat.done.set()
        heartbeat.join(timeout=5)
    summary = writer.close()
    if heartbeat.lost_lease:
        return None  # the run was swept as crashed while we ran; its record stays as it is
    reason = _OUTCOME_REASONS[result.outcome]
    now = clock()
    expires_at = int((now + timedelta(seconds=spec.keep_for)).timestamp()) + 86_400 if spec.keep_for else None
    finished = backend.current().runs.finish_run(
        run.tenant, run.task_id, run.run_id, reason=reason, exit_code=result.exit_code, now=now,
        expected_status=RunStatus.RUNNING, worker_id=worker, detail=result.detail or None,
        http_status=result.http_status, log_lines=summary.total_lines, log_truncated=summary.truncated,
        expires_at=expires_at,
    )
    if finished is not None:
        run_engine.after_finish(finished, now=now)
    return finished


def run_metadata(task: Task, run: Run) -> dict[str, str]:
    """The variables tasklane gives every command about its run (they win over the task's)."""
    return {"TASKLANE_RUN_ID": run.run_id, "TASKLANE_TASK": task.name, "TASKLANE_TASK_ID": task.task_id,
            "TASKLANE_TENANT": task.tenant, "TASKLANE_TRIGGERED_BY": str(run.triggered_by)}


def _run_executor(task: Task, run: Run, writer: RunLogWriter, stop_event: threading.Event) -> ExecutionResult:
    spec = task.spec
    if spec.executor == "command" and not command_policy.commands_allowed(task.tenant):
        # Defence in depth: the write was refused too, but the setting may have changed since.
        reason = command_policy.refusal(task.tenant)
        writer.write("system", f"cannot start: {reason}")
        return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail=reason)
    try:
        kind, config = _resolve(task, run)
        executor = get_executor(kind)
    except TasklaneError as exc:
        writer.write("system", f"cannot run: {exc.message}")
        return ExecutionResult(outcome=Outcome.FAILED, exit_code=1, http_status=None, detail=exc.message)
    context = ExecutionContext(
        log=writer,
        timeout=timedelta(seconds=spec.timeout) if spec.timeout else None,
        graceful_stop=timedelta(seconds=spec.graceful_stop),
        stop_event=stop_event,
        env=run_metadata(task, run) if kind == "command" else {},
        params=run.params or {},
        log_kill_bytes=spec.log_max_size if spec.log_on_full is LogOnFull.KILL_TASK else None,
    )
    try:
        return executor.execute(config, context)
    except Exception as exc:  # an executor that breaks must not leave its run holding the slot
        log_event(_log, logging.ERROR, "executor raised", run_id=run.run_id, error=repr(exc))
        writer.write("system", f"cannot start: the {kind} executor failed: {type(exc).__name__}")
        return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail=f"executor error: {exc}"[:500])


Handler = Callable[[dict[str, Any], QueueMessage], None]
