"""What the engine needs from storage, stated as small ports.

Each port is a `typing.Protocol` over the engine's own values (engine/model.py, the log values):
no stored item or AWS response crosses one. A lost race is an outcome the port returns (False,
None, a refused answer) or a domain error (`NotFound`, `Conflict`), as the method says; a
conditional write never leaves a half-changed item.

The store package implements every port twice: over DynamoDB, SQS and S3 (`store/*.py`) and
in memory (`store/memory/`), with the same conditional semantics; `tests/contract/` runs one
suite over both. The engine reaches them through `engine/backend.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.engine.agent_model import AgentTask
from chalicelib.engine.log_values import ChunkRef, LogHead, LogLine
from chalicelib.engine.model import (
    DisabledReason,
    EndReason,
    Run,
    RunStatus,
    Subscription,
    Task,
    TaskListing,
    TaskSpec,
)


@dataclass(frozen=True, kw_only=True)
class Occupancy:
    """Who holds a task's concurrency slots and who waits for one."""

    #: Ids of the runs holding a slot.
    active: frozenset[str]
    #: Ids of the runs waiting for a slot, first in line first.
    waiting: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SlotAnswer:
    """The outcome of asking for a held-request slot."""

    #: The slot taken, or None when every slot is held.
    slot: int | None
    #: When refused: the epoch second at which the first held slot's lease ends.
    free_at: int | None = None


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """A run message that failed repeatedly and was set aside."""

    #: The message body as sent (a run message, or anything else that reached the queue).
    body: str
    #: What deleting it takes.
    receipt: str


@dataclass(frozen=True, kw_only=True)
class Event:
    """One event of a task's stream."""

    #: Its number in the stream, from 1, without gaps.
    sequence: int
    type: str
    #: When it happened (aware, UTC).
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Triage:
    """One actor's triage of one task in the agent inbox."""

    task_id: str
    #: The actor: its kind (`human`, `agent_session`, ...) and reference (user id or session).
    actor_kind: str
    actor_ref: str
    read: bool = False
    archived: bool = False
    dismissed: bool = False
    #: The task's latest activity when the actor last triaged it (newer activity makes it unread).
    last_seen_activity_at: datetime | None = None
    updated_at: datetime | None = None


class TaskStore(Protocol):
    """Task definitions: create, replace (optimistic revision), delete, read, list."""

    def get_task(self, tenant: str, task_id: str) -> Task:
        """The task, or `NotFound` (also for another tenant's id)."""
        ...

    def get_tasks(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Task]:
        """The tasks of `keys` ((tenant, task id) pairs) that exist, by key: what `get_task`
        reads for each, in one request per hundred keys (a dispatcher pass reads its due tasks so)."""
        ...

    def put_task(self, *, tenant: str, task_id: str, face: str, name: str, enabled: bool, spec: TaskSpec,
                 document: dict[str, Any] | None, next_fire_at: datetime | None, due_shards: int, now: datetime,
                 expected_revision: int | None, disabled_code: DisabledReason | None = None) -> Task:
        """Create (`expected_revision` None) or replace a task, keeping its trigger state, slots
        and counters; its chain edges follow `spec.subscriptions`. A lost race is a `Conflict`."""
        ...

    def delete_task(self, tenant: str, task_id: str, *, subscriptions: tuple[Subscription, ...]) -> None:
        """Delete the task and its chain edges both ways; `NotFound` if it is gone already."""
        ...

    def list_tasks(self, tenant: str, *, face: str | None = None) -> Iterator[Task]:
        """Every task of a tenant (of one face), in id order."""
        ...

    def tasks_by_update(self, tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None,
                        first_chunk: int = 25) -> Iterator[tuple[Task, dict[str, str]]]:
        """A face's tasks in `updated_at` order, each with a position to resume behind it."""
        ...

    def listings_by_update(self, tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None,
                           first_chunk: int = 25) -> Iterator[tuple[TaskListing, dict[str, str]]]:
        """As `tasks_by_update`, each task read as a `TaskListing` (fewer attributes)."""
        ...

    def disable(self, tenant: str, task_id: str, *, code: DisabledReason, now: datetime) -> None:
        """Turn the task's triggers off, saying why (nothing if it is gone)."""
        ...


