"""Each event's engine trigger: a task of face `execution` with a one-time instant trigger.

When the instant comes the dispatcher claims the tick and queues a run (its id derived from the
trigger and the instant, so one run per arming however many dispatchers race); the worker runs
the python callable `due:run_due_event`, which hands the event over (see `values.py`). Arming
again moves the instant (a retry, a resume); disarming deletes the trigger, ending a run that was
queued but not started.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import settings
from chalicelib.engine import backend
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.model import CatchUpPolicy, TaskSpec, TriggerSpec
from chalicelib.errors import Conflict, NotFound
from chalicelib.timefmt import to_iso

#: The face that owns the triggers (no face lists them: they are the execution face's plumbing).
FACE = "execution"
#: What the worker calls when an event's trigger fires.
CALLABLE = "chalicelib.engine.execution.due:run_due_event"
#: Ended runs of event triggers are kept this long (seconds).
KEEP_RUNS_FOR = 7 * 86_400.0


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

    A run's id derives from the trigger and the instant, so an instant the trigger has fired
    already is moved a millisecond past that fire: re-arming (a queue resume in the same
    millisecond as the fire it follows) never meets the earlier run's id."""
    task_id = trigger_id(event_sid)
    for _ in range(3):  # a lost race with another arming of the same event: read and try again
        when = max(at, now)
        try:
            current = backend.current().tasks.get_task(tenant, task_id)
            expected: int | None = current.revision
            if current.last_fire_at is not None and when <= current.last_fire_at:
                when = current.last_fire_at + timedelta(milliseconds=1)
        except NotFound:
            expected = None
        spec = _spec(tenant, instance_sid, event_sid, when)
        try:
            backend.current().tasks.put_task(
                tenant=tenant, task_id=task_id, face=FACE, name=task_id, enabled=True, spec=spec, document=None,
                next_fire_at=when, due_shards=settings.current().due_shards, now=now, expected_revision=expected)
            return when
        except (Conflict, NotFound):
            continue
    raise Conflict(f"the trigger of event {event_sid} kept changing; try again")


def disarm(tenant: str, event_sid: str, *, now: datetime) -> None:
    """Delete the event's trigger (a run queued but not started ends `stopped`); nothing if gone."""
    try:
        task_engine.delete_task(tenant, trigger_id(event_sid), now=now)
    except NotFound:
        return


def retire(tenant: str, event_sid: str) -> None:
    """Forget a fired trigger's item once its event is claimed (its run goes on and keeps its
    record; arming the event again creates the trigger anew); nothing if it is gone."""
    try:
        backend.current().tasks.delete_task(tenant, trigger_id(event_sid), subscriptions=())
    except NotFound:
        return
