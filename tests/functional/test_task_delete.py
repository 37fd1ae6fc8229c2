"""Deleting a task ends its runs that have not ended, on an injected clock, over the in-memory twin.

Pending and queued runs end `stopped` with the detail "task deleted" and never execute; a
running run is told to stop; a run created after the delete by a caller that still held the
task is ended by the worker when its message arrives, instead of staying pending.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, runs, tasks
from chalicelib.engine.model import EndReason, Overlap, RunStatus, TaskSpec, TriggeredBy, TriggerSpec
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


def define(name: str, **kw) -> None:
    spec = TaskSpec(executor="command", executor_config={"args": ["/bin/sh", "-c", "echo ran"]}, **kw)
    tasks.save_task(tenant="acme", task_id=name, face="test", name=name, spec=spec, enabled=True, document=None,
                    now=T0)


def by_status(task_id: str) -> dict[RunStatus, list]:
    grouped: dict[RunStatus, list] = {}
    for run in runs.runs_of("acme", task_id):
        grouped.setdefault(run.status, []).append(run)
    return grouped


def test_deleting_a_task_ends_its_pending_and_queued_runs_and_stops_the_running_one(h):
    define("busy", trigger=TriggerSpec(expression="*/10 * * * * *"), on_overlap=Overlap.QUEUE, queue_max=10)
    h.clock.advance(5)
    assert h.tick()["fired"] == 6  # 12:00:10 ... 12:01:00, each sent with its delay
    first = h.sent[0]
    task = tasks.get_task("acme", "busy")
    assert backend.current().slots.acquire_slot("acme", "busy", first.run_id, 1)
    running = backend.current().runs.start_run("acme", "busy", first.run_id, worker_id="elsewhere", now=h.clock(),
                                  lease_until=h.clock() + timedelta(minutes=5))
    delayed = h.sent[3:]
    h.sent[:] = h.sent[1:3]  # two more arrive and queue behind the running one; three are still delayed
    h.clock.advance(20)
    h.deliver()
    assert list(backend.current().slots.occupancy("acme", "busy").waiting) == [m.run_id for m in h.delivered]

    tasks.delete_task("acme", "busy", now=h.clock())

    left = by_status("busy")
    assert set(left) == {RunStatus.ENDED, RunStatus.RUNNING}
    assert [run.run_id for run in left[RunStatus.RUNNING]] == [running.run_id]
    assert left[RunStatus.RUNNING][0].stop_requested
    assert len(left[RunStatus.ENDED]) == 5
    for run in left[RunStatus.ENDED]:
        assert (run.end_reason, run.detail, run.started_at) == (EndReason.STOPPED, "task deleted", None)
    # A manual trigger that read the task before the delete creates its run afterwards: the
    # worker ends it when its message arrives.
    late = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    assert late.status is RunStatus.PENDING
    h.clock.advance(60)
    h.sent.extend(delayed)  # their runs ended already: the worker drops them
    h.deliver()
    ended = runs.get_run("acme", "busy", late.run_id)
    assert (ended.status, ended.end_reason, ended.detail) == (RunStatus.ENDED, EndReason.STOPPED, "task deleted")
    assert RunStatus.PENDING not in by_status("busy")


def test_a_run_whose_task_is_gone_when_it_would_queue_ends_at_once(h, monkeypatch):
    """The worker read the task, then the task went before the run could take a slot or queue."""
    define("gone", on_overlap=Overlap.QUEUE)
    task = tasks.get_task("acme", "gone")
    assert backend.current().slots.acquire_slot("acme", "gone", "someone-else", 1)
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    acquire = backend.current().slots.acquire_slot

    def acquire_after_the_delete(tenant, task_id, run_id, parallelism):
        backend.current().tasks.delete_task(tenant, task_id, subscriptions=())
        return acquire(tenant, task_id, run_id, parallelism)

    monkeypatch.setattr(backend.current().slots, "acquire_slot", acquire_after_the_delete)
    h.deliver()
    ended = runs.get_run("acme", "gone", run.run_id)
    assert (ended.status, ended.end_reason, ended.detail) == (RunStatus.ENDED, EndReason.STOPPED, "task deleted")


def test_runs_the_dispatcher_and_worker_make_while_the_delete_runs_end_too(h, monkeypatch):
    """One interleaving of the race in test_dispatch_races, replayed step by step: a tick is
    claimed and its run queued behind the busy slot just before the task item goes."""
    define("ticking", trigger=TriggerSpec(expression="*/10 * * * * *"), on_overlap=Overlap.QUEUE, queue_max=10)
    assert backend.current().slots.acquire_slot("acme", "ticking", "holder", 1)
    delete_item = backend.current().tasks.delete_task

    def dispatcher_and_worker_first(tenant, task_id, *, subscriptions):
        h.clock.advance(5)
        assert h.tick()["fired"] == 6
        h.clock.advance(60)
        h.deliver()
        assert len(list(backend.current().slots.occupancy(tenant, task_id).waiting)) == 6
        delete_item(tenant, task_id, subscriptions=subscriptions)

    monkeypatch.setattr(backend.current().tasks, "delete_task", dispatcher_and_worker_first)
    tasks.delete_task("acme", "ticking", now=h.clock())
    left = list(runs.runs_of("acme", "ticking"))
    assert len(left) == 6
    assert {(run.status, run.end_reason, run.detail) for run in left} == {
        (RunStatus.ENDED, EndReason.STOPPED, "task deleted")
    }
