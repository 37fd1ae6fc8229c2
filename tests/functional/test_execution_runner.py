"""The event runner through the engine's triggers, on the in-memory twin with an injected clock,
against a billing service on loopback: steps over HTTP, results in the event, retries through
the trigger, pause or cancel when retries run out, the next cycle, async steps resumed and
events canceled over HTTP (with their refusals)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from chalicelib import settings
from chalicelib.engine import dispatch, worker
from chalicelib.engine.execution import arming, due, event_runner, instances, records, strategies
from chalicelib.engine.execution.definition import ExecutionStrategyBody, task_named
from chalicelib.engine.execution.steps import INTERRUPTED
from chalicelib.engine.execution.values import EventStatus, InstanceCancelReason, InstanceStatus
from chalicelib.engine.roles import QueueMessage
from chalicelib.errors import NotFound
from tests.functional.engine_harness import FakeClock, tick_and_deliver
from tests.functional.execution_service import TOKEN, billing_service
from tests.functional.execution_support import call, secret_header, strategy

TENANT = "acme"
START = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)

METHODS = [{"key": key, "url": f"/{key}", "method": "post"} for key in ("authorize", "capture", "receipt", "notify")]
METHODS.append({"key": "confirm", "url": "/confirm", "method": "post", "async": True})
ACTIONS = [{"key": key, "service": "billing", "method": key} for key in
           ("authorize", "capture", "receipt", "notify", "confirm")]
ACTIONS[0]["data"] = {"amount": 10}


def charge_task(retry: dict[str, Any] | None = None, *, confirm: bool = False) -> dict[str, Any]:
    """authorize -> capture -> receipt (final), or with `confirm` an async step before receipt."""
    steps = [{"key": "authorize", "action": "authorize", "nextStep": "capture"},
             {"key": "capture", "action": "capture", "nextStep": "confirm" if confirm else "receipt"},
             {"key": "receipt", "action": "receipt", "final": True}]
    if confirm:
        steps.insert(2, {"key": "confirm", "action": "confirm", "nextStep": "receipt"})
    task: dict[str, Any] = {"key": "charge", "initialStep": "authorize", "steps": steps}
    if retry is not None:
        task["retryConfig"] = retry
    return task


class Engine:
    """The dispatcher and the worker driven by hand over the twin; the runner is the real one."""

    def __init__(self, ports: Any, clock: FakeClock) -> None:
        self.ports, self.clock = ports, clock

    def deliver(self) -> int:
        return tick_and_deliver(self.ports, self.clock)

    def at(self, moment: datetime) -> int:
        self.clock.now = moment
        return self.deliver()


@pytest.fixture
def service():
    with billing_service() as running:
        yield running


@pytest.fixture
def engine(twin):
    clock = FakeClock(START - timedelta(days=5))
    driver = Engine(twin, clock)
    with due.using_clock(clock):
        yield driver


def make_instance(engine: Engine, service, task: dict[str, Any], **overrides: Any):
    document = strategy(**{"settings.services[0].baseUrls[0].url": service.url + "/api",
                           "settings.services[0].methods": METHODS, "settings.actions": ACTIONS,
                           "settings.tasks[0]": task, **overrides})
    strategies.create_strategy(TENANT, msgspec.convert(document, ExecutionStrategyBody), secret_header=None,
                               now=engine.clock())
    instance, events, _ = instances.create_instance(TENANT, strategy_id="billing", secret_header=secret_header(),
                                                    now=engine.clock(), start_date=START,
                                                    attributes={"customer": "c-42"})
    return instance, {event.task: event for event in events}


def soon_after(expected: datetime, actual: datetime) -> bool:
    """`actual` is `expected` plus the little time the steps took on the wall clock."""
    return expected <= actual < expected + timedelta(seconds=5)


def event_of(instance, event):
    return records.get_event(TENANT, instance.sid, event.sid)


def test_a_due_event_runs_its_steps_over_http_and_each_result_lands_in_the_event(engine, service):
    instance, events = make_instance(engine, service, charge_task())
    engine.deliver()  # welcome, due at once
    engine.at(START - timedelta(days=3))  # remind
    engine.at(START)
    charge = event_of(instance, events["charge"])
    assert charge.status is EventStatus.PROCESSED and charge.attempt == 1
    assert [(r.step, r.success) for r in charge.task_status.task_results] == [
        ("authorize", True), ("capture", True), ("receipt", True)]
    assert charge.task_status.last_step == "receipt"
    assert charge.task_status.task_results[0].data == {"path": "/api/authorize", "status": 200}
    assert charge.finished_at is not None and charge.finished_at >= START
    assert service.paths() == ["/api/token", "/api/notify", "/api/token", "/api/notify", "/api/token",
                               "/api/authorize", "/api/capture", "/api/receipt"]
    authorize = service.calls_to("/api/authorize")[0]
    assert authorize["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert service.calls_to("/api/token")[0]["body"] == {"clientSecret": "very-private-value"}
    assert authorize["body"]["data"] == {"amount": 10}
    assert authorize["body"]["instance"] == {"sid": instance.sid, "cycle": 1, "attributes": {"customer": "c-42"}}
    assert authorize["headers"]["X-Execution-Event"] == charge.sid
    stored = json.dumps(msgspec.to_builtins(charge))
    assert TOKEN not in stored and "very-private-value" not in stored


def test_a_processed_main_event_moves_the_instance_to_its_next_cycle(engine, service):
    instance, events = make_instance(engine, service, charge_task())
    engine.at(START)
    moved = records.get_instance(TENANT, instance.sid)
    assert (moved.cycle, moved.execution_date.isoformat()) == (2, "2027-02-28T09:00:00+00:00")
    following = records.get_event(TENANT, instance.sid, moved.next_event.sid)
    assert (following.status, following.task, following.main) == (EventStatus.PENDING, "charge", True)
    engine.at(datetime(2027, 2, 28, 9, 0, tzinfo=UTC))
    assert event_of(instance, following).status is EventStatus.PROCESSED
    assert records.get_instance(TENANT, instance.sid).cycle == 3


def test_a_failing_step_is_retried_through_the_trigger_and_the_instance_pauses_when_retries_run_out(
        engine, service):
    retry = {"times": 2, "retryAfter": {"unit": "minutes", "amount": 30},
             "retryStrategy": [{"unit": "minutes", "amount": 10}], "pauseBeforeCancel": True}
    instance, events = make_instance(engine, service, charge_task(retry))
    service.answer("/api/capture", 503)
    engine.at(START)
    charge = event_of(instance, events["charge"])
    assert (charge.status, charge.attempt, charge.error_message) == (EventStatus.PENDING, 1, "HTTP 503")
    assert soon_after(START + timedelta(minutes=10), charge.date)  # retryStrategy[0] after the failure
    assert charge.task_status.task_results[1].data == {"path": "/api/capture", "status": 503}
    assert engine.at(START + timedelta(minutes=9)) == 0
    engine.at(START + timedelta(minutes=10))
    charge = event_of(instance, events["charge"])
    assert (charge.status, charge.attempt) == (EventStatus.PENDING, 2)
    assert soon_after(START + timedelta(minutes=40), charge.date)  # then retryAfter
    engine.at(START + timedelta(minutes=40))
    charge = event_of(instance, events["charge"])
    assert (charge.status, charge.attempt) == (EventStatus.FAILED, 3)
    assert len(service.calls_to("/api/authorize")) == 1  # reused on retries, never called twice
    assert len(service.calls_to("/api/capture")) == 3
    authorize = charge.task_status.task_results[0]
    assert (authorize.step, authorize.from_cache) == ("authorize", True)
    paused = records.get_instance(TENANT, instance.sid)
    assert paused.status is InstanceStatus.PAUSED and paused.cycle == 2  # next month still comes
    nxt = records.get_event(TENANT, instance.sid, paused.next_event.sid)
    assert nxt.status is EventStatus.PAUSED


def test_when_retries_run_out_without_pause_the_instance_is_canceled_and_on_cancel_tasks_run(engine, service):
    instance, events = make_instance(engine, service, charge_task({"times": 1}))
    service.answer("/api/receipt", 500)
    engine.at(START)
    engine.deliver()  # the retry is due at once (no wait configured)
    charge = event_of(instance, events["charge"])
    assert (charge.status, charge.attempt) == (EventStatus.FAILED, 2)
    canceled = records.get_instance(TENANT, instance.sid)
    assert (canceled.status, canceled.cancel_reason) == (InstanceStatus.CANCELED, InstanceCancelReason.MAX_ATTEMPTS)
    farewell = next(e for e in records.list_events(TENANT, instance.sid) if e.task == "farewell")
    assert farewell.after_cancellation is True
    notified = len(service.calls_to("/api/notify"))
    engine.at(START + timedelta(minutes=5))
    assert event_of(instance, farewell).status is EventStatus.PROCESSED
    assert len(service.calls_to("/api/notify")) == notified + 1


def test_a_failed_event_without_a_retry_configuration_leaves_the_instance_active(engine, service):
    instance, events = make_instance(engine, service, charge_task())
    service.answer("/api/authorize", 402)
    engine.at(START)
    charge = event_of(instance, events["charge"])
    assert (charge.status, charge.error_message) == (EventStatus.FAILED, "HTTP 402")
    assert [r.step for r in charge.task_status.task_results] == ["authorize"]
    after = records.get_instance(TENANT, instance.sid)
    assert (after.status, after.cycle) == (InstanceStatus.ACTIVE, 2)


def test_a_duplicate_delivery_never_calls_a_step_twice(engine, service, twin):
    instance, events = make_instance(engine, service, charge_task())
    engine.clock.now = START
    dispatch.dispatch_due(engine.clock(), settings.current())
    messages = twin.queue.take()
    for message in messages + messages:  # at-least-once: every message delivered twice
        worker.handle_message(json.loads(message.body), QueueMessage(message_id=message.run_id, body=message.body),
                              clock=engine.clock, sleep=engine.clock.advance)
    assert event_of(instance, events["charge"]).status is EventStatus.PROCESSED
    assert [len(service.calls_to(f"/api/{step}")) for step in ("authorize", "capture", "receipt")] == [1, 1, 1]


# -- async steps, resume and cancel over HTTP -----------------------------------------------------


@pytest.fixture
def h(auth):
    return {**auth(), "Strategy-Secret": secret_header()}


def waiting_charge(engine, service):
    instance, events = make_instance(engine, service, charge_task(confirm=True))
    engine.at(START)
    charge = event_of(instance, events["charge"])
    assert charge.status is EventStatus.EXECUTING
    return instance, charge


def test_an_async_step_waits_and_a_resume_over_http_continues_the_event(engine, service, twin_client, h):
    instance, charge = waiting_charge(engine, service)
    assert charge.correlation_id == f"{charge.sid}.1.confirm"
    assert "/api/confirm" in service.paths() and "/api/receipt" not in service.paths()
    assert service.calls_to("/api/confirm")[0]["headers"]["X-Correlation-Id"] == charge.correlation_id
    status, answer = call(twin_client, "POST", f"/execution-event/{charge.correlation_id}/resume", h,
                          {"confirmed": True, "reference": "r-9"})
    assert status == 200, answer
    assert answer["status"] == "PENDING" and "progress" not in answer
    engine.deliver()
    done = event_of(instance, charge)
    assert (done.status, done.attempt) == (EventStatus.PROCESSED, 1)
    confirm = done.task_status.task_results[2]
    assert confirm.step == "confirm" and confirm.data == {"confirmed": True, "reference": "r-9"}
    assert confirm.after_resume_data == {"path": "/api/confirm", "status": 200}
    assert done.cached_task_status.task_results[2].from_cache is True
    assert len(service.calls_to("/api/receipt")) == 1 and len(service.calls_to("/api/confirm")) == 1
    status, again = call(twin_client, "POST", f"/execution-event/{charge.correlation_id}/resume", h, {})
    assert status == 409 and again["statusCode"] == 409 and "not waiting" in again["message"]


@pytest.mark.parametrize(("who", "path", "body", "status"), [
    ("wrong-secret", "{cid}", {}, 401),
    ("other-tenant", "{cid}", {}, 404),
    ("acme", "no-such-event.1.confirm", {}, 404),
    ("acme", "{sid}.7.confirm", {}, 409),
    ("acme", "{cid}", [1, 2], 400),
])
def test_a_resume_is_refused_in_the_faces_shape_and_changes_nothing(engine, service, twin_client, auth, who, path,
                                                                  body, status):
    instance, charge = waiting_charge(engine, service)
    headers = {**auth(tenant="globex" if who == "other-tenant" else "acme"),
               "Strategy-Secret": secret_header("wrong-secret-value" if who == "wrong-secret" else
                                                "s3cret-for-billing")}
    target = path.format(cid=charge.correlation_id, sid=charge.sid)
    answered, error = call(twin_client, "POST", f"/execution-event/{target}/resume", headers, body)
    assert answered == status and error["statusCode"] == status and error["message"]
    assert event_of(instance, charge) == charge


def test_cancel_over_http_cancels_a_waiting_or_pending_event_and_refuses_a_finished_one(
        engine, service, twin_client, h, auth):
    instance, events = make_instance(engine, service, charge_task(confirm=True))
    remind = events["remind"]
    status, answer = call(twin_client, "POST", f"/execution-event/{remind.sid}/cancel", h)
    assert (status, answer["status"]) == (200, "CANCELED")
    engine.at(START)
    charge = event_of(instance, events["charge"])
    assert charge.status is EventStatus.EXECUTING  # waits on its async step
    status, answer = call(twin_client, "POST", f"/execution-event/{charge.sid}/cancel", h)
    assert (status, answer["status"]) == (200, "CANCELED")
    assert event_of(instance, remind).status is EventStatus.CANCELED
    assert "/api/notify" not in [r["path"] for r in service.requests if r["headers"].get("X-Execution-Event")
                                 == remind.sid]
    status, error = call(twin_client, "POST", f"/execution-event/{charge.correlation_id}/resume", h, {})
    assert status == 409
    welcome = next(e for e in records.list_events(TENANT, instance.sid) if e.task == "welcome")
    assert welcome.status is EventStatus.PROCESSED
    status, error = call(twin_client, "POST", f"/execution-event/{welcome.sid}/cancel", h)
    assert status == 409 and error["error"] == "Conflict"
    status, error = call(twin_client, "POST", f"/execution-event/{remind.sid}/cancel",
                         {**auth(tenant="globex"), "Strategy-Secret": secret_header()})
    assert status == 404
    status, error = call(twin_client, "POST", f"/execution-event/{remind.sid}/cancel",
                         {**auth(), "Strategy-Secret": secret_header("not-the-secret")})
    assert status == 401


# -- the watchdog: an event whose worker died is taken over when its lease runs out ---------------


class WorkerDied(BaseException):
    """The worker's end mid-event (a Lambda timeout, a SIGKILL): nothing after it runs."""