class TriggerStore(Protocol):
    """The due index and the claim of a tick."""

    def due_keys(self, shard: str, horizon: datetime) -> Iterator[tuple[str, str]]:
        """(tenant, task id) of the tasks in `shard` whose next fire is at or before `horizon`."""
        ...

    def advance_trigger(self, tenant: str, task_id: str, *, expected: datetime, next_fire_at: datetime | None,
                        last_fire_at: datetime) -> bool:
        """Move the trigger on from `expected` if nobody else did; True if this call did."""
        ...

    def claim_tick_with_run(self, tenant: str, task_id: str, *, expected: datetime,
                            next_fire_at: datetime | None, run: Run) -> bool:
        """Move the trigger on from `expected` and create `run`, both or neither; False when
        another dispatcher won either."""
        ...


class SlotStore(Protocol):
    """A task's concurrency slots and its FIFO wait queue (both live on the task)."""

    def acquire_slot(self, tenant: str, task_id: str, run_id: str, parallelism: int) -> bool:
        """Take one of `parallelism` slots for `run_id` (True again if it holds one); False when
        all are held or the task is gone."""
        ...

    def start_with_slot(self, run: Run, parallelism: int, *, worker_id: str, now: datetime,
                        lease_until: datetime) -> Run | None:
        """`acquire_slot` for the pending `run` and `RunStore.start_run` it, both or neither, in
        one request: the started run, or None (nothing written) when the slots are full, the task
        is gone, or the run is not pending or has a stop requested."""
        ...

    def release_slot(self, tenant: str, task_id: str, run_id: str) -> Task | None:
        """Give back `run_id`'s slot: the task as the write left it, or None if it held none."""
        ...

    def occupancy(self, tenant: str, task_id: str) -> Occupancy:
        """Who holds a slot and who waits; `NotFound` when the task is gone."""
        ...

    def enqueue_waiting(self, tenant: str, task_id: str, run_id: str, queue_max: int) -> bool:
        """Append `run_id` to the wait queue unless it holds `queue_max` or the task is gone."""
        ...

    def pop_waiting(self, tenant: str, task_id: str) -> str | None:
        """Take the head of the wait queue (None if empty); two pops never take the same run."""
        ...

    def remove_waiting(self, tenant: str, task_id: str, run_id: str) -> None:
        """Drop `run_id` from the wait queue wherever it stands."""
        ...


class FailureCounter(Protocol):
    """A task's count of consecutive failures."""

    def record_outcome(self, tenant: str, task_id: str, *, failed: bool) -> int:
        """Add one failure (or reset on success) atomically; the new count (0 if the task is gone)."""
        ...


class SubscriptionStore(Protocol):
    """Chain edges "child runs when parent finishes", written with the child's task."""

    def subscribers(self, tenant: str, parent_id: str) -> Iterator[tuple[str, frozenset[str] | None]]:
        """(child id, outcomes filter) of every task that runs when `parent_id` finishes."""
        ...

    def has_subscription(self, tenant: str, parent_id: str, child_id: str) -> bool: ...

    def subscriptions_of_tenant(self, tenant: str) -> Iterator[tuple[str, str, frozenset[str] | None]]:
        """(parent id, child id, outcomes) of every edge of a tenant."""
        ...


class NameClaims(Protocol):
    """Names that must be unique in a tenant."""

    def claim(self, tenant: str, key: str, task_id: str) -> bool:
        """Reserve `key` for `task_id`; False when another task holds it (True for its holder)."""
        ...

    def release(self, tenant: str, key: str, task_id: str) -> None:
        """Forget the reservation if `task_id` holds it."""
        ...


