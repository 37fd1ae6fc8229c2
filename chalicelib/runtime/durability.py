"""Keep the embedded backend's state in a data directory (`tasklane local --data-dir`).

moto keeps everything in memory. Here, inside the backend's own process, every change to a
DynamoDB item or an S3 object is appended to a journal (journal.py) before the request that made
it is answered, and the directory is loaded back into moto when the backend starts:

- DynamoDB: after each PutItem, UpdateItem, DeleteItem, BatchWriteItem or TransactWriteItems that
  succeeded, the resulting state of every item it named (the item, or its absence), under the same
  lock that serializes moto's DynamoDB handling (moto_isolation.py), so the journal's order is the
  order the writes took effect;
- S3: every object put or deleted (its bytes; content type and metadata are not kept: the engine
  reads bodies only);
- SQS: nothing. A run's message is the equivalent of its pending item: the runtime re-drives the
  runs found pending at start (engine/recovery.py) and ends the ones found running `crashed`;
  the backend reports them on its `restored` line.

Tables, queues and buckets are not journaled: the backend creates them from template.yaml before
it loads the items (resources.py), so a table the template no longer declares is refused, not
dropped.
"""

from __future__ import annotations

import base64
import functools
import gc
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.runtime import moto_isolation
from chalicelib.runtime.journal import DataDirError, Journal

ACCOUNT = "123456789012"
#: Run statuses the runtime must act on after a restart (see engine/recovery.py).
OPEN_RUN_STATUSES = ("pending", "running")
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}

_journal: Journal | None = None
_s3_lock = threading.RLock()


@dataclass(kw_only=True)
class Restored:
    """What was loaded from the data directory."""

    items: int = 0
    objects: int = 0
    seconds: float = 0.0
    #: [tenant, task id, run id, status] of every run left pending or running.
    open_runs: list[list[str]] = field(default_factory=list)

    def line(self) -> str:
        """The `restored {...}` line the backend prints before `ready`."""
        return "restored " + json.dumps({"items": self.items, "objects": self.objects,
                                         "seconds": round(self.seconds, 3), "open_runs": self.open_runs})


def item_key(table: str, hash_value: dict[str, Any], range_value: dict[str, Any] | None) -> str:
    return json.dumps(["ddb", table, hash_value, range_value], sort_keys=True, separators=(",", ":"))


def object_key(bucket: str, key: str) -> str:
    return json.dumps(["s3", bucket, key], separators=(",", ":"))


def attach(data_dir: Path, *, runs_table: str | None = None, compact_bytes: int | None = None) -> Restored:
    """Load `data_dir` into this process's moto backends and journal every change from now on.

    Raises DataDirError (nothing loaded, nothing journaled) if the directory cannot be used."""
    global _journal
    started = time.perf_counter()
    journal = Journal(data_dir) if compact_bytes is None else Journal(data_dir, compact_bytes=compact_bytes)
    gc.disable()  # loading creates millions of objects and frees none: collections would only cost
    try:
        state = journal.open()
        try:
            restored = _load(state, runs_table=runs_table)
        except BaseException:
            journal.close()
            raise
    finally:
        gc.enable()
    gc.freeze()  # what was loaded stays: later collections need not walk it again and again
    install()
    _journal = journal
    restored.seconds = time.perf_counter() - started
    return restored


def detach() -> None:
    """Stop journaling and fold the journal into a snapshot (a clean stop)."""
    global _journal
    journal, _journal = _journal, None
    if journal is not None:
        with moto_isolation._LOCK, _s3_lock:
            journal.close()


def _dynamodb() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT]


def _s3() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT]["global"]


#: Called with each DynamoDB table once its items are loaded (`Table.items` is filled directly,
#: not through `Table.put_item`): a module that keeps its own structures over moto's tables (an
#: index, say) registers here to build them.
AFTER_LOAD: list[Callable[[Any], None]] = []


def _dynamo_value(value: dict[str, Any]) -> Any:
    """moto's DynamoType for a value in DynamoDB JSON, built without its per-call checks."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    built = DynamoType.__new__(DynamoType)
    ((kind, inner),) = value.items()
    if kind == "L":
        inner = [_dynamo_value(v) for v in inner]
    elif kind == "M":
        inner = {k: _dynamo_value(v) for k, v in inner.items()}
    built.__dict__ = {"type": kind, "value": inner}
    return built


def _put_loaded(table: Any, attrs: dict[str, Any]) -> None:
    """Put an item read back from the data directory into `table`. Every item was validated by
    moto when it was first written; validating it again (and moto's size check, quadratic in the
    attributes) would make start-up with 10,000 runs take longer than 5 s."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    new = DynamoType.__new__
    loaded = {}
    for name, value in attrs.items():
        ((kind, inner),) = value.items()
        if kind == "L" or kind == "M":
            loaded[name] = _dynamo_value(value)
        else:
            built = new(DynamoType)
            built.__dict__ = {"type": kind, "value": inner}
            loaded[name] = built
    item: Any = Item.__new__(Item)
    item.attrs = LimitedSizeDict(loaded)
    item.hash_key = loaded[table.hash_key_attr]
    item.range_key = loaded[table.range_key_attr] if table.range_key_attr else None
    if item.range_key is not None:
        table.items[item.hash_key][item.range_key] = item
    else:
        table.items[item.hash_key] = item


