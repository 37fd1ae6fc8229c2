"""Instances and events: the execution product's stored values, in the page's own shapes.

msgspec Structs (wire names in camelCase) so the face answers them as they are, and frozen: a
change is `msgspec.structs.replace(...)` plus a conditional write at the value's `revision`.
Instants are aware UTC datetimes.

How an event reaches the executor (the seam, see `due.py`):

1. Creating an instance (or a cycle, a retry, a cancel) stores each `Event` under its tenant and
   instance and arms one engine trigger per event: a task of face `execution` whose trigger is
   the one-time instant `event.date` and whose executor is the python callable
   `chalicelib.engine.execution.due:run_due_event(tenant, instance_sid, event_sid)`.
2. At that instant the dispatcher claims the tick and queues its run; the worker starts the run
   and calls `run_due_event`, which calls `due.due_event(tenant, instance_sid, event_sid, now=...)`.
3. `due_event` re-reads the event and its instance. It does nothing for an event that is not
   `PENDING` (already run, canceled, paused: at-least-once delivery) or whose instance is not
   ACTIVE (unless `afterCancellation`). While the tenant's queue is paused it marks the event
   `QUEUED` and parks it; `POST /queue` re-arms every parked event. Otherwise it moves the event
   PENDING -> EXECUTING with a conditional write (one worker wins), takes the strategy version
   the instance is pinned to, and hands `(strategy, instance, event)` to the runner
   (`event_runner.run_event`), which runs the steps and records the outcome. Before the claim
   it arms the trigger again as the event's watchdog: an event left EXECUTING by a worker that
   died is taken over when its lease runs out (see `due.py`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import msgspec
from msgspec import Struct

from chalicelib.engine.execution.definition import ExecutionSettings


class EventStatus(StrEnum):
    """Where an event is in its life."""

    #: Created with `manualTrigger`: not armed; waits until released by hand.
    ONHOLD = "ONHOLD"
    #: Armed: its trigger fires at `date`.
    PENDING = "PENDING"
    #: Due, but the tenant's queue is paused: parked until `POST /queue`.
    QUEUED = "QUEUED"
    #: A worker runs its steps (or it waits for an asynchronous step's resume).
    EXECUTING = "EXECUTING"
    #: Its task reached a `final` step.
    PROCESSED = "PROCESSED"
    #: Its task failed and no retry is left.
    FAILED = "FAILED"
    #: Canceled (`cancelReason` says why); it will not run.
    CANCELED = "CANCELED"
    #: Its instance is paused; resuming the instance re-arms it.
    PAUSED = "PAUSED"


#: Statuses after which an event never runs again.
FINISHED = frozenset({EventStatus.PROCESSED, EventStatus.FAILED, EventStatus.CANCELED})


class EventCancelReason(StrEnum):
    """Why an event was canceled."""

    INSTANCE_CANCEL_TASK_REQUESTED = "INSTANCE_CANCEL_TASK_REQUESTED"
    CANCEL_INSTANCE = "CANCEL_INSTANCE"
    SKIP_CYCLE = "SKIP_CYCLE"
    RESUME_MAIN_EVENT = "RESUME_MAIN_EVENT"


class InstanceStatus(StrEnum):
    """Where an instance is in its life."""

    ACTIVE = "ACTIVE"
    CANCELED = "CANCELED"
    PAUSED = "PAUSED"


class InstanceCancelReason(StrEnum):
    """Why an instance was canceled."""

    #: A client called `POST /execution-instance/{sid}/cancel`.
    HTTP_REQUEST = "HTTP_REQUEST"
    CONTROLLER_HELPER = "CONTROLLER_HELPER"
    #: An event ran out of retries (and its task does not `pauseBeforeCancel`).
    MAX_ATTEMPTS = "MAX_ATTEMPTS"
    #: The next cycle could not be created.
    CREATE_CYCLE_ERROR = "CREATE_CYCLE_ERROR"


class Value(Struct, kw_only=True, omit_defaults=True, rename="camel", frozen=True):
    """Base of the stored values: camelCase on the wire, unset optional fields left out."""


class StepResult(Value, kw_only=True, frozen=True):
    """What one step did (`taskStatus.taskResults[]`)."""

    step: str
    success: bool
    #: This result was replaced by a resume; the resume's body is the current one.
    from_cache: bool | None = None
    message: str | None = None
    stack: str | None = None
    #: `{request: {...}, response: {...}}` of the HTTP call (no credentials).
    http_data: dict[str, Any] | None = None
    data: Any = None
    after_resume_data: Any = None
    overrides: dict[str, Any] | None = None
    correlation_id: str | None = None


class TaskStatus(Value, kw_only=True, frozen=True):
    """The progress of an event's task."""

    last_step: str
    task_results: list[StepResult] = msgspec.field(default_factory=list)


