"""Pull-mode runs over the runs table: the sparse `queued` index, claims, one lease per session.

A queued run carries `queue_partition` (its sharded queue partition) and `queue_rank` (priority
rank + queued_at + run id), so it sits in the `queued` index; a claim removes `queue_partition`
(it leaves the index) and puts it in the sparse `leases` index under a `pull#<n>` shard, apart
from the worker's shards. The session's lease is a record in the tasks table
(pk = tenant, sk = "lease#<session>"), written in the same transaction as the run, so a session
never holds two leases and a run is never held without its record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.engine.model import EndReason, Run, RunStatus
from chalicelib.errors import Conflict
from chalicelib.store import metrics
from chalicelib.store.codec import run_from_item, task_key
from chalicelib.store.conditions import conditional
from chalicelib.store.models import RecordItem, RunItem, transaction_connection
from chalicelib.timefmt import to_iso

#: The statuses of a run under a lease.
HELD = (RunStatus.CLAIMED.value, RunStatus.STARTING.value, RunStatus.RUNNING.value)


def _lease_key(session: str) -> str:
    return f"lease#{session}"


def _holder(session: str | None, token_hash: str | None, now: datetime) -> Condition:
    condition = RunItem.status.is_in(*HELD)
    if session is not None:
        condition = condition & (RunItem.worker_id == session) & (RunItem.lease_until > to_iso(now))
    if token_hash is not None:
        condition = condition & (RunItem.claim_token_hash == token_hash)
    return condition


def _release_actions() -> list[Action]:
    return [RunItem.worker_id.remove(), RunItem.lease_until.remove(), RunItem.lease_shard.remove(),
            RunItem.claim_token_hash.remove(), RunItem.claimed_at.remove(), RunItem.heartbeat_at.remove()]


def _transact(tenant: str, task_id: str, run_id: str, *, actions: list[Action], condition: Condition,
              session: str) -> Run | None:
    """Update the run under `condition` and delete `session`'s lease record, both or neither."""
    item = RunItem(task_key(tenant, task_id), run_id)

    def write() -> None:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.update(item, actions=actions, condition=condition)
            transaction.delete(RecordItem(tenant, _lease_key(session)))

    if not conditional(write):
        return None
    return _read(tenant, task_id, run_id)  # a transaction returns no item


def _read(tenant: str, task_id: str, run_id: str) -> Run:
    metrics.count_read()
    return run_from_item(RunItem.get(task_key(tenant, task_id), run_id, consistent_read=True))


def _worker_of(tenant: str, task_id: str, run_id: str) -> str | None:
    try:
        return _read(tenant, task_id, run_id).worker_id
    except DoesNotExist:
        return None


