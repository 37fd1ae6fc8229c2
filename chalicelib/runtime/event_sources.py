"""Emulated Lambda event sources: a scheduled ticker and an SQS poller.

They call the very handler functions Lambda calls, with events of the same shape: the ticker a
CloudWatch scheduled event, the poller SQS batches; the poller deletes only the messages the
handler did not report in `batchItemFailures`, as Lambda does with ReportBatchItemFailures.
Like Lambda's SQS event source, the poller hands each batch off and keeps receiving, up to one
concurrency bound (`RunSlots`) shared by every poller of the queue.
"""

from __future__ import annotations

import threading
import time
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
    """Invokes a scheduled handler every `interval` seconds until stopped.

    With `idle_interval`, a pass whose summary says nothing was due (`{"due": 0, ...}`, the
    dispatcher's) is followed by passes only every `idle_interval` seconds, until `poke()` is
    called (checked every `interval`) or a pass finds something due again."""

    def __init__(self, handler: Handler, *, interval: float, region: str, name: str = "dispatcher",
                 idle_interval: float | None = None) -> None:
        super().__init__(name=f"ticker-{name}", daemon=True)
        self._handler = handler
        self._interval = interval
        self._idle_interval = idle_interval
        self._region = region
        self._function = name
        self._poked = threading.Event()
        self.stopping = threading.Event()
        self.ticks = 0
        #: Times the loop woke, passing or not (what tests watch to see an idle ticker hold off).
        self.wakes = 0

    def poke(self) -> None:
        """Run a pass at the next `interval`, idle or not (thread-safe)."""
        self._poked.set()

    def run(self) -> None:
        idle_since: float | None = None  # monotonic time of the last pass that found nothing due
        while not self.stopping.is_set():
            began = time.monotonic()
            if idle_since is None or self._poked.is_set() or began - idle_since >= (self._idle_interval or 0.0):
                self._poked.clear()  # before the pass: a poke during it brings the next one
                idle_since = began if self._pass() else None
            self.wakes += 1
            self.stopping.wait(max(0.0, self._interval - (time.monotonic() - began)))

    def _pass(self) -> bool:
        """Invoke the handler once; True if it says nothing was due (and idle passes are on)."""
        try:
            summary = self._handler(scheduled_event(datetime.now(UTC), self._region), LambdaContext(self._function))
            self.ticks += 1
        except Exception:
            _log.exception("scheduled handler failed", extra={"fields": {"function": self._function}})
            return False
        return self._idle_interval is not None and isinstance(summary, dict) and summary.get("due") == 0


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


class RunSlots:
    """How many runs may be in flight at once, shared by every poller of one queue.

    Lambda scales its SQS consumers with the backlog up to the function's concurrency; here one
    message received is one slot taken until the batch it came in is handled, and a poller asks
    the queue for no more messages than there are free slots, so past the bound messages stay
    in the queue.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the concurrency bound must be at least 1")
        self.limit = limit
        self._free = limit
        self._changed = threading.Condition()

    def take(self, most: int, *, timeout: float) -> int:
        """Take up to `most` free slots, waiting up to `timeout` s for one; returns how many."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._free > 0, timeout=timeout):
                return 0
            taken = min(most, self._free)
            self._free -= taken
            return taken

    def give_back(self, count: int) -> None:
        """Free `count` slots."""
        if count <= 0:
            return
        with self._changed:
            self._free += count
            self._changed.notify_all()

    @property
    def in_flight(self) -> int:
        """Slots taken right now."""
        with self._changed:
            return self.limit - self._free

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no slot is taken; False if some still are after `timeout` s."""
        with self._changed:
            return self._changed.wait_for(lambda: self._free == self.limit, timeout=timeout)


class SqsPoller(threading.Thread):
    """Long-polls a queue and hands each batch off to the SQS handler, then polls again.

    Each batch runs in its own thread, so a slow run never holds back the next receive; the
    shared `slots` bound how many messages are in flight. The handler's `batchItemFailures`
    stay in the queue, the rest are deleted, as Lambda does with ReportBatchItemFailures.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        sqs: Any,
        queue_url: str,
        region: str,
        slots: RunSlots | None = None,
        batch_size: int = 10,
        wait_seconds: int = 1,
        name: str = "run_worker",
    ) -> None:
        super().__init__(name=f"poller-{name}-{uuid.uuid4().hex[:4]}", daemon=True)
        self._handler = handler
        self._sqs = sqs
        self._queue_url = queue_url
        self._region = region
        self._slots = slots or RunSlots(batch_size)
        self._batch_size = batch_size
        self._wait = wait_seconds
        self._function = name
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._count_lock = threading.Lock()
        self.stopping = threading.Event()
        self.delivered = 0

    def receive(self) -> list[dict]:
        """Receive at most as many messages as there are free slots; each one received keeps
        its slot until `deliver` has handled it. Empty if no slot freed up within the wait."""
        wanted = self._slots.take(self._batch_size, timeout=max(self._wait, 0.1))
        if not wanted:
            return []
        try:
            received = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=self._wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        except BaseException:
            self._slots.give_back(wanted)
            raise
        self._slots.give_back(wanted - len(received))
        return received

    def deliver(self, received: list[dict]) -> None:
        """Invoke the handler with one batch, delete what it did, and free the batch's slots."""
        try:
            self._invoke(received)
        finally:
            self._slots.give_back(len(received))
            with self._count_lock:
                self.delivered += len(received)

    def _invoke(self, received: list[dict]) -> None:
        try:
            response = self._handler(
                sqs_event(received, queue_arn=self._queue_arn, region=self._region), LambdaContext(self._function)
            )
        except Exception:
            # Lambda treats a raised error as the whole batch failing: nothing is deleted.
            _log.exception("sqs handler failed", extra={"fields": {"function": self._function}})
            return
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        if not done:
            return
        try:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        except Exception:
            # Undeleted messages come back after their visibility timeout; the worker drops
            # a message whose run already ended.
            _log.exception("sqs delete failed", extra={"fields": {"function": self._function}})

    def poll_once(self) -> int:
        """Receive one batch and deliver it in this thread; returns the messages received."""
        received = self.receive()
        if received:
            self.deliver(received)
        return len(received)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                received = self.receive()
            except Exception:
                if self.stopping.is_set():
                    return
                _log.exception("sqs poll failed")
                self.stopping.wait(1.0)
                continue
            if received:
                threading.Thread(target=self.deliver, args=(received,), name=f"{self.name}-batch", daemon=True).start()
