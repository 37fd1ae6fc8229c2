"""Event sequences, held-request slots, rate windows and heartbeats."""

from __future__ import annotations

import itertools

from tests.contract.conftest import T0
from tests.racing import race


def test_event_sequences_are_exact_under_concurrent_appends(racing_store):
    numbers = race(lambda: racing_store.events.append_event("acme", "t1", "run.finished", {"n": 1}, now=T0),
                   threads=6)
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    assert racing_store.events.append_event("acme", "t2", "x", {}, now=T0) == 1


def test_events_are_read_after_a_sequence_oldest_first(store):
    for n in range(5):
        store.events.append_event("acme", "t1", "run.finished", {"n": n}, now=T0)
    events = list(store.events.list_events("acme", "t1", after=2, limit=2))
    assert [(e.sequence, e.type, e.data) for e in events] == [(3, "run.finished", {"n": 2}),
                                                            (4, "run.finished", {"n": 3})]
    assert events[0].at == T0


def test_held_slots_are_capped_leased_and_given_back_only_by_their_holder(store):
    now = int(T0.timestamp())
    first = store.held_slots.take_slot("acme", cap=2, holder="a", now=now, until=now + 30)
    second = store.held_slots.take_slot("acme", cap=2, holder="b", now=now, until=now + 20)
    assert (first.slot, second.slot) == (0, 1)
    refused = store.held_slots.take_slot("acme", cap=2, holder="c", now=now, until=now + 30)
    assert (refused.slot, refused.free_at) == (None, now + 20)
    store.held_slots.give_slot("acme", 0, holder="c")  # not its slot: nothing happens
    assert store.held_slots.take_slot("acme", cap=2, holder="c", now=now, until=now + 30).slot is None
    # a lease that ended frees its slot without a give
    assert store.held_slots.take_slot("acme", cap=2, holder="c", now=now + 20, until=now + 50).slot == 1
    store.held_slots.give_slot("acme", 0, holder="a")
    assert store.held_slots.take_slot("acme", cap=2, holder="d", now=now, until=now + 30).slot == 0
    assert store.held_slots.take_slot("other", cap=1, holder="e", now=now, until=now + 30).slot == 0


def test_racing_requests_hold_at_most_the_cap(racing_store):
    now = int(T0.timestamp())
    holders = itertools.count()
    answers = race(lambda: racing_store.held_slots.take_slot("acme", cap=2, holder=f"h{next(holders)}", now=now,
                                                            until=now + 30), threads=5)
    assert sorted(a.slot for a in answers if a.slot is not None) == [0, 1]


def test_rate_windows_count_every_hit(racing_store):
    counts = race(lambda: racing_store.rate_limits.count_hit("acme", "u1", "read", 60, expires_at=180), threads=5)
    assert sorted(counts) == [1, 2, 3, 4, 5]
    assert racing_store.rate_limits.count_hit("acme", "u1", "read", 120, expires_at=240) == 1


def test_heartbeats_say_when_each_role_last_ran_and_how_often(store):
    store.heartbeats.record_heartbeat("dispatcher", now=T0, fired=2)
    store.heartbeats.record_heartbeat("dispatcher", now=T0, fired=3)
    assert store.heartbeats.read_heartbeats() == {
        "dispatcher": {"at": "2026-03-02T09:00:00.000000Z", "count": 2, "fired": 3}}
