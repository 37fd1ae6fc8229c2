"""Pull-mode engine operations on the in-memory twin, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import backends
from chalicelib.engine import backend, pull
from chalicelib.engine.model import EndReason, RunStatus
from chalicelib.engine.pull_status import TaskState, TaskStatus, derive_status
from chalicelib.errors import Conflict, ValidationError

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def twin():
    with backend.using(backends.memory()) as chosen:
        yield chosen


def test_enqueue_counts_attempts_and_refuses_an_open_run_and_attempts_past_the_maximum(twin):
    first = pull.enqueue("acme", "t", now=T0, max_attempts=2)
    assert (first.status, pull.attempt_of(first), pull.priority_of(first)) == (RunStatus.QUEUED, 1, "medium")
    with pytest.raises(Conflict, match="open run"):
        pull.enqueue("acme", "t", now=T0, max_attempts=2)
    pull.claim_next("acme", "s", now=T0)
    with pytest.raises(Conflict, match="open run"):
        pull.enqueue("acme", "t", now=T0, max_attempts=2)
    failed = pull.fail("acme", "s", first.run_id, now=T0 + timedelta(seconds=1), detail="boom")
    assert (failed.status, failed.end_reason, failed.detail) == (RunStatus.ENDED, EndReason.FAILED, "boom")
    assert twin.runs.get_run("acme", "t", first.run_id).status is RunStatus.ENDED  # not requeued by itself
    state = TaskState(max_attempts=2)
    assert derive_status(state, twin.runs.list_runs("acme", "t"), [], now=T0) is TaskStatus.READY
    second = pull.enqueue("acme", "t", now=T0 + timedelta(seconds=2), max_attempts=2, priority="urgent")
    assert (pull.attempt_of(second), pull.priority_of(second)) == (2, "urgent")
    pull.claim_next("acme", "s", now=T0 + timedelta(seconds=3))
    pull.fail("acme", "s", second.run_id, now=T0 + timedelta(seconds=4))
    assert derive_status(state, twin.runs.list_runs("acme", "t"), [], now=T0) is TaskStatus.FAILED
    with pytest.raises(Conflict, match="attempts"):
        pull.enqueue("acme", "t", now=T0 + timedelta(seconds=5), max_attempts=2)


@pytest.mark.parametrize("status", [TaskStatus.DRAFT, TaskStatus.CANCELED])
def test_enqueue_is_refused_for_a_draft_or_canceled_task_and_writes_nothing(twin, status):
    with pytest.raises(Conflict, match=status.value):
        pull.enqueue("acme", "t", now=T0, status=status)
    assert list(twin.runs.list_runs("acme", "t")) == []


@pytest.mark.parametrize(("field", "call"), [
    ("body.priority", lambda: pull.enqueue("acme", "t", now=T0, priority="asap")),
    ("body.max_attempts", lambda: pull.enqueue("acme", "t", now=T0, max_attempts=11)),
    ("body.lease_seconds", lambda: pull.claim_next("acme", "s", now=T0, lease_seconds=86401)),
    ("body.lease_seconds", lambda: pull.claim_next("acme", "s", now=T0, lease_seconds=0)),
])
def test_bad_values_are_refused_naming_the_field(twin, field, call):
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.location == field
    assert list(twin.runs.list_tenant_runs("acme")) == []


def test_the_lease_defaults_to_five_minutes_and_may_be_a_day(twin):
    pull.enqueue("acme", "a", now=T0)
    pull.enqueue("acme", "b", now=T0)
    assert pull.claim_next("acme", "s1", now=T0).run.lease_until == T0 + timedelta(minutes=5)
    assert pull.claim_next("acme", "s2", now=T0, lease_seconds=86400).run.lease_until == T0 + timedelta(hours=24)


def test_the_maintenance_sweep_requeues_only_runs_whose_lease_ran_out(twin):
    short = pull.enqueue("acme", "short", now=T0, priority="urgent")
    pull.enqueue("acme", "long", now=T0)
    pull.claim_next("acme", "s1", now=T0, lease_seconds=60)
    pull.claim_next("acme", "s2", now=T0, lease_seconds=600)
    assert pull.requeue_expired(T0 + timedelta(seconds=59)) == 0
    assert pull.requeue_expired(T0 + timedelta(seconds=60)) == 1
    assert pull.requeue_expired(T0 + timedelta(seconds=61)) == 0
    assert twin.runs.get_run("acme", "short", short.run_id).status is RunStatus.QUEUED
    assert pull.session_run("acme", "s1") is None
    assert pull.session_run("acme", "s2").task_id == "long"


def test_the_maintenance_role_requeues_expired_pull_leases(twin):
    from chalicelib.engine import maintenance

    run = pull.enqueue("acme", "t", now=T0)
    pull.claim_next("acme", "s1", now=T0, lease_seconds=60)
    assert maintenance.run_maintenance(T0 + timedelta(seconds=30))["requeued"] == 0
    assert maintenance.run_maintenance(T0 + timedelta(seconds=61))["requeued"] == 1
    assert pull.run_status(twin.runs.get_run("acme", "t", run.run_id)) == "queued"


def test_run_statuses_as_agents_see_them(twin):
    run = pull.enqueue("acme", "t", now=T0)
    pull.claim_next("acme", "s", now=T0)
    assert pull.run_status(pull.start("acme", "s", run.run_id, now=T0)) == "starting"
    assert pull.run_status(pull.mark_running("acme", "s", run.run_id, now=T0)) == "running"
    assert pull.run_status(pull.fail("acme", "s", run.run_id, now=T0)) == "failed"
