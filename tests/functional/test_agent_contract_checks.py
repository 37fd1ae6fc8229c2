"""Defects found checking the agent face from outside against seed 001 (helper agentcheck),
each pinned here through chalice.test.Client against moto on a pinned clock."""

from __future__ import annotations

import json

import pytest

from chalicelib.engine import pull
from tests.functional.agent_support import AGENT1, ALICE, auth, call, claim, create, pin_clock


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return pin_clock(monkeypatch)


def test_a_filtered_claim_finds_a_matching_run_behind_more_queue_heads_than_one_read(client, clock):
    # More non-matching runs than one claim reads as queue heads (HEADS per partition) sit
    # before the one workspace run: it is still claimable, so claim-next must not answer 204.
    for n in range(pull.HEADS * pull.QUEUE_SHARDS + 4):
        create(client, f"global {n}", priority="high")
    wanted = create(client, "in workspace", scope="workspace", workspace_id="wsA", priority="low")
    status, body = claim(client, AGENT1, workspace_id="wsA")
    assert status == 200, body
    assert body["claim"]["task"]["id"] == wanted["id"]
    status, body = claim(client, auth(user="bot", session="s9"), scope="workspace")
    assert status == 204, body  # the only workspace run is taken: nothing left for that filter


SESSION_FIELDS = {"agent_name", "channel", "created_at", "name", "session_id", "state", "updated_at", "workspace_id"}
SUMMARY_FIELDS = {"cost_currency", "input_tokens", "last_activity_at", "last_event_type", "output_tokens",
                  "tool_call_count", "total_cost", "total_tokens", "turn_count"}


def test_a_run_detail_has_the_pages_session_and_summary_fields_and_never_the_internal_holder_key(client, clock):
    task = create(client, "held by a human", scope="workspace", workspace_id="wsA", network_channel="ops")
    run_id = task["id"] + "-r01"
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/claim", {}, ALICE)
    assert status == 200, body
    status, body, _ = call(client, "GET", f"/api/task-runs/{run_id}", None, ALICE)
    assert status == 200, body
    assert body["run"]["session"] is None  # a human holds it: no agent session (as run.session_id)
    assert "user:" not in str(body)
    assert set(body["run"]["summary"]) == SUMMARY_FIELDS
    call(client, "POST", f"/api/task-runs/{run_id}/cancel", {}, ALICE)
    other = create(client, "held by an agent", scope="workspace", workspace_id="wsA", network_channel="ops")
    status, body = claim(client, AGENT1, network_channel="ops")
    assert status == 200 and body["claim"]["task"]["id"] == other["id"], body
    status, body, _ = call(client, "GET", f"/api/task-runs/{other['id']}-r01", None, ALICE)
    session = body["run"]["session"]
    assert set(session) == SESSION_FIELDS
    assert session["session_id"] == "s1" and session["workspace_id"] == "wsA" and session["channel"] == "ops"


@pytest.mark.parametrize("wait", [61, -1])
def test_a_wait_seconds_out_of_range_is_refused_saying_the_range(client, clock, wait):
    status, body = claim(client, AGENT1, wait_seconds=wait)
    assert status == 400
    assert body == {"error": "body.wait_seconds must be a number from 0 to 60"}


def test_starting_a_running_run_again_is_a_409_saying_it_runs_not_that_the_holder_lost_it(client, clock):
    task = create(client, "start twice")
    status, body = claim(client, AGENT1)
    assert status == 200, body
    run_id = task["id"] + "-r01"
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/start", {}, AGENT1)
    assert status == 200 and body["run"]["status"] == "running"
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/start", {}, AGENT1)
    assert status == 409
    assert body == {"error": f"run {run_id} is running already"}


