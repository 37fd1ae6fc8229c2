"""The emulated SQS event source against a real moto server: only reported failures stay, batches
are handed off, and the shared run slots bound what is received."""

from __future__ import annotations

import json
import threading

import boto3
import pytest

from chalicelib.runtime.event_sources import RunSlots, SqsPoller
from tests.waiting import wait_until

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
    received = [0]

    def all_four_received() -> bool:
        received[0] += poller.poll_once()
        return received[0] >= 4

    wait_until(all_four_received, timeout=10, interval=0, message="fewer than 4 messages received")
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


def test_a_batch_in_flight_does_not_hold_back_the_next_receive(moto_server):
    sqs = _sqs(moto_server)
    queue_url = sqs.create_queue(QueueName="poller-handoff")["QueueUrl"]
    slow_started, release, fast_done = threading.Event(), threading.Event(), threading.Event()

    def handler(event, context):
        for record in event["Records"]:
            if record["body"] == '"slow"':
                slow_started.set()
                assert release.wait(20)
            else:
                fast_done.set()
        return {"batchItemFailures": []}

    poller = SqsPoller(handler, sqs=sqs, queue_url=queue_url, region="us-east-1", slots=RunSlots(4), wait_seconds=0)
    poller.start()
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody='"slow"')
        assert slow_started.wait(10)
        sqs.send_message(QueueUrl=queue_url, MessageBody='"fast"')
        assert fast_done.wait(10)  # while the slow batch still holds its thread
        assert not release.is_set()
    finally:
        release.set()
        poller.stopping.set()
        poller.join(10)
    wait_until(lambda: poller.delivered == 2)


def test_pollers_never_hold_more_messages_than_the_shared_slots(moto_server):
    sqs = _sqs(moto_server)
    queue_url = sqs.create_queue(QueueName="poller-bound", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for n in range(5):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"n": n}))
    gate = threading.Event()
    lock = threading.Lock()
    holding, most = [0], [0]

    def handler(event, context):
        with lock:
            holding[0] += len(event["Records"])
            most[0] = max(most[0], holding[0])
        gate.wait(20)
        with lock:
            holding[0] -= len(event["Records"])
        return {"batchItemFailures": []}

    def counts() -> tuple[int, int]:
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    slots = RunSlots(2)
    pollers = [SqsPoller(handler, sqs=sqs, queue_url=queue_url, region="us-east-1", slots=slots, wait_seconds=0)
               for _ in range(2)]
    for poller in pollers:
        poller.start()
    try:
        wait_until(lambda: holding[0] == 2)
        assert counts() == (3, 2)  # past the bound the rest stay visible in the queue
        assert slots.in_flight == 2
        gate.set()
        wait_until(lambda: counts() == (0, 0))
    finally:
        gate.set()
        for poller in pollers:
            poller.stopping.set()
        for poller in pollers:
            poller.join(10)
    assert most[0] <= 2
    assert slots.wait_idle(5)
