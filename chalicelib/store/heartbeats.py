"""Heartbeats of the background roles (dispatcher, worker, maintenance).

Each role stamps one record when it runs, so `/health` can say whether the scheduler is alive
and an operator can see a stalled one. Records live under the system pseudo-tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import NotReady
from chalicelib.store.models import SYSTEM_TENANT, RecordItem
from chalicelib.timefmt import to_iso

ROLES = ("dispatcher", "worker", "maintenance")


def record_heartbeat(role: str, *, now: datetime, **data: Any) -> None:
    """Stamp `role` as having run at `now`, with a few facts about the run; counts invocations."""
    RecordItem(SYSTEM_TENANT, f"heartbeat#{role}").update(
        actions=[
            RecordItem.updated_at.set(to_iso(now)),
            RecordItem.data.set(data),
            RecordItem.counter.add(1),
        ]
    )


def read_heartbeats() -> dict[str, dict[str, Any]]:
    """Every role's last heartbeat: `{role: {at, count, ...}}`; raises `NotReady` if unreachable."""
    try:
        items = RecordItem.batch_get([(SYSTEM_TENANT, f"heartbeat#{role}") for role in ROLES])
        found = {item.sk.split("#", 1)[1]: item for item in items}
    except PynamoDBException as exc:
        raise NotReady(f"backend unreachable: {exc.msg}") from exc
    return {
        role: {"at": item.updated_at, "count": int(item.counter or 0), **(item.data or {})}
        for role, item in found.items()
    }


class DynamoHeartbeats:
    """`Heartbeats` over the tasks table."""

    def record_heartbeat(self, role: str, *, now: datetime, **data: Any) -> None:
        record_heartbeat(role, now=now, **data)

    def read_heartbeats(self) -> dict[str, dict[str, Any]]:
        return read_heartbeats()
