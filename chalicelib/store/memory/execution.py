"""The execution product's documents in memory, with the deployed store's revision conditions."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from chalicelib.store.memory.state import MemoryState


class MemoryExecutionRecords:
    """`ExecutionRecords` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def put_record(self, tenant: str, kind: str, key: str, data: dict[str, Any], *,
                   expected_revision: int) -> int | None:
        with self._state.lock:
            current = self._state.execution.get((tenant, kind, key))
            revision = current[1] if current is not None else 0
            if revision != expected_revision:
                return None
            self._state.execution[(tenant, kind, key)] = (copy.deepcopy(data), revision + 1)
            return revision + 1

    def get_record(self, tenant: str, kind: str, key: str) -> tuple[dict[str, Any], int] | None:
        with self._state.lock:
            current = self._state.execution.get((tenant, kind, key))
            return None if current is None else (copy.deepcopy(current[0]), current[1])

    def list_records(self, tenant: str, kind: str, *, prefix: str = "") -> Iterator[tuple[str, dict[str, Any], int]]:
        with self._state.lock:
            found = sorted((key, copy.deepcopy(data), revision)
                           for (t, k, key), (data, revision) in self._state.execution.items()
                           if t == tenant and k == kind and key.startswith(prefix))
        yield from found

    def delete_record(self, tenant: str, kind: str, key: str) -> None:
        with self._state.lock:
            self._state.execution.pop((tenant, kind, key), None)
