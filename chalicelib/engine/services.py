"""Services: tasks that keep `instances` runs alive.

A service sits in the due index like a trigger; each time it comes due the dispatcher
reconciles it: every instance index without a pending or running run gets a new run. Between
reconciliations the restart policy (engine/runs.py) restarts instances as their runs end. In
Lambda a service instance is a chain of runs (each capped by the worker's timeout); in the
local runtime a run lives as long as its process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.engine import backend
from chalicelib.engine import runs as run_engine
from chalicelib.engine.model import EndReason, RunStatus, Task, TriggeredBy

#: How often a service is reconciled by the dispatcher.
RECONCILE_EVERY = timedelta(seconds=60)
#: How many of a service's newest runs are examined to find live instances.
SCAN_RUNS = 500


def live_instances(task: Task, *, ignore: frozenset[str] = frozenset()) -> dict[int, str]:
    """instance index -> run id of each instance with a pending or running run (runs in
    `ignore`, such as ones just told to stop, do not count)."""
    live: dict[int, str] = {}
    for count, run in enumerate(backend.current().runs.list_runs(task.tenant, task.task_id)):
        if count >= SCAN_RUNS:
            break
        if run.instance_index is not None and run.status is not RunStatus.ENDED and run.run_id not in ignore:
            live.setdefault(run.instance_index, run.run_id)
    return live


def down_instances(task: Task) -> set[int]:
    """Instances whose latest run is a `start_failed` record (they stay down until restarted).

    "Latest" is by creation time, a `start_failed` record winning a tie: it is written in the
    same instant as the failure that caused it."""
    latest: dict[int, tuple[datetime, bool]] = {}
    for count, run in enumerate(backend.current().runs.list_runs(task.tenant, task.task_id)):
        if count >= SCAN_RUNS:
            break
        if run.instance_index is None:
            continue
        key = (run.created_at, run.end_reason is EndReason.START_FAILED)
        if run.instance_index not in latest or key > latest[run.instance_index]:
            latest[run.instance_index] = key
    return {index for index, (_, failed) in latest.items() if failed}


def reconcile(task: Task, *, expected: datetime, now: datetime) -> int:
    """Claim this reconciliation and start every missing instance; returns how many started."""
    if not backend.current().triggers.advance_trigger(
        task.tenant, task.task_id, expected=expected, next_fire_at=now + RECONCILE_EVERY, last_fire_at=now
    ):
        return 0
    return start_missing(task, now=now, key=expected.isoformat())


def start_missing(
    task: Task, *, now: datetime, key: str, include_down: bool = False, ignore: frozenset[str] = frozenset()
) -> int:
    """Start a run for every instance that has none (ids derived from `key`: at most once)."""
    live = live_instances(task, ignore=ignore)
    down = set() if include_down else down_instances(task)
    started = 0
    for index in range(task.spec.instances):
        if index in live or index in down:
            continue
        run_engine.trigger_run(
            task,
            triggered_by=TriggeredBy.SERVICE,
            now=now,
            source="service",
            instance_index=index,
            run_id=run_engine.derived_run_id(now, f"instance|{task.task_id}|{index}|{key}"),
        )
        started += 1
    return started


def stop_service(task: Task, *, now: datetime) -> list[str]:
    """Stop every live instance (pending ones end now, running ones are told to stop); returns
    the ids of the runs stopped."""
    stopped: list[str] = []
    for run in backend.current().runs.list_runs(task.tenant, task.task_id):
        if run.status is RunStatus.PENDING:
            run_engine.cancel_pending(run, now=now, detail="service stopped")
            stopped.append(run.run_id)
        elif run.status is RunStatus.RUNNING:
            run_engine.request_stop(task.tenant, task.task_id, run.run_id)
            stopped.append(run.run_id)
    return stopped