class DynamoPullRunStore:
    """`PullRunStore` over the runs table's `queued` and `leases` indexes."""

    def queued_keys(self, partition: str, *, limit: int) -> list[tuple[str, str, str, str]]:
        keys = []
        for key in RunItem.queued.query(partition, limit=limit):
            metrics.count_read()
            tenant, task_id = key.pk.split("#", 1)
            keys.append((key.queue_rank, tenant, task_id, key.sk))
        return keys

    def claim_run(self, tenant: str, task_id: str, run_id: str, *, session: str, token_hash: str, now: datetime,
                  lease_until: datetime, lease_shard: str, idempotency_key: str | None = None) -> Run | None:
        item = RunItem(task_key(tenant, task_id), run_id)
        key_action = (RunItem.idempotency_key.set(idempotency_key) if idempotency_key is not None
                      else RunItem.idempotency_key.remove())
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.update(item, condition=RunItem.status == RunStatus.QUEUED.value, actions=[
                    RunItem.status.set(RunStatus.CLAIMED.value), RunItem.queue_partition.remove(),
                    RunItem.worker_id.set(session), RunItem.claim_token_hash.set(token_hash),
                    RunItem.lease_until.set(to_iso(lease_until)), RunItem.lease_shard.set(lease_shard),
                    RunItem.claimed_at.set(to_iso(now)), RunItem.heartbeat_at.set(to_iso(now)), key_action])
                transaction.save(RecordItem(tenant, _lease_key(session), data={"task_id": task_id, "run_id": run_id},
                                            updated_at=to_iso(now)),
                                 condition=RecordItem.sk.does_not_exist())
        except TransactWriteError as exc:
            # PynamoDB sends puts before updates: reason 0 is the lease record, reason 1 the run.
            failed = [reason is not None and reason.code == "ConditionalCheckFailed"
                      for reason in exc.cancellation_reasons or []]
            if failed[:1] == [True]:
                raise Conflict(f"session {session} already holds a lease") from exc
            if failed[1:2] == [True]:
                return None
            raise
        return _read(tenant, task_id, run_id)

    def session_lease(self, tenant: str, session: str) -> tuple[str, str] | None:
        try:
            record = RecordItem.get(tenant, _lease_key(session), consistent_read=True)
        except DoesNotExist:
            return None
        metrics.count_read()
        return record.data["task_id"], record.data["run_id"]

    def set_parked(self, tenant: str, task_id: str, run_id: str, *, parked: bool) -> Run | None:
        action = RunItem.queue_partition.remove() if parked else RunItem.queue_partition.set(RunItem.queue_home)
        item = RunItem(task_key(tenant, task_id), run_id)
        if not conditional(lambda: item.update(actions=[action],
                                               condition=RunItem.status == RunStatus.QUEUED.value)):
            return None
        return run_from_item(item)

    def touch_run(self, tenant: str, task_id: str, run_id: str, *, session: str, token_hash: str | None,
                  now: datetime, expected: frozenset[RunStatus], status: RunStatus | None = None,
                  lease_until: datetime | None = None, idempotency_key: str | None = None) -> Run | None:
        actions: list[Action] = []
        if status is not None:
            actions.append(RunItem.status.set(status.value))
            if status is RunStatus.STARTING or status is RunStatus.RUNNING:
                actions.append(RunItem.started_at.set(to_iso(now)))
        if lease_until is not None:
            actions += [RunItem.lease_until.set(to_iso(lease_until)), RunItem.heartbeat_at.set(to_iso(now))]
        if idempotency_key is not None:
            actions.append(RunItem.idempotency_key.set(idempotency_key))
        condition = _holder(session, token_hash, now) & RunItem.status.is_in(*(s.value for s in expected))
        item = RunItem(task_key(tenant, task_id), run_id)
        if not actions or not conditional(lambda: item.update(actions=actions, condition=condition)):
            return None
        return run_from_item(item)  # the update returned the whole item: no second read

    def end_held_run(self, tenant: str, task_id: str, run_id: str, *, session: str | None,
                     token_hash: str | None, now: datetime, reason: EndReason, detail: str | None = None,
                     expires_at: int | None = None, result: Any = None) -> Run | None:
        holder = session or _worker_of(tenant, task_id, run_id)
        if holder is None:
            return None
        actions: list[Action] = [RunItem.status.set(RunStatus.ENDED.value), RunItem.end_reason.set(reason.value),
                   RunItem.exit_code.set(0 if reason is EndReason.SUCCESS else 1),
                   RunItem.ended_at.set(to_iso(now)), RunItem.lease_until.remove(), RunItem.lease_shard.remove()]
        if detail is not None:
            actions.append(RunItem.detail.set(detail[:2000]))
        if expires_at is not None:
            actions.append(RunItem.expires_at.set(expires_at))
        if result is not None:
            actions.append(RunItem.result.set(json.dumps(result)))
        condition = _holder(session, token_hash, now) & (RunItem.worker_id == holder)
        return _transact(tenant, task_id, run_id, actions=actions, condition=condition, session=holder)

    def requeue_run(self, tenant: str, task_id: str, run_id: str, *, session: str | None, token_hash: str | None,
                    now: datetime, expired_only: bool) -> Run | None:
        holder = session or _worker_of(tenant, task_id, run_id)
        if holder is None:
            return None
        condition = _holder(session, token_hash, now) & (RunItem.worker_id == holder)
        if expired_only:
            condition = condition & (RunItem.lease_until <= to_iso(now))
        actions = [RunItem.status.set(RunStatus.QUEUED.value), *_release_actions(),  # requeued: not parked
                   RunItem.queue_partition.set(RunItem.queue_home)]
        return _transact(tenant, task_id, run_id, actions=actions, condition=condition, session=holder)

    def attach_session(self, tenant: str, task_id: str, run_id: str, *, session_id: str) -> Run | None:
        item = RunItem(task_key(tenant, task_id), run_id)
        condition = RunItem.status.is_in(RunStatus.QUEUED.value, *HELD)
        if not conditional(lambda: item.update(actions=[RunItem.attached_session.set(session_id)],
                                               condition=condition)):
            return None
        return run_from_item(item)

    def expired_pull_leases(self, now: datetime, *, shards: tuple[str, ...],
                            limit: int | None = None) -> Iterator[tuple[str, str, str]]:
        for shard in shards:
            for key in RunItem.leases.query(shard, RunItem.lease_until <= to_iso(now), limit=limit):
                metrics.count_read()
                tenant, task_id = key.pk.split("#", 1)
                yield tenant, task_id, key.sk
