"""A run's log: captured line by line, stored in numbered chunks so readers see it as it grows.

Line numbers start at 1 and keep counting over the run's life, even when old lines are dropped,
so a reader can resume from a line number (`Last-Event-ID`). The size cap counts UTF-8 bytes
plus one per line; `log_on_full` decides what happens at the cap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from chalicelib.engine.model import LogOnFull as _LogOnFull

LogOnFull = _LogOnFull


@dataclass(frozen=True, kw_only=True)
class LogLine:
    """One line of a run's output."""

    #: 1-based, increasing over the run's life.
    n: int
    #: When it was captured (aware, UTC).
    ts: datetime
    #: `stdout`, `stderr` or `system` (lines tasklane itself writes).
    stream: str
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8")) + 1


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"
    SYSTEM = "system"


class LogChunkStore(Protocol):
    """Where chunks of log lines live (S3 when deployed, memory in unit tests)."""

    def put_chunk(self, log_key: str, index: int, lines: list[LogLine]) -> None: ...

    def get_chunk(self, log_key: str, index: int) -> list[LogLine]: ...

    def list_chunks(self, log_key: str) -> list[int]: ...

    def delete_chunk(self, log_key: str, index: int) -> None: ...

    def delete_log(self, log_key: str) -> None: ...


class InMemoryLogChunkStore:
    """A thread-safe chunk store in memory."""

    def __init__(self) -> None:
        self._chunks: dict[tuple[str, int], list[LogLine]] = {}
        self._lock = threading.Lock()

    def put_chunk(self, log_key: str, index: int, lines: list[LogLine]) -> None:
        with self._lock:
            self._chunks[(log_key, index)] = list(lines)

    def get_chunk(self, log_key: str, index: int) -> list[LogLine]:
        with self._lock:
            return list(self._chunks.get((log_key, index), []))

    def list_chunks(self, log_key: str) -> list[int]:
        with self._lock:
            return sorted(i for (k, i) in self._chunks if k == log_key)

    def delete_chunk(self, log_key: str, index: int) -> None:
        with self._lock:
            self._chunks.pop((log_key, index), None)

    def delete_log(self, log_key: str) -> None:
        with self._lock:
            for key in [k for k in self._chunks if k[0] == log_key]:
                del self._chunks[key]


@dataclass(frozen=True, kw_only=True)
class LogSummary:
    """What a closed log holds."""

    total_lines: int
    first_available: int
    truncated: bool
    bytes_stored: int


class RunLogWriter:
    """Captures a run's lines (thread-safe: stdout and stderr readers write concurrently)."""

    def __init__(
        self,
        store: LogChunkStore,
        log_key: str,
        *,
        max_size: int | None,
        on_full: LogOnFull,
        clock: Callable[[], datetime],
        chunk_lines: int = 500,
        chunk_seconds: float = 2.0,
    ) -> None:
        self._store, self._key = store, log_key
        self._max, self._on_full, self._clock = max_size, on_full, clock
        self._chunk_lines, self._chunk_seconds = chunk_lines, chunk_seconds
        self._lock = threading.Lock()
        self._pending: list[LogLine] = []
        self._chunk_index = 0
        self._chunk_started: datetime | None = None
        #: (chunk index, bytes, first line) of each stored chunk, oldest first.
        self._stored: list[tuple[int, int, int]] = []
        self._bytes = 0
        self._next_n = 1
        self.overflowed = False
        self.kill_requested = False
        self.truncated = False
        self._dropped_new = 0

    def write(self, stream: str, text: str) -> None:
        """Capture `text` (one or more lines) from `stream`."""
        lines = text.splitlines() or [""]
        with self._lock:
            for line in lines:
                self._append(stream, line)
            self._maybe_flush()

    def _append(self, stream: str, text: str) -> None:
        if self.kill_requested or (self._on_full is LogOnFull.DROP_NEW and self.overflowed):
            self._dropped_new += 1
            return
        line = LogLine(n=self._next_n, ts=self._clock(), stream=stream, text=text)
        if self._max is not None and self._bytes + line.size > self._max:
            self.overflowed = True
            self.truncated = True
            if self._on_full is LogOnFull.KILL_TASK:
                self.kill_requested = True
                return
            if self._on_full is LogOnFull.DROP_NEW:
                self._dropped_new += 1
                return
            self._drop_oldest(line.size)
        self._next_n += 1
        self._bytes += line.size
        if not self._pending:
            self._chunk_started = line.ts
        self._pending.append(line)

    def _drop_oldest(self, room: int) -> None:
        """Free `room` bytes by dropping the oldest lines (whole stored chunks, then pending)."""
        while self._bytes + room > (self._max or 0) and self._stored:
            index, size, _ = self._stored.pop(0)
            self._store.delete_chunk(self._key, index)
            self._bytes -= size
        while self._bytes + room > (self._max or 0) and self._pending:
            self._bytes -= self._pending.pop(0).size

    def _maybe_flush(self, force: bool = False) -> None:
        if not self._pending:
            return
        age = (self._clock() - self._chunk_started).total_seconds() if self._chunk_started else 0
        if force or len(self._pending) >= self._chunk_lines or age >= self._chunk_seconds:
            self._flush()

    def _flush(self) -> None:
        lines, self._pending = self._pending, []
        self._store.put_chunk(self._key, self._chunk_index, lines)
        self._stored.append((self._chunk_index, sum(line.size for line in lines), lines[0].n))
        self._chunk_index += 1

    def flush(self) -> None:
        """Store whatever is pending now (readers see it at once)."""
        with self._lock:
            self._maybe_flush(force=True)

    def close(self) -> LogSummary:
        """Flush the rest and say what the log holds."""
        with self._lock:
            if self._dropped_new:
                self._pending.append(
                    LogLine(n=self._next_n, ts=self._clock(), stream="system",
                            text=f"[log capped: {self._dropped_new} line(s) not captured]")
                )
                self._next_n += 1
            self._maybe_flush(force=True)
            first = self._stored[0][2] if self._stored else self._next_n
            return LogSummary(total_lines=self._next_n - 1, first_available=first, truncated=self.truncated,
                              bytes_stored=self._bytes)


@dataclass(frozen=True, kw_only=True)
class LogPage:
    """A page of a stored log."""

    lines: list[LogLine]
    #: The first line number still stored.
    first_available: int
    #: The number of the last line stored (lines are numbered from 1).
    total_lines: int
    #: Lines were dropped (a size cap).
    truncated: bool


def _all_lines(store: LogChunkStore, log_key: str) -> list[LogLine]:
    lines: list[LogLine] = []
    for index in store.list_chunks(log_key):
        lines.extend(store.get_chunk(log_key, index))
    return lines


def read_log(store: LogChunkStore, log_key: str, *, from_line: int, limit: int) -> LogPage:
    """Lines from `from_line` (1-based; negative counts back from the end), at most `limit`."""
    lines = _all_lines(store, log_key)
    first = lines[0].n if lines else 1
    total = lines[-1].n if lines else 0
    truncated = first > 1 or any(line.stream == "system" and line.text.startswith("[log capped") for line in lines)
    if from_line < 0:
        selected = lines[from_line:]
    else:
        selected = [line for line in lines if line.n >= max(1, from_line)]
    return LogPage(lines=selected[: max(0, limit)], first_available=first, total_lines=total, truncated=truncated)


def read_raw(store: LogChunkStore, log_key: str) -> str:
    """The stored log as plain text, one line per line."""
    return "".join(line.text + "\n" for line in _all_lines(store, log_key))
