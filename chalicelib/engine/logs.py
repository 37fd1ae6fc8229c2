"""Where run logs live: one chunked log per run in the backend's log chunk store."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import settings
from chalicelib.engine import backend
from chalicelib.engine.log_pages import MAX_RESPONSE_BYTES, LogPage, line_bytes, read_log, read_text
from chalicelib.engine.log_values import LogLine
from chalicelib.engine.model import Run
from chalicelib.engine.ports import LogChunkStore


def log_store() -> LogChunkStore:
    """The log chunk store of the current backend (S3 when deployed)."""
    return backend.current().logs


def log_key(run: Run) -> str:
    """The key of a run's log, as its store lays keys out."""
    return log_store().log_key(run.tenant, run.task_id, run.run_id)


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