class Event(Value, kw_only=True, frozen=True):
    """One scheduled execution of a task for an instance."""

    sid: str
    instance_sid: str
    strategy_sid: str
    status: EventStatus
    #: The cycle's main event (its task is the calendar's); processing it creates the next cycle.
    main: bool
    task: str
    #: When it is due.
    date: datetime
    created_cycle: int
    #: The strategy version it runs on (the instance's pinned version).
    exec_strategy_version: int
    created_at: datetime
    updated_at: datetime
    #: Runs even though its instance is canceled (`onCancelTasks`).
    after_cancellation: bool | None = None
    data: dict[str, Any] | None = None
    #: When its trigger was armed, and how far before `date` (seconds).
    scheduled_at: datetime | None = None
    schedule_delta: float | None = None
    executed_at: datetime | None = None
    execution_delta: float | None = None
    finished_at: datetime | None = None
    finish_delta: float | None = None
    #: Milliseconds from `executedAt` to `finishedAt`.
    execution_time: float | None = None
    #: 1 for the first execution, +1 per retry.
    attempt: int = 0
    #: The engine trigger (task id) that fires it.
    job_id: str | None = None
    correlation_id: str | None = None
    task_status: TaskStatus | None = None
    cached_task_status: TaskStatus | None = None
    error_message: str | None = None
    cancel_reason: EventCancelReason | None = None
    server_lock_owner: str | None = None
    lock_owner: str | None = None
    resume_strategy_version: int | None = None
    #: The step machine's state (`steps.Progress.to_stored()`; not on the wire).
    progress: dict[str, Any] | None = None
    #: Optimistic concurrency: bumped by every stored change (not on the wire).
    revision: int = 0


class NextEvent(Value, kw_only=True, frozen=True):
    """The instance's next main event."""

    sid: str
    date: datetime


class Instance(Value, kw_only=True, frozen=True):
    """One subscription of a strategy."""

    sid: str
    #: The strategy's name or sid as the client gave it.
    strategy_id: str
    strategy_sid: str
    #: The version it is pinned to: a newer version never changes it.
    strategy_version: int
    status: InstanceStatus
    cycle: int
    start_date: datetime
    #: The current cycle's main date.
    execution_date: datetime
    #: The day of the month of cycle 1's main date: monthly cycles keep it (clamped to short months).
    execution_day: int
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    end_date: datetime | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    next_event: NextEvent | None = None
    cancel_reason: InstanceCancelReason | None = None
    revision: int = 0


class StoredStrategy(Value, kw_only=True, frozen=True):
    """One version of a strategy as stored: settings with secrets sealed, the secret hashed."""

    sid: str
    name: str
    version: int
    settings: ExecutionSettings
    #: `sha256` of salt + secret, hex; the secret itself is never stored.
    secret_hash: str
    secret_salt: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    #: Per service key: the sealed JSON list of its `authorization` entries.
    sealed_authorization: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    #: The sealed `encryptedSettings` object.
    sealed_settings: dict[str, str] | None = None
    #: The data key that sealed them, wrapped by the key provider (KMS or the local key file).
    wrapped_key: str | None = None
    revision: int = 0


class QueueState(Value, kw_only=True, frozen=True):
    """A tenant's whole queue of events."""

    paused: bool = False
    updated_at: datetime | None = None
    revision: int = 0


V = TypeVar("V", bound=Value)


def encode(value: Value) -> dict[str, Any]:
    """A stored value as JSON-ready builtins (datetimes as ISO text)."""
    data: dict[str, Any] = msgspec.to_builtins(value)
    data.pop("revision", None)
    return data


def decode(kind: type[V], data: dict[str, Any], revision: int) -> V:
    """A stored value back from its builtins, at `revision`."""
    return msgspec.convert({**data, "revision": revision}, kind)
