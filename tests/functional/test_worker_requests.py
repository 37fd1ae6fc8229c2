"""What a run costs in requests: the worker path of a no-op run stays within its budget (issue 18)."""

from __future__ import annotations

import collections
from datetime import UTC, datetime

import pytest

from chalicelib.engine import logs, runs, tasks
from chalicelib.engine.model import Subscription, TaskSpec, TriggeredBy
from tests.functional.engine_harness import make_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def h(aws, monkeypatch):
    return make_harness(monkeypatch, aws, T0)


@pytest.fixture
def requests(monkeypatch):
    """Every botocore request made while the test runs, by (service, operation)."""
    from botocore.client import BaseClient

    counted: collections.Counter[tuple[str, str]] = collections.Counter()
    real = BaseClient._make_api_call

    def count(client, operation, params):
        counted[(client.meta.service_model.service_name, operation)] += 1
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", count)
    return counted


def define(name: str, **spec):
    return tasks.save_task(tenant="acme", task_id=name, face="test", name=name, enabled=True, document=None, now=T0,
                           spec=TaskSpec(executor="command", executor_config={"args": ["true"]}, **spec))


def test_a_no_op_run_costs_five_dynamodb_requests(h, requests):
    """Read the run, read the task, take a slot and start (one transaction), finish, release
    the slot (which returns the task, so no other read): the task has no subscribers, and no
    run.finished event is written."""
    task = define("noop")
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    requests.clear()
    assert h.deliver() == 1
    assert runs.get_run("acme", "noop", run.run_id).exit_code == 0
    dynamodb = {op: n for (service, op), n in requests.items() if service == "dynamodb"}
    assert dynamodb == {"GetItem": 3, "TransactWriteItems": 1, "UpdateItem": 2}  # 3rd GetItem: the check above
    assert requests[("s3", "PutObject")] == 0  # no output, no log: readers take no head for an empty log


def test_a_run_that_prints_stores_its_lines_and_their_head_once(h, requests):
    task = tasks.save_task(tenant="acme", task_id="talker", face="test", name="talker", enabled=True, document=None,
                           now=T0, spec=TaskSpec(executor="command", executor_config={"args": ["echo", "hello"]}))
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    requests.clear()
    assert h.deliver() == 1
    assert requests[("s3", "PutObject")] == 2  # one chunk, one head
    page = logs.page(runs.get_run("acme", "talker", run.run_id), from_line=1, limit=10)
    assert [line.text for line in page.lines] == ["hello"]


def test_a_parent_with_a_subscriber_looks_it_up_and_starts_it(h, requests):
    parent = define("parent")
    define("child", subscriptions=(Subscription(parent_task_id="parent"),))
    runs.trigger_run(parent, triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert [r.triggered_by for r in runs.runs_of("acme", "child")] == [TriggeredBy.EVENT]
    assert requests[("dynamodb", "Query")] >= 1
