"""Drive the engine by hand: an injected clock and a run queue the test delivers from.

`make_harness` drives the engine over DynamoDB on moto; `make_twin_harness` over the in-memory
twin (the engine's policy tests: the same engine code, in unit time)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib import settings as settings_module
from chalicelib.engine import dispatch, maintenance, worker
from chalicelib.engine.backend import Backend
from chalicelib.engine.roles import QueueMessage
from chalicelib.settings import Settings
from chalicelib.store import queue


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Sent:
    tenant: str
    task_id: str
    run_id: str
    delay_seconds: float


@dataclass
class Harness:
    """Captures run messages instead of sending them to SQS; delivers them on demand."""

    settings: Settings
    clock: FakeClock
    sent: list[Sent] = field(default_factory=list)
    delivered: list[Sent] = field(default_factory=list)

    def send(self, tenant: str, task_id: str, run_id: str, *, delay_seconds: float = 0.0) -> None:
        self.sent.append(Sent(tenant, task_id, run_id, delay_seconds))

    def tick(self) -> dict:
        """One dispatcher pass at the clock's time."""
        return dispatch.dispatch_due(self.clock(), self.settings)

    def deliver(self, *, honour_delay: bool = False, rounds: int = 50) -> int:
        """Hand every captured message to the worker (and what that sets off), in order."""
        count = 0
        for _ in range(rounds):
            if not self.sent:
                break
            batch, self.sent = self.sent, []
            for message in batch:
                if honour_delay and message.delay_seconds > 0:
                    self.sent.append(message)
                    continue
                payload = {"v": 1, "tenant": message.tenant, "task_id": message.task_id, "run_id": message.run_id}
                worker.handle_message(payload, QueueMessage(message_id=message.run_id, body=json.dumps(payload)),
                                      clock=self.clock, sleep=self.clock.advance)
                self.delivered.append(message)
                count += 1
            if honour_delay and all(m.delay_seconds > 0 for m in self.sent):
                break
        return count

    def maintain(self) -> dict:
        return maintenance.run_maintenance(self.clock())


def tick_and_deliver(twin: Backend, clock: FakeClock) -> int:
    """One dispatcher pass at the clock's time, then every message the twin's runs queue holds
    handed to the worker once (what they set off waits for the next call); how many."""
    dispatch.dispatch_due(clock(), settings_module.current())
    messages = twin.queue.take()
    for message in messages:
        worker.handle_message(json.loads(message.body), QueueMessage(message_id=message.run_id, body=message.body),
                              clock=clock, sleep=clock.advance)
    return len(messages)


def make_harness(monkeypatch, settings: Settings, start: datetime | None = None) -> Harness:
    harness = Harness(settings=settings, clock=FakeClock(start or datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)))
    monkeypatch.setattr(queue, "send_run", harness.send)
    return harness


def make_twin_harness(monkeypatch, twin: Backend, start: datetime | None = None) -> Harness:
    """A harness over the in-memory twin `twin` (installed as the backend by the `twin` fixture);
    messages sent to its runs queue are captured by the harness, as with `make_harness`."""
    harness = Harness(settings=settings_module.current(),
                      clock=FakeClock(start or datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)))
    monkeypatch.setattr(twin.queue, "send_run", harness.send)
    return harness
