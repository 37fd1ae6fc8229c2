"""A stop asked in the process that executes the run stops it at once, not at its next heartbeat
(engine.stop_signal; the local runtime serves the API and runs the workers in one process)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from chalicelib.engine import backend, runs, stop_signal, tasks, worker
from chalicelib.engine.model import EndReason, RunStatus, TaskSpec, TriggeredBy
from tests.waiting import wait_until

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def slow_heartbeat(twin, monkeypatch):
    monkeypatch.setattr(worker, "HEARTBEAT_SECONDS", 3600)  # a heartbeat would never tell it in time


def started(task_id: str, args: list[str]):
    task = tasks.save_task(tenant="acme", task_id=task_id, face="test", name=task_id, document=None, now=T0,
                           enabled=True, spec=TaskSpec(executor="command", executor_config={"args": args}))
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=T0)
    assert backend.current().runs.start_run("acme", task_id, run.run_id, worker_id="w1", now=T0,
                                            lease_until=T0 + worker.LEASE)
    return task, runs.get_run("acme", task_id, run.run_id)


def test_a_stop_asked_here_ends_a_run_executing_here_without_a_heartbeat(slow_heartbeat):
    task, run = started("sleeper", ["sleep", "30"])
    ended: list = []
    executing = threading.Thread(target=lambda: ended.append(worker.execute(task, run, worker="w1")), daemon=True)
    executing.start()
    wait_until(lambda: ("acme", "sleeper", run.run_id) in stop_signal._executing)
    runs.stop_run("acme", "sleeper", run.run_id, now=T0)
    executing.join(timeout=15)
    assert not executing.is_alive()
    assert (ended[0].status, ended[0].end_reason) == (RunStatus.ENDED, EndReason.STOPPED)
    assert ("acme", "sleeper", run.run_id) not in stop_signal._executing  # unregistered when it ended


def test_a_stop_for_a_run_not_executing_here_only_flags_it(twin):
    _, run = started("elsewhere", ["true"])
    assert runs.request_stop("acme", "elsewhere", run.run_id) is True
    assert runs.get_run("acme", "elsewhere", run.run_id).stop_requested is True


def test_noting_a_stop_sets_only_that_runs_event():
    mine, other = threading.Event(), threading.Event()
    stop_signal.register(("acme", "t", "r1"), mine)
    stop_signal.register(("acme", "t", "r2"), other)
    try:
        stop_signal.note("acme", "t", "r1")
        stop_signal.note("other", "t", "r2")  # another tenant's run of the same ids: not this one
    finally:
        stop_signal.unregister(("acme", "t", "r1"))
        stop_signal.unregister(("acme", "t", "r2"))
    assert (mine.is_set(), other.is_set()) == (True, False)
