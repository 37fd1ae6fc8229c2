"""The local runtime over real HTTP: health, identity, and both emulated event sources."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from chalicelib.identity import mint_token
from tests.e2e.conftest import start_runtime, stop_runtime, wait_for

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


def test_the_ticker_reaches_the_dispatcher(runtime):
    def ticks() -> int:
        return runtime.get("/health").json()["roles"].get("dispatcher", {}).get("count", 0)

    first = ticks()
    wait_for(lambda: ticks() > first)


def test_a_message_on_the_runs_queue_reaches_the_worker(runtime):
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=runtime.backend,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    queue_url = sqs.get_queue_url(QueueName="tasklane-local-runs")["QueueUrl"]

    def worker_count() -> int:
        return runtime.get("/health").json()["roles"].get("worker", {}).get("count", 0)

    before = worker_count()
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"kind": "noop"}))
    wait_for(lambda: worker_count() > before)
    # The handler reported it done, so the poller deleted it.
    wait_for(lambda: int(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessages"]) == 0)


def test_ctrl_c_stops_the_runtime_cleanly():
    started = start_runtime()
    assert started.get("/health").status_code == 200
    assert stop_runtime(started) == 0
    assert "stopped" in "".join(started.output)
