"""A tenant's whole queue of events: report, pause, resume.

Pausing is a stored flag: events that fall due meanwhile are parked (QUEUED) by `due.due_event`
instead of running; resuming clears the flag and re-arms every parked event to fire at once, so
nothing due during the pause is lost.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from chalicelib.engine.execution import records
from chalicelib.engine.execution.due import release_parked
from chalicelib.engine.execution.values import QueueState


def status(tenant: str) -> tuple[QueueState, int]:
    """The queue's state and how many due events wait for a resume."""
    return records.queue_state(tenant), len(records.parked(tenant))


def pause(tenant: str, *, now: datetime) -> QueueState:
    """Hold every event that falls due from now on (already running ones finish)."""
    state = records.queue_state(tenant)
    if state.paused:
        return state
    return records.save_queue_state(tenant, msgspec.structs.replace(state, paused=True, updated_at=now))


def resume(tenant: str, *, now: datetime) -> tuple[QueueState, int]:
    """Run again: the flag first, then every parked event re-armed; (state, events released)."""
    state = records.queue_state(tenant)
    if state.paused:
        state = records.save_queue_state(tenant, msgspec.structs.replace(state, paused=False, updated_at=now))
    return state, release_parked(tenant, now=now)
