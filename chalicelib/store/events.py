"""A task's event log: one stream per task, numbered by an atomic per-task counter.

Events live in the events table (pk = "<tenant>#<task id>", sk = the number); `expires_at` is
the table's TTL attribute. The counter is one record per task in the tasks table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.engine.ports import Event
from chalicelib.store.models import EventItem, RecordItem
from chalicelib.timefmt import from_iso, to_iso


def next_event_sequence(tenant: str, task_id: str) -> int:
    """The next number of the task's event stream (atomic ADD)."""
    updated = RecordItem(tenant, f"seq#{task_id}").update(actions=[RecordItem.counter.add(1)])
    return int(updated["Attributes"]["counter"]["N"])


def append_event(tenant: str, task_id: str, event_type: str, data: dict[str, Any], *, now: datetime,
                 expires_at: int | None = None) -> int:
    """Append an event to the task's stream (expiring at `expires_at`, epoch seconds); returns
    its number."""
    sequence = next_event_sequence(tenant, task_id)
    EventItem(f"{tenant}#{task_id}", sequence, type=event_type, at=to_iso(now), data=data,
              expires_at=expires_at).save()
    return sequence


def list_events(tenant: str, task_id: str, *, after: int = 0, limit: int = 100) -> Iterator[Event]:
    """The task's events after `after`, oldest first."""
    for item in EventItem.query(f"{tenant}#{task_id}", EventItem.sk > after, limit=limit):
        yield Event(sequence=int(item.sk), type=item.type, at=from_iso(item.at), data=item.data)


class DynamoEventLog:
    """`EventLog` over the events table."""

    def append_event(self, tenant: str, task_id: str, event_type: str, data: dict[str, Any], *, now: datetime,
                     expires_at: int | None = None) -> int:
        return append_event(tenant, task_id, event_type, data, now=now, expires_at=expires_at)

    def list_events(self, tenant: str, task_id: str, *, after: int = 0, limit: int = 100) -> Iterator[Event]:
        return list_events(tenant, task_id, after=after, limit=limit)