def test_openapi_documents_claim_next_204_the_gateway_401_and_a_non_empty_title(client):
    document = json.loads(client.http.get("/openapi.json").body)
    claim_next = document["paths"]["/api/agent/tasks/claim-next"]["post"]["responses"]
    assert "204" in claim_next and "content" not in claim_next["204"]
    # A request without a token is answered by the gateway in the system shape; the 401 says so.
    unauthorized = claim_next["401"]["content"]["application/json"]["schema"]
    shapes = [json.dumps(option) for option in unauthorized["anyOf"]]
    assert any("AgentError" in shape for shape in shapes) and any("GatewayError" in shape for shape in shapes)
    status, body, _ = call(client, "POST", "/api/agent/tasks/claim-next", {}, {"Content-Type": "application/json"})
    assert status == 401, body
    create_body = document["components"]["schemas"]["AgentTaskCreateBody"]["properties"]["title"]
    assert create_body["minLength"] == 1
    status, body, _ = call(client, "POST", "/api/tasks", {"scope": "global", "title": ""})
    assert status == 400 and body["error"].startswith("body.title")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/tasks"), ("PATCH", "/api/tasks/{id}"), ("POST", "/api/tasks/{id}/dependencies"),
    ("POST", "/api/task-runs/{id}-r01/attach-session"), ("POST", "/api/agent/tasks/{id}-r01/fail"),
])
def test_a_json_null_body_where_a_body_is_required_is_a_400_not_a_500(client, clock, method, path):
    task = create(client, "target")
    status, body, _ = call(client, method, path.format(id=task["id"]), raw="null")
    assert status == 400, body
    assert body == {"error": "body must be an object"}


def test_a_405_says_which_methods_the_path_allows_in_an_allow_header(client, clock):
    status, body, headers = call(client, "PUT", "/api/tasks/some-task", {})
    assert status == 405 and body["error"].startswith("PUT is not allowed here")
    assert headers.get("Allow") == "DELETE, GET, PATCH"


def test_refusals_to_a_human_holder_name_the_user_not_the_internal_lease_key(client, clock):
    first, second = create(client, "first"), create(client, "second")
    status, body, _ = call(client, "POST", f"/api/task-runs/{first['id']}-r01/claim", {}, ALICE)
    assert status == 200, body
    status, body, _ = call(client, "POST", f"/api/task-runs/{second['id']}-r01/claim", {}, ALICE)
    assert status == 409
    assert body == {"error": "user alice already holds a lease"}
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{second['id']}-r01/heartbeat", {}, ALICE)
    assert status == 409 and "user:" not in body["error"] and "user alice" in body["error"]


def test_metadata_and_result_past_64_kib_are_refused_naming_the_field_not_a_500(client, clock):
    big = "m" * (64 * 1024)
    status, body, _ = call(client, "POST", "/api/tasks", {"scope": "global", "title": "big", "metadata": big})
    assert status == 400 and body["error"].startswith("body.metadata"), body
    task = create(client, "small", draft=True, metadata={"ok": True})
    status, body, _ = call(client, "PATCH", f"/api/tasks/{task['id']}", {"metadata": big})
    assert status == 400 and body["error"].startswith("body.metadata"), body
    status, body, _ = call(client, "POST", f"/api/tasks/{task['id']}/publish", {})
    assert status == 200, body
    status, body, _ = call(client, "POST", f"/api/tasks/{task['id']}/runs", {"metadata": big})
    assert status == 400 and body["error"].startswith("body.metadata"), body
    status, body = claim(client, AGENT1)
    assert status == 200, body
    run_id = body["claim"]["run"]["id"]
    for path in (f"/api/agent/tasks/{run_id}/complete", f"/api/task-runs/{run_id}/complete"):
        status, body, _ = call(client, "POST", path, {"result": big}, AGENT1)
        assert status == 400 and body["error"].startswith("body.result"), body
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/complete", {"result": "m" * 60_000}, AGENT1)
    assert status == 200 and body["lease"]["status"] == "completed", body


def test_a_task_with_the_largest_metadata_and_description_allowed_publishes_and_runs(client, clock):
    task = create(client, "largest", draft=True, metadata="m" * 65_000, description="d" * 20_000)
    status, body, _ = call(client, "POST", f"/api/tasks/{task['id']}/publish", {})
    assert status == 200 and body["run"]["status"] == "queued", body
    status, body, _ = call(client, "POST", f"/api/tasks/{task['id']}/cancel", {})
    assert status == 200 and body["task"]["status"] == "canceled", body
