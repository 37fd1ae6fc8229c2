"""Scheduling face task documents: create, read, replace, patch, delete, access and errors."""

from __future__ import annotations

import copy

import pytest

from chalicelib.engine import tasks as task_engine
from tests.functional.scheduling_support import BASE, Api, task_body

#: The page's own example request body (seed 000, POST /api/scheduling/tasks, cURL -d).
PAGE_EXAMPLE_BODY = {
    "id": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "name": "TaskExample",
    "events": [{"name": "event1", "type": "com.qlik/active-analytics-orch", "source": "dataset.updated",
                "correlation": [{"contextAttributeName": "appId",
                                 "contextAttributeValue": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}]}],
    "states": [{"end": True, "name": "Reload", "type": "event", "onEvents": [{"actions": [{
        "name": "app.reload", "functionRef": {"refName": "app.reload", "arguments": {
            "appId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "partial": False}}}],
        "eventRefs": ["app1-dataset-updated"]}], "exclusive": False}],
    "enabled": True, "version": "1.0.0",
    "metadata": {"usage": "ANALYTICS", "ownerId": 0, "spaceId": "",
                 "trigger": {"id": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "type": 4},
                 "tenantId": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "createdAt": "2025-08-31T23:22:27.929Z",
                 "createdBy": 0, "updatedAt": "2025-08-31T23:27:51.207Z",
                 "orchestration": {"id": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "type": 3, "attrs": {
                     "last_run_status": "SUCCEEDED", "last_run_endedAt": "2025-08-31T23:28:06Z",
                     "last_run_startedAt": "2025-08-31T23:28:04Z", "last_run_worker_type": "reloads"}}},
    "keepActive": False, "resourceId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
    "description": "this is an example of task response", "specVersion": "1.16.0",
}
#: The page's example response: the keys every task response carries.
PAGE_EXAMPLE_KEYS = {"id", "name", "events", "states", "enabled", "version", "metadata", "keepActive",
                     "resourceId", "description", "specVersion"}
PAGE_EXAMPLE_METADATA_KEYS = {"usage", "ownerId", "spaceId", "trigger", "tenantId", "createdAt", "createdBy",
                              "updatedAt", "orchestration"}


@pytest.fixture
def api(client):
    return Api(client)


def assert_error(answer, status: int, *needles: str):
    assert answer.status == status, answer.raw
    body = answer.json
    assert body["traceId"]
    assert body["errors"] and {"code", "title", "detail"} <= set(body["errors"][0])
    assert body["errors"][0]["code"] == f"HTTP-{status}"
    for needle in needles:
        assert needle in body["errors"][0]["detail"], body
    return body


def test_the_pages_example_body_creates_a_task_shaped_like_the_pages_example_response(api):
    answer = api.call("POST", BASE, copy.deepcopy(PAGE_EXAMPLE_BODY))
    assert answer.status == 201, answer.raw
    task = answer.json
    assert PAGE_EXAMPLE_KEYS <= set(task)
    assert PAGE_EXAMPLE_METADATA_KEYS <= set(task["metadata"])
    for field in ("name", "events", "states", "version", "keepActive", "description", "specVersion"):
        assert task[field] == PAGE_EXAMPLE_BODY[field]
    assert task["enabled"] is True
    # server-owned fields are computed, never taken from the body
    assert task["id"] != PAGE_EXAMPLE_BODY["id"]
    assert task["resourceId"] == "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"  # derived from the action's appId
    meta = task["metadata"]
    assert meta["ownerId"] == "alice" and meta["createdBy"] == "alice" and meta["tenantId"] == "acme"
    assert meta["createdAt"] != "2025-08-31T23:22:27.929Z"
    assert meta["trigger"] == {"id": task["id"], "type": 4}  # data event
    assert meta["orchestration"]["type"] == 3 and "lastRun" not in meta["orchestration"]
    assert meta["topology"] == {"isChild": False, "isParent": False}
    assert api.get(f"{BASE}/{task['id']}").json == task


def test_a_task_is_disabled_unless_the_body_enables_it(api):
    task = api.create(task_body("plain"))
    assert task["enabled"] is False
    assert "disabledCode" not in task["metadata"]


def test_a_resource_id_in_the_body_is_ignored(api):
    body = task_body("r", app_id="the-app")
    body["resourceId"] = "forged"
    body["metadata"] = {"ownerId": "mallory", "tenantId": "other", "spaceId": "s1"}
    task = api.create(body)
    assert task["resourceId"] == "the-app"
    assert task["metadata"]["ownerId"] == "alice" and task["metadata"]["tenantId"] == "acme"
    assert task["metadata"]["spaceId"] == "s1"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b.pop("name"), "name"),
        (lambda b: b.pop("specVersion"), "specVersion"),
        (lambda b: b["states"][0]["actions"][0].pop("functionRef"), "states[0].actions[0].functionRef"),
        (lambda b: b.update(start={"schedule": "every day"}), "start.schedule"),
        (lambda b: b.update(start={"schedule": {"cron": "99 * * * *"}}), "start.schedule"),
        (lambda b: b.update(start={"schedule": {"cron": "0 9 * * *", "timezone": "Mars/Base"}}),
         "start.schedule.timezone"),
        (lambda b: b.update(events=[{"name": "e", "type": "nope"}]), "events[0].type"),
        # one minimum interval (1 s) for every schedule form
        (lambda b: b.update(start={"schedule": "R/2026-01-01T00:00:00Z/PT0.001S"}), "start.schedule"),
        (lambda b: b.update(start={"schedule": {"interval": "R/2026-01-01T00:00:00Z/PT0.5S"}}), "start.schedule"),
        (lambda b: b.update(start={"schedule": "@every 500ms"}), "start.schedule"),
        # values past what the calendar (or Python) can hold: a 400, not a 500
        (lambda b: b.update(start={"schedule": "@every 99999999999h"}), "start.schedule"),
        (lambda b: b.update(start={"schedule": "R/2026-01-01T00:00:00Z/PT99999999999H"}), "start.schedule"),
        (lambda b: b.update(start={"schedule": "R/0001-01-01T00:00:00+14:00/PT1H"}), "start.schedule"),
        (lambda b: b.update(start={"schedule": {"recurrence": "FREQ=DAILY;BYHOUR=99999999999"}}), "start.schedule"),
        (lambda b: b.update(start={"schedule": {"cron": "0 9 * * *", "startDateTime": "9999-12-31T23:00:00-05:00"}}),
         "start.schedule.startDateTime"),
    ],
)
def test_a_bad_document_is_a_400_naming_the_path_and_writes_nothing(api, mutate, path):
    body = task_body("bad")
    mutate(body)
    assert_error(api.call("POST", BASE, body), 400, path)
    assert api.get(BASE).json["data"] == []


def test_every_schedule_form_drives_the_engines_time_trigger(api):
    forms = ["R/2026-01-01T00:00:00Z/PT1H", {"cron": "0 9 * * *", "timezone": "Europe/Stockholm"},
             {"cron": {"expression": "*/10 * * * * *", "validUntil": "2099-01-01T00:00:00Z"}},
             {"interval": "R/2026-01-01T00:00:00Z/P1D"}, {"recurrence": "RRULE:FREQ=DAILY;BYHOUR=6"}]
    for index, schedule in enumerate(forms):
        task = api.create(task_body(f"s{index}", schedule=schedule, enabled=True))
        assert task["metadata"]["trigger"]["type"] == 1
        stored = task_engine.get_task("acme", task["id"])
        assert stored.spec.trigger is not None and stored.next_fire_at is not None, schedule
    disabled = api.create(task_body("off", schedule="R/2026-01-01T00:00:00Z/PT1H"))
    assert task_engine.get_task("acme", disabled["id"]).next_fire_at is None


def test_a_duplicate_name_and_version_is_a_409(api):
    api.create(task_body("dup", version="1.0.0"))
    assert_error(api.call("POST", BASE, task_body("dup", version="1.0.0")), 409, "dup")
    api.create(task_body("dup", version="2.0.0"))  # another version is another task
    other = api.create(task_body("other", version="1.0.0"))
    assert_error(api.call("PUT", f"{BASE}/{other['id']}", task_body("dup", version="2.0.0")), 409)


def test_another_tenant_may_reuse_a_name(api):
    api.create(task_body("same"))
    assert api.as_("bob", tenant="globex").call("POST", BASE, task_body("same")).status == 201


def test_a_wrong_content_type_is_a_415(api):
    assert_error(api.call("POST", BASE, "name=x", content_type="application/x-www-form-urlencoded"), 415)
    task = api.create(task_body("t"))
    assert_error(api.call("PUT", f"{BASE}/{task['id']}", task_body("t"), content_type="text/plain"), 415)
    assert_error(api.call("PATCH", f"{BASE}/{task['id']}", [], content_type="application/merge-patch+json"), 415)


def test_malformed_json_is_a_400(api):
    assert_error(api.call("POST", BASE, "{not json"), 400)


def test_an_unknown_id_or_another_tenants_task_is_a_404(api):
    assert_error(api.get(f"{BASE}/nope"), 404)
    task = api.create(task_body("mine"))
    stranger = api.as_("alice", tenant="globex", admin=True)
    assert_error(stranger.get(f"{BASE}/{task['id']}"), 404)
    assert_error(stranger.call("DELETE", f"{BASE}/{task['id']}"), 404)
    assert_error(stranger.call("POST", f"{BASE}/{task['id']}/actions/start"), 404)


def test_an_unserved_method_is_a_405_in_the_faces_shape(api):
    assert_error(api.call("DELETE", BASE), 405)


def test_a_personal_task_of_another_user_is_a_403_and_hidden_from_lists(api):
    task = api.create(task_body("private"))
    bob = api.as_("bob")
    assert_error(bob.get(f"{BASE}/{task['id']}"), 403)
    assert_error(bob.call("PUT", f"{BASE}/{task['id']}", task_body("private")), 403)
    assert_error(bob.call("POST", f"{BASE}/{task['id']}/actions/start"), 403)
    assert_error(bob.get(f"{BASE}/{task['id']}/runs"), 403)
    assert bob.get(BASE).json["data"] == []
    assert [t["id"] for t in api.as_("root", admin=True).get(BASE).json["data"]] == [task["id"]]


def test_shared_and_managed_space_tasks_are_reachable_by_everyone_in_the_tenant(api):
    shared = api.create(task_body("shared", space_type="shared"))
    managed = api.create(task_body("managed", space_type="managed"))
    bob = api.as_("bob")
    assert bob.get(f"{BASE}/{shared['id']}").status == 200
    assert {t["id"] for t in bob.get(BASE).json["data"]} == {shared["id"], managed["id"]}


def test_put_by_a_non_owner_with_access_transfers_ownership(api):
    task = api.create(task_body("team", space_type="shared"))
    answer = api.as_("bob").call("PUT", f"{BASE}/{task['id']}", task_body("team", space_type="shared"))
    assert answer.status == 200
    meta = answer.json["metadata"]
    assert meta["ownerId"] == "bob" and meta["updatedBy"] == "bob" and meta["createdBy"] == "alice"


def test_patch_by_a_non_owner_transfers_ownership_and_admin_reaches_personal_tasks(api):
    task = api.create(task_body("solo"))
    admin = api.as_("root", admin=True)
    answer = admin.call("PATCH", f"{BASE}/{task['id']}", [{"op": "add", "path": "/description", "value": "x"}])
    assert answer.status == 200 and answer.json["metadata"]["ownerId"] == "root"
    assert_error(api.get(f"{BASE}/{task['id']}"), 403)  # alice no longer owns the personal task


def test_put_replaces_the_whole_document_and_resets_omitted_fields(api):
    body = task_body("full", enabled=True)
    body["description"] = "keep?"
    task = api.create(body)
    answer = api.call("PUT", f"{BASE}/{task['id']}", task_body("full"))
    assert answer.status == 200
    assert "description" not in answer.json
    assert answer.json["enabled"] is False
    assert answer.json["metadata"]["disabledCode"] == "MANUALLY"
    assert answer.json["metadata"]["createdAt"] == task["metadata"]["createdAt"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json-patch+json"])
def test_patch_takes_both_content_types(api, content_type):
    task = api.create(task_body("p"))
    ops = [{"op": "add", "path": "/description", "value": "patched"},
           {"op": "replace", "path": "/enabled", "value": True},
           {"op": "add", "path": "/annotations", "value": ["a"]},
           {"op": "copy", "from": "/annotations/0", "path": "/annotations/-"},
           {"op": "test", "path": "/name", "value": "p"}]
    answer = api.call("PATCH", f"{BASE}/{task['id']}", ops, content_type=content_type)
    assert answer.status == 200, answer.raw
    assert answer.json["description"] == "patched" and answer.json["enabled"] is True
    assert answer.json["annotations"] == ["a", "a"]
    assert api.get(f"{BASE}/{task['id']}").json["description"] == "patched"


def test_a_patch_leaving_an_invalid_task_is_rejected_whole(api):
    task = api.create(task_body("whole"))
    ops = [{"op": "add", "path": "/description", "value": "changed"}, {"op": "remove", "path": "/name"}]
    assert_error(api.call("PATCH", f"{BASE}/{task['id']}", ops), 400, "name")
    after = api.get(f"{BASE}/{task['id']}").json
    assert "description" not in after and after["name"] == "whole"


def test_a_patch_that_cannot_apply_names_the_operation(api):
    task = api.create(task_body("ops"))
    assert_error(api.call("PATCH", f"{BASE}/{task['id']}", [{"op": "remove", "path": "/nothing"}]), 400, "body[0]")
    assert_error(api.call("PATCH", f"{BASE}/{task['id']}", [{"op": "frobnicate", "path": "/name"}]), 400,
                 "body[0].op")
    assert_error(api.call("PATCH", f"{BASE}/{task['id']}", [{"op": "test", "path": "/name", "value": "x"}]), 400)


def test_patching_server_owned_fields_changes_nothing(api):
    task = api.create(task_body("owned"))
    ops = [{"op": "replace", "path": "/metadata/ownerId", "value": "mallory"},
           {"op": "replace", "path": "/resourceId", "value": "forged"}]
    answer = api.call("PATCH", f"{BASE}/{task['id']}", ops)
    assert answer.status == 200
    assert answer.json["metadata"]["ownerId"] == "alice" and answer.json["resourceId"] == "app-1"


def test_disabling_an_enabled_task_records_manually_and_enabling_clears_it(api):
    task = api.create(task_body("m", enabled=True))
    off = api.call("PATCH", f"{BASE}/{task['id']}", [{"op": "replace", "path": "/enabled", "value": False}]).json
    assert off["enabled"] is False and off["metadata"]["disabledCode"] == "MANUALLY"
    on = api.call("PATCH", f"{BASE}/{task['id']}", [{"op": "replace", "path": "/enabled", "value": True}]).json
    assert on["enabled"] is True and "disabledCode" not in on["metadata"]


def test_delete_of_another_users_task_needs_a_tenant_admin(api):
    task = api.create(task_body("shared-del", space_type="shared"))
    assert_error(api.as_("bob").call("DELETE", f"{BASE}/{task['id']}"), 403)
    answer = api.as_("root", admin=True).call("DELETE", f"{BASE}/{task['id']}")
    assert answer.status == 204
    assert_error(api.get(f"{BASE}/{task['id']}"), 404)


def test_delete_cancels_pending_runs(api):
    from chalicelib.engine import runs as run_engine

    task = api.create(task_body("pending"))
    assert api.call("POST", f"{BASE}/{task['id']}/actions/start").status == 200
    (run,) = list(run_engine.runs_of("acme", task["id"]))
    assert api.call("DELETE", f"{BASE}/{task['id']}").status == 204
    canceled = run_engine.get_run("acme", task["id"], run.run_id)
    assert canceled.status.value == "ended" and canceled.end_reason.value == "stopped"


def test_start_runs_a_disabled_task_now_with_source_manual_by_default(api):
    task = api.create(task_body("now"))
    answer = api.call("POST", f"{BASE}/{task['id']}/actions/start")
    assert answer.status == 200 and answer.json == {"message": "Task started successfully"}
    api.call("POST", f"{BASE}/{task['id']}/actions/start?source=nightly-batch")
    runs = api.get(f"{BASE}/{task['id']}/runs?sort=%2BtaskId").json["data"]
    assert sorted(r["triggeredBy"] for r in runs) == ["manual", "nightly-batch"]
    assert all(r["status"] == "RUNNING" for r in runs)


def test_the_openapi_document_describes_all_sixteen_operations(client):
    import json

    paths = json.loads(client.http.get("/openapi.json").body)["paths"]
    operations = [(p, m) for p, ops in paths.items() if p.startswith(BASE) for m in ops]
    assert len(operations) == 16


def test_deleting_or_renaming_a_task_frees_its_name_and_version(api):
    first = api.create(task_body("freed"))
    assert api.call("DELETE", f"{BASE}/{first['id']}").status == 204
    second = api.create(task_body("freed"))
    renamed = api.call("PUT", f"{BASE}/{second['id']}", task_body("renamed"))
    assert renamed.status == 200
    api.create(task_body("freed"))
    assert_error(api.call("POST", BASE, task_body("renamed")), 409)


def test_a_save_that_fails_gives_back_the_name_it_reserved(api, monkeypatch):
    from chalicelib.errors import Conflict

    real_save = task_engine.save_task

    def lose_the_race(**kwargs):
        raise Conflict("task was changed concurrently")

    monkeypatch.setattr(task_engine, "save_task", lose_the_race)
    assert_error(api.call("POST", BASE, task_body("reserved")), 409)
    monkeypatch.setattr(task_engine, "save_task", real_save)
    api.create(task_body("reserved"))


def test_a_name_claim_is_atomic_per_tenant(aws):
    assert task_engine.claim_name("acme", "k", "task-1") is True
    assert task_engine.claim_name("acme", "k", "task-2") is False
    assert task_engine.claim_name("acme", "k", "task-1") is True  # its own name
    assert task_engine.claim_name("globex", "k", "task-2") is True
    task_engine.release_name("acme", "k", "task-2")  # not the holder: nothing happens
    assert task_engine.claim_name("acme", "k", "task-2") is False
    task_engine.release_name("acme", "k", "task-1")
    assert task_engine.claim_name("acme", "k", "task-2") is True


def test_an_unexpected_failure_is_a_500_in_the_faces_shape_with_a_logged_trace_id(api, monkeypatch, caplog):
    from chalicelib.faces.scheduling import catalog

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(catalog, "tenant_adjacency", explode)
    answer = api.get(f"{BASE}?sort=%2Bname")
    body = assert_error(answer, 500)
    assert "secret" not in answer.raw and "Traceback" not in answer.raw
    logged = [r for r in caplog.records if r.getMessage() == "unexpected failure"]
    assert logged and logged[-1].trace_id == body["traceId"] and logged[-1].exc_info
