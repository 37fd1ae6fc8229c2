"""The pull-mode holder's calls on the in-memory twin with an injected clock: heartbeat, complete,
release, cancel, parking, and the refusals of a stale or foreign holder (what each stores)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import backends
from chalicelib.engine import backend, pull
from chalicelib.engine.model import EndReason, RunStatus
from chalicelib.engine.pull_status import TaskStatus
from chalicelib.errors import Conflict, NotFound

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def twin():
    with backend.using(backends.memory()) as chosen:
        yield chosen


def claimed(task: str = "t", session: str = "s", *, lease_seconds: float | None = 60) -> pull.Claim:
    pull.enqueue("acme", task, now=T0)
    got = pull.claim_next("acme", session, now=T0, lease_seconds=lease_seconds)
    assert got is not None and got.run.task_id == task
    return got


def stale(session: str, run_id: str) -> str:
    return f"session {session} does not hold a live lease on run {run_id}"


# heartbeat

def test_a_heartbeat_extends_the_lease_from_now_and_records_when(twin):
    got = claimed()
    beat = pull.heartbeat("acme", "s", got.run.run_id, now=T0 + 30 * S, token=got.token)
    assert (beat.lease_until, beat.heartbeat_at) == (T0 + 30 * S + timedelta(minutes=5), T0 + 30 * S)
    beat = pull.heartbeat("acme", "s", got.run.run_id, now=T0 + 40 * S, lease_seconds=10, token=got.token)
    assert (beat.lease_until, beat.status) == (T0 + 50 * S, RunStatus.CLAIMED)
    stored = twin.runs.get_run("acme", "t", got.run.run_id)
    assert (stored.lease_until, stored.heartbeat_at) == (T0 + 50 * S, T0 + 40 * S)


def test_a_heartbeat_holds_until_the_last_instant_before_the_lease_runs_out(twin):
    got = claimed(lease_seconds=60)
    assert pull.heartbeat("acme", "s", got.run.run_id, now=T0 + 59 * S, lease_seconds=1).lease_until == T0 + 60 * S
    with pytest.raises(Conflict) as refused:
        pull.heartbeat("acme", "s", got.run.run_id, now=T0 + 60 * S, token=got.token)
    assert refused.value.message == stale("s", got.run.run_id)
    assert twin.runs.get_run("acme", "t", got.run.run_id).lease_until == T0 + 60 * S  # nothing written


def test_a_heartbeat_with_another_token_or_from_another_session_is_refused_and_writes_nothing(twin):
    got = claimed()
    with pytest.raises(Conflict) as refused:
        pull.heartbeat("acme", "s", got.run.run_id, now=T0 + S, token="clt_not-it")
    assert refused.value.message == stale("s", got.run.run_id)
    with pytest.raises(Conflict) as other:
        pull.heartbeat("acme", "s2", got.run.run_id, now=T0 + S, token=got.token)
    assert other.value.message == stale("s2", got.run.run_id)
    stored = twin.runs.get_run("acme", "t", got.run.run_id)
    assert (stored.lease_until, stored.heartbeat_at) == (T0 + 60 * S, T0)


def test_a_holder_call_on_no_such_run_or_another_tenants_run_is_not_found(twin):
    got = claimed()
    with pytest.raises(NotFound, match="run nope not found"):
        pull.heartbeat("acme", "s", "nope", now=T0)
    with pytest.raises(NotFound, match=f"run {got.run.run_id} not found"):
        pull.heartbeat("other", "s", got.run.run_id, now=T0)
    with pytest.raises(NotFound):
        pull.complete("other", "s", got.run.run_id, now=T0)
    with pytest.raises(NotFound):
        pull.release("other", "s", got.run.run_id, now=T0)


def test_a_session_holding_another_run_is_refused_on_this_one(twin):
    mine = claimed("a", "s1")
    theirs = claimed("b", "s2")
    with pytest.raises(Conflict) as refused:
        pull.complete("acme", "s1", theirs.run.run_id, now=T0, token=mine.token)
    assert refused.value.message == stale("s1", theirs.run.run_id)
    assert twin.runs.get_run("acme", "b", theirs.run.run_id).status is RunStatus.CLAIMED


def test_a_step_already_taken_is_refused_as_such_not_as_a_stale_lease(twin):
    got = claimed()
    pull.mark_running("acme", "s", got.run.run_id, now=T0 + S, token=got.token)
    with pytest.raises(Conflict) as refused:
        pull.start("acme", "s", got.run.run_id, now=T0 + 2 * S, token=got.token)
    assert refused.value.message == f"run {got.run.run_id} is running already"
    with pytest.raises(Conflict) as late:
        pull.start("acme", "s", got.run.run_id, now=T0 + 60 * S, token=got.token)
    assert late.value.message == stale("s", got.run.run_id)  # the lease ran out: stale, whatever the step


def test_start_and_running_record_when_the_work_started(twin):
    got = claimed()
    started = pull.start("acme", "s", got.run.run_id, now=T0 + S, token=got.token, idempotency_key="k1")
    assert (started.status, started.started_at, started.idempotency_key) == (RunStatus.STARTING, T0 + S, "k1")
    running = pull.mark_running("acme", "s", got.run.run_id, now=T0 + 2 * S, token=got.token)
    assert (running.status, running.lease_until) == (RunStatus.RUNNING, T0 + 60 * S)


# complete and fail

def test_complete_ends_the_run_successfully_keeping_result_and_detail_and_frees_the_session(twin):
    got = claimed()
    done = pull.complete("acme", "s", got.run.run_id, now=T0 + 5 * S, token=got.token, detail="ok",
                         result={"answer": 42})
    assert (done.status, done.end_reason, done.exit_code) == (RunStatus.ENDED, EndReason.SUCCESS, 0)
    assert (done.ended_at, done.detail, done.result, done.lease_until) == (T0 + 5 * S, "ok", {"answer": 42}, None)
    assert pull.run_status(done) == "completed"
    assert pull.session_run("acme", "s") is None
    pull.enqueue("acme", "next", now=T0 + 6 * S)
    assert pull.claim_next("acme", "s", now=T0 + 6 * S).run.task_id == "next"


def test_complete_with_a_wrong_token_or_after_the_lease_ran_out_is_refused_and_the_run_stays_held(twin):
    got = claimed(lease_seconds=60)
    with pytest.raises(Conflict) as wrong:
        pull.complete("acme", "s", got.run.run_id, now=T0 + S, token="clt_wrong")
    assert wrong.value.message == stale("s", got.run.run_id)
    with pytest.raises(Conflict) as late:
        pull.complete("acme", "s", got.run.run_id, now=T0 + 60 * S, token=got.token)
    assert late.value.message == stale("s", got.run.run_id)
    stored = twin.runs.get_run("acme", "t", got.run.run_id)
    assert (stored.status, stored.worker_id, stored.result) == (RunStatus.CLAIMED, "s", None)
    assert pull.complete("acme", "s", got.run.run_id, now=T0 + 59 * S, token=got.token).end_reason is EndReason.SUCCESS


def test_fail_ends_the_run_failed_with_exit_code_one_and_its_detail(twin):
    got = claimed()
    failed = pull.fail("acme", "s", got.run.run_id, now=T0 + S, token=got.token, detail="boom")
    assert (failed.end_reason, failed.exit_code, failed.detail, failed.ended_at) == (
        EndReason.FAILED, 1, "boom", T0 + S)


# release

def test_release_puts_the_run_back_in_its_place_with_its_claim_cleared_and_frees_the_session(twin):
    got = claimed("first")
    pull.enqueue("acme", "later", now=T0 + S)
    back = pull.release("acme", "s", got.run.run_id, now=T0 + 2 * S, token=got.token)
    assert (back.status, back.worker_id, back.claim_token_hash) == (RunStatus.QUEUED, None, None)
    assert back.lease_until is None
    assert (back.claimed_at, back.heartbeat_at, back.queue_rank) == (None, None, got.run.queue_rank)
    assert pull.session_run("acme", "s") is None
    assert pull.claim_next("acme", "other", now=T0 + 3 * S).run.task_id == "first"  # still ahead of "later"
    assert pull.claim_next("acme", "s", now=T0 + 3 * S).run.task_id == "later"


def test_release_is_refused_for_a_wrong_token_another_session_or_an_expired_lease(twin):
    got = claimed(lease_seconds=60)
    for session, token, now in (("s", "clt_wrong", T0 + S), ("s2", got.token, T0 + S), ("s", got.token, T0 + 60 * S)):
        with pytest.raises(Conflict) as refused:
            pull.release("acme", session, got.run.run_id, now=now, token=token)
        assert refused.value.message == stale(session, got.run.run_id)
    stored = twin.runs.get_run("acme", "t", got.run.run_id)
    assert (stored.status, stored.worker_id, stored.claim_token_hash) == (
        RunStatus.CLAIMED, "s", pull.token_hash(got.token))
    assert pull.release("acme", "s", got.run.run_id, now=T0 + 59 * S, token=got.token).status is RunStatus.QUEUED


def test_release_without_a_token_holds_on_the_session_alone(twin):
    got = claimed()
    assert pull.release("acme", "s", got.run.run_id, now=T0 + S).status is RunStatus.QUEUED


def test_the_stored_token_is_the_sha256_of_the_one_handed_out(twin):
    got = claimed()
    assert got.token.startswith("clt_")
    import hashlib
    assert got.run.claim_token_hash == "sha256:" + hashlib.sha256(got.token.encode()).hexdigest()


# a session's own expired lease

def test_a_session_whose_own_lease_ran_out_claims_again_from_its_old_run_requeued_in_its_place(twin):
    old = claimed("a", "s", lease_seconds=60)
    pull.enqueue("acme", "b", now=T0 + S)
    with pytest.raises(Conflict, match="already holds a lease"):
        pull.claim_next("acme", "s", now=T0 + 59 * S)
    assert twin.runs.get_run("acme", "a", old.run.run_id).status is RunStatus.CLAIMED
    fresh = pull.claim_next("acme", "s", now=T0 + 60 * S)
    # its old run was requeued in its place (ahead of b, queued later) and claimed afresh
    assert fresh is not None and (fresh.run.task_id, fresh.run.claimed_at) == ("a", T0 + 60 * S)
    assert fresh.token != old.token and fresh.run.lease_until == T0 + 60 * S + timedelta(minutes=5)
    assert twin.runs.get_run("acme", "b", "b-r01").status is RunStatus.QUEUED
    assert pull.session_run("acme", "s").task_id == "a"


def test_an_operator_claim_by_a_session_whose_lease_ran_out_frees_it_first(twin):
    claimed("a", "s", lease_seconds=60)
    target = pull.enqueue("acme", "b", now=T0)
    with pytest.raises(Conflict):
        pull.claim("acme", "s", "b", target.run_id, now=T0 + 30 * S)
    got = pull.claim("acme", "s", "b", target.run_id, now=T0 + 60 * S)
    assert got is not None and got.run.worker_id == "s"
    assert [run.status for run in twin.runs.list_runs("acme", "a")] == [RunStatus.QUEUED]


# parking

def test_a_blocked_tasks_run_is_parked_until_set_claimable_and_can_be_hidden_again(twin):
    run = pull.enqueue("acme", "t", now=T0, status=TaskStatus.BLOCKED)
    assert run.parked is True
    assert pull.claim_next("acme", "s", now=T0) is None
    shown = pull.set_claimable("acme", "t", run.run_id, claimable=True)
    assert shown is not None and shown.parked is False
    hidden = pull.set_claimable("acme", "t", run.run_id, claimable=False)
    assert hidden is not None and hidden.parked is True
    assert pull.claim_next("acme", "s", now=T0) is None
    pull.set_claimable("acme", "t", run.run_id, claimable=True)
    assert pull.claim_next("acme", "s", now=T0).run.run_id == run.run_id
    assert pull.set_claimable("acme", "t", run.run_id, claimable=False) is None  # not queued any more
    assert twin.runs.get_run("acme", "t", run.run_id).parked is False


# cancel

def test_cancel_ends_a_queued_run_stopped_with_its_detail(twin):
    run = pull.enqueue("acme", "t", now=T0)
    ended = pull.cancel("acme", "t", run.run_id, now=T0 + S, detail="not needed")
    assert (ended.status, ended.end_reason, ended.exit_code, ended.detail) == (
        RunStatus.ENDED, EndReason.STOPPED, 1, "not needed")
    assert ended.ended_at == T0 + S
    assert pull.run_status(ended) == "canceled"
    assert pull.claim_next("acme", "s", now=T0 + S) is None


def test_cancel_ends_a_held_run_stopped_and_frees_its_session(twin):
    got = claimed()
    ended = pull.cancel("acme", "t", got.run.run_id, now=T0 + S, detail="by operator")
    assert (ended.status, ended.end_reason, ended.detail, ended.ended_at) == (
        RunStatus.ENDED, EndReason.STOPPED, "by operator", T0 + S)
    assert pull.session_run("acme", "s") is None
    with pytest.raises(Conflict) as refused:
        pull.complete("acme", "s", got.run.run_id, now=T0 + 2 * S, token=got.token)
    assert refused.value.message == stale("s", got.run.run_id)


def test_cancel_ends_a_held_run_even_after_its_lease_ran_out(twin):
    got = claimed(lease_seconds=60)
    assert pull.cancel("acme", "t", got.run.run_id, now=T0 + 61 * S).end_reason is EndReason.STOPPED


def test_cancel_of_an_ended_run_is_none_and_changes_nothing(twin):
    got = claimed()
    pull.complete("acme", "s", got.run.run_id, now=T0 + S, token=got.token)
    assert pull.cancel("acme", "t", got.run.run_id, now=T0 + 2 * S) is None
    assert twin.runs.get_run("acme", "t", got.run.run_id).end_reason is EndReason.SUCCESS


def test_cancel_of_no_such_run_is_not_found(twin):
    pull.enqueue("acme", "t", now=T0)
    with pytest.raises(NotFound, match="run t-r09 not found"):
        pull.cancel("acme", "t", "t-r09", now=T0)


def test_cancel_follows_a_run_claimed_between_its_read_and_its_write(twin, monkeypatch):
    run = pull.enqueue("acme", "t", now=T0)
    finish = twin.runs.finish_run

    def claimed_first(*args, **kwargs):
        pull.claim_next("acme", "racer", now=T0)
        return finish(*args, **kwargs)

    monkeypatch.setattr(twin.runs, "finish_run", claimed_first)
    ended = pull.cancel("acme", "t", run.run_id, now=T0 + S, detail="late")
    assert (ended.end_reason, ended.detail, ended.worker_id) == (EndReason.STOPPED, "late", "racer")
    assert pull.session_run("acme", "racer") is None


def test_cancel_gives_up_with_a_conflict_after_three_lost_races(twin, monkeypatch):
    run = pull.enqueue("acme", "t", now=T0)
    tries: list[str] = []

    def always_lost(*args, **kwargs):
        tries.append(args[2])
        return None

    monkeypatch.setattr(twin.runs, "finish_run", always_lost)
    with pytest.raises(Conflict) as refused:
        pull.cancel("acme", "t", run.run_id, now=T0 + S)
    assert refused.value.message == f"run {run.run_id} kept changing while it was canceled"
    assert tries == [run.run_id] * 3
    assert twin.runs.get_run("acme", "t", run.run_id).status is RunStatus.QUEUED
