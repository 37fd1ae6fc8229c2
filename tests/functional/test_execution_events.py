"""Execution events through the engine's triggers, on the in-memory twin with an injected clock:
arming, the dispatcher and worker handing a due event to the runner once, the queue pause that
loses nothing, cancel and pause taking triggers away, and cycles advancing by calendar."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from chalicelib.engine.execution import arming, due, instances, records, secrets, strategies
from chalicelib.engine.execution import queue as event_queue
from chalicelib.engine.execution.definition import ExecutionStrategyBody
from chalicelib.engine.execution.values import EventStatus, InstanceCancelReason, InstanceStatus
from chalicelib.errors import NotFound
from tests.functional.engine_harness import FakeClock, tick_and_deliver
from tests.functional.execution_support import secret_header, strategy

TENANT = "acme"
START = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)


class Engine:
    """The dispatcher and the worker driven by hand over the twin, the runner recorded."""

    def __init__(self, ports, clock: FakeClock) -> None:
        self.ports, self.clock, self.ran = ports, clock, []

    def run(self, strategy, instance, event, *, now, tenant=None) -> None:
        self.ran.append(event)
        # What every runner does with the outcome: the event finishes and its trigger (the
        # watchdog armed at the claim) is retired. A runner that never did would be a dead worker.
        records.save_event(TENANT, msgspec.structs.replace(event, status=EventStatus.PROCESSED, finished_at=now))
        arming.retire(TENANT, event.sid)

    def tick_and_deliver(self) -> int:
        return tick_and_deliver(self.ports, self.clock)

    def at(self, moment: datetime) -> int:
        self.clock.now = moment
        return self.tick_and_deliver()


@pytest.fixture
def engine(twin):
    clock = FakeClock(START - timedelta(days=5))
    driver = Engine(twin, clock)
    with due.using_runner(driver.run), due.using_clock(clock):
        yield driver


def make_instance(engine: Engine, **overrides):
    body = msgspec.convert(strategy(**overrides), ExecutionStrategyBody)
    strategies.create_strategy(TENANT, body, secret_header=None, now=engine.clock())
    instance, events, _ = instances.create_instance(TENANT, strategy_id="billing", secret_header=secret_header(),
                                                    now=engine.clock(), start_date=START)
    return instance, {event.task: event for event in events}


def test_a_due_event_is_handed_to_the_runner_once_through_the_trigger(engine):
    instance, events = make_instance(engine)
    assert [e.task for e in engine.ran] == []
    engine.tick_and_deliver()
    assert [e.task for e in engine.ran] == ["welcome"]  # on-create: due at once
    engine.at(START - timedelta(days=3))
    engine.at(START)
    assert [e.task for e in engine.ran] == ["welcome", "remind", "charge"]
    charge = engine.ran[2]  # as the runner got it
    assert charge.status is EventStatus.EXECUTING and charge.attempt == 1 and charge.executed_at == START
    # At-least-once delivery: the same event handed over again does nothing.
    assert due.due_event(TENANT, instance.sid, charge.sid, now=START) is due.DueOutcome.SKIPPED
    assert engine.at(START + timedelta(minutes=5)) == 0
    assert len(engine.ran) == 3


def test_events_due_while_the_queue_is_paused_wait_and_run_after_resume(engine):
    instance, events = make_instance(engine)
    event_queue.pause(TENANT, now=engine.clock())
    engine.tick_and_deliver()
    engine.at(START - timedelta(days=3))
    assert engine.ran == []
    assert event_queue.status(TENANT)[1] == 2
    assert records.get_event(TENANT, instance.sid, events["welcome"].sid).status is EventStatus.QUEUED
    _, released = event_queue.resume(TENANT, now=engine.clock())
    assert released == 2
    engine.tick_and_deliver()
    assert sorted(e.task for e in engine.ran) == ["remind", "welcome"]
    assert event_queue.status(TENANT)[1] == 0


def test_an_event_parked_while_a_resume_runs_re_arms_itself(engine, monkeypatch):
    instance, events = make_instance(engine)
    event_queue.pause(TENANT, now=engine.clock())
    real_park = records.park

    def park_after_a_resume_listed(tenant, event):
        event_queue.resume(tenant, now=engine.clock())  # lists nothing parked: this one is not yet
        real_park(tenant, event)

    monkeypatch.setattr(records, "park", park_after_a_resume_listed)
    engine.tick_and_deliver()
    monkeypatch.setattr(records, "park", real_park)
    assert engine.ran == []
    engine.tick_and_deliver()
    assert [e.task for e in engine.ran] == ["welcome"]


def test_a_canceled_instance_takes_its_triggers_away_and_its_events_never_run(engine, twin):
    instance, events = make_instance(engine)
    canceled, created = instances.cancel_instance(TENANT, instance, reason=InstanceCancelReason.HTTP_REQUEST,
                                                  now=engine.clock())
    assert canceled.status is InstanceStatus.CANCELED
    with pytest.raises(NotFound):
        twin.tasks.get_task(TENANT, arming.trigger_id(events["charge"].sid))
    engine.at(START + timedelta(days=1))
    assert [e.task for e in engine.ran] == ["farewell"]  # onCancelTasks run after the cancellation
    assert engine.ran[0].after_cancellation is True and created[0].sid == engine.ran[0].sid


def test_a_paused_instance_runs_its_overdue_events_when_resumed(engine):
    instance, events = make_instance(engine)
    paused = instances.pause_instance(TENANT, instance, now=engine.clock())
    engine.at(START + timedelta(hours=1))
    assert engine.ran == []
    instances.resume_instance(TENANT, paused, now=engine.clock())
    engine.tick_and_deliver()
    assert sorted(e.task for e in engine.ran) == ["charge", "remind", "welcome"]


def test_cancel_event_cancels_one_waiting_event(engine):
    instance, events = make_instance(engine)
    canceled = instances.cancel_event(TENANT, events["remind"].sid, now=engine.clock())
    assert canceled.status is EventStatus.CANCELED
    engine.at(START)
    assert sorted(e.task for e in engine.ran) == ["charge", "welcome"]


def test_cycles_advance_monthly_from_the_31st_to_each_months_last_day(engine):
    instance, events = make_instance(engine)
    mains = [events["charge"]]
    for expected in ["2027-02-28T09:00:00+00:00", "2027-03-31T09:00:00+00:00", "2027-04-30T09:00:00+00:00"]:
        moved = instances.advance_cycle(TENANT, mains[-1], now=engine.clock())
        assert moved is not None and moved.execution_date.isoformat() == expected
        assert instances.advance_cycle(TENANT, mains[-1], now=engine.clock()) is None  # idempotent
        assert moved.next_event is not None
        mains.append(records.get_event(TENANT, instance.sid, moved.next_event.sid))
    assert [m.created_cycle for m in mains] == [1, 2, 3, 4]
    reminders = [e for e in records.list_events(TENANT, instance.sid) if e.task == "remind"]
    assert [r.date.isoformat()[:10] for r in reminders] == ["2027-01-28", "2027-02-25", "2027-03-28", "2027-04-27"]


def test_a_cycle_no_calendar_places_ends_the_schedule(engine):
    instance, events = make_instance(engine, **{"settings.schedule.calendars[0].runOnCycle": 1})
    ended = instances.advance_cycle(TENANT, events["charge"], now=engine.clock())
    assert ended is not None and ended.cycle == 1 and ended.next_event is None and ended.end_date == START


def test_a_build_without_an_event_runner_fails_the_event_saying_so(twin, monkeypatch):
    clock = FakeClock(START)
    driver = Engine(twin, clock)
    monkeypatch.setattr(due, "RUNNER_MODULE", "chalicelib.engine.execution.no_such_runner")
    with due.using_clock(clock):
        instance, events = make_instance(driver)
        driver.tick_and_deliver()
    welcome = records.get_event(TENANT, instance.sid, events["welcome"].sid)
    assert welcome.status is EventStatus.FAILED and welcome.error_message == "this build has no event runner"


def test_only_the_worker_opens_the_sealed_authorization(engine):
    instance, _ = make_instance(engine)
    stored = records.get_strategy(TENANT, instance.strategy_sid, 1)
    assert "very-private-value" not in json.dumps(msgspec.to_builtins(stored))
    auth = secrets.decrypt_service_auth(TENANT, stored, "billing", "test")
    assert auth is not None and auth.data == {"clientSecret": "very-private-value"} and auth.url == "/token"
    assert secrets.decrypt_service_auth(TENANT, stored, "billing", "prod") is None
    assert secrets.decrypt_settings(TENANT, stored) == {"apiKey": "another-private-value"}
    moved = msgspec.structs.replace(stored, sealed_authorization={"other": stored.sealed_authorization["billing"]})
    with pytest.raises(Exception, match="does not open"):
        secrets.decrypt_service_auth(TENANT, moved, "other", "test")


def test_a_finished_events_trigger_item_is_retired_and_arming_again_recreates_it(engine, twin):
    instance, events = make_instance(engine)
    engine.tick_and_deliver()
    welcome = events["welcome"]
    with pytest.raises(NotFound):
        twin.tasks.get_task(TENANT, arming.trigger_id(welcome.sid))
    assert [run.end_reason.value for run in twin.runs.list_runs(TENANT, arming.trigger_id(welcome.sid))] == ["success"]
    retry_at = engine.clock() + timedelta(minutes=10)
    records.save_event(TENANT, msgspec.structs.replace(records.get_event(TENANT, instance.sid, welcome.sid),
                                                       status=EventStatus.PENDING))
    assert arming.arm(TENANT, instance.sid, welcome.sid, at=retry_at, now=engine.clock()) == retry_at
    engine.at(retry_at)
    assert [e.task for e in engine.ran] == ["welcome", "welcome"] and engine.ran[1].attempt == 2


def test_an_event_due_before_its_instance_is_stored_waits_for_it(engine, monkeypatch):
    held = []
    real_save = records.save_instance
    monkeypatch.setattr(records, "save_instance", lambda tenant, instance: held.append(instance) or instance)
    body = msgspec.convert(strategy(), ExecutionStrategyBody)
    strategies.create_strategy(TENANT, body, secret_header=None, now=engine.clock())
    instances.create_instance(TENANT, strategy_id="billing", secret_header=secret_header(), now=engine.clock(),
                              start_date=START)
    engine.tick_and_deliver()  # the welcome event is due at once; its instance is not stored yet
    assert engine.ran == []
    real_save(TENANT, held[0])
    engine.at(engine.clock() + due.INSTANCE_WAIT)
    assert [e.task for e in engine.ran] == ["welcome"]


def test_an_orphan_event_of_a_failed_creation_is_dropped(engine, monkeypatch):
    monkeypatch.setattr(records, "save_instance", lambda tenant, instance: instance)
    make_instance(engine)
    engine.at(engine.clock() + due.INSTANCE_WAIT_LIMIT)
    assert engine.ran == [] and engine.at(engine.clock() + timedelta(minutes=10)) == 0
