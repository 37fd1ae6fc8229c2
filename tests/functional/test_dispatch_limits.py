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
