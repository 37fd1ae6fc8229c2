"""Waiting in tests: on an observable condition, with a deadline, never a fixed sleep.

The only `time.sleep` the test rules (tests/unit/test_test_rules.py) allow is the one here, the
pause between two looks at the condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 15.0, interval: float = 0.05,
               message: str | None = None) -> T:
    """Call `predicate` until it returns something truthy and return that; fail the test with
    `message` once `timeout` seconds pass (the predicate is always tried once more at the end)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(message or f"condition not met within {timeout:g}s")
        time.sleep(min(interval, left))
