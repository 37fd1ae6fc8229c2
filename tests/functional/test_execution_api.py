"""The execution face over HTTP (chalice.test.Client against moto): every endpoint and refusal."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.store.models import RecordItem
from tests.functional.execution_support import SECRET, call, secret_header, strategy, variant

PAGE_EVENT_FIELDS = {
    "createdAt", "updatedAt", "sid", "instanceSid", "strategySid", "status", "main", "afterCancellation", "task",
    "date", "data", "scheduledAt", "scheduleDelta", "executedAt", "executionDelta", "createdCycle", "finishedAt",
    "finishDelta", "executionTime", "attempt", "jobId", "correlationId", "taskStatus", "cachedTaskStatus",
    "errorMessage", "cancelReason", "serverLockOwner", "lockOwner", "execStrategyVersion", "resumeStrategyVersion",
    "instance"}
PAGE_INSTANCE_FIELDS = {
    "createdAt", "updatedAt", "sid", "description", "strategyId", "status", "cycle", "startDate", "endDate",
    "executionDate", "executionDay", "attributes", "nextEvent", "cancelReason", "strategy"}


@pytest.fixture
def h(auth):
    """Headers: bearer token of tenant acme plus the strategy secret."""
    return {**auth(), "Strategy-Secret": secret_header()}


@pytest.fixture
def created(client, h):
    """A strategy and an instance starting in ten days; yields (strategy, instance answer)."""
    status, made = call(client, "POST", "/execution-strategy", h, strategy())
    assert status == 201, made
    start = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    status, instance = call(client, "POST", "/execution-instance", h,
                            {"strategyId": "billing", "startDate": start, "attributes": {"customer": "c-1"}})
    assert status == 201, instance
    return made, instance


def test_a_strategy_is_created_without_its_secret_and_with_credentials_sealed(client, auth):
    status, made = call(client, "POST", "/execution-strategy", auth(), strategy())
    assert status == 201
    assert made["name"] == "billing" and made["version"] == 1 and "secret" not in made
    service = made["settings"]["services"][0]
    assert service["authorization"][0]["data"] == {"clientSecret": "***"}
    assert set(made["settings"]["encryptedSettings"]) == {"iv", "hash", "encryptedText"}
    stored = " ".join(str(item.data) for item in RecordItem.scan())
    for private in (SECRET, "very-private-value", "another-private-value"):
        assert private not in stored and private not in str(made)


REFUSALS = [
    ({"settings.tasks[0].steps[0].nextStep": "nowhere"}, "settings.tasks[0].steps[0].nextStep"),
    ({"settings.tasks[0].steps[2].final": False}, "settings.tasks[0].steps[2].nextStep"),
    ({"settings.tasks[0].steps[2].final": False, "settings.tasks[0].steps[2].nextStep": "authorize"},
     "settings.tasks[0].steps"),
    ({"settings.schedule.calendars[0].scheduleAfter.unit": "fortnights"},
     "settings.schedule.calendars[0].scheduleAfter.unit"),
    ({"settings.actions[0].service": "ledger"}, "settings.actions[0].service"),
    ({"settings.actions[0].method": "refund"}, "settings.actions[0].method"),
    ({"settings.services[0].baseUrls[0].environment": "prod"}, "settings.services[0].baseUrls"),
    ({"settings.tasks[0].initialStep": "missing"}, "settings.tasks[0].initialStep"),
    ({"settings.tasks[0].steps[0].action": "refund"}, "settings.tasks[0].steps[0].action"),
    ({"settings.tasks[0].steps[0].controller": "billingController"}, "settings.tasks[0].steps[0].controller"),
    ({"settings.schedule.calendars[0].task": "missing"}, "settings.schedule.calendars[0].task"),
    ({"settings.onCancelTasks[0].task": "missing"}, "settings.onCancelTasks[0].task"),
    ({"settings.config.timezone": "Mars/Olympus"}, "settings.config.timezone"),
    ({"settings.schedule.calendars[0].runOnCycle": 2}, "settings.schedule.calendars"),
    ({"settings.schedule": "DELETE"}, "body.settings.schedule"),
    ({"secret": "short"}, "body.secret"),
]


@pytest.mark.parametrize(("overrides", "location"), REFUSALS)
def test_a_broken_strategy_is_a_400_naming_the_path_and_writes_nothing(client, auth, overrides, location):
    status, answer = call(client, "POST", "/execution-strategy", auth(), variant(**overrides))
    assert status == 400, answer
    assert answer["statusCode"] == 400 and answer["error"] == "Bad Request"
    assert answer["errors"][0]["location"].removeprefix("body.") == location.removeprefix("body.")
    assert list(RecordItem.scan()) == []


def test_a_new_version_needs_the_current_secret_and_a_higher_number(client, auth, h):
    assert call(client, "POST", "/execution-strategy", auth(), strategy())[0] == 201
    assert call(client, "POST", "/execution-strategy", auth(), strategy(version=2))[0] == 401
    status, answer = call(client, "POST", "/execution-strategy", h, strategy(version=1))
    assert status == 409, answer
    status, second = call(client, "POST", "/execution-strategy", h, strategy(version=2, secret="rotated-secret"))
    assert status == 201 and second["version"] == 2
    rotated = {**auth(), "Strategy-Secret": secret_header("rotated-secret")}
    assert call(client, "POST", "/execution-strategy", h, strategy(version=3))[0] == 401
    assert call(client, "POST", "/execution-strategy", rotated, strategy(version=3))[0] == 201


def test_an_instance_starts_at_cycle_one_with_its_events(client, created):
    _, instance = created
    assert instance["cycle"] == 1 and instance["status"] == "ACTIVE"
    assert set(instance) <= PAGE_INSTANCE_FIELDS | {"events"}
    events = {event["task"]: event for event in instance["events"]}
    assert set(events) == {"charge", "remind", "welcome"}
    main = events["charge"]
    assert main["main"] is True and main["status"] == "PENDING" and main["createdCycle"] == 1
    assert instance["nextEvent"] == {"sid": main["sid"], "date": main["date"]}
    assert main["date"] == instance["executionDate"] == instance["startDate"]
    remind = datetime.fromisoformat(events["remind"]["date"])
    assert datetime.fromisoformat(main["date"]) - remind == timedelta(days=3)
    assert events["welcome"]["main"] is False and events["welcome"]["jobId"]


def test_get_instance_answers_the_pinned_strategy_version(client, h, created):
    _, instance = created
    assert call(client, "POST", "/execution-strategy", h, strategy(version=2))[0] == 201
    status, got = call(client, "GET", f"/execution-instance/{instance['sid']}", h)
    assert status == 200
    assert got["strategy"]["version"] == 1 and "secret" not in got["strategy"]
    assert got["sid"] == instance["sid"] and got["attributes"] == {"customer": "c-1"}


def test_get_tasks_answers_the_page_shape(client, h, created):
    _, instance = created
    status, events = call(client, "GET", f"/execution-instance/{instance['sid']}/get-tasks", h)
    assert status == 200 and len(events) == 3
    for event in events:
        assert set(event) <= PAGE_EVENT_FIELDS
        assert {"sid", "instanceSid", "strategySid", "status", "main", "task", "date"} <= set(event)
        assert event["instance"]["sid"] == instance["sid"] and event["execStrategyVersion"] == 1
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)


@pytest.mark.parametrize("presented", [None, secret_header("wrong-secret-value"), "not base64 !", ""])
def test_a_missing_or_wrong_secret_is_the_same_401(client, auth, h, created, presented):
    _, instance = created
    headers = auth() if presented is None else {**auth(), "Strategy-Secret": presented}
    for method, path in [("GET", f"/execution-instance/{instance['sid']}"),
                         ("GET", f"/execution-instance/{instance['sid']}/get-tasks"),
                         ("POST", f"/execution-instance/{instance['sid']}/cancel"),
                         ("POST", f"/execution-instance/{instance['sid']}/pause"),
                         ("POST", f"/execution-instance/{instance['sid']}/resume"),
                         ("POST", f"/execution-instance/{instance['sid']}/cancel-tasks?tasks=remind"),
                         ("POST", "/execution-instance"), ("GET", "/queue"), ("POST", "/queue"),
                         ("DELETE", "/queue")]:
        body = {"strategyId": "billing"} if path == "/execution-instance" else None
        status, answer = call(client, method, path, headers, body)
        assert status == 401, (method, path, answer)
        assert answer["message"] == "Strategy-Secret is missing or does not match"
    assert call(client, "GET", f"/execution-instance/{instance['sid']}", h)[1]["status"] == "ACTIVE"


def test_another_tenants_strategy_and_instance_are_404(client, auth, created):
    _, instance = created
    other = {**auth(tenant="globex"), "Strategy-Secret": secret_header()}
    assert call(client, "GET", f"/execution-instance/{instance['sid']}", other)[0] == 404
    assert call(client, "GET", f"/execution-instance/{instance['sid']}/get-tasks", other)[0] == 404
    assert call(client, "POST", f"/execution-instance/{instance['sid']}/cancel", other)[0] == 404
    assert call(client, "POST", "/execution-instance", other, {"strategyId": "billing"})[0] == 404
    assert call(client, "GET", "/queue", other)[0] == 401  # globex has no strategy whose secret it is


def test_an_unknown_strategy_or_instance_is_404(client, h, created):
    assert call(client, "POST", "/execution-instance", h, {"strategyId": "nope"})[0] == 404
    assert call(client, "GET", "/execution-instance/nope", h)[0] == 404


def test_instance_creation_refusals_name_the_field(client, h, created):
    status, answer = call(client, "POST", "/execution-instance", h, {"strategyId": "billing", "startDate": "soon"})
    assert status == 400 and answer["errors"][0]["location"] == "body.startDate"
    status, answer = call(client, "POST", "/execution-instance", h, {})
    assert status == 400 and answer["errors"][0]["location"] == "body.strategyId"
    status, answer = call(client, "POST", "/execution-instance", h, {"strategyId": "billing", "strategyVersion": 9})
    assert status == 404


def test_a_delta_from_an_attribute_needs_that_attribute(client, auth):
    body = strategy(**{"settings.schedule.initialDelay": {"unit": "days", "amount": 1, "from": "signedUpAt"}})
    assert call(client, "POST", "/execution-strategy", auth(), body)[0] == 201
    h = {**auth(), "Strategy-Secret": secret_header()}
    status, answer = call(client, "POST", "/execution-instance", h, {"strategyId": "billing"})
    assert status == 400 and answer["errors"][0]["location"] == "attributes.signedUpAt"
    status, answer = call(client, "POST", "/execution-instance", h,
                          {"strategyId": "billing", "attributes": {"signedUpAt": "2030-01-31T08:00:00Z"}})
    assert status == 201 and answer["executionDate"] == "2030-02-01T08:00:00Z"


def test_cancel_records_the_reason_cancels_waiting_events_and_schedules_on_cancel_tasks(client, h, created):
    _, instance = created
    status, canceled = call(client, "POST", f"/execution-instance/{instance['sid']}/cancel", h)
    assert status == 200, canceled
    assert canceled["status"] == "CANCELED" and canceled["cancelReason"] == "HTTP_REQUEST"
    assert [e["task"] for e in canceled["events"]] == ["farewell"]
    farewell = canceled["events"][0]
    assert farewell["afterCancellation"] is True and farewell["status"] == "PENDING"
    _, pending = call(client, "GET", f"/execution-instance/{instance['sid']}/get-tasks", h)
    assert [e["task"] for e in pending] == ["farewell"]
    assert call(client, "POST", f"/execution-instance/{instance['sid']}/cancel", h)[0] == 409


def test_pause_holds_events_and_resume_arms_them_again(client, h, created):
    _, instance = created
    sid = instance["sid"]
    status, paused = call(client, "POST", f"/execution-instance/{sid}/pause", h)
    assert status == 200 and paused["status"] == "PAUSED"
    _, events = call(client, "GET", f"/execution-instance/{sid}/get-tasks", h)
    assert {e["status"] for e in events} == {"PAUSED"}
    assert call(client, "POST", f"/execution-instance/{sid}/pause", h)[0] == 409
    status, resumed = call(client, "POST", f"/execution-instance/{sid}/resume", h)
    assert status == 200 and resumed["status"] == "ACTIVE"
    _, events = call(client, "GET", f"/execution-instance/{sid}/get-tasks", h)
    assert {e["status"] for e in events} == {"PENDING"}
    assert call(client, "POST", f"/execution-instance/{sid}/resume", h)[0] == 409


def test_cancel_tasks_cancels_only_the_named_tasks(client, h, created):
    _, instance = created
    sid = instance["sid"]
    status, canceled = call(client, "POST", f"/execution-instance/{sid}/cancel-tasks?tasks=remind,welcome", h)
    assert status == 200
    assert sorted(e["task"] for e in canceled) == ["remind", "welcome"]
    assert {e["cancelReason"] for e in canceled} == {"INSTANCE_CANCEL_TASK_REQUESTED"}
    _, pending = call(client, "GET", f"/execution-instance/{sid}/get-tasks", h)
    assert [e["task"] for e in pending] == ["charge"]
    status, answer = call(client, "POST", f"/execution-instance/{sid}/cancel-tasks", h)
    assert status == 400 and answer["errors"][0]["location"] == "query.tasks"


def test_the_queue_is_reported_paused_and_resumed(client, h, created):
    status, answer = call(client, "GET", "/queue", h)
    assert status == 200 and answer == {"paused": False, "waiting": 0}
    status, answer = call(client, "DELETE", "/queue", h)
    assert status == 200 and answer["paused"] is True
    assert call(client, "GET", "/queue", h)[1]["paused"] is True
    status, answer = call(client, "POST", "/queue", h)
    assert status == 200 and answer["paused"] is False and answer["released"] == 0


def test_every_execution_route_is_in_the_openapi_document(client):
    document = call(client, "GET", "/openapi.json", {})[1]
    for path in ["/execution-strategy", "/execution-instance", "/execution-instance/{instanceSid}",
                 "/execution-instance/{instanceSid}/get-tasks", "/execution-instance/{instanceSid}/cancel",
                 "/execution-instance/{instanceSid}/pause", "/execution-instance/{instanceSid}/resume",
                 "/execution-instance/{instanceSid}/cancel-tasks", "/queue"]:
        assert path in document["paths"], path
    assert set(document["paths"]["/queue"]) == {"get", "post", "delete"}
    answer = document["paths"]["/execution-instance/{instanceSid}/get-tasks"]["get"]["responses"]["200"]
    listed = document["components"]["schemas"]["ExecutionEventList"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/ExecutionEventList")
    event_ref, with_instance = listed["items"]["allOf"]
    event = document["components"]["schemas"][event_ref["$ref"].rsplit("/", 1)[1]]
    assert set(event["properties"]) | set(with_instance["properties"]) == PAGE_EVENT_FIELDS
    assert event["properties"]["date"] == {"type": "string", "format": "date-time"}


def test_a_bearer_token_is_still_required(client):
    status, _ = call(client, "GET", "/queue", {"Strategy-Secret": base64.b64encode(SECRET.encode()).decode()})
    assert status == 401


def test_deployed_the_data_keys_come_from_kms(client, auth, monkeypatch):
    import boto3

    from chalicelib.engine.execution import records, secrets

    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("TASKLANE_EXECUTION_KMS_KEY_ID", key_id)
    status, made = call(client, "POST", "/execution-strategy", auth(), strategy())
    assert status == 201
    stored = records.get_strategy("acme", made["sid"], 1)
    assert stored.wrapped_key is not None and stored.wrapped_key.startswith("kms:")
    opened = secrets.decrypt_service_auth("acme", stored, "billing", "test")
    assert opened is not None and opened.data == {"clientSecret": "very-private-value"}


def test_instance_attributes_must_match_the_instance_validation(client, auth):
    body = strategy(**{"settings.config.instanceValidation": {"properties": {"customer": {"type": "string"}}}})
    assert call(client, "POST", "/execution-strategy", auth(), body)[0] == 201
    h = {**auth(), "Strategy-Secret": secret_header()}
    status, answer = call(client, "POST", "/execution-instance", h, {"strategyId": "billing",
                                                                     "attributes": {"customer": 7}})
    assert status == 400 and answer["errors"][0]["location"] == "attributes.customer"
    assert list(RecordItem.scan(RecordItem.pk.startswith("acme#exec#instance"))) == []
    status, _ = call(client, "POST", "/execution-instance", h, {"strategyId": "billing",
                                                                "attributes": {"customer": "c-7"}})
    assert status == 201
