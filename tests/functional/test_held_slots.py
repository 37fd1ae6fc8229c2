"""A tenant's held-request slots in the store: racing instances (real threads against the moto
server) never share a slot, a dead holder's lease ends, and a stale holder frees nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from chalicelib.engine import held_slots

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_racing_requests_take_exactly_the_tenants_slots_and_no_slot_twice(server_aws):
    start = threading.Barrier(20)
    taken: list[held_slots.HeldSlot] = []
    lock = threading.Lock()

    def ask() -> None:
        start.wait()
        slot = held_slots.take_slot("acme", cap=8, seconds=20, now=T0)
        with lock:
            taken.append(slot)

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = sorted(s.slot for s in taken if s.slot is not None)
    assert granted == list(range(8))
    assert {s.retry_after for s in taken if s.slot is None} == {25}  # 20 s hold + the lease margin
    assert held_slots.take_slot("beta", cap=8, seconds=20, now=T0).slot == 0  # tenants do not share


def test_a_slot_frees_when_given_back_or_when_its_lease_ends(aws):
    first = held_slots.take_slot("acme", cap=1, seconds=10, now=T0)
    assert first.slot == 0
    assert held_slots.take_slot("acme", cap=1, seconds=10, now=T0 + timedelta(seconds=14)).slot is None
    late = held_slots.take_slot("acme", cap=1, seconds=10, now=T0 + timedelta(seconds=15))
    assert late.slot == 0  # the first holder died without giving it back; its lease ended
    held_slots.give_slot(first)  # a stale holder frees nothing
    assert held_slots.take_slot("acme", cap=1, seconds=10, now=T0 + timedelta(seconds=16)).slot is None
    held_slots.give_slot(late)
    assert held_slots.take_slot("acme", cap=1, seconds=10, now=T0 + timedelta(seconds=16)).slot == 0
