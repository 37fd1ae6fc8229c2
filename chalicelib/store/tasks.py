"""Task items: definitions created, replaced, read, listed, disabled and deleted.

A task lives at (pk = tenant, sk = "task#<id>"). Its trigger state (store/triggers.py), its
concurrency slots and wait queue (store/slots.py) and its failure counter (store/failures.py)
live on the same item; its chain edges are items of their own (store/subscriptions.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib.engine.model import DisabledReason, Subscription, Task, TaskListing, TaskSpec
from chalicelib.errors import Conflict, NotFound
from chalicelib.store import metrics
from chalicelib.store.codec import (
    LISTING_ATTRIBUTES,
    TASK_PREFIX,
    disabled_to_item,
    listing_from_item,
    spec_to_json,
    task_from_item,
    task_sk,
)
from chalicelib.store.conditions import conditional
from chalicelib.store.models import TaskItem
from chalicelib.store.shards import due_shard
from chalicelib.store.subscriptions import (
    delete_subscriptions_from,
    has_subscribers,
    mark_subscribed,
    sync_subscriptions,
)
from chalicelib.timefmt import to_iso


def _face_key(tenant: str, face: str) -> str:
    """The `by_update` index partition of a face's tasks in a tenant."""
    return f"{tenant}#{face}"


def get_item(tenant: str, task_id: str, *, consistent: bool = True) -> TaskItem:
    try:
        item = TaskItem.get(tenant, task_sk(task_id), consistent_read=consistent)
    except DoesNotExist as exc:
        raise NotFound(f"task {task_id} not found") from exc
    metrics.count_read()
    return item


def get_task(tenant: str, task_id: str) -> Task:
    """The task, or `NotFound` (also for another tenant's id: the key starts with the tenant)."""
    return task_from_item(get_item(tenant, task_id))


def get_tasks(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Task]:
    """The tasks of `keys` that exist, by (tenant, task id): BatchGetItem, strongly consistent
    like `get_item` (PynamoDB sends a hundred keys a request and asks again for unprocessed ones)."""
    found: dict[tuple[str, str], Task] = {}
    unique = list(dict.fromkeys(keys))
    if not unique:
        return found
    for item in TaskItem.batch_get([(tenant, task_sk(task_id)) for tenant, task_id in unique], consistent_read=True):
        metrics.count_read()
        task = task_from_item(item)
        found[(task.tenant, task.task_id)] = task
    return found


def _definition_actions(item: TaskItem, *, reset_failures: bool) -> list[Action]:
    """The writes of a replace: what the definition says, nothing the runs keep."""
    actions: list[Action] = [TaskItem.face.set(item.face), TaskItem.name.set(item.name),
                             TaskItem.enabled.set(item.enabled), TaskItem.spec.set(item.spec),
                             TaskItem.updated_at.set(item.updated_at), TaskItem.revision.set(item.revision)]
    optional: list[tuple[Any, Any]] = [(TaskItem.face_key, item.face_key), (TaskItem.document, item.document),
                                       (TaskItem.next_fire_at, item.next_fire_at),
                                       (TaskItem.due_shard, item.due_shard),
                                       (TaskItem.disabled_code, item.disabled_code)]
    actions += [attribute.remove() if value is None else attribute.set(value) for attribute, value in optional]
    if reset_failures:
        actions.append(TaskItem.consecutive_failures.set(0))
    return actions


