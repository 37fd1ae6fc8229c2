"""Task items: definitions, trigger state, concurrency slots, wait queues and subscriptions.

A task lives at (pk = tenant, sk = "task#<id>"). A subscription "child runs when parent
finishes" lives at (pk = tenant, sk = "sub#<parent>#<child>") so a finishing run finds its
children with one Query. Every state change that can race is a conditional write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import size

from chalicelib.engine.model import DisabledReason, Subscription, Task, TaskSpec
from chalicelib.errors import Conflict, NotFound
from chalicelib.store import metrics
from chalicelib.store.codec import disabled_to_item, spec_to_json, task_from_item
from chalicelib.store.models import RecordItem, TaskItem, transaction_connection
from chalicelib.timefmt import to_iso

TASK_PREFIX = "task#"
SUB_PREFIX = "sub#"


def _sk(task_id: str) -> str:
    return TASK_PREFIX + task_id


def _face_key(tenant: str, face: str) -> str:
    """The `by_update` index partition of a face's tasks in a tenant."""
    return f"{tenant}#{face}"


def due_shard(tenant: str, task_id: str, shards: int) -> str:
    """The due-index partition of a task: a stable hash, so load spreads over `shards` keys."""
    digest = hashlib.sha256(f"{tenant}#{task_id}".encode()).digest()
    return str(int.from_bytes(digest[:4], "big") % shards)


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def get_item(tenant: str, task_id: str, *, consistent: bool = True) -> TaskItem:
    try:
        item = TaskItem.get(tenant, _sk(task_id), consistent_read=consistent)
    except DoesNotExist as exc:
        raise NotFound(f"task {task_id} not found") from exc
    metrics.count_read()
    return item


def get_task(tenant: str, task_id: str) -> Task:
    """The task, or `NotFound` (also for another tenant's id: the key starts with the tenant)."""
    return task_from_item(get_item(tenant, task_id))


