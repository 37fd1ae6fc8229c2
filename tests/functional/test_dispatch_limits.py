"""The dispatcher never fires a stored trigger that breaks today's rules, on an injected clock,
over the in-memory twin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.engine import backend, runs, tasks
from chalicelib.engine.model import TaskSpec, TriggerSpec
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def test_a_stored_trigger_under_the_minimum_interval_never_fires_and_stops_being_due(twin, monkeypatch):
    h = make_twin_harness(monkeypatch, twin, T0)
    # Written straight to the store, as a task saved before the minimum held for every form.
    spec = TaskSpec(executor="command", executor_config={"args": ["true"]},
                    trigger=TriggerSpec(expression="R/2026-01-05T12:00:00Z/PT0.001S"))
    backend.current().tasks.put_task(tenant="acme", task_id="fast", face="test", name="fast", enabled=True,
                                     spec=spec, document=None, next_fire_at=T0 + timedelta(milliseconds=1),
                                     due_shards=h.settings.due_shards, now=T0, expected_revision=None)
    h.clock.advance(1)
    summary = h.tick()
    assert summary["fired"] == 0 and h.sent == []
    assert list(runs.runs_of("acme", "fast")) == []
    assert tasks.get_task("acme", "fast").next_fire_at is None
    h.clock.advance(60)
    assert h.tick()["due"] == 0


def test_a_stored_due_time_without_a_trigger_stops_being_due_and_the_other_tasks_still_fire(twin, monkeypatch):
    h = make_twin_harness(monkeypatch, twin, T0)
    # Written straight to the store: a due time with no trigger to compute the next one from.
    for task_id, trigger in (("lost", None), ("fine", TriggerSpec(expression="1 12 * * *"))):
        spec = TaskSpec(executor="command", executor_config={"args": ["true"]}, trigger=trigger)
        backend.current().tasks.put_task(tenant="acme", task_id=task_id, face="test", name=task_id, enabled=True,
                                         spec=spec, document=None, next_fire_at=T0 + timedelta(minutes=1),
                                         due_shards=h.settings.due_shards, now=T0, expected_revision=None)
    h.clock.advance(60)
    summary = h.tick()
    assert (summary["due"], summary["fired"]) == (2, 1)
    assert [run.task_id for run in runs.runs_of("acme", "fine")] == ["fine"]
    assert list(runs.runs_of("acme", "lost")) == []
    assert tasks.get_task("acme", "lost").next_fire_at is None
