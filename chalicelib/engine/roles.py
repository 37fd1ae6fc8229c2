"""The three background roles, as plain functions the Lambda handlers (and tests) call.

- dispatcher: turns due triggers into runs on the runs queue (engine/dispatch.py);
- worker: executes the runs named by a batch of queue messages (engine/worker.py);
- maintenance: retention, stuck runs, service instances (engine/maintenance.py).

Each stamps a heartbeat so `/health` shows it is alive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.engine import backend
from chalicelib.observability import get_logger, log_event

_log = get_logger("roles")


@dataclass(frozen=True, kw_only=True)
class QueueMessage:
    """One SQS message as the worker sees it."""

    message_id: str
    body: str
    receive_count: int = 1


@dataclass(frozen=True, kw_only=True)
class BatchOutcome:
    """Which messages of a batch failed (to be redelivered); the rest are done."""

    failed_ids: list[str]

    def as_lambda_response(self) -> dict[str, list[dict[str, str]]]:
        """The `ReportBatchItemFailures` shape Lambda (and the local poller) expects."""
        return {"batchItemFailures": [{"itemIdentifier": mid} for mid in self.failed_ids]}


MessageHandler = Callable[[dict[str, Any], QueueMessage], None]


def run_dispatcher(now: datetime, tick: Callable[[datetime], dict[str, int]]) -> dict[str, int]:
    """One dispatcher tick: `tick(now)` does the dispatching; returns its summary."""
    summary = tick(now)
    backend.current().heartbeats.record_heartbeat("dispatcher", now=now, **summary)
    return summary


def run_maintenance(now: datetime, sweep: Callable[[datetime], dict[str, int]]) -> dict[str, int]:
    """One maintenance pass: `sweep(now)` does the work; returns its summary."""
    summary = sweep(now)
    backend.current().heartbeats.record_heartbeat("maintenance", now=now, **summary)
    return summary


def heartbeats() -> dict[str, dict[str, Any]]:
    """Every role's last heartbeat, `{role: {at, count, ...}}`; `NotReady` if the backend is
    unreachable."""
    return backend.current().heartbeats.read_heartbeats()


def _handle_one(message: QueueMessage, handle: MessageHandler) -> bool:
    """Handle one message; False if it should be redelivered."""
    try:
        payload = json.loads(message.body)
        if not isinstance(payload, dict):
            raise ValueError("message body is not a JSON object")
    except ValueError:
        # A malformed message can never succeed: drop it rather than cycle it to the DLQ.
        log_event(_log, logging.ERROR, "dropping malformed queue message", message_id=message.message_id)
        return True
    try:
        handle(payload, message)
    except Exception:
        _log.exception("run message failed", extra={"fields": {"message_id": message.message_id}})
        return False
    return True


def run_worker_batch(messages: Iterable[QueueMessage], handle: MessageHandler, *, now: datetime) -> BatchOutcome:
    """Handle a batch's messages concurrently (runs wait on processes and sockets, not the CPU);
    a message whose handling raises is reported failed, the others done."""
    batch = list(messages)
    if len(batch) == 1:
        results = [_handle_one(batch[0], handle)]
    else:
        with ThreadPoolExecutor(max_workers=max(1, len(batch)), thread_name_prefix="run") as pool:
            results = list(pool.map(lambda m: _handle_one(m, handle), batch))
    failed = [m.message_id for m, ok in zip(batch, results, strict=True) if not ok]
    backend.current().heartbeats.record_heartbeat("worker", now=now, handled=len(batch) - len(failed),
                                                  failed=len(failed))
    return BatchOutcome(failed_ids=failed)
