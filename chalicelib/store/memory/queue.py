"""The runs queue in memory: messages are kept in order for the test (or a loop) to deliver."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from chalicelib.engine.ports import DeadLetter
from chalicelib.store.run_messages import parse_run_message, run_message


@dataclass(frozen=True, kw_only=True)
class QueuedRun:
    """One message sent to the queue."""

    tenant: str
    task_id: str
    run_id: str
    delay_seconds: float
    #: The body as SQS would carry it.
    body: str


class MemoryRunsQueue:
    """`RunsQueue` in memory: `sent` holds what was sent, oldest first; `take()` empties it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[QueuedRun] = []
        self._dead: dict[str, DeadLetter] = {}

    def send_run(self, tenant: str, task_id: str, run_id: str, *, delay_seconds: float = 0.0) -> None:
        with self._lock:
            self.sent.append(QueuedRun(tenant=tenant, task_id=task_id, run_id=run_id, delay_seconds=delay_seconds,
                                       body=run_message(tenant, task_id, run_id)))

    def parse_run_message(self, payload: dict[str, Any]) -> tuple[str, str, str] | None:
        return parse_run_message(payload)

    def take(self) -> list[QueuedRun]:
        """Every message sent so far (and forget them)."""
        with self._lock:
            taken, self.sent = self.sent, []
        return taken

    def dead_letter(self, body: str) -> None:
        """Set a message aside as the dead-letter queue would after repeated failures."""
        with self._lock:
            receipt = f"dl-{len(self._dead)}-{id(body)}"
            self._dead[receipt] = DeadLetter(body=body, receipt=receipt)

    def dead_letters(self, max_messages: int = 10) -> list[DeadLetter]:
        with self._lock:
            return list(self._dead.values())[:max_messages]

    def delete_dead_letter(self, receipt: str) -> None:
        with self._lock:
            self._dead.pop(receipt, None)
