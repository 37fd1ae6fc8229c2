"""After a restart of the local runtime: the runs it left open.

The local runtime's data directory keeps every run item, but not the runs queue (an SQS message
is the run's pending item restated; see runtime/durability.py). So when a runtime starts on a
data directory, for every run the directory holds open:

- a push-mode run found `running` was executed by a worker of the runtime that stopped, which is
  gone: it ends `crashed` (exit -2) and follows its retry policy, as a lease sweep would do after
  the lease ran out, but at once;
- a run found `pending` gets its message again, delayed to when it was due (its nominal time, or
  its retry or restart wait counted from its creation). A run that was already waiting for a slot
  is recognised by the worker and waits on; one whose task was deleted or stopped ends as usual.

Pull-mode runs (held by external agents under leases) are left to their leases. An execution
event the crashed run was executing stays EXECUTING: its watchdog trigger, stored with the tasks,
takes it over when its lease runs out (`execution/due.py`), so nothing here touches it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.engine import backend
from chalicelib.engine import runs as run_engine
from chalicelib.engine.model import (
    EXIT_CRASHED,
    EndReason,
    Run,
    RunStatus,
    Task,
    TriggeredBy,
    restart_wait,
    retry_wait,
)
from chalicelib.errors import NotFound
from chalicelib.observability import get_logger, log_event

_log = get_logger("recovery")

CRASH_DETAIL = "the runtime stopped while the run was running"


@dataclass(frozen=True, kw_only=True)
class Recovered:
    """What `recover_open_runs` did."""

    #: Running runs ended `crashed`.
    crashed: int = 0
    #: Pending runs whose message was sent again.
    redriven: int = 0


def recover_open_runs(open_runs: Iterable[tuple[str, str, str]], *, now: datetime) -> Recovered:
    """End the running runs among `open_runs` (tenant, task id, run id) `crashed`, then re-send the
    pending ones' messages; returns how many of each."""
    crashed = redriven = 0
    pending: list[Run] = []
    for tenant, task_id, run_id in open_runs:
        try:
            run = backend.current().runs.get_run(tenant, task_id, run_id)
        except NotFound:
            continue
        if run.status is RunStatus.RUNNING and run.claim_token_hash is None:
            crashed += _crash(run, now=now)
        elif run.status is RunStatus.PENDING:
            pending.append(run)
    for run in pending:
        task = _task(run)
        delay = 0.0 if task is None else (not_before(task, run) - now).total_seconds()
        # Rounded down as the dispatcher does: the worker waits out a message up to 2 s early.
        backend.current().queue.send_run(run.tenant, run.task_id, run.run_id, delay_seconds=max(0, math.floor(delay)))
        redriven += 1
    if crashed or redriven:
        log_event(_log, logging.WARNING, "runs recovered after a restart", crashed=crashed, redriven=redriven)
    return Recovered(crashed=crashed, redriven=redriven)


def _crash(run: Run, *, now: datetime) -> int:
    ended = backend.current().runs.finish_run(
        run.tenant, run.task_id, run.run_id, reason=EndReason.CRASHED, exit_code=EXIT_CRASHED, now=now,
        expected_status=RunStatus.RUNNING, detail=CRASH_DETAIL,
    )
    if ended is None:
        return 0
    run_engine.after_finish(ended, now=now)
    return 1


def _task(run: Run) -> Task | None:
    try:
        return backend.current().tasks.get_task(run.tenant, run.task_id)
    except NotFound:
        return None  # the worker ends the run for its deleted task


def not_before(task: Task, run: Run) -> datetime:
    """When a pending run was due to start: a retry or a service restart after its wait from
    the run's creation, a scheduled run at its nominal time, any other run at once."""
    if run.retry_attempt > 0:
        return run.created_at + timedelta(seconds=retry_wait(task.spec, run.retry_attempt))
    if run.triggered_by is TriggeredBy.SERVICE and "start_failures" in run.extra:
        return run.created_at + timedelta(seconds=restart_wait(task.spec, int(run.extra["start_failures"])))
    if run.nominal_at is not None:
        return run.nominal_at
    return run.created_at
