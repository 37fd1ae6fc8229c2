"""Concurrency slots and the FIFO wait queue on a task."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.errors import NotFound
from tests.contract.conftest import put
from tests.racing import race


def test_a_task_never_holds_more_slots_than_its_parallelism(store):
    put(store, "t1")
    assert store.slots.acquire_slot("acme", "t1", "r1", 2)
    assert store.slots.acquire_slot("acme", "t1", "r2", 2)
    assert not store.slots.acquire_slot("acme", "t1", "r3", 2)
    assert store.slots.acquire_slot("acme", "t1", "r1", 2)  # a holder asking again
    assert store.slots.occupancy("acme", "t1").active == frozenset({"r1", "r2"})
    released = store.slots.release_slot("acme", "t1", "r1")
    assert released is not None and released.task_id == "t1"
    assert store.slots.release_slot("acme", "t1", "r1") is None  # it holds none now
    assert store.slots.acquire_slot("acme", "t1", "r3", 2)
    assert not store.slots.acquire_slot("acme", "gone", "r1", 2)
    with pytest.raises(NotFound):
        store.slots.occupancy("acme", "gone")


def test_racing_runs_take_exactly_the_free_slots(racing_store):
    put(racing_store, "t1")
    ids = itertools.count()
    taken = race(lambda: racing_store.slots.acquire_slot("acme", "t1", f"r{next(ids)}", 2), threads=6)
    assert taken.count(True) == 2
    assert len(racing_store.slots.occupancy("acme", "t1").active) == 2


def test_the_wait_queue_is_first_in_first_out_and_bounded(store):
    put(store, "t1")
    assert [store.slots.enqueue_waiting("acme", "t1", f"w{n}", queue_max=3) for n in range(4)] == [
        True, True, True, False]
    store.slots.remove_waiting("acme", "t1", "w1")
    assert store.slots.occupancy("acme", "t1").waiting == ("w0", "w2")
    assert store.tasks.get_task("acme", "t1").waiting == ("w0", "w2")
    assert [store.slots.pop_waiting("acme", "t1") for _ in range(3)] == ["w0", "w2", None]
    assert not store.slots.enqueue_waiting("acme", "gone", "w0", queue_max=3)
    assert store.slots.pop_waiting("acme", "gone") is None


def test_racing_pops_never_take_the_same_run(racing_store):
    put(racing_store, "t1")
    for n in range(4):
        assert racing_store.slots.enqueue_waiting("acme", "t1", f"w{n}", queue_max=10)
    popped = [run for run in race(lambda: racing_store.slots.pop_waiting("acme", "t1"), threads=4) if run]
    assert len(popped) == len(set(popped))
    left = racing_store.slots.occupancy("acme", "t1").waiting
    assert sorted(popped + list(left)) == [f"w{n}" for n in range(4)]


def test_a_replace_keeps_the_slots_and_the_queue(store):
    put(store, "t1")
    store.slots.acquire_slot("acme", "t1", "r1", 1)
    store.slots.enqueue_waiting("acme", "t1", "w1", queue_max=5)
    put(store, "t1", expected_revision=1)
    occupancy = store.slots.occupancy("acme", "t1")
    assert (occupancy.active, occupancy.waiting) == (frozenset({"r1"}), ("w1",))


def test_a_run_starts_with_its_slot_or_nothing_is_written(store):
    from tests.contract.conftest import T0, pending

    put(store, "t1")
    lease = T0.replace(minute=5)
    for n in range(3):
        assert store.runs.create_run(pending("t1", f"r{n}"))
    started = store.slots.start_with_slot(pending("t1", "r0"), 2, worker_id="w", now=T0, lease_until=lease)
    assert started is not None and started == store.runs.get_run("acme", "t1", "r0")
    assert (started.status.value, started.worker_id, started.started_at, started.lease_until) == (
        "running", "w", T0, lease)
    assert store.slots.occupancy("acme", "t1").active == frozenset({"r0"})
    # not pending any more: no second start, no slot
    assert store.slots.start_with_slot(pending("t1", "r0"), 2, worker_id="x", now=T0, lease_until=lease) is None
    assert store.runs.get_run("acme", "t1", "r0").worker_id == "w"
    assert store.slots.start_with_slot(pending("t1", "r1"), 2, worker_id="w", now=T0, lease_until=lease) is not None
    # the slots are full: the run stays pending
    assert store.slots.start_with_slot(pending("t1", "r2"), 2, worker_id="w", now=T0, lease_until=lease) is None
    assert store.runs.get_run("acme", "t1", "r2").status.value == "pending"
    assert store.slots.occupancy("acme", "t1").active == frozenset({"r0", "r1"})
    # a stop requested before the start: neither written
    store.slots.release_slot("acme", "t1", "r1")
    assert store.runs.request_stop("acme", "t1", "r2")
    assert store.slots.start_with_slot(pending("t1", "r2"), 2, worker_id="w", now=T0, lease_until=lease) is None
    assert store.slots.occupancy("acme", "t1").active == frozenset({"r0"})
    # the task is gone: nothing
    assert store.runs.create_run(pending("gone", "r9"))
    assert store.slots.start_with_slot(pending("gone", "r9"), 2, worker_id="w", now=T0, lease_until=lease) is None
    assert store.runs.get_run("acme", "gone", "r9").status.value == "pending"


def test_racing_starts_take_exactly_the_free_slots_and_start_each_run_once(racing_store):
    from tests.contract.conftest import T0, pending

    put(racing_store, "t1")
    for n in range(4):
        assert racing_store.runs.create_run(pending("t1", f"r{n}"))
    ids = itertools.cycle(["r0", "r0", "r1", "r2", "r3", "r3"])
    started = race(lambda: racing_store.slots.start_with_slot(pending("t1", next(ids)), 2, worker_id="w", now=T0,
                                                              lease_until=T0), threads=6)
    started_ids = [run.run_id for run in started if run is not None]
    assert len(started_ids) == 2 and len(set(started_ids)) == 2
    assert racing_store.slots.occupancy("acme", "t1").active == frozenset(started_ids)
    assert sorted(r.run_id for r in racing_store.runs.list_runs("acme", "t1") if r.status.value == "running") == sorted(
        started_ids)
