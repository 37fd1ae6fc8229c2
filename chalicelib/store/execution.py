"""The execution product's documents over the tasks table.

A record is a `RecordItem` with pk = "<tenant>#exec#<kind>" and sk = its key: the tenant leads
every key, a kind's records of one tenant are one partition read in key order, and `counter`
holds the revision every write is conditional on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.store.conditions import conditional
from chalicelib.store.models import RecordItem


def partition(tenant: str, kind: str) -> str:
    """The partition key of a tenant's records of one kind."""
    return f"{tenant}#exec#{kind}"


class DynamoExecutionRecords:
    """`ExecutionRecords` over the tasks table."""

    def put_record(self, tenant: str, kind: str, key: str, data: dict[str, Any], *,
                   expected_revision: int) -> int | None:
        item = RecordItem(partition(tenant, kind), key, data=data, counter=expected_revision + 1)
        condition: Any = (RecordItem.pk.does_not_exist() if expected_revision == 0
                          else RecordItem.counter == expected_revision)
        if not conditional(lambda: item.save(condition=condition)):
            return None
        return expected_revision + 1

    def get_record(self, tenant: str, kind: str, key: str) -> tuple[dict[str, Any], int] | None:
        try:
            item = RecordItem.get(partition(tenant, kind), key, consistent_read=True)
        except RecordItem.DoesNotExist:
            return None
        return dict(item.data or {}), int(item.counter or 0)

    def list_records(self, tenant: str, kind: str, *, prefix: str = "") -> Iterator[tuple[str, dict[str, Any], int]]:
        condition = RecordItem.sk.startswith(prefix) if prefix else None
        for item in RecordItem.query(partition(tenant, kind), condition, consistent_read=True):
            yield item.sk, dict(item.data or {}), int(item.counter or 0)

    def delete_record(self, tenant: str, kind: str, key: str) -> None:
        RecordItem(partition(tenant, kind), key).delete()
