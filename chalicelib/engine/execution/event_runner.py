"""The event runner: what the worker does with a claimed execution event, and the two calls that
move an event from outside (resume after an asynchronous step, cancel).

`due.due_event` claims a due event (PENDING -> EXECUTING, `attempt` + 1) and calls `run_event`,
which walks the task's steps (`steps.run_steps`) calling the strategy's service over HTTP
(`step_http`), the service's authorization opened here and nowhere else. Before each call the
event is written with the step marked as being called (a conditional write at the event's
revision), so each step's result shows in `taskStatus.taskResults` as it lands and a step is
called at most once per attempt. The verdict is then recorded:

- processed: PROCESSED; a main event moves the instance to its next cycle;
- waiting (asynchronous step): stays EXECUTING with its `correlationId` until `resume_event`;
- retry: PENDING again at `retryStrategy[attempt - 1]` / `retryAfter` after now, re-armed through
  the event's one-time trigger (PAUSED instead when its instance was paused meanwhile);
- retries used up: FAILED, and the instance paused (`pauseBeforeCancel`) or canceled
  (`MAX_ATTEMPTS`, which creates its `onCancelTasks` events);
- failed without a retry configuration: FAILED.

The event's trigger is its watchdog while it runs (armed by `due.due_event` for the end of the
claim's lease): a finished event's trigger is retired, a retry moves it to the retry's instant, and
an event left waiting for a resume (or held PAUSED for its retry) has it taken off unless someone
armed it again meanwhile. A verdict lost to someone else leaves the trigger to them.

A main event that ends FAILED still moves the instance to its next cycle (next month's charge
comes whatever happened to this one), except when its instance is canceled for it.

The correlation id of an asynchronous step is `<event sid>.<attempt>.<step key>`: the resume
finds its event from it, and a retry's step gets a new one.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import msgspec

from chalicelib.engine.execution import arming, instances, records, secrets, strategies
from chalicelib.engine.execution.calendar import shift
from chalicelib.engine.execution.definition import (
    ExecutionAuthorization,
    ExecutionRetryStep,
    ExecutionTask,
    ExecutionTimeDelta,
    task_named,
)
from chalicelib.engine.execution.step_http import CallSubject, HttpStepCaller
from chalicelib.engine.execution.steps import Phase, Progress, ResumeRefused, Verdict, VerdictKind, resume, run_steps
from chalicelib.engine.execution.values import (
    Event,
    EventStatus,
    Instance,
    InstanceCancelReason,
    InstanceStatus,
    StoredStrategy,
    TaskStatus,
)
from chalicelib.errors import Conflict, NotFound
from chalicelib.observability import get_logger, log_event

_log = get_logger("execution.runner")


def correlation_id(event_sid: str, attempt: int, step: str) -> str:
    """The id an asynchronous step's resume names."""
    return f"{event_sid}.{attempt}.{step}"


def event_sid_of(correlation: str) -> str:
    """The event a correlation id belongs to (event sids hold no dot)."""
    return correlation.split(".", 1)[0]


class _EventJournal:
    """Keeps the walk's progress on the event itself, at the revision last written."""

    def __init__(self, tenant: str, event: Event, now: datetime) -> None:
        self.tenant, self.event, self._now = tenant, event, now

    def save(self, progress: Progress) -> bool:
        saved = records.try_save_event(self.tenant, _with_progress(self.event, progress, updated_at=self._now))
        if saved is None:
            return False
        self.event = saved
        return True


def _with_progress(event: Event, progress: Progress, **changes: Any) -> Event:
    cached = progress.to_cached_task_status()
    return msgspec.structs.replace(
        event, progress=progress.to_stored(), task_status=msgspec.convert(progress.to_task_status(), TaskStatus),
        cached_task_status=None if cached is None else msgspec.convert(cached, TaskStatus), **changes)


def _starting_progress(task: ExecutionTask, event: Event) -> Progress:
    if event.progress is None:
        return Progress.first(task, attempt=event.attempt)
    return Progress.from_stored(event.progress)