class RunStore(Protocol):
    """Runs: created at most once per id, moved between states by conditional writes."""

    def create_run(self, run: Run) -> bool:
        """Store a new run unless one with its id exists; True if created."""
        ...

    def get_run(self, tenant: str, task_id: str, run_id: str) -> Run:
        """One run, or `NotFound`."""
        ...

    def find_run(self, tenant: str, run_id: str) -> Run:
        """A run from its id alone, or `NotFound`."""
        ...

    def list_runs(self, tenant: str, task_id: str, *, newest_first: bool = True,
                  limit: int | None = None) -> Iterator[Run]:
        """A task's runs in id (time) order."""
        ...

    def list_tenant_runs(self, tenant: str, *, newest_first: bool = True) -> Iterator[Run]:
        """Every run of a tenant by creation time."""
        ...

    def newest_runs(self, tenant: str, task_ids: Sequence[str]) -> dict[str, Run]:
        """The newest run of each of these tasks, by task id; a task that never ran is absent.
        What `list_runs(..., limit=1)` answers for each, read together (a list page's tasks)."""
        ...

    def start_run(self, tenant: str, task_id: str, run_id: str, *, worker_id: str, now: datetime,
                  lease_until: datetime) -> Run | None:
        """PENDING -> RUNNING with a lease unless a stop was asked; None if that lost."""
        ...

    def renew_lease(self, tenant: str, task_id: str, run_id: str, *, worker_id: str,
                    lease_until: datetime) -> bool | None:
        """Extend the lease: None if the run is no longer `worker_id`'s, else whether a stop was asked."""
        ...

    def finish_run(self, tenant: str, task_id: str, run_id: str, *, reason: EndReason, exit_code: int,
                   now: datetime, expected_status: RunStatus, worker_id: str | None = None,
                   detail: str | None = None, http_status: int | None = None, log_lines: int | None = None,
                   log_truncated: bool | None = None, expires_at: int | None = None) -> Run | None:
        """End the run if it is still in `expected_status` (held by `worker_id`); None if not."""
        ...

    def request_stop(self, tenant: str, task_id: str, run_id: str) -> bool:
        """Flag a run that has not ended to stop; False if it has ended."""
        ...

    def delete_run(self, tenant: str, task_id: str, run_id: str) -> None:
        """Delete an ended run; `NotFound` if there is no ended run with that id."""
        ...

    def expired_leases(self, now: datetime) -> Iterator[tuple[str, str, str]]:
        """(tenant, task id, run id) of running runs whose lease ran out before `now`."""
        ...


class EventLog(Protocol):
    """Per-task event streams numbered by an atomic counter."""

    def append_event(self, tenant: str, task_id: str, event_type: str, data: dict[str, Any], *, now: datetime,
                     expires_at: int | None = None) -> int:
        """Append an event; its sequence number (1, 2, ... per task, never reused)."""
        ...

    def list_events(self, tenant: str, task_id: str, *, after: int = 0, limit: int = 100) -> Iterator[Event]:
        """The task's events after `after`, oldest first, at most `limit`."""
        ...


class RunsQueue(Protocol):
    """Messages that ask a worker to start a run."""

    def send_run(self, tenant: str, task_id: str, run_id: str, *, delay_seconds: float = 0.0) -> None:
        """Ask for the run to start `delay_seconds` from now (rounded up, at most 15 minutes)."""
        ...

    def parse_run_message(self, payload: dict[str, Any]) -> tuple[str, str, str] | None:
        """(tenant, task id, run id) of a message body this queue sent, or None if it is not one."""
        ...

    def dead_letters(self, max_messages: int = 10) -> list[DeadLetter]:
        """A batch of messages that failed repeatedly (empty when none or no dead-letter queue)."""
        ...

    def delete_dead_letter(self, receipt: str) -> None: ...


class HeldSlotStore(Protocol):
    """A tenant's leased slots for held requests, shared by every API instance."""

    def take_slot(self, tenant: str, *, cap: int, holder: str, now: int, until: int) -> SlotAnswer:
        """A free slot (one of `cap`, free or its lease ended by epoch second `now`) until `until`."""
        ...

    def give_slot(self, tenant: str, slot: int, *, holder: str) -> None:
        """Free `slot` if `holder` still has it."""
        ...


class RateCounter(Protocol):
    """Fixed-window request counts."""

    def count_hit(self, tenant: str, user: str, tier: str, window_start: int, *, expires_at: int) -> int:
        """Add one to the window atomically; the window's count after it."""
        ...


class ObjectUnreadable(Exception):
    """A whole object could not be read (missing, denied, backend unreachable); the message says why."""


class ObjectReader(Protocol):
    """Whole objects named by bucket and key (a configuration file kept in S3)."""

    def read_text(self, bucket: str, key: str) -> str:
        """The object's content as UTF-8 text; `ObjectUnreadable` if it cannot be read."""
        ...


