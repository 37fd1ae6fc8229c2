"""Run items: creation by conditional put, state transitions by conditional update, listings.

A run lives at (pk = "<tenant>#<task id>", sk = run id). Run ids are time-ordered, so a task's
runs list newest first with one Query. Running runs carry a lease in the sparse `leases` index.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.engine.model import EndReason, Run, RunStatus
from chalicelib.errors import NotFound
from chalicelib.store import metrics
from chalicelib.store.codec import run_from_item, run_key, run_to_item, task_key
from chalicelib.store.conditions import conditional
from chalicelib.store.models import RunItem
from chalicelib.timefmt import to_iso

LEASE_SHARDS = 8


def create_run(run: Run) -> bool:
    """Put a new run unless one with its id exists. True if created."""
    return conditional(lambda: run_to_item(run).save(condition=RunItem.sk.does_not_exist()))


def _get_item(tenant: str, task_id: str, run_id: str) -> RunItem:
    try:
        item = RunItem.get(task_key(tenant, task_id), run_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"run {run_id} not found") from exc
    metrics.count_read()
    return item


def get_run(tenant: str, task_id: str, run_id: str) -> Run:
    """One run of one task, or `NotFound`."""
    return run_from_item(_get_item(tenant, task_id, run_id))


def find_run(tenant: str, run_id: str) -> Run:
    """A run from its id alone (by-id index), or `NotFound`."""
    for key in RunItem.by_id.query(run_key(tenant, run_id), limit=1):
        return get_run(tenant, key.pk.split("#", 1)[1], run_id)
    raise NotFound(f"run {run_id} not found")


def list_runs(
    tenant: str, task_id: str, *, newest_first: bool = True, limit: int | None = None
) -> Iterator[Run]:
    """A task's runs in id (time) order, read strongly consistent: the agent engine derives a
    task's status from them right after a run changed."""
    for item in RunItem.query(task_key(tenant, task_id), scan_index_forward=not newest_first, limit=limit,
                              consistent_read=True):
        yield run_from_item(item)


#: Most queries `newest_runs` has in flight at once (below the HTTP pool's 10 connections).
NEWEST_RUNS_IN_FLIGHT = 8


def newest_runs(tenant: str, task_ids: Sequence[str]) -> dict[str, Run]:
    """Each task's newest run (one Query of one item per task, several in flight at once:
    DynamoDB has no batch form of a Query); a task that never ran is absent."""

    def newest(task_id: str) -> Run | None:
        return next(list_runs(tenant, task_id, limit=1), None)

    unique = list(dict.fromkeys(task_ids))
    if len(unique) <= 1:
        found = [newest(task_id) for task_id in unique]
    else:
        with ThreadPoolExecutor(max_workers=min(NEWEST_RUNS_IN_FLIGHT, len(unique)),
                                thread_name_prefix="newest-run") as pool:
            found = list(pool.map(newest, unique))
    return {task_id: run for task_id, run in zip(unique, found, strict=True) if run is not None}


def list_tenant_runs(tenant: str, *, newest_first: bool = True) -> Iterator[Run]:
    """Every run of a tenant across tasks, by creation time."""
    for item in RunItem.tenant_runs.query(tenant, scan_index_forward=not newest_first):
        yield run_from_item(item)


def start_run(
    tenant: str, task_id: str, run_id: str, *, worker_id: str, now: datetime, lease_until: datetime
) -> Run | None:
    """PENDING -> RUNNING with a lease, if still pending. None if someone else got there first."""
    item = RunItem(task_key(tenant, task_id), run_id)
    started = conditional(lambda: item.update(
        actions=start_actions(worker_id=worker_id, now=now, lease_until=lease_until), condition=startable()))
    return run_from_item(item) if started else None  # the update returned the whole item: no second read


def start_actions(*, worker_id: str, now: datetime, lease_until: datetime) -> list[Any]:
    """The writes of PENDING -> RUNNING (see `start_run`)."""
    shard = str(int(time.time() * 1000) % LEASE_SHARDS)
    return [
        RunItem.status.set(RunStatus.RUNNING.value),
        RunItem.worker_id.set(worker_id),
        RunItem.started_at.set(to_iso(now)),
        RunItem.lease_until.set(to_iso(lease_until)),
        RunItem.lease_shard.set(shard),
    ]


def startable() -> Any:
    """The condition of PENDING -> RUNNING: still pending, no stop requested."""
    return (RunItem.status == RunStatus.PENDING.value) & (RunItem.stop_requested != True)  # noqa: E712


def renew_lease(
    tenant: str, task_id: str, run_id: str, *, worker_id: str, lease_until: datetime
) -> bool | None:
    """Extend a running run's lease. None if the run is no longer ours (it was swept);
    otherwise whether a stop was requested (read from the same write, no extra read)."""
    item = RunItem(task_key(tenant, task_id), run_id)
    renewed = conditional(lambda: item.update(
        actions=[RunItem.lease_until.set(to_iso(lease_until))],
        condition=(RunItem.status == RunStatus.RUNNING.value) & (RunItem.worker_id == worker_id),
    ))
    return bool(item.stop_requested) if renewed else None


