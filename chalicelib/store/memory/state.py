"""The in-memory twin's tables: plain dicts behind one lock, shared by every memory port.

One lock makes each port call atomic, which is what DynamoDB's conditional writes and
transactions give the deployed store; a call that spans two tables (a tick claimed with its
run) holds it once. Stored values are copies, so a caller cannot change what is stored by
changing what it passed in or got back, as with a real store.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, overload

from chalicelib.engine.model import Run, Task
from chalicelib.engine.ports import Triage
from chalicelib.timefmt import from_iso, to_iso

_Key = TypeVar("_Key")
_Expiring = TypeVar("_Expiring", bound=tuple[object, int])


@overload
def instant(value: datetime) -> datetime: ...
@overload
def instant(value: None) -> None: ...
@overload
def instant(value: datetime | None) -> datetime | None: ...
def instant(value: datetime | None) -> datetime | None:
    """`value` as the deployed store returns it: UTC, microseconds (it stores ISO text)."""
    return from_iso(to_iso(value)) if value is not None else None


def copied(value: Any) -> Any:
    """A deep copy of a JSON-like value (documents, params, extras, event data)."""
    return copy.deepcopy(value)


@dataclass
class TaskRow:
    """A stored task with what lives beside it on the deployed item."""

    task: Task
    #: The due-index partition while a time trigger is pending.
    due_shard: str | None = None
    #: Ids of the runs holding a concurrency slot.
    active: set[str] = field(default_factory=set)


@dataclass
class RunRow:
    run: Run
    #: Epoch second after which the deployed store's TTL may remove the run.
    expires_at: int | None = None


@dataclass
class MemoryState:
    """Every table of the twin."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    #: (tenant, task id) -> task.
    tasks: dict[tuple[str, str], TaskRow] = field(default_factory=dict)
    #: (tenant, task id, run id) -> run.
    runs: dict[tuple[str, str, str], RunRow] = field(default_factory=dict)
    #: (tenant, parent id, child id) -> outcomes filter.
    subscriptions: dict[tuple[str, str, str], frozenset[str] | None] = field(default_factory=dict)
    #: (tenant, name key) -> task id holding it.
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (tenant, task id) -> last event sequence handed out.
    sequences: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (tenant, task id) -> [(sequence, type, at, data, expires_at)].
    events: dict[tuple[str, str], list[tuple[int, str, str, dict[str, Any], int | None]]] = field(default_factory=dict)
    #: (tenant, slot) -> (holder, lease end epoch second).
    held: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    #: (tenant, window key) -> (count, expires_at).
    rates: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    #: (tenant, agent session) -> (task id, run id) of the pull-mode run it holds.
    session_leases: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: (tenant, task id) -> (revision, stored data) of agent tasks.
    agent_tasks: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    #: tenant -> last agent task number handed out.
    agent_numbers: dict[str, int] = field(default_factory=dict)
    #: (tenant, actor kind, actor ref, task id) -> the actor's triage of the task (agent inbox).
    triage: dict[tuple[str, str, str, str], Triage] = field(default_factory=dict)
    #: role -> (at, count, data).
    heartbeats: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    #: (bucket, key) -> whole object bytes (configuration files kept in S3).
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    #: (tenant, kind, key) -> (data, revision): the execution product's documents.
    execution: dict[tuple[str, str, str], tuple[dict[str, Any], int]] = field(default_factory=dict)

    def sweep_expired(self, epoch: int) -> int:
        """Remove what carries an `expires_at` at or before `epoch`, as DynamoDB's TTL sweeper
        eventually does (it runs when a test says so; the engine never relies on its timing).
        Returns how many records went."""
        removed = 0
        with self.lock:
            for key in [k for k, row in self.runs.items() if row.expires_at is not None and row.expires_at <= epoch]:
                del self.runs[key]
                removed += 1
            for stream_key, events in self.events.items():
                kept = [e for e in events if e[4] is None or e[4] > epoch]
                removed += len(events) - len(kept)
                self.events[stream_key] = kept
            removed += _sweep_by_second_field(self.held, epoch) + _sweep_by_second_field(self.rates, epoch)
        return removed


def _sweep_by_second_field(table: dict[_Key, _Expiring], epoch: int) -> int:
    """Remove the entries whose value's second field (an expiry epoch second) is at or before `epoch`."""
    expired = [key for key, value in table.items() if value[1] <= epoch]
    for key in expired:
        del table[key]
    return len(expired)
