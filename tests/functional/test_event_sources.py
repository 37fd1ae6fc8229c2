"""The emulated SQS event source against a real moto server: only reported failures stay."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.runtime.event_sources import SqsPoller

pytestmark = pytest.mark.slow


def _sqs(url: str):
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=url)


def test_the_poller_deletes_what_the_handler_did_and_keeps_what_it_reported_failed(moto_server):
    sqs = _sqs(moto_server)
    queue_url = sqs.create_queue(QueueName="poller-test", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    for n in range(4):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"n": n}))
    seen: list[dict] = []

    def handler(event, context):
        failures = []
        for record in event["Records"]:
            body = json.loads(record["body"])
            seen.append(body)
            assert record["eventSource"] == "aws:sqs"
            if body["n"] % 2:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    poller = SqsPoller(handler, sqs=sqs, queue_url=queue_url, region="us-east-1", wait_seconds=0)
    received = 0
    while received < 4:
        received += poller.poll_once()
    assert sorted(b["n"] for b in seen) == [0, 1, 2, 3]
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    in_flight = int(attrs["ApproximateNumberOfMessagesNotVisible"]) + int(attrs["ApproximateNumberOfMessages"])
    assert in_flight == 2  # the two reported failures come back; the two successes are gone


def test_a_handler_that_raises_leaves_the_whole_batch(moto_server):
    sqs = _sqs(moto_server)
    queue_url = sqs.create_queue(QueueName="poller-raise")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")

    def handler(event, context):
        raise RuntimeError("boom")

    poller = SqsPoller(handler, sqs=sqs, queue_url=queue_url, region="us-east-1", wait_seconds=0)
    assert poller.poll_once() == 1
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 1