class Heartbeats(Protocol):
    """When each background role last ran."""

    def record_heartbeat(self, role: str, *, now: datetime, **data: Any) -> None: ...

    def read_heartbeats(self) -> dict[str, dict[str, Any]]:
        """`{role: {at, count, ...}}` of the roles that ever ran; `NotReady` if unreachable."""
        ...


class LogChunkStore(Protocol):
    """Where chunks of run-log lines live, and under which key a run's log is kept."""

    def log_key(self, tenant: str, task_id: str, run_id: str) -> str:
        """The key of a run's log (starts with the tenant, like every key)."""
        ...

    def put_chunk(self, log_key: str, chunk: ChunkRef, lines: list[LogLine]) -> None: ...

    def get_chunk(self, log_key: str, chunk: ChunkRef, from_line: int = 0) -> list[LogLine]:
        """The chunk's lines (those from `from_line` at least; a store may return more); empty
        when it is gone (dropped meanwhile)."""
        ...

    def chunks_from(self, log_key: str, line: int) -> Iterator[ChunkRef]:
        """The stored chunks whose last line is `line` or later, oldest first, fetched lazily."""
        ...

    def delete_chunk(self, log_key: str, chunk: ChunkRef) -> None: ...

    def put_head(self, log_key: str, head: LogHead) -> None: ...

    def get_head(self, log_key: str) -> LogHead | None: ...

    def delete_log(self, log_key: str) -> None: ...


class PullRunStore(Protocol):
    """Pull-mode runs: the sharded `queued` index, claims under a lease, one lease per session.

    A held run (claimed, starting or running) carries `worker_id` = the agent session, the
    `claim_token_hash` and `lease_until`; the session's lease record names it. Every call that
    acts for a holder (`session` given) holds only while the session holds the run, the hash
    matches (when given) and the lease has not run out at `now`; otherwise it answers None."""

    def queued_keys(self, partition: str, *, limit: int) -> list[tuple[str, str, str, str]]:
        """(rank, tenant, task id, run id) of the first `limit` queued runs of `partition`, in rank order."""
        ...

    def claim_run(self, tenant: str, task_id: str, run_id: str, *, session: str, token_hash: str, now: datetime,
                  lease_until: datetime, lease_shard: str, idempotency_key: str | None = None) -> Run | None:
        """QUEUED -> CLAIMED for `session` (stamping `claimed_at` and `heartbeat_at` = `now`, and
        the claim's `idempotency_key`) and record the session's lease, both or neither: None when
        the run is no longer queued; `Conflict` when the session already holds a lease."""
        ...

    def session_lease(self, tenant: str, session: str) -> tuple[str, str] | None:
        """(task id, run id) of the run `session` holds, or None."""
        ...

    def set_parked(self, tenant: str, task_id: str, run_id: str, *, parked: bool) -> Run | None:
        """Take a queued run out of the `queued` index (parked) or put it back; None if not queued."""
        ...

    def touch_run(self, tenant: str, task_id: str, run_id: str, *, session: str, token_hash: str | None,
                  now: datetime, expected: frozenset[RunStatus], status: RunStatus | None = None,
                  lease_until: datetime | None = None, idempotency_key: str | None = None) -> Run | None:
        """For the holder of a run in `expected`: move it to `status` and/or extend its lease
        (stamping `heartbeat_at`), recording `idempotency_key` when given."""
        ...

    def end_held_run(self, tenant: str, task_id: str, run_id: str, *, session: str | None,
                     token_hash: str | None, now: datetime, reason: EndReason, detail: str | None = None,
                     expires_at: int | None = None, result: Any = None) -> Run | None:
        """End a held run (for its holder, or for anyone when `session` is None) and free its
        session's lease, both or neither; `result` (any JSON value but null) is kept with it."""
        ...

    def requeue_run(self, tenant: str, task_id: str, run_id: str, *, session: str | None, token_hash: str | None,
                    now: datetime, expired_only: bool) -> Run | None:
        """Put a held run back in its queue partition, clearing the claim and freeing the session's
        lease: for its holder (`session`), or, with `expired_only`, for anyone once the lease ran out."""
        ...

    def attach_session(self, tenant: str, task_id: str, run_id: str, *, session_id: str) -> Run | None:
        """Record the agent session working an open (queued or held) run; None when it has ended."""
        ...

    def expired_pull_leases(self, now: datetime, *, shards: tuple[str, ...],
                            limit: int | None = None) -> Iterator[tuple[str, str, str]]:
        """(tenant, task id, run id) of held pull-mode runs whose lease ran out before `now`."""
        ...


