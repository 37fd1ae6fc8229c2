"""Conversions between the engine's domain values and stored items."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from enum import Enum
from typing import Any, overload

from chalicelib.engine.model import (
    Backoff,
    CatchUpPolicy,
    DisabledReason,
    EndReason,
    LogOnFull,
    Overlap,
    Restart,
    Run,
    RunStatus,
    Subscription,
    Task,
    TaskListing,
    TaskSpec,
    TriggeredBy,
    TriggerSpec,
)
from chalicelib.store.models import RunItem, TaskItem
from chalicelib.timefmt import from_iso, to_iso

_SPEC_ENUMS: dict[str, type[Enum]] = {
    "catch_up": CatchUpPolicy,
    "on_overlap": Overlap,
    "retry_backoff": Backoff,
    "log_on_full": LogOnFull,
    "restart": Restart,
    "restart_backoff": Backoff,
}


#: How a `DisabledReason` is stored: the spellings items were written with before the engine
#: had the enum, so items written before and after read alike and need no migration.
_STORED_DISABLED = {
    DisabledReason.REQUESTED: "MANUALLY",
    DisabledReason.STOPPED: "STOPPED",
    DisabledReason.CONSECUTIVE_FAILURES: "CONSECUTIVE-FAILURES",
}
_DISABLED_FROM_STORED = {stored: reason for reason, stored in _STORED_DISABLED.items()}


@overload
def disabled_to_item(reason: DisabledReason) -> str: ...
@overload
def disabled_to_item(reason: None) -> None: ...
@overload
def disabled_to_item(reason: DisabledReason | None) -> str | None: ...
def disabled_to_item(reason: DisabledReason | None) -> str | None:
    """The stored spelling of why a task is disabled."""
    return _STORED_DISABLED[DisabledReason(reason)] if reason is not None else None


def _iso(value: Any) -> str | None:
    return to_iso(value) if value is not None else None


def _dt(value: str | None) -> Any:
    return from_iso(value) if value else None


def spec_to_json(spec: TaskSpec) -> dict[str, Any]:
    """A JSON-able dict of a task spec."""
    data = asdict(spec)
    for key, _enum in _SPEC_ENUMS.items():
        data[key] = getattr(spec, key).value
    if spec.trigger is not None:
        data["trigger"] = {
            "expression": spec.trigger.expression,
            "timezone": spec.trigger.timezone,
            "start": _iso(spec.trigger.start),
            "end": _iso(spec.trigger.end),
        }
    data["subscriptions"] = [
        {"parent_task_id": s.parent_task_id, "outcomes": sorted(s.outcomes) if s.outcomes is not None else None}
        for s in spec.subscriptions
    ]
    return data


def spec_from_json(data: dict[str, Any]) -> TaskSpec:
    """The task spec stored by `spec_to_json` (unknown keys from newer versions are ignored)."""
    known = {f.name for f in fields(TaskSpec)}
    values = {k: v for k, v in data.items() if k in known}
    for key, enum in _SPEC_ENUMS.items():
        if key in values:
            values[key] = enum(values[key])
    trigger = values.get("trigger")
    if trigger:
        values["trigger"] = TriggerSpec(
            expression=trigger["expression"],
            timezone=trigger.get("timezone") or "UTC",
            start=_dt(trigger.get("start")),
            end=_dt(trigger.get("end")),
        )
    values["subscriptions"] = tuple(
        Subscription(
            parent_task_id=s["parent_task_id"],
            outcomes=frozenset(s["outcomes"]) if s.get("outcomes") is not None else None,
        )
        for s in values.get("subscriptions") or ()
    )
    return TaskSpec(**values)


def task_from_item(item: TaskItem) -> Task:
    """The domain task of a stored item."""
    return Task(
        tenant=item.pk,
        task_id=item.task_id,
        face=item.face,
        name=item.name,
        enabled=bool(item.enabled),
        spec=spec_from_json(item.spec or {}),
        document=item.document,
        next_fire_at=_dt(item.next_fire_at),
        last_fire_at=_dt(item.last_fire_at),
        created_at=from_iso(item.created_at),
        updated_at=from_iso(item.updated_at),
        revision=int(item.revision or 1),
        consecutive_failures=int(item.consecutive_failures or 0),
        disabled_code=_DISABLED_FROM_STORED.get(item.disabled_code or ""),
        waiting=tuple(item.waiting or ()),
        may_have_subscribers=item.subscribed is not False,
    )


#: The attributes of a task item a `TaskListing` is made of (all text or boolean).
LISTING_ATTRIBUTES = ("pk", "sk", "task_id", "enabled", "document", "created_at", "updated_at", "disabled_code")


def listing_from_item(item: TaskItem) -> TaskListing:
    """The listing of a task item read with (at least) `LISTING_ATTRIBUTES`."""
    return TaskListing(
        tenant=item.pk,
        task_id=item.task_id,
        enabled=bool(item.enabled),
        document=item.document,
        created_at=from_iso(item.created_at),
        updated_at=from_iso(item.updated_at),
        disabled_code=_DISABLED_FROM_STORED.get(item.disabled_code or ""),
    )


def run_from_item(item: RunItem) -> Run:
    """The domain run of a stored item."""
    return Run(
        tenant=item.tenant,
        task_id=item.task_id,
        run_id=item.sk,
        status=RunStatus(item.status),
        triggered_by=TriggeredBy(item.triggered_by),
        created_at=from_iso(item.created_at),
        source=item.source,
        end_reason=EndReason(item.end_reason) if item.end_reason else None,
        exit_code=int(item.exit_code) if item.exit_code is not None else None,
        nominal_at=_dt(item.nominal_at),
        started_at=_dt(item.started_at),
        ended_at=_dt(item.ended_at),
        params=item.params,
        retry_attempt=int(item.retry_attempt or 0),
        retry_of_run_id=item.retry_of_run_id,
        instance_index=int(item.instance_index) if item.instance_index is not None else None,
        worker_id=item.worker_id,
        lease_until=_dt(item.lease_until),
        stop_requested=bool(item.stop_requested),
        detail=item.detail,
        http_status=int(item.http_status) if item.http_status is not None else None,
        log_lines=int(item.log_lines or 0),
        log_truncated=bool(item.log_truncated),
        extra=item.extra or {},
        queue_partition=item.queue_home,
        queue_rank=item.queue_rank,
        claim_token_hash=item.claim_token_hash,
        parked=item.status == RunStatus.QUEUED.value and item.queue_partition is None,
        claimed_at=_dt(item.claimed_at),
        heartbeat_at=_dt(item.heartbeat_at),
        idempotency_key=item.idempotency_key,
        attached_session=item.attached_session,
        result=json.loads(item.result) if item.result is not None else None,
    )


def run_to_item(run: Run) -> RunItem:
    """A new item for a run (used when a run is created)."""
    return RunItem(
        task_key(run.tenant, run.task_id),
        run.run_id,
        run_key=run_key(run.tenant, run.run_id),
        tenant=run.tenant,
        task_id=run.task_id,
        created_key=f"{to_iso(run.created_at)}#{run.run_id}",
        status=run.status.value,
        end_reason=run.end_reason.value if run.end_reason else None,
        exit_code=run.exit_code,
        triggered_by=run.triggered_by.value,
        source=run.source,
        nominal_at=_iso(run.nominal_at),
        created_at=to_iso(run.created_at),
        started_at=_iso(run.started_at),
        ended_at=_iso(run.ended_at),
        params=run.params,
        retry_attempt=run.retry_attempt,
        retry_of_run_id=run.retry_of_run_id,
        instance_index=run.instance_index,
        detail=run.detail,
        extra=run.extra or None,
        queue_home=run.queue_partition,
        queue_partition=run.queue_partition if run.status is RunStatus.QUEUED and not run.parked else None,
        queue_rank=run.queue_rank,
    )


#: Sort-key prefix of task items in the tasks table.
TASK_PREFIX = "task#"


def task_sk(task_id: str) -> str:
    """Sort key of a task item (its partition key is the tenant)."""
    return TASK_PREFIX + task_id


def task_key(tenant: str, task_id: str) -> str:
    """Partition key of a task's runs."""
    return f"{tenant}#{task_id}"


def run_key(tenant: str, run_id: str) -> str:
    """Key of the by-id index."""
    return f"{tenant}#{run_id}"
