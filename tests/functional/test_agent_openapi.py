"""The agent face in /openapi.json: every endpoint of the page this face serves, at the page's
own paths, with the request fields tasklane takes where the page lost them."""

from __future__ import annotations

import json

PAGE = {
    ("/api/agent/tasks/claim-next", "post"), ("/api/agent/tasks/{run_id}/complete", "post"),
    ("/api/agent/tasks/{run_id}/fail", "post"), ("/api/agent/tasks/{run_id}/heartbeat", "post"),
    ("/api/agent/tasks/{run_id}/release", "post"), ("/api/task-runs/{id}", "get"),
    ("/api/task-runs/{id}/attach-session", "post"), ("/api/task-runs/{id}/cancel", "post"),
    ("/api/task-runs/{id}/claim", "post"), ("/api/task-runs/{id}/complete", "post"),
    ("/api/task-runs/{id}/fail", "post"), ("/api/task-runs/{id}/start", "post"), ("/api/tasks", "get"),
    ("/api/tasks", "post"), ("/api/tasks/{id}", "get"), ("/api/tasks/{id}", "patch"), ("/api/tasks/{id}", "delete"),
    ("/api/tasks/{id}/approve", "post"), ("/api/tasks/{id}/cancel", "post"), ("/api/tasks/{id}/children", "post"),
    ("/api/tasks/{id}/dependencies", "post"), ("/api/tasks/{id}/dependencies/{depends_on_id}", "delete"),
    ("/api/tasks/{id}/publish", "post"), ("/api/tasks/{id}/reject", "post"), ("/api/tasks/{id}/runs", "get"),
    ("/api/tasks/{id}/runs", "post"), ("/api/tasks/{id}/start", "post"), ("/api/tasks/{id}/stream", "get"),
    ("/api/tasks/{id}/timeline", "get"), ("/api/tasks/{id}/tree", "get"),
}


def test_every_endpoint_of_the_page_is_documented_under_the_agent_tag_with_the_lost_fields(client):
    document = json.loads(client.http.get("/openapi.json").body)
    agent = {(path, method) for path, item in document["paths"].items() for method, op in item.items()
             if op.get("tags") == ["agent"]}
    assert PAGE <= agent
    schemas = document["components"]["schemas"]
    assert set(schemas["AgentClaimNextBody"]["properties"]) == {"lease_seconds", "workspace_id", "scope",
                                                                "network_channel", "wait_seconds"}
    assert set(schemas["AgentHeartbeatBody"]["properties"]) == {"lease_seconds"}
    assert schemas["AgentTaskCreateBody"]["properties"]["approval_policy"]["anyOf"][0]["enum"] == ["manual", "none"]
    claim_next = document["paths"]["/api/agent/tasks/claim-next"]["post"]
    assert claim_next["requestBody"]["required"] is False and "204" in claim_next["description"]
    assert {"400", "404", "409"} <= set(claim_next["responses"])
    assert "after_sequence" in [p["name"] for p in document["paths"]["/api/tasks/{id}/stream"]["get"]["parameters"]]