def finish_run(
    tenant: str,
    task_id: str,
    run_id: str,
    *,
    reason: EndReason,
    exit_code: int,
    now: datetime,
    expected_status: RunStatus,
    worker_id: str | None = None,
    detail: str | None = None,
    http_status: int | None = None,
    log_lines: int | None = None,
    log_truncated: bool | None = None,
    expires_at: int | None = None,
) -> Run | None:
    """End a run if it is still in `expected_status` (and held by `worker_id`). None if not."""
    actions: list[Any] = [
        RunItem.status.set(RunStatus.ENDED.value),
        RunItem.end_reason.set(reason.value),
        RunItem.exit_code.set(exit_code),
        RunItem.ended_at.set(to_iso(now)),
        RunItem.lease_until.remove(),
        RunItem.lease_shard.remove(),
        RunItem.queue_partition.remove(),
        RunItem.queue_rank.remove(),
    ]
    if detail is not None:
        actions.append(RunItem.detail.set(detail[:2000]))
    if http_status is not None:
        actions.append(RunItem.http_status.set(http_status))
    if log_lines is not None:
        actions.append(RunItem.log_lines.set(log_lines))
    if log_truncated is not None:
        actions.append(RunItem.log_truncated.set(log_truncated))
    if expires_at is not None:
        actions.append(RunItem.expires_at.set(expires_at))
    condition = RunItem.status == expected_status.value
    if worker_id is not None:
        condition = condition & (RunItem.worker_id == worker_id)
    item = RunItem(task_key(tenant, task_id), run_id)
    if not conditional(lambda: item.update(actions=actions, condition=condition)):
        return None
    return run_from_item(item)  # the update returned the whole item: no second read


def request_stop(tenant: str, task_id: str, run_id: str) -> bool:
    """Flag a pending or running run to stop; False if it has ended already or is gone."""
    # `status <> ENDED` alone holds for a missing item: the update would create a run-less stub.
    return conditional(lambda: RunItem(task_key(tenant, task_id), run_id).update(
        actions=[RunItem.stop_requested.set(True)],
        condition=RunItem.sk.exists() & (RunItem.status != RunStatus.ENDED.value)))


def delete_run(tenant: str, task_id: str, run_id: str) -> None:
    """Delete an ended run (refused while it is in flight)."""
    if not conditional(lambda: RunItem(task_key(tenant, task_id), run_id).delete(
            condition=RunItem.status == RunStatus.ENDED.value)):
        raise NotFound(f"run {run_id} is not an ended run of this task")


def expired_leases(now: datetime) -> Iterator[tuple[str, str, str]]:
    """(tenant, task id, run id) of running runs whose lease ran out before `now`."""
    for shard in range(LEASE_SHARDS):
        for key in RunItem.leases.query(str(shard), RunItem.lease_until < to_iso(now)):
            metrics.count_read()
            tenant, task_id = key.pk.split("#", 1)
            yield tenant, task_id, key.sk



class DynamoRunStore:
    """`RunStore` over the runs table."""

    def create_run(self, run: Run) -> bool:
        return create_run(run)

    def get_run(self, tenant: str, task_id: str, run_id: str) -> Run:
        return get_run(tenant, task_id, run_id)

    def find_run(self, tenant: str, run_id: str) -> Run:
        return find_run(tenant, run_id)

    def list_runs(self, tenant: str, task_id: str, *, newest_first: bool = True,
                  limit: int | None = None) -> Iterator[Run]:
        return list_runs(tenant, task_id, newest_first=newest_first, limit=limit)

    def list_tenant_runs(self, tenant: str, *, newest_first: bool = True) -> Iterator[Run]:
        return list_tenant_runs(tenant, newest_first=newest_first)

    def newest_runs(self, tenant: str, task_ids: Sequence[str]) -> dict[str, Run]:
        return newest_runs(tenant, task_ids)

    def start_run(self, tenant: str, task_id: str, run_id: str, *, worker_id: str, now: datetime,
                  lease_until: datetime) -> Run | None:
        return start_run(tenant, task_id, run_id, worker_id=worker_id, now=now, lease_until=lease_until)

    def renew_lease(self, tenant: str, task_id: str, run_id: str, *, worker_id: str,
                    lease_until: datetime) -> bool | None:
        return renew_lease(tenant, task_id, run_id, worker_id=worker_id, lease_until=lease_until)

    def finish_run(self, tenant: str, task_id: str, run_id: str, *, reason: EndReason, exit_code: int,
                   now: datetime, expected_status: RunStatus, worker_id: str | None = None,
                   detail: str | None = None, http_status: int | None = None, log_lines: int | None = None,
                   log_truncated: bool | None = None, expires_at: int | None = None) -> Run | None:
        return finish_run(tenant, task_id, run_id, reason=reason, exit_code=exit_code, now=now,
                          expected_status=expected_status, worker_id=worker_id, detail=detail,
                          http_status=http_status, log_lines=log_lines, log_truncated=log_truncated,
                          expires_at=expires_at)

    def request_stop(self, tenant: str, task_id: str, run_id: str) -> bool:
        return request_stop(tenant, task_id, run_id)

    def delete_run(self, tenant: str, task_id: str, run_id: str) -> None:
        delete_run(tenant, task_id, run_id)

    def expired_leases(self, now: datetime) -> Iterator[tuple[str, str, str]]:
        return expired_leases(now)
