"""The composition root of storage: which implementation of the engine's ports to use.

`deployed()` is the DynamoDB/SQS/S3 set for the current settings (what the Lambda roles and the
local runtime use); `memory()` is a fresh in-memory twin (tests, and anyone who wants the engine
without AWS). The engine reaches both through `chalicelib.engine.backend`, never directly.
"""

from __future__ import annotations

import threading

from chalicelib import settings
from chalicelib.engine import backend
from chalicelib.engine.backend import Backend

_lock = threading.Lock()
_deployed: tuple[settings.Settings, Backend] | None = None


def deployed() -> Backend:
    """The DynamoDB/SQS/S3 ports for the current settings (built once per settings, so a warm
    Lambda reuses its clients; the models are bound to the settings' tables)."""
    global _deployed
    current = settings.current()
    with _lock:
        if _deployed is None or _deployed[0] is not current:
            _deployed = (current, _dynamodb(current))
        return _deployed[1]


def _dynamodb(current: settings.Settings) -> Backend:
    from chalicelib.store.agent_tasks import DynamoAgentTaskStore
    from chalicelib.store.events import DynamoEventLog
    from chalicelib.store.execution import DynamoExecutionRecords
    from chalicelib.store.execution_keys import EnvironmentDataKeys
    from chalicelib.store.failures import DynamoFailureCounter
    from chalicelib.store.heartbeats import DynamoHeartbeats
    from chalicelib.store.held_slots import DynamoHeldSlotStore
    from chalicelib.store.log_chunks import S3LogChunkStore
    from chalicelib.store.models import bind
    from chalicelib.store.names import DynamoNameClaims
    from chalicelib.store.objects import S3ObjectReader
    from chalicelib.store.pull_runs import DynamoPullRunStore
    from chalicelib.store.queue import SqsRunsQueue
    from chalicelib.store.rate_limits import DynamoRateCounter
    from chalicelib.store.runs import DynamoRunStore
    from chalicelib.store.slots import DynamoSlotStore
    from chalicelib.store.subscriptions import DynamoSubscriptionStore
    from chalicelib.store.tasks import DynamoTaskStore
    from chalicelib.store.triage import DynamoTriageStore
    from chalicelib.store.triggers import DynamoTriggerStore

    bind(current)
    return Backend(
        tasks=DynamoTaskStore(), triggers=DynamoTriggerStore(), slots=DynamoSlotStore(),
        failures=DynamoFailureCounter(), subscriptions=DynamoSubscriptionStore(), names=DynamoNameClaims(),
        runs=DynamoRunStore(), events=DynamoEventLog(), queue=SqsRunsQueue(),
        logs=S3LogChunkStore.from_settings(current), held_slots=DynamoHeldSlotStore(),
        rate_limits=DynamoRateCounter(), heartbeats=DynamoHeartbeats(), objects=S3ObjectReader(),
        pull=DynamoPullRunStore(), execution=DynamoExecutionRecords(),
        execution_keys=EnvironmentDataKeys(), agent_tasks=DynamoAgentTaskStore(), triage=DynamoTriageStore(),
    )


def memory() -> Backend:
    """A fresh in-memory twin of every port (shared state, one lock)."""
    from chalicelib.store.memory import memory_backend

    return memory_backend()


backend.set_default(deployed)