def run_event(strategy: StoredStrategy, instance: Instance, event: Event, *, now: datetime, tenant: str) -> None:
    """Run a claimed (EXECUTING) event's steps and record the outcome (see the module docstring)."""
    started = time.monotonic()

    def clock() -> datetime:
        # The claim's instant plus the time spent here: an injected clock stays in charge.
        return now + timedelta(seconds=time.monotonic() - started)

    task = task_named(strategy.settings, event.task)
    if task is None:
        if _save_final(tenant, event, status=EventStatus.FAILED, at=clock(),
                       error=f"task {event.task!r} is not in strategy version {strategy.version}") is not None:
            arming.retire(tenant, event.sid)
        return
    progress = _starting_progress(task, event)
    if progress.attempt != event.attempt:
        # A continuation after a resume: the claim counted an attempt that this is not.
        event = msgspec.structs.replace(event, attempt=progress.attempt)
    environment = strategies.environment()

    def authorization(service_key: str) -> ExecutionAuthorization | None:
        return secrets.decrypt_service_auth(tenant, strategy, service_key, environment)

    caller = HttpStepCaller(
        services=strategy.settings.services, actions=strategy.settings.actions, environment=environment,
        authorization=authorization,
        subject=CallSubject(instance_sid=instance.sid, cycle=instance.cycle, attributes=instance.attributes,
                            event_sid=event.sid, task=event.task, date=event.date.isoformat()))
    journal = _EventJournal(tenant, event, now)
    verdict = run_steps(task, progress, call=caller, journal=journal,
                        correlation_of=lambda step, attempt: correlation_id(event.sid, attempt, step))
    _record(tenant, task, journal.event, verdict, at=clock(), watchdog=arming.watch_until(event, task))


def _record(tenant: str, task: ExecutionTask, event: Event, verdict: Verdict, *, at: datetime,
            watchdog: datetime) -> None:
    """Store the verdict; `watchdog` is the instant the event's watchdog is armed for."""
    kind = verdict.kind
    if kind is VerdictKind.LOST:
        log_event(_log, logging.WARNING, "event moved on by someone else; stopped", event_sid=event.sid)
        return
    if kind is VerdictKind.WAITING:
        if records.try_save_event(tenant, _with_progress(event, verdict.progress, updated_at=at,
                                                         correlation_id=verdict.progress.correlation_id)) is not None:
            arming.unwatch(tenant, event.sid, at=watchdog, now=at)
        return
    if kind is VerdictKind.RETRY:
        _retry(tenant, task, event, verdict, at=at, watchdog=watchdog)
        return
    status = EventStatus.PROCESSED if kind is VerdictKind.PROCESSED else EventStatus.FAILED
    saved = _save_final(tenant, event, status=status, at=at, error=verdict.message, progress=verdict.progress)
    if saved is None:
        return
    arming.retire(tenant, saved.sid)
    if kind is VerdictKind.CANCEL_INSTANCE:
        _instance_change(tenant, saved, at=at, cancel=True)
        return
    if saved.main:
        instances.advance_cycle(tenant, saved, now=at)
    if kind is VerdictKind.PAUSE_INSTANCE:
        _instance_change(tenant, saved, at=at, cancel=False)


def _save_final(tenant: str, event: Event, *, status: EventStatus, at: datetime, error: str | None,
                progress: Progress | None = None) -> Event | None:
    executed = event.executed_at or at
    final = msgspec.structs.replace(
        event, status=status, finished_at=at, finish_delta=(at - event.date).total_seconds(),
        execution_time=round((at - executed).total_seconds() * 1000, 3), error_message=error, updated_at=at)
    if progress is not None:
        final = _with_progress(final, progress)
    return records.try_save_event(tenant, final)


