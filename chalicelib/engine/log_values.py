"""The values a run's log is made of: lines, the chunks that hold them, the head that sums them up.

Kept apart from the writer (engine/run_log.py) so the stores that keep them need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True, kw_only=True)
class ChunkRef:
    """Where one stored chunk sits in the log: the line numbers it holds."""

    #: Its first line's number.
    first: int
    #: Its last line's number.
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True, kw_only=True)
class LogHead:
    """What a log holds as a whole; rewritten each time a chunk is stored."""

    #: The first line number still stored.
    first_available: int
    #: The number of the last line stored (0: none yet).
    total_lines: int
    #: Lines were dropped or not captured (a size cap).
    truncated: bool
    #: UTF-8 bytes stored (plus one per line).
    bytes_stored: int
    #: The oldest and the newest stored chunk, so reads of the start or the tail need no listing.
    first_chunk: ChunkRef | None = None
    last_chunk: ChunkRef | None = None


#: What a log with no head stored holds: nothing (a run that wrote no line stores no head).
NO_HEAD = LogHead(first_available=1, total_lines=0, truncated=False, bytes_stored=0)
