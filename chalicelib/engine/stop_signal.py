"""Tells a run executing in this process that a stop was asked for it, without waiting for its
next heartbeat.

A stop request is written on the run's record; the worker holding the run learns of it when it
renews its lease (every `worker.HEARTBEAT_SECONDS`). Deployed, the API and the worker are other
Lambdas, and the heartbeat is the way. In the local runtime they share a process: the worker
registers each run it executes here, and whoever writes a stop request notes it, so the run's
stop event is set at once.
"""

from __future__ import annotations

import threading

RunKey = tuple[str, str, str]  # (tenant, task id, run id)

_lock = threading.Lock()
_executing: dict[RunKey, threading.Event] = {}


def register(key: RunKey, stop_event: threading.Event) -> None:
    """`key` is executing here; `note(key)` sets `stop_event`."""
    with _lock:
        _executing[key] = stop_event


def unregister(key: RunKey) -> None:
    """`key` stopped executing here."""
    with _lock:
        _executing.pop(key, None)


def note(tenant: str, task_id: str, run_id: str) -> None:
    """A stop was just requested for the run (written on its record): stop it now if it
    executes in this process."""
    with _lock:
        stop_event = _executing.get((tenant, task_id, run_id))
    if stop_event is not None:
        stop_event.set()