def dies(strategy, instance, event, *, now, tenant) -> None:
    raise WorkerDied


#: The charge task's three steps fit in the minimum lease (asserted below).
LEASE = arming.WATCHDOG_MIN_LEASE


def charge_lease(instance) -> timedelta:
    stored = records.get_strategy(TENANT, instance.strategy_sid, 1)
    return arming.lease_of(task_named(stored.settings, "charge"))


def calls(service) -> list[int]:
    return [len(service.calls_to(f"/api/{step}")) for step in ("authorize", "capture", "receipt")]


def dying_at(step_key: str):
    """A step caller whose worker dies once `step_key`'s call has reached the service."""

    class DyingCaller(event_runner.HttpStepCaller):
        def __call__(self, step, context):
            answer = super().__call__(step, context)
            if step.key == step_key:
                raise WorkerDied
            return answer

    return DyingCaller


def ready_for_charge(engine, service, task):
    """An instance whose welcome and reminder ran; its charge falls due at START."""
    instance, events = make_instance(engine, service, task)
    engine.deliver()
    engine.at(START - timedelta(days=3))
    return instance, events["charge"]


def test_an_event_whose_worker_died_after_the_claim_is_taken_over_when_its_lease_runs_out(engine, service, twin):
    instance, charge = ready_for_charge(engine, service, charge_task())
    assert charge_lease(instance) == LEASE
    with due.using_runner(dies):
        assert engine.at(START) == 1
    stuck = event_of(instance, charge)
    assert (stuck.status, stuck.executed_at, calls(service)) == (EventStatus.EXECUTING, START, [0, 0, 0])
    # Before the lease runs out the event is its worker's: a delivery does not take it over.
    assert due.due_event(TENANT, instance.sid, charge.sid, now=START + LEASE / 2) is due.DueOutcome.SKIPPED
    assert engine.at(START + LEASE - timedelta(minutes=2)) == 0
    assert event_of(instance, charge) == stuck
    assert engine.at(START + LEASE) == 1  # the watchdog
    done = event_of(instance, charge)
    assert (done.status, done.attempt, done.executed_at) == (EventStatus.PROCESSED, 1, START + LEASE)
    assert calls(service) == [1, 1, 1]
    assert records.get_instance(TENANT, instance.sid).cycle == 2
    with pytest.raises(NotFound):  # a finished event leaves no watchdog behind
        twin.tasks.get_task(TENANT, arming.trigger_id(charge.sid))
    assert engine.at(START + 3 * LEASE) == 0


