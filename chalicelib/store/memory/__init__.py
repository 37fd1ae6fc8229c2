"""The in-memory twin of the store: every engine port, same conditions, no AWS.

Shipped in the package (as procrastinate ships its in-memory connector) so the engine's policy
tests run in unit time and anyone can drive the engine without AWS. One `MemoryState` holds
every table behind one lock; `tests/contract/` checks it against the DynamoDB store.
"""

from __future__ import annotations

from chalicelib.engine.backend import Backend
from chalicelib.store.memory.agent_tasks import MemoryAgentTaskStore
from chalicelib.store.memory.execution import MemoryExecutionRecords
from chalicelib.store.memory.execution_keys import MemoryDataKeys
from chalicelib.store.memory.log_chunks import MemoryLogChunkStore
from chalicelib.store.memory.pull_runs import MemoryPullRunStore
from chalicelib.store.memory.queue import MemoryRunsQueue, QueuedRun
from chalicelib.store.memory.records import (
    MemoryEventLog,
    MemoryHeartbeats,
    MemoryHeldSlotStore,
    MemoryObjects,
    MemoryRateCounter,
)
from chalicelib.store.memory.runs import MemoryRunStore
from chalicelib.store.memory.state import MemoryState
from chalicelib.store.memory.tasks import (
    MemoryFailureCounter,
    MemoryNameClaims,
    MemorySlotStore,
    MemorySubscriptionStore,
    MemoryTaskStore,
    MemoryTriggerStore,
)
from chalicelib.store.memory.triage import MemoryTriageStore

__all__ = ["MemoryLogChunkStore", "MemoryRunsQueue", "MemoryState", "QueuedRun", "memory_backend"]


def memory_backend(state: MemoryState | None = None) -> Backend:
    """Every port over one fresh (or the given) in-memory state."""
    state = state or MemoryState()
    return Backend(
        tasks=MemoryTaskStore(state), triggers=MemoryTriggerStore(state), slots=MemorySlotStore(state),
        failures=MemoryFailureCounter(state), subscriptions=MemorySubscriptionStore(state),
        names=MemoryNameClaims(state), runs=MemoryRunStore(state), events=MemoryEventLog(state),
        queue=MemoryRunsQueue(), logs=MemoryLogChunkStore(), held_slots=MemoryHeldSlotStore(state),
        rate_limits=MemoryRateCounter(state), heartbeats=MemoryHeartbeats(state), objects=MemoryObjects(state),
        pull=MemoryPullRunStore(state), execution=MemoryExecutionRecords(state),
        execution_keys=MemoryDataKeys(), agent_tasks=MemoryAgentTaskStore(state),
        triage=MemoryTriageStore(state),
    )
