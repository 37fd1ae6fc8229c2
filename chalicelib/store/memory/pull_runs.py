"""Pull-mode runs in memory, under the conditions of the deployed store (store/pull_runs.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from chalicelib.engine.model import EndReason, Run, RunStatus
from chalicelib.errors import Conflict
from chalicelib.store.memory.runs import DETAIL_LIMIT, _out
from chalicelib.store.memory.state import MemoryState, copied, instant

HELD = frozenset({RunStatus.CLAIMED, RunStatus.STARTING, RunStatus.RUNNING})


def _holds(session: str | None, token_hash: str | None, now: datetime) -> Callable[[Run], bool]:
    def holds(run: Run) -> bool:
        if run.status not in HELD:
            return False
        if session is not None and (run.worker_id != session or run.lease_until is None or run.lease_until <= now):
            return False
        return token_hash is None or run.claim_token_hash == token_hash
    return holds


class MemoryPullRunStore:
    """`PullRunStore` in memory: the queue is the queued runs by rank, the leases a dict."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        #: (tenant, task id, run id) -> the `pull#<n>` lease shard of a held run.
        self._lease_shards: dict[tuple[str, str, str], str] = {}

    def queued_keys(self, partition: str, *, limit: int) -> list[tuple[str, str, str, str]]:
        with self._state.lock:
            keys = sorted((row.run.queue_rank or "", *key) for key, row in self._state.runs.items()
                          if row.run.status is RunStatus.QUEUED and not row.run.parked
                          and row.run.queue_partition == partition)
        return keys[:limit]

    def claim_run(self, tenant: str, task_id: str, run_id: str, *, session: str, token_hash: str, now: datetime,
                  lease_until: datetime, lease_shard: str, idempotency_key: str | None = None) -> Run | None:
        with self._state.lock:
            row = self._state.runs.get((tenant, task_id, run_id))
            if (tenant, session) in self._state.session_leases:
                raise Conflict(f"session {session} already holds a lease")
            if row is None or row.run.status is not RunStatus.QUEUED:
                return None
            row.run = dataclasses.replace(row.run, status=RunStatus.CLAIMED, worker_id=session,
                                          claim_token_hash=token_hash, lease_until=instant(lease_until),
                                          claimed_at=instant(now), heartbeat_at=instant(now),
                                          idempotency_key=idempotency_key)
            self._state.session_leases[(tenant, session)] = (task_id, run_id)
            self._lease_shards[(tenant, task_id, run_id)] = lease_shard
            return _out(row)

    def session_lease(self, tenant: str, session: str) -> tuple[str, str] | None:
        with self._state.lock:
            return self._state.session_leases.get((tenant, session))

    def set_parked(self, tenant: str, task_id: str, run_id: str, *, parked: bool) -> Run | None:
        return self._change(tenant, task_id, run_id, lambda run: run.status is RunStatus.QUEUED, False,
                            parked=parked)

    def _change(self, tenant: str, task_id: str, run_id: str, holds: Callable[[Run], bool],
                free: bool, **changes: Any) -> Run | None:
        with self._state.lock:
            row = self._state.runs.get((tenant, task_id, run_id))
            if row is None or not holds(row.run):
                return None
            if free:
                self._state.session_leases.pop((tenant, row.run.worker_id or ""), None)
                self._lease_shards.pop((tenant, task_id, run_id), None)
            row.run = dataclasses.replace(row.run, **changes)
            return _out(row)

    def touch_run(self, tenant: str, task_id: str, run_id: str, *, session: str, token_hash: str | None,
                  now: datetime, expected: frozenset[RunStatus], status: RunStatus | None = None,
                  lease_until: datetime | None = None, idempotency_key: str | None = None) -> Run | None:
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = status
            if status in (RunStatus.STARTING, RunStatus.RUNNING):
                changes["started_at"] = instant(now)
        if lease_until is not None:
            changes["lease_until"] = instant(lease_until)
            changes["heartbeat_at"] = instant(now)
        if not changes:
            return None
        if idempotency_key is not None:
            changes["idempotency_key"] = idempotency_key
        holds = _holds(session, token_hash, now)
        return self._change(tenant, task_id, run_id, lambda run: holds(run) and run.status in expected, False,
                            **changes)

    def end_held_run(self, tenant: str, task_id: str, run_id: str, *, session: str | None,
                     token_hash: str | None, now: datetime, reason: EndReason, detail: str | None = None,
                     expires_at: int | None = None, result: Any = None) -> Run | None:
        changes: dict[str, Any] = {"status": RunStatus.ENDED, "end_reason": reason, "ended_at": instant(now),
                                   "exit_code": 0 if reason is EndReason.SUCCESS else 1, "lease_until": None}
        if result is not None:
            changes["result"] = copied(result)
        if detail is not None:
            changes["detail"] = detail[:DETAIL_LIMIT]
        with self._state.lock:
            ended = self._change(tenant, task_id, run_id, _holds(session, token_hash, now), True, **changes)
            if ended is not None and expires_at is not None:
                self._state.runs[(tenant, task_id, run_id)].expires_at = expires_at
            return ended

    def requeue_run(self, tenant: str, task_id: str, run_id: str, *, session: str | None, token_hash: str | None,
                    now: datetime, expired_only: bool) -> Run | None:
        holds = _holds(session, token_hash, now)

        def requeuable(run: Run) -> bool:
            return holds(run) and not (expired_only and run.lease_until is not None and run.lease_until > now)

        return self._change(tenant, task_id, run_id, requeuable, True, status=RunStatus.QUEUED, worker_id=None,
                            lease_until=None, claim_token_hash=None, parked=False, claimed_at=None,
                            heartbeat_at=None)

    def attach_session(self, tenant: str, task_id: str, run_id: str, *, session_id: str) -> Run | None:
        return self._change(tenant, task_id, run_id, lambda run: run.status is RunStatus.QUEUED or run.status in HELD,
                            False, attached_session=session_id)

    def expired_pull_leases(self, now: datetime, *, shards: tuple[str, ...],
                            limit: int | None = None) -> Iterator[tuple[str, str, str]]:
        with self._state.lock:
            found: list[tuple[str, str, str]] = []
            for shard in shards:
                held: list[tuple[datetime, tuple[str, str, str]]] = []
                for key, at in self._lease_shards.items():
                    row = self._state.runs.get(key)
                    until = row.run.lease_until if row is not None else None
                    if at == shard and until is not None and until <= now:
                        held.append((until, key))
                found.extend(key for _, key in sorted(held)[:limit])
        return iter(found)
