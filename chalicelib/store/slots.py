"""A task's concurrency slots and FIFO wait queue, kept on its item by conditional updates.

`active_runs` holds the ids of the runs holding a slot (a conditional ADD keeps it at most the
task's parallelism); `waiting` is the list of run ids waiting for one (overlap policy `queue`).
"""

from __future__ import annotations

from functools import partial

from pynamodb.expressions.condition import size

from chalicelib.engine.model import Task
from chalicelib.engine.ports import Occupancy
from chalicelib.errors import NotFound
from chalicelib.store.codec import task_from_item, task_sk
from chalicelib.store.conditions import conditional
from chalicelib.store.models import TaskItem
from chalicelib.store.tasks import get_item

#: Attempts of a read-then-conditional-write on the wait queue before giving up to a busier writer.
_QUEUE_ATTEMPTS = 5


def acquire_slot(tenant: str, task_id: str, run_id: str, parallelism: int) -> bool:
    """Take one of the task's `parallelism` concurrency slots for `run_id`. True if taken."""
    condition = (
        TaskItem.active_runs.does_not_exist()
        | (size(TaskItem.active_runs) < parallelism)
        | TaskItem.active_runs.contains(run_id)
    )
    return conditional(lambda: TaskItem(tenant, task_sk(task_id)).update(
        actions=[TaskItem.active_runs.add({run_id})], condition=TaskItem.pk.exists() & condition))


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