def put_task(
    *,
    tenant: str,
    task_id: str,
    face: str,
    name: str,
    enabled: bool,
    spec: TaskSpec,
    document: dict[str, Any] | None,
    next_fire_at: datetime | None,
    due_shards: int,
    now: datetime,
    expected_revision: int | None,
    disabled_code: DisabledReason | None = None,
) -> Task:
    """Create (expected_revision None) or replace a task; a lost race is a `Conflict`."""
    previous: tuple[Subscription, ...] = ()
    item = TaskItem(
        tenant,
        task_sk(task_id),
        task_id=task_id,
        face=face,
        face_key=_face_key(tenant, face),
        name=name,
        enabled=enabled,
        spec=spec_to_json(spec),
        document=document,
        next_fire_at=to_iso(next_fire_at) if next_fire_at and enabled else None,
        due_shard=due_shard(tenant, task_id, due_shards) if next_fire_at and enabled else None,
        created_at=to_iso(now),
        updated_at=to_iso(now),
        revision=1 if expected_revision is None else expected_revision + 1,
        disabled_code=None if enabled else disabled_to_item(disabled_code),
    )
    if expected_revision is None:
        item.subscribed = False
        if not conditional(lambda: item.save(condition=TaskItem.pk.does_not_exist())):
            raise Conflict(f"task {task_id} was changed concurrently or already exists")
        # A task may name a parent before the parent exists: its edge is already stored, and
        # `mark_subscribed` found no item to mark. The item is written first, so an edge written
        # after this look is marked by its writer.
        if has_subscribers(tenant, task_id):
            mark_subscribed(tenant, task_id)
            item.subscribed = True
    else:
        current = get_item(tenant, task_id)
        previous = task_from_item(current).spec.subscriptions
        # An update of the definition's own attributes, not a save of the whole item: the slots,
        # the wait queue, the last fire, the failure count and the subscribed mark are written
        # by other writers without a revision, and a save would put back what it read of them.
        if not conditional(partial(item.update, actions=_definition_actions(item, reset_failures=(
                enabled and not current.enabled)), condition=(TaskItem.revision == expected_revision)
                & (TaskItem.enabled == current.enabled))):
            raise Conflict(f"task {task_id} was changed concurrently or already exists")
    sync_subscriptions(tenant, task_id, spec.subscriptions, previous=previous)
    return task_from_item(item)


def delete_task(tenant: str, task_id: str, *, subscriptions: tuple[Subscription, ...]) -> None:
    """Delete the task item and its chain edges both ways: to the parents its spec names
    (`subscriptions`) and from it to its children (runs are handled by the engine)."""
    if not conditional(lambda: TaskItem(tenant, task_sk(task_id)).delete(condition=TaskItem.pk.exists())):
        raise NotFound(f"task {task_id} not found")
    sync_subscriptions(tenant, task_id, (), previous=subscriptions)
    delete_subscriptions_from(tenant, task_id)


def list_tasks(tenant: str, *, face: str | None = None) -> Iterator[Task]:
    """Every task of a tenant (optionally of one face), in id order."""
    condition = TaskItem.face == face if face else None
    for item in TaskItem.query(tenant, TaskItem.sk.startswith(TASK_PREFIX), filter_condition=condition):
        metrics.count_read()
        yield task_from_item(item)


#: The most keys read per query of the `by_update` index: what one BatchGetItem takes.
MAX_CHUNK = 100


def tasks_by_update(
    tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None, first_chunk: int = 25
) -> Iterator[tuple[Task, dict[str, str]]]:
    """A face's tasks of the tenant in `updated_at` order, each with its position in the index
    (pass it as `after` to resume behind that task). Reads lazily: `first_chunk` keys, then
    twice as many each time up to `MAX_CHUNK`, each chunk's items in one batch, so a caller
    that stops early (a page is full) reads little more than it uses."""
    for item, position in _by_update(tenant, face, descending=descending, after=after, first_chunk=first_chunk,
                                     attributes=None):
        yield task_from_item(item), position


