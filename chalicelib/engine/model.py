"""The engine's domain values: tasks, runs and the policies that govern them.

Plain frozen dataclasses and enums; no storage, no HTTP, no face-specific field names. A face
maps its own document onto a `TaskSpec` and reads `Run`s back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Where a run is in its life."""

    #: Created and waiting to start (on the queue, or waiting for a concurrency slot).
    PENDING = "pending"
    #: A worker holds it and its executor is running.
    RUNNING = "running"
    #: Finished; `end_reason` says how.
    ENDED = "ended"
    #: A pull-mode run waiting in the `queued` index for an agent to claim it.
    QUEUED = "queued"
    #: A pull-mode run an agent session holds under a lease, not yet started.
    CLAIMED = "claimed"
    #: A pull-mode run its agent said it is starting (still under the lease).
    STARTING = "starting"


class EndReason(StrEnum):
    """Why a run ended."""

    #: The executor succeeded (exit 0, HTTP 2xx, callable returned).
    SUCCESS = "success"
    #: The executor failed (non-zero exit, non-2xx, exception).
    FAILED = "failed"
    #: Someone stopped it (API stop, task deleted, terminate overlap policy).
    STOPPED = "stopped"
    #: It ran past its timeout.
    TIMEOUT = "timeout"
    #: Its worker died (lease expired) or its message reached the dead-letter queue.
    CRASHED = "crashed"
    #: Refused by the `skip` overlap policy; never executed.
    SKIPPED = "skipped"
    #: Killed because its log reached `log_max_size` with `log_on_full = kill_task`.
    LOG_OVERFLOW = "log_overflow"
    #: Refused because the task's wait queue was full; never executed.
    QUEUE_FULL = "queue_full"
    #: The repeat of a fixed job's wall time in a DST fall-back hour; recorded, never executed.
    DST_SKIPPED = "dst_skipped"
    #: Records a gap of nominal fire times that passed while nothing was dispatching.
    MISSED = "missed"
    #: A service instance that kept failing to start; it stays down until restarted.
    START_FAILED = "start_failed"


#: End reasons after which the retry policy applies.
RETRYABLE = frozenset({EndReason.FAILED, EndReason.TIMEOUT, EndReason.CRASHED, EndReason.LOG_OVERFLOW})
#: End reasons that count as a failure (for consecutive-failure counting and chained outcomes).
FAILURES = frozenset(
    {EndReason.FAILED, EndReason.TIMEOUT, EndReason.CRASHED, EndReason.LOG_OVERFLOW, EndReason.START_FAILED}
)

EXIT_NEVER_EXECUTED = -1
EXIT_CRASHED = -2


class TriggeredBy(StrEnum):
    """What started a run."""

    CRON = "cron"
    API = "api"
    EVENT = "event"
    SERVICE = "service"
    STARTUP = "startup"


class Overlap(StrEnum):
    """What happens when a run is due while the task is at its concurrency limit."""

    #: Wait in a FIFO queue of at most `queue_max` runs; overflow ends `queue_full`.
    QUEUE = "queue"
    #: Record the new run as `skipped`.
    SKIP = "skip"
    #: Stop the oldest active run (it ends `stopped`), then start.
    TERMINATE = "terminate"


class Backoff(StrEnum):
    """How the wait before retry N grows: d, d*N or d*2^(N-1), each capped at 5 minutes."""

    CONSTANT = "constant"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


class LogOnFull(StrEnum):
    """What happens when a run's log reaches `log_max_size`."""

    DROP_OLD = "drop_old"
    DROP_NEW = "drop_new"
    KILL_TASK = "kill_task"


class Restart(StrEnum):
    """When a service instance is restarted after its run ends."""

    ALWAYS = "always"
    ON_FAILURE = "on_failure"
    NEVER = "never"


class CatchUpPolicy(StrEnum):
    """What to run for the nominal times missed while nothing was dispatching."""

    #: Run none of them.
    SKIP = "skip"
    #: Run the newest one.
    LATEST = "latest"
    #: Run all of them, up to the cap.
    ALL = "all"


class DisabledReason(StrEnum):
    """Why a task's automatic triggers are off; each face words it its own way."""

    #: A caller turned the task off.
    REQUESTED = "requested"
    #: A caller stopped the task as a whole (every instance of a service).
    STOPPED = "stopped"
    #: Its runs failed `disable_after_failures` times in a row.
    CONSECUTIVE_FAILURES = "consecutive_failures"


