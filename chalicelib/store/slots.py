"""A task's concurrency slots and FIFO wait queue, kept on its item by conditional updates.

`active_runs` holds the ids of the runs holding a slot (a conditional ADD keeps it at most the
task's parallelism); `waiting` is the list of run ids waiting for one (overlap policy `queue`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from functools import partial
from typing import Any

from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from chalicelib.engine.model import Run, RunStatus, Task
from chalicelib.engine.ports import Occupancy
from chalicelib.errors import NotFound
from chalicelib.store.codec import task_from_item, task_key, task_sk
from chalicelib.store.conditions import conditional
from chalicelib.store.models import RunItem, TaskItem, transaction_connection
from chalicelib.store.runs import start_actions, startable
from chalicelib.store.tasks import get_item
from chalicelib.timefmt import from_iso, to_iso

#: Attempts of a read-then-conditional-write on the wait queue before giving up to a busier writer.
_QUEUE_ATTEMPTS = 5


def _slot_free(run_id: str, parallelism: int) -> Any:
    return TaskItem.pk.exists() & (
        TaskItem.active_runs.does_not_exist()
        | (size(TaskItem.active_runs) < parallelism)
        | TaskItem.active_runs.contains(run_id)
    )


def acquire_slot(tenant: str, task_id: str, run_id: str, parallelism: int) -> bool:
    """Take one of the task's `parallelism` concurrency slots for `run_id`. True if taken."""
    return conditional(lambda: TaskItem(tenant, task_sk(task_id)).update(
        actions=[TaskItem.active_runs.add({run_id})], condition=_slot_free(run_id, parallelism)))


def start_with_slot(run: Run, parallelism: int, *, worker_id: str, now: datetime,
                    lease_until: datetime) -> Run | None:
    """Take a slot for the pending `run` and start it, in one request (a transaction of the two
    conditional writes `acquire_slot` and `start_run` make): the started run, or None with
    nothing written when either condition fails. A transaction returns no item, so the run
    returned is `run` with what the write set (its other fields are what the caller read)."""
    def write() -> None:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.update(TaskItem(run.tenant, task_sk(run.task_id)),
                               actions=[TaskItem.active_runs.add({run.run_id})],
                               condition=_slot_free(run.run_id, parallelism))
            transaction.update(RunItem(task_key(run.tenant, run.task_id), run.run_id),
                               actions=start_actions(worker_id=worker_id, now=now, lease_until=lease_until),
                               condition=startable())

    if not conditional(write):
        return None
    return dataclasses.replace(run, status=RunStatus.RUNNING, worker_id=worker_id, started_at=from_iso(to_iso(now)),
                               lease_until=from_iso(to_iso(lease_until)))


def release_slot(tenant: str, task_id: str, run_id: str) -> Task | None:
    """Give back the slot `run_id` held: the task as the write left it (so the caller needs no
    second read to see its wait queue and spec), or None if the run held no slot or the task is
    gone (so a run that never started cannot free a slot it never took)."""
    item = TaskItem(tenant, task_sk(task_id))
    released = conditional(lambda: item.update(
        actions=[TaskItem.active_runs.delete({run_id})],
        condition=TaskItem.pk.exists() & TaskItem.active_runs.contains(run_id)))
    return task_from_item(item) if released else None


def occupancy(tenant: str, task_id: str) -> Occupancy:
    """Who holds the task's slots and who waits; `NotFound` when the task is gone."""
    item = get_item(tenant, task_id)
    return Occupancy(active=frozenset(item.active_runs or ()), waiting=tuple(item.waiting or ()))


def enqueue_waiting(tenant: str, task_id: str, run_id: str, queue_max: int) -> bool:
    """Append `run_id` to the task's FIFO wait queue unless it holds `queue_max` already."""
    condition = TaskItem.waiting.does_not_exist() | (size(TaskItem.waiting) < queue_max)
    return conditional(lambda: TaskItem(tenant, task_sk(task_id)).update(
        actions=[TaskItem.waiting.set((TaskItem.waiting | []).append([run_id]))],
        condition=TaskItem.pk.exists() & condition))


def pop_waiting(tenant: str, task_id: str) -> str | None:
    """Take the head of the task's wait queue (None if empty); safe against concurrent pops."""
    for _ in range(_QUEUE_ATTEMPTS):
        try:
            waiting = occupancy(tenant, task_id).waiting
        except NotFound:
            return None
        if not waiting:
            return None
        head = waiting[0]
        if conditional(partial(TaskItem(tenant, task_sk(task_id)).update,
                               actions=[TaskItem.waiting[0].remove()], condition=TaskItem.waiting[0] == head)):
            return head
    return None


def remove_waiting(tenant: str, task_id: str, run_id: str) -> None:
    """Drop `run_id` from the wait queue wherever it stands (a canceled waiting run)."""
    for _ in range(_QUEUE_ATTEMPTS):
        try:
            waiting = occupancy(tenant, task_id).waiting
        except NotFound:
            return
        if run_id not in waiting:
            return
        index = waiting.index(run_id)
        if conditional(partial(TaskItem(tenant, task_sk(task_id)).update,
                               actions=[TaskItem.waiting[index].remove()],
                               condition=TaskItem.waiting[index] == run_id)):
            return


class DynamoSlotStore:
    """`SlotStore` over the task items."""

    def acquire_slot(self, tenant: str, task_id: str, run_id: str, parallelism: int) -> bool:
        return acquire_slot(tenant, task_id, run_id, parallelism)

    def start_with_slot(self, run: Run, parallelism: int, *, worker_id: str, now: datetime,
                        lease_until: datetime) -> Run | None:
        return start_with_slot(run, parallelism, worker_id=worker_id, now=now, lease_until=lease_until)

    def release_slot(self, tenant: str, task_id: str, run_id: str) -> Task | None:
        return release_slot(tenant, task_id, run_id)

    def occupancy(self, tenant: str, task_id: str) -> Occupancy:
        return occupancy(tenant, task_id)

    def enqueue_waiting(self, tenant: str, task_id: str, run_id: str, queue_max: int) -> bool:
        return enqueue_waiting(tenant, task_id, run_id, queue_max)

    def pop_waiting(self, tenant: str, task_id: str) -> str | None:
        return pop_waiting(tenant, task_id)

    def remove_waiting(self, tenant: str, task_id: str, run_id: str) -> None:
        remove_waiting(tenant, task_id, run_id)
