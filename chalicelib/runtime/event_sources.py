"""Emulated Lambda event sources: a scheduled ticker and an SQS poller.

They call the very handler functions Lambda calls, with events of the same shape: the ticker a
CloudWatch scheduled event, the poller SQS batches; the poller deletes only the messages the
handler did not report in `batchItemFailures`, as Lambda does with ReportBatchItemFailures.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.observability import get_logger

_log = get_logger("event_sources")

Handler = Callable[[dict, Any], Any]


class LambdaContext:
    """The few context attributes handlers may read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def scheduled_event(now: datetime, region: str) -> dict:
    """A CloudWatch Events / EventBridge scheduled event."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/tasklane-local-dispatcher"],
        "detail": {},
    }


class Ticker(threading.Thread):
    """Invokes a scheduled handler every `interval` seconds until stopped."""

    def __init__(self, handler: Handler, *, interval: float, region: str, name: str = "dispatcher") -> None:
        super().__init__(name=f"ticker-{name}", daemon=True)
        self._handler = handler
        self._interval = interval
        self._region = region
        self._function = name
        self.stopping = threading.Event()
        self.ticks = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            started = datetime.now(UTC)
            try:
                self._handler(scheduled_event(started, self._region), LambdaContext(self._function))
                self.ticks += 1
            except Exception:
                _log.exception("scheduled handler failed", extra={"fields": {"function": self._function}})
            elapsed = (datetime.now(UTC) - started).total_seconds()
            self.stopping.wait(max(0.0, self._interval - elapsed))


def sqs_event(messages: list[dict], *, queue_arn: str, region: str) -> dict:
    """The Lambda SQS event for a batch received with ReceiveMessage."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class SqsPoller(threading.Thread):
    """Long-polls a queue and hands batches to an SQS handler, deleting what it reports done."""

    def __init__(
        self,
        handler: Handler,
        *,
        sqs: Any,
        queue_url: str,
        region: str,
        batch_size: int = 10,
        wait_seconds: int = 1,
        name: str = "run_worker",
    ) -> None:
        super().__init__(name=f"poller-{name}-{uuid.uuid4().hex[:4]}", daemon=True)
        self._handler = handler
        self._sqs = sqs
        self._queue_url = queue_url
        self._region = region
        self._batch_size = batch_size
        self._wait = wait_seconds
        self._function = name
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.stopping = threading.Event()
        self.delivered = 0

    def poll_once(self) -> int:
        """Receive one batch, invoke the handler, delete the successes; returns messages received."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        try:
            response = self._handler(
                sqs_event(received, queue_arn=self._queue_arn, region=self._region), LambdaContext(self._function)
            )
        except Exception:
            # Lambda treats a raised error as the whole batch failing: nothing is deleted.
            _log.exception("sqs handler failed", extra={"fields": {"function": self._function}})
            return len(received)
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        self.delivered += len(received)
        return len(received)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stopping.is_set():
                    return
                _log.exception("sqs poll failed")
                self.stopping.wait(1.0)
