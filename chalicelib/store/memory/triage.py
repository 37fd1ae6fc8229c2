"""Inbox triage in memory, as the deployed store keeps it (store/triage.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.engine.ports import Triage
from chalicelib.store.memory.state import MemoryState, instant


class MemoryTriageStore:
    """`TriageStore` in memory: (tenant, actor kind, actor ref, task id) -> record."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def mark_triage(self, tenant: str, actor_kind: str, actor_ref: str, task_id: str, *, now: datetime,
                    last_seen_activity_at: datetime | None, read: bool | None = None,
                    dismissed: bool | None = None, archived: bool | None = None) -> Triage:
        key = (tenant, actor_kind, actor_ref, task_id)
        changes: dict[str, Any] = {"updated_at": instant(now)}
        for name, value in (("read", read), ("dismissed", dismissed), ("archived", archived)):
            if value is not None:
                changes[name] = value
        if last_seen_activity_at is not None:
            changes["last_seen_activity_at"] = instant(last_seen_activity_at)
        with self._state.lock:
            before = self._state.triage.get(key) or Triage(task_id=task_id, actor_kind=actor_kind,
                                                             actor_ref=actor_ref)
            after = self._state.triage[key] = dataclasses.replace(before, **changes)
        return after

    def triage_of_actor(self, tenant: str, actor_kind: str, actor_ref: str) -> Iterator[Triage]:
        with self._state.lock:
            found = [record for (t, kind, ref, _), record in sorted(self._state.triage.items())
                     if (t, kind, ref) == (tenant, actor_kind, actor_ref)]
        return iter(found)
