from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.engine.schedule import Schedule, ScheduleKind
from chalicelib.errors import BadRequest, ValidationError
from chalicelib.faces.scheduling.workflow import (
    Action,
    ParentLink,
    ParentOutcome,
    validate_task_document,
)

APP = "80c6f35f-c9d7-4488-bb5a-ad973b13ec00"
PARENT = "11111111-1111-1111-1111-111111111111"

# The request body of the page's POST /api/scheduling/tasks example (seed 000), verbatim.
PAGE_EXAMPLE: dict[str, Any] = {
    "id": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
    "name": "TaskExample",
    "events": [
        {
            "name": "event1",
            "type": "com.qlik/active-analytics-orch",
            "source": "dataset.updated",
            "correlation": [
                {"contextAttributeName": "appId", "contextAttributeValue": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}
            ],
        }
    ],
    "states": [
        {
            "end": True,
            "name": "Reload",
            "type": "event",
            "onEvents": [
                {
                    "actions": [
                        {
                            "name": "app.reload",
                            "functionRef": {
                                "refName": "app.reload",
                                "arguments": {"appId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "partial": False},
                            },
                        }
                    ],
                    "eventRefs": ["app1-dataset-updated"],
                }
            ],
            "exclusive": False,
        }
    ],
    "enabled": True,
    "version": "1.0.0",
    "metadata": {
        "usage": "ANALYTICS",
        "ownerId": 0,
        "spaceId": "",
        "trigger": {"id": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "type": 4},
        "tenantId": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "createdAt": "2025-08-31T23:22:27.929Z",
        "createdBy": 0,
        "updatedAt": "2025-08-31T23:27:51.207Z",
        "orchestration": {
            "id": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            "type": 3,
            "attrs": {
                "last_run_status": "SUCCEEDED",
                "last_run_endedAt": "2025-08-31T23:28:06Z",
                "last_run_startedAt": "2025-08-31T23:28:04Z",
                "last_run_worker_type": "reloads",
            },
        },
    },
    "keepActive": False,
    "resourceId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
    "description": "this is an example of task response",
    "specVersion": "1.16.0",
}


def reload_action(app_id: Any = APP) -> dict[str, Any]:
    return {"name": "reload", "functionRef": {"refName": "app.reload", "arguments": {"appId": app_id}}}


def task(**fields: Any) -> dict[str, Any]:
    """A small valid scheduled reload task, with `fields` replacing its top-level fields."""
    body: dict[str, Any] = {
        "name": "Nightly reload",
        "specVersion": "1.16.0",
        "start": {"schedule": {"cron": "0 2 * * *", "timezone": "Europe/Stockholm"}, "stateName": "Reload"},
        "states": [{"name": "Reload", "type": "operation", "actions": [reload_action()], "end": True}],
    }
    body.update(fields)
    return body


def chained(*events: dict[str, Any], refs: list[str] | None = None) -> dict[str, Any]:
    """A task started by `events`; its event state refers to `refs` (every event's name by default)."""
    names = [event["name"] for event in events] if refs is None else refs
    state = {"name": "Reload", "type": "event", "onEvents": [{"eventRefs": names, "actions": [reload_action()]}]}
    return task(start=None, events=list(events), states=[state])


def finished(name: str, parent: str = PARENT, status: str | None = None) -> dict[str, Any]:
    correlation = [{"contextAttributeName": "id", "contextAttributeValue": parent}]
    if status is not None:
        correlation.append({"contextAttributeName": "status", "contextAttributeValue": status})
    return {
        "name": name,
        "type": "com.qlik.v1.task.run.finished",
        "source": "system-events.task",
        "correlation": correlation,
    }


def refused(body: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_task_document(body)
    return info.value


def with_schedule(schedule: Any) -> dict[str, Any]:
    return task(start={"schedule": schedule})


# -- the page's example -----------------------------------------------------------------------


def test_the_pages_example_body_validates_and_derives_its_resource_and_action():
    document = validate_task_document(copy.deepcopy(PAGE_EXAMPLE))
    assert document.name == "TaskExample"
    assert document.spec_version == "1.16.0"
    assert document.version == "1.0.0"
    assert document.enabled is True
    assert document.keep_active is False
    assert document.resource_id == "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
    assert document.actions == [
        Action(
            name="app.reload",
            ref_name="app.reload",
            arguments={"appId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "partial": False},
        )
    ]
    assert document.schedule is None
    assert document.parents == []  # a data event, not a task chain


def test_the_pages_example_keeps_only_client_owned_fields():
    stored = validate_task_document(copy.deepcopy(PAGE_EXAMPLE)).to_document()
    assert "id" not in stored
    assert "resourceId" not in stored
    assert stored["metadata"] == {"usage": "ANALYTICS", "spaceId": ""}
    assert stored["states"] == PAGE_EXAMPLE["states"]
    assert stored["events"] == PAGE_EXAMPLE["events"]


def test_a_resource_id_in_the_body_is_ignored_in_favour_of_the_states():
    document = validate_task_document(task(resourceId="something-else"))
    assert document.resource_id == APP


def test_server_owned_metadata_is_ignored_and_client_metadata_kept():
    metadata = {
        "ownerId": "intruder",
        "createdAt": "2020-01-01T00:00:00Z",
        "tenantId": "other-tenant",
        "topology": {"isChild": True},
        "disabledCode": "MANUALLY",
        "scriptOwnerId": "someone",
        "spaceId": "space-1",
        "spaceType": "shared",
        "usage": "DATA_PREPARATION",
        "resourceName": "Sales",
        "resourceType": "app",
    }
    document = validate_task_document(task(metadata=metadata))
    assert document.metadata == {
        "spaceId": "space-1",
        "spaceType": "shared",
        "usage": "DATA_PREPARATION",
        "resourceName": "Sales",
        "resourceType": "app",
    }


# -- top-level fields -------------------------------------------------------------------------


def test_a_task_is_disabled_unless_the_body_enables_it():
    assert validate_task_document(task()).enabled is False
    assert validate_task_document(task(enabled=True)).enabled is True
    assert validate_task_document(task()).to_document()["enabled"] is False


def test_usage_defaults_to_analytics():
    assert validate_task_document(task()).metadata == {"usage": "ANALYTICS"}


@pytest.mark.parametrize("missing", ["name", "specVersion"])
def test_name_and_spec_version_are_required(missing):
    body = task()
    del body[missing]
    error = refused(body)
    assert error.location == missing
    assert "is required" in error.message


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"name": "  "}, "name"),
        ({"name": 7}, "name"),
        ({"specVersion": ""}, "specVersion"),
        ({"version": 1}, "version"),
        ({"description": ["x"]}, "description"),
        ({"key": False}, "key"),
        ({"enabled": "true"}, "enabled"),
        ({"keepActive": 1}, "keepActive"),
        ({"annotations": "reload"}, "annotations"),
        ({"annotations": ["reload", 3]}, "annotations[1]"),
        ({"metadata": []}, "metadata"),
        ({"metadata": {"usage": "analytics"}}, "metadata.usage"),
        ({"metadata": {"spaceType": "team"}}, "metadata.spaceType"),
        ({"metadata": {"spaceId": 12}}, "metadata.spaceId"),
        ({"events": {}}, "events"),
        ({"states": "Reload"}, "states"),
        ({"start": "Reload"}, "start"),
    ],
)
def test_a_wrongly_typed_field_is_refused_by_path(fields, location):
    assert refused(task(**fields)).location == location


