"""A tenant's cap on held requests across every API instance: leased slots in the store.

Each held request takes one of the tenant's `cap` slots for as long as it may hold plus a
margin, and gives it back when it ends; a slot whose request died with its instance frees
itself when its lease ends.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from chalicelib.engine import backend

#: Seconds a lease outlives the hold it covers (the request's own work before and after).
LEASE_MARGIN = 5


@dataclass(frozen=True, kw_only=True)
class HeldSlot:
    """A slot asked for: taken (`slot` set) or refused (`retry_after` seconds)."""

    tenant: str
    #: The slot taken, or None when the tenant holds every one.
    slot: int | None
    #: Who holds it (one request).
    holder: str
    #: When refused, seconds until the first held slot's lease ends.
    retry_after: int = 0


def take_slot(tenant: str, *, cap: int, seconds: float, now: datetime) -> HeldSlot:
    """Ask for one of `tenant`'s `cap` slots for a request held up to `seconds`."""
    holder = uuid.uuid4().hex
    epoch = int(now.timestamp())
    answer = backend.current().held_slots.take_slot(tenant, cap=cap, holder=holder, now=epoch,
                                                    until=epoch + math.ceil(max(0.0, seconds)) + LEASE_MARGIN)
    if answer.slot is None:
        return HeldSlot(tenant=tenant, slot=None, holder=holder, retry_after=max(1, (answer.free_at or 0) - epoch))
    return HeldSlot(tenant=tenant, slot=answer.slot, holder=holder)


def give_slot(held: HeldSlot) -> None:
    """Give a taken slot back (nothing for a refused one)."""
    if held.slot is not None:
        backend.current().held_slots.give_slot(held.tenant, held.slot, holder=held.holder)
