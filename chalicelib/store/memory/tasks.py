"""Tasks in memory: definitions, trigger state, slots and wait queue, failure counter, chain
edges and unique names, with the deployed store's conditions (see store/tasks.py and its
siblings for what each condition protects)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from chalicelib.engine.model import DisabledReason, Run, Subscription, Task, TaskListing, TaskSpec, listing_of
from chalicelib.engine.ports import Occupancy
from chalicelib.errors import Conflict, NotFound
from chalicelib.store.memory.runs import MemoryRunStore, stored_run
from chalicelib.store.memory.state import MemoryState, RunRow, TaskRow, copied, instant
from chalicelib.store.shards import due_shard
from chalicelib.timefmt import to_iso


def _fresh(row: TaskRow, state: MemoryState) -> Task:
    tenant, task_id = row.task.tenant, row.task.task_id
    subscribed = any(t == tenant and parent == task_id for t, parent, _child in state.subscriptions)
    return dataclasses.replace(row.task, document=copied(row.task.document), may_have_subscribers=subscribed)


class _Tasks:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def _row(self, tenant: str, task_id: str) -> TaskRow:
        row = self._state.tasks.get((tenant, task_id))
        if row is None:
            raise NotFound(f"task {task_id} not found")
        return row

    def _change(self, row: TaskRow, **changes: Any) -> None:
        row.task = dataclasses.replace(row.task, **changes)


class MemoryTaskStore(_Tasks):
    """`TaskStore` in memory."""

    def get_task(self, tenant: str, task_id: str) -> Task:
        with self._state.lock:
            return _fresh(self._row(tenant, task_id), self._state)

    def get_tasks(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Task]:
        found: dict[tuple[str, str], Task] = {}
        for tenant, task_id in keys:
            try:
                found[(tenant, task_id)] = self.get_task(tenant, task_id)
            except NotFound:
                continue
        return found

    def put_task(self, *, tenant: str, task_id: str, face: str, name: str, enabled: bool, spec: TaskSpec,
                 document: dict[str, Any] | None, next_fire_at: datetime | None, due_shards: int, now: datetime,
                 expected_revision: int | None, disabled_code: DisabledReason | None = None) -> Task:
        pending = bool(next_fire_at and enabled)
        task = Task(
            tenant=tenant, task_id=task_id, face=face, name=name, enabled=enabled, spec=spec,
            document=copied(document), next_fire_at=instant(next_fire_at) if pending else None, last_fire_at=None,
            created_at=instant(now), updated_at=instant(now),
            revision=1 if expected_revision is None else expected_revision + 1,
            disabled_code=None if enabled else disabled_code,
        )
        shard = due_shard(tenant, task_id, due_shards) if pending else None
        with self._state.lock:
            current = self._state.tasks.get((tenant, task_id))
            if expected_revision is None:
                if current is not None:
                    raise Conflict(f"task {task_id} was changed concurrently or already exists")
                row = TaskRow(task=task, due_shard=shard)
                previous: tuple[Subscription, ...] = ()
            else:
                if current is None:
                    raise NotFound(f"task {task_id} not found")
                if current.task.revision != expected_revision:
                    raise Conflict(f"task {task_id} was changed concurrently or already exists")
                old = current.task
                task = dataclasses.replace(
                    task, created_at=old.created_at, waiting=old.waiting, last_fire_at=old.last_fire_at,
                    consecutive_failures=0 if enabled and not old.enabled else old.consecutive_failures)
                row = TaskRow(task=task, due_shard=shard, active=current.active)
                previous = old.spec.subscriptions
            self._state.tasks[(tenant, task_id)] = row
            _sync_edges(self._state, tenant, task_id, spec.subscriptions, previous)
            return _fresh(row, self._state)

    def delete_task(self, tenant: str, task_id: str, *, subscriptions: tuple[Subscription, ...]) -> None:
        with self._state.lock:
            if self._state.tasks.pop((tenant, task_id), None) is None:
                raise NotFound(f"task {task_id} not found")
            _sync_edges(self._state, tenant, task_id, (), subscriptions)
            for key in [k for k in self._state.subscriptions if k[0] == tenant and k[1] == task_id]:
                del self._state.subscriptions[key]

    def list_tasks(self, tenant: str, *, face: str | None = None) -> Iterator[Task]:
        with self._state.lock:
            rows = sorted((row for (t, _), row in self._state.tasks.items() if t == tenant),
                          key=lambda row: row.task.task_id)
            found = [_fresh(row, self._state) for row in rows if face is None or row.task.face == face]
        return iter(found)

    def tasks_by_update(self, tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None,
                        first_chunk: int = 25) -> Iterator[tuple[Task, dict[str, str]]]:
        face_key = f"{tenant}#{face}"
        with self._state.lock:
            ordered = sorted(
                ((to_iso(row.task.updated_at), "task#" + row.task.task_id, _fresh(row, self._state))
                 for (t, _), row in self._state.tasks.items() if t == tenant and row.task.face == face),
                key=lambda entry: entry[:2], reverse=descending)
        if after is not None:
            mark = (after["updated_at"], after["sk"])
            ordered = [e for e in ordered if (e[:2] < mark if descending else e[:2] > mark)]
        return iter([(task, {"face_key": face_key, "updated_at": updated_at, "pk": tenant, "sk": sk})
                     for updated_at, sk, task in ordered])

    def listings_by_update(self, tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None,
                           first_chunk: int = 25) -> Iterator[tuple[TaskListing, dict[str, str]]]:
        return iter([(listing_of(task), position) for task, position in self.tasks_by_update(
            tenant, face, descending=descending, after=after, first_chunk=first_chunk)])

    def disable(self, tenant: str, task_id: str, *, code: DisabledReason, now: datetime) -> None:
        with self._state.lock:
            row = self._state.tasks.get((tenant, task_id))
            if row is None:
                return
            self._change(row, enabled=False, disabled_code=code, next_fire_at=None, updated_at=instant(now),
                         revision=row.task.revision + 1)
            row.due_shard = None


class MemoryTriggerStore(_Tasks):
    """`TriggerStore` in memory."""

    def due_keys(self, shard: str, horizon: datetime) -> Iterator[tuple[str, str]]:
        with self._state.lock:
            due = sorted((row.task.next_fire_at, key) for key, row in self._state.tasks.items()
                         if row.due_shard == shard and row.task.next_fire_at is not None
                         and row.task.next_fire_at <= horizon)
        return iter([key for _, key in due])

    def _holds(self, tenant: str, task_id: str, expected: datetime) -> TaskRow | None:
        row = self._state.tasks.get((tenant, task_id))
        return row if row is not None and row.task.next_fire_at == instant(expected) else None

    def _move_on(self, row: TaskRow, next_fire_at: datetime | None, last_fire_at: datetime) -> None:
        self._change(row, next_fire_at=instant(next_fire_at), last_fire_at=instant(last_fire_at))
        if next_fire_at is None:
            row.due_shard = None

    def advance_trigger(self, tenant: str, task_id: str, *, expected: datetime, next_fire_at: datetime | None,
                        last_fire_at: datetime) -> bool:
        with self._state.lock:
            row = self._holds(tenant, task_id, expected)
            if row is None:
                return False
            self._move_on(row, next_fire_at, last_fire_at)
            return True

    def claim_tick_with_run(self, tenant: str, task_id: str, *, expected: datetime,
                            next_fire_at: datetime | None, run: Run) -> bool:
        with self._state.lock:
            row = self._holds(tenant, task_id, expected)
            key = (run.tenant, run.task_id, run.run_id)
            if row is None or key in self._state.runs:
                return False
            self._move_on(row, next_fire_at, expected)
            self._state.runs[key] = RunRow(run=stored_run(run))
            return True


class MemorySlotStore(_Tasks):
    """`SlotStore` in memory."""

    def acquire_slot(self, tenant: str, task_id: str, run_id: str, parallelism: int) -> bool:
        with self._state.lock:
            row = self._state.tasks.get((tenant, task_id))
            if row is None or not (len(row.active) < parallelism or run_id in row.active):
                return False
            row.active.add(run_id)
            return True

    def start_with_slot(self, run: Run, parallelism: int, *, worker_id: str, now: datetime,
                        lease_until: datetime) -> Run | None:
        with self._state.lock:  # one lock: the slot and the start happen together or not at all
            row = self._state.tasks.get((run.tenant, run.task_id))
            if row is None or not (len(row.active) < parallelism or run.run_id in row.active):
                return None
            started = MemoryRunStore(self._state).start_run(run.tenant, run.task_id, run.run_id, worker_id=worker_id,
                                                            now=now, lease_until=lease_until)
            if started is not None:
                row.active.add(run.run_id)
            return started

    def release_slot(self, tenant: str, task_id: str, run_id: str) -> Task | None:
        with self._state.lock:
            row = self._state.tasks.get((tenant, task_id))
            if row is None or run_id not in row.active:
                return None
            row.active.discard(run_id)
            return _fresh(row, self._state)

    def occupancy(self, tenant: str, task_id: str) -> Occupancy:
        with self._state.lock:
            row = self._row(tenant, task_id)
            return Occupancy(active=frozenset(row.active), waiting=row.task.waiting)

    def enqueue_waiting(self, tenant: str, task_id: str, run_id: str, queue_max: int) -> bool:
        with self._state.lock:
            row = self._state.tasks.get((tenant, task_id))
            if row is None or len(row.task.waiting) >= queue_max:
                return False
            self._change(row, waiting=(*row.task.waiting, run_id))
            return True

    def pop_waiting(self, tenant: str, task_id: str) -> str | None:
        with self._state.lock:
            row = self._state.tasks.get((tenant, task_id))
            if row is None or not row.task.waiting:
                return None
            head, *rest = row.task.waiting
            self._change(row, waiting=tuple(rest))
            return head

    def remove_waiting(self, tenant: str, task_id: str, run_id: str) -> None:
        with self._state.lock:
            row = self._state.tasks.get((tenant, task_id))
            if row is not None and run_id in row.task.waiting:
                waiting = list(row.task.waiting)
                waiting.remove(run_id)
                self._change(row, waiting=tuple(waiting))


class MemoryFailureCounter(_Tasks):
    """`FailureCounter` in memory."""

    def record_outcome(self, tenant: str, task_id: str, *, failed: bool) -> int:
        with self._state.lock:
            row = self._state.tasks.get((tenant, task_id))
            if row is None:
                return 0
            self._change(row, consecutive_failures=row.task.consecutive_failures + 1 if failed else 0)
            return row.task.consecutive_failures


def _sync_edges(state: MemoryState, tenant: str, child_id: str, subscriptions: tuple[Subscription, ...],
                previous: tuple[Subscription, ...]) -> None:
    wanted = {s.parent_task_id: s.outcomes for s in subscriptions}
    for sub in previous:
        if sub.parent_task_id not in wanted:
            state.subscriptions.pop((tenant, sub.parent_task_id, child_id), None)
    for parent_id, outcomes in wanted.items():
        state.subscriptions[(tenant, parent_id, child_id)] = outcomes


class MemorySubscriptionStore(_Tasks):
    """`SubscriptionStore` in memory, in the deployed store's key order."""

    def _edges(self, tenant: str, parent_id: str | None = None) -> list[tuple[str, str, frozenset[str] | None]]:
        with self._state.lock:
            edges = [(p, c, o) for (t, p, c), o in self._state.subscriptions.items()
                     if t == tenant and (parent_id is None or p == parent_id)]
        return sorted(edges, key=lambda e: f"{e[0]}#{e[1]}")

    def subscribers(self, tenant: str, parent_id: str) -> Iterator[tuple[str, frozenset[str] | None]]:
        return iter([(child, outcomes) for _, child, outcomes in self._edges(tenant, parent_id)])

    def has_subscription(self, tenant: str, parent_id: str, child_id: str) -> bool:
        with self._state.lock:
            return (tenant, parent_id, child_id) in self._state.subscriptions

    def subscriptions_of_tenant(self, tenant: str) -> Iterator[tuple[str, str, frozenset[str] | None]]:
        return iter(self._edges(tenant))


class MemoryNameClaims(_Tasks):
    """`NameClaims` in memory."""

    def claim(self, tenant: str, key: str, task_id: str) -> bool:
        with self._state.lock:
            return self._state.names.setdefault((tenant, key), task_id) == task_id

    def release(self, tenant: str, key: str, task_id: str) -> None:
        with self._state.lock:
            if self._state.names.get((tenant, key)) == task_id:
                del self._state.names[(tenant, key)]
