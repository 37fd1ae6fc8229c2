"""Structured JSON logs and trace ids.

Every log line is one JSON object carrying the current trace id; every error response carries
the same id, so an operator can go from a user's error body to the log lines behind it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import uuid
from datetime import UTC, datetime

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)

#: Keys whose values never reach a log line, whatever the caller passes.
_SECRET_KEYS = frozenset({"authorization", "token", "secret", "password", "jwt_secret", "claim_token"})


def new_trace_id() -> str:
    """A fresh trace id (32 hex characters, like an X-Ray/W3C trace id)."""
    return uuid.uuid4().hex


def set_trace_id(trace_id: str | None) -> contextvars.Token:
    """Bind a trace id to the current request or event; returns a token for `reset`."""
    return _trace_id.set(trace_id or new_trace_id())


def trace_id() -> str:
    """The current trace id, creating one if none is bound."""
    current = _trace_id.get()
    if current is None:
        current = new_trace_id()
        _trace_id.set(current)
    return current


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with timestamp, level, logger, message and trace id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", None) or _trace_id.get(),
        }
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = "[redacted]" if key.lower() in _SECRET_KEYS else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """Send the `tasklane` loggers to stderr as JSON lines (idempotent)."""
    root = logging.getLogger("tasklane")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


class _StampTraceId(logging.Filter):
    """Stamps each record with the trace id current when it was logged (not when formatted)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            record.trace_id = _trace_id.get()
        return True


_STAMP = _StampTraceId()


def get_logger(name: str) -> logging.Logger:
    """A logger under the `tasklane` namespace; its records carry the current trace id."""
    logger = logging.getLogger(f"tasklane.{name}")
    if _STAMP not in logger.filters:
        logger.addFilter(_STAMP)
    return logger


def log_event(logger: logging.Logger, level: int, message: str, **fields: object) -> None:
    """Log a message with structured fields (secret-looking keys are redacted)."""
    logger.log(level, message, extra={"fields": fields})
