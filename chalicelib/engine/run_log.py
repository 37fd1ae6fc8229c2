"""A run's log: captured line by line, stored in numbered chunks so readers see it as it grows.

Line numbers start at 1 and keep counting over the run's life, even when old lines are dropped,
so a reader can resume from a line number (`Last-Event-ID`). Each chunk is stored under the
range of line numbers it holds, and a small head record says what the whole log holds, so a
reader fetches only the chunks that hold the lines it wants (see `log_pages`).

Caps: one line keeps at most `MAX_LINE_BYTES` of UTF-8 (the rest is cut off and a marker says
how long the line was); one chunk holds at most `chunk_lines` lines or about `CHUNK_BYTES`;
the size cap counts UTF-8 bytes plus one per line and `log_on_full` decides what happens at it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.engine.log_values import NO_HEAD, ChunkRef, LogHead, LogLine
from chalicelib.engine.model import LogOnFull as _LogOnFull
from chalicelib.engine.ports import LogChunkStore

LogOnFull = _LogOnFull

#: The most of one line that is kept, in UTF-8 bytes; a longer line is cut and marked.
MAX_LINE_BYTES = 64 * 1024
#: A chunk is stored once its lines reach this many bytes (or `chunk_lines` lines).
CHUNK_BYTES = 256 * 1024




def cap_line(text: str, size: int | None = None) -> str:
    """`text` cut to `MAX_LINE_BYTES` of UTF-8 with a marker naming the line's full size; `size`
    is that full size when the caller already dropped the rest (the command reader does)."""
    encoded = text.encode("utf-8")
    full = max(size or 0, len(encoded))
    if full <= MAX_LINE_BYTES:
        return text
    kept = encoded[:MAX_LINE_BYTES].decode("utf-8", errors="ignore")
    return f"{kept} [line cut: {full} bytes, first {MAX_LINE_BYTES} kept]"


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
        chunk_bytes: int = CHUNK_BYTES,
        chunk_seconds: float = 2.0,
    ) -> None:
        self._store, self._key = store, log_key
        self._max, self._on_full, self._clock = max_size, on_full, clock
        self._chunk_lines, self._chunk_bytes, self._chunk_seconds = chunk_lines, chunk_bytes, chunk_seconds
        self._lock = threading.Lock()
        self._pending: list[LogLine] = []
        self._pending_bytes = 0
        self._chunk_started: datetime | None = None
        #: (chunk, bytes) of each stored chunk, oldest first.
        self._stored: list[tuple[ChunkRef, int]] = []
        self._bytes = 0
        self._next_n = 1
        self.overflowed = False
        self.kill_requested = False
        self.truncated = False
        self._dropped_new = 0
        #: The head last stored (None: none yet, which readers take for `NO_HEAD`).
        self._written_head: LogHead | None = None

    def write(self, stream: str, text: str, *, size: int | None = None) -> None:
        """Capture `text` (one or more lines) from `stream`; `size` is the full byte length of a
        single line the caller has already cut (see `cap_line`)."""
        lines = text.splitlines() or [""]
        with self._lock:
            for line in lines:
                self._append(stream, cap_line(line, size if len(lines) == 1 else None))
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
        self._pending_bytes += line.size

    def _drop_oldest(self, room: int) -> None:
        """Free `room` bytes by dropping the oldest lines (whole stored chunks, then pending)."""
        while self._bytes + room > (self._max or 0) and self._stored:
            chunk, size = self._stored.pop(0)
            self._store.delete_chunk(self._key, chunk)
            self._bytes -= size
        while self._bytes + room > (self._max or 0) and self._pending:
            dropped = self._pending.pop(0)
            self._bytes -= dropped.size
            self._pending_bytes -= dropped.size

    def _maybe_flush(self, force: bool = False) -> None:
        if not self._pending:
            return
        age = (self._clock() - self._chunk_started).total_seconds() if self._chunk_started else 0
        if (force or len(self._pending) >= self._chunk_lines or self._pending_bytes >= self._chunk_bytes
                or age >= self._chunk_seconds):
            self._flush()

    def _flush(self) -> None:
        lines, self._pending, size, self._pending_bytes = self._pending, [], self._pending_bytes, 0
        chunk = ChunkRef(first=lines[0].n, last=lines[-1].n)
        self._store.put_chunk(self._key, chunk, lines)
        self._stored.append((chunk, size))
        self._put_head()

    def _put_head(self) -> None:
        head = self._head()
        self._store.put_head(self._key, head)
        self._written_head = head

    def _head(self) -> LogHead:
        if self._stored:
            first = self._stored[0][0].first
        else:
            first = self._pending[0].n if self._pending else self._next_n
        return LogHead(first_available=first, total_lines=self._next_n - 1, truncated=self.truncated,
                       bytes_stored=self._bytes, first_chunk=self._stored[0][0] if self._stored else None,
                       last_chunk=self._stored[-1][0] if self._stored else None)

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
            if self._pending:
                self._flush()
            elif self._head() != (self._written_head or NO_HEAD):
                self._put_head()  # else what readers see already says it (a run with no output: no head at all)
            head = self._head()
            return LogSummary(total_lines=head.total_lines, first_available=head.first_available,
                              truncated=head.truncated, bytes_stored=head.bytes_stored)
