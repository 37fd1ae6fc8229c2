"""Races with real threads: release them together, collect what each answered."""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(target: Callable[[], object], threads: int) -> list:
    """Run `target` on `threads` threads released together; their results (any error fails)."""
    barrier = threading.Barrier(threads)
    results: list = []
    errors: list = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(target())
        except Exception as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not errors, errors
    return results
