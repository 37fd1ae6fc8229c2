"""A task's event log against moto: appended to, read back a page at a time, expiring; runs write none."""

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


def note(tenant: str, task_id: str, n: int, *, now: datetime = T0) -> int:
    return events.record(tenant, task_id, "note", {"n": n}, now=now)


def test_finished_runs_write_no_events(h):
    """Nothing reads a `run.finished` event: a finish writes none (two requests per run saved)."""
    ok, failing = define("ok", "true"), define("failing", "exit 3")
    run_now(h, ok, count=2)
    run_now(h, failing)
    assert [r.exit_code for r in runs.runs_of("acme", "failing")] == [3]
    assert list(EventItem.scan()) == []


def test_each_event_is_read_back_in_order_with_its_number(aws):
    assert [note("acme", "ok", n, now=T0 + timedelta(seconds=n)) for n in range(2)] == [1, 2]
    page = events.task_events("acme", "ok")
    assert page.next_after is None
    assert [(e.sequence, e.type, e.data) for e in page.events] == [(1, "note", {"n": 0}), (2, "note", {"n": 1})]
    assert page.events[1].at > page.events[0].at and page.events[1].at.tzinfo is not None


def test_a_reader_pages_through_the_log_after_the_last_number_it_saw(aws):
    for n in range(5):
        note("acme", "busy", n)

    seen, after, pages = [], 0, 0
    for _ in range(10):  # 3 pages are expected; a reader that never ends fails below
        page = events.task_events("acme", "busy", after=after, limit=2)
        pages += 1
        seen += [e.sequence for e in page.events]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [1, 2, 3, 4, 5] and pages == 3
    assert [e.data["n"] for e in events.task_events("acme", "busy", after=0, limit=5).events] == [0, 1, 2, 3, 4]
    assert events.task_events("acme", "busy", after=5).events == []
    assert events.task_events("acme", "busy", limit=5).next_after is None


def test_events_are_the_task_tenant_s_own(aws):
    note("acme", "shared-name", 1)
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
    note("acme", "kept-a-week", 1)
    assert stored_expiry("acme", "kept-a-week") == [int((T0 + timedelta(days=7)).timestamp())]


def test_events_expire_after_30_days_by_default_and_never_with_retention_0(h, monkeypatch):
    note("acme", "default", 1)
    assert stored_expiry("acme", "default") == [int((T0 + timedelta(days=30)).timestamp())]
    monkeypatch.setenv("TASKLANE_EVENT_RETENTION_DAYS", "0")
    settings.reset()
    note("acme", "forever", 1)
    assert stored_expiry("acme", "forever") == [None]


def test_the_events_table_s_ttl_attribute_is_the_one_events_are_written_with():
    from chalicelib.runtime.resources import load_template

    table = load_template()["Resources"]["EventsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