def test_a_retry_moves_the_watchdog_to_its_instant_and_its_own_attempt_is_watched(engine, service, twin):
    instance, charge = ready_for_charge(engine, service, charge_task({"times": 1, "retryAfter":
                                                                      {"unit": "hours", "amount": 2}}))
    service.answer("/api/receipt", 500, 200)
    engine.at(START)
    retried = event_of(instance, charge)
    assert (retried.status, retried.attempt) == (EventStatus.PENDING, 1)
    trigger = twin.tasks.get_task(TENANT, arming.trigger_id(charge.sid))
    assert trigger.next_fire_at == retried.date and soon_after(START + timedelta(hours=2), retried.date)
    assert engine.at(START + LEASE) == 0  # the first attempt's watchdog is gone
    with due.using_runner(dies):
        assert engine.at(retried.date) == 1  # the retry's worker dies
    assert event_of(instance, charge).status is EventStatus.EXECUTING
    engine.at(retried.date + LEASE)
    done = event_of(instance, charge)
    assert (done.status, done.attempt) == (EventStatus.PROCESSED, 2)
    assert calls(service) == [1, 1, 2]  # authorize and capture reused by the retry
    with pytest.raises(NotFound):  # nothing left to fire
        twin.tasks.get_task(TENANT, arming.trigger_id(charge.sid))


