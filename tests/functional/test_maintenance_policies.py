"""The maintenance role's policies on the in-memory twin with an injected clock: dead letters
drained in batches and the pending runs they name ended `crashed` (and retried), and the lease
sweep's boundary and what it stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, maintenance, runs, tasks
from chalicelib.engine.model import EXIT_CRASHED, EndReason, RunStatus, TaskSpec, TriggeredBy
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
DEAD_LETTER_DETAIL = "its queue message failed repeatedly and reached the dead-letter queue"


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


def define(name: str, **kw) -> None:
    tasks.save_task(tenant="acme", task_id=name, face="test", name=name,
                    spec=TaskSpec(executor="command", executor_config={"args": ["true"]}, **kw), enabled=True,
                    document=None, now=T0)


def pending(name: str, h) -> str:
    run = runs.trigger_run(tasks.get_task("acme", name), triggered_by=TriggeredBy.API, now=h.clock())
    h.sent.clear()
    assert run.status is RunStatus.PENDING
    return run.run_id


def letter(twin, task_id: str, run_id: str, tenant: str = "acme") -> None:
    twin.queue.dead_letter(json.dumps({"v": 1, "tenant": tenant, "task_id": task_id, "run_id": run_id}))


def test_a_dead_lettered_message_ends_its_pending_run_crashed_and_the_retry_policy_follows(h, twin):
    define("job", retry_attempts=1)
    run_id = pending("job", h)
    letter(twin, "job", run_id)
    h.clock.advance(5)
    assert maintenance.drain_dead_letters(h.clock()) == 1
    crashed = runs.get_run("acme", "job", run_id)
    assert (crashed.status, crashed.end_reason, crashed.exit_code) == (RunStatus.ENDED, EndReason.CRASHED, EXIT_CRASHED)
    assert (crashed.detail, crashed.ended_at) == (DEAD_LETTER_DETAIL, T0 + timedelta(seconds=5))
    retries = [r for r in runs.runs_of("acme", "job") if r.retry_attempt == 1]
    assert len(retries) == 1 and retries[0].retry_of_run_id == run_id  # after_finish ran on the crashed run
    assert twin.queue.dead_letters() == []


def test_a_dead_letter_for_a_run_that_started_or_ended_or_never_existed_is_dropped_and_changes_nothing(h, twin):
    define("job")
    started_id = pending("job", h)
    backend.current().runs.start_run("acme", "job", started_id, worker_id="w", now=T0,
                                     lease_until=T0 + timedelta(minutes=5))
    letter(twin, "job", started_id)
    letter(twin, "job", "job-missing")
    letter(twin, "job", started_id, tenant="other")
    assert maintenance.drain_dead_letters(T0 + timedelta(seconds=1)) == 3
    still = runs.get_run("acme", "job", started_id)
    assert (still.status, still.end_reason) == (RunStatus.RUNNING, None)
    assert twin.queue.dead_letters() == []
    assert [r.run_id for r in runs.runs_of("acme", "job")] == [started_id]


def test_an_unreadable_dead_letter_is_counted_and_deleted_without_touching_any_run(h, twin):
    define("job")
    run_id = pending("job", h)
    twin.queue.dead_letter("not json at all")
    twin.queue.dead_letter(json.dumps({"v": 2, "tenant": "acme", "task_id": "job", "run_id": run_id}))
    assert maintenance.drain_dead_letters(T0) == 2
    assert twin.queue.dead_letters() == []
    assert runs.get_run("acme", "job", run_id).status is RunStatus.PENDING


def test_dead_letters_are_drained_ten_at_a_time_for_at_most_the_batches_asked(h, twin):
    define("job")
    for n in range(25):
        twin.queue.dead_letter(json.dumps({"v": 1, "tenant": "acme", "task_id": "job", "run_id": f"gone-{n}"}))
    assert maintenance.drain_dead_letters(T0, batches=2) == 20
    assert len(twin.queue.dead_letters(max_messages=100)) == 5
    assert maintenance.drain_dead_letters(T0) == 5
    assert maintenance.drain_dead_letters(T0) == 0


def test_a_maintenance_pass_reports_the_dead_letters_it_handled(h, twin):
    define("job")
    run_id = pending("job", h)
    letter(twin, "job", run_id)
    assert maintenance.run_maintenance(T0) == {"crashed": 0, "dead_letters": 1, "requeued": 0}
    assert runs.get_run("acme", "job", run_id).end_reason is EndReason.CRASHED


def test_the_lease_sweep_crashes_a_run_only_once_its_lease_is_past_and_counts_only_what_it_ended(h, twin):
    define("job", retry_attempts=1)
    run_id = pending("job", h)
    until = T0 + timedelta(seconds=60)
    backend.current().runs.start_run("acme", "job", run_id, worker_id="w", now=T0, lease_until=until)
    assert maintenance.sweep_expired_leases(until) == 0  # a lease ending now has not yet run out
    assert runs.get_run("acme", "job", run_id).status is RunStatus.RUNNING
    assert maintenance.sweep_expired_leases(until + timedelta(microseconds=1)) == 1
    crashed = runs.get_run("acme", "job", run_id)
    assert (crashed.end_reason, crashed.exit_code, crashed.detail) == (
        EndReason.CRASHED, EXIT_CRASHED, "the worker stopped renewing its lease")
    assert crashed.ended_at == until + timedelta(microseconds=1)
    assert [r.retry_attempt for r in runs.runs_of("acme", "job")].count(1) == 1  # retried
    assert maintenance.sweep_expired_leases(until + timedelta(seconds=1)) == 0  # ended already
