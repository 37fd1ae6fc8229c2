"""The runs queue: one SQS message per run to start, delayed so it starts on its second."""

from __future__ import annotations

import math
import threading
from typing import Any

from chalicelib import settings
from chalicelib.engine.ports import DeadLetter
from chalicelib.store.clients import aws_client
from chalicelib.store.run_messages import parse_run_message, run_message

MAX_DELAY_SECONDS = 900  # SQS's limit

_local = threading.local()


def _client() -> Any:
    current = settings.current()
    cached = getattr(_local, "sqs", None)
    if cached is None or cached[0] is not current:
        client = aws_client("sqs", region=current.region, endpoint_url=current.endpoint_url)
        _local.sqs = (current, client)
    return _local.sqs[1]


def send_run(tenant: str, task_id: str, run_id: str, *, delay_seconds: float = 0.0) -> None:
    """Ask a worker to start a run, `delay_seconds` from now (rounded up, at most 15 minutes)."""
    delay = max(0, min(MAX_DELAY_SECONDS, math.ceil(delay_seconds)))
    _client().send_message(
        QueueUrl=settings.current().runs_queue_url,
        MessageBody=run_message(tenant, task_id, run_id),
        DelaySeconds=delay,
    )


def dead_letters(max_messages: int = 10) -> list[dict[str, Any]]:
    """Receive a batch from the dead-letter queue (for the maintenance role)."""
    current = settings.current()
    if not current.dead_letter_queue_url:
        return []
    messages: list[dict[str, Any]] = _client().receive_message(
        QueueUrl=current.dead_letter_queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=0
    ).get("Messages", [])
    return messages


def delete_dead_letter(receipt_handle: str) -> None:
    _client().delete_message(QueueUrl=settings.current().dead_letter_queue_url, ReceiptHandle=receipt_handle)


class SqsRunsQueue:
    """`RunsQueue` over the SQS runs queue and its dead-letter queue (clients built on first use)."""

    def send_run(self, tenant: str, task_id: str, run_id: str, *, delay_seconds: float = 0.0) -> None:
        send_run(tenant, task_id, run_id, delay_seconds=delay_seconds)

    def parse_run_message(self, payload: dict[str, Any]) -> tuple[str, str, str] | None:
        return parse_run_message(payload)

    def dead_letters(self, max_messages: int = 10) -> list[DeadLetter]:
        return [DeadLetter(body=m["Body"], receipt=m["ReceiptHandle"]) for m in dead_letters(max_messages)]

    def delete_dead_letter(self, receipt: str) -> None:
        delete_dead_letter(receipt)
