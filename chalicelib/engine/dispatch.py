"""The dispatcher: turn due triggers into runs.

A tick reads the sparse, sharded due index for triggers due within the look-ahead window (its
cost grows with due work, not with stored tasks), and the due tasks of each shard in one batch
read. For each due tick it moves the trigger on
and creates the tick's run in one transaction: the update is conditional on the trigger still
pointing at that tick, the run's id is derived from (task, nominal time) and put only if new.
So two dispatchers, or one running twice, never create a second run for a tick. The run's
message carries `DelaySeconds` (rounded down; the worker waits out the fraction) so it starts
on its second although the dispatcher ticks once a minute. A tick found long overdue is a gap
(downtime): it is recorded as one `missed` run and caught up per the task's policy.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from datetime import datetime, timedelta

from chalicelib.engine import backend, run_ids, schedule, services
from chalicelib.engine import runs as run_engine
from chalicelib.engine.model import EndReason, Task, TriggeredBy, new_run
from chalicelib.engine.tasks import parse_trigger
from chalicelib.errors import NotFound, TasklaneError, ValidationError
from chalicelib.observability import get_logger, log_event
from chalicelib.settings import Settings

_log = get_logger("dispatch")

#: A tick more overdue than this is treated as missed (the dispatcher was down); the
#: `missed_grace_seconds` setting ($TASKLANE_MISSED_GRACE_SECONDS) overrides it per deployment.
MISSED_GRACE = timedelta(seconds=90)
#: At most this many ticks of one task are dispatched per dispatcher invocation.
MAX_TICKS_PER_TASK = 300


def dispatch_due(now: datetime, settings: Settings) -> dict[str, int]:
    """One dispatcher pass over every due shard; returns counts of what it did."""
    horizon = now + timedelta(seconds=settings.lookahead_seconds)
    grace = timedelta(seconds=settings.missed_grace_seconds)
    totals = {"due": 0, "fired": 0, "missed": 0, "dst_skipped": 0}
    for shard in range(settings.due_shards):
        keys = list(backend.current().triggers.due_keys(str(shard), horizon))
        read = backend.current().tasks.get_tasks(keys)
        for tenant, task_id in keys:
            totals["due"] += 1
            try:
                counts = dispatch_task(tenant, task_id, now=now, horizon=horizon, grace=grace,
                                       task=read.get((tenant, task_id)))
            except TasklaneError as exc:
                log_event(_log, logging.ERROR, "task could not be dispatched", task_id=task_id, error=exc.message)
                continue
            for key, value in counts.items():
                totals[key] += value
    return totals


def dispatch_task(tenant: str, task_id: str, *, now: datetime, horizon: datetime,
                  grace: timedelta = MISSED_GRACE, task: Task | None = None) -> dict[str, int]:
    """Dispatch every tick of one task that is due by `horizon` (`task`: the task as just read;
    None: read it here). Every claim is conditional on the due time read, so a stale read only
    loses its claim, and the task is read again."""
    counts = {"fired": 0, "missed": 0, "dst_skipped": 0}
    for _ in range(MAX_TICKS_PER_TASK):
        if task is None:  # first (unless given), and after a claim someone else won
            try:
                task = backend.current().tasks.get_task(tenant, task_id)
            except NotFound:
                break
        due = task.next_fire_at
        if due is None or due > horizon:
            break
        if not task.enabled:
            backend.current().triggers.advance_trigger(tenant, task_id, expected=due, next_fire_at=None,
                                                       last_fire_at=due)
            break
        if task.spec.kind == "service":
            services.reconcile(task, expected=due, now=now)
            break
        if task.spec.trigger is None:
            _stop_unusable_trigger(task, due, reason="the task has a due time but no trigger")
            break
        try:
            sched = parse_trigger(task.spec.trigger)
        except ValidationError as exc:
            _stop_unusable_trigger(task, due, reason=exc.message)
            break
        if due < now - grace:
            counts["missed"] += _catch_up(task, sched, due, now=now)
            break
        claimed = _fire(task, sched, due, now=now)
        if claimed is None:
            task = None
            continue
        result, following = claimed
        counts[result] += 1
        # The claim wrote exactly this, conditionally on `due`: no need to read it back.
        task = dataclasses.replace(task, next_fire_at=following, last_fire_at=due)
    return counts


def _stop_unusable_trigger(task: Task, due: datetime, *, reason: str) -> None:
    """A trigger stored before today's rules (one firing faster than once a second, say) is
    never fired again: its next fire is cleared, so it is not due on every tick from now on."""
    if backend.current().triggers.advance_trigger(task.tenant, task.task_id, expected=due, next_fire_at=None,
                                                  last_fire_at=due):
        log_event(_log, logging.WARNING, "trigger stopped: it is not valid any more", task_id=task.task_id,
                  error=reason)


def _fire(task: Task, sched: schedule.Schedule, due: datetime, *,
          now: datetime) -> tuple[str, datetime | None] | None:
    """Claim the tick at `due` and create its run; returns what happened and the trigger's next
    fire the claim set, None if we lost."""
    fire = schedule.next_fire(sched, due - timedelta(microseconds=1))
    following = schedule.next_fire(sched, due)
    run_id = run_ids.scheduled_run_id(task.task_id, due)
    skipped = fire is not None and fire.at == due and fire.dst_skipped
    run = new_run(
        task, run_id=run_id, triggered_by=TriggeredBy.CRON, now=now, source="schedule", nominal_at=due,
        never_executed=EndReason.DST_SKIPPED if skipped else None,
        detail="repeated wall-clock time in a DST fall-back hour" if skipped else None,
    )
    claimed = backend.current().triggers.claim_tick_with_run(
        task.tenant, task.task_id, expected=due, next_fire_at=following.at if following else None,
        run=run,
    )
    if not claimed:
        return None
    next_at = following.at if following else None
    if skipped:
        run_engine.after_finish(run, now=now)
        return "dst_skipped", next_at
    # SQS delays in whole seconds: round down, so the message arrives up to a second early and
    # the worker waits out the rest (rounding up would start runs up to a second late).
    backend.current().queue.send_run(task.tenant, task.task_id, run_id,
                                     delay_seconds=math.floor((due - now).total_seconds()))
    return "fired", next_at


def _catch_up(task: Task, sched: schedule.Schedule, due: datetime, *, now: datetime) -> int:
    """Record the gap from `due` to `now` as one missed run and run what the policy asks."""
    plan = schedule.plan_catch_up(
        sched,
        last_fire=due - timedelta(microseconds=1),
        now=now,
        policy=task.spec.catch_up,
        cap=task.spec.max_catch_up_runs,
    )
    following = schedule.next_fire(sched, now)
    if not backend.current().triggers.advance_trigger(
        task.tenant, task.task_id, expected=due, next_fire_at=following.at if following else None, last_fire_at=now
    ):
        return 0
    first, last = (plan.missed[0], plan.missed[-1]) if plan.missed else (due, due)
    run_engine.record_never_executed(
        task,
        reason=EndReason.MISSED,
        now=now,
        triggered_by=TriggeredBy.CRON,
        run_id=run_ids.scheduled_run_id(task.task_id, due, kind="missed"),
        nominal_at=due,
        detail=f"{len(plan.missed)} scheduled time(s) from {first.isoformat()} to {last.isoformat()} were missed;"
        f" catch_up={task.spec.catch_up.value} runs {len(plan.to_run)}",
    )
    for nominal in plan.to_run:
        run_engine.trigger_run(
            task, triggered_by=TriggeredBy.CRON, now=now, source="catch_up", nominal_at=nominal,
            run_id=run_ids.scheduled_run_id(task.task_id, nominal),
        )
    return 1