def _retry(tenant: str, task: ExecutionTask, event: Event, verdict: Verdict, *, at: datetime,
           watchdog: datetime) -> None:
    """Arm the next attempt `retry_wait` after `at` (held PAUSED if the instance is paused)."""
    instance = records.get_instance(tenant, event.instance_sid)
    wait = verdict.retry_wait
    if isinstance(wait, ExecutionRetryStep):
        wait = ExecutionTimeDelta(unit=wait.unit, amount=wait.amount)
    settings = records.get_strategy(tenant, event.strategy_sid, event.exec_strategy_version).settings
    when = at if wait is None else shift(at, wait, instances.zone_of(settings), attributes=instance.attributes)
    held = instance.status is not InstanceStatus.ACTIVE and not event.after_cancellation
    retried = _with_progress(event, verdict.progress.next_attempt(task), updated_at=at, date=when,
                             status=EventStatus.PAUSED if held else EventStatus.PENDING, error_message=verdict.message,
                             scheduled_at=at, schedule_delta=(when - at).total_seconds(),
                             job_id=arming.trigger_id(event.sid))
    saved = records.try_save_event(tenant, retried)
    if saved is None:
        return
    if held:
        arming.unwatch(tenant, event.sid, at=watchdog, now=at)
    else:
        arming.arm(tenant, event.instance_sid, event.sid, at=when, now=at)


def _instance_change(tenant: str, event: Event, *, at: datetime, cancel: bool) -> None:
    """Cancel (`MAX_ATTEMPTS`) or pause the event's instance; nothing if it is past that already."""
    try:
        instance = records.get_instance(tenant, event.instance_sid)
        if cancel:
            instances.cancel_instance(tenant, instance, reason=InstanceCancelReason.MAX_ATTEMPTS, now=at)
        else:
            instances.pause_instance(tenant, instance, now=at)
    except (Conflict, NotFound) as exc:
        log_event(_log, logging.INFO, "instance not changed after the event's last attempt",
                  event_sid=event.sid, error=exc.message)


def _waiting_progress(event: Event) -> Progress | None:
    if event.status is not EventStatus.EXECUTING or event.progress is None:
        return None
    progress = Progress.from_stored(event.progress)
    return progress if progress.phase is Phase.WAITING else None


def _secured_event(tenant: str, event_sid: str, secret_header: str | None) -> tuple[Event, StoredStrategy]:
    event = records.find_event(tenant, event_sid)
    strategy = records.get_strategy(tenant, event.strategy_sid, event.exec_strategy_version)
    strategies.require_secret(strategy, secret_header)
    return event, strategy


def resume_event(tenant: str, correlation: str, body: Any, *, secret_header: str | None, now: datetime) -> Event:
    """Continue an event waiting after an asynchronous step: `body` becomes that step's result
    and the event is armed to go on at once (PAUSED instead, if its instance is paused).
    `NotFound` for an unknown correlation id, `Conflict` when the event does not wait on it."""
    event, strategy = _secured_event(tenant, event_sid_of(correlation), secret_header)
    progress = _waiting_progress(event)
    task = task_named(strategy.settings, event.task)
    if progress is None or task is None:
        raise Conflict(f"execution event {event.sid} is {event.status.value}, not waiting for a resume")
    try:
        resumed = resume(task, progress, correlation_id=correlation, body=body)
    except ResumeRefused as refused:
        raise Conflict(f"execution event {event.sid}: {refused}") from None
    instance = records.get_instance(tenant, event.instance_sid)
    if instance.status is InstanceStatus.CANCELED and not event.after_cancellation:
        raise Conflict(f"execution instance {instance.sid} is CANCELED; its events do not go on")
    held = instance.status is InstanceStatus.PAUSED and not event.after_cancellation
    saved = records.save_event(tenant, _with_progress(
        event, resumed, status=EventStatus.PAUSED if held else EventStatus.PENDING, updated_at=now,
        resume_strategy_version=strategy.version, scheduled_at=now, job_id=arming.trigger_id(event.sid)))
    if not held:
        arming.arm(tenant, event.instance_sid, event.sid, at=now, now=now)
    return saved


def cancel_event(tenant: str, event_sid: str, *, secret_header: str | None, now: datetime) -> Event:
    """Cancel one event that has not run (or waits for a resume); `Conflict` when it is running
    or finished."""
    event, _ = _secured_event(tenant, event_sid, secret_header)
    if _waiting_progress(event) is None:
        return instances.cancel_event(tenant, event_sid, now=now)
    canceled = records.try_save_event(tenant, msgspec.structs.replace(
        event, status=EventStatus.CANCELED, finished_at=now, finish_delta=(now - event.date).total_seconds(),
        updated_at=now))
    if canceled is None:
        raise Conflict(f"execution event {event_sid} changed meanwhile; read it again")
    return canceled
