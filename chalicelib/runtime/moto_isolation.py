"""Give the embedded moto server DynamoDB's isolation and transaction cost.

Isolation. DynamoDB applies a conditional write or a transaction atomically. moto checks the
condition and then writes without a lock, and serializes a response while other threads change
the items, so under the threads of its server two dispatchers can both pass the same condition
(a tick claimed twice) and a query can fail with "dictionary changed size during iteration".
The engine's correctness rests on those conditions, so the local runtime serializes every
DynamoDB request its moto server handles. moto runs under the GIL anyway; little concurrency
is lost.

Cost. moto backs up every table a transaction touches (`copy.deepcopy` of the whole table) so
it can roll back, which makes each TransactWriteItems cost as much as the tables hold: a
dispatcher claiming ticks slowed as runs piled up. A transaction here backs up only the items
it targets and restores those if it is cancelled, which is all a rollback needs.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

_LOCK = threading.RLock()


def install() -> None:
    """Serialize moto's DynamoDB request handling and make transactions back up items, not
    tables (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    call_action = DynamoHandler.call_action
    if getattr(call_action, "_tasklane_serialized", False):
        return

    @functools.wraps(call_action)
    def serialized_call_action(self: Any) -> Any:
        with _LOCK:
            return call_action(self)

    serialized_call_action._tasklane_serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialized_call_action  # type: ignore[method-assign]

    transact = DynamoDBBackend.transact_write_items

    @functools.wraps(transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        import moto.dynamodb.models as models

        with _LOCK:
            saved = _back_up_targets(self, transact_items)
            # moto's whole-table backup becomes a no-op here (a class standing in for the module).
            models.copy = _KeepTables  # type: ignore[assignment]
            try:
                return transact(self, transact_items)
            except Exception:
                _restore(saved)
                raise
            finally:
                models.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _KeepTables:
    """Stands in for the `copy` module inside moto's transaction: tables are not copied (the
    items a transaction targets are backed up instead); anything else is copied as before."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


Backup = tuple[Any, Any, Any, Any]


def _back_up_targets(backend: Any, transact_items: list[dict[str, Any]]) -> list[Backup]:
    """(table, hash key, range key, copy of the item or None) for every item a write targets."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: list[Backup] = []
    for entry in transact_items:
        kind, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if kind == "ConditionCheck" or table is None:
            continue
        key = op.get("Item") if kind == "Put" else op.get("Key")
        if not key or table.hash_key_attr not in key:
            continue  # moto rejects it before writing anything
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_key = DynamoType(key[table.range_key_attr])
        item = table.get_item(hash_key, range_key)
        saved.append((table, hash_key, range_key, copy.deepcopy(item) if item is not None else None))
    return saved


def _restore(saved: list[Backup]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
