"""Small records in memory: event streams, held-request slots, rate windows, heartbeats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.engine.ports import Event, ObjectUnreadable, SlotAnswer
from chalicelib.store.memory.state import MemoryState, copied
from chalicelib.timefmt import from_iso, to_iso

#: The roles whose heartbeats are read (as store/heartbeats.py reads them).
ROLES = ("dispatcher", "worker", "maintenance")


class MemoryEventLog:
    """`EventLog` in memory: one counter per task, never reused."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def append_event(self, tenant: str, task_id: str, event_type: str, data: dict[str, Any], *, now: datetime,
                     expires_at: int | None = None) -> int:
        with self._state.lock:
            sequence = self._state.sequences.get((tenant, task_id), 0) + 1
            self._state.sequences[(tenant, task_id)] = sequence
            self._state.events.setdefault((tenant, task_id), []).append(
                (sequence, event_type, to_iso(now), copied(data), expires_at))
            return sequence

    def list_events(self, tenant: str, task_id: str, *, after: int = 0, limit: int = 100) -> Iterator[Event]:
        with self._state.lock:
            stream = [e for e in self._state.events.get((tenant, task_id), []) if e[0] > after][:limit]
            events = [Event(sequence=s, type=t, at=from_iso(at), data=copied(data)) for s, t, at, data, _ in stream]
        return iter(events)


class MemoryHeldSlotStore:
    """`HeldSlotStore` in memory: a slot is free when missing or its lease ended by `now`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def take_slot(self, tenant: str, *, cap: int, holder: str, now: int, until: int) -> SlotAnswer:
        with self._state.lock:
            held = {slot: lease for (t, slot), (_, lease) in self._state.held.items() if t == tenant}
            free = [i for i in range(cap) if held.get(i, 0) <= now]
            if not free:
                return SlotAnswer(slot=None, free_at=min(held[i] for i in range(cap)))
            self._state.held[(tenant, free[0])] = (holder, until)
            return SlotAnswer(slot=free[0])

    def give_slot(self, tenant: str, slot: int, *, holder: str) -> None:
        with self._state.lock:
            if self._state.held.get((tenant, slot), ("",))[0] == holder:
                del self._state.held[(tenant, slot)]


class MemoryRateCounter:
    """`RateCounter` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def count_hit(self, tenant: str, user: str, tier: str, window_start: int, *, expires_at: int) -> int:
        key = (tenant, f"{user}#{tier}#{window_start}")
        with self._state.lock:
            count = self._state.rates.get(key, (0, 0))[0] + 1
            self._state.rates[key] = (count, expires_at)
            return count


class MemoryHeartbeats:
    """`Heartbeats` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def record_heartbeat(self, role: str, *, now: datetime, **data: Any) -> None:
        with self._state.lock:
            count = self._state.heartbeats.get(role, ("", 0, {}))[1] + 1
            self._state.heartbeats[role] = (to_iso(now), count, copied(data))

    def read_heartbeats(self) -> dict[str, dict[str, Any]]:
        with self._state.lock:
            return {role: {"at": at, "count": count, **copied(data)}
                    for role, (at, count, data) in self._state.heartbeats.items() if role in ROLES}


class MemoryObjects:
    """`ObjectReader` in memory; `put_text` stands in for an upload."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def put_text(self, bucket: str, key: str, text: str) -> None:
        with self._state.lock:
            self._state.objects[(bucket, key)] = text.encode("utf-8")

    def read_text(self, bucket: str, key: str) -> str:
        with self._state.lock:
            body = self._state.objects.get((bucket, key))
        if body is None:
            raise ObjectUnreadable(f"no object s3://{bucket}/{key}")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ObjectUnreadable(f"not UTF-8 text: {exc}") from None