def test_a_step_left_being_called_when_its_worker_died_is_not_called_again(engine, service, monkeypatch):
    instance, charge = ready_for_charge(engine, service, charge_task())
    monkeypatch.setattr(event_runner, "HttpStepCaller", dying_at("capture"))
    engine.at(START)
    monkeypatch.undo()
    assert event_of(instance, charge).status is EventStatus.EXECUTING and calls(service) == [1, 1, 0]
    engine.at(START + LEASE)
    failed = event_of(instance, charge)
    assert (failed.status, failed.error_message) == (EventStatus.FAILED, INTERRUPTED)
    assert [(r.step, r.success) for r in failed.task_status.task_results] == [("authorize", True), ("capture", False)]
    assert calls(service) == [1, 1, 0]  # capture called once, by the worker that died


def test_an_interrupted_step_is_called_again_only_by_a_retry_of_its_event(engine, service, monkeypatch):
    instance, charge = ready_for_charge(engine, service, charge_task({"times": 1}))
    monkeypatch.setattr(event_runner, "HttpStepCaller", dying_at("capture"))
    engine.at(START)
    monkeypatch.undo()
    engine.at(START + LEASE)  # taken over: capture is interrupted, the retry is due at once
    engine.deliver()
    done = event_of(instance, charge)
    assert (done.status, done.attempt) == (EventStatus.PROCESSED, 2)
    assert calls(service) == [1, 2, 1]  # capture once per attempt; authorize reused
    assert done.task_status.task_results[0].from_cache is True


