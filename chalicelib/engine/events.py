"""A task's event log: what happened to the task, in order, read back as a timeline.

Every event has a number in its task's log (from an atomic per-task counter, so numbers only
grow), a type, the instant it happened and a little data. A reader asks for the events after
the last number it saw, a page at a time. Events expire `event_retention_days` after they are
written (the events table's TTL attribute `expires_at`), so the log does not grow without bound;
a reader resuming after an expired event simply gets the oldest one still kept.

Runs write no events (the run item is their record: a `run.finished` event per finish cost a
counter update and a put per run that nothing read); a face that wants a timeline records what
it shows, with `record`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import settings
from chalicelib.engine import backend
from chalicelib.engine.ports import Event

#: The most events one page holds.
MAX_PAGE = 1000


@dataclass(frozen=True, kw_only=True)
class EventPage:
    """A page of a task's events, oldest first."""

    events: list[Event]
    #: Pass as `after` to read the next page; None when this page reached the newest event.
    next_after: int | None


def expires_at(now: datetime) -> int | None:
    """The TTL (epoch seconds) of an event written at `now`; None when retention is off (0)."""
    days = settings.current().event_retention_days
    return int((now + timedelta(days=days)).timestamp()) if days > 0 else None


def record(tenant: str, task_id: str, event_type: str, data: dict[str, Any], *, now: datetime) -> int:
    """Append an event to the task's log; returns its number."""
    return backend.current().events.append_event(tenant, task_id, event_type, data, now=now,
                                                 expires_at=expires_at(now))


def task_events(tenant: str, task_id: str, *, after: int = 0, limit: int = 100) -> EventPage:
    """The task's events numbered above `after`, oldest first, at most `limit` (1 to 1000)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
    if after < 0:
        raise ValueError(f"after must not be negative, not {after}")
    rows = list(backend.current().events.list_events(tenant, task_id, after=after, limit=limit + 1))
    events = rows[:limit]
    return EventPage(events=events, next_after=events[-1].sequence if len(rows) > limit else None)