def test_a_body_that_is_not_an_object_is_a_bad_request():
    with pytest.raises(BadRequest):
        validate_task_document([task()])


# -- events and chaining ----------------------------------------------------------------------


def test_a_task_run_finished_event_referenced_by_an_event_state_is_a_parent():
    document = validate_task_document(chained(finished("parent-done", status="succeeded")))
    assert document.parents == [ParentLink(task_id=PARENT, status=ParentOutcome.SUCCEEDED)]
    assert document.parents[0].status == "succeeded"


def test_a_parent_without_a_status_correlation_fires_on_any_outcome():
    assert validate_task_document(chained(finished("parent-done"))).parents == [ParentLink(task_id=PARENT)]


def test_parent_status_is_read_case_insensitively():
    document = validate_task_document(chained(finished("parent-failed", status="FAILED")))
    assert document.parents[0].status is ParentOutcome.FAILED


def test_several_parents_keep_document_order_and_unreferenced_events_are_no_parents():
    events = [finished("a", parent="p-a"), finished("b", parent="p-b", status="failed"), finished("c", parent="p-c")]
    document = validate_task_document(chained(*events, refs=["b", "a", "unknown"]))
    assert document.parents == [
        ParentLink(task_id="p-b", status=ParentOutcome.FAILED),
        ParentLink(task_id="p-a"),
    ]


