"""The losing side of every race the store settles by a condition: two claimers of one run, a
finish against a sweep, a stop against a start, a delete against an update. The loser changes
nothing, and nothing a loser writes brings back what a delete removed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.engine.model import DisabledReason, EndReason, RunStatus
from chalicelib.errors import Conflict, NotFound
from tests.contract.conftest import T0, pending, put
from tests.racing import race_each

LEASE = T0 + timedelta(minutes=1)
LATER = T0 + timedelta(seconds=5)


def end(store, run_id, *, reason=EndReason.SUCCESS, expected=RunStatus.RUNNING, worker_id=None, task_id="t1"):
    return store.runs.finish_run("acme", task_id, run_id, reason=reason, exit_code=0, now=LATER,
                                 expected_status=expected, worker_id=worker_id)


def test_a_workers_finish_and_the_crash_sweep_racing_end_the_run_once(racing_store):
    racing_store.runs.create_run(pending("t1", "r1"))
    assert racing_store.runs.start_run("acme", "t1", "r1", worker_id="w1", now=T0, lease_until=LEASE)
    finished, crashed = race_each(lambda: end(racing_store, "r1", worker_id="w1"),
                                  lambda: end(racing_store, "r1", reason=EndReason.CRASHED))
    assert (finished is None) != (crashed is None)  # exactly one ended it
    winner = finished or crashed
    assert racing_store.runs.get_run("acme", "t1", "r1").end_reason is winner.end_reason
    # the loser, had it been the worker, learns so from its next heartbeat
    assert racing_store.runs.renew_lease("acme", "t1", "r1", worker_id="w1", lease_until=LEASE) is None


def test_a_start_and_a_cancel_racing_for_a_pending_run_have_one_winner(racing_store):
    for n in range(3):
        racing_store.runs.create_run(pending("t1", f"r{n}"))
        started, canceled = race_each(
            lambda n=n: racing_store.runs.start_run("acme", "t1", f"r{n}", worker_id="w", now=T0, lease_until=LEASE),
            lambda n=n: end(racing_store, f"r{n}", reason=EndReason.STOPPED, expected=RunStatus.PENDING))
        assert (started is None) != (canceled is None)
        run = racing_store.runs.get_run("acme", "t1", f"r{n}")
        assert run.status is (RunStatus.RUNNING if started else RunStatus.ENDED)


def test_a_stop_request_for_a_deleted_run_brings_nothing_back(store):
    store.runs.create_run(pending("t1", "r1"))
    assert end(store, "r1", expected=RunStatus.PENDING) is not None
    store.runs.delete_run("acme", "t1", "r1")
    for never_there in ("r1", "r2"):
        assert store.runs.request_stop("acme", "t1", never_there) is False
        assert store.runs.start_run("acme", "t1", never_there, worker_id="w", now=T0, lease_until=LEASE) is None
        assert store.runs.renew_lease("acme", "t1", never_there, worker_id="w", lease_until=LEASE) is None
        assert end(store, never_there, expected=RunStatus.PENDING) is None
        with pytest.raises(NotFound):
            store.runs.get_run("acme", "t1", never_there)
    assert list(store.runs.list_runs("acme", "t1")) == []


def test_a_stop_request_racing_the_deletion_of_an_ended_run_leaves_it_gone(racing_store):
    for n in range(3):
        racing_store.runs.create_run(pending("t1", f"r{n}"))
        end(racing_store, f"r{n}", expected=RunStatus.PENDING)
        deleted, stopped = race_each(lambda n=n: racing_store.runs.delete_run("acme", "t1", f"r{n}"),
                                     lambda n=n: racing_store.runs.request_stop("acme", "t1", f"r{n}"))
        assert (deleted, stopped) == (None, False)
    assert list(racing_store.runs.list_runs("acme", "t1")) == []


def test_two_deletes_of_an_ended_run_have_one_winner(racing_store):
    racing_store.runs.create_run(pending("t1", "r1"))
    end(racing_store, "r1", expected=RunStatus.PENDING)
    answers = race_each(lambda: racing_store.runs.delete_run("acme", "t1", "r1"),
                        lambda: racing_store.runs.delete_run("acme", "t1", "r1"))
    assert sorted(type(a).__name__ for a in answers) == ["NoneType", "NotFound"]


def test_writes_that_lose_to_a_task_delete_bring_nothing_back(store):
    fire = T0 + timedelta(seconds=10)
    put(store, "t1", next_fire_at=fire)
    store.tasks.delete_task("acme", "t1", subscriptions=())
    assert store.failures.record_outcome("acme", "t1", failed=True) == 0
    store.tasks.disable("acme", "t1", code=DisabledReason.CONSECUTIVE_FAILURES, now=LATER)
    assert not store.triggers.advance_trigger("acme", "t1", expected=fire, next_fire_at=None, last_fire_at=fire)
    assert not store.triggers.claim_tick_with_run("acme", "t1", expected=fire, next_fire_at=None,
                                                  run=pending("t1", "r1", nominal_at=fire))
    assert not store.slots.acquire_slot("acme", "t1", "r1", 1)
    assert store.slots.release_slot("acme", "t1", "r1") is None
    assert not store.slots.enqueue_waiting("acme", "t1", "r1", queue_max=5)
    store.slots.remove_waiting("acme", "t1", "r1")
    assert store.slots.pop_waiting("acme", "t1") is None
    with pytest.raises(NotFound):
        store.tasks.get_task("acme", "t1")
    assert list(store.tasks.list_tasks("acme")) == []
    assert list(store.runs.list_runs("acme", "t1")) == []


def test_a_replace_racing_a_delete_never_brings_the_task_back(racing_store):
    for n in range(3):
        put(racing_store, f"t{n}")
        replaced, deleted = race_each(lambda n=n: put(racing_store, f"t{n}", expected_revision=1),
                                      lambda n=n: racing_store.tasks.delete_task("acme", f"t{n}", subscriptions=()))
        assert deleted is None  # the delete always wins: a replace it raced is lost or deleted after it
        assert not isinstance(replaced, Exception) or isinstance(replaced, NotFound | Conflict)
        with pytest.raises(NotFound):
            racing_store.tasks.get_task("acme", f"t{n}")


def test_a_replace_whose_read_a_delete_overtakes_loses_and_brings_nothing_back(dynamo_store, monkeypatch):
    """The interleaving the race above rarely hits: the delete lands between the replace's read
    of the task and its write."""
    from chalicelib.store import tasks as dynamo_tasks

    store = dynamo_store
    put(store, "t1")
    read = dynamo_tasks.get_item

    def read_then_deleted(*args, **kwargs):
        item = read(*args, **kwargs)
        store.tasks.delete_task("acme", "t1", subscriptions=())
        return item

    monkeypatch.setattr(dynamo_tasks, "get_item", read_then_deleted)
    # The replace loses either way: a Conflict when it gives up at once, a NotFound when it reads
    # again (the store retries a write refused only by the subscribed mark) and finds it gone.
    with pytest.raises((Conflict, NotFound)):
        put(store, "t1", expected_revision=1)
    with pytest.raises(NotFound):
        store.tasks.get_task("acme", "t1")


def test_a_replace_keeps_the_slots_and_the_wait_queue_changed_after_its_read(dynamo_store, monkeypatch):
    """A definition change (a re-armed trigger, a PUT) lands while the task's runs take and give
    back slots: what the slot writes did between the replace's read and its write stays done, or
    a slot given back comes back held and the queued run waits forever."""
    from chalicelib.store import tasks as dynamo_tasks

    store = dynamo_store
    put(store, "t1")
    assert store.slots.acquire_slot("acme", "t1", "r1", 1)
    assert store.slots.enqueue_waiting("acme", "t1", "r2", 10)
    read = dynamo_tasks.get_item

    def read_then_slots_move(*args, **kwargs):
        item = read(*args, **kwargs)
        store.slots.release_slot("acme", "t1", "r1")
        store.slots.enqueue_waiting("acme", "t1", "r3", 10)
        return item

    monkeypatch.setattr(dynamo_tasks, "get_item", read_then_slots_move)
    put(store, "t1", expected_revision=1)
    monkeypatch.setattr(dynamo_tasks, "get_item", read)
    occupancy = store.slots.occupancy("acme", "t1")
    assert occupancy.active == frozenset() and occupancy.waiting == ("r2", "r3")
    assert store.tasks.get_task("acme", "t1").revision == 2


def test_a_removal_racing_pops_takes_out_only_its_run(racing_store):
    put(racing_store, "t1")
    queued = [f"w{n}" for n in range(6)]
    for run_id in queued:
        assert racing_store.slots.enqueue_waiting("acme", "t1", run_id, queue_max=10)
    removed, *popped = race_each(lambda: racing_store.slots.remove_waiting("acme", "t1", "w2"),
                                 *[lambda: racing_store.slots.pop_waiting("acme", "t1")] * 3)
    assert removed is None and all(isinstance(p, str) for p in popped)
    left = racing_store.slots.occupancy("acme", "t1").waiting
    assert "w2" not in left
    assert len(set(popped)) == 3 and not set(popped) & set(left)
    assert sorted({*popped, *left, "w2"}) == queued
    assert list(left) == [run_id for run_id in queued if run_id not in {*popped, "w2"}]  # still in order
