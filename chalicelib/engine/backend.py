"""How the engine reaches storage: one bundle of ports, looked up when a call needs it.

`current()` answers the installed backend, or else the default the composition root
(`chalicelib/backends.py`) registered: the deployed set (DynamoDB, SQS, S3) for the current
settings, built on first use, like the Chalice workshop's `get_app_db()`: nothing connects at
import and warm Lambdas reuse the clients.
Tests install the in-memory twin with `use()` or `using()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib.engine.ports import (
    AgentTaskStore,
    DataKeys,
    EventLog,
    ExecutionRecords,
    FailureCounter,
    Heartbeats,
    HeldSlotStore,
    LogChunkStore,
    NameClaims,
    ObjectReader,
    PullRunStore,
    RateCounter,
    RunsQueue,
    RunStore,
    SlotStore,
    SubscriptionStore,
    TaskStore,
    TriageStore,
    TriggerStore,
)


@dataclass(frozen=True, kw_only=True)
class Backend:
    """Every port the engine calls, from one implementation."""

    tasks: TaskStore
    triggers: TriggerStore
    slots: SlotStore
    failures: FailureCounter
    subscriptions: SubscriptionStore
    names: NameClaims
    runs: RunStore
    events: EventLog
    queue: RunsQueue
    logs: LogChunkStore
    held_slots: HeldSlotStore
    rate_limits: RateCounter
    heartbeats: Heartbeats
    objects: ObjectReader
    pull: PullRunStore
    #: The execution product's documents (strategies, instances, events, queue state).
    execution: ExecutionRecords
    #: Data keys that seal strategy secrets (KMS deployed, a key file locally).
    execution_keys: DataKeys
    agent_tasks: AgentTaskStore
    triage: TriageStore


_installed: Backend | None = None
#: What `current()` answers when nothing is installed: set by the composition root
#: (`chalicelib/backends.py`, which the Lambda glue and the local runtime import), so the engine
#: names no storage module and importing it loads no AWS library.
_default: Callable[[], Backend] | None = None


def set_default(factory: Callable[[], Backend]) -> None:
    """Answer `factory()` when no backend is installed (the deployed set, for the settings)."""
    global _default
    _default = factory


def current() -> Backend:
    """The backend engine calls go to."""
    if _installed is not None:
        return _installed
    if _default is None:
        raise RuntimeError("no storage backend: import chalicelib.backends (the composition root) "
                           "or install one with backend.use()")
    return _default()


def use(backend: Backend | None) -> None:
    """Send engine calls to `backend` from now on (None: back to the deployed set)."""
    global _installed
    _installed = backend


@contextmanager
def using(backend: Backend) -> Iterator[Backend]:
    """Send engine calls to `backend` inside the block, then to what was installed before."""
    previous = _installed
    use(backend)
    try:
        yield backend
    finally:
        use(previous)
