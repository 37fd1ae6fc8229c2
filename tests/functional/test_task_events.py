"""A task's event log against moto: written as runs finish, read back a page at a time, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import settings
from chalicelib.engine import events, runs, tasks
from chalicelib.engine.model import TaskSpec, TriggeredBy
from chalicelib.store.models import EventItem
from tests.functional.engine_harness import make_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def define(name: str, script: str, *, tenant: str = "acme"):
    spec = TaskSpec(executor="command", executor_config={"args": ["/bin/sh", "-c", script]}, parallelism=5)
    return tasks.save_task(tenant=tenant, task_id=name, face="test", name=name, spec=spec, enabled=True,
                           document=None, now=T0)


@pytest.fixture
def h(aws, monkeypatch):
    return make_harness(monkeypatch, aws, T0)


def run_now(h, task, count: int = 1) -> list[str]:
    ids = [runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock()).run_id for _ in range(count)]
    h.deliver()
    return ids


def test_each_finished_run_is_read_back_as_a_run_finished_event_in_order(h):
    ok, failing = define("ok", "true"), define("failing", "exit 3")
    first = run_now(h, ok)
    h.clock.advance(10)
    second = run_now(h, ok)
    run_now(h, failing)

    page = events.task_events("acme", "ok")
    assert page.next_after is None
    assert [(e.sequence, e.type) for e in page.events] == [(1, "run.finished"), (2, "run.finished")]
    assert [e.data["run_id"] for e in page.events] == first + second
    assert page.events[0].data == {"run_id": first[0], "end_reason": "success", "exit_code": 0,
                                   "outcome": "succeeded"}
    assert page.events[1].at > page.events[0].at and page.events[1].at.tzinfo is not None
    (failed,) = events.task_events("acme", "failing").events
    assert (failed.data["end_reason"], failed.data["exit_code"], failed.data["outcome"]) == ("failed", 3, "failed")


def test_a_reader_pages_through_the_log_after_the_last_number_it_saw(h):
    task = define("busy", "true")
    ids = run_now(h, task, count=5)

    seen, after, pages = [], 0, 0
    for _ in range(10):  # 3 pages are expected; a reader that never ends fails below
        page = events.task_events("acme", "busy", after=after, limit=2)
        pages += 1
        seen += [e.sequence for e in page.events]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [1, 2, 3, 4, 5] and pages == 3
    assert sorted(e.data["run_id"] for e in events.task_events("acme", "busy", after=0, limit=5).events) == sorted(ids)
    assert events.task_events("acme", "busy", after=5).events == []
    assert events.task_events("acme", "busy", limit=5).next_after is None


def test_events_are_the_task_tenant_s_own(h):
    run_now(h, define("shared-name", "true", tenant="acme"))
    define("shared-name", "true", tenant="globex")
    assert events.task_events("globex", "shared-name").events == []
    assert len(events.task_events("acme", "shared-name").events) == 1


@pytest.mark.parametrize(("limit", "after"), [(0, 0), (1001, 0), (10, -1)])
def test_a_page_outside_the_bounds_is_refused(aws, limit, after):
    with pytest.raises(ValueError):
        events.task_events("acme", "any", after=after, limit=limit)


def stored_expiry(tenant: str, task_id: str) -> list[int | None]:
    return [item.expires_at for item in EventItem.query(f"{tenant}#{task_id}")]


def test_an_event_expires_after_the_retention_setting(h, monkeypatch):
    monkeypatch.setenv("TASKLANE_EVENT_RETENTION_DAYS", "7")
    settings.reset()
    run_now(h, define("kept-a-week", "true"))
    assert stored_expiry("acme", "kept-a-week") == [int((T0 + timedelta(days=7)).timestamp())]


def test_events_expire_after_30_days_by_default_and_never_with_retention_0(h, monkeypatch):
    run_now(h, define("default", "true"))
    assert stored_expiry("acme", "default") == [int((T0 + timedelta(days=30)).timestamp())]
    monkeypatch.setenv("TASKLANE_EVENT_RETENTION_DAYS", "0")
    settings.reset()
    run_now(h, define("forever", "true"))
    assert stored_expiry("acme", "forever") == [None]


def test_the_events_table_s_ttl_attribute_is_the_one_events_are_written_with():
    from chalicelib.runtime.resources import load_template

    table = load_template()["Resources"]["EventsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
