"""After a restart on a data directory: runs left running end `crashed` at once and follow their
retry policy; pending runs (whose queue messages did not survive) are sent again, delayed to
when they were due (engine/recovery.py, over the in-memory twin with an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, recovery, runs, tasks
from chalicelib.engine.model import Backoff, EndReason, RunStatus, TaskSpec, TriggeredBy
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def sh(script: str, **kw) -> TaskSpec:
    return TaskSpec(executor="command", executor_config={"args": ["/bin/sh", "-c", script]}, **kw)


def define(name: str, spec: TaskSpec):
    return tasks.save_task(tenant="acme", task_id=name, face="test", name=name, spec=spec, enabled=True,
                           document=None, now=T0)


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


def open_runs(*found):
    return [(r.tenant, r.task_id, r.run_id) for r in found]


def test_a_run_left_running_ends_crashed_at_once_and_is_retried(h):
    task = define("fragile", sh("true", retry_attempts=1))
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    assert backend.current().runs.start_run("acme", "fragile", run.run_id, worker_id="gone", now=h.clock(),
                                            lease_until=h.clock() + timedelta(seconds=60))
    h.sent.clear()
    h.clock.advance(5)  # well within its lease: no sweep would end it yet
    done = recovery.recover_open_runs(open_runs(run), now=h.clock())
    assert (done.crashed, done.redriven) == (1, 0)
    crashed = runs.get_run("acme", "fragile", run.run_id)
    assert (crashed.status, crashed.end_reason, crashed.exit_code) == (RunStatus.ENDED, EndReason.CRASHED, -2)
    assert crashed.detail == recovery.CRASH_DETAIL
    h.deliver()
    retry = next(r for r in runs.runs_of("acme", "fragile") if r.retry_attempt == 1)
    assert retry.retry_of_run_id == run.run_id and retry.end_reason is EndReason.SUCCESS


def test_a_pending_run_whose_message_was_lost_is_sent_again_and_runs_once(h):
    task = define("later", sh("true"))
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    h.sent.clear()  # the queue did not survive the restart
    done = recovery.recover_open_runs(open_runs(run), now=h.clock())
    assert (done.crashed, done.redriven) == (0, 1)
    assert [(m.run_id, m.delay_seconds) for m in h.sent] == [(run.run_id, 0)]
    h.deliver()
    assert [r.end_reason for r in runs.runs_of("acme", "later")] == [EndReason.SUCCESS]


def test_a_pending_run_is_sent_again_delayed_to_when_it_was_due(h):
    task = define("flaky", sh("exit 1", retry_attempts=2, retry_delay=40.0, retry_backoff=Backoff.CONSTANT))
    scheduled = runs.trigger_run(task, triggered_by=TriggeredBy.CRON, now=h.clock(),
                                 nominal_at=T0 + timedelta(seconds=30), delay_seconds=30)
    first = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    h.sent[:] = [m for m in h.sent if m.run_id == first.run_id]
    h.deliver(honour_delay=True)  # it fails; its retry waits 40 s from now
    retry = next(r for r in runs.runs_of("acme", "flaky") if r.retry_attempt == 1)
    h.sent.clear()
    h.clock.advance(10)
    recovery.recover_open_runs(open_runs(scheduled, retry), now=h.clock())
    delays = {m.run_id: m.delay_seconds for m in h.sent}
    assert delays == {scheduled.run_id: 20, retry.run_id: 30}


def test_a_run_that_ended_meanwhile_is_left_alone(h):
    task = define("quick", sh("true"))
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert recovery.recover_open_runs(open_runs(run), now=h.clock()) == recovery.Recovered()
    assert h.sent == []
