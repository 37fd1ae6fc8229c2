"""Event streams: one per task, numbered by an atomic per-task counter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.store.models import EventItem
from chalicelib.store.tasks import next_event_sequence
from chalicelib.timefmt import to_iso


def append_event(tenant: str, task_id: str, event_type: str, data: dict[str, Any], *, now: datetime,
                 expires_at: int | None = None) -> int:
    """Append an event to the task's stream; returns its sequence number."""
    sequence = next_event_sequence(tenant, task_id)
    EventItem(f"{tenant}#{task_id}", sequence, type=event_type, at=to_iso(now), data=data,
              expires_at=expires_at).save()
    return sequence


def list_events(tenant: str, task_id: str, *, after: int = 0, limit: int = 100) -> Iterator[tuple[int, str, str, dict]]:
    """(sequence, type, at, data) of the task's events after `after`, oldest first."""
    for item in EventItem.query(f"{tenant}#{task_id}", EventItem.sk > after, limit=limit):
        yield int(item.sk), item.type, item.at, item.data