MAX_RETRY_WAIT_SECONDS = 300.0


@dataclass(frozen=True, kw_only=True)
class TriggerSpec:
    """A time trigger: an expression the schedule module understands, in a zone, within bounds."""

    #: Cron (5 or 6 fields, aliases, `@every`), `R/<start>/<period>`, an RRULE, or an instant.
    expression: str
    #: IANA zone the expression is read in.
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Subscription:
    """Run this task when `parent_task_id` finishes with one of `outcomes` (any when None)."""

    parent_task_id: str
    #: `succeeded` and/or `failed`; None: any outcome.
    outcomes: frozenset[str] | None = None


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """Everything the engine needs to run a task, whatever face defined it."""

    #: Executor kind (`command`, `http`, `python`) or `function` (resolved through the function
    #: table at run time) or `none` (external agents claim the runs).
    executor: str = "command"
    #: The executor's configuration (argv, URL, callable, ...).
    executor_config: dict[str, Any] = field(default_factory=dict)
    trigger: TriggerSpec | None = None
    catch_up: CatchUpPolicy = CatchUpPolicy.LATEST
    max_catch_up_runs: int = 100
    parallelism: int = 1
    on_overlap: Overlap = Overlap.QUEUE
    queue_max: int = 100
    #: Seconds; None: no limit.
    timeout: float | None = None
    #: Seconds between SIGTERM and SIGKILL when a run is stopped.
    graceful_stop: float = 5.0
    retry_attempts: int = 0
    retry_delay: float = 0.0
    retry_backoff: Backoff = Backoff.CONSTANT
    #: Bytes; None: unlimited.
    log_max_size: int | None = None
    log_on_full: LogOnFull = LogOnFull.DROP_OLD
    #: Keep at most this many ended runs; None: no count limit.
    keep_runs: int | None = None
    #: Seconds an ended run is kept; None: no age limit.
    keep_for: float | None = None
    #: `task` or `service`.
    kind: str = "task"
    instances: int = 1
    restart: Restart = Restart.ALWAYS
    restart_delay: float = 1.0
    restart_backoff: Backoff = Backoff.EXPONENTIAL
    #: Tasks whose finish starts this one.
    subscriptions: tuple[Subscription, ...] = ()
    #: Disable the task after this many consecutive failed runs; None: never.
    disable_after_failures: int | None = None
    #: Run once when the runtime starts (daemon `run_on_start`).
    run_on_start: bool = False


@dataclass(frozen=True, kw_only=True)
class Task:
    """A stored task."""

    tenant: str
    task_id: str
    #: Which face owns it.
    face: str
    name: str
    enabled: bool
    spec: TaskSpec
    #: The face's own document (opaque to the engine).
    document: dict[str, Any] | None
    next_fire_at: datetime | None
    last_fire_at: datetime | None
    created_at: datetime
    updated_at: datetime
    revision: int = 1
    consecutive_failures: int = 0
    #: Why it was disabled, if it was.
    disabled_code: DisabledReason | None = None
    #: Runs waiting for a slot (overlap policy `queue`), oldest first.
    waiting: tuple[str, ...] = ()
    #: False only when no task subscribes to this one (a finish then skips the subscriber
    #: lookup); True when one does or may (the store may keep it set after the last one left).
    may_have_subscribers: bool = True


@dataclass(frozen=True, kw_only=True)
class TaskListing:
    """What a list needs of a task to decide whether a caller sees it and where it sorts: a
    task read without its engine state (spec, trigger, slots), which a page then reads whole
    for the tasks it shows."""

    tenant: str
    task_id: str
    enabled: bool
    #: The face's own document (opaque to the engine).
    document: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    disabled_code: DisabledReason | None = None


def listing_of(task: Task) -> TaskListing:
    """The listing of a task read whole."""
    return TaskListing(tenant=task.tenant, task_id=task.task_id, enabled=task.enabled, document=task.document,
                       created_at=task.created_at, updated_at=task.updated_at, disabled_code=task.disabled_code)


