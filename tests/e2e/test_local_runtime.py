"""The local runtime over real HTTP: health, identity, and both emulated event sources."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from chalicelib.identity import mint_token
from tests.e2e.conftest import start_runtime, stop_runtime
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_health_answers_with_the_printed_token(runtime):
    response = runtime.get("/health")
    assert response.status_code == 200
    assert response.json()["backend"] == {"reachable": True}


def test_the_printed_token_identifies_a_tenant_admin(runtime):
    body = runtime.get("/whoami").json()
    assert body["tenant"] == "dev"
    assert "admin" in body["roles"]


def test_bad_tokens_are_401_over_http(runtime):
    expired = mint_token(runtime.secret, tenant="dev", user="x", ttl_seconds=1, now=time.time() - 60)
    other = mint_token("some-other-secret-of-enough-length", tenant="dev", user="x")
    for token in (expired, other, "garbage"):
        response = runtime.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["traceId"]
    assert runtime.get("/whoami", headers={"Authorization": ""}).status_code == 401


def test_the_ticker_reaches_the_dispatcher_and_a_trigger_written_wakes_an_idle_one(runtime):
    def ticks() -> int:
        return runtime.get("/health").json()["roles"].get("dispatcher", {}).get("count", 0)

    # Idle (nothing due within the look-ahead window) the dispatcher passes only every half
    # window; a task with a trigger, created over HTTP, brings a pass at the next tick.
    first = wait_until(ticks, message="the dispatcher never ticked")
    created = runtime.request("PUT", "/daemon/api/tasks/ticker-wake", json={"run": "true", "cron": "0 3 * * *"})
    assert created.status_code in (200, 201), created.text
    later = wait_until(lambda: (n := ticks()) > first and n, timeout=10,
                       message="the dispatcher did not pass after a trigger was written")
    assert later > first
    assert runtime.request("DELETE", "/daemon/api/tasks/ticker-wake").status_code in (200, 204)


def test_a_message_on_the_runs_queue_reaches_the_worker_and_is_deleted(runtime):
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=runtime.backend,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    queue_url = sqs.get_queue_url(QueueName="tasklane-local-runs")["QueueUrl"]

    def handled() -> int:
        """Batches the worker has handled."""
        return runtime.get("/health").json()["roles"].get("worker", {}).get("count", 0)

    def on_the_queue() -> tuple[int, int]:
        """(waiting, received but not deleted): a message being handled is only in the second."""
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    before = handled()
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"kind": "noop"}))
    assert wait_until(lambda: (n := handled()) > before and n, message="the worker never handled it") > before
    # The handler reported it done, so the poller deleted it: neither waiting nor in flight.
    wait_until(lambda: on_the_queue() == (0, 0), message="the message was not deleted")
    assert on_the_queue() == (0, 0)


def test_ctrl_c_stops_the_runtime_cleanly():
    started = start_runtime()
    assert started.get("/health").status_code == 200
    assert stop_runtime(started) == 0
    assert "stopped" in "".join(started.output)
