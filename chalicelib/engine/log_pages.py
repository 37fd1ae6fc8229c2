"""Reading a stored log: a page of lines from a line number, within a byte budget.

A read fetches the log's head (what it holds, with its oldest and newest chunk), then only the
chunks from the one holding the first wanted line (listed by line range unless the head names
it), and stops fetching as soon as the page is full: reading line 1 or the last
line of a 50 MB log costs the same few small requests. A page holds at most `limit` lines and
at most `MAX_RESPONSE_BYTES` as its caller measures them (always at least one line, which the
line cap keeps small); `next_from` says where to continue when it stopped early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chalicelib.engine.log_values import ChunkRef, LogHead, LogLine
from chalicelib.engine.ports import LogChunkStore

#: The most one log response carries, in bytes as the face renders the lines.
MAX_RESPONSE_BYTES = 1024 * 1024


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
    #: The page stopped at the response byte cap before `limit` lines.
    cut: bool = False
    #: The line number to read next when lines after this page are stored; None at the end.
    next_from: int | None = None


def line_bytes(line: LogLine) -> int:
    """A line's cost as plain text: its UTF-8 bytes and the newline."""
    return line.size


def read_log(
    store: LogChunkStore,
    log_key: str,
    *,
    from_line: int,
    limit: int,
    max_bytes: int = MAX_RESPONSE_BYTES,
    cost: Callable[[LogLine], int] = line_bytes,
) -> LogPage:
    """Lines from `from_line` (1-based; negative counts back from the end), at most `limit` and
    at most `max_bytes` as `cost` measures each line."""
    head = store.get_head(log_key)
    if head is None:
        return LogPage(lines=[], first_available=1, total_lines=0, truncated=False)
    start = head.total_lines + from_line + 1 if from_line < 0 else from_line
    start = max(start, head.first_available, 1)
    lines: list[LogLine] = []
    spent, cut, full = 0, False, False
    for chunk in _chunks_from(store, log_key, head, start) if limit > 0 else ():
        for line in store.get_chunk(log_key, chunk, start):
            if line.n < start:
                continue
            price = cost(line)
            if lines and spent + price > max_bytes:
                cut = full = True
                break
            lines.append(line)
            spent += price
            if len(lines) >= limit:
                full = True
                break
        if full:
            break  # before asking for another chunk, which may cost a listing
    total = max(head.total_lines, lines[-1].n if lines else 0)
    more = bool(lines) and full and lines[-1].n < total
    return LogPage(lines=lines, first_available=head.first_available, total_lines=total,
                   truncated=head.truncated or head.first_available > 1, cut=cut,
                   next_from=lines[-1].n + 1 if more else None)


def _chunks_from(store: LogChunkStore, log_key: str, head: LogHead, start: int) -> Iterator[ChunkRef]:
    """The chunks holding `start` and on, up to the head's last line (lines stored after the head
    was read wait for the next read). The head names the oldest and newest chunk, so a read at
    either end needs no listing."""
    first, last = head.first_chunk, head.last_chunk
    if last is not None and last.first <= start <= last.last:
        yield last
        return
    if first is not None and first.first <= start <= first.last:
        yield first
        start = first.last + 1
    for chunk in store.chunks_from(log_key, start):
        if chunk.first > head.total_lines:
            return
        yield chunk


def read_text(store: LogChunkStore, log_key: str, *, from_line: int = 1,
              max_bytes: int = MAX_RESPONSE_BYTES) -> tuple[str, LogPage]:
    """The stored log as plain text from `from_line`, one line per line, at most `max_bytes`."""
    page = read_log(store, log_key, from_line=from_line, limit=10**9, max_bytes=max_bytes)
    return "".join(line.text + "\n" for line in page.lines), page
