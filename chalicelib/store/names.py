"""Names that must be unique in a tenant: one record per name, claimed by a conditional put.

A claim lives at (pk = tenant, sk = "name#<key>") and says which task holds the name.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.conditions import conditional
from chalicelib.store.models import RecordItem

NAME_PREFIX = "name#"


def claim_unique_name(tenant: str, key: str, task_id: str) -> bool:
    """Record that the unique name `key` belongs to `task_id` (a conditional put, so two racing
    claims cannot both win); False when another task holds it. Claiming one's own name is True."""
    claim = RecordItem(tenant, NAME_PREFIX + key, data={"task_id": task_id})
    if conditional(lambda: claim.save(condition=RecordItem.pk.does_not_exist())):
        return True
    try:
        holder = RecordItem.get(tenant, NAME_PREFIX + key, consistent_read=True)
    except DoesNotExist:
        return claim_unique_name(tenant, key, task_id)  # released in between: try again
    return bool(holder.data.get("task_id") == task_id)


def release_unique_name(tenant: str, key: str, task_id: str) -> None:
    """Forget that `task_id` holds the unique name `key` (nothing happens if another task holds it)."""
    try:
        holder = RecordItem.get(tenant, NAME_PREFIX + key, consistent_read=True)
    except DoesNotExist:
        return
    if holder.data.get("task_id") == task_id:
        holder.delete()


class DynamoNameClaims:
    """`NameClaims` over the tasks table."""

    def claim(self, tenant: str, key: str, task_id: str) -> bool:
        return claim_unique_name(tenant, key, task_id)

    def release(self, tenant: str, key: str, task_id: str) -> None:
        release_unique_name(tenant, key, task_id)
