"""Pull-mode claims on the in-memory twin with an injected clock: what a claim filter sees, the
lazy requeue of expired leases when nothing is queued, an operator's claim of a named run, an
attached session, and the bounds of what an enqueue accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import backends
from chalicelib.engine import backend, pull
from chalicelib.engine.model import RunStatus, TriggeredBy
from chalicelib.errors import Conflict, NotFound, ValidationError

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def twin():
    with backend.using(backends.memory()) as chosen:
        yield chosen


# -- claim filters ------------------------------------------------------------------------------------


def test_a_filtered_claim_asks_once_per_task_id_and_skips_refused_tasks(twin):
    for name in ("a", "b", "c"):
        pull.enqueue("acme", name, now=T0)
    asked: list[str] = []

    def only_c(task_id: str) -> bool:
        asked.append(task_id)
        return task_id == "c"

    got = pull.claim_next("acme", "s", now=T0, accept=only_c)
    assert got is not None and got.run.task_id == "c"
    assert sorted(asked) == ["a", "b", "c"]
    assert twin.runs.get_run("acme", "a", "a-r01").status is RunStatus.QUEUED


def test_a_filtered_claim_reads_deeper_into_the_queue_while_every_head_read_is_refused(twin):
    for n in range(40):
        pull.enqueue("acme", f"no-{n:02d}", now=T0, priority="urgent")
    wanted = pull.enqueue("acme", "yes", now=T0 + S, priority="low")
    asked: list[str] = []

    def only_yes(task_id: str) -> bool:
        asked.append(task_id)
        return task_id == "yes"

    got = pull.claim_next("acme", "s", now=T0 + S, accept=only_yes)
    assert got is not None and got.run.run_id == wanted.run_id
    assert len(asked) == len(set(asked)) == 41  # each task asked about once, however deep it read


def test_a_filtered_claim_refusing_everything_claims_nothing(twin):
    for n in range(20):
        pull.enqueue("acme", f"t{n}", now=T0)
    assert pull.claim_next("acme", "s", now=T0, accept=lambda task_id: False) is None
    assert pull.session_run("acme", "s") is None


def test_an_unfiltered_claim_takes_the_best_of_every_partition(twin):
    for n in range(12):
        pull.enqueue("acme", f"t{n:02d}", now=T0 + n * S)
    best = pull.enqueue("acme", "late-but-urgent", now=T0 + 20 * S, priority="urgent")
    assert pull.claim_next("acme", "s", now=T0 + 20 * S).run.run_id == best.run_id
    claimed = [pull.claim_next("acme", f"s{n}", now=T0 + 21 * S).run.task_id for n in range(12)]
    assert claimed == [f"t{n:02d}" for n in range(12)]  # then oldest first, across the partitions


# -- lazy requeue -----------------------------------------------------------------------------------------


def test_a_claim_that_finds_nothing_queued_requeues_an_expired_lease_and_claims_it(twin):
    run = pull.enqueue("acme", "t", now=T0)
    pull.claim_next("acme", "gone", now=T0, lease_seconds=60)
    told: list[str] = []
    got = pull.claim_next("acme", "s", now=T0 + 60 * S, lease_seconds=120, on_requeued=lambda r: told.append(r.run_id))
    assert got is not None and (got.run.run_id, got.run.worker_id) == (run.run_id, "s")
    assert got.run.lease_until == T0 + 180 * S
    assert told == [run.run_id]
    assert pull.session_run("acme", "gone") is None


def test_a_claim_that_finds_a_queued_run_leaves_expired_leases_to_the_sweep(twin):
    held = pull.enqueue("acme", "held", now=T0)
    pull.claim_next("acme", "gone", now=T0, lease_seconds=60)
    pull.enqueue("acme", "queued", now=T0)
    told: list[str] = []
    got = pull.claim_next("acme", "s", now=T0 + 61 * S, on_requeued=lambda r: told.append(r.run_id))
    assert got.run.task_id == "queued" and told == []
    assert twin.runs.get_run("acme", "held", held.run_id).status is RunStatus.CLAIMED


def test_a_lazy_requeue_takes_at_most_ten_expired_leases_of_each_lease_partition(twin):
    ids = []
    for n in range(45):
        ids.append(pull.enqueue("acme", f"t{n:02d}", now=T0).run_id)
        pull.claim_next("acme", f"gone{n}", now=T0, lease_seconds=60)
    per_partition = [sum(1 for run_id in ids if pull._shard(run_id, len(pull.LEASE_SHARDS)) == n)
                     for n in range(len(pull.LEASE_SHARDS))]
    assert max(per_partition) > 10
    told: list[str] = []
    pull.claim_next("acme", "s", now=T0 + 61 * S, on_requeued=lambda r: told.append(r.run_id))
    assert len(told) == sum(min(count, 10) for count in per_partition)
    assert pull.requeue_expired(T0 + 61 * S) == 45 - len(told)


def test_a_lazy_requeue_claims_again_in_the_channel_asked_with_the_filter_asked(twin):
    pull.enqueue("acme", "elsewhere", now=T0)
    mine = pull.enqueue("acme", "mine", now=T0, channel="gpu")
    other = pull.enqueue("acme", "other", now=T0, channel="gpu")
    pull.claim_next("acme", "g1", now=T0, channel="gpu", lease_seconds=60, accept=lambda t: t == "mine")
    pull.claim_next("acme", "g2", now=T0, channel="gpu", lease_seconds=60)
    got = pull.claim_next("acme", "s", now=T0 + 60 * S, channel="gpu", accept=lambda t: t == "other")
    assert got is not None and got.run.run_id == other.run_id
    assert twin.runs.get_run("acme", "mine", mine.run_id).status is RunStatus.QUEUED
    assert twin.runs.get_run("acme", "elsewhere", "elsewhere-r01").status is RunStatus.QUEUED
    assert pull.claim_next("acme", "s2", now=T0 + 60 * S, channel="gpu", accept=lambda t: False) is None


# -- an operator's claim ------------------------------------------------------------------------------


def test_an_operator_claims_a_named_run_under_a_lease_with_a_fresh_token(twin):
    pull.enqueue("acme", "first", now=T0, priority="urgent")
    run = pull.enqueue("acme", "named", now=T0)
    got = pull.claim("acme", "s", "named", run.run_id, now=T0 + S, lease_seconds=90, idempotency_key="k")
    assert got is not None and got.run.run_id == run.run_id
    assert (got.run.status, got.run.worker_id, got.run.lease_until) == (RunStatus.CLAIMED, "s", T0 + 91 * S)
    assert got.run.idempotency_key == "k" and got.run.claimed_at == T0 + S
    assert got.token.startswith("clt_") and len(got.token) == 4 + 43  # 32 random bytes
    assert got.run.claim_token_hash == pull.token_hash(got.token)
    assert pull.heartbeat("acme", "s", run.run_id, now=T0 + 2 * S, token=got.token).worker_id == "s"
    assert pull.claim("acme", "s2", "named", run.run_id, now=T0 + 2 * S) is None  # held already


def test_an_operator_claim_of_no_such_run_is_not_found_and_a_live_lease_elsewhere_a_conflict(twin):
    with pytest.raises(NotFound):
        pull.claim("acme", "s", "t", "t-r01", now=T0)
    a = pull.enqueue("acme", "a", now=T0)
    pull.enqueue("acme", "b", now=T0)
    pull.claim("acme", "s", "a", a.run_id, now=T0, lease_seconds=60)
    with pytest.raises(Conflict):
        pull.claim("acme", "s", "b", "b-r01", now=T0 + 59 * S)
    with pytest.raises(ValidationError):
        pull.claim("acme", "s2", "b", "b-r01", now=T0, lease_seconds=0)


def test_claim_tokens_differ_between_claims(twin):
    pull.enqueue("acme", "a", now=T0)
    pull.enqueue("acme", "b", now=T0)
    first = pull.claim_next("acme", "s1", now=T0)
    second = pull.claim_next("acme", "s2", now=T0)
    assert first.token != second.token and len(first.token) == len(second.token) == 47


# -- attached sessions ------------------------------------------------------------------------------


def test_a_session_is_attached_to_an_open_run_and_refused_once_it_ended(twin):
    run = pull.enqueue("acme", "t", now=T0)
    assert pull.attach_session("acme", "t", run.run_id, session_id="sess-1").attached_session == "sess-1"
    got = pull.claim_next("acme", "s", now=T0)
    assert pull.attach_session("acme", "t", run.run_id, session_id="sess-2").attached_session == "sess-2"
    assert twin.runs.get_run("acme", "t", run.run_id).attached_session == "sess-2"
    pull.complete("acme", "s", run.run_id, now=T0 + S, token=got.token)
    with pytest.raises(Conflict) as refused:
        pull.attach_session("acme", "t", run.run_id, session_id="sess-3")
    assert refused.value.message == f"run {run.run_id} has ended: no session can be attached"
    assert twin.runs.get_run("acme", "t", run.run_id).attached_session == "sess-2"
    with pytest.raises(NotFound):
        pull.attach_session("other", "t", run.run_id, session_id="sess-4")
    with pytest.raises(NotFound):
        pull.attach_session("acme", "t", "t-r09", session_id="sess-4")


# -- enqueue bounds --------------------------------------------------------------------------------------


def test_a_task_gets_three_attempts_by_default(twin):
    for n in range(3):
        run = pull.enqueue("acme", "t", now=T0 + n * S)
        got = pull.claim_next("acme", "s", now=T0 + n * S)
        pull.fail("acme", "s", run.run_id, now=T0 + n * S, token=got.token)
    with pytest.raises(Conflict) as refused:
        pull.enqueue("acme", "t", now=T0 + 5 * S)
    assert refused.value.message == "task t has used its 3 attempts"


@pytest.mark.parametrize("attempts", [1, 10])
def test_max_attempts_from_one_to_ten_is_accepted(twin, attempts):
    assert pull.enqueue("acme", "t", now=T0, max_attempts=attempts).status is RunStatus.QUEUED


@pytest.mark.parametrize("attempts", [0, 11])
def test_max_attempts_outside_one_to_ten_is_refused_with_the_value(twin, attempts):
    with pytest.raises(ValidationError) as refused:
        pull.enqueue("acme", "t", now=T0, max_attempts=attempts)
    problem = refused.value.problems[0] if refused.value.problems else None
    assert refused.value.message == "max_attempts must be between 1 and 10"
    assert problem is None or problem.value == attempts
    assert list(twin.runs.list_runs("acme", "t")) == []


def test_a_bad_priority_is_refused_listing_the_priorities(twin):
    with pytest.raises(ValidationError) as refused:
        pull.enqueue("acme", "t", now=T0, priority="asap")
    assert refused.value.message == "priority must be one of urgent, high, medium, low"


def test_a_lease_outside_a_day_is_refused_saying_so(twin):
    with pytest.raises(ValidationError) as refused:
        pull.claim_next("acme", "s", now=T0, lease_seconds=-1)
    assert refused.value.message == "lease_seconds must be between 1 and 86400"


def test_an_enqueued_run_is_an_api_run_from_the_agent_with_its_extra_and_rank(twin):
    run = pull.enqueue("acme", "t", now=T0, priority="high", extra={"note": "x"})
    assert (run.triggered_by, run.source, run.extra) == (TriggeredBy.API, "agent", {"note": "x"})
    assert run.queue_rank == pull.queue_rank("high", T0, run.run_id) and run.run_id in run.queue_rank
    assert pull.priority_of(run) == "high"
    assert pull.enqueue("acme", "u", now=T0).extra == {}


def test_the_priority_of_a_run_without_a_rank_is_medium(twin):
    run = pull.enqueue("acme", "t", now=T0, priority="low")
    assert pull.priority_of(run) == "low"
    from dataclasses import replace
    assert pull.priority_of(replace(run, queue_rank=None)) == "medium"
