"""A task's consecutive-failure counter, kept on the task item by atomic updates."""

from __future__ import annotations

from chalicelib.store.codec import task_sk
from chalicelib.store.conditions import conditional
from chalicelib.store.models import TaskItem


def record_outcome(tenant: str, task_id: str, *, failed: bool) -> int:
    """Count consecutive failures (reset on success); returns the new count (0: task gone)."""
    item = TaskItem(tenant, task_sk(task_id))
    action = TaskItem.consecutive_failures.add(1) if failed else TaskItem.consecutive_failures.set(0)
    if not conditional(lambda: item.update(actions=[action], condition=TaskItem.pk.exists())):
        return 0
    return int(item.consecutive_failures or 0)  # the update returned the whole item


class DynamoFailureCounter:
    """`FailureCounter` over the tasks table."""

    def record_outcome(self, tenant: str, task_id: str, *, failed: bool) -> int:
        return record_outcome(tenant, task_id, failed=failed)
