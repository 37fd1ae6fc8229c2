"""Pull-mode runs over both stores: claim order, one winner per run, one lease per session,
lease expiry and the stale holder."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest

from chalicelib.engine import pull
from chalicelib.engine.model import EndReason, RunStatus
from chalicelib.errors import Conflict, NotFound
from tests.contract.conftest import T0
from tests.racing import race


def queue(task_id, priority="medium", *, at=T0, tenant="acme", channel=None):
    return pull.enqueue(tenant, task_id, now=at, priority=priority, channel=channel)


def test_claims_take_the_highest_priority_then_the_oldest(store):
    queue("low", "low", at=T0)
    queue("medium-new", "medium", at=T0 + timedelta(seconds=2))
    queue("urgent", "urgent", at=T0 + timedelta(seconds=3))
    queue("medium-old", "medium", at=T0 + timedelta(seconds=1))
    queue("high", "high", at=T0 + timedelta(seconds=4))
    queue("elsewhere", "urgent", channel="gpu")
    queue("other-tenant", "urgent", tenant="globex")
    now = T0 + timedelta(minutes=1)
    order = [pull.claim_next("acme", f"s{n}", now=now).run.task_id for n in range(5)]
    assert order == ["urgent", "high", "medium-old", "medium-new", "low"]
    assert pull.claim_next("acme", "s9", now=now) is None
    assert pull.claim_next("acme", "s9", now=now, channel="gpu").run.task_id == "elsewhere"


def test_a_claim_is_held_once_and_stores_only_the_token_hash(store):
    run = queue("t1")
    claim = pull.claim_next("acme", "s1", now=T0, lease_seconds=60)
    stored = store.runs.get_run("acme", "t1", run.run_id)
    assert (stored.status, stored.worker_id, stored.lease_until) == (RunStatus.CLAIMED, "s1",
                                                                     T0 + timedelta(seconds=60))
    assert stored.claim_token_hash == pull.token_hash(claim.token) != claim.token
    assert stored.claim_token_hash.startswith("sha256:") and claim.token not in repr(stored)
    queue("t2")
    with pytest.raises(Conflict):  # one lease per session
        pull.claim_next("acme", "s1", now=T0)
    with pytest.raises(Conflict):
        pull.heartbeat("acme", "s1", run.run_id, now=T0, token="clt_wrong")
    with pytest.raises(Conflict):
        pull.complete("acme", "s2", run.run_id, now=T0)
    with pytest.raises(NotFound):
        pull.complete("globex", "s1", run.run_id, now=T0)


def test_a_run_goes_claimed_starting_running_completed_and_frees_the_session(store):
    run = queue("t1")
    claim = pull.claim_next("acme", "s1", now=T0)
    assert pull.start("acme", "s1", run.run_id, now=T0, token=claim.token).status is RunStatus.STARTING
    with pytest.raises(Conflict):
        pull.start("acme", "s1", run.run_id, now=T0)
    assert pull.mark_running("acme", "s1", run.run_id, now=T0).status is RunStatus.RUNNING
    beat = pull.heartbeat("acme", "s1", run.run_id, now=T0 + timedelta(minutes=4), lease_seconds=600)
    assert beat.lease_until == T0 + timedelta(minutes=14)
    done = pull.complete("acme", "s1", run.run_id, now=T0 + timedelta(minutes=5), detail="ok")
    assert (done.status, done.end_reason, done.detail, done.lease_until) == (
        RunStatus.ENDED, EndReason.SUCCESS, "ok", None)
    assert pull.session_run("acme", "s1") is None
    with pytest.raises(Conflict):
        pull.fail("acme", "s1", run.run_id, now=T0 + timedelta(minutes=5))
    queue("t2", at=T0 + timedelta(minutes=6))
    assert pull.claim_next("acme", "s1", now=T0 + timedelta(minutes=6)).run.task_id == "t2"


def test_a_released_run_is_queued_again_in_its_place(store):
    first = queue("first", "high", at=T0)
    queue("second", "high", at=T0 + timedelta(seconds=1))
    pull.claim_next("acme", "s1", now=T0)
    released = pull.release("acme", "s1", first.run_id, now=T0 + timedelta(seconds=5))
    assert (released.status, released.worker_id, released.claim_token_hash) == (RunStatus.QUEUED, None, None)
    assert pull.claim_next("acme", "s2", now=T0 + timedelta(seconds=6)).run.run_id == first.run_id


def test_an_expired_lease_is_requeued_and_its_stale_holder_refused(store):
    run = queue("t1")
    stale = pull.claim_next("acme", "s1", now=T0, lease_seconds=60)
    pull.heartbeat("acme", "s1", run.run_id, now=T0 + timedelta(seconds=30), lease_seconds=60)
    assert pull.requeue_expired(T0 + timedelta(seconds=89)) == 0
    with pytest.raises(Conflict):  # expired: refused even before the sweep
        pull.heartbeat("acme", "s1", run.run_id, now=T0 + timedelta(seconds=91), token=stale.token)
    assert pull.requeue_expired(T0 + timedelta(seconds=91)) == 1
    assert store.runs.get_run("acme", "t1", run.run_id).status is RunStatus.QUEUED
    fresh = pull.claim_next("acme", "s2", now=T0 + timedelta(seconds=92))
    assert fresh.run.run_id == run.run_id and fresh.token != stale.token
    for call in (pull.heartbeat, pull.complete, pull.fail, pull.release):
        with pytest.raises(Conflict):
            call("acme", "s1", run.run_id, now=T0 + timedelta(seconds=93), token=stale.token)
    assert pull.complete("acme", "s2", run.run_id, now=T0 + timedelta(seconds=94)).end_reason is EndReason.SUCCESS


def test_a_claim_requeues_expired_leases_lazily(store):
    run = queue("t1")
    pull.claim_next("acme", "s1", now=T0, lease_seconds=60)
    later = T0 + timedelta(minutes=2)
    assert pull.claim_next("acme", "s2", now=later).run.run_id == run.run_id  # nothing queued: swept
    with pytest.raises(Conflict):
        pull.heartbeat("acme", "s1", run.run_id, now=later)
    pull.release("acme", "s2", run.run_id, now=later)
    pull.claim_next("acme", "s3", now=later, lease_seconds=60)
    queue("t2", at=later)
    # s3's own lease ran out: its next claim frees it (requeued) and claims the best run.
    assert pull.claim_next("acme", "s3", now=later + timedelta(minutes=2)).run.task_id == "t1"


@pytest.fixture
def tiny_switch_interval():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_racing_claims_have_one_winner_per_run(racing_store, tiny_switch_interval):
    runs = {queue(f"t{n}", ("urgent", "low")[n % 2], at=T0 + timedelta(seconds=n)).run_id for n in range(4)}
    sessions = iter(range(100))
    claims = race(lambda: pull.claim_next("acme", f"s{next(sessions)}", now=T0 + timedelta(minutes=1)), threads=8)
    won = [claim.run.run_id for claim in claims if claim is not None]
    assert sorted(won) == sorted(runs)  # every run claimed, none twice
    for run_id in runs:
        stored = racing_store.runs.find_run("acme", run_id)
        holder = [claim for claim in claims if claim is not None and claim.run.run_id == run_id][0]
        assert (stored.worker_id, stored.claim_token_hash) == (holder.run.worker_id, pull.token_hash(holder.token))


def test_a_claim_from_a_stale_read_of_the_queue_loses(store):
    run = queue("t1")
    (head,) = store.pull.queued_keys(run.queue_partition, limit=5)
    assert head == (run.queue_rank, "acme", "t1", run.run_id)
    pull.claim_next("acme", "s1", now=T0)
    assert store.pull.queued_keys(run.queue_partition, limit=5) == []
    # A claimer that read the head before s1 won tries it now: the run is no longer queued.
    assert store.pull.claim_run("acme", "t1", run.run_id, session="s2", token_hash="sha256:x", now=T0,
                                lease_until=T0 + timedelta(minutes=5), lease_shard=pull.LEASE_SHARDS[0]) is None
    assert store.pull.session_lease("acme", "s2") is None
    assert store.runs.get_run("acme", "t1", run.run_id).worker_id == "s1"


def test_canceling_ends_a_queued_or_held_run_and_frees_its_session(store):
    queued, held = queue("queued"), queue("held", "urgent")
    pull.claim_next("acme", "s1", now=T0)
    assert pull.run_status(store.runs.get_run("acme", "held", held.run_id)) == "claimed"
    for run in (queued, held):
        ended = pull.cancel("acme", run.task_id, run.run_id, now=T0 + timedelta(seconds=1))
        assert (ended.status, pull.run_status(ended)) == (RunStatus.ENDED, "canceled")
        assert pull.cancel("acme", run.task_id, run.run_id, now=T0 + timedelta(seconds=2)) is None
    assert pull.session_run("acme", "s1") is None
    assert pull.claim_next("acme", "s1", now=T0 + timedelta(seconds=3)) is None  # nothing left queued
    with pytest.raises(Conflict):
        pull.complete("acme", "s1", held.run_id, now=T0 + timedelta(seconds=3))


def test_a_blocked_tasks_run_is_queued_parked_until_it_is_made_claimable(store):
    from chalicelib.engine.pull_status import TaskStatus

    run = pull.enqueue("acme", "blocked", now=T0, status=TaskStatus.BLOCKED, priority="urgent")
    queue("ready", "low")
    stored = store.runs.get_run("acme", "blocked", run.run_id)
    assert (stored.status, stored.parked) == (RunStatus.QUEUED, True)
    assert pull.claim_next("acme", "s1", now=T0).run.task_id == "ready"
    assert pull.claim_next("acme", "s2", now=T0) is None
    assert not pull.set_claimable("acme", "blocked", run.run_id, claimable=True).parked
    claim = pull.claim_next("acme", "s2", now=T0)
    assert claim.run.run_id == run.run_id
    assert pull.set_claimable("acme", "blocked", run.run_id, claimable=False) is None  # held: not queued
    pull.release("acme", "s2", run.run_id, now=T0)
    assert pull.set_claimable("acme", "blocked", run.run_id, claimable=False).parked
    assert pull.claim_next("acme", "s3", now=T0) is None