def test_an_event_ref_to_no_event_definition_is_accepted():
    # The page's own example refers to "app1-dataset-updated" while its event is named "event1".
    assert validate_task_document(chained(finished("a"), refs=["nowhere"])).parents == []


@pytest.mark.parametrize(
    ("event", "location"),
    [
        ({**finished("a"), "type": "com.qlik.v1.task.run.started"}, "events[0].type"),
        ({**finished("a"), "source": "system-events.app"}, "events[0].source"),
        ({**finished("a"), "source": "dataset.updated"}, "events[0].source"),
        ({**finished("a"), "dataOnly": "yes"}, "events[0].dataOnly"),
        ({**finished("a"), "name": 5}, "events[0].name"),
        ({**finished("a"), "correlation": {}}, "events[0].correlation"),
        ({**finished("a"), "correlation": []}, "events[0].correlation"),
        (
            {**finished("a"), "correlation": [{"contextAttributeName": "owner", "contextAttributeValue": "x"}]},
            "events[0].correlation[0].contextAttributeName",
        ),
        (
            {**finished("a"), "correlation": [{"contextAttributeValue": PARENT}]},
            "events[0].correlation[0].contextAttributeName",
        ),
        (
            {**finished("a"), "correlation": [{"contextAttributeName": "id", "contextAttributeValue": ""}]},
            "events[0].correlation[0].contextAttributeValue",
        ),
        (finished("a", status="done"), "events[0].correlation[1].contextAttributeValue"),
        (
            {
                **finished("a"),
                "correlation": [
                    {"contextAttributeName": "id", "contextAttributeValue": "p1"},
                    {"contextAttributeName": "id", "contextAttributeValue": "p2"},
                ],
            },
            "events[0].correlation",
        ),
    ],
)
def test_a_bad_event_definition_is_refused_by_path(event, location):
    assert refused(chained(event)).location == location


def test_event_names_must_be_unique():
    error = refused(chained(finished("a"), finished("a", parent="other")))
    assert error.location == "events[1].name"


# -- states and actions -----------------------------------------------------------------------


def test_actions_are_listed_in_document_order_and_the_first_gives_the_resource():
    states = [
        {"name": "First", "type": "operation", "actions": [reload_action("app-1"), {"functionRef": "notify"}]},
        {"name": "Second", "type": "EVENT", "onEvents": [{"eventRefs": [], "actions": [reload_action("app-2")]}]},
    ]
    document = validate_task_document(task(start=None, states=states))
    assert [action.ref_name for action in document.actions] == ["app.reload", "notify", "app.reload"]
    assert document.actions[1] == Action(name=None, ref_name="notify", arguments={})
    assert document.resource_id == "app-1"


def test_a_task_without_actions_has_no_resource():
    document = validate_task_document(task(start=None, states=[{"name": "Idle", "type": "operation"}]))
    assert document.actions == []
    assert document.resource_id is None


def on_event_state(**action_fields: Any) -> dict[str, Any]:
    action = {**reload_action(), **action_fields}
    return {"name": "Reload", "type": "event", "onEvents": [{"eventRefs": ["a"], "actions": [action]}]}


