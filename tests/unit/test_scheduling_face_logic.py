"""Scheduling face pure logic: access rule, document -> engine spec, run shape, list order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib import settings
from chalicelib.engine.model import EndReason, Run, RunStatus, TriggeredBy
from chalicelib.engine.rate_limits import count_request
from chalicelib.errors import Forbidden, ValidationError
from chalicelib.faces.request_models import decode_query
from chalicelib.faces.scheduling import access
from chalicelib.faces.scheduling.documents import run_status, task_spec, trigger_type, triggered_by
from chalicelib.faces.scheduling.listing import order
from chalicelib.faces.scheduling.requests import SchedulingListQuery
from chalicelib.faces.scheduling.workflow import validate_task_document
from chalicelib.identity import Principal

ALICE = Principal(user_id="alice", tenant="acme")
BOB = Principal(user_id="bob", tenant="acme")
ADMIN = Principal(user_id="root", tenant="acme", roles=("admin",))


def doc(owner="alice", space_type=None):
    metadata = {"ownerId": owner}
    if space_type:
        metadata["spaceType"] = space_type
    return {"metadata": metadata}


@pytest.mark.parametrize(
    ("who", "document", "reach"),
    [(ALICE, doc(), True), (BOB, doc(), False), (ADMIN, doc(), True), (BOB, doc(space_type="shared"), True),
     (BOB, doc(space_type="managed"), True), (BOB, doc(space_type="personal"), False)],
)
def test_the_access_rule(who, document, reach):
    assert access.can_reach(who, document) is reach


def test_only_the_owner_or_an_admin_may_delete():
    access.require_delete(ALICE, doc(), "t")
    access.require_delete(ADMIN, doc(), "t")
    with pytest.raises(Forbidden):
        access.require_delete(BOB, doc(space_type="shared"), "t")


def body(**extra):
    base = {"name": "t", "specVersion": "1.16.0",
            "states": [{"name": "s", "type": "operation", "actions": [
                {"name": "reload", "functionRef": {"refName": "app.reload", "arguments": {"appId": "a1"}}}]}]}
    return {**base, **extra}


def test_a_document_maps_to_a_function_task_with_its_trigger_and_subscriptions(monkeypatch):
    monkeypatch.setenv("TASKLANE_DISABLE_AFTER_FAILURES", "7")
    settings.reset()
    events = [{"name": "p", "type": "com.qlik.v1.task.run.finished", "source": "system-events.task",
               "correlation": [{"contextAttributeName": "id", "contextAttributeValue": "parent-1"},
                               {"contextAttributeName": "status", "contextAttributeValue": "FAILED"}]},
              {"name": "q", "type": "com.qlik.v1.task.run.finished", "source": "system-events.task",
               "correlation": [{"contextAttributeName": "id", "contextAttributeValue": "parent-2"}]}]
    states = [{"name": "s", "type": "event", "onEvents": [{"eventRefs": ["p", "q"], "actions": [
        {"functionRef": {"refName": "app.reload", "arguments": {"appId": "a1"}}}]}]}]
    spec = task_spec(validate_task_document(body(events=events, states=states,
                                                 start={"schedule": {"cron": "0 9 * * *", "timezone": "Europe/Oslo"}})))
    settings.reset()
    assert spec.executor == "function"
    assert spec.executor_config["ref_name"] == "app.reload" and spec.executor_config["arguments"] == {"appId": "a1"}
    assert (spec.trigger.expression, spec.trigger.timezone) == ("0 9 * * *", "Europe/Oslo")
    assert {(s.parent_task_id, s.outcomes) for s in spec.subscriptions} == {
        ("parent-1", frozenset({"failed"})), ("parent-2", None)}
    assert spec.disable_after_failures == 7


def test_trigger_types_are_stable():
    assert trigger_type({}) == 0
    assert trigger_type({"start": {"schedule": "R/2026-01-01T00:00:00Z/PT1H"}}) == 1
    assert trigger_type({"events": [{"type": "com.qlik.v1.task.run.finished"}]}) == 2
    assert trigger_type({"events": [{"type": "com.qlik/active-analytics-orch"}]}) == 4


def run(status, reason=None, source=None, by=TriggeredBy.API):
    return Run(tenant="acme", task_id="t", run_id="r", status=status, triggered_by=by,
               created_at=datetime(2026, 1, 1, tzinfo=UTC), end_reason=reason, source=source)


def test_run_status_and_trigger_follow_the_pages_enum():
    assert run_status(run(RunStatus.PENDING)) == "RUNNING"
    assert run_status(run(RunStatus.RUNNING)) == "RUNNING"
    assert run_status(run(RunStatus.ENDED, EndReason.SUCCESS)) == "SUCCEEDED"
    assert run_status(run(RunStatus.ENDED, EndReason.TIMEOUT)) == "FAILED"
    assert triggered_by(run(RunStatus.PENDING, source="manual")) == "manual"
    assert triggered_by(run(RunStatus.PENDING, by=TriggeredBy.CRON)) == "schedule"


def test_order_folds_case_and_puts_missing_values_last_both_ways():
    items = [{"k": "b", "id": 1}, {"k": None, "id": 2}, {"k": "A", "id": 3}, {"k": "c", "id": 4}]
    ascending = order(items, lambda i: i["k"], descending=False, tie=lambda i: i["id"])
    descending = order(items, lambda i: i["k"], descending=True, tie=lambda i: i["id"])
    assert [i["id"] for i in ascending] == [3, 1, 4, 2]
    assert [i["id"] for i in descending] == [4, 1, 3, 2]


def test_integer_parameters_are_bounded_and_named():
    assert decode_query(SchedulingListQuery, {}).limit == 20
    assert decode_query(SchedulingListQuery, {"limit": "5"}).limit == 5
    for raw in ("0", "101", "x"):
        with pytest.raises(ValidationError) as caught:
            decode_query(SchedulingListQuery, {"limit": raw})
        assert caught.value.location == "query.limit"


def test_a_zero_rate_limit_counts_nothing_and_retry_after_ends_the_window():
    decision = count_request("acme", "alice", "tier2", limit=0, now=datetime(2026, 1, 1, 0, 0, 45, tzinfo=UTC))
    assert decision.allowed and decision.count == 0 and decision.retry_after == 15
