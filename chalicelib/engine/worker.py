"""The worker: handles one run message from the runs queue."""

from __future__ import annotations

import logging

from chalicelib.engine.roles import QueueMessage
from chalicelib.observability import get_logger, log_event

_log = get_logger("worker")


def handle_message(payload: dict, message: QueueMessage) -> None:
    """Handle one message; raising makes it count as failed (it will be redelivered)."""
    log_event(_log, logging.INFO, "run message received", message_id=message.message_id, kind=payload.get("kind"))
