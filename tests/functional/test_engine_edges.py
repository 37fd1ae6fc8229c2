"""The engine's policies at the edges a mutation run found unpinned (issue 15): a lease that
must outlive maintenance, the fall-back repeat through a dispatch, which run `terminate` stops,
a redelivered message for a waiting run, and the dispatcher's due and missed boundaries.

Each runs on the in-memory twin with an injected clock (tests/functional/engine_harness.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, dispatch, logs, maintenance, run_ids, runs, tasks
from chalicelib.engine.model import EndReason, Overlap, RunStatus, TaskSpec, TriggeredBy, TriggerSpec
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def define(name: str, spec: TaskSpec, *, now: datetime = T0):
    return tasks.save_task(tenant="acme", task_id=name, face="test", name=name, spec=spec, enabled=True,
                           document=None, now=now)


def sh(script: str, **kw) -> TaskSpec:
    return TaskSpec(executor="command", executor_config={"args": ["/bin/sh", "-c", script]}, **kw)


def sweep_mid_run(at: str) -> str:
    """A python task body: one maintenance pass at `at` while its own run executes."""
    return json.dumps(maintenance.run_maintenance(datetime.fromisoformat(at)))


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


# -- the lease a worker takes -------------------------------------------------------------------


def test_maintenance_during_a_run_leaves_the_run_to_its_worker(h):
    """A started run holds a lease that runs from its start: a maintenance pass a second later
    finds nothing expired, so the run is neither crashed nor retried and ends as its body did."""
    mid_run = (T0 + timedelta(seconds=1)).isoformat()
    define("long", TaskSpec(executor="python", retry_attempts=1,
                            executor_config={"callable": f"{__name__}:sweep_mid_run", "kwargs": {"at": mid_run}}))
    run = runs.trigger_run(tasks.get_task("acme", "long"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    ended = runs.get_run("acme", "long", run.run_id)
    assert '{"crashed": 0, "dead_letters": 0, "requeued": 0}' in logs.raw(ended)  # the pass did run
    assert (ended.end_reason, ended.exit_code) == (EndReason.SUCCESS, 0)
    assert [r.run_id for r in runs.runs_of("acme", "long")] == [run.run_id]  # no retry of a "crash"
    assert h.sent == []


# -- the fall-back repeat, through a dispatch -------------------------------------------------------


def test_a_dispatch_records_the_fall_back_repeat_dst_skipped_and_sends_no_message(twin, monkeypatch):
    start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 01:00-05:00, the second pass of the repeated hour
    h = make_twin_harness(monkeypatch, twin, start)
    define("fixed", TaskSpec(executor="command", executor_config={"args": ["true"]},
                             trigger=TriggerSpec(expression="30 1 * * *", timezone="America/New_York")),
           now=start)
    repeat = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert tasks.get_task("acme", "fixed").next_fire_at == repeat
    h.clock.now = repeat - timedelta(seconds=30)
    assert h.tick() == {"due": 1, "fired": 0, "missed": 0, "dst_skipped": 1}
    assert h.sent == []  # nothing to execute
    run = runs.get_run("acme", "fixed", run_ids.scheduled_run_id("fixed", repeat))
    assert (run.status, run.end_reason, run.started_at) == (RunStatus.ENDED, EndReason.DST_SKIPPED, None)
    assert tasks.get_task("acme", "fixed").next_fire_at == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


# -- overlap: terminate and queue -------------------------------------------------------------------


def test_terminate_stops_the_oldest_of_several_active_runs(h):
    define("latest-wins", sh("true", on_overlap=Overlap.TERMINATE, parallelism=2))
    task = tasks.get_task("acme", "latest-wins")
    oldest = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    newer = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock.advance(1))
    for active in (newer, oldest):  # the order they took their slots in is not what counts
        assert backend.current().slots.acquire_slot("acme", "latest-wins", active.run_id, 2)
    h.sent.clear()
    latest = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock.advance(1))
    h.deliver()
    assert runs.get_run("acme", "latest-wins", oldest.run_id).stop_requested is True
    assert runs.get_run("acme", "latest-wins", newer.run_id).stop_requested is False
    assert runs.get_run("acme", "latest-wins", latest.run_id).status is RunStatus.PENDING
    assert backend.current().slots.occupancy("acme", "latest-wins").waiting == (latest.run_id,)


@pytest.mark.parametrize("queue_max", [1, 2])
def test_a_redelivered_message_for_a_waiting_run_leaves_it_waiting_once(h, queue_max):
    define("queued", sh("true", on_overlap=Overlap.QUEUE, queue_max=queue_max))
    assert backend.current().slots.acquire_slot("acme", "queued", "0000000000000-holder", 1)
    run = runs.trigger_run(tasks.get_task("acme", "queued"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert backend.current().slots.occupancy("acme", "queued").waiting == (run.run_id,)
    h.send("acme", "queued", run.run_id)  # at-least-once delivery: the same message again
    h.deliver()
    assert runs.get_run("acme", "queued", run.run_id).status is RunStatus.PENDING
    assert backend.current().slots.occupancy("acme", "queued").waiting == (run.run_id,)


# -- the dispatcher's boundaries --------------------------------------------------------------------

HOURLY = TriggerSpec(expression="0 * * * *")
DUE = T0 + timedelta(hours=1)  # the hourly task's first tick


def test_a_tick_exactly_at_the_end_of_the_look_ahead_window_is_dispatched(h):
    define("hourly", sh("true", trigger=HOURLY))
    h.clock.now = DUE - timedelta(seconds=h.settings.lookahead_seconds)
    assert h.tick() == {"due": 1, "fired": 1, "missed": 0, "dst_skipped": 0}
    assert [(m.run_id, m.delay_seconds) for m in h.sent] == [
        (run_ids.scheduled_run_id("hourly", DUE), h.settings.lookahead_seconds)]


def test_a_tick_just_beyond_the_look_ahead_window_is_not_due_yet(h):
    define("hourly", sh("true", trigger=HOURLY))
    h.clock.now = DUE - timedelta(seconds=h.settings.lookahead_seconds, microseconds=1)
    assert h.tick() == {"due": 0, "fired": 0, "missed": 0, "dst_skipped": 0}
    assert dispatch.dispatch_task("acme", "hourly", now=h.clock(),
                                  horizon=h.clock() + timedelta(seconds=h.settings.lookahead_seconds)) == {
        "fired": 0, "missed": 0, "dst_skipped": 0}
    assert list(runs.runs_of("acme", "hourly")) == []


def test_a_tick_exactly_the_missed_grace_late_still_fires(h):
    define("hourly", sh("true", trigger=HOURLY))
    h.clock.now = DUE + dispatch.MISSED_GRACE
    assert h.tick() == {"due": 1, "fired": 1, "missed": 0, "dst_skipped": 0}
    (run,) = runs.runs_of("acme", "hourly")
    assert (run.run_id, run.status, run.source) == (run_ids.scheduled_run_id("hourly", DUE), RunStatus.PENDING,
                                                    "schedule")


def test_a_tick_just_later_than_the_missed_grace_is_recorded_missed(h):
    define("hourly", sh("true", trigger=HOURLY))
    h.clock.now = DUE + dispatch.MISSED_GRACE + timedelta(microseconds=1)
    assert h.tick() == {"due": 1, "fired": 0, "missed": 1, "dst_skipped": 0}
    missed = runs.get_run("acme", "hourly", run_ids.scheduled_run_id("hourly", DUE, kind="missed"))
    assert missed.end_reason is EndReason.MISSED
