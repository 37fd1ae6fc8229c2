"""Real concurrency against a moto server: racing dispatchers and duplicate deliveries."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import dispatch, runs, tasks, worker
from chalicelib.engine.model import RunStatus, TaskSpec, TriggeredBy, TriggerSpec
from chalicelib.engine.roles import QueueMessage
from chalicelib.store import queue
from tests.racing import race

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow


def test_two_dispatchers_racing_create_one_run_per_tick(server_aws, monkeypatch):
    sent: list[str] = []
    lock = threading.Lock()

    def send(tenant, task_id, run_id, *, delay_seconds=0.0):
        with lock:
            sent.append(run_id)

    monkeypatch.setattr(queue, "send_run", send)
    for n in range(5):
        tasks.save_task(tenant="acme", task_id=f"t{n}", face="test", name=f"t{n}",
                        spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                      trigger=TriggerSpec(expression="*/10 * * * * *")),
                        enabled=True, document=None, now=T0)
    now = T0 + timedelta(seconds=5)
    race(lambda: dispatch.dispatch_due(now, server_aws), threads=2)
    per_task = Counter(r.task_id for n in range(5) for r in runs.runs_of("acme", f"t{n}"))
    # Within the 60 s look-ahead window: ticks at :10 :20 ... 1:00, once each.
    assert per_task == {f"t{n}": 6 for n in range(5)}
    assert len(sent) == len(set(sent)) == 30


def test_a_run_delivered_to_two_workers_at_once_executes_once(server_aws, monkeypatch):
    monkeypatch.setattr(queue, "send_run", lambda *a, **k: None)
    tasks.save_task(tenant="acme", task_id="once", face="test", name="once",
                    spec=TaskSpec(executor="command", executor_config={"args": ["/bin/sh", "-c", "echo ran"]},
                                  parallelism=5),
                    enabled=True, document=None, now=T0)
    run = runs.trigger_run(tasks.get_task("acme", "once"), triggered_by=TriggeredBy.API, now=T0)
    payload = {"v": 1, "tenant": "acme", "task_id": "once", "run_id": run.run_id}
    message = QueueMessage(message_id="m", body=json.dumps(payload))
    race(lambda: worker.handle_message(payload, message), threads=3)
    (only,) = list(runs.runs_of("acme", "once"))
    assert only.status is RunStatus.ENDED
    from chalicelib.engine import logs

    assert logs.raw(only).count("ran") == 1


def test_a_contested_transaction_has_one_winner_on_the_embedded_backend(server_aws):
    """DynamoDB applies a transaction atomically; the embedded moto server must too, or two
    dispatchers both claim one tick (moto alone checks conditions and writes without a lock)."""
    import sys

    rounds, winners = 15, []
    # Switch threads every microsecond so moto's check-then-write windows interleave.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        winners = _contest(rounds)
    finally:
        sys.setswitchinterval(previous)
    assert winners == [1] * rounds


def _contest(rounds: int) -> list[int]:
    from chalicelib.engine import backend
    from chalicelib.engine.model import Run
    from chalicelib.engine.model import RunStatus as Status

    winners = []
    for n in range(rounds):
        tasks.save_task(tenant="acme", task_id=f"c{n}", face="test", name=f"c{n}",
                        spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                      trigger=TriggerSpec(expression="*/10 * * * * *")),
                        enabled=True, document=None, now=T0)
        due = tasks.get_task("acme", f"c{n}").next_fire_at

        def claim(n=n, due=due) -> bool:
            run = Run(tenant="acme", task_id=f"c{n}", run_id=f"r{n}", status=Status.PENDING,
                      triggered_by=TriggeredBy.CRON, created_at=T0, nominal_at=due)
            return backend.current().triggers.claim_tick_with_run(
                "acme", f"c{n}", expected=due, next_fire_at=due + timedelta(seconds=10), run=run)

        winners.append(sum(race(claim, threads=4)))
    return winners


def test_a_cancelled_transaction_leaves_no_partial_write_on_the_embedded_backend(server_aws):
    """The embedded backend backs up the items a transaction targets (not whole tables); a
    cancelled transaction must still undo the writes that passed their condition."""
    from chalicelib.engine import backend
    from chalicelib.engine.model import Run
    from chalicelib.engine.model import RunStatus as Status

    tasks.save_task(tenant="acme", task_id="rb", face="test", name="rb",
                    spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                  trigger=TriggerSpec(expression="*/10 * * * * *")),
                    enabled=True, document=None, now=T0)
    due = tasks.get_task("acme", "rb").next_fire_at
    run = Run(tenant="acme", task_id="rb", run_id="r1", status=Status.PENDING, triggered_by=TriggeredBy.CRON,
              created_at=T0, nominal_at=due)
    step = timedelta(seconds=10)
    triggers = backend.current().triggers
    assert triggers.claim_tick_with_run("acme", "rb", expected=due, next_fire_at=due + step, run=run)
    # the trigger condition passes, the run already exists: the whole transaction is cancelled
    assert not triggers.claim_tick_with_run("acme", "rb", expected=due + step, next_fire_at=due + 2 * step, run=run)
    assert tasks.get_task("acme", "rb").next_fire_at == due + step
    assert [r.run_id for r in runs.runs_of("acme", "rb")] == ["r1"]


def test_deleting_a_task_while_its_dispatcher_and_worker_run_leaves_no_run_pending(server_aws, monkeypatch):
    """A dispatcher creating runs and a worker queueing them behind a busy slot race the
    delete; once every message has been delivered, none of the task's runs is left pending."""
    from chalicelib.engine import backend
    from chalicelib.engine.model import EndReason, Run

    sent: list[str] = []
    lock = threading.Lock()
    created = threading.Event()

    def send(tenant, task_id, run_id, *, delay_seconds=0.0):
        with lock:
            sent.append(run_id)
            if len(sent) >= 3:
                created.set()

    monkeypatch.setattr(queue, "send_run", send)
    tasks.save_task(tenant="acme", task_id="busy", face="test", name="busy",
                    spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                  trigger=TriggerSpec(expression="* * * * * *")),
                    enabled=True, document=None, now=T0)
    # A run that holds the only slot, so the worker puts every delivered run in the wait queue.
    holder = Run(tenant="acme", task_id="busy", run_id="0-holder", status=RunStatus.PENDING,
                 triggered_by=TriggeredBy.API, created_at=T0)
    backend.current().runs.create_run(holder)
    assert backend.current().slots.acquire_slot("acme", "busy", "0-holder", 1)
    assert backend.current().runs.start_run("acme", "busy", "0-holder", worker_id="w", now=T0,
                                            lease_until=T0 + timedelta(hours=1))
    later = T0 + timedelta(minutes=5)  # past every nominal time: the worker never waits
    dispatched = threading.Event()

    def dispatcher() -> None:
        dispatch.dispatch_due(T0 + timedelta(seconds=1), server_aws)
        dispatched.set()

    def deliver(run_id: str) -> None:
        payload = {"v": 1, "tenant": "acme", "task_id": "busy", "run_id": run_id}
        worker.handle_message(payload, QueueMessage(message_id=run_id, body=json.dumps(payload)),
                              clock=lambda: later, sleep=lambda _: None)

    def the_worker() -> None:
        done, deadline = 0, time.monotonic() + 60
        while not (dispatched.is_set() and done == len(sent)):
            assert time.monotonic() < deadline, f"the worker delivered {done} of {len(sent)} messages"
            if done < len(sent):
                deliver(sent[done])
                done += 1

    def deleter() -> None:
        created.wait(timeout=30)
        tasks.delete_task("acme", "busy", now=later)

    roles = iter([dispatcher, the_worker, deleter])
    role_lock = threading.Lock()

    def one_role() -> None:
        with role_lock:
            role = next(roles)
        role()

    race(one_role, threads=3)
    # Every message was delivered once and handled (a run put in the wait queue has no message
    # left), as SQS does once the handler succeeds.
    left = {run.run_id: run for run in backend.current().runs.list_runs("acme", "busy")}
    assert len(left) > 3
    assert [run.run_id for run in left.values() if run.status is RunStatus.PENDING] == []
    never_started = [run for run in left.values() if run.run_id != "0-holder"]
    assert {(run.end_reason, run.detail) for run in never_started} == {(EndReason.STOPPED, "task deleted")}
    assert left["0-holder"].stop_requested
