"""What the dispatcher records for a tick it does not run, on the in-memory twin with an injected
clock: the fall-back repeat says why it was skipped, and a due tick runs with its nominal time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.engine import run_ids, runs, tasks
from chalicelib.engine.model import EndReason, RunStatus, TaskSpec, TriggeredBy, TriggerSpec
from tests.functional.engine_harness import make_twin_harness


def define(name: str, expression: str, now: datetime, timezone: str = "UTC") -> None:
    tasks.save_task(tenant="acme", task_id=name, face="test", name=name, document=None, now=now, enabled=True,
                    spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                  trigger=TriggerSpec(expression=expression, timezone=timezone)))


def test_the_fall_back_repeat_is_recorded_dst_skipped_saying_why(twin, monkeypatch):
    start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    h = make_twin_harness(monkeypatch, twin, start)
    define("fixed", "30 1 * * *", start, timezone="America/New_York")
    repeat = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    h.clock.now = repeat
    assert h.tick()["dst_skipped"] == 1
    run = runs.get_run("acme", "fixed", run_ids.scheduled_run_id("fixed", repeat))
    assert (run.end_reason, run.detail, run.nominal_at) == (
        EndReason.DST_SKIPPED, "repeated wall-clock time in a DST fall-back hour", repeat)
    assert run.triggered_by is TriggeredBy.CRON


def test_a_due_tick_runs_once_from_the_schedule_with_its_nominal_time(twin, monkeypatch):
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    h = make_twin_harness(monkeypatch, twin, start)
    define("hourly", "0 * * * *", start)
    due = start + timedelta(hours=1)
    h.clock.now = due + timedelta(seconds=3)
    assert h.tick()["fired"] == 1
    run = runs.get_run("acme", "hourly", run_ids.scheduled_run_id("hourly", due))
    assert (run.status, run.triggered_by, run.source, run.nominal_at, run.detail) == (
        RunStatus.PENDING, TriggeredBy.CRON, "schedule", due, None)
    assert run.created_at == due + timedelta(seconds=3)
    assert tasks.get_task("acme", "hourly").next_fire_at == due + timedelta(hours=1)
    assert h.tick()["fired"] == 0
