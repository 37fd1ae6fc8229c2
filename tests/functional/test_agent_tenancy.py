"""Another tenant's agent task or run is a 404 on every agent endpoint, and nothing of it changes;
a daemon run of the same tenant is not an agent run either."""

from __future__ import annotations

import pytest

from tests.functional.agent_support import AGENT1, GLOBEX, auth, call, claim, create, pin_clock

INTRUDER_AGENT = auth("globex", "bot", session="s1")


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return pin_clock(monkeypatch)


def test_another_tenants_task_and_run_are_404_everywhere_and_stay_as_they_were(client, clock):
    blocker = create(client, "blocker")
    clock.advance(1)  # the blocker's run is the oldest: s1 claims it
    task = create(client, "secret", metadata={"k": "v"})
    claim(client)  # s1 of acme holds the blocker's run
    run_id = call(client, "GET", f"/api/tasks/{task['id']}/runs")[1]["runs"][0]["id"]
    held = call(client, "GET", f"/api/tasks/{blocker['id']}/runs")[1]["runs"][0]["id"]
    tid = task["id"]
    before = call(client, "GET", f"/api/tasks/{tid}")[1]
    their_task = create(client, "theirs", headers=GLOBEX)
    endpoints = [
        ("GET", f"/api/tasks/{tid}", None), ("PATCH", f"/api/tasks/{tid}", {"title": "x"}),
        ("DELETE", f"/api/tasks/{tid}", None), ("GET", f"/api/tasks/{tid}/tree", None),
        ("POST", f"/api/tasks/{tid}/children", {"scope": "global", "title": "c"}),
        ("POST", f"/api/tasks/{tid}/cancel", {}), ("POST", f"/api/tasks/{tid}/publish", {}),
        ("POST", f"/api/tasks/{tid}/approve", {}), ("POST", f"/api/tasks/{tid}/reject", None),
        ("POST", f"/api/tasks/{tid}/start", {}), ("GET", f"/api/tasks/{tid}/runs", None),
        ("POST", f"/api/tasks/{tid}/runs", {}),
        ("POST", f"/api/tasks/{tid}/dependencies", {"depends_on_task_id": their_task["id"]}),
        ("DELETE", f"/api/tasks/{tid}/dependencies/{blocker['id']}", None),
        ("GET", f"/api/tasks/{tid}/timeline", None), ("GET", f"/api/tasks/{tid}/stream", None),
        ("GET", f"/api/task-runs/{run_id}", None), ("POST", f"/api/task-runs/{run_id}/claim", {}),
        ("POST", f"/api/task-runs/{run_id}/start", {}), ("POST", f"/api/task-runs/{run_id}/complete", {}),
        ("POST", f"/api/task-runs/{run_id}/fail", {"error": "e"}), ("POST", f"/api/task-runs/{run_id}/cancel", {}),
        ("POST", f"/api/task-runs/{run_id}/attach-session", {"session_id": "s"}),
        ("POST", f"/api/agent/tasks/{held}/heartbeat", {}), ("POST", f"/api/agent/tasks/{held}/complete", {}),
        ("POST", f"/api/agent/tasks/{held}/fail", {"error": "e"}), ("POST", f"/api/agent/tasks/{held}/release", {}),
    ]
    for method, path, body in endpoints:
        for headers in (GLOBEX, INTRUDER_AGENT):
            status, answer, _ = call(client, method, path, body, headers)
            assert status == 404 and set(answer) == {"error"}, (method, path, status, answer)
    # their own view holds only their task; a dependency on our task from theirs is refused as unknown
    assert [t["id"] for t in call(client, "GET", "/api/tasks", headers=GLOBEX)[1]["tasks"]] == [their_task["id"]]
    status, answer, _ = call(client, "POST", f"/api/tasks/{their_task['id']}/dependencies",
                             {"depends_on_task_id": tid}, GLOBEX)
    assert status == 400 and "names no task" in answer["error"]
    assert call(client, "POST", "/api/agent/tasks/claim-next", None, INTRUDER_AGENT)[1]["claim"]["task"]["id"] == \
        their_task["id"]
    assert call(client, "GET", f"/api/tasks/{tid}")[1] == before
    assert call(client, "POST", f"/api/agent/tasks/{held}/heartbeat", {}, AGENT1)[0] == 200


def test_a_run_of_another_face_is_not_an_agent_run(client, clock):
    from chalicelib.engine import backend
    from chalicelib.engine.model import Run, RunStatus, TriggeredBy

    backend.current().runs.create_run(Run(tenant="acme", task_id="nightly", run_id="0000000000001-daemon",
                                          status=RunStatus.PENDING, triggered_by=TriggeredBy.API, created_at=clock()))
    for method, path, body in (("GET", "/api/task-runs/0000000000001-daemon", None),
                               ("POST", "/api/task-runs/0000000000001-daemon/cancel", {}),
                               ("POST", "/api/agent/tasks/0000000000001-daemon/heartbeat", {})):
        assert call(client, method, path, body, AGENT1)[0] == 404, path