def _by_update(
    tenant: str, face: str, *, descending: bool, after: dict[str, str] | None, first_chunk: int,
    attributes: Sequence[str] | None,
) -> Iterator[tuple[TaskItem, dict[str, str]]]:
    """The items behind `tasks_by_update` (with only `attributes`, if given)."""
    start = {name: {"S": value} for name, value in after.items()} if after else None
    chunk = max(1, min(first_chunk, MAX_CHUNK))
    while True:
        result = TaskItem.updated_index.query(
            _face_key(tenant, face), scan_index_forward=not descending, limit=chunk, page_size=chunk,
            last_evaluated_key=start,
        )
        keys = [(key.pk, key.sk, key.updated_at) for key in result]
        if keys:
            found = {(item.pk, item.sk): item for item in TaskItem.batch_get(
                [(pk, sk) for pk, sk, _ in keys], attributes_to_get=list(attributes) if attributes else None)}
            for pk, sk, updated_at in keys:
                item = found.get((pk, sk))
                if item is not None:  # deleted since the index was read
                    metrics.count_read()
                    yield item, {"face_key": _face_key(tenant, face), "updated_at": updated_at, "pk": pk, "sk": sk}
        start = result.last_evaluated_key
        if not start:
            return
        chunk = min(chunk * 2, MAX_CHUNK)


def listings_by_update(
    tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None, first_chunk: int = 25
) -> Iterator[tuple[TaskListing, dict[str, str]]]:
    """`tasks_by_update`, each item read with only what a `TaskListing` holds (the spec, the
    trigger, slot and failure state stay in the table)."""
    for item, position in _by_update(tenant, face, descending=descending, after=after, first_chunk=first_chunk,
                                     attributes=LISTING_ATTRIBUTES):
        yield listing_from_item(item), position


def disable(tenant: str, task_id: str, *, code: DisabledReason, now: datetime) -> None:
    """Disable automatic triggers of a task, saying why (nothing happens if it is gone)."""
    conditional(lambda: TaskItem(tenant, task_sk(task_id)).update(
        actions=[
            TaskItem.enabled.set(False),
            TaskItem.disabled_code.set(disabled_to_item(code)),
            TaskItem.next_fire_at.remove(),
            TaskItem.due_shard.remove(),
            TaskItem.updated_at.set(to_iso(now)),
            TaskItem.revision.add(1),
        ],
        condition=TaskItem.pk.exists(),
    ))


class DynamoTaskStore:
    """`TaskStore` over the tasks table (each method is this module's function of that name)."""

    def get_task(self, tenant: str, task_id: str) -> Task:
        return get_task(tenant, task_id)

    def get_tasks(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Task]:
        return get_tasks(keys)

    def put_task(self, *, tenant: str, task_id: str, face: str, name: str, enabled: bool, spec: TaskSpec,
                 document: dict[str, Any] | None, next_fire_at: datetime | None, due_shards: int, now: datetime,
                 expected_revision: int | None, disabled_code: DisabledReason | None = None) -> Task:
        return put_task(tenant=tenant, task_id=task_id, face=face, name=name, enabled=enabled, spec=spec,
                        document=document, next_fire_at=next_fire_at, due_shards=due_shards, now=now,
                        expected_revision=expected_revision, disabled_code=disabled_code)

    def delete_task(self, tenant: str, task_id: str, *, subscriptions: tuple[Subscription, ...]) -> None:
        delete_task(tenant, task_id, subscriptions=subscriptions)

    def list_tasks(self, tenant: str, *, face: str | None = None) -> Iterator[Task]:
        return list_tasks(tenant, face=face)

    def tasks_by_update(self, tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None,
                        first_chunk: int = 25) -> Iterator[tuple[Task, dict[str, str]]]:
        return tasks_by_update(tenant, face, descending=descending, after=after, first_chunk=first_chunk)

    def listings_by_update(self, tenant: str, face: str, *, descending: bool, after: dict[str, str] | None = None,
                           first_chunk: int = 25) -> Iterator[tuple[TaskListing, dict[str, str]]]:
        return listings_by_update(tenant, face, descending=descending, after=after, first_chunk=first_chunk)

    def disable(self, tenant: str, task_id: str, *, code: DisabledReason, now: datetime) -> None:
        disable(tenant, task_id, code=code, now=now)
