"""The maintenance role: crashed runs, dead letters, lost messages.

- A running run whose lease expired (its worker died) ends `crashed` (exit -2) and follows the
  retry policy. Found through the sparse `leases` index, never a scan.
- A message that reached the dead-letter queue marks its run `crashed` (if still pending), so
  the run is recorded, not lost.
- A pull-mode run whose agent's lease ran out is queued again (engine/pull.py).
Retention is applied as runs finish (engine/runs.py) and backed by DynamoDB TTL.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from chalicelib.engine import agent_runs, backend
from chalicelib.engine import runs as run_engine
from chalicelib.engine.model import EXIT_CRASHED, EndReason, RunStatus
from chalicelib.observability import get_logger, log_event

_log = get_logger("maintenance")


def sweep_expired_leases(now: datetime) -> int:
    """End every running run whose lease has expired as `crashed`; returns how many."""
    crashed = 0
    for tenant, task_id, run_id in list(backend.current().runs.expired_leases(now)):
        ended = backend.current().runs.finish_run(
            tenant, task_id, run_id, reason=EndReason.CRASHED, exit_code=EXIT_CRASHED, now=now,
            expected_status=RunStatus.RUNNING, detail="the worker stopped renewing its lease",
        )
        if ended is not None:
            crashed += 1
            log_event(_log, logging.WARNING, "run crashed", run_id=run_id, task_id=task_id)
            run_engine.after_finish(ended, now=now)
    return crashed


def drain_dead_letters(now: datetime, *, batches: int = 10) -> int:
    """Mark the runs of dead-lettered messages `crashed`; returns how many messages were handled."""
    handled = 0
    for _ in range(batches):
        queue = backend.current().queue
        letters = queue.dead_letters()
        if not letters:
            break
        for letter in letters:
            try:
                ref = queue.parse_run_message(json.loads(letter.body))
            except ValueError:
                ref = None
            if ref is not None:
                _crash_pending(*ref, now=now)
            queue.delete_dead_letter(letter.receipt)
            handled += 1
    return handled


def _crash_pending(tenant: str, task_id: str, run_id: str, *, now: datetime) -> None:
    run = run_engine.pending_run(tenant, task_id, run_id)
    if run is None:
        return
    ended = backend.current().runs.finish_run(
        tenant, task_id, run_id, reason=EndReason.CRASHED, exit_code=EXIT_CRASHED, now=now,
        expected_status=RunStatus.PENDING,
        detail="its queue message failed repeatedly and reached the dead-letter queue",
    )
    if ended is not None:
        run_engine.after_finish(ended, now=now)


def run_maintenance(now: datetime) -> dict[str, int]:
    """One maintenance pass; returns counts of what it did."""
    return {"crashed": sweep_expired_leases(now), "dead_letters": drain_dead_letters(now),
            "requeued": agent_runs.requeue_expired(now)}
