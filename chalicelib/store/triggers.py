"""Trigger state on task items: the sparse due index and the claim of a tick.

A task with a pending time trigger carries `due_shard` and `next_fire_at`, so the dispatcher
reads due work from the `due` index, not the table. A tick is claimed by a conditional update
of `next_fire_at`: whoever moves it on from the expected value owns the tick.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.engine.model import Run
from chalicelib.store import metrics
from chalicelib.store.codec import TASK_PREFIX, run_to_item, task_sk
from chalicelib.store.conditions import conditional
from chalicelib.store.models import RunItem, TaskItem, transaction_connection
from chalicelib.timefmt import to_iso


def due_keys(shard: str, horizon: datetime) -> Iterator[tuple[str, str]]:
    """(tenant, task id) of the tasks in one due shard whose next fire is at or before `horizon`."""
    for item in TaskItem.due_index.query(shard, TaskItem.next_fire_at <= to_iso(horizon)):
        metrics.count_read()
        yield item.pk, item.sk[len(TASK_PREFIX):]


def _move_on(next_fire_at: datetime | None, last_fire_at: datetime) -> list[Action]:
    actions: list[Action] = [TaskItem.last_fire_at.set(to_iso(last_fire_at))]
    if next_fire_at is None:
        return [*actions, TaskItem.next_fire_at.remove(), TaskItem.due_shard.remove()]
    return [*actions, TaskItem.next_fire_at.set(to_iso(next_fire_at))]


def advance_trigger(
    tenant: str, task_id: str, *, expected: datetime, next_fire_at: datetime | None, last_fire_at: datetime
) -> bool:
    """Claim the tick at `expected`: move the trigger on, if nobody else did. True if claimed."""
    return conditional(lambda: TaskItem(tenant, task_sk(task_id)).update(
        actions=_move_on(next_fire_at, last_fire_at), condition=TaskItem.next_fire_at == to_iso(expected)))


def claim_tick_with_run(
    tenant: str, task_id: str, *, expected: datetime, next_fire_at: datetime | None, run: Run
) -> bool:
    """Atomically move the trigger on from `expected` and create the tick's run.

    One transaction: the trigger update is conditional on nobody having moved it, the run put
    on no run with that id existing. False if either condition failed (another dispatcher won).
    """
    def transact() -> None:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.update(TaskItem(tenant, task_sk(task_id)), actions=_move_on(next_fire_at, expected),
                               condition=TaskItem.next_fire_at == to_iso(expected))
            transaction.save(run_to_item(run), condition=RunItem.sk.does_not_exist())

    return conditional(transact)


class DynamoTriggerStore:
    """`TriggerStore` over the tasks table's due index."""

    def due_keys(self, shard: str, horizon: datetime) -> Iterator[tuple[str, str]]:
        return due_keys(shard, horizon)

    def advance_trigger(self, tenant: str, task_id: str, *, expected: datetime, next_fire_at: datetime | None,
                        last_fire_at: datetime) -> bool:
        return advance_trigger(tenant, task_id, expected=expected, next_fire_at=next_fire_at,
                               last_fire_at=last_fire_at)

    def claim_tick_with_run(self, tenant: str, task_id: str, *, expected: datetime,
                            next_fire_at: datetime | None, run: Run) -> bool:
        return claim_tick_with_run(tenant, task_id, expected=expected, next_fire_at=next_fire_at, run=run)
