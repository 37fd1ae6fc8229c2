"""The worker's lease heartbeat and the run variables a command sees, on the in-memory twin with
an injected clock. The heartbeat's loop is driven in the test's own thread (`run()`, with no wait
between beats), each beat observed through the store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, logs, runs, tasks, worker
from chalicelib.engine.model import EndReason, RunStatus, TaskSpec, TriggeredBy
from tests.functional.engine_harness import FakeClock, make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def h(twin, monkeypatch):
    monkeypatch.setattr(worker, "HEARTBEAT_SECONDS", 0)
    return make_twin_harness(monkeypatch, twin, T0)


def running(worker_id: str = "w1"):
    tasks.save_task(tenant="acme", task_id="job", face="test", name="Job", document=None, now=T0, enabled=True,
                    spec=TaskSpec(executor="command", executor_config={"args": ["true"]}))
    run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    assert backend.current().runs.start_run("acme", "job", run.run_id, worker_id=worker_id, now=T0,
                                            lease_until=T0 + worker.LEASE)
    return run


def beats(twin, monkeypatch, heartbeat: worker._Heartbeat, *, after: int, fail_first: bool = False) -> list:
    """Record each renewal the heartbeat makes; end the loop after `after` of them."""
    seen: list = []
    renew = twin.runs.renew_lease

    def counted(*args, **kwargs):
        seen.append(kwargs["lease_until"])
        if len(seen) >= after:
            heartbeat.done.set()
        if fail_first and len(seen) == 1:
            raise RuntimeError("store unavailable")
        return renew(*args, **kwargs)

    monkeypatch.setattr(twin.runs, "renew_lease", counted)
    return seen


def test_each_beat_renews_the_lease_to_a_full_lease_from_the_clocks_now(h, twin, monkeypatch):
    run = running()
    clock = FakeClock(T0 + timedelta(seconds=40))
    stop = threading.Event()
    heartbeat = worker._Heartbeat(run, "w1", clock, stop)
    assert (heartbeat.name, heartbeat.daemon, heartbeat.lost_lease) == (f"heartbeat-{run.run_id}", True, False)
    seen = beats(twin, monkeypatch, heartbeat, after=1)
    heartbeat.run()
    assert seen == [T0 + timedelta(seconds=40) + worker.LEASE]
    assert runs.get_run("acme", "job", run.run_id).lease_until == T0 + timedelta(seconds=40) + worker.LEASE
    assert (stop.is_set(), heartbeat.lost_lease) == (False, False)


def test_a_stop_request_sets_the_stop_event_and_the_heartbeat_keeps_the_lease(h, twin, monkeypatch):
    run = running()
    backend.current().runs.request_stop("acme", "job", run.run_id)
    stop = threading.Event()
    heartbeat = worker._Heartbeat(run, "w1", FakeClock(T0), stop)
    seen = beats(twin, monkeypatch, heartbeat, after=2)
    heartbeat.run()
    assert len(seen) == 2  # it went on beating after the request
    assert (stop.is_set(), heartbeat.lost_lease) == (True, False)


def test_a_lost_lease_sets_the_stop_event_and_ends_the_heartbeat(h, twin, monkeypatch):
    run = running(worker_id="someone-else")
    stop = threading.Event()
    heartbeat = worker._Heartbeat(run, "w1", FakeClock(T0), stop)
    seen = beats(twin, monkeypatch, heartbeat, after=5)
    heartbeat.run()
    assert len(seen) == 1  # returned at once, without waiting for `done`
    assert (stop.is_set(), heartbeat.lost_lease) == (True, True)
    assert runs.get_run("acme", "job", run.run_id).lease_until == T0 + worker.LEASE  # not renewed


def test_a_failed_renewal_is_logged_and_the_next_beat_renews(h, twin, monkeypatch):
    run = running()
    stop = threading.Event()
    heartbeat = worker._Heartbeat(run, "w1", FakeClock(T0 + timedelta(seconds=5)), stop)
    seen = beats(twin, monkeypatch, heartbeat, after=2, fail_first=True)
    heartbeat.run()
    assert len(seen) == 2
    assert runs.get_run("acme", "job", run.run_id).lease_until == T0 + timedelta(seconds=5) + worker.LEASE
    assert (stop.is_set(), heartbeat.lost_lease) == (False, False)


def test_a_command_sees_its_runs_identity_in_its_environment(h):
    script = 'echo "$TASKLANE_RUN_ID|$TASKLANE_TASK|$TASKLANE_TASK_ID|$TASKLANE_TENANT|$TASKLANE_TRIGGERED_BY"'
    spec = TaskSpec(executor="command", executor_config={"args": ["/bin/sh", "-c", script]})
    tasks.save_task(tenant="acme", task_id="env-job", face="test", name="Env Job", document=None, now=T0,
                    enabled=True, spec=spec)
    run = runs.trigger_run(tasks.get_task("acme", "env-job"), triggered_by=TriggeredBy.API, now=T0)
    h.deliver()
    ended = runs.get_run("acme", "env-job", run.run_id)
    assert (ended.status, ended.end_reason) == (RunStatus.ENDED, EndReason.SUCCESS)
    assert f"{run.run_id}|Env Job|env-job|acme|api" in logs.raw(ended)
