"""Where run logs live: one chunked log per run in the log bucket."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3

from chalicelib import settings
from chalicelib.engine.log_pages import MAX_RESPONSE_BYTES, LogPage, line_bytes, read_log, read_text
from chalicelib.engine.model import Run
from chalicelib.engine.run_log import LogChunkStore, LogLine
from chalicelib.store.log_chunks import S3LogChunkStore

_lock = threading.Lock()
_cached: tuple[Any, LogChunkStore] | None = None


def log_store() -> LogChunkStore:
    """The log chunk store for the current settings (created once, reused by warm Lambdas)."""
    global _cached
    current = settings.current()
    with _lock:
        if _cached is None or _cached[0] is not current:
            client = boto3.session.Session().client("s3", region_name=current.region,
                                                    endpoint_url=current.endpoint_url)
            _cached = (current, S3LogChunkStore(client, current.log_bucket))
        return _cached[1]


def log_key(run: Run) -> str:
    """The object prefix of a run's log; starts with the tenant like every key."""
    return f"{run.tenant}/{run.task_id}/{run.run_id}"


def size_cap(task_cap: int | None) -> int | None:
    """A run's log cap: its task's `log_max_size`, else the service's default (None: unlimited)."""
    return task_cap or settings.current().log_max_size or None


def page(run: Run, *, from_line: int, limit: int, max_bytes: int = MAX_RESPONSE_BYTES,
         cost: Callable[[LogLine], int] = line_bytes) -> LogPage:
    """Lines of a run's log (negative `from_line` counts from the end), at most `limit` lines and
    `max_bytes` as `cost` measures them; only the chunks holding them are read."""
    return read_log(log_store(), log_key(run), from_line=from_line, limit=limit, max_bytes=max_bytes, cost=cost)


def text(run: Run, *, from_line: int = 1, max_bytes: int = MAX_RESPONSE_BYTES) -> tuple[str, LogPage]:
    """A run's stored log as text from `from_line`, at most `max_bytes`; the page says where to
    continue when it was cut."""
    return read_text(log_store(), log_key(run), from_line=from_line, max_bytes=max_bytes)


def last_line(run: Run) -> int:
    """The number of the last line stored so far (0: none); one small read."""
    head = log_store().get_head(log_key(run))
    return head.total_lines if head else 0


def raw(run: Run) -> str:
    """The first `MAX_RESPONSE_BYTES` of a run's stored log as text."""
    return text(run)[0]


def delete_log(run: Run) -> None:
    """Remove a run's log (retention)."""
    log_store().delete_log(log_key(run))
