"""Tells a dispatcher that waits between passes that a trigger may now be due sooner.

Deployed, the dispatcher runs on its schedule and nobody listens. The local runtime's dispatcher
ticks every second while triggers are due within its look-ahead window and only every half
window when none are: nothing stored can fall due before then, and any trigger written since
(a task created, replaced or enabled, an execution event armed) is announced here, so the next
second's tick runs a pass. That keeps an idle runtime from querying every due shard every second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

Listener = Callable[[datetime], None]

_lock = threading.Lock()
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Call `listener(at)` whenever a trigger is written to fire at `at`."""
    with _lock:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    """Stop calling `listener` (no error if it was not subscribed)."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def note(at: datetime | None) -> None:
    """A trigger was just written to fire at `at` (None: it fires no more; nobody is told)."""
    if at is None:
        return
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(at)