def _container(key: str) -> tuple[str, str]:
    """(kind, table or bucket) of a record key (`item_key`, `object_key`): the second and fourth
    fields split at quotes, as neither kinds nor table and bucket names hold one (json.loads of
    every key costs a tenth of a start-up)."""
    parts = key.split('"', 4)
    return parts[1], parts[3]


def _load(state: dict[str, dict[str, Any]], *, runs_table: str | None) -> Restored:
    restored = Restored()
    tables: dict[str, Any] = {}
    for backend in _dynamodb().values():
        tables.update(backend.tables)
    s3 = _s3()
    with moto_isolation._LOCK:
        for key, value in state.items():
            kind, container = _container(key)
            if kind == "ddb":
                table = tables.get(container)
                if table is None:
                    raise DataDirError(f"the data directory holds items of table {container}, which template.yaml"
                                       " does not declare; start the tasklane version that wrote it, or start afresh"
                                       " (move the data directory away, or --ephemeral)")
                _put_loaded(table, value)
                restored.items += 1
                if container == runs_table and value.get("status", {}).get("S") in OPEN_RUN_STATUSES:
                    restored.open_runs.append([value["tenant"]["S"], value["task_id"]["S"], value["sk"]["S"],
                                               value["status"]["S"]])
            elif kind == "s3":
                if container not in s3.buckets:
                    raise DataDirError(f"the data directory holds objects of bucket {container}, which template.yaml"
                                       " does not declare; start afresh (move the data directory away)")
                s3.put_object(container, value["key"], base64.b64decode(value["body"]))
                restored.objects += 1
            else:
                raise DataDirError(f"the data directory holds a record of an unknown kind {kind!r}")
        for table in tables.values():
            for hook in AFTER_LOAD:
                hook(table)
    return restored


# -- journaling hooks --------------------------------------------------------------------------


def install() -> None:
    """Journal DynamoDB and S3 writes while a data directory is attached (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.s3.models import S3Backend

    moto_isolation.install()
    call_action = DynamoHandler.call_action
    if getattr(call_action, "_tasklane_journaled", False):
        return

    @functools.wraps(call_action)
    def journaled_call_action(self: Any) -> Any:
        with moto_isolation._LOCK:
            result = call_action(self)
            if _journal is not None and _succeeded(result):
                action = self._get_action()
                if action in _WRITES:
                    _journal_items(self.dynamodb_backend, action, self.body)
            return result

    journaled_call_action._tasklane_journaled = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = journaled_call_action  # type: ignore[method-assign]

    put_object, delete_object = S3Backend.put_object, S3Backend.delete_object

    @functools.wraps(put_object)
    def journaled_put_object(self: Any, bucket_name: str, key_name: str, value: bytes, *args: Any,
                             **kwargs: Any) -> Any:
        with _s3_lock:
            stored = put_object(self, bucket_name, key_name, value, *args, **kwargs)
            if _journal is not None:
                body = bytes(value) if not isinstance(value, str) else value.encode("utf-8")
                _journal.append(object_key(bucket_name, key_name),
                                {"key": key_name, "body": base64.b64encode(body).decode("ascii")})
            return stored

    @functools.wraps(delete_object)
    def journaled_delete_object(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        with _s3_lock:
            result = delete_object(self, bucket_name, key_name, *args, **kwargs)
            if _journal is not None and key_name not in self.get_bucket(bucket_name).keys:
                _journal.append(object_key(bucket_name, key_name), None)
            return result

    S3Backend.put_object = journaled_put_object  # type: ignore[method-assign]
    S3Backend.delete_object = journaled_delete_object  # type: ignore[method-assign]


def _succeeded(result: Any) -> bool:
    status = result[0] if isinstance(result, tuple) and result else None
    try:
        return status is not None and int(status) < 300
    except (TypeError, ValueError):
        return False


def _journal_items(backend: Any, action: str, body: dict[str, Any]) -> None:
    for table_name, key in _named_items(action, body):
        _journal_item(backend, table_name, key)


def _named_items(action: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, item or key) of every item a write request names."""
    if action == "PutItem":
        return [(body["TableName"], body["Item"])]
    if action in ("UpdateItem", "DeleteItem"):
        return [(body["TableName"], body["Key"])]
    named: list[tuple[str, dict[str, Any]]] = []
    if action == "BatchWriteItem":
        for table_name, requests in body.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    named.append((table_name, request["PutRequest"]["Item"]))
                elif "DeleteRequest" in request:
                    named.append((table_name, request["DeleteRequest"]["Key"]))
    elif action == "TransactWriteItems":
        for entry in body.get("TransactItems", []):
            kind, op = next(iter(entry.items()))
            if kind == "Put":
                named.append((op["TableName"], op["Item"]))
            elif kind in ("Update", "Delete"):
                named.append((op["TableName"], op["Key"]))
    return named


def _journal_item(backend: Any, table_name: str, key: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    assert _journal is not None
    table = backend.tables.get(table_name)
    if table is None:
        return
    hash_value = key[table.hash_key_attr]
    range_value = key.get(table.range_key_attr) if table.range_key_attr else None
    item = table.get_item(DynamoType(hash_value), DynamoType(range_value) if range_value is not None else None)
    _journal.append(item_key(table_name, hash_value, range_value),
                    item.to_json()["Attributes"] if item is not None else None)