@pytest.mark.parametrize(
    ("state", "location"),
    [
        ({"name": "Reload", "type": "switch"}, "states[0].type"),
        ({"name": "Reload", "type": "event", "end": "yes"}, "states[0].end"),
        ({"name": "Reload", "type": "event", "exclusive": 0}, "states[0].exclusive"),
        ({"name": "Reload", "type": "event", "timeouts": {"eventTimeout": 3}}, "states[0].timeouts.eventTimeout"),
        ({"name": "Reload", "type": "event", "onEvents": {}}, "states[0].onEvents"),
        ({"name": "Reload", "type": "event", "onEvents": [{"actions": []}]}, "states[0].onEvents[0].eventRefs"),
        (
            {"name": "Reload", "type": "event", "onEvents": [{"eventRefs": ["a", 1]}]},
            "states[0].onEvents[0].eventRefs[1]",
        ),
        (
            {"name": "Reload", "type": "event", "onEvents": [{"eventRefs": [], "actionMode": "random"}]},
            "states[0].onEvents[0].actionMode",
        ),
        (on_event_state(functionRef=None), "states[0].onEvents[0].actions[0].functionRef"),
        (on_event_state(functionRef={"arguments": {}}), "states[0].onEvents[0].actions[0].functionRef.refName"),
        (on_event_state(functionRef={"refName": ""}), "states[0].onEvents[0].actions[0].functionRef.refName"),
        (
            on_event_state(functionRef={"refName": "app.reload", "arguments": [APP]}),
            "states[0].onEvents[0].actions[0].functionRef.arguments",
        ),
        (
            on_event_state(functionRef={"refName": "app.reload", "invoke": "later"}),
            "states[0].onEvents[0].actions[0].functionRef.invoke",
        ),
        (on_event_state(retryableErrors="all"), "states[0].onEvents[0].actions[0].retryableErrors"),
        (on_event_state(name=3), "states[0].onEvents[0].actions[0].name"),
        (
            on_event_state(functionRef={"refName": "app.reload", "arguments": {"appId": 42}}),
            "states[0].onEvents[0].actions[0].functionRef.arguments.appId",
        ),
        ({"name": "Reload", "type": "operation", "actions": [{"name": "x"}]}, "states[0].actions[0].functionRef"),
    ],
)
def test_a_bad_state_is_refused_by_path(state, location):
    assert refused(task(start=None, states=[state])).location == location


def test_a_state_without_a_type_is_an_event_state():
    state = {"name": "Reload", "onEvents": [{"eventRefs": ["a"], "actions": [reload_action()]}]}
    document = validate_task_document(task(start=None, events=[finished("a")], states=[state]))
    assert document.parents == [ParentLink(task_id=PARENT)]
    assert document.resource_id == APP


def test_state_names_must_be_unique():
    states = [{"name": "Reload", "type": "operation"}, {"name": "Reload", "type": "operation"}]
    assert refused(task(start=None, states=states)).location == "states[1].name"


def test_action_and_invoke_modes_are_case_insensitive():
    state = {
        "name": "Reload",
        "type": "Event",
        "onEvents": [
            {
                "eventRefs": [],
                "actionMode": "SEQUENTIAL",
                "actions": [{"functionRef": {"refName": "app.reload", "invoke": "ASYNC"}}],
            }
        ],
    }
    assert validate_task_document(task(start=None, states=[state])).actions[0].ref_name == "app.reload"


# -- start and schedule -----------------------------------------------------------------------


def test_a_cron_schedule_passes_the_expression_through_with_its_zone():
    document = validate_task_document(task())
    assert document.schedule == Schedule(kind=ScheduleKind.CRON, expression="0 2 * * *", timezone="Europe/Stockholm")


def test_the_cron_expression_itself_is_left_to_the_engine():
    assert validate_task_document(with_schedule({"cron": "every blue moon"})).schedule.expression == "every blue moon"


def test_a_cron_object_with_valid_until_ends_the_schedule():
    schedule = {"cron": {"expression": "*/5 * * * *", "validUntil": "2026-01-01T00:00:00Z"}}
    parsed = validate_task_document(with_schedule(schedule)).schedule
    assert parsed.expression == "*/5 * * * *"
    assert parsed.timezone == "UTC"
    assert parsed.end.isoformat() == "2026-01-01T00:00:00+00:00"


def test_the_earlier_of_end_date_time_and_valid_until_ends_the_schedule():
    schedule = {
        "cron": {"expression": "0 * * * *", "validUntil": "2026-01-01T00:00:00Z"},
        "endDateTime": "2025-12-01T00:00:00Z",
    }
    assert validate_task_document(with_schedule(schedule)).schedule.end == datetime(2025, 12, 1, tzinfo=UTC)


def test_a_string_schedule_is_a_repeating_interval():
    parsed = validate_task_document(with_schedule("R/2025-01-01T00:00:00Z/PT1H")).schedule
    assert parsed == Schedule(kind=ScheduleKind.INTERVAL, expression="R/2025-01-01T00:00:00Z/PT1H", timezone="UTC")


