"""Counts of items read, so benchmarks can show what a code path costs in DynamoDB reads."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_items_read = 0


def count_read(items: int = 1) -> None:
    """Record that `items` items were read."""
    global _items_read
    with _lock:
        _items_read += items


def items_read() -> int:
    """Items read since the process started (or the last `reset`)."""
    return _items_read


def reset() -> None:
    global _items_read
    with _lock:
        _items_read = 0
