"""Every trigger the engine writes outside the dispatcher is announced on engine.due_signal, so
an idle local dispatcher (one pass per half look-ahead window) passes again at its next tick."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.engine import due_signal, tasks
from chalicelib.engine.model import TaskSpec, TriggerSpec

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def heard():
    noted: list[datetime] = []
    due_signal.subscribe(noted.append)
    yield noted
    due_signal.unsubscribe(noted.append)


def save(name: str, *, enabled: bool = True, trigger: TriggerSpec | None = None):
    spec = TaskSpec(executor="command", executor_config={"args": ["true"]}, trigger=trigger)
    return tasks.save_task(tenant="acme", task_id=name, face="test", name=name, spec=spec, enabled=enabled,
                           document=None, now=T0)


def test_creating_a_task_with_a_trigger_announces_its_first_fire(twin, heard):
    task = save("every-minute", trigger=TriggerSpec(expression="* * * * *", timezone="UTC"))
    assert heard == [task.next_fire_at] == [datetime(2026, 12, 1, 12, 1, tzinfo=UTC)]


def test_replacing_a_task_announces_the_new_first_fire(twin, heard):
    first = save("report", trigger=TriggerSpec(expression="0 * * * *", timezone="UTC"))
    replaced = tasks.save_task(tenant="acme", task_id="report", face="test", name="report",
                               spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                             trigger=TriggerSpec(expression="*/5 * * * *", timezone="UTC")),
                               enabled=True, document=None, now=T0, expected_revision=first.revision)
    assert heard == [datetime(2026, 12, 1, 13, 0, tzinfo=UTC), replaced.next_fire_at]
    assert replaced.next_fire_at == datetime(2026, 12, 1, 12, 5, tzinfo=UTC)


def test_a_task_that_will_not_fire_announces_nothing(twin, heard):
    save("manual")  # no trigger
    save("off", enabled=False, trigger=TriggerSpec(expression="* * * * *", timezone="UTC"))
    assert heard == []


def test_arming_an_execution_event_announces_its_instant(twin, heard):
    from chalicelib.engine.execution import arming

    at = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)
    assert arming.arm("acme", "instance-1", "event-1", at=at, now=T0) == at
    assert heard == [at]
