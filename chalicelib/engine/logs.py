"""Where run logs live: one chunked log per run in the log bucket."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from chalicelib import settings
from chalicelib.engine.model import Run
from chalicelib.engine.run_log import LogChunkStore, LogPage, read_log, read_raw
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


def page(run: Run, *, from_line: int, limit: int) -> LogPage:
    """Lines of a run's log (negative `from_line` counts from the end)."""
    return read_log(log_store(), log_key(run), from_line=from_line, limit=limit)


def raw(run: Run) -> str:
    """A run's whole stored log as text."""
    return read_raw(log_store(), log_key(run))


def delete_log(run: Run) -> None:
    """Remove a run's log (retention)."""
    log_store().delete_log(log_key(run))
