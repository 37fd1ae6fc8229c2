"""A tenant's held-request slots, shared by every API instance.

Slot `i` of a tenant is the record (pk = tenant, sk = "held#<i>") in the tasks table, for
`i < cap`. Taking one is a conditional put that succeeds only while the slot is free or its
lease has ended (`expires_at`, also the table's TTL attribute), so two instances never hold
the same slot and a slot whose instance died frees itself when its lease ends. Giving one back
deletes it, only if the same holder still has it.
"""

from __future__ import annotations

from functools import partial

from chalicelib.engine.ports import SlotAnswer
from chalicelib.store.conditions import conditional
from chalicelib.store.models import RecordItem

SLOT_PREFIX = "held#"


def take_slot(tenant: str, *, cap: int, holder: str, now: int, until: int) -> SlotAnswer:
    """Take a free slot of `tenant` (one of `cap`) for `holder` until the epoch second `until`."""
    for _ in range(cap + 1):  # each lost race means another holder took a slot: look again
        held = {
            int(item.sk[len(SLOT_PREFIX):]): int(item.expires_at or 0)
            for item in RecordItem.query(tenant, RecordItem.sk.startswith(SLOT_PREFIX), consistent_read=True)
        }
        free = [i for i in range(cap) if held.get(i, 0) <= now]
        if not free:
            return SlotAnswer(slot=None, free_at=min(held[i] for i in range(cap)))
        slot = free[0]
        lease = RecordItem(tenant, f"{SLOT_PREFIX}{slot}", data={"holder": holder}, expires_at=until)
        if conditional(partial(lease.save, condition=RecordItem.sk.does_not_exist() | (RecordItem.expires_at <= now))):
            return SlotAnswer(slot=slot)
    return SlotAnswer(slot=None, free_at=now + 1)


def give_slot(tenant: str, slot: int, *, holder: str) -> None:
    """Free `slot` if `holder` still has it (a slot whose lease ended may be someone else's)."""
    conditional(lambda: RecordItem(tenant, f"{SLOT_PREFIX}{slot}").delete(
        condition=RecordItem.data == {"holder": holder}))


class DynamoHeldSlotStore:
    """`HeldSlotStore` over the tasks table."""

    def take_slot(self, tenant: str, *, cap: int, holder: str, now: int, until: int) -> SlotAnswer:
        return take_slot(tenant, cap=cap, holder=holder, now=now, until=until)

    def give_slot(self, tenant: str, slot: int, *, holder: str) -> None:
        give_slot(tenant, slot, holder=holder)
