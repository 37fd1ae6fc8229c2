"""Chain edges: "child runs when parent finishes", one item per edge.

An edge lives at (pk = tenant, sk = "sub#<parent>#<child>") so a finishing run finds its
children with one Query. The child's spec stays the truth: a finishing parent checks it before
starting the child, so an edge left behind by a crash between two writes starts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist

from chalicelib.engine.model import Subscription
from chalicelib.store.codec import task_sk
from chalicelib.store.conditions import conditional
from chalicelib.store.models import RecordItem, TaskItem

SUB_PREFIX = "sub#"


def _sk(parent_id: str, child_id: str) -> str:
    return f"{SUB_PREFIX}{parent_id}#{child_id}"


def sync_subscriptions(
    tenant: str, child_id: str, subscriptions: tuple[Subscription, ...], *, previous: tuple[Subscription, ...]
) -> None:
    """Make the child's edges match its spec, given the spec they matched before (so no query
    over the tenant's edges: a save costs what changed)."""
    wanted = {s.parent_task_id: s for s in subscriptions}
    before = {s.parent_task_id: s for s in previous}
    for parent_id in before.keys() - wanted.keys():
        RecordItem(tenant, _sk(parent_id, child_id)).delete()
    for parent_id, sub in wanted.items():
        if before.get(parent_id) == sub:
            continue
        RecordItem(
            tenant, _sk(parent_id, child_id),
            data={"outcomes": sorted(sub.outcomes) if sub.outcomes is not None else None},
        ).save()
        mark_subscribed(tenant, parent_id)


def mark_subscribed(tenant: str, parent_id: str) -> None:
    """Tell the parent's task item that a task subscribes to it, after the edge is written (a
    parent created later finds the edge itself, see `store.tasks.put_task`); nothing if the
    parent does not exist."""
    conditional(lambda: TaskItem(tenant, task_sk(parent_id)).update(
        actions=[TaskItem.subscribed.set(True)], condition=TaskItem.pk.exists()))


def has_subscribers(tenant: str, parent_id: str) -> bool:
    """Whether any edge names `parent_id` as its parent (one Query of at most one item)."""
    return any(True for _ in RecordItem.query(tenant, RecordItem.sk.startswith(f"{SUB_PREFIX}{parent_id}#"),
                                              limit=1))


def _outcomes(item: RecordItem) -> frozenset[str] | None:
    outcomes = item.data.get("outcomes")
    return frozenset(outcomes) if outcomes is not None else None


def subscribers(tenant: str, parent_id: str) -> Iterator[tuple[str, frozenset[str] | None]]:
    """(child task id, outcomes filter) of every task that runs when `parent_id` finishes."""
    for item in RecordItem.query(tenant, RecordItem.sk.startswith(f"{SUB_PREFIX}{parent_id}#")):
        yield item.sk.split("#")[2], _outcomes(item)


def has_subscription(tenant: str, parent_id: str, child_id: str) -> bool:
    """Whether the edge "child runs when parent finishes" is stored (one read)."""
    try:
        RecordItem.get(tenant, _sk(parent_id, child_id))
    except DoesNotExist:
        return False
    return True


def subscriptions_of_tenant(tenant: str) -> Iterator[tuple[str, str, frozenset[str] | None]]:
    """(parent id, child id, outcomes) of every subscription edge of a tenant."""
    for item in RecordItem.query(tenant, RecordItem.sk.startswith(SUB_PREFIX)):
        _, parent, child = item.sk.split("#")
        yield parent, child, _outcomes(item)


def delete_subscriptions_from(tenant: str, parent_id: str) -> int:
    """Remove every edge whose parent is `parent_id` (the parent was deleted); how many went."""
    removed = 0
    for item in RecordItem.query(tenant, RecordItem.sk.startswith(f"{SUB_PREFIX}{parent_id}#")):
        item.delete()
        removed += 1
    return removed


class DynamoSubscriptionStore:
    """`SubscriptionStore` over the tasks table."""

    def subscribers(self, tenant: str, parent_id: str) -> Iterator[tuple[str, frozenset[str] | None]]:
        return subscribers(tenant, parent_id)

    def has_subscription(self, tenant: str, parent_id: str, child_id: str) -> bool:
        return has_subscription(tenant, parent_id, child_id)

    def subscriptions_of_tenant(self, tenant: str) -> Iterator[tuple[str, str, frozenset[str] | None]]:
        return subscriptions_of_tenant(tenant)