@pytest.mark.parametrize("interval", ["R/PT30M", "R5/2025-01-01T00:00:00Z/P1D", "R/P1W/2026-01-01T00:00:00Z"])
def test_interval_objects_take_each_repeating_interval_form(interval):
    parsed = validate_task_document(with_schedule({"interval": interval, "timezone": "America/New_York"})).schedule
    assert (parsed.kind, parsed.expression, parsed.timezone) == (ScheduleKind.INTERVAL, interval, "America/New_York")


@pytest.mark.parametrize(
    ("recurrence", "expression"),
    [
        ("RRULE:FREQ=DAILY;INTERVAL=1", "RRULE:FREQ=DAILY;INTERVAL=1"),
        ("FREQ=WEEKLY;BYDAY=MO", "RRULE:FREQ=WEEKLY;BYDAY=MO"),
    ],
)
def test_a_recurrence_is_an_rrule(recurrence, expression):
    schedule = {"recurrence": recurrence, "startDateTime": "2025-08-31T23:22:27Z", "timezone": "UTC"}
    parsed = validate_task_document(with_schedule(schedule)).schedule
    assert (parsed.kind, parsed.expression) == (ScheduleKind.RRULE, expression)
    assert parsed.start.isoformat() == "2025-08-31T23:22:27+00:00"


def test_a_naive_start_date_time_is_read_in_the_schedule_zone():
    schedule = {
        "recurrence": "RRULE:FREQ=DAILY",
        "startDateTime": "2025-07-01T08:00:00",
        "timezone": "Europe/Stockholm",
    }
    parsed = validate_task_document(with_schedule(schedule)).schedule
    assert parsed.start.isoformat() == "2025-07-01T06:00:00+00:00"  # CEST is UTC+2


def test_the_start_definition_is_kept_as_sent():
    body = task()
    assert validate_task_document(body).start == body["start"]


@pytest.mark.parametrize(
    ("start", "location"),
    [
        ({"stateName": "Reload"}, "start.schedule"),
        ({"schedule": 5}, "start.schedule"),
        ({"schedule": {"cron": "0 2 * * *"}, "stateName": "Elsewhere"}, "start.stateName"),
        ({"schedule": {"timezone": "UTC"}}, "start.schedule"),
        ({"schedule": {"cron": "0 2 * * *", "interval": "R/PT1H"}}, "start.schedule"),
        ({"schedule": "0 2 * * *"}, "start.schedule"),
        ({"schedule": "R/2025-01-01T00:00:00Z"}, "start.schedule"),
        ({"schedule": "R/someday/PT1H"}, "start.schedule"),
        ({"schedule": {"interval": "PT1H"}}, "start.schedule.interval"),
        ({"schedule": {"cron": 5}}, "start.schedule.cron"),
        ({"schedule": {"cron": ""}}, "start.schedule.cron"),
        ({"schedule": {"cron": {"validUntil": "2026-01-01T00:00:00Z"}}}, "start.schedule.cron.expression"),
        ({"schedule": {"cron": {"expression": "0 * * * *", "validUntil": "soon"}}}, "start.schedule.cron.validUntil"),
        ({"schedule": {"recurrence": "DAILY"}}, "start.schedule.recurrence"),
        ({"schedule": {"recurrence": 1}}, "start.schedule.recurrence"),
        ({"schedule": {"cron": "0 2 * * *", "timezone": 1}}, "start.schedule.timezone"),
        ({"schedule": {"cron": "0 2 * * *", "timezone": "Mars/Olympus"}}, "start.schedule.timezone"),
        ({"schedule": {"cron": "0 2 * * *", "startDateTime": "31/08/2025"}}, "start.schedule.startDateTime"),
        (
            {
                "schedule": {
                    "cron": "0 2 * * *",
                    "startDateTime": "2025-09-01T00:00:00Z",
                    "endDateTime": "2025-08-01T00:00:00Z",
                }
            },
            "start.schedule.endDateTime",
        ),
    ],
)
def test_a_bad_start_is_refused_by_path(start, location):
    assert refused(task(start=start)).location == location


def test_errors_say_what_is_wrong_and_carry_the_value():
    error = refused(task(start={"schedule": {"cron": "0 2 * * *", "timezone": "Mars/Olympus"}}))
    assert error.message.startswith("start.schedule.timezone must be an IANA time zone name")
    assert error.problems[0].value == "Mars/Olympus"
