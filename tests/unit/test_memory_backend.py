"""The in-memory twin's own parts: the TTL sweep it stands in for, and how the engine is pointed at it."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib import backends
from chalicelib.engine import backend
from chalicelib.engine.model import EndReason, Run, RunStatus, TriggeredBy
from chalicelib.store.memory import MemoryState, memory_backend

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
EPOCH = int(T0.timestamp())


def test_the_ttl_sweep_removes_only_what_expired_by_then():
    state = MemoryState()
    ports = memory_backend(state)
    for run_id, expires in (("old", EPOCH), ("new", EPOCH + 60), ("kept", None)):
        ports.runs.create_run(Run(tenant="acme", task_id="t", run_id=run_id, status=RunStatus.PENDING,
                                  triggered_by=TriggeredBy.API, created_at=T0))
        ports.runs.finish_run("acme", "t", run_id, reason=EndReason.SUCCESS, exit_code=0, now=T0,
                              expected_status=RunStatus.PENDING, expires_at=expires)
    ports.events.append_event("acme", "t", "run.finished", {}, now=T0, expires_at=EPOCH)
    ports.held_slots.take_slot("acme", cap=1, holder="h", now=EPOCH, until=EPOCH)
    ports.rate_limits.count_hit("acme", "u", "read", EPOCH, expires_at=EPOCH + 120)
    assert state.sweep_expired(EPOCH) == 3
    assert [r.run_id for r in ports.runs.list_runs("acme", "t")] == ["new", "kept"]
    assert list(ports.events.list_events("acme", "t")) == []
    # the sequence is never reused, even after its events expired
    assert ports.events.append_event("acme", "t", "run.finished", {}, now=T0) == 2
    assert ports.rate_limits.count_hit("acme", "u", "read", EPOCH, expires_at=EPOCH + 120) == 2


def test_a_backend_is_used_inside_the_block_and_the_previous_one_after():
    twin = backends.memory()
    outer = backends.memory()
    with backend.using(outer):
        with backend.using(twin):
            assert backend.current() is twin
        assert backend.current() is outer


def test_stored_values_are_copies_of_what_was_passed():
    ports = backends.memory()
    extra = {"nested": {"a": 1}}
    ports.runs.create_run(Run(tenant="acme", task_id="t", run_id="r", status=RunStatus.PENDING,
                              triggered_by=TriggeredBy.API, created_at=T0, extra=extra))
    extra["nested"]["a"] = 2
    ports.runs.get_run("acme", "t", "r").extra["nested"]["a"] = 3
    assert ports.runs.get_run("acme", "t", "r").extra == {"nested": {"a": 1}}