@dataclass(frozen=True, kw_only=True)
class Run:
    """One run of a task."""

    tenant: str
    task_id: str
    run_id: str
    status: RunStatus
    triggered_by: TriggeredBy
    created_at: datetime
    #: Free text naming what triggered it (a parent task's name, `manual`, ...).
    source: str | None = None
    end_reason: EndReason | None = None
    #: Process exit code; -1 never executed, -2 crashed; None while not ended.
    exit_code: int | None = None
    #: The schedule's nominal time, for scheduled runs.
    nominal_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    params: dict[str, Any] | None = None
    retry_attempt: int = 0
    retry_of_run_id: str | None = None
    instance_index: int | None = None
    worker_id: str | None = None
    lease_until: datetime | None = None
    stop_requested: bool = False
    detail: str | None = None
    http_status: int | None = None
    log_lines: int = 0
    log_truncated: bool = False
    #: Face-specific values carried with the run (opaque to the engine).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Pull-mode runs: the queue partition the run waits in while queued (kept while claimed, so a
    #: requeue puts it back where it was).
    queue_partition: str | None = None
    #: Pull-mode runs: its place in the queue partition (priority rank, queued_at, run id).
    queue_rank: str | None = None
    #: Pull-mode runs: `sha256:<hex>` of the claim token of the lease it is under.
    claim_token_hash: str | None = None
    #: Pull-mode runs: queued but out of the `queued` index (its task is blocked), so no claim sees it.
    parked: bool = False
    #: Pull-mode runs: when the current claim was taken (cleared when the run is requeued).
    claimed_at: datetime | None = None
    #: Pull-mode runs: when the holder last extended the lease (the claim counts as the first).
    heartbeat_at: datetime | None = None
    #: Pull-mode runs: the idempotency key of the last keyed claim or start.
    idempotency_key: str | None = None
    #: Pull-mode runs: the agent session attached to the run (by `attach_session`).
    attached_session: str | None = None
    #: Pull-mode runs: what the holder reported when it completed the run (any JSON value).
    result: Any = None

    @property
    def is_terminal(self) -> bool:
        return self.status is RunStatus.ENDED


def new_run(
    task: Task,
    *,
    run_id: str,
    triggered_by: TriggeredBy,
    now: datetime,
    source: str | None = None,
    nominal_at: datetime | None = None,
    params: dict[str, Any] | None = None,
    retry_attempt: int = 0,
    retry_of_run_id: str | None = None,
    instance_index: int | None = None,
    extra: dict[str, Any] | None = None,
    never_executed: EndReason | None = None,
    detail: str | None = None,
) -> Run:
    """A new run of `task` created at `now`: pending, or, with `never_executed`, ended at once
    for that reason without executing (exit code -1)."""
    ended = never_executed is not None
    return Run(
        tenant=task.tenant,
        task_id=task.task_id,
        run_id=run_id,
        status=RunStatus.ENDED if ended else RunStatus.PENDING,
        triggered_by=triggered_by,
        created_at=now,
        source=source,
        end_reason=never_executed,
        exit_code=EXIT_NEVER_EXECUTED if ended else None,
        nominal_at=nominal_at,
        ended_at=now if ended else None,
        params=params,
        retry_attempt=retry_attempt,
        retry_of_run_id=retry_of_run_id,
        instance_index=instance_index,
        detail=detail,
        extra=extra or {},
    )


def retry_wait(spec: TaskSpec, attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1-based), per the backoff, capped at 5 minutes."""
    base = max(0.0, spec.retry_delay)
    if spec.retry_backoff is Backoff.LINEAR:
        wait = base * attempt
    elif spec.retry_backoff is Backoff.EXPONENTIAL:
        wait = base * (2 ** (attempt - 1))
    else:
        wait = base
    return min(wait, MAX_RETRY_WAIT_SECONDS)


def restart_wait(spec: TaskSpec, consecutive_failures: int) -> float:
    """Seconds before restarting a service instance after `consecutive_failures` quick failures."""
    base = max(0.0, spec.restart_delay)
    if consecutive_failures <= 0:
        return base
    if spec.restart_backoff is Backoff.LINEAR:
        wait = base * (consecutive_failures + 1)
    elif spec.restart_backoff is Backoff.EXPONENTIAL:
        wait = base * (2**consecutive_failures)
    else:
        wait = base
    return min(wait, MAX_RETRY_WAIT_SECONDS)
