"""Give the embedded moto server DynamoDB's isolation: one request at a time.

DynamoDB applies a conditional write or a transaction atomically. moto checks the condition and
then writes without a lock, and serializes a response while other threads change the items, so
under the threads of its server two dispatchers can both pass the same condition (a tick
claimed twice) and a query can fail with "dictionary changed size during iteration". The
engine's correctness rests on those conditions, so the local runtime serializes every DynamoDB
request its moto server handles. moto runs under the GIL anyway; little concurrency is lost.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()


def install() -> None:
    """Serialize moto's DynamoDB request handling (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "_tasklane_serialized", False):
        return

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    call_action._tasklane_serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
