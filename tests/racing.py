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


def race_each(*targets: Callable[[], object]) -> list:
    """Run each of `targets` on its own thread, released together; their results in the order
    given (a target that raises gives its exception, for the test to judge)."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)

    def run(index: int, target: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[index] = target()
        except Exception as exc:  # judged by the caller: a lost race may be an error by design
            results[index] = exc

    pool = [threading.Thread(target=run, args=(n, target)) for n, target in enumerate(targets)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results