class ExecutionRecords(Protocol):
    """The execution product's documents of a tenant (strategy versions, instances, events, the
    queue state, look-up pointers), each a JSON object at a revision, grouped by `kind`.

    Keys sort as text inside a kind; every write is conditional on the revision the caller read
    (0: the record must not exist), so two writers never both win."""

    def put_record(self, tenant: str, kind: str, key: str, data: dict[str, Any], *,
                   expected_revision: int) -> int | None:
        """Store `data` if the record is at `expected_revision` (0: absent); its new revision,
        or None when another write got there first."""
        ...

    def get_record(self, tenant: str, kind: str, key: str) -> tuple[dict[str, Any], int] | None:
        """(data, revision) of a record, or None."""
        ...

    def list_records(self, tenant: str, kind: str, *, prefix: str = "") -> Iterator[tuple[str, dict[str, Any], int]]:
        """(key, data, revision) of the kind's records whose key starts with `prefix`, in key order."""
        ...

    def delete_record(self, tenant: str, kind: str, key: str) -> None:
        """Forget a record (nothing if it is gone)."""
        ...


class DataKeys(Protocol):
    """Data keys for sealing the execution product's secrets (envelope encryption): KMS when
    deployed, a key file locally. A wrapped key is text, safe to store beside what it seals."""

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, str]:
        """(a fresh 256-bit key, that key wrapped for storage, bound to `context`)."""
        ...

    def unwrap_data_key(self, wrapped: str, context: dict[str, str]) -> bytes:
        """The key `wrapped` holds (the same `context` it was wrapped with)."""
        ...


class AgentTaskStore(Protocol):
    """Agent tasks of a tenant, with the edges read backwards: a parent's children and a
    task's dependents. Every key starts with the tenant; a task is saved under its revision."""

    def create_task(self, task: AgentTask) -> None:
        """Store a new task (and, with `parent_task_id`, the parent's child edge), both or
        neither; `Conflict` when the id exists or the parent is gone."""
        ...

    def get_task(self, tenant: str, task_id: str) -> AgentTask:
        """The task, or `NotFound` (also for another tenant's id)."""
        ...

    def save_task(self, task: AgentTask, *, expected_revision: int, dependency_added: str | None = None,
                  dependency_removed: str | None = None) -> AgentTask:
        """Replace the task if it is still at `expected_revision` (it is saved at the next one),
        adding or removing the dependent edge from the named blocker in the same write;
        `Conflict` when another write won, `NotFound` when it is gone."""
        ...

    def delete_task(self, tenant: str, task_id: str) -> None:
        """Delete the task with its own edges (child edge, dependency edges); `NotFound` if gone."""
        ...

    def list_tasks(self, tenant: str, *, after: str | None, limit: int) -> tuple[list[AgentTask], str | None]:
        """Up to `limit` tasks in id (creation) order after task id `after`, and the id to
        continue after (None when the list ended). A query of the tenant's partition."""
        ...

    def children(self, tenant: str, parent_id: str) -> list[str]:
        """Ids of the tasks whose parent is `parent_id`, in id order."""
        ...

    def dependents(self, tenant: str, task_id: str) -> list[str]:
        """Ids of the tasks that depend on `task_id`, in id order."""
        ...

    def next_number(self, tenant: str) -> int:
        """The tenant's next task number (atomic: 1, 2, ...), for identifiers."""
        ...


class TriageStore(Protocol):
    """Per-actor triage of agent tasks (read, dismissed, archived), read per actor in one query."""

    def mark_triage(self, tenant: str, actor_kind: str, actor_ref: str, task_id: str, *, now: datetime,
                    last_seen_activity_at: datetime | None, read: bool | None = None,
                    dismissed: bool | None = None, archived: bool | None = None) -> Triage:
        """Set the flags given (None leaves one as it was, False on a new record) and
        `last_seen_activity_at`, in one write; the record as written."""
        ...

    def triage_of_actor(self, tenant: str, actor_kind: str, actor_ref: str) -> Iterator[Triage]:
        """Every triage record of one actor of the tenant."""
        ...
