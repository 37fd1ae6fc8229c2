"""Health, the OpenAPI document, authentication and the error contract through chalice.test.Client."""

from __future__ import annotations

import json
import time

from chalicelib.identity import mint_token
from tests.conftest import TEST_SECRET


def test_health_needs_no_token_and_reports_the_backend(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["backend"] == {"reachable": True}
    assert body["version"]


def test_openapi_document_is_served(client):
    body = json.loads(client.http.get("/openapi.json").body)
    assert body["openapi"].startswith("3.1")
    assert "/health" in body["paths"]


def test_a_dispatcher_tick_is_visible_in_health(client):
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    client.lambda_.invoke("dispatcher", event)
    roles = json.loads(client.http.get("/health").body)["roles"]
    assert roles["dispatcher"]["count"] == 1


def test_a_worker_batch_reports_only_failed_messages(client, monkeypatch):
    from chalicelib.engine import worker

    handle = worker.handle_message

    def store_briefly_unreachable_for_r2(payload, message, **kwargs):
        if payload.get("run_id") == "r2":
            raise ConnectionError("the store did not answer")
        return handle(payload, message, **kwargs)

    monkeypatch.setattr(worker, "handle_message", store_briefly_unreachable_for_r2)
    bodies = [json.dumps({"v": 1, "tenant": "acme", "task_id": "t", "run_id": f"r{n}"}) for n in (1, 2, 3)]
    batch = client.events.generate_sqs_event(message_bodies=bodies, queue_name="tasklane-test-runs")
    for n, record in enumerate(batch["Records"], start=1):
        record["messageId"] = f"m{n}"
    result = client.lambda_.invoke("run_worker", batch).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    worker_role = json.loads(client.http.get("/health").body)["roles"]["worker"]
    assert (worker_role["handled"], worker_role["failed"]) == (2, 1)


def test_a_malformed_message_is_dropped_not_retried(client):
    event = client.events.generate_sqs_event(message_bodies=["not json"], queue_name="tasklane-test-runs")
    assert client.lambda_.invoke("run_worker", event).payload == {"batchItemFailures": []}


def test_whoami_answers_the_principal_of_a_good_token(client, auth):
    response = client.http.get("/whoami", headers=auth(tenant="acme", user="alice", admin=True))
    assert response.status_code == 200
    assert json.loads(response.body) == {"user": "alice", "tenant": "acme", "roles": ["admin"],
                                         "actor_kind": None, "session": None}


def _assert_401(response):
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body["error"]["code"] == "unauthenticated"
    assert body["traceId"]
    return body


def test_a_request_without_a_token_is_refused_by_the_gateway_with_401(client):
    # API Gateway (and chalice's emulation of it) refuses a missing header before the app runs;
    # template.yaml's MissingTokenResponse gives that refusal a JSON body when deployed.
    assert client.http.get("/whoami").status_code == 401


def test_an_expired_token_is_401(client):
    expired = mint_token(TEST_SECRET, tenant="acme", user="a", ttl_seconds=1, now=time.time() - 60)
    body = _assert_401(client.http.get("/whoami", headers={"Authorization": f"Bearer {expired}"}))
    assert "expired" in body["error"]["message"]


def test_a_token_signed_with_another_secret_is_401(client):
    forged = mint_token("not-the-server-secret-but-long-enough", tenant="acme", user="a")
    _assert_401(client.http.get("/whoami", headers={"Authorization": f"Bearer {forged}"}))


def test_a_garbage_token_is_401(client):
    _assert_401(client.http.get("/whoami", headers={"Authorization": "Bearer not.a.jwt"}))


def test_a_non_bearer_scheme_is_401(client):
    _assert_401(client.http.get("/whoami", headers={"Authorization": "Basic YWxpY2U6cHc="}))