def test_the_watchdog_leaves_an_event_waiting_for_a_resume_alone_and_watches_it_again_once_resumed(
        engine, service, twin_client, h):
    instance, charge = waiting_charge(engine, service)
    assert engine.at(START + 3 * LEASE) == 0
    assert due.due_event(TENANT, instance.sid, charge.sid, now=engine.clock()) is due.DueOutcome.SKIPPED
    assert event_of(instance, charge) == charge
    status, answer = call(twin_client, "POST", f"/execution-event/{charge.correlation_id}/resume", h, {"ok": True})
    assert status == 200, answer
    with due.using_runner(dies):
        assert engine.deliver() == 1  # the continuation's worker dies
    assert event_of(instance, charge).status is EventStatus.EXECUTING
    engine.at(engine.clock() + LEASE)
    done = event_of(instance, charge)
    assert (done.status, done.attempt) == (EventStatus.PROCESSED, 1)
    assert [len(service.calls_to(f"/api/{step}")) for step in ("confirm", "receipt")] == [1, 1]


def test_of_two_workers_taking_over_the_same_event_one_wins(engine, service, monkeypatch):
    instance, charge = ready_for_charge(engine, service, charge_task())
    with due.using_runner(dies):
        engine.at(START)
    late = START + LEASE
    real_save = records.try_save_event
    rival: list[due.DueOutcome] = []
    race = {"on": True}

    def save_after_a_rival_took_over(tenant, event):
        if race.pop("on", False):  # the other worker read the same EXECUTING event and wins first
            rival.append(due.due_event(TENANT, instance.sid, charge.sid, now=late))
        return real_save(tenant, event)

    monkeypatch.setattr(records, "try_save_event", save_after_a_rival_took_over)
    first = due.due_event(TENANT, instance.sid, charge.sid, now=late)
    assert (rival, first) == ([due.DueOutcome.TAKEN_OVER], due.DueOutcome.SKIPPED)
    assert event_of(instance, charge).status is EventStatus.PROCESSED
    assert calls(service) == [1, 1, 1]


def test_the_lease_covers_every_call_of_a_long_task():
    steps = [{"key": f"s{i}", "action": "notify", "nextStep": f"s{i + 1}"} for i in range(9)]
    steps.append({"key": "s9", "action": "notify", "final": True})
    steps.append({"key": "mark", "final": True})  # no action, no call
    document = strategy(**{"settings.tasks[0]": {"key": "charge", "initialStep": "s0", "steps": steps}})
    task = task_named(msgspec.convert(document, ExecutionStrategyBody).settings, "charge")
    assert arming.lease_of(task) == 10 * 2 * timedelta(seconds=30) + arming.WATCHDOG_MARGIN
    assert arming.lease_of(None) == arming.WATCHDOG_MIN_LEASE