def put_task(
    *,
    tenant: str,
    task_id: str,
    face: str,
    name: str,
    enabled: bool,
    spec: TaskSpec,
    document: dict | None,
    next_fire_at: datetime | None,
    due_shards: int,
    now: datetime,
    expected_revision: int | None,
    disabled_code: DisabledReason | None = None,
) -> Task:
    """Create (expected_revision None) or replace a task; a lost race is a `Conflict`."""
    existing_created = None
    previous: tuple[Subscription, ...] = ()
    item = TaskItem(
        tenant,
        _sk(task_id),
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
        condition = TaskItem.pk.does_not_exist()
    else:
        current = get_item(tenant, task_id)
        previous = task_from_item(current).spec.subscriptions
        existing_created = current.created_at
        item.created_at = existing_created
        item.consecutive_failures = 0 if enabled and not current.enabled else current.consecutive_failures
        item.active_runs = current.active_runs
        item.waiting = current.waiting
        item.last_fire_at = current.last_fire_at
        condition = TaskItem.revision == expected_revision
    try:
        item.save(condition=condition)
    except PutError as exc:
        if _conditional_failed(exc):
            raise Conflict(f"task {task_id} was changed concurrently or already exists") from exc
        raise
    _sync_subscriptions(tenant, task_id, spec.subscriptions, previous=previous)
    return task_from_item(item)


def delete_task(tenant: str, task_id: str, *, subscriptions: tuple[Subscription, ...]) -> None:
    """Delete the task item and its chain edges both ways: to the parents its spec names
    (`subscriptions`) and from it to its children (runs are handled by the engine)."""
    try:
        TaskItem(tenant, _sk(task_id)).delete(condition=TaskItem.pk.exists())
    except DeleteError as exc:
        if _conditional_failed(exc):
            raise NotFound(f"task {task_id} not found") from exc
        raise
    _sync_subscriptions(tenant, task_id, (), previous=subscriptions)
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
    start = {name: {"S": value} for name, value in after.items()} if after else None
    chunk = max(1, min(first_chunk, MAX_CHUNK))
    while True:
        result = TaskItem.updated_index.query(
            _face_key(tenant, face), scan_index_forward=not descending, limit=chunk, page_size=chunk,
            last_evaluated_key=start,
        )
        keys = [(key.pk, key.sk, key.updated_at) for key in result]
        if keys:
            found = {(item.pk, item.sk): item for item in TaskItem.batch_get([(pk, sk) for pk, sk, _ in keys])}
            for pk, sk, updated_at in keys:
                item = found.get((pk, sk))
                if item is not None:  # deleted since the index was read
                    metrics.count_read()
                    yield task_from_item(item), {"face_key": _face_key(tenant, face), "updated_at": updated_at,
                                                 "pk": pk, "sk": sk}
        start = result.last_evaluated_key
        if not start:
            return
        chunk = min(chunk * 2, MAX_CHUNK)


def due_keys(shard: str, horizon: datetime) -> Iterator[tuple[str, str]]:
    """(tenant, task id) of the tasks in one due shard whose next fire is at or before `horizon`."""
    for item in TaskItem.due_index.query(shard, TaskItem.next_fire_at <= to_iso(horizon)):
        metrics.count_read()
        yield item.pk, item.sk[len(TASK_PREFIX):]


def advance_trigger(
    tenant: str, task_id: str, *, expected: datetime, next_fire_at: datetime | None, last_fire_at: datetime
) -> bool:
    """Claim the tick at `expected`: move the trigger on, if nobody else did. True if claimed."""
    actions = [TaskItem.last_fire_at.set(to_iso(last_fire_at))]
    if next_fire_at is None:
        actions += [TaskItem.next_fire_at.remove(), TaskItem.due_shard.remove()]
    else:
        actions.append(TaskItem.next_fire_at.set(to_iso(next_fire_at)))
    try:
        TaskItem(tenant, _sk(task_id)).update(actions=actions, condition=TaskItem.next_fire_at == to_iso(expected))
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def acquire_slot(tenant: str, task_id: str, run_id: str, parallelism: int) -> bool:
    """Take one of the task's `parallelism` concurrency slots for `run_id`. True if taken."""
    condition = (
        TaskItem.active_runs.does_not_exist()
        | (size(TaskItem.active_runs) < parallelism)
        | TaskItem.active_runs.contains(run_id)
    )
    try:
        TaskItem(tenant, _sk(task_id)).update(
            actions=[TaskItem.active_runs.add({run_id})], condition=TaskItem.pk.exists() & condition
        )
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def release_slot(tenant: str, task_id: str, run_id: str) -> Task | None:
    """Give back the slot `run_id` held: the task as the write left it (so the caller needs no
    second read to see its wait queue and spec), or None if the run held no slot or the task is
    gone (so a run that never started cannot free a slot it never took)."""
    item = TaskItem(tenant, _sk(task_id))
    try:
        item.update(
            actions=[TaskItem.active_runs.delete({run_id})],
            condition=TaskItem.pk.exists() & TaskItem.active_runs.contains(run_id),
        )
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise
        return None
    return task_from_item(item)


def active_runs(tenant: str, task_id: str) -> set[str]:
    return set(get_item(tenant, task_id).active_runs or ())


def enqueue_waiting(tenant: str, task_id: str, run_id: str, queue_max: int) -> bool:
    """Append `run_id` to the task's FIFO wait queue unless it holds `queue_max` already."""
    condition = TaskItem.waiting.does_not_exist() | (size(TaskItem.waiting) < queue_max)
    try:
        TaskItem(tenant, _sk(task_id)).update(
            actions=[TaskItem.waiting.set((TaskItem.waiting | []).append([run_id]))],
            condition=TaskItem.pk.exists() & condition,
        )
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def pop_waiting(tenant: str, task_id: str) -> str | None:
    """Take the head of the task's wait queue (None if empty); safe against concurrent pops."""
    for _ in range(5):
        try:
            item = get_item(tenant, task_id)
        except NotFound:
            return None
        if not item.waiting:
            return None
        head = item.waiting[0]
        try:
            TaskItem(tenant, _sk(task_id)).update(
                actions=[TaskItem.waiting[0].remove()], condition=TaskItem.waiting[0] == head
            )
            return head
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
    return None


def remove_waiting(tenant: str, task_id: str, run_id: str) -> None:
    """Drop `run_id` from the wait queue wherever it stands (a canceled waiting run)."""
    for _ in range(5):
        try:
            item = get_item(tenant, task_id)
        except NotFound:
            return
        waiting = list(item.waiting or [])
        if run_id not in waiting:
            return
        index = waiting.index(run_id)
        try:
            TaskItem(tenant, _sk(task_id)).update(
                actions=[TaskItem.waiting[index].remove()], condition=TaskItem.waiting[index] == run_id
            )
            return
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise


def record_outcome(tenant: str, task_id: str, *, failed: bool) -> int:
    """Count consecutive failures (reset on success); returns the new count."""
    try:
        if failed:
            updated = TaskItem(tenant, _sk(task_id)).update(
                actions=[TaskItem.consecutive_failures.add(1)], condition=TaskItem.pk.exists()
            )
        else:
            updated = TaskItem(tenant, _sk(task_id)).update(
                actions=[TaskItem.consecutive_failures.set(0)], condition=TaskItem.pk.exists()
            )
    except UpdateError as exc:
        if _conditional_failed(exc):
            return 0
        raise
    return int(updated["Attributes"].get("consecutive_failures", {}).get("N", 0))


def disable(tenant: str, task_id: str, *, code: DisabledReason, now: datetime) -> None:
    """Disable automatic triggers of a task, saying why."""
    try:
        TaskItem(tenant, _sk(task_id)).update(
            actions=[
                TaskItem.enabled.set(False),
                TaskItem.disabled_code.set(disabled_to_item(code)),
                TaskItem.next_fire_at.remove(),
                TaskItem.due_shard.remove(),
                TaskItem.updated_at.set(to_iso(now)),
                TaskItem.revision.add(1),
            ],
            condition=TaskItem.pk.exists(),
        )
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise


def _sync_subscriptions(
    tenant: str, child_id: str, subscriptions: tuple[Subscription, ...], *, previous: tuple[Subscription, ...]
) -> None:
    """Make the child's subscription items match its spec, given the spec they matched before
    (so no query over the tenant's subscriptions: a save costs what changed). The child's spec
    stays the truth: a finishing parent checks it before starting the child, so an item left
    behind by a crash between the two writes starts nothing."""
    wanted = {s.parent_task_id: s for s in subscriptions}
    before = {s.parent_task_id: s for s in previous}
    for parent_id in before.keys() - wanted.keys():
        RecordItem(tenant, f"{SUB_PREFIX}{parent_id}#{child_id}").delete()
    for parent_id, sub in wanted.items():
        if before.get(parent_id) == sub:
            continue
        RecordItem(
            tenant,
            f"{SUB_PREFIX}{parent_id}#{child_id}",
            data={"outcomes": sorted(sub.outcomes) if sub.outcomes is not None else None},
        ).save()


def subscribers(tenant: str, parent_id: str) -> Iterator[tuple[str, frozenset[str] | None]]:
    """(child task id, outcomes filter) of every task that runs when `parent_id` finishes."""
    for item in RecordItem.query(tenant, RecordItem.sk.startswith(f"{SUB_PREFIX}{parent_id}#")):
        outcomes = item.data.get("outcomes")
        yield item.sk.split("#")[2], frozenset(outcomes) if outcomes is not None else None


def has_subscription(tenant: str, parent_id: str, child_id: str) -> bool:
    """Whether the edge "child runs when parent finishes" is stored (one read)."""
    try:
        RecordItem.get(tenant, f"{SUB_PREFIX}{parent_id}#{child_id}")
    except DoesNotExist:
        return False
    return True


def subscriptions_of_tenant(tenant: str) -> Iterator[tuple[str, str, frozenset[str] | None]]:
    """(parent id, child id, outcomes) of every subscription edge of a tenant."""
    for item in RecordItem.query(tenant, RecordItem.sk.startswith(SUB_PREFIX)):
        _, parent, child = item.sk.split("#")
        outcomes = item.data.get("outcomes")
        yield parent, child, frozenset(outcomes) if outcomes is not None else None


def claim_tick_with_run(
    tenant: str,
    task_id: str,
    *,
    expected: datetime,
    next_fire_at: datetime | None,
    run_item: Any,
) -> bool:
    """Atomically move the trigger on from `expected` and create the tick's run.

    One transaction: the trigger update is conditional on nobody having moved it, the run put
    on no run with that id existing. False if either condition failed (another dispatcher won).
    """
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.store.models import RunItem

    actions = [TaskItem.last_fire_at.set(to_iso(expected))]
    if next_fire_at is None:
        actions += [TaskItem.next_fire_at.remove(), TaskItem.due_shard.remove()]
    else:
        actions.append(TaskItem.next_fire_at.set(to_iso(next_fire_at)))
    connection = transaction_connection()
    try:
        with TransactWrite(connection=connection) as transaction:
            transaction.update(
                TaskItem(tenant, _sk(task_id)), actions=actions, condition=TaskItem.next_fire_at == to_iso(expected)
            )
            transaction.save(run_item, condition=RunItem.sk.does_not_exist())
    except TransactWriteError as exc:
        if getattr(exc, "cause_response_code", None) == "TransactionCanceledException":
            return False
        raise
    return True


def delete_subscriptions_from(tenant: str, parent_id: str) -> int:
    """Remove every subscription edge whose parent is `parent_id` (the parent was deleted);
    returns how many went."""
    removed = 0
    for item in RecordItem.query(tenant, RecordItem.sk.startswith(f"{SUB_PREFIX}{parent_id}#")):
        item.delete()
        removed += 1
    return removed


NAME_PREFIX = "name#"


def claim_unique_name(tenant: str, key: str, task_id: str) -> bool:
    """Record that the unique name `key` belongs to `task_id` (a conditional put, so two racing
    claims cannot both win); False when another task holds it. Claiming one's own name is True."""
    try:
        RecordItem(tenant, NAME_PREFIX + key, data={"task_id": task_id}).save(condition=RecordItem.pk.does_not_exist())
        return True
    except PutError as exc:
        if not _conditional_failed(exc):
            raise
    try:
        holder = RecordItem.get(tenant, NAME_PREFIX + key, consistent_read=True)
    except DoesNotExist:
        return claim_unique_name(tenant, key, task_id)  # released in between: try again
    return holder.data.get("task_id") == task_id


def release_unique_name(tenant: str, key: str, task_id: str) -> None:
    """Forget that `task_id` holds the unique name `key` (nothing happens if another task holds it)."""
    try:
        holder = RecordItem.get(tenant, NAME_PREFIX + key, consistent_read=True)
    except DoesNotExist:
        return
    if holder.data.get("task_id") == task_id:
        holder.delete()
