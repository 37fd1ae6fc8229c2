"""Each event's engine trigger: a task of face `execution` with a one-time instant trigger.

When the instant comes the dispatcher claims the tick and queues a run (its id derived from the
trigger and the instant, so one run per arming however many dispatchers race); the worker runs
the python callable `due:run_due_event`, which hands the event over (see `values.py`). Arming
again moves the instant (a retry, a resume); disarming deletes the trigger, ending a run that was
queued but not started.

The same trigger is the event's watchdog while it runs: claiming an event arms it `lease_of(task)`
later (`watch_until`), the runner takes it away when it records the outcome, and if the worker
died meanwhile it fires and `due.due_event` takes the event over (see `due.py`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import settings
from chalicelib.engine import backend, due_signal
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.execution.definition import ExecutionTask
from chalicelib.engine.execution.step_http import STEP_TIMEOUT_SECONDS
from chalicelib.engine.execution.values import Event
from chalicelib.engine.model import CatchUpPolicy, TaskSpec, TriggerSpec
from chalicelib.errors import Conflict, NotFound
from chalicelib.timefmt import to_iso

#: The face that owns the triggers (no face lists them: they are the execution face's plumbing).
FACE = "execution"
#: What the worker calls when an event's trigger fires.
CALLABLE = "chalicelib.engine.execution.due:run_due_event"
#: Ended runs of event triggers are kept this long (seconds).
KEEP_RUNS_FOR = 7 * 86_400.0

#: The watchdog's lease, the time one attempt of an event may take before the watchdog takes the
#: event over from a worker presumed dead: at least this long, ...
WATCHDOG_MIN_LEASE = timedelta(minutes=5)
#: ... and more for a long task: every step with an action may make two HTTP calls (its token and
#: its call) of at most `STEP_TIMEOUT_SECONDS` each, plus this margin for the event's own writes.
WATCHDOG_MARGIN = timedelta(minutes=1)


def trigger_id(event_sid: str) -> str:
    """The engine task id of an event's trigger."""
    return f"xev-{event_sid}"


def _spec(tenant: str, instance_sid: str, event_sid: str, when: datetime) -> TaskSpec:
    return TaskSpec(
        executor="python",
        executor_config={"callable": CALLABLE,
                         "kwargs": {"tenant": tenant, "instance_sid": instance_sid, "event_sid": event_sid}},
        trigger=TriggerSpec(expression=to_iso(when)),
        catch_up=CatchUpPolicy.LATEST,
        keep_for=KEEP_RUNS_FOR,
    )


def arm(tenant: str, instance_sid: str, event_sid: str, *, at: datetime, now: datetime) -> datetime:
    """Make the event's trigger fire at `at` (at `now` when `at` has passed); the instant armed.

    A run's id derives from the trigger and the instant's millisecond, so an instant in or before
    the millisecond the trigger last fired is moved a millisecond past that fire: re-arming (a
    queue resume, or a retry due at once after a taken-over event's interrupted step, in the same
    millisecond as the fire it follows) never meets the earlier run's id."""
    task_id = trigger_id(event_sid)
    for _ in range(3):  # a lost race with another arming of the same event: read and try again
        when = max(at, now)
        try:
            current = backend.current().tasks.get_task(tenant, task_id)
            expected: int | None = current.revision
            if current.last_fire_at is not None and _millis(when) <= _millis(current.last_fire_at):
                when = current.last_fire_at + timedelta(milliseconds=1)
        except NotFound:
            expected = None
        spec = _spec(tenant, instance_sid, event_sid, when)
        try:
            backend.current().tasks.put_task(
                tenant=tenant, task_id=task_id, face=FACE, name=task_id, enabled=True, spec=spec, document=None,
                next_fire_at=when, due_shards=settings.current().due_shards, now=now, expected_revision=expected)
            due_signal.note(when)
            return when
        except (Conflict, NotFound):
            continue
    raise Conflict(f"the trigger of event {event_sid} kept changing; try again")


def lease_of(task: ExecutionTask | None) -> timedelta:
    """The watchdog's lease for an attempt of `task` (None: a task the strategy lacks)."""
    calls = 0 if task is None else 2 * sum(1 for step in task.steps if step.action)
    return max(WATCHDOG_MIN_LEASE, calls * timedelta(seconds=STEP_TIMEOUT_SECONDS) + WATCHDOG_MARGIN)


def watch_until(event: Event, task: ExecutionTask | None) -> datetime:
    """When the lease of a claimed (EXECUTING) event runs out: its watchdog's instant."""
    return (event.executed_at or event.updated_at) + lease_of(task)


def unwatch(tenant: str, event_sid: str, *, at: datetime, now: datetime) -> None:
    """Take away the event's watchdog armed for `at`, unless its trigger was armed for another
    instant since (a resume arms a waiting event again at once): the item stays, with nothing to
    fire, for the event's next arming. A conditional write, so a concurrent arming is never undone."""
    task_id = trigger_id(event_sid)
    try:
        current = backend.current().tasks.get_task(tenant, task_id)
        if current.next_fire_at != at:
            return
        backend.current().tasks.put_task(
            tenant=tenant, task_id=task_id, face=current.face, name=current.name, enabled=current.enabled,
            spec=current.spec, document=current.document, next_fire_at=None,
            due_shards=settings.current().due_shards, now=now, expected_revision=current.revision)
    except (Conflict, NotFound):
        return


def _millis(moment: datetime) -> int:
    """The millisecond a run id names (`run_ids.scheduled_run_id`)."""
    return int(moment.timestamp() * 1000)


def disarm(tenant: str, event_sid: str, *, now: datetime) -> None:
    """Delete the event's trigger (a run queued but not started ends `stopped`); nothing if gone."""
    try:
        task_engine.delete_task(tenant, trigger_id(event_sid), now=now)
    except NotFound:
        return


def retire(tenant: str, event_sid: str) -> None:
    """Forget the trigger's item once its event has finished (the run that fired it goes on and
    keeps its record; arming the event again creates the trigger anew); nothing if it is gone."""
    try:
        backend.current().tasks.delete_task(tenant, trigger_id(event_sid), subscriptions=())
    except NotFound:
        return
